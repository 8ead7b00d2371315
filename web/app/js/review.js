// review.js: the examiner's view of one search (issue 7's two-person review).
//
// Works only against a server whose OpenAPI document lists
// GET /v1/identifications/{id}, POST /v1/identifications/{id}/reviews and
// POST /v1/identifications/{id}/stop; otherwise the view says so and stays
// disabled. Opening a candidate is recorded by the server; decisions are
// possible only after the examiner opened every candidate of the search, and
// always need a written reason. The server enforces the review (every
// candidate opened, two distinct examiners, neither the operator); the page
// only refuses to send a blind decision.

import {api, describeError} from './api.js';
import {
  describeState, el, formatExpected, formatFmr, formatScore, renderSummary,
} from './render.js';

// abis keeps no enrolment photo: a gallery reference is the encrypted
// template and the SHA-256 of the capture it came from (docs/store.md), so
// there is no image to show and no route serves one.
const kNoReferenceImage = 'No reference image retained: the gallery keeps only the ' +
  'encrypted template and a hash of the enrolment photo, never the photo. Compare with the ' +
  'enrolment record held outside abis before deciding.';

export class ReviewView {
  constructor(elements, report) {
    this.e = elements;
    this.report = report;  // {error(text), status(text), clear()}
    this.features = {};
    this.searchId = null;
    this.opened = new Set();
    this.candidateCount = 0;
    this.decisionButtons = [];  // [confirm, exclude] per undecided candidate.
    this.e.loadForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load(this.e.idInput.value.trim());
    });
    this.e.stopForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.stop();
    });
  }

  setFeatures(features) {
    this.features = features;
    const offered = features.reviews;
    this.e.availability.textContent = offered ?
      'Open a search by its id. Open every candidate before you confirm or exclude any, ' +
        'and give a reason for each decision.' :
      'Review is not available on this server yet: its API (/v1/openapi.json) does not list ' +
        'the review routes (/v1/identifications/{id}/reviews). Candidates stay leads until two ' +
        'examiners confirm them in a review the server records.';
    this.e.idInput.disabled = !offered;
    this.e.loadButton.disabled = !offered;
    this.e.stopButton.disabled = !features.stop;
    this.e.stopReason.disabled = !features.stop;
  }

  clear() {
    this.searchId = null;
    this.opened.clear();
    this.candidateCount = 0;
    this.decisionButtons = [];
    this.e.idInput.value = '';
    this.e.stopReason.value = '';
    this.e.summary.replaceChildren();
    this.e.list.replaceChildren();
    this.e.body.hidden = true;
  }

  async load(id) {
    if (!this.features.reviews) return;
    if (!id) {
      this.report.error('Enter the search id to review.');
      return;
    }
    let result;
    try {
      result = await api.identification(id);
    } catch (error) {
      this.report.error(describeError(error, 'Opening the search'));
      return;
    }
    this.clear();
    this.searchId = id;
    this.e.idInput.value = id;
    renderSummary(this.e.summary, result);
    this.candidateCount = (result.candidates || []).length;
    for (const candidate of result.candidates || []) {
      this.e.list.append(this.candidateItem(candidate));
    }
    this.showProgress();
    this.e.body.hidden = false;
    this.report.clear();
    this.report.status(`Search ${id} opened for review.`);
  }

  candidateItem(candidate) {
    const key = String(candidate.rank);
    const item = el('li', null, 'review-candidate');
    const open = el('button', `Open candidate ${candidate.rank}`);
    open.type = 'button';
    open.setAttribute('aria-expanded', 'false');
    const details = el('div', null, 'candidate-details');
    details.hidden = true;
    const facts = el('dl', null, 'summary');
    const stateText = el('dd', candidate.state ? describeState(candidate.state) : 'not reported');
    facts.append(el('dt', 'Identity'), el('dd', candidate.identity),
        el('dt', 'Review state'), stateText,
        el('dt', 'Reference'), el('dd', candidate.reference_id),
        el('dt', 'Score'), el('dd', formatScore(candidate.score)),
        el('dt', 'Calibrated FMR'), el('dd', formatFmr(candidate)),
        el('dt', 'Expected false candidates'), el('dd', formatExpected(candidate)),
        el('dt', 'Reference image'), el('dd', kNoReferenceImage, 'reference-note'));
    const reasonId = `reason-${key}`;
    const reasonLabel = el('label', `Reason for the decision on candidate ${candidate.rank}`);
    reasonLabel.htmlFor = reasonId;
    const reason = el('textarea');
    reason.id = reasonId;
    reason.rows = 2;
    const confirm = el('button', `Confirm candidate ${candidate.rank}`);
    const exclude = el('button', `Exclude candidate ${candidate.rank}`);
    for (const button of [confirm, exclude]) {
      button.type = 'button';
      button.disabled = true;
    }
    this.decisionButtons.push([confirm, exclude]);
    const outcome = el('p', '', 'help');
    outcome.setAttribute('aria-live', 'polite');
    details.append(facts, reasonLabel, reason, confirm, exclude, outcome);
    // Opening is recorded by the server (it refuses a decision on a
    // candidate this examiner never opened); the page also keeps the
    // decision buttons disabled until then.
    open.addEventListener('click', async () => {
      if (!this.opened.has(key)) {
        try {
          const opened = await api.openCandidate(this.searchId, candidate.rank);
          if (opened && opened.state) stateText.textContent = describeState(opened.state);
        } catch (error) {
          this.report.error(describeError(error, 'Opening the candidate'));
          return;
        }
        this.opened.add(key);
        this.showProgress();
      }
      const expanded = details.hidden;
      details.hidden = !expanded;
      open.setAttribute('aria-expanded', String(expanded));
    });
    const decide = async (decision) => {
      if (!this.allOpened()) return;
      if (!reason.value.trim()) {
        this.report.error(`Give a reason before you ${decision} candidate ${candidate.rank}.`);
        reason.focus();
        return;
      }
      try {
        const view = await api.decide(this.searchId, candidate.rank, decision, reason.value.trim());
        const now = ((view && view.candidates) || []).find((c) => c.rank === candidate.rank);
        if (now && now.state) stateText.textContent = describeState(now.state);
        outcome.textContent = `Recorded: ${decision}` +
          (now && now.state ? `; candidate now ${describeState(now.state)}` : '');
        this.decisionButtons = this.decisionButtons.filter((pair) => pair[0] !== confirm);
        confirm.disabled = exclude.disabled = true;
        this.report.clear();
        this.report.status(`Decision recorded for candidate ${candidate.rank}.`);
      } catch (error) {
        this.report.error(describeError(error, 'The decision'));
      }
    };
    confirm.addEventListener('click', () => decide('confirm'));
    exclude.addEventListener('click', () => decide('exclude'));
    item.append(open, details);
    return item;
  }

  // An examiner decides only after opening every candidate of the search
  // (the server refuses otherwise): the whole list is the evidence.
  allOpened() {
    return this.candidateCount > 0 && this.opened.size >= this.candidateCount;
  }

  showProgress() {
    this.e.progress.textContent = this.allOpened() ?
      'All candidates opened: you can now confirm or exclude each, with a reason.' :
      `Open every candidate before deciding on any: ${this.opened.size} of ` +
        `${this.candidateCount} opened.`;
    if (this.allOpened()) {
      for (const buttons of this.decisionButtons) for (const b of buttons) b.disabled = false;
    }
  }

  async stop() {
    if (!this.features.stop || this.searchId === null) return;
    const reason = this.e.stopReason.value.trim();
    if (!reason) {
      this.report.error('Give a reason to stop this search.');
      this.e.stopReason.focus();
      return;
    }
    try {
      await api.stop(this.searchId, reason);
      this.report.clear();
      this.report.status(`Search ${this.searchId} was stopped.`);
      this.clear();
    } catch (error) {
      this.report.error(describeError(error, 'Stopping the search'));
    }
  }
}
