// Map of deal points and network territories (measure 5): Leaflet with no tile layer, over the
// département outline shipped in static/data/ — nothing is fetched from outside this service.
import { get } from "../api.js";
import { errorBox, fill, fmtDate, h } from "../dom.js";
import { navigate, onLeave } from "../router.js";
import { label } from "../types.js";
import { eventPlace, nodeLink, withheldBox } from "../widgets.js";

const METRO_BOUNDS = [[41.2, -5.3], [51.2, 9.7]];
const SCALE = ["#fff5f0", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];

function shade(n, max) {
  if (!n) return "#f8f9fa";
  const i = Math.min(SCALE.length - 1, 1 + Math.floor((n / Math.max(max, 1)) * (SCALE.length - 2)));
  return SCALE[i];
}

export async function mapView(args, params) {
  const L = window.L;
  const subject = params.get("id") || "";
  const coloc = params.get("colocation") || "";
  const container = h("div", { id: "map" });
  const insets = h("div", { class: "map-insets", id: "map-insets", "aria-label": "overseas départements" });
  const side = h("aside", { class: "card", id: "map-side" }, h("p", { class: "muted" }, "Loading…"));
  const form = h("form", { class: "inline small", id: "map-form", onsubmit: (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const usp = new URLSearchParams();
    if (f.id.value.trim()) usp.set("id", f.id.value.trim());
    if (f.id.value.trim() && f.colocation.checked) usp.set("colocation", f.window.value || "30");
    navigate(`#/map${usp.toString() ? `?${usp}` : ""}`);
  } },
  h("label", {}, "Places of a phone or vehicle (id) ", h("input", { name: "id", value: subject, size: 36 })),
  h("label", {}, h("input", { type: "checkbox", name: "colocation", checked: !!coloc }), " and who was there within "),
  h("input", { name: "window", type: "number", min: 1, max: 1440, value: coloc || 30, size: 4, "aria-label": "window in minutes" }), " min",
  h("button", { type: "submit" }, "Show"));
  const page = h("section", { id: "map-page" }, h("h1", {}, "Deal points and network territories"), form,
    h("div", { class: "chart-body" }, h("div", { class: "map-wrap" }, container, insets), side));
  const [outline, points, dashboard, places] = await Promise.all([
    fetch("data/france-departements.geojson", { cache: "force-cache" }).then((r) => r.json()),
    get("/v1/map/deal-points"),
    get("/v1/dashboard/threat").catch(() => null),
    subject ? loadPlaces(subject, coloc).catch((err) => ({ error: err })) : Promise.resolve(null),
  ]);
  const byDept = new Map((dashboard ? dashboard.networks_by_territory : []).map((t) => [t.department, t.networks]));
  const max = Math.max(0, ...byDept.values());

  setTimeout(() => {
    const map = L.map(container, { zoomSnap: 0.25, attributionControl: true, preferCanvas: false });
    window.ofastUI = { ...(window.ofastUI || {}), map };
    map.attributionControl.setPrefix("Leaflet");
    map.attributionControl.addAttribution("Départements: Made with Natural Earth (public domain) · names: INSEE COG (Licence Ouverte)");
    L.geoJSON(outline, {
      style: (f) => ({ color: "#6c757d", weight: 0.8, fillColor: shade(byDept.get(f.properties.code) || 0, max), fillOpacity: 0.9 }),
      onEachFeature: (f, layer) => {
        const n = byDept.get(f.properties.code) || 0;
        layer.bindTooltip(`${f.properties.name} (${f.properties.code}): ${n} active network${n === 1 ? "" : "s"}`, { sticky: true });
      },
    }).addTo(map);
    const markers = L.featureGroup();
    let overseas = 0;
    for (const f of points.features) {
      const [lon, lat] = f.geometry.coordinates;
      if (lat < 41 || lon < -6) overseas += 1;
      const p = f.properties;
      const popup = h("div", { class: "popup" }, h("strong", {}, p.label || p.id), h("br"),
        `INSEE ${p.insee_code || "—"} · ${p.owner_agency || ""}`, h("br"),
        p.network ? (p.network.redacted
          ? h("span", {}, `network: restricted (${p.network.owner_agency}) — ${p.network.contact || ""}`)
          : h("span", {}, "network: ", h("a", { href: `#/chart/${encodeURIComponent(p.network.id)}` }, p.network.name || p.network.id)))
          : "network: —", h("br"),
        h("a", { href: `#/entity/${encodeURIComponent(p.id)}` }, "open the deal point"));
      L.circleMarker([lat, lon], { radius: 6, color: "#12355b", weight: 1, fillColor: "#f59f00", fillOpacity: 0.9,
        className: "deal-point" }).bindPopup(popup).addTo(markers);
    }
    markers.addTo(map);
    map.fitBounds(METRO_BOUNDS);
    const insetMaps = drawInsets(L, insets, outline, points, map);
    onLeave(() => { insetMaps.forEach((m) => m.remove()); map.remove(); });
    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = () => h("div", { class: "map-legend" }, h("div", {}, h("span", { class: "dot" }), " deal point"),
      places ? [h("div", {}, h("span", { class: "sector" }), " cell site (antenna bearing)"),
        h("div", {}, h("span", { class: "reader" }), " plate reader"),
        h("div", {}, h("span", { class: "coloc" }), " co-location")] : null,
      h("div", {}, "Active networks per département:"),
      h("div", { class: "scale" }, SCALE.map((c) => h("span", { style: `background:${c}` }))),
      h("div", { class: "muted" }, `0 … ${max}`));
    legend.addTo(map);
    const placesBox = places ? drawPlaces(L, map, page, places) : null;
    page.dataset.points = String(points.features.length);
    fill(side, h("h2", {}, "Deal points"),
      h("p", { id: "map-count" }, `${points.features.length} deal point(s) you may see${points.truncated ? " (truncated)" : ""}` +
        (overseas ? `, ${overseas} overseas (zoom out to see them)` : "")),
      points.withheld.length ? h("div", {}, h("h3", {}, "Restricted deal points of other services"),
        h("ul", {}, points.withheld.map((w) => h("li", {}, `${w.owner_agency}: ${w.deal_points} — `, h("span", { class: "contact" }, w.contact)))))
        : h("p", { class: "muted" }, "No deal point is withheld from you."),
      h("h3", {}, "Most active départements"),
      h("ol", {}, [...byDept.entries()].filter(([d]) => d !== "unknown").sort((a, b) => b[1] - a[1]).slice(0, 8)
        .map(([d, n]) => h("li", {}, `${nameOf(outline, d)} (${d}): ${n}`))));
    if (placesBox) side.prepend(placesBox);
    page.dataset.ready = "1";
  }, 0);
  return page;
}

function nameOf(outline, code) {
  const f = outline.features.find((x) => x.properties.code === code);
  return f ? f.properties.name : code;
}


// Overseas départements, each in a small map of its own beside metropolitan France.
const OVERSEAS = ["971", "972", "973", "974", "976"];

function drawInsets(L, box, outline, points, main) {
  const maps = [];
  for (const code of OVERSEAS) {
    const feature = outline.features.find((f) => f.properties.code === code);
    if (!feature) continue;
    const el = h("div", { class: "map-inset", dataset: { code } });
    const go = h("button", { type: "button", class: "inset-name link-dark", title: `Show ${feature.properties.name} on the main map` },
      `${feature.properties.name} (${code})`);
    box.append(h("div", { class: "map-inset-wrap" }, el, go));
    const m = L.map(el, { zoomControl: false, attributionControl: false, dragging: false, scrollWheelZoom: false,
      doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, zoomSnap: 0.1 });
    const layer = L.geoJSON(feature, { interactive: false, style: { color: "#6c757d", weight: 0.8, fillColor: "#f8f9fa", fillOpacity: 0.9 } }).addTo(m);
    const bounds = layer.getBounds();
    m.fitBounds(bounds, { padding: [4, 4] });
    for (const f of points.features) {
      const [lon, lat] = f.geometry.coordinates;
      if (bounds.pad(0.2).contains([lat, lon])) {
        L.circleMarker([lat, lon], { radius: 3, color: "#12355b", weight: 1, fillColor: "#f59f00", fillOpacity: 0.9,
          interactive: false, className: "deal-point-inset" }).addTo(m);
      }
    }
    go.addEventListener("click", () => main.fitBounds(bounds));
    maps.push(m);
  }
  return maps;
}

/** The places of an entity's events (cells, plate readers), and whom else they saw, if asked. */
async function loadPlaces(id, coloc) {
  const [timeline, colocation] = await Promise.all([
    get(`/v1/entities/${encodeURIComponent(id)}/timeline`, { kinds: "call,plate_read", limit: 500 }),
    coloc ? get("/v1/analytics/co-location", { id, window_minutes: coloc }) : Promise.resolve(null),
  ]);
  return { id, timeline, colocation };
}

const SECTOR_DEG = 60;
const SECTOR_M = 1500;

/** A cell antenna's sector: the arc it faces, SECTOR_DEG wide around its azimuth. */
function sector(lat, lon, azimuth) {
  const pts = [[lat, lon]];
  for (let a = azimuth - SECTOR_DEG / 2; a <= azimuth + SECTOR_DEG / 2; a += 5) {
    const rad = (a * Math.PI) / 180;
    pts.push([lat + (SECTOR_M * Math.cos(rad)) / 111320, lon + (SECTOR_M * Math.sin(rad)) / (111320 * Math.cos((lat * Math.PI) / 180))]);
  }
  pts.push([lat, lon]);
  return pts;
}

function drawPlaces(L, map, page, data) {
  if (data.error) return h("div", {}, h("h2", {}, "Places"), errorBox(data.error));
  const seen = new Map();
  for (const ev of data.timeline.items) {
    const p = eventPlace(ev);
    if (!p) continue;
    const key = p.id || `${p.lat},${p.lon},${p.azimuth}`;
    if (!seen.has(key)) seen.set(key, { ...p, events: 0, last: ev.at });
    seen.get(key).events += 1;
  }
  const layer = L.featureGroup();
  for (const p of seen.values()) {
    const popup = h("div", { class: "popup" }, h("strong", {}, p.label), h("br"),
      `${p.kind === "plate_reader" ? "plate reader" : `cell site${p.operator ? ` · ${p.operator}` : ""}`}`, h("br"),
      `${p.events} event(s), last ${fmtDate(p.last)}`);
    if (p.kind === "cell_site" && p.azimuth !== null) {
      L.polygon(sector(p.lat, p.lon, p.azimuth), { color: "#1f6feb", weight: 1, fillColor: "#1f6feb", fillOpacity: 0.25,
        className: "cell-sector" }).bindPopup(popup).addTo(layer);
    }
    L.circleMarker([p.lat, p.lon], p.kind === "plate_reader"
      ? { radius: 6, color: "#212529", weight: 2, fillColor: "#495057", fillOpacity: 1, className: "plate-reader" }
      : { radius: 5, color: "#1f6feb", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "cell-site" }).bindPopup(popup).addTo(layer);
  }
  const colocItems = data.colocation ? data.colocation.items : [];
  for (const c of colocItems) {
    const p = eventPlace({ place: c.place });
    if (!p) continue;
    L.circleMarker([p.lat, p.lon], { radius: 9, color: "#e03131", weight: 3, fill: false, className: "colocation" })
      .bindPopup(h("div", { class: "popup" }, h("strong", {}, label(c.other)), h("br"), `at ${p.label}`, h("br"),
        `this one ${fmtDate(c.at)}, the other ${fmtDate(c.other_at)}`)).addTo(layer);
  }
  layer.addTo(map);
  if (layer.getLayers().length) map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 12 });
  page.dataset.places = String(seen.size);
  page.dataset.colocations = String(colocItems.length);
  return h("div", { id: "places" }, h("h2", {}, "Places"),
    h("p", { id: "places-count" }, `${seen.size} place(s) in the ${data.timeline.items.length} newest calls and plate reads`),
    withheldBox(data.timeline.withheld, "event", "places-withheld"),
    data.colocation ? h("div", { id: "colocation" }, h("h3", {}, `Seen at the same place (${colocItems.length})`),
      colocItems.length ? h("table", { class: "list small" }, h("thead", {}, h("tr", {}, ["Who", "Where", "When"].map((x) => h("th", {}, x)))),
        h("tbody", {}, colocItems.map((c) => h("tr", { class: "coloc-row" }, h("td", {}, nodeLink(c.other)), h("td", {}, label(c.place)),
          h("td", { class: "nowrap" }, fmtDate(c.at))))))
        : h("p", { class: "muted" }, "No one you may see was there within the window."),
      withheldBox(data.colocation.withheld, "event", "colocation-withheld")) : null);
}
