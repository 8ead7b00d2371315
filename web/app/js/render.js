// render.js: the candidate list and its context, as text nodes only (no
// innerHTML, so nothing from the server can become markup).
//
// Wording rule: a candidate is a lead for review. The app never presents a
// verdict; scores, calibrated false-match rates and the expected number of
// false candidates are shown so the reader can weigh them.

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function formatScore(score) {
  return typeof score === 'number' ? score.toFixed(3) : 'n/a';
}

// "1 in 12,000" reads better than 8.3e-5 for most readers; both are shown.
export function formatFmr(candidate) {
  const fmr = candidate.fmr;
  if (typeof fmr !== 'number') return 'not calibrated';
  const bound = candidate.fmr_is_upper_bound ? '≤ ' : '';
  const oneIn = fmr > 0 ? ` (1 in ${Math.round(1 / fmr).toLocaleString('en')})` : '';
  return `${bound}${fmr.toExponential(1)}${oneIn}`;
}

export function formatExpected(candidate) {
  const expected = candidate.expected_false_candidates;
  if (typeof expected !== 'number') return 'not calibrated';
  return expected < 0.01 ? expected.toExponential(1) : expected.toFixed(2);
}

function addTerm(list, term, value) {
  list.append(el('dt', term), el('dd', value));
}

export function describeQuality(face) {
  if (!face || !face.quality) return 'not reported';
  const q = face.quality;
  const parts = [];
  if (typeof q.score === 'number') parts.push(`score ${q.score.toFixed(0)}/100`);
  if (typeof q.inter_eye_px === 'number') parts.push(`eyes ${q.inter_eye_px.toFixed(0)} px apart`);
  if (typeof q.sharpness === 'number') parts.push(`sharpness ${q.sharpness.toFixed(1)}`);
  if (typeof q.exposure_mean === 'number') {
    parts.push(`exposure ${q.exposure_mean.toFixed(0)}`);
  }
  if (face.passes_gate === false) {
    parts.push(`below the capture gate${face.gate_failure ? `: ${face.gate_failure}` : ''}`);
  }
  return parts.join(', ') || 'not reported';
}

const kFingerNames = ['finger position not known', 'right thumb', 'right index', 'right middle',
  'right ring', 'right little', 'left thumb', 'left index', 'left middle', 'left ring',
  'left little'];

export function fingerName(position) {
  return kFingerNames[position] || `finger position ${position}`;
}

// The probe print as the server reported it (modality finger).
export function describeFinger(finger) {
  if (!finger || typeof finger !== 'object') return 'not reported';
  const parts = [finger.capture === 'contactless' ? 'contactless finger photo' : 'contact print'];
  if (typeof finger.position === 'number') parts.push(fingerName(finger.position));
  if (typeof finger.quality === 'number') parts.push(`quality ${finger.quality.toFixed(0)}/100`);
  if (typeof finger.minutiae === 'number') parts.push(`${finger.minutiae} minutiae`);
  if (finger.passes_gate === false) {
    parts.push(`below the capture gate${finger.gate_failure ? `: ${finger.gate_failure}` : ''}`);
  }
  return parts.join(', ');
}

// The algorithm as an object ({algorithm, model_digest, calibration_card})
// or, in a search record, as fields of the result itself.
export function describeAlgorithm(result) {
  const a = result.algorithm && typeof result.algorithm === 'object' ? result.algorithm : result;
  const name = typeof a.algorithm === 'string' ? a.algorithm : null;
  if (!name) return 'not reported';
  const digest = typeof a.model_digest === 'string' ? `, model ${a.model_digest.slice(0, 12)}` : '';
  const cardName = a.calibration_card !== undefined ? a.calibration_card : result.calibration_card;
  // Absent (a stored search record) says nothing; null means uncalibrated.
  const card = cardName ? `, calibration ${cardName}` :
    cardName === null ? ', no calibration card' : '';
  return `${name}${digest}${card}`;
}

// Server state names in plain words (a search with candidates is "under
// review", never a verdict).
const kStateWords = {
  authorised: 'authorised', in_review: 'candidates under review',
  matched: 'closed, a candidate confirmed by two examiners',
  unmatched: 'closed, no candidate confirmed',
  stopped: 'stopped', abandoned: 'abandoned', expired: 'expired',
  CANDIDATE: 'not reviewed yet', REVIEW_1: 'one examiner confirmed',
  REVIEW_2: 'two examiners confirmed', CONFIRMED: 'confirmed by two examiners',
  EXCLUDED: 'excluded', VOID: 'void',
};

export function describeState(state) {
  return kStateWords[state] || String(state);
}

// Fills the summary list of a search result.
export function renderSummary(list, result) {
  list.replaceChildren();
  const searched = typeof result.searched_face === 'number' && Array.isArray(result.faces) ?
    result.faces[result.searched_face] : null;
  const searchId = result.search_id !== undefined ? result.search_id : result.id;
  if (searchId !== undefined) addTerm(list, 'Search id', searchId);
  const galleries = result.gallery || (result.galleries || []).join(', ');
  addTerm(list, 'Gallery', `${galleries} (${result.gallery_identities} identities)`);
  if (result.authority_id) {
    const caseText = result.case_id ? `, case ${result.case_id}` : '';
    addTerm(list, 'Authority', `${result.authority_id}${caseText}`);
  }
  if (result.modality) addTerm(list, 'Searched', result.modality === 'finger' ? 'a finger' : 'a face');
  addTerm(list, 'Probe quality', result.finger ? describeFinger(result.finger) :
    searched ? describeQuality(searched) :
    (typeof result.probe_quality === 'number' ? `score ${result.probe_quality.toFixed(0)}/100` :
      'not reported'));
  addTerm(list, 'Algorithm', describeAlgorithm(result));
  if (result.state) addTerm(list, 'Search state', describeState(result.state));
  if (result.note) addTerm(list, 'Note', result.note);
}

// Fills the candidate table body.
export function renderCandidates(tbody, candidates) {
  tbody.replaceChildren();
  for (const candidate of candidates) {
    const row = el('tr');
    const rank = el('th', candidate.rank);
    rank.scope = 'row';
    // A finger candidate names the finger whose reference scored, when known.
    const identity = typeof candidate.finger_position === 'number' && candidate.finger_position ?
      `${candidate.identity} (${fingerName(candidate.finger_position)})` : candidate.identity;
    row.append(rank, el('td', identity), el('td', formatScore(candidate.score)),
        el('td', formatFmr(candidate)), el('td', formatExpected(candidate)));
    // Column names for the narrow-screen layout, where each row is a card.
    const names = ['Rank', 'Identity', 'Score', 'Calibrated FMR', 'Expected false candidates'];
    [...row.children].forEach((cell, i) => cell.setAttribute('data-label', names[i]));
    tbody.append(row);
  }
}
