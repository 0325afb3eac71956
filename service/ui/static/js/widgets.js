// Small pieces of UI that several views (and the header) draw the same way.
import { api, get, session } from "./api.js";
import { fmtDate, fmtNumber, h, kv } from "./dom.js";
import { colour, icon, label } from "./types.js";

export function typeBadge(type) {
  return h("span", { class: "type-badge", style: `background:${colour(type)}` },
    h("img", { src: icon(type), alt: "" }), type);
}

/** Another agency's restricted item: who holds it and whom to contact, never its content. */
export function stubBox(node) {
  return h("div", { class: "stub-box" },
    h("strong", {}, `Restricted ${node.type} of ${node.owner_agency}`),
    h("p", {}, "Another service holds this item; its content is not shared with your agency."),
    h("p", {}, "Contact: ", h("span", { class: "contact" }, node.contact || "—")),
    node.handling_notice ? h("p", { class: "muted" }, node.handling_notice) : null);
}

function showAlertCount(total) {
  const badge = document.getElementById("alert-count");
  badge.textContent = String(total);
  badge.hidden = total === 0;
  badge.dataset.live = live.token ? "1" : "";
}

/** The header's count of unacknowledged alerts (hidden when none, or when the call fails). */
export async function refreshAlertCount() {
  try {
    const pending = await get("/v1/alerts", { acknowledged: false, limit: 1 });
    showAlertCount(pending.total);
  } catch {
    document.getElementById("alert-count").hidden = true;
  }
  watchAlertCount();
}

// The live count: one server-sent event stream per tab (GET /v1/alerts/stream), reopened when the
// server closes it, with a growing pause while it fails. Read with fetch rather than EventSource,
// which cannot send the Authorization header; the few lines of `event:`/`data:` parsing are ours
// for that reason.
const live = { token: "", retry: 2000 };

async function watchAlertCount() {
  if (!session.token || live.token === session.token) return;
  const token = (live.token = session.token);
  while (session.token === token) {
    try {
      const response = await api("GET", "/v1/alerts/stream", { as: "response", headers: { Accept: "text/event-stream" } });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      live.retry = 2000;
      for (;;) {
        const { value, done } = await reader.read();
        if (done || session.token !== token) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
          if (/^event: ?pending$/m.test(block) && data) showAlertCount(JSON.parse(data).pending);
        }
      }
    } catch {
      live.retry = Math.min(live.retry * 2, 60000);
    }
    await new Promise((resolve) => setTimeout(resolve, live.retry));
  }
  if (live.token === token) live.token = "";
}

// Events (calls, plate reads, transfers) as the event endpoints return them: their parties and
// places are nodes like any other (or, for a value-only party, a plain string).

export const EVENT_KINDS = { call: "Calls", plate_read: "Plate reads", transfer: "Transfers" };

/** A node named by an event: a link to its page, or a stub with whom to contact. */
export function nodeLink(node) {
  if (node === undefined || node === null || node === "") return "—";
  if (typeof node !== "object") return String(node);
  if (node.redacted) return h("span", { class: "stub-inline" }, `restricted · ${node.owner_agency || "?"}`);
  return h("a", { href: `#/entity/${encodeURIComponent(node.id)}`, class: "node-link" }, label(node));
}

/** Where an event happened (a cell site or plate reader), when it is known and placed. */
export function eventPlace(ev) {
  const place = ev.place || ev.cell || ev.reader || null;
  if (!place || typeof place !== "object" || place.redacted) return null;
  const p = place.properties || {};
  const lat = Number(p.lat ?? place.lat);
  const lon = Number(p.lon ?? place.lon);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const azimuth = p.azimuth ?? place.azimuth;
  return { id: place.id, node: place, lat, lon, kind: p.kind || place.kind || (ev.kind === "plate_read" ? "plate_reader" : "cell_site"),
    azimuth: azimuth === undefined || azimuth === null ? null : Number(azimuth), operator: p.operator || place.operator || null,
    label: label(place) };
}

/** A one-line summary of an event: who, whom, how long. */
export function eventSummary(ev) {
  const name = (n) => (n && typeof n === "object" ? (n.redacted ? `restricted (${n.owner_agency})` : label(n)) : n || "?");
  switch (ev.kind) {
    case "call":
      return `${ev.mode || "call"} ${name(ev.from)} → ${name(ev.to)}${ev.duration_s ? ` · ${ev.duration_s} s` : ""}`;
    case "plate_read":
      return `${name(ev.vehicle)} read at ${name(ev.place || ev.reader)}`;
    case "transfer":
      return `${name(ev.from)} → ${name(ev.to)} · ${fmtNumber(ev.amount_eur, 2)} €`;
    default:
      return ev.kind;
  }
}

const EVENT_FIRST = ["kind", "at", "from", "to", "vehicle", "mode", "duration_s", "amount_eur", "reference", "handset",
  "place", "cell", "reader", "owner_agency", "ref", "sharing"];

/** Every field of one event, its nodes as links. */
export function eventDetail(ev) {
  const keys = [...EVENT_FIRST.filter((k) => k in ev), ...Object.keys(ev).filter((k) => !EVENT_FIRST.includes(k) && k !== "id")];
  return kv(keys.filter((k) => !(["redacted", "date_only"].includes(k) && !ev[k])).map((k) => {
    const v = ev[k];
    if (k === "provenance" && v) return [k, Object.entries(v).filter(([, x]) => x)
      .map(([a, x]) => `${a}: ${a.endsWith("_at") ? fmtDate(x) : x}`).join(" · ")];
    if (k === "at") return [k, fmtDate(v)];
    if (v && typeof v === "object" && !Array.isArray(v) && (v.id || v.type)) return [k, nodeLink(v)];
    if (v && typeof v === "object") return [k, JSON.stringify(v)];
    return [k, v];
  }));
}

/** Another agency's restricted events: how many, whose, and whom to contact — never what or when. */
export function withheldBox(withheld, what = "event", id = undefined) {
  if (!withheld || !withheld.length) return null;
  return h("div", { class: "stub-box withheld", id },
    h("strong", {}, `Restricted ${what}s of other services`),
    h("ul", {}, withheld.map((w) => h("li", { class: "withheld-row", dataset: { agency: w.owner_agency || "", count: String(w.count) } },
      h("span", { class: "withheld-count" }, `${w.owner_agency}: ${fmtNumber(w.count)} ${what}${w.count === 1 ? "" : "s"}`),
      " — contact: ", h("span", { class: "contact" }, w.contact || "—")))));
}

/** Where the SIM in a handset, or the handset of a SIM, changed: consecutive uses, ordered by first use. */
export function simChanges(uses) {
  const out = [];
  const sorted = uses.filter((u) => u.first).sort((a, b) => String(a.first).localeCompare(String(b.first)));
  for (const key of ["handset", "phone"]) {
    const other = key === "handset" ? "phone" : "handset";
    const byKey = new Map();
    for (const u of sorted) {
      const k = u[key]?.id;
      if (!byKey.has(k)) byKey.set(k, []);
      byKey.get(k).push(u);
    }
    for (const run of byKey.values()) {
      for (let i = 1; i < run.length; i += 1) {
        if (run[i][other]?.id === run[i - 1][other]?.id) continue;
        out.push({ at: run[i].first, text: key === "handset"
          ? `SIM change in handset ${label(run[i].handset)}: ${label(run[i - 1].phone)} → ${label(run[i].phone)}`
          : `handset change for ${label(run[i].phone)}: ${label(run[i - 1].handset)} → ${label(run[i].handset)}` });
      }
    }
  }
  return out.sort((a, b) => String(a.at).localeCompare(String(b.at)));
}

const SLIDER_STEPS = 1000;
const DAY = 24 * 3600 * 1000;

/**
 * A time window over the link chart: two range handles (from, until), step and play buttons.
 * `onChange(since, until)` gets ISO 8601 instants (or undefined for an open end) and may return
 * a promise: play waits for it before the next step, so the chart keeps up with the slider.
 */
export function timeSlider(onChange) {
  let lo = Date.now() - 730 * DAY;
  let hi = Date.now();
  let dated = false;
  let timer = null;
  const from = h("input", { type: "range", id: "slider-from", min: 0, max: SLIDER_STEPS, value: 0, "aria-label": "window start" });
  const to = h("input", { type: "range", id: "slider-to", min: 0, max: SLIDER_STEPS, value: SLIDER_STEPS, "aria-label": "window end" });
  const fromOut = h("output", { for: "slider-from", id: "slider-from-label" });
  const toOut = h("output", { for: "slider-to", id: "slider-to-label" });
  const play = h("button", { type: "button", id: "btn-play", class: "small", onclick: () => (timer ? stop() : start()) }, "▶ Play");
  const at = (v) => new Date(lo + (hi - lo) * (Number(v) / SLIDER_STEPS));
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
  const day = (d) => d.toISOString().slice(0, 16).replace("T", " ");
  const el = h("div", { class: "time-slider", id: "time-slider", role: "group", "aria-label": "time window" },
    h("strong", {}, "Time window"), from, fromOut, "→", to, toOut,
    h("button", { type: "button", id: "btn-step-back", class: "small", title: "Window end one step earlier", onclick: () => step(-1) }, "◀ Step"),
    play,
    h("button", { type: "button", id: "btn-step", class: "small", title: "Window end one step later", onclick: () => step(1) }, "Step ▶"),
    h("button", { type: "button", id: "btn-all-time", class: "small", onclick: () => { stop(); from.value = 0; to.value = SLIDER_STEPS; emit(); } }, "All time"));

  function labels() {
    fromOut.value = Number(from.value) === 0 ? `${day(at(0))} (start)` : day(at(from.value));
    toOut.value = Number(to.value) === SLIDER_STEPS ? `${day(at(SLIDER_STEPS))} (end)` : day(at(to.value));
    el.dataset.since = params().since || "";
    el.dataset.until = params().until || "";
  }
  function params() {
    const out = {};
    if (Number(from.value) > 0) out.since = iso(at(from.value));
    if (Number(to.value) < SLIDER_STEPS) out.until = iso(at(to.value));
    return out;
  }
  function emit() {
    labels();
    const p = params();
    return Promise.resolve(onChange(p.since, p.until));
  }
  function clamp(moved) {
    if (Number(from.value) > Number(to.value)) (moved === from ? to : from).value = moved.value;
  }
  for (const input of [from, to]) {
    input.addEventListener("input", () => { clamp(input); labels(); });
    input.addEventListener("change", () => { stop(); emit(); });
  }
  function step(direction) {
    const size = SLIDER_STEPS / 20;
    to.value = String(Math.max(Number(from.value), Math.min(SLIDER_STEPS, Number(to.value) + direction * size)));
    return emit();
  }
  async function start() {
    if (Number(to.value) >= SLIDER_STEPS) to.value = String(Number(from.value) + SLIDER_STEPS / 20);
    play.textContent = "❚❚ Pause";
    timer = true;
    await emit();
    if (!timer) return;  // paused meanwhile
    const tick = async () => {
      if (!timer) return;
      if (Number(to.value) >= SLIDER_STEPS) { stop(); return; }
      await step(1);
      if (timer) timer = setTimeout(tick, 700);
    };
    timer = setTimeout(tick, 700);
  }
  function stop() {
    if (timer && timer !== true) clearTimeout(timer);
    timer = null;
    play.textContent = "▶ Play";
  }
  /** Stretch the slider over the dates of these links (first / last / date), until the window is first moved. */
  function widen(edges) {
    if (Number(from.value) !== 0 || Number(to.value) !== SLIDER_STEPS) return;
    const times = [];
    for (const e of edges) {
      const p = e.properties || {};
      for (const k of ["first", "last", "date", "at"]) {
        const t = Date.parse(p[k] ?? e[k]);
        if (Number.isFinite(t)) times.push(t);
      }
    }
    if (!times.length) return;
    const min = Math.min(...times);
    const max = Math.max(...times);
    lo = dated ? Math.min(lo, min) : min;
    hi = dated ? Math.max(hi, max) : max;
    if (hi - lo < DAY) { lo -= DAY / 2; hi += DAY / 2; }
    hi += 60 * 1000;  // the last event itself stays inside an "until" set at the end
    dated = true;
    labels();
  }
  labels();
  return { el, params, widen, stop };
}
