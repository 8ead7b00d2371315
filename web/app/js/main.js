// main.js: the field capture app (docs/web_app.md). Signs in with a token
// held in memory (or, over mTLS, as the capture device whose certificate the
// browser presents), captures a face or finger photo (or takes a file), checks
// exposure and sharpness on the device, submits it for a 1:N search and
// shows the candidate list for human review.
//
// Nothing is kept on the device: no Web Storage, IndexedDB, Cache API,
// cookies or service worker; the photo lives in one Blob and one canvas
// that are wiped after the search returns; the token and every result are
// dropped on sign-out, on page hide and after a period without activity.

import {
  api, describeError, featuresFrom, setDeviceSession, setToken, signedIn, whenTokenRefused,
} from './api.js';
import {
  captureFrame, clearCanvas, describeCameraError, loadPhotoFile, startCamera, stopCamera,
} from './camera.js';
import {judge, measure, releaseQualityBuffers} from './quality.js';
import {renderCandidates, renderSummary, el} from './render.js';
import {ReviewView} from './review.js';

const $ = (id) => document.getElementById(id);

// Inactivity limit: 5 minutes; `?idle=N` (seconds) may only shorten it.
const kDefaultIdleSeconds = 300;
const kQualityIntervalMs = 400;
// Where the finger guide (one fingertip) sits, as fractions of the picture
// (see .guide-finger in app.css).
const kFingerRegion = {x: 0.35, y: 0.08, width: 0.3, height: 0.84};
// Contact print resolutions the page accepts (the server has its own range).
const kMinPpi = 100;
const kMaxPpi = 2000;
const kFaceRegion = {x: 0.2, y: 0.05, width: 0.6, height: 0.9};

const state = {
  features: {},
  authorities: new Map(),  // id -> authority, as listed at sign-in.
  probe: null,          // The photo to search: a Blob, in memory only.
  probeSource: null,    // 'camera' or 'file'.
  qualityTimer: null,
  idleTimer: null,
  idleSeconds: kDefaultIdleSeconds,
  busy: false,
  device: null,         // {name, role}: the device certificate this browser presents.
};

const report = {
  error(text) {
    const box = $('message');
    box.textContent = text;
    box.hidden = false;
  },
  status(text) {
    $('status').textContent = text;
  },
  clear() {
    const box = $('message');
    box.textContent = '';
    box.hidden = true;
    $('status').textContent = '';
  },
};

const review = new ReviewView({
  availability: $('review-availability'), loadForm: $('review-load-form'), idInput: $('review-id'),
  loadButton: $('review-load'), body: $('review-body'), summary: $('review-summary'),
  list: $('review-candidates'), progress: $('review-progress'), stopForm: $('stop-form'),
  stopReason: $('stop-reason'), stopButton: $('stop-button'),
}, report);

function modality() {
  return document.querySelector('input[name="modality"]:checked').value;
}

function fileKind() {
  return document.querySelector('input[name="file-kind"]:checked').value;
}

// What is searched: a face or a finger, whether from the camera or a file.
function searchesFinger() {
  return modality() === 'finger' || (modality() === 'file' && fileKind() !== 'face');
}

// A scanned (or inked) contact print: it needs its resolution.
function searchesContactPrint() {
  return modality() === 'file' && fileKind() === 'print';
}

// The finger fields of a search, or {error} when the page cannot send it.
function fingerFields() {
  const fields = {position: $('finger-position').value || '0'};
  if (!searchesContactPrint()) return {...fields, contactless: true};
  const text = $('ppi').value.trim();
  const ppi = Number(text);
  if (!text || !Number.isFinite(ppi) || ppi < kMinPpi || ppi > kMaxPpi) {
    return {error: 'Enter the resolution of the contact print in pixels per inch (usually ' +
      `500; ${kMinPpi} to ${kMaxPpi}). It is never guessed: a wrong value rescales every ridge. ` +
      'Nothing was sent.'};
  }
  return {...fields, ppi: String(Math.round(ppi))};
}

// ---- Session -------------------------------------------------------------

function readIdleSeconds() {
  const asked = Number(new URLSearchParams(location.search).get('idle'));
  return Number.isFinite(asked) && asked >= 1 && asked < kDefaultIdleSeconds ?
    Math.floor(asked) : kDefaultIdleSeconds;
}

function touchActivity() {
  if (!signedIn()) return;
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(() => {
    const minutes = state.idleSeconds >= 60 ?
      `${Math.round(state.idleSeconds / 60)} minutes` : `${state.idleSeconds} seconds`;
    signOut(`Signed out after ${minutes} without activity; the page was cleared.`);
  }, state.idleSeconds * 1000);
}

// Over HTTPS, asks the server whether the browser presented a registered
// device's certificate (GET /v1/session without a token). A device may then
// sign in as itself; a revoked device is told so before anyone types a
// token (the server refuses every request from it, token or not). Without a
// certificate, or on a server without /v1/session, only the token sign-in
// is offered. Over plain HTTP there is no certificate: nothing is asked.
const kDeviceRefusals = {
  device_revoked: 'This browser presents a device certificate that has been revoked: nothing ' +
    'can be sent from this device.',
  unknown_device: 'This browser presents a certificate that is not registered as a device: ' +
    'sign in with your token.',
  missing_client_certificate: 'This server requires a device certificate, and this browser ' +
    'presented none.',
};

async function probeDevice({quiet = false} = {}) {
  state.device = null;
  const status = $('device-status');
  status.textContent = '';
  status.hidden = true;
  $('device-sign-in').hidden = true;
  $('token').disabled = false;
  $('sign-in-button').disabled = false;
  if (location.protocol !== 'https:') return;
  let session;
  try {
    session = await api.deviceSession();
  } catch (error) {
    const reason = error.details && error.details.reason;
    if (Object.hasOwn(kDeviceRefusals, reason)) {
      status.textContent = kDeviceRefusals[reason];
      status.hidden = false;
      if (!quiet) report.error(describeError(error, 'Device sign-in'));
      if (reason === 'device_revoked') {
        $('token').disabled = true;
        $('sign-in-button').disabled = true;
      }
    }
    return;
  }
  if (signedIn() || !session || session.authenticated_by !== 'device_certificate' ||
      !session.device) {
    return;
  }
  const role = (session.principal && session.principal.role) || 'unknown';
  state.device = {name: String(session.device), role: String(role)};
  status.textContent = `This browser presents the certificate of device ${state.device.name} ` +
    `(role ${state.device.role}).`;
  status.hidden = false;
  $('device-sign-in-button').textContent = `Sign in as device ${state.device.name}`;
  $('device-sign-in').hidden = false;
}

async function signIn(token) {
  report.clear();
  if (!/^\S+$/.test(token)) {
    report.error('Enter the API token you were given.');
    return;
  }
  setToken(token);
  await enterWorkspace('Sign-in');
}

// The device acts as its own principal, with the role it was registered
// with; the server applies every rule (role, authority, review) to it.
async function signInAsDevice() {
  report.clear();
  if (!state.device) return;
  setDeviceSession(true);
  await enterWorkspace('Device sign-in');
}

// Who is signed in, in words, from GET /v1/session (null: not offered).
function describeSession(session) {
  if (!session || !session.principal) return 'Signed in';
  const principal = session.principal;
  if (session.authenticated_by === 'device_certificate') {
    return `Signed in as device ${session.device || principal.name} (${principal.role})`;
  }
  return `Signed in as ${principal.name} (${principal.role})` +
    (session.device ? ` on device ${session.device}` : '');
}

async function enterWorkspace(action) {
  let features;
  let galleries;
  let session = null;
  try {
    features = featuresFrom(await api.openApi());
    if (features.session) session = await api.session();
    galleries = (await api.galleries()).galleries || [];
  } catch (error) {
    setToken(null);
    setDeviceSession(false);
    report.error(describeError(error, action));
    return;
  }
  state.features = features;
  const select = $('gallery');
  select.replaceChildren();
  for (const gallery of galleries) {
    const option = el('option', `${gallery.name} (${gallery.identities} identities)`);
    option.value = gallery.name;
    select.append(option);
  }
  if (!galleries.length) select.append(el('option', 'No gallery on this server'));
  await loadAuthorities();
  describeFeatures();
  review.setFeatures(features);
  $('sign-in').hidden = true;
  $('workspace').hidden = false;
  $('sign-out').hidden = false;
  $('session-line').textContent = `${describeSession(session)}; signs out after ` +
    `${Math.round(state.idleSeconds / 60) || 1} min without activity`;
  showView('capture');
  applyModality();
  touchActivity();
  report.status('Signed in.');
}

async function loadAuthorities() {
  const select = $('authority');
  select.replaceChildren();
  const help = $('authority-help');
  if (!state.features.authorities) {
    select.append(el('option', 'Not offered by this server'));
    select.disabled = true;
    help.textContent = 'This server does not list authorities yet (no /v1/authorities in its ' +
      'API), so searches cannot name an authority or case here.';
    return;
  }
  select.disabled = false;
  try {
    const reply = await api.authorities();
    // Usable: granted, or urgent and still awaiting its decision (the
    // server stops such searches if the grant does not come in time).
    const now = Date.now();
    const active = (reply.authorities || []).filter((authority) => {
      const state = String(authority.state);
      const scope = authority.scope || {};
      const ended = scope.not_after && Date.parse(scope.not_after) < now;
      return !ended && (state === 'granted' || (state === 'requested' && authority.urgent));
    });
    state.authorities = new Map();
    const prompt = el('option', 'Choose an authority');
    prompt.value = '';
    select.append(prompt);
    for (const authority of active) {
      const scope = authority.scope || {};
      const until = scope.not_after ?
        `until ${scope.not_after.slice(0, 16).replace('T', ' ')}` : '';
      const option = el('option', [scope.case_id && `Case ${scope.case_id}`,
        scope.purpose && scope.purpose.replace(/_/g, ' '), authority.reference, until,
        authority.state === 'requested' ? 'urgent, not yet granted' : '']
          .filter(Boolean).join(' · ') || `Authority ${authority.id}`);
      option.value = String(authority.id);
      state.authorities.set(option.value, authority);
      select.append(option);
    }
    help.textContent = active.length ?
      'Every search names the authority it is made under.' :
      'No active authority is available to you: a search cannot be made.';
  } catch (error) {
    select.disabled = true;
    help.textContent = describeError(error, 'Listing authorities');
  }
}

function describeFeatures() {
  const f = state.features;
  const missing = [];
  if (!f.authorities) missing.push('authorities and cases');
  if (!f.reviews) missing.push('examiner review');
  if (!f.stop) missing.push('STOP');
  if (!f.fingerSearch) missing.push('finger search');
  $('features').textContent = missing.length ?
    `Not offered by this server yet (not in its /v1/openapi.json): ${missing.join(', ')}.` :
    '';
}

function signOut(reason, {probe = true} = {}) {
  const wasSignedIn = signedIn();
  stopQualityLoop();
  stopCamera($('preview'));
  dropProbe();
  releaseQualityBuffers();
  clearTimeout(state.idleTimer);
  setToken(null);
  setDeviceSession(false);
  state.features = {};
  state.authorities = new Map();
  $('gallery').replaceChildren();
  $('authority').replaceChildren();
  $('authority-help').textContent = '';
  $('features').textContent = '';
  $('result-summary').replaceChildren();
  $('face-list').replaceChildren();
  $('candidates').tBodies[0].replaceChildren();
  review.clear();
  resetChecks();
  $('token').value = '';
  $('ppi').value = '';
  $('finger-position').value = '0';
  $('workspace').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('session-line').textContent = 'Signed out';
  report.clear();
  if (reason) report.error(reason);
  // Back at the sign-in form: show this device's standing again (e.g. that
  // its certificate was revoked meanwhile).
  if (probe && wasSignedIn) probeDevice({quiet: Boolean(reason)});
}

// ---- Views ---------------------------------------------------------------

function showView(name) {
  $('capture').hidden = name !== 'capture';
  $('result').hidden = name !== 'result';
  $('review').hidden = name !== 'review';
  $('tab-capture').setAttribute('aria-pressed', String(name !== 'review'));
  $('tab-review').setAttribute('aria-pressed', String(name === 'review'));
  if (name === 'review') {
    stopQualityLoop();
    stopCamera($('preview'));
  }
}

function applyModality() {
  const mode = modality();
  const camera = mode !== 'file';
  $('camera-controls').hidden = !camera;
  $('file-controls').hidden = camera;
  $('guide').className = `guide ${mode === 'finger' ? 'guide-finger' : 'guide-face'}`;
  $('guide-text').textContent = mode === 'finger' ?
    'Hold one fingertip inside the outline, pad towards the camera, about 10 cm away, in ' +
    'good light; keep the other fingertips out of the picture.' :
    mode === 'face' ? 'Fill the oval with the face, looking at the camera, in even light.' : '';
  $('finger-details').hidden = !searchesFinger();
  $('ppi-field').hidden = !searchesContactPrint();
  if (!camera) {
    stopQualityLoop();
    stopCamera($('preview'));
  }
  dropProbe();
  resetChecks();
  updateButtons();
}

function updateButtons() {
  const live = Boolean($('preview').srcObject);
  $('start-camera').disabled = state.busy || live || state.probe !== null;
  $('capture-button').disabled = state.busy || !live;
  $('retake').disabled = state.busy || state.probe === null || state.probeSource !== 'camera';
  $('submit').disabled = state.busy || state.probe === null;
}

// ---- Checks on the device ------------------------------------------------

function resetChecks() {
  $('check-exposure').textContent = 'Exposure: waiting for a picture';
  $('check-sharpness').textContent = 'Sharpness: waiting for a picture';
  $('check-subject').textContent = searchesFinger() ?
    'Finger: waiting for a picture' : 'Face: waiting for a picture';
  for (const id of ['check-exposure', 'check-sharpness', 'check-subject']) $(id).className = '';
}

function showChecks(verdict) {
  if (!verdict) return;
  if (searchesContactPrint()) {
    // A scan is mostly white paper: the camera checks do not apply to it.
    $('check-exposure').textContent = 'Exposure: not checked for a scanned print';
    $('check-sharpness').textContent = 'Sharpness: not checked for a scanned print';
    $('check-subject').textContent =
      'Fingerprint: the server measures its quality (minutiae, ridge clarity) when you submit';
    for (const id of ['check-exposure', 'check-sharpness', 'check-subject']) $(id).className = '';
    return;
  }
  $('check-exposure').textContent = verdict.exposureText;
  $('check-exposure').className = verdict.exposureOk ? 'ok' : 'bad';
  $('check-sharpness').textContent = verdict.sharpnessText;
  $('check-sharpness').className = verdict.sharpnessOk ? 'ok' : 'bad';
  const subject = $('check-subject');
  if (searchesFinger()) {
    // Contact prints are not judged here (mostly white paper); photos are.
    const usable = verdict.exposureOk && verdict.sharpnessOk &&
      (verdict.skinOk || state.probeSource === 'file');
    if (!verdict.skinOk && state.probeSource !== 'file') {
      subject.textContent = `Finger: no fingertip fills the outline (${verdict.skinPercent}% ` +
        'skin); place the finger pad inside it';
    } else {
      subject.textContent = usable ? 'Finger: the area inside the outline is usable' :
        'Finger: keep the fingertip inside the outline, sharp and well lit';
    }
    subject.className = usable ? 'ok' : 'bad';
  } else if (!state.features.faceCheck) {
    subject.textContent = 'Face: the face check happens on the server when you submit';
    subject.className = '';
  }
}

function region() {
  return modality() === 'finger' ? kFingerRegion : kFaceRegion;
}

function startQualityLoop() {
  stopQualityLoop();
  const video = $('preview');
  state.qualityTimer = setInterval(() => {
    if (!video.videoWidth) return;
    showChecks(judge(measure(video, video.videoWidth, video.videoHeight, region())));
  }, kQualityIntervalMs);
}

function stopQualityLoop() {
  clearInterval(state.qualityTimer);
  state.qualityTimer = null;
}

async function serverFaceCheck() {
  if (!state.features.faceCheck || searchesFinger() || state.probe === null) return;
  const form = new FormData();
  form.append('image', state.probe, 'probe.jpg');
  try {
    const reply = await api.checkFaces(form);
    const faces = reply.faces || [];
    const usable = faces.filter((face) => face.passes_gate !== false).length;
    $('check-subject').textContent = faces.length ?
      `Face: ${faces.length} found, ${usable} good enough to search` : 'Face: none found; retake';
    $('check-subject').className = usable ? 'ok' : 'bad';
  } catch (error) {
    $('check-subject').textContent = describeError(error, 'The face check');
    $('check-subject').className = 'bad';
  }
}

// ---- Capture -------------------------------------------------------------

// Wipes the photo: the Blob reference, the canvas pixels, the file input.
function dropProbe() {
  state.probe = null;
  state.probeSource = null;
  const still = $('still');
  clearCanvas(still);
  still.hidden = true;
  $('preview').hidden = false;
  $('file').value = '';
  $('face-choice').hidden = true;
  $('face-list').replaceChildren();
}

async function onStartCamera() {
  report.clear();
  state.busy = true;
  updateButtons();
  try {
    await startCamera($('preview'), 'environment');
    startQualityLoop();
    report.status('Camera on. Capture when the checks are good.');
  } catch (error) {
    stopCamera($('preview'));
    report.error(describeCameraError(error));
  } finally {
    state.busy = false;
    updateButtons();
  }
}

async function onCapture() {
  const video = $('preview');
  const still = $('still');
  if (!video.videoWidth) return;
  state.busy = true;
  updateButtons();
  try {
    stopQualityLoop();
    state.probe = await captureFrame(video, still);
    state.probeSource = 'camera';
    stopCamera(video);
    video.hidden = true;
    still.hidden = false;
    showChecks(judge(measure(still, still.width, still.height, region())));
    report.status('Photo captured. Submit it, or retake.');
    await serverFaceCheck();
  } catch (error) {
    report.error(`The photo could not be taken: ${error.message}`);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

async function onRetake() {
  dropProbe();
  resetChecks();
  await onStartCamera();
}

async function onFileChosen() {
  const file = $('file').files[0];
  if (!file) return;
  report.clear();
  dropProbe();
  const still = $('still');
  try {
    state.probe = await loadPhotoFile(file, still);
    state.probeSource = 'file';
    $('preview').hidden = true;
    still.hidden = false;
    showChecks(judge(measure(still, still.width, still.height)));
    report.status('Photo loaded. Submit it to search.');
    await serverFaceCheck();
  } catch (error) {
    dropProbe();
    report.error(error.message);
  } finally {
    $('file').value = '';
    updateButtons();
  }
}

// ---- Search --------------------------------------------------------------

async function onSubmit(faceIndex) {
  report.clear();
  const f = state.features;
  const gallery = $('gallery').value;
  if (state.probe === null) {
    report.error('Capture or choose a photo first.');
    return;
  }
  if (!gallery) {
    report.error('Choose a gallery to search.');
    return;
  }
  const authority = f.authorities ? $('authority').value : '';
  if (f.authorities && !authority) {
    report.error('Choose the authority and case this search is made under.');
    return;
  }
  const wantsFinger = searchesFinger();
  if (wantsFinger && !f.fingerSearch) {
    report.error('Finger search is not offered by this server yet (its /v1/identifications ' +
      'takes no modality), so the finger photo was not sent. It has been discarded.');
    dropProbe();
    resetChecks();
    updateButtons();
    return;
  }
  const finger = wantsFinger ? fingerFields() : null;
  if (finger && finger.error) {
    report.error(finger.error);
    $('ppi').focus();
    return;
  }
  const form = new FormData();
  if (f.galleriesField) form.append('galleries', gallery);
  else form.append('gallery', gallery);
  if (authority) form.append('authority_id', authority);
  const chosen = state.authorities.get(authority);
  if (f.caseField && chosen && chosen.scope && chosen.scope.case_id) {
    form.append('case_id', chosen.scope.case_id);
  }
  if (f.fingerSearch) form.append('modality', wantsFinger ? 'finger' : 'face');
  if (finger) {
    if (finger.position !== '0') form.append('finger_position', finger.position);
    if (finger.contactless) form.append('contactless', 'true');
    else form.append('ppi', finger.ppi);
  }
  form.append('max_candidates', '20');
  if (typeof faceIndex === 'number') form.append('face_index', String(faceIndex));
  form.append('image', state.probe, state.probe.type === 'image/png' ? 'probe.png' : 'probe.jpg');
  state.busy = true;
  updateButtons();
  report.status('Searching…');
  let result;
  try {
    result = await api.identify(form);
  } catch (error) {
    report.status('');
    report.error(describeError(error, 'The search'));
    dropProbe();
    resetChecks();
    return;
  } finally {
    form.delete('image');
    state.busy = false;
    updateButtons();
  }
  if (result.needs_face_selection) {
    offerFaceChoice(result);
    return;
  }
  dropProbe();
  resetChecks();
  showResult(result);
}

function offerFaceChoice(result) {
  const list = $('face-list');
  list.replaceChildren();
  for (const face of result.faces || []) {
    const item = el('li');
    const button = el('button', `Search face ${face.index + 1} of ${result.faces.length}` +
      (face.box ? ` (at ${Math.round(face.box.x)}, ${Math.round(face.box.y)})` : ''));
    button.type = 'button';
    button.addEventListener('click', () => onSubmit(face.index));
    item.append(button);
    list.append(item);
  }
  $('face-choice').hidden = false;
  renderSummary($('result-summary'), result);
  $('candidates').tBodies[0].replaceChildren();
  $('no-candidates').hidden = true;
  showView('result');
  report.status('Several faces: choose one to search.');
}

function showResult(result) {
  renderSummary($('result-summary'), result);
  const candidates = result.candidates || [];
  renderCandidates($('candidates').tBodies[0], candidates);
  $('no-candidates').hidden = candidates.length > 0;
  showView('result');
  $('result-title').focus();
  report.status(`${candidates.length} candidate${candidates.length === 1 ? '' : 's'} for ` +
    'review. The photo was discarded from this device.');
}

function onNewCapture() {
  $('result-summary').replaceChildren();
  $('candidates').tBodies[0].replaceChildren();
  dropProbe();
  resetChecks();
  report.clear();
  showView('capture');
  updateButtons();
}

// ---- Wiring --------------------------------------------------------------

function wire() {
  state.idleSeconds = readIdleSeconds();
  whenTokenRefused((error) => {
    if (signedIn() && !$('workspace').hidden) {
      signOut(describeError(error, 'The request') + ' You were signed out; the page was cleared.');
    }
  });
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    $('token').value = '';
    signIn(token);
  });
  $('device-sign-in-button').addEventListener('click', () => signInAsDevice());
  $('sign-out').addEventListener('click', () => signOut('Signed out; the page was cleared.'));
  $('tab-capture').addEventListener('click', () => showView('capture'));
  $('tab-review').addEventListener('click', () => showView('review'));
  const radios = 'input[name="modality"], input[name="file-kind"]';
  for (const radio of document.querySelectorAll(radios)) {
    radio.addEventListener('change', applyModality);
  }
  $('start-camera').addEventListener('click', onStartCamera);
  $('capture-button').addEventListener('click', onCapture);
  $('retake').addEventListener('click', onRetake);
  $('file').addEventListener('change', onFileChosen);
  $('submit').addEventListener('click', () => onSubmit());
  $('new-capture').addEventListener('click', onNewCapture);
  for (const type of ['pointerdown', 'keydown', 'input', 'touchstart']) {
    document.addEventListener(type, touchActivity, {capture: true, passive: true});
  }
  // Leaving the page (tab closed, navigated away, app switched on a phone
  // that discards it) ends the session like a sign-out.
  window.addEventListener('pagehide', () => signOut('', {probe: false}));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      stopQualityLoop();
      stopCamera($('preview'));
      updateButtons();
    }
  });
  resetChecks();
  updateButtons();
  probeDevice();
}

wire();
