// Small DOM helpers. Text from the API only ever goes in through textContent / attributes,
// never innerHTML, so no value can inject markup or script.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children (arrays flattened, null and false skipped). */
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function mount(...children) {
  const view = clear(document.getElementById("view"));
  append(view, children);
  return view;
}

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  const code = err && err.code ? ` (${err.code})` : "";
  return h("div", { class: "error", role: "alert" }, msg + code);
}

export function loading(text = "Loading…") {
  return h("div", { class: "loading" }, text);
}

export function fmtDate(value) {
  if (!value) return "—";
  return String(value).replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$|Z$/, " UTC");
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString("fr-FR", { maximumFractionDigits: digits });
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function kv(rows) {
  return h("table", { class: "kv" }, h("tbody", {}, rows.filter(Boolean).map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", {}, v === undefined || v === null || v === "" ? "—" : v)))));
}
