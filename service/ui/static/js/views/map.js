// Map of deal points and network territories (measure 5): Leaflet with no tile layer, over the
// département outline shipped in static/data/ — nothing is fetched from outside this service.
import { get } from "../api.js";
import { h, fill } from "../dom.js";
import { onLeave } from "../router.js";

const METRO_BOUNDS = [[41.2, -5.3], [51.2, 9.7]];
const SCALE = ["#fff5f0", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];

function shade(n, max) {
  if (!n) return "#f8f9fa";
  const i = Math.min(SCALE.length - 1, 1 + Math.floor((n / Math.max(max, 1)) * (SCALE.length - 2)));
  return SCALE[i];
}

export async function mapView() {
  const L = window.L;
  const container = h("div", { id: "map" });
  const side = h("aside", { class: "card", id: "map-side" }, h("p", { class: "muted" }, "Loading…"));
  const page = h("section", { id: "map-page" }, h("h1", {}, "Deal points and network territories"),
    h("div", { class: "chart-body" }, container, side));
  const [outline, points, dashboard] = await Promise.all([
    fetch("data/france-departements.geojson", { cache: "force-cache" }).then((r) => r.json()),
    get("/v1/map/deal-points"),
    get("/v1/dashboard/threat").catch(() => null),
  ]);
  const byDept = new Map((dashboard ? dashboard.networks_by_territory : []).map((t) => [t.department, t.networks]));
  const max = Math.max(0, ...byDept.values());

  setTimeout(() => {
    const map = L.map(container, { zoomSnap: 0.25, attributionControl: true, preferCanvas: false });
    onLeave(() => map.remove());
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
    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = () => h("div", { class: "map-legend" }, h("div", {}, h("span", { class: "dot" }), " deal point"),
      h("div", {}, "Active networks per département:"),
      h("div", { class: "scale" }, SCALE.map((c) => h("span", { style: `background:${c}` }))),
      h("div", { class: "muted" }, `0 … ${max}`));
    legend.addTo(map);
    page.dataset.points = String(points.features.length);
    page.dataset.ready = "1";
    fill(side, h("h2", {}, "Deal points"),
      h("p", { id: "map-count" }, `${points.features.length} deal point(s) you may see${points.truncated ? " (truncated)" : ""}` +
        (overseas ? `, ${overseas} overseas (zoom out to see them)` : "")),
      points.withheld.length ? h("div", {}, h("h3", {}, "Restricted deal points of other services"),
        h("ul", {}, points.withheld.map((w) => h("li", {}, `${w.owner_agency}: ${w.deal_points} — `, h("span", { class: "contact" }, w.contact)))))
        : h("p", { class: "muted" }, "No deal point is withheld from you."),
      h("h3", {}, "Most active départements"),
      h("ol", {}, [...byDept.entries()].filter(([d]) => d !== "unknown").sort((a, b) => b[1] - a[1]).slice(0, 8)
        .map(([d, n]) => h("li", {}, `${nameOf(outline, d)} (${d}): ${n}`))));
  }, 0);
  return page;
}

function nameOf(outline, code) {
  const f = outline.features.find((x) => x.properties.code === code);
  return f ? f.properties.name : code;
}

