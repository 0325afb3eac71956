// The API client: same origin, bearer token from this tab's sessionStorage, X-Purpose when set.
// The UI keeps nothing beyond what the API returned to this token.

const TOKEN_KEY = "ofast-graph.token";
const PURPOSE_KEY = "ofast-graph.purpose";
const BOOKMARKS_KEY = "ofast-graph.bookmarks";
const BOOKMARK_HEADER = "X-Neo4j-Bookmark";
const MAX_BOOKMARKS = 32; // the service refuses more in one header

// Read-your-writes behind several replicas: the bookmarks of this tab's writes go with every
// request, so what a page shows after a change includes the change, whichever replica answers.
// A write's answer covers the bookmarks it was sent with; others (concurrent writes) are kept.
const bookmarks = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(BOOKMARKS_KEY) || "[]"); } catch { return []; }
  },
  remember(sent, fresh) {
    if (!fresh) return;
    const kept = this.get().filter((b) => !sent.includes(b));
    kept.push(fresh);
    sessionStorage.setItem(BOOKMARKS_KEY, JSON.stringify(kept.slice(-MAX_BOOKMARKS)));
  },
  clear() { sessionStorage.removeItem(BOOKMARKS_KEY); },
};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ""; },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
  },
  get purpose() { return sessionStorage.getItem(PURPOSE_KEY) || ""; },
  set purpose(value) {
    if (value) sessionStorage.setItem(PURPOSE_KEY, value); else sessionStorage.removeItem(PURPOSE_KEY);
  },
  me: null,
  clear() { this.token = ""; this.me = null; bookmarks.clear(); },
};

function query(params) {
  const usp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") usp.set(k, String(v));
  }
  const s = usp.toString();
  return s ? `?${s}` : "";
}

/** Call the API; resolves to parsed JSON (or text/blob by `as`), rejects with ApiError. */
export async function api(method, path, { params, body, headers, as } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (session.token) h.Authorization = `Bearer ${session.token}`;
  if (session.purpose) h["X-Purpose"] = session.purpose;
  const sent = bookmarks.get();
  if (sent.length) h[BOOKMARK_HEADER] = sent.join(",");
  let payload;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path + query(params), { method, headers: h, body: payload, cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, "network", "the service cannot be reached", String(err));
  }
  bookmarks.remember(sent, response.headers.get(BOOKMARK_HEADER));
  if (!response.ok) {
    let err = { code: `http_${response.status}`, message: response.statusText || "request failed" };
    try {
      const data = await response.json();
      if (data && data.error) err = data.error;
    } catch { /* not JSON */ }
    if (response.status === 401 && session.me) window.dispatchEvent(new CustomEvent("ofast:unauthorised", { detail: err }));
    throw new ApiError(response.status, err.code, err.message, err.details);
  }
  if (as === "blob") return response.blob();
  if (as === "text") return response.text();
  if (as === "response") return response;
  return response.status === 204 ? null : response.json();
}

export const get = (path, params, opts = {}) => api("GET", path, { ...opts, params });
export const post = (path, body, opts = {}) => api("POST", path, { ...opts, body });
