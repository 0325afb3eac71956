// The link chart: Cytoscape.js over the API's neighbourhood and shortest-path answers.
// Nodes are only what the API returned to this token; redacted stubs are drawn hatched.
import { get } from "../api.js";
import { download, errorBox, fill, fmtDate, fmtNumber, h, mount } from "../dom.js";
import { navigate, onLeave } from "../router.js";
import { colour, HATCH, icon, label, TYPE_COLOURS } from "../types.js";
import { stubBox, timeSlider, typeBadge } from "../widgets.js";

const STYLE = [
  { selector: "node", style: {
    "width": 38, "height": 38, "background-color": "data(colour)", "background-image": "data(icon)",
    "background-width": "62%", "background-height": "62%", "border-width": 2, "border-color": "#fff",
    "label": "data(label)", "font-size": 10, "color": "#1b1f24", "text-valign": "bottom", "text-margin-y": 4,
    "text-wrap": "ellipsis", "text-max-width": 130, "text-background-color": "#fff", "text-background-opacity": 0.8,
    "text-background-padding": 1 } },
  { selector: "node[?identifier]", style: { "shape": "round-rectangle", "width": 32, "height": 32 } },
  { selector: "node[?redacted]", style: {
    "shape": "round-rectangle", "background-color": "#e9ecef", "background-image": HATCH,
    "background-width": "100%", "background-height": "100%", "background-fit": "cover", "background-clip": "node",
    "border-width": 2, "border-style": "dashed", "border-color": "#343a40", "color": "#343a40", "font-style": "italic" } },
  { selector: "node.start", style: { "border-width": 4, "border-color": "#12355b" } },
  { selector: "node.picked", style: { "border-width": 5, "border-color": "#f59f00", "border-style": "solid" } },
  { selector: "edge", style: {
    "width": 1.6, "line-color": "#adb5bd", "curve-style": "bezier", "target-arrow-shape": "triangle",
    "target-arrow-color": "#adb5bd", "arrow-scale": 0.8, "label": "data(type)", "font-size": 7, "color": "#6c757d",
    "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.7 } },
  // Money flows: a transfer link is drawn as wide as the amount it carried (log scale).
  { selector: "edge[money_width]", style: {
    "width": "data(money_width)", "line-color": "#2b8a3e", "target-arrow-color": "#2b8a3e", "label": "data(money_label)",
    "color": "#2b8a3e" } },
  { selector: "edge[?redacted]", style: { "line-style": "dashed", "line-color": "#6c757d", "label": "restricted" } },
  { selector: "node.on-path", style: { "border-color": "#e03131", "border-width": 5, "border-style": "solid", "z-index": 10 } },
  { selector: "edge.on-path", style: { "line-color": "#e03131", "target-arrow-color": "#e03131", "width": 4,
    "color": "#c92a2a", "z-index": 10 } },
  { selector: ".faded", style: { "opacity": 0.22 } },
  { selector: ".filtered", style: { "display": "none" } },
];

// The amount a TRANSFERRED link carried (its events' total) as a width from 1.6 to 12 px, log scale,
// so that 100 € and 1 M€ both stay readable on one chart.
export function moneyWidth(amount) {
  return Math.min(12, 1.6 + 1.6 * Math.log10(1 + Math.max(0, amount) / 100));
}

function moneyData(edge) {
  const amount = edge.properties && typeof edge.properties.amount_eur === "number" ? edge.properties.amount_eur : null;
  if (edge.type !== "TRANSFERRED" || amount === null) return {};
  const count = edge.properties.count ? ` ×${edge.properties.count}` : "";
  return { money_width: moneyWidth(amount), money_label: `${fmtNumber(amount)} €${count}` };
}

export async function chartView([startId]) {
  const status = h("div", { id: "chart-status", class: "status-line" }, "");
  const side = h("aside", { id: "chart-side", class: "card" },
    h("p", { class: "muted" }, "Click a node to see it; double-click (or “Expand”) to add its neighbours. " +
      "Pick two nodes (click, click) then “Shortest paths”."));
  const container = h("div", { id: "cy" });
  const picked = [];
  const expanded = new Set();
  const filters = h("div", { class: "filters", id: "type-filters" });
  const pathBtn = h("button", { type: "button", id: "btn-path", disabled: true, onclick: () => shortestPaths() }, "Shortest paths");
  const expandBtn = h("button", { type: "button", id: "btn-expand", disabled: true, onclick: () => expand(picked.at(-1)) }, "Expand");
  const toolbar = h("div", { class: "toolbar" },
    expandBtn, pathBtn,
    h("button", { type: "button", id: "btn-clear-path", onclick: clearPath }, "Clear highlight"),
    h("button", { type: "button", id: "btn-layout", onclick: () => layout(true) }, "Re-layout"),
    h("button", { type: "button", id: "btn-png", onclick: exportPng }, "PNG"),
    h("button", { type: "button", id: "btn-graphml", onclick: exportGraphml }, "GraphML"),
    h("button", { type: "button", id: "btn-reset", onclick: () => { cy.elements().remove(); expanded.clear(); picked.length = 0; refresh(); } }, "Clear chart"));
  const addForm = h("form", { class: "inline small", onsubmit: (e) => {
    e.preventDefault();
    const v = e.target.elements.node.value.trim();
    if (v) expand(v);
  } }, h("input", { name: "node", placeholder: "add a node by id", size: 38 }), h("button", { type: "submit" }, "Add"));

  const slider = timeSlider((since, until) => applyWindow(since, until));
  const commonBtn = h("button", { type: "button", id: "btn-common", disabled: true, title: "Pick two phones first",
    onclick: () => navigate(`#/phone/${encodeURIComponent(picked[0])}?with=${encodeURIComponent(picked[1])}`) }, "Common contacts");
  toolbar.append(commonBtn);
  const page = h("section", { class: "chart-page" },
    h("div", { class: "chart-head" }, h("h1", {}, "Link chart"), addForm),
    toolbar, slider.el, filters, status, h("div", { class: "chart-body" }, container, side));

  mount(page);  // Cytoscape measures its container: it must be in the document first
  const cy = window.cytoscape({ container, style: STYLE, minZoom: 0.1, maxZoom: 4,
    boxSelectionEnabled: false, selectionType: "single" });
  window.ofastUI = { ...(window.ofastUI || {}), cy };
  onLeave(() => { cy.destroy(); hideTooltip(); slider.stop(); });

  const tooltip = document.getElementById("tooltip");
  function hideTooltip() { tooltip.hidden = true; }
  cy.on("mouseover", "node", (evt) => {
    const d = evt.target.data();
    const pos = evt.renderedPosition || evt.target.renderedPosition();
    const rect = container.getBoundingClientRect();
    fill(tooltip, 
      h("strong", {}, d.redacted ? `Restricted ${d.type} — ${d.owner_agency}` : `${d.type}: ${d.label}`),
      d.redacted ? h("div", {}, "Contact: ", d.contact || "—") : null,
      d.redacted && d.handling_notice ? h("div", { class: "muted" }, d.handling_notice) : null);
    tooltip.style.left = `${rect.left + window.scrollX + pos.x + 14}px`;
    tooltip.style.top = `${rect.top + window.scrollY + pos.y + 14}px`;
    tooltip.hidden = false;
  });
  cy.on("mouseout", "node", hideTooltip);
  cy.on("tap", "node", (evt) => { hideTooltip(); pick(evt.target.id()); });
  cy.on("dbltap", "node", (evt) => expand(evt.target.id()));
  cy.on("tap", (evt) => { if (evt.target === cy) { picked.length = 0; refresh(); } });

  function nodeData(n) {
    return {
      id: n.id, type: n.type, label: label(n), redacted: !!n.redacted, owner_agency: n.owner_agency || null,
      contact: n.contact || null, handling_notice: n.handling_notice || null, identifier: !n.owner_agency && !n.redacted,
      colour: colour(n.type), icon: n.redacted ? HATCH : icon(n.type), raw: n,
    };
  }

  function addGraph(nodes, edges) {
    const added = [];
    for (const n of nodes) {
      if (cy.getElementById(n.id).nonempty()) continue;
      added.push(cy.add({ group: "nodes", data: nodeData(n) }));
    }
    for (const e of edges) {
      const id = `e:${e.id || `${e.type}:${e.source}:${e.target}`}`;
      if (cy.getElementById(id).nonempty()) continue;
      if (cy.getElementById(e.source).empty() || cy.getElementById(e.target).empty()) continue;
      added.push(cy.add({ group: "edges", data: { id, source: e.source, target: e.target, type: e.type,
        redacted: !!e.redacted, owner_agency: e.owner_agency, raw: e, ...moneyData(e) } }));
    }
    return added;
  }

  async function expand(id) {
    if (!id) return;
    status.textContent = "Expanding…";
    try {
      const hood = await get(`/v1/entities/${encodeURIComponent(id)}/neighbourhood`, { depth: 1, limit: 80, ...slider.params() });
      const first = cy.elements().empty();
      addGraph(hood.nodes, hood.edges);
      slider.widen(hood.edges);
      expanded.add(id);
      cy.getElementById(id).addClass("start");
      layout(first);
      status.textContent = `${hood.nodes.length - 1} neighbour(s) of ${label(hood.nodes[0])}` +
        (hood.truncated ? " (more exist: limit 80)" : "");
      refresh();
      if (!picked.includes(id)) pick(id);
    } catch (err) {
      fill(status, errorBox(err));
    }
  }

  function pick(id) {
    const i = picked.indexOf(id);
    if (i >= 0) picked.splice(i, 1);
    picked.push(id);
    while (picked.length > 2) picked.shift();
    refresh();
    showSide(cy.getElementById(id));
  }

  function refresh() {
    cy.nodes().removeClass("picked");
    for (const id of picked) cy.getElementById(id).addClass("picked");
    pathBtn.disabled = picked.length !== 2;
    commonBtn.disabled = picked.length !== 2 || picked.some((p) => cy.getElementById(p).data("type") !== "Phone");
    expandBtn.disabled = picked.length === 0;
    renderFilters();
    page.dataset.nodes = String(cy.nodes().length);
    page.dataset.edges = String(cy.edges().length);
    page.dataset.picked = picked.join(",");
  }

  function showSide(node) {
    if (!node || node.empty()) return;
    const d = node.data();
    const raw = d.raw;
    const props = raw.properties || {};
    fill(side, 
      h("div", {}, typeBadge(d.type)),
      h("h2", {}, d.label),
      d.redacted ? stubBox(raw) : h("table", { class: "kv" }, h("tbody", {},
        raw.value ? h("tr", {}, h("th", {}, "value"), h("td", {}, raw.value)) : null,
        raw.owner_agency ? h("tr", {}, h("th", {}, "owner"), h("td", {}, raw.owner_agency)) : null,
        Object.entries(props).slice(0, 12).map(([k, v]) =>
          h("tr", {}, h("th", {}, k), h("td", {}, Array.isArray(v) ? v.join(", ") : String(v)))))),
      h("div", { class: "toolbar" },
        h("button", { type: "button", onclick: () => expand(d.id) }, expanded.has(d.id) ? "Expand again" : "Expand"),
        h("button", { type: "button", onclick: () => navigate(`#/entity/${encodeURIComponent(d.id)}`) }, "Entity page")),
      h("p", { class: "muted small" }, `Picked for a path: ${picked.map((p) => cy.getElementById(p).data("label")).join(" ↔ ") || "none"}`));
  }

  async function shortestPaths() {
    if (picked.length !== 2) return;
    const [source, target] = picked;
    status.textContent = "Looking for shortest paths…";
    try {
      const res = await get("/v1/paths", { source, target, max_hops: 6, limit: 10, ...slider.params() });
      clearPath();
      if (!res.paths.length) {
        status.textContent = "No path of at most 6 hops through what you may know of.";
        return;
      }
      const before = cy.nodes().length;
      for (const p of res.paths) addGraph(p.nodes, p.edges);
      if (cy.nodes().length !== before) layout(false);
      const onPath = cy.collection();
      for (const p of res.paths) {
        for (const n of p.nodes) onPath.merge(cy.getElementById(n.id));
        for (const e of p.edges) onPath.merge(cy.getElementById(`e:${e.id || `${e.type}:${e.source}:${e.target}`}`));
      }
      cy.elements().addClass("faded");
      onPath.removeClass("faded").addClass("on-path");
      const hops = res.paths[0].edges.length;
      status.textContent = `${res.paths.length} shortest path(s) of ${hops} hop(s)`;
      page.dataset.pathHops = String(hops);
      cy.animate({ fit: { eles: onPath, padding: 60 } }, { duration: 250 });
    } catch (err) {
      fill(status, errorBox(err));
    }
  }

  // The time window: only the links the API says were active in it stay on the chart.
  let windowRun = 0;
  async function applyWindow(since, until) {
    const run = ++windowRun;
    status.textContent = since || until ? "Keeping the links active in the window…" : "Showing every link…";
    try {
      const hoods = await Promise.all([...expanded].map((id) => get(`/v1/entities/${encodeURIComponent(id)}/neighbourhood`,
        { depth: 1, limit: 80, since, until })));
      if (run !== windowRun) return;  // the slider moved on meanwhile
      const keep = new Set();
      for (const hood of hoods) {
        addGraph(hood.nodes, hood.edges);
        for (const e of hood.edges) keep.add(`e:${e.id || `${e.type}:${e.source}:${e.target}`}`);
      }
      cy.edges().filter((e) => !keep.has(e.id())).remove();
      cy.nodes().forEach((n) => { n.toggleClass("faded", n.connectedEdges().empty() && !expanded.has(n.id())); });
      page.dataset.edges = String(cy.edges().length);
      page.dataset.window = `${since || ""}/${until || ""}`;
      status.textContent = `${cy.edges().length} link(s) active ${since || until ? `from ${fmtDate(since)} to ${fmtDate(until)}` : "at any time"}`;
      refresh();
    } catch (err) {
      fill(status, errorBox(err));
    }
  }

  function clearPath() {
    cy.elements().removeClass("faded on-path");
    delete page.dataset.pathHops;
  }

  function layout(fit) {
    cy.resize();
    const opts = cy.nodes().length <= 2
      ? { name: "grid", fit: true, padding: 60 }
      : { name: "cose", animate: false, randomize: false, fit: true, padding: 40, nodeRepulsion: () => 400000,
        nodeOverlap: 20, idealEdgeLength: () => 100, edgeElasticity: () => 100, gravity: 0.25, componentSpacing: 80,
        numIter: 1500 };
    cy.layout(opts).run();
    if (!fit) cy.fit(undefined, 40);
    if (cy.zoom() > 1.3) { cy.zoom(1.3); cy.center(); }  // a few nodes: keep them at a readable size
  }

  function renderFilters() {
    const present = [...new Set(cy.nodes().map((n) => n.data("type")))].sort();
    const hidden = new Set(JSON.parse(filters.dataset.hidden || "[]"));
    fill(filters, h("span", { class: "muted" }, "Show: "), ...present.map((t) => h("label", { class: "chip",
      style: `border-color:${TYPE_COLOURS[t] || "#999"}` },
    h("input", { type: "checkbox", checked: !hidden.has(t), dataset: { type: t }, onchange: (e) => {
      if (e.target.checked) hidden.delete(t); else hidden.add(t);
      filters.dataset.hidden = JSON.stringify([...hidden]);
      applyFilters(hidden);
    } }), ` ${t} (${cy.nodes().filter((n) => n.data("type") === t).length})`)),
    h("span", { class: "legend-stub" }, h("span", { class: "hatch" }), " restricted (other agency)"));
    applyFilters(hidden);
  }

  function applyFilters(hidden) {
    cy.nodes().forEach((n) => { n.toggleClass("filtered", hidden.has(n.data("type"))); });
  }

  function exportPng() {
    const blob = cy.png({ output: "blob", full: true, scale: 2, bg: "#ffffff" });
    download("link-chart.png", blob);
  }

  function exportGraphml() {
    const esc = (s) => String(s ?? "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>',
      '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
      '<key id="type" for="all" attr.name="type" attr.type="string"/>',
      '<key id="label" for="node" attr.name="label" attr.type="string"/>',
      '<key id="owner_agency" for="all" attr.name="owner_agency" attr.type="string"/>',
      '<key id="redacted" for="all" attr.name="redacted" attr.type="boolean"/>',
      '<key id="properties" for="all" attr.name="properties" attr.type="string"/>',
      '<graph id="link-chart" edgedefault="directed">'];
    cy.nodes().forEach((n) => {
      const d = n.data();
      lines.push(`<node id="${esc(d.id)}"><data key="type">${esc(d.type)}</data><data key="label">${esc(d.label)}</data>` +
        `<data key="owner_agency">${esc(d.owner_agency)}</data><data key="redacted">${d.redacted}</data>` +
        `<data key="properties">${esc(JSON.stringify(d.raw.properties || {}))}</data></node>`);
    });
    cy.edges().forEach((e) => {
      const d = e.data();
      lines.push(`<edge id="${esc(d.id)}" source="${esc(d.source)}" target="${esc(d.target)}"><data key="type">${esc(d.type)}</data>` +
        `<data key="owner_agency">${esc(d.owner_agency)}</data><data key="redacted">${d.redacted}</data>` +
        `<data key="properties">${esc(JSON.stringify(d.raw.properties || {}))}</data></edge>`);
    });
    lines.push("</graph>", "</graphml>");
    download("link-chart.graphml", new Blob([lines.join("\n")], { type: "application/graphml+xml" }));
  }

  if (startId) expand(startId);
  else status.textContent = "Open an entity (Search) and choose “link chart”, or add a node by id.";
  return null;
}
