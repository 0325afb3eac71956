// An entity's timeline (phone, person, vehicle, account): vis-timeline over
// GET /v1/entities/{id}/timeline, one row per kind of event, zoomable from years to minutes.
// Another agency's restricted events are only counted (with whom to contact), never drawn.
import { get } from "../api.js";
import { fill, fmtDate, fmtNumber, h, loading, mount } from "../dom.js";
import { navigate, onLeave } from "../router.js";
import { label } from "../types.js";
import { EVENT_KINDS, eventDetail, eventSummary, simChanges, stubBox, typeBadge, withheldBox } from "../widgets.js";

const PAGE = 500;
const MINUTE = 60 * 1000;
const YEAR = 365.25 * 24 * 3600 * 1000;

export async function timelineView([id], params) {
  const entity = await get(`/v1/entities/${encodeURIComponent(id)}`);
  const head = h("div", { class: "entity-head" }, typeBadge(entity.type), h("h1", {}, `Timeline of ${label(entity)}`),
    h("a", { class: "button", href: `#/entity/${encodeURIComponent(id)}` }, "Entity page"),
    entity.type === "Phone" ? h("a", { class: "button", id: "open-phone", href: `#/phone/${encodeURIComponent(id)}` }, "Phone analysis") : null,
    ["Phone", "Vehicle"].includes(entity.type)
      ? h("a", { class: "button", href: `#/map?id=${encodeURIComponent(id)}` }, "Places on the map") : null);
  if (entity.redacted) return h("section", {}, head, stubBox(entity));

  const since = params.get("since") || "";
  const until = params.get("until") || "";
  const kinds = (params.get("kinds") || "call,plate_read,transfer").split(",").filter((k) => k in EVENT_KINDS);
  const form = h("form", { class: "inline small", id: "timeline-filters", onsubmit: (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const usp = new URLSearchParams();
    const picked = Object.keys(EVENT_KINDS).filter((k) => f[`kind-${k}`].checked);
    if (picked.length !== 3) usp.set("kinds", picked.join(","));
    if (f.since.value) usp.set("since", toIso(f.since.value));
    if (f.until.value) usp.set("until", toIso(f.until.value));
    navigate(`#/timeline/${encodeURIComponent(id)}${usp.toString() ? `?${usp}` : ""}`);
  } },
  Object.entries(EVENT_KINDS).map(([k, text]) => h("label", { class: "chip" },
    h("input", { type: "checkbox", name: `kind-${k}`, checked: kinds.includes(k) }), ` ${text}`)),
  h("label", {}, "since ", h("input", { type: "datetime-local", name: "since", value: fromIso(since) })),
  h("label", {}, "until ", h("input", { type: "datetime-local", name: "until", value: fromIso(until) })),
  h("button", { type: "submit" }, "Apply"),
  h("button", { type: "button", id: "tl-fit", onclick: () => timeline?.fit() }, "Fit all"),
  h("button", { type: "button", id: "tl-zoom-in", "aria-label": "zoom in", onclick: () => timeline?.zoomIn(0.5) }, "+"),
  h("button", { type: "button", id: "tl-zoom-out", "aria-label": "zoom out", onclick: () => timeline?.zoomOut(0.5) }, "−"),
  h("span", { class: "muted" }, "Zoom: scroll or pinch (years down to minutes); move: drag."));

  const status = h("div", { class: "status-line", id: "timeline-status" }, loading("Loading the events…"));
  const container = h("div", { id: "timeline" });
  const side = h("aside", { class: "card", id: "timeline-side" },
    h("p", { class: "muted" }, "Click an event (or choose one in the list below) to see it. Scroll or pinch to zoom, drag to move."));
  const withheld = h("div", { id: "timeline-withheld" });
  const list = h("div", { id: "timeline-list" });
  const page = h("section", { id: "timeline-page", class: "chart-page" }, head, form, status, withheld,
    h("div", { class: "chart-body timeline-body" }, container, side), list);

  let timeline = null;
  onLeave(() => timeline?.destroy());
  const query = { kinds: kinds.join(","), since, until, limit: PAGE };
  const [data, swaps] = await Promise.all([
    get(`/v1/entities/${encodeURIComponent(id)}/timeline`, query),
    ["Phone", "Handset"].includes(entity.type)
      ? get("/v1/analytics/handset-swaps", { id }).catch(() => null) : Promise.resolve(null),
  ]);
  const items = data.items;
  const byId = new Map(items.map((ev) => [ev.id, ev]));
  const changes = swaps ? simChanges(swaps.items) : [];

  fill(withheld, withheldBox(data.withheld, "event", "withheld"));
  page.dataset.items = String(items.length);
  page.dataset.total = String(data.total);
  page.dataset.simChanges = String(changes.length);
  page.dataset.withheld = String((data.withheld || []).reduce((n, w) => n + w.count, 0));
  fill(status, `${fmtNumber(data.total)} event(s) you may see` +
    (data.total > items.length ? `, the ${items.length} newest drawn (narrow the dates to see older ones)` : "") +
    (changes.length ? ` · ${changes.length} SIM / handset change(s)` : ""));

  function show(ev) {
    if (!ev) return;
    fill(side, h("h2", {}, EVENT_KINDS[ev.kind] ? EVENT_KINDS[ev.kind].replace(/s$/, "") : ev.kind),
      h("p", { class: "muted" }, fmtDate(ev.at)), h("div", { id: "event-detail", dataset: { id: ev.id } }, eventDetail(ev)));
  }

  fill(list, h("h2", {}, "Events, newest first"), items.length ? h("table", { class: "list", id: "event-table" },
    h("thead", {}, h("tr", {}, ["When (UTC)", "Kind", "What", "Owner", ""].map((x) => h("th", {}, x)))),
    h("tbody", {}, items.map((ev) => h("tr", { class: "event-row", dataset: { id: ev.id, kind: ev.kind } },
      h("td", { class: "nowrap" }, fmtDate(ev.at)), h("td", {}, ev.kind), h("td", {}, eventSummary(ev)),
      h("td", {}, ev.owner_agency || "—"),
      h("td", {}, h("button", { type: "button", class: "small", onclick: () => {
        timeline?.setSelection([ev.id]);
        timeline?.focus(ev.id, { zoom: false, animation: false });  // keep the scale the reader chose
        show(ev);
      } }, "Show"))))))
    : h("p", { class: "muted" }, "No event you may see in this window."),
  changes.length ? h("div", { id: "sim-changes" }, h("h2", {}, "SIM and handset changes"),
    h("ul", {}, changes.map((c) => h("li", { class: "sim-change" }, `${fmtDate(c.at)}: ${c.text}`)))) : null);

  mount(page);  // vis-timeline measures its container: it must be in the document first
  const vis = window.vis;
  const groups = new vis.DataSet([
    ...Object.entries(EVENT_KINDS).filter(([k]) => kinds.includes(k)).map(([k, text], i) => ({ id: k, order: i,
      content: `${text} (${items.filter((ev) => ev.kind === k).length})` })),
    // One row per (handset, SIM) pair, in order of first use: a change reads as the next row starting.
    ...(swaps ? swaps.items.map((s, i) => ({ id: `handset:${i}`, order: 10 + i,
      content: `${label(s.handset)} · SIM ${label(s.phone)}` })) : []),
    ...(changes.length ? [{ id: "changes", order: 9, content: "SIM / handset changes" }] : []),
  ]);
  const dataset = new vis.DataSet([
    ...items.map((ev) => ({ id: ev.id, group: ev.kind, start: new Date(ev.at), type: "point",
      className: `ev-${ev.kind}${ev.owner_agency ? ` owner-${ev.owner_agency}` : ""}`, title: `${fmtDate(ev.at)} — ${eventSummary(ev)}` })),
    ...(swaps ? swaps.items.map((s, i) => ({ id: `swap:${i}`, group: `handset:${i}`, start: new Date(s.first),
      end: new Date(s.last), type: s.last !== s.first ? "range" : "point", className: "ev-handset",
      content: `${s.calls} call(s)`, title: `${label(s.handset)} with SIM ${label(s.phone)}: ${s.calls} call(s), ` +
        `${fmtDate(s.first)} – ${fmtDate(s.last)}` })) : []),
    ...changes.map((c, i) => ({ id: `change:${i}`, group: "changes", start: new Date(c.at), type: "point",
      className: "ev-sim-change", content: c.text.startsWith("SIM") ? "SIM change" : "handset change", title: c.text })),
  ]);
  timeline = new vis.Timeline(container, dataset, groups, {
    stack: false, zoomMin: MINUTE, zoomMax: 20 * YEAR, orientation: { axis: "top" }, showCurrentTime: false,
    selectable: true, multiselect: false, minHeight: 240, maxHeight: Math.max(260, window.innerHeight - 330),
    margin: { item: 2 }, tooltip: { followMouse: false }, verticalScroll: true,
    groupOrder: "order", format: { minorLabels: { minute: "HH:mm", hour: "HH:mm" } },
  });
  // Open on everything with a margin each side (vis-timeline's own fit cuts ranges at the edges).
  const times = dataset.get().flatMap((i) => [i.start, i.end].filter(Boolean).map((d) => d.getTime()));
  if (times.length) {
    const lo = Math.min(...times);
    const hi = Math.max(...times);
    const pad = Math.max((hi - lo) * 0.05, 30 * MINUTE);
    timeline.setWindow(new Date(lo - pad), new Date(hi + pad), { animation: false });
  }
  timeline.on("select", ({ items: selected }) => show(byId.get(selected[0])));
  window.ofastUI = { ...(window.ofastUI || {}), timeline, timelineItems: dataset };
  page.dataset.ready = "1";
  return null;
}

// <input type="datetime-local"> speaks local time without an offset; the API wants ISO 8601 with one.
function toIso(local) { return new Date(local).toISOString().replace(/\.000Z$/, "Z"); }
function fromIso(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
