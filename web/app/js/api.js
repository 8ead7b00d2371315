// api.js: the abis REST API (docs/http_api.md) as the app uses it.
//
// The bearer token lives only in this module's closure: never in storage,
// cookies or the URL, so a reload or closing the tab signs the user out.
// Requests never use the HTTP cache and send no referrer. Over HTTPS with
// mTLS the browser presents its device certificate on the connection
// (credentials 'same-origin': the Fetch standard counts TLS client
// certificates as credentials; the server sets no cookie), so a registered
// device may be signed in without a token (docs/web_app.md, "Device
// sign-in").

let token = null;
let deviceSession = false;
let onTokenRefused = () => {};

export function setToken(value) {
  token = value || null;
  if (token !== null) deviceSession = false;
}

// Signed in as the capture device itself (its client certificate, no token).
export function setDeviceSession(on) {
  deviceSession = Boolean(on);
  if (deviceSession) token = null;
}

// Called (with the ApiError) when the server refuses the token mid-session,
// e.g. after it was revoked: the app then signs out and clears the page.
export function whenTokenRefused(handler) {
  onTokenRefused = handler;
}

export function signedIn() {
  return token !== null || deviceSession;
}

// A refusal from the server (its one error shape) or a network failure.
export class ApiError extends Error {
  constructor(httpStatus, code, message, details) {
    super(message);
    this.httpStatus = httpStatus;
    this.code = code;
    this.details = details || {};
  }
}

async function call(method, path, body, {anonymous = false} = {}) {
  if (!anonymous && !signedIn()) throw new ApiError(0, 'unauthenticated', 'not signed in', {});
  const headers = {};
  if (token !== null && !anonymous) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: payload, cache: 'no-store', credentials: 'same-origin',
      referrerPolicy: 'no-referrer', redirect: 'error',
    });
  } catch (error) {
    throw new ApiError(0, 'network', 'the server could not be reached', {});
  }
  let document = null;
  try {
    document = await response.json();
  } catch (error) {
    document = null;
  }
  if (!response.ok) {
    const code = document && typeof document.code === 'string' ? document.code : 'http_error';
    const message = document && typeof document.message === 'string' ?
      document.message : `HTTP ${response.status}`;
    const error = new ApiError(response.status, code, message, document && document.details);
    if (response.status === 401 && !anonymous) onTokenRefused(error);
    throw error;
  }
  return document;
}

export const api = {
  // Who the server takes this browser to be, without a token: over mTLS the
  // registered device of the certificate the browser presented.
  deviceSession: () => call('GET', '/v1/session', undefined, {anonymous: true}),
  session: () => call('GET', '/v1/session'),
  openApi: () => call('GET', '/v1/openapi.json'),
  galleries: () => call('GET', '/v1/galleries'),
  authorities: () => call('GET', '/v1/authorities'),
  identify: (form) => call('POST', '/v1/identifications', form),
  checkFaces: (form) => call('POST', '/v1/faces', form),
  identification: (id) => call('GET', `/v1/identifications/${encodeURIComponent(id)}`),
  // The server records that this examiner opened the candidate.
  openCandidate: (id, rank) =>
    call('POST', `/v1/identifications/${encodeURIComponent(id)}/reviews`, {action: 'open', rank}),
  decide: (id, rank, decision, reason) =>
    call('POST', `/v1/identifications/${encodeURIComponent(id)}/reviews`,
        {action: 'decide', rank, decision, reason}),
  stop: (id, reason) =>
    call('POST', `/v1/identifications/${encodeURIComponent(id)}/stop`, {reason}),
};

// What this server offers, read from its OpenAPI document, so the app shows
// only what the server really does (never a stand-in for a missing route).
export function featuresFrom(openApi) {
  const paths = (openApi && openApi.paths) || {};
  const has = (path, method) => Boolean(paths[path] && paths[path][method]);
  const searchBody = has('/v1/identifications', 'post') ?
    paths['/v1/identifications'].post.requestBody : null;
  const content = (searchBody && searchBody.content) || {};
  const form = content['multipart/form-data'] || content['application/json'] || {};
  const fields = (form.schema && form.schema.properties) || {};
  return {
    authorities: has('/v1/authorities', 'get'),
    reviews: has('/v1/identifications/{id}', 'get') &&
      has('/v1/identifications/{id}/reviews', 'post'),
    stop: has('/v1/identifications/{id}/stop', 'post'),
    faceCheck: has('/v1/faces', 'post'),
    session: has('/v1/session', 'get'),
    fingerSearch: 'modality' in fields,
    authorityField: 'authority_id' in fields,
    caseField: 'case_id' in fields,
    galleriesField: 'galleries' in fields,
  };
}

// One sentence for any refusal, naming what the user can do about it.
export function describeError(error, action) {
  if (!(error instanceof ApiError)) return `${action} failed: ${error.message}`;
  const reason = error.details && error.details.reason;
  const id = error.details && error.details.request_id ?
    ` (request id ${error.details.request_id})` : '';
  if (error.code === 'network') return `${action} failed: the server could not be reached.`;
  if (error.httpStatus === 401 && reason === 'device_revoked') {
    return `${action} was refused: this device's certificate has been revoked. The server ` +
      'refuses every request from this device, with or without a token; use another device ' +
      `and tell your administrator.${id}`;
  }
  if (error.httpStatus === 401 && reason === 'unknown_device') {
    return `${action} was refused: the certificate this browser presented is not registered ` +
      `as a device (${error.message}). Sign in with your token, or ask an administrator ` +
      `to register this device.${id}`;
  }
  if (error.httpStatus === 401 && reason === 'missing_client_certificate') {
    return `${action} was refused: this server requires a device certificate ` +
      `(${error.message}).${id}`;
  }
  if (error.httpStatus === 401) {
    return `${action} was refused: the server did not accept the token (${error.message}). ` +
      `Sign in with a valid token.${id}`;
  }
  if (error.httpStatus === 403 && reason === 'role') {
    return `${action} was refused: this token's role may not do this (${error.message}).${id}`;
  }
  if (error.httpStatus === 403) {
    return `${action} was refused by the server: ${error.message}.${id}`;
  }
  if (error.httpStatus === 429) {
    return `${action} was refused: too many requests; wait a moment and try again.${id}`;
  }
  if (error.httpStatus === 413) return `${action} was refused: the photo is too large.${id}`;
  if (/no face/i.test(error.message)) {
    return `No face found: the server found no face in the photo (${error.message}). ` +
      `Retake it with the face filling the oval.${id}`;
  }
  if (error.httpStatus >= 500) {
    return `${action} failed on the server (HTTP ${error.httpStatus}); try again later.${id}`;
  }
  return `${action} was refused by the server: ${error.message} (${error.code}).${id}`;
}
