// Threat dashboard (measure 4): seizures by drug and month, assets by status, active networks by
// département — Chart.js over GET /v1/dashboard/threat (aggregates only).
import { api, get, session } from "../api.js";
import { fmtNumber, h } from "../dom.js";
import { onLeave } from "../router.js";

export const DRUG_COLOURS = {
  cannabis_resin: "#8f6d00", herbal_cannabis: "#2f9e44", cocaine: "#1f6feb", crack: "#5f3dc4", heroin: "#c2255c",
  mdma: "#f08c00", amphetamines: "#e8590c", synthetic_cathinones: "#0b7285", nps: "#15aabf", other: "#868e96",
};
const STATUS_COLOURS = { identified: "#74c0fc", seized: "#1c7ed6", confiscated: "#0b3d91", unknown: "#adb5bd" };

// The annual threat assessment (GET /v1/reports/threat-assessment): for the central agency's
// analysts. The report needs the bearer token, so it is fetched and opened as a blob in a new tab.
function threatReport() {
  const me = session.me;
  if (!me || !me.central || !me.permissions.includes("assess_threat")) return null;
  const now = new Date().getFullYear();
  const year = h("select", { id: "report-year", "aria-label": "Year" },
    ...[0, 1, 2, 3].map((back) => h("option", { value: String(now - back) }, String(now - back))));
  const status = h("span", { class: "muted", id: "report-status" });
  const open = h("button", { type: "button", id: "open-threat-report" }, "Open the threat assessment");
  open.addEventListener("click", async () => {
    status.textContent = "Preparing…";
    try {
      const blob = await api("GET", "/v1/reports/threat-assessment", { params: { year: year.value }, as: "blob" });
      window.open(URL.createObjectURL(blob), "_blank");
      status.textContent = "";
    } catch (err) {
      status.textContent = err.message;
    }
  });
  return h("div", { class: "card", id: "threat-report" },
    h("h2", {}, "Annual threat assessment"),
    h("p", { class: "muted" }, "A printable report of the year against the one before (aggregates only)."),
    year, " ", open, " ", status);
}

export async function dashboardView() {
  const [data, names] = await Promise.all([get("/v1/dashboard/threat"), departmentNames()]);
  const charts = [];
  onLeave(() => charts.forEach((c) => c.destroy()));
  const Chart = window.Chart;
  Chart.defaults.animation = false;
  Chart.defaults.font.family = "system-ui, sans-serif";
  Chart.defaults.maintainAspectRatio = false;

  const tiles = h("div", { class: "tiles" },
    tile("Seizures", fmtNumber(data.totals.seizures), `${fmtNumber(data.totals.quantity_kg, 1)} kg weighed`),
    tile("Criminal assets", fmtNumber(data.totals.assets), `${fmtNumber(data.totals.assets_value_eur)} €`),
    tile("Active networks", fmtNumber(data.totals.active_networks), `${data.networks_by_territory.length} département(s)`));

  const canvases = {
    months: h("canvas", { id: "chart-seizures-month" }),
    drugs: h("canvas", { id: "chart-seizures-drug" }),
    assets: h("canvas", { id: "chart-assets" }),
    networks: h("canvas", { id: "chart-networks" }),
  };
  const page = h("section", { id: "dashboard" },
    h("h1", {}, "Threat dashboard"),
    h("p", { class: "muted" }, data.statistics_count_all
      ? "National aggregates: every item counts, whether or not you may see it (a count reveals no content)."
      : "Aggregates over the items you may see in full."),
    tiles,
    threatReport(),
    h("div", { class: "grid2" },
      h("div", { class: "card chart-card wide" }, h("h2", {}, "Seizures by month and drug"), h("div", { class: "chart-box" }, canvases.months)),
      h("div", { class: "card chart-card" }, h("h2", {}, "Quantity seized by drug (kg)"), h("div", { class: "chart-box" }, canvases.drugs)),
      h("div", { class: "card chart-card" }, h("h2", {}, "Criminal assets: identified → seized → confiscated"), h("div", { class: "chart-box" }, canvases.assets)),
      h("div", { class: "card chart-card wide" }, h("h2", {}, "Active networks by département"), h("div", { class: "chart-box" }, canvases.networks))));

  setTimeout(() => {
    const months = monthRange(data.seizures_by_month.map((r) => r.month));
    const drugs = [...new Set(data.seizures_by_month.map((r) => r.drug))].sort();
    const at = new Map(data.seizures_by_month.map((r) => [`${r.month}|${r.drug}`, r]));
    charts.push(new Chart(canvases.months, { type: "bar", data: { labels: months, datasets: drugs.map((d) => ({
      label: d, backgroundColor: DRUG_COLOURS[d] || "#888", data: months.map((m) => at.get(`${m}|${d}`)?.seizures || 0) })) },
    options: { scales: { x: { stacked: true, ticks: { maxRotation: 60, autoSkip: true } }, y: { stacked: true, title: { display: true, text: "seizures" }, ticks: { precision: 0 } } },
      plugins: { legend: { position: "right" } } } }));
    const kg = drugs.map((d) => data.seizures_by_month.filter((r) => r.drug === d).reduce((s, r) => s + r.quantity_kg, 0));
    charts.push(new Chart(canvases.drugs, { type: "bar", data: { labels: drugs, datasets: [{ label: "kg",
      data: kg.map((x) => Math.round(x * 10) / 10), backgroundColor: drugs.map((d) => DRUG_COLOURS[d] || "#888") }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { type: "logarithmic", title: { display: true, text: "kg (log scale)" } } } } }));
    const order = ["identified", "seized", "confiscated"];
    const assets = [...data.assets_by_status].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
    charts.push(new Chart(canvases.assets, { type: "bar", data: { labels: assets.map((a) => a.status), datasets: [
      { label: "assets", data: assets.map((a) => a.assets), backgroundColor: assets.map((a) => STATUS_COLOURS[a.status] || "#999"), yAxisID: "y" },
      { label: "value (M€)", data: assets.map((a) => Math.round(a.value_eur / 1e4) / 100), type: "line", borderColor: "#e03131",
        backgroundColor: "#e03131", yAxisID: "y1" }] },
    options: { scales: { y: { title: { display: true, text: "assets" }, ticks: { precision: 0 } }, y1: { position: "right", grid: { drawOnChartArea: false },
      title: { display: true, text: "M€" } } } } }));
    const nets = data.networks_by_territory.slice(0, 25);
    charts.push(new Chart(canvases.networks, { type: "bar", data: { labels: nets.map((n) => (names[n.department] ? `${n.department} ${names[n.department]}` : n.department)), datasets: [{
      label: "active networks", data: nets.map((n) => n.networks), backgroundColor: "#c2255c" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { title: { display: true, text: "networks" }, ticks: { precision: 0 } } } } }));
    page.dataset.ready = "1";
  }, 0);
  return page;
}

/** Département names from the outline the map uses (shipped with the UI): code → name. */
async function departmentNames() {
  try {
    const outline = await (await fetch("data/france-departements.geojson", { cache: "force-cache" })).json();
    return Object.fromEntries(outline.features.map((f) => [f.properties.code, f.properties.name]));
  } catch {
    return {};
  }
}

/** Every month from the first to the last present, so that quiet months show as gaps. */
function monthRange(present) {
  const sorted = [...new Set(present)].sort();
  if (!sorted.length) return [];
  const out = [];
  let [y, m] = sorted[0].split("-").map(Number);
  const [ly, lm] = sorted.at(-1).split("-").map(Number);
  while ((y < ly || (y === ly && m <= lm)) && out.length < 600) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m += 1;
    if (m > 12) { m = 1; y += 1; }
  }
  return out;
}

function tile(title, value, sub) {
  return h("div", { class: "tile" }, h("div", { class: "tile-title" }, title), h("div", { class: "tile-value" }, value),
    h("div", { class: "tile-sub" }, sub));
}
