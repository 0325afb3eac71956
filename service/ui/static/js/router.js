// Hash routing shared by the shell and the views. It knows no view: app.js hands it the function
// that renders a route, so views can navigate without importing the shell (no import cycle).
let render = null;
// Views register a cleanup (charts, maps, graphs) to run when the route changes.
let cleanup = null;

export function onLeave(fn) { cleanup = fn; }

/** Run the current view's cleanup, once. */
export function leave() {
  if (!cleanup) return;
  try { cleanup(); } catch { /* ignore */ }
  cleanup = null;
}

export function navigate(hash) {
  // The same hash fires no hashchange: render again, so a "reload" link still works.
  if (location.hash === hash) render?.(); else location.hash = hash;
}

export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, qs] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || "search", args: parts.slice(1), params: new URLSearchParams(qs || "") };
}

/** Render with `fn` now and on every hash change. */
export function startRouter(fn) {
  render = fn;
  window.addEventListener("hashchange", fn);
  fn();
}
