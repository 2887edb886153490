// The console's JSON API client (docs/console.md). Requests carry the session
// cookie; every request other than GET/HEAD carries X-CSRF-Token. A 401 on
// anything but signing in means the session is gone: listeners are told so
// the console returns to the sign-in page.

export const BASE = '/console/api';

let csrf = '';
const unauthorized = new Set();

export function setCsrf(token) { csrf = token || ''; }

export function onUnauthorized(fn) { unauthorized.add(fn); }

// ApiError is a refused request: status, the error code of docs/errors.md,
// the server's description, and Retry-After (seconds) when it was sent.
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error_description || body?.error || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || body?.error || '';
    this.description = body?.error_description || '';
    this.retryAfter = retryAfter;
  }
}

// request calls the API. query is an object of query parameters (empty ones
// are left out); body is sent as JSON.
export async function request(method, path, { query, body } = {}) {
  let url = BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, { code: 'network', error_description: String(e.message || e) });
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, Number(res.headers.get('Retry-After')) || 0);
    if (res.status === 401 && !(method === 'POST' && path === '/session')) {
      for (const fn of unauthorized) fn(err);
    }
    throw err;
  }
  return data ?? {};
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body = {}) => request('POST', path, { body });
export const put = (path, body = {}) => request('PUT', path, { body });
export const del = (path) => request('DELETE', path);

// appPath builds /apps/{org}/{app}/... from "org/app" and further segments,
// each URL-encoded.
export function appPath(app, ...segments) {
  const [org, name] = app.split('/');
  return ['/apps', org, name, ...segments].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}
