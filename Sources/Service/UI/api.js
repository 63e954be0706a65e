// The API client: the session (token and scope), JSON requests with the
// bearer token, problem details as errors. Every call carries the token kept
// in sessionStorage.

const TOKEN_KEY = 'signalforge.token';

// A link such as /ui/#token=… (printed by deploy/run.sh) hands over the
// token once; the fragment never reaches the server, and is dropped here.
// `&go=/experiments/ID` then opens that page.
const handoff = /^#token=([^&]*)(?:&go=(\/[^#]*))?$/.exec(location.hash);
if (handoff) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(handoff[1]));
  history.replaceState(null, '', location.pathname + '#' + (handoff[2] || '/'));
}

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  // 'admin' | 'operate' | 'read' | null (unknown)
  scope: null,
  scopeReason: '',
  open: false, // the server asks for no token
};

/**
 * What the session tells the page: 'unauthorized' (the server rejected the
 * token; detail: the reason) and 'scope' (the scope changed).
 */
export const sessionEvents = new EventTarget();

export function saveToken(token) {
  session.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = '';
  session.scope = null;
}

/** The server refused the token (a 401): the page asks for another. */
export function tokenRejected(reason) {
  sessionEvents.dispatchEvent(new CustomEvent('unauthorized', { detail: reason }));
}

/** The server refused an action for this token's scope (a 403): the page turns read-only. */
export function readOnly(reason) {
  session.scope = 'read';
  session.scopeReason = reason || session.scopeReason;
  sessionEvents.dispatchEvent(new CustomEvent('scope'));
}

/** True when the session may do what `scope` allows (admin ⊃ operate ⊃ read). */
export function may(scope) {
  if (session.open && !session.token) return true;
  // Unknown (whoami failed): offer control, the server answers 403 if not; never offer delete.
  if (!session.scope) return scope !== 'admin';
  const rank = { read: 1, operate: 2, admin: 3 };
  return (rank[session.scope] || 0) >= rank[scope];
}

/** An HTTP error, with the RFC 9457 problem the server sent (or null). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
    this.status = status;
    this.problem = problem;
  }
}

/** Headers with the bearer token. */
export function authHeaders(extra) {
  const hdr = Object.assign({}, extra || {});
  if (session.token) hdr.Authorization = 'Bearer ' + session.token;
  return hdr;
}

/**
 * A request; resolves to the JSON body (`opts.text`: the text; 204: null).
 * opts: body (sent as JSON), headers, signal, text, quiet401 (no sign-in form on a 401).
 */
export async function api(method, path, opts) {
  opts = opts || {};
  const headers = authHeaders(Object.assign({ Accept: 'application/json' }, opts.headers));
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: 'the server is unreachable (' + e.message + ')' });
  }
  if (!res.ok) {
    let problem = null;
    try { problem = await res.json(); } catch (_) { /* not JSON */ }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && !opts.quiet401) tokenRejected(err.message);
    throw err;
  }
  if (opts.gunzip) return new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).text();
  if (opts.text) return res.text();
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** Asks the server what this token may do (`GET /v1/whoami`). */
export async function probeScope() {
  try {
    const me = await api('GET', '/v1/whoami', { quiet401: true });
    if (me.scope === 'read') {
      session.scope = 'read';
      session.scopeReason = 'token \u2018' + me.name + '\u2019 has scope read: it can look but not control';
    } else {
      session.scope = me.scope === 'admin' ? 'admin' : 'operate';
    }
  } catch (e) {
    session.scope = null;
  }
  sessionEvents.dispatchEvent(new CustomEvent('scope'));
}
