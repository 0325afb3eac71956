// A phone's page: its top contacts (table and bar chart), its week (24 x 7 activity heat map), the
// handsets it was used in and the SIMs those held, common contacts with other phones and a way to
// the map of who was where it was. Every number is the API's, for this token.
import { get } from "../api.js";
import { errorBox, fill, fmtDate, fmtNumber, h, loading } from "../dom.js";
import { navigate, onLeave } from "../router.js";
import { label } from "../types.js";
import { nodeLink, simChanges, stubBox, typeBadge, withheldBox } from "../widgets.js";

const TOP = 20;
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export async function phoneView([id], params) {
  const entity = await get(`/v1/entities/${encodeURIComponent(id)}`);
  const enc = encodeURIComponent(id);
  const since = params.get("since") || "";
  const until = params.get("until") || "";
  const others = (params.get("with") || "").split(",").filter((x) => x && x !== id);
  const head = h("div", { class: "entity-head" }, typeBadge(entity.type), h("h1", {}, label(entity)),
    h("a", { class: "button", id: "open-timeline", href: `#/timeline/${enc}` }, "Timeline"),
    h("a", { class: "button", href: `#/chart/${enc}` }, "Link chart"),
    h("a", { class: "button", id: "open-colocation", href: `#/map?id=${enc}&colocation=30` }, "Co-location on the map"));
  if (entity.redacted) return h("section", {}, head, stubBox(entity));
  if (entity.type !== "Phone") return h("section", {}, head, errorBox(new Error("the phone page is for phones: open the timeline instead")));

  const span = { since, until };
  const form = h("form", { class: "inline small", id: "phone-filters", onsubmit: (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const usp = new URLSearchParams();
    if (f.since.value) usp.set("since", `${f.since.value}T00:00:00Z`);
    if (f.until.value) usp.set("until", `${f.until.value}T23:59:59Z`);
    if (others.length) usp.set("with", others.join(","));
    navigate(`#/phone/${enc}${usp.toString() ? `?${usp}` : ""}`);
  } },
  h("label", {}, "since ", h("input", { type: "date", name: "since", value: since.slice(0, 10) })),
  h("label", {}, "until ", h("input", { type: "date", name: "until", value: until.slice(0, 10) })),
  h("button", { type: "submit" }, "Apply"));

  const charts = [];
  onLeave(() => charts.forEach((c) => c.destroy()));
  const contactsBox = h("div", { class: "card", id: "contacts" }, h("h2", {}, "Top contacts"), loading());
  const barBox = h("div", { class: "card" }, h("h2", {}, "Calls per contact"), h("div", { class: "chart-box" }, h("canvas", { id: "chart-contacts" })));
  const heatBox = h("div", { class: "card", id: "activity" }, h("h2", {}, "Activity by hour and weekday"), loading());
  const swapsBox = h("div", { class: "card", id: "swaps" }, h("h2", {}, "Handsets and SIMs"), loading());
  const commonBox = h("div", { class: "card", id: "common" }, h("h2", {}, "Common contacts"),
    h("p", { class: "muted" }, "Tick contacts in the table (or pick two phones on the link chart), then ask for the correspondents they all share."));
  const page = h("section", { id: "phone-page" }, head, form,
    h("div", { class: "phone-grid" }, contactsBox, barBox), heatBox, h("div", { class: "phone-grid" }, swapsBox, commonBox));

  const picked = new Set(others);
  const names = new Map();  // phone id -> its number, once the contacts are known
  const commonBtn = h("button", { type: "button", id: "btn-common", class: "primary", disabled: !picked.size,
    onclick: () => common([id, ...picked]) }, "Common contacts");
  const addForm = h("form", { class: "inline small", onsubmit: (e) => {
    e.preventDefault();
    const v = e.target.elements.other.value.trim();
    if (v) { picked.add(v); commonBtn.disabled = false; e.target.reset(); renderPicked(); }
  } }, h("input", { name: "other", placeholder: "another phone's id", size: 30, "aria-label": "another phone's id" }),
  h("button", { type: "submit" }, "Add"));
  const pickedLine = h("p", { class: "small", id: "common-picked" });
  const commonResult = h("div", { id: "common-result" });
  fill(commonBox, h("h2", {}, "Common contacts"),
    h("p", { class: "muted small" }, "Tick contacts in the table (or pick two phones on the link chart), then ask for the correspondents they all share."),
    addForm, pickedLine, h("div", { class: "toolbar" }, commonBtn), commonResult);
  function renderPicked() {
    fill(pickedLine, `With this phone: ${[...picked].map((p) => names.get(p) || p).join(", ") || "none yet"}`);
    commonBtn.disabled = picked.size === 0;
    page.dataset.picked = [...picked].join(",");
  }
  renderPicked();

  async function common(phones) {
    fill(commonResult, loading());
    try {
      const res = await get("/v1/analytics/common-contacts", { phones: phones.join(","), ...span });
      page.dataset.common = String(res.contacts.length);
      fill(commonResult, res.contacts.length ? h("table", { class: "list", id: "common-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Shared correspondent"), phones.map((p, i) => h("th", { class: "num", title: p }, i ? `calls with #${i + 1}` : "calls with this phone")))),
        h("tbody", {}, res.contacts.map((c) => h("tr", { class: "common-row", dataset: { id: c.phone.id } },
          h("td", {}, nodeLink(c.phone)), phones.map((p) => h("td", { class: "num" }, fmtNumber(c.calls[p] ?? 0)))))))
        : h("p", { class: "muted", id: "common-none" }, "No correspondent shared by all these phones (of those you may see)."));
    } catch (err) {
      fill(commonResult, errorBox(err));
    }
  }

  (async () => {
    try {
      const data = await get("/v1/analytics/contacts", { phone: id, limit: TOP, ...span });
      page.dataset.contacts = String(data.contacts.length);
      for (const c of data.contacts) names.set(c.phone.id, label(c.phone));
      renderPicked();
      fill(contactsBox, h("h2", {}, `Top contacts (${data.contacts.length})`),
        data.contacts.length ? h("div", { class: "table-scroll" }, h("table", { class: "list", id: "contacts-table" },
          h("thead", {}, h("tr", {}, ["", "Phone", "Calls", "Duration", "First", "Last"].map((x) => h("th", {}, x)))),
          h("tbody", {}, data.contacts.map((c) => h("tr", { class: "contact-row", dataset: { id: c.phone.id, calls: String(c.calls),
            duration: String(c.duration_s) } },
          h("td", {}, h("input", { type: "checkbox", class: "pick", "aria-label": `pick ${label(c.phone)} for common contacts`,
            checked: picked.has(c.phone.id), onchange: (e) => { if (e.target.checked) picked.add(c.phone.id); else picked.delete(c.phone.id); renderPicked(); } })),
          h("td", {}, h("a", { href: `#/phone/${encodeURIComponent(c.phone.id)}` }, label(c.phone))),
          h("td", { class: "num calls" }, fmtNumber(c.calls)),
          h("td", { class: "num duration" }, duration(c.duration_s)),
          h("td", { class: "nowrap small" }, fmtDate(c.first)), h("td", { class: "nowrap small" }, fmtDate(c.last)))))))
          : h("p", { class: "muted" }, "No call you may see in this window."),
        withheldBox(data.withheld, "call", "contacts-withheld"));
      const top = data.contacts.slice(0, 10);
      charts.push(new window.Chart(document.getElementById("chart-contacts"), { type: "bar",
        data: { labels: top.map((c) => label(c.phone)), datasets: [{ label: "calls", data: top.map((c) => c.calls), backgroundColor: "#1f6feb" }] },
        options: { indexAxis: "y", animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
          scales: { x: { ticks: { precision: 0 }, title: { display: true, text: "calls" } } } } }));
    } catch (err) {
      fill(contactsBox, h("h2", {}, "Top contacts"), errorBox(err));
    }
  })();

  (async () => {
    try {
      const data = await get("/v1/analytics/activity", { id, ...span });
      const grid = activityGrid(data);
      page.dataset.activityTotal = String(grid.flat().reduce((a, b) => a + b, 0));
      fill(heatBox, h("h2", {}, "Activity by hour and weekday"),
        h("p", { class: "muted small" }, `${fmtNumber(data.total)} event(s) by local hour of the week${data.time_zone ? ` (${data.time_zone})` : ""}; darker is busier.`),
        heatMap(grid), withheldBox(data.withheld, "event", "activity-withheld"));
    } catch (err) {
      fill(heatBox, h("h2", {}, "Activity by hour and weekday"), errorBox(err));
    }
  })();

  (async () => {
    try {
      const data = await get("/v1/analytics/handset-swaps", { id });
      const changes = simChanges(data.items);
      page.dataset.simChanges = String(changes.length);
      fill(swapsBox, h("h2", {}, "Handsets and SIMs"),
        data.items.length ? h("table", { class: "list", id: "swaps-table" },
          h("thead", {}, h("tr", {}, ["Handset (IMEI)", "SIM (phone)", "Calls", "First", "Last"].map((x) => h("th", {}, x)))),
          h("tbody", {}, data.items.map((s) => h("tr", { class: "swap-row" },
            h("td", {}, nodeLink(s.handset)), h("td", {}, s.phone.id === id ? label(s.phone) : h("a", { href: `#/phone/${encodeURIComponent(s.phone.id)}` }, label(s.phone))),
            h("td", { class: "num" }, fmtNumber(s.calls)), h("td", { class: "nowrap small" }, fmtDate(s.first)), h("td", { class: "nowrap small" }, fmtDate(s.last))))))
          : h("p", { class: "muted" }, "No handset known for this phone."),
        changes.length ? h("ul", { id: "sim-changes" }, changes.map((c) => h("li", { class: "sim-change" }, `${fmtDate(c.at)}: ${c.text}`))) : null);
    } catch (err) {
      fill(swapsBox, h("h2", {}, "Handsets and SIMs"), errorBox(err));
    }
  })();

  if (others.length) common([id, ...others]);
  page.dataset.ready = "1";
  return page;
}

function duration(s) {
  if (!s) return "0 s";
  const m = Math.floor(s / 60);
  return m ? `${m} min ${s % 60} s` : `${s} s`;
}

/** The API's profile as a 7 x 24 array of counts, Monday first. */
export function activityGrid(data) {
  const grid = DAYS.map(() => new Array(24).fill(0));
  const rows = data.grid || data.matrix || data.by_weekday_hour || null;
  if (Array.isArray(rows) && rows.length === 7 && rows.every((r) => Array.isArray(r))) {
    rows.forEach((r, d) => r.forEach((n, hour) => { grid[d][hour] = Number(n) || 0; }));
    return grid;
  }
  for (const c of data.cells || data.items || []) {
    const d = Number(c.weekday ?? c.day) - (data.weekday_base ?? 1);
    const hour = Number(c.hour);
    if (d >= 0 && d < 7 && hour >= 0 && hour < 24) grid[d][hour] += Number(c.count ?? c.events ?? c.calls ?? 0);
  }
  return grid;
}

function heatMap(grid) {
  const max = Math.max(1, ...grid.flat());
  return h("div", { class: "heat-scroll" }, h("table", { class: "heat", id: "heatmap" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), [...Array(24).keys()].map((hour) => h("th", { scope: "col" }, String(hour).padStart(2, "0"))))),
    h("tbody", {}, grid.map((row, d) => h("tr", {}, h("th", { scope: "row" }, DAYS[d]),
      row.map((n, hour) => h("td", { class: "heat-cell", dataset: { day: String(d), hour: String(hour), count: String(n) },
        title: `${DAYS[d]} ${String(hour).padStart(2, "0")}:00–${String(hour).padStart(2, "0")}:59: ${n}`,
        style: `background:${n ? `rgba(201,42,42,${(0.12 + 0.88 * n / max).toFixed(3)})` : "#f8f9fa"};color:${n / max > 0.55 ? "#fff" : "#1b1f24"}` },
      n ? String(n) : "")))))));
}
