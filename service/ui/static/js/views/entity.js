import { get, post } from "../api.js";
import { errorBox, fmtDate, fmtNumber, h, kv, fill } from "../dom.js";
import { navigate } from "../router.js";
import { label } from "../types.js";
import { stubBox, typeBadge } from "../widgets.js";

// The entities that hold assets (GET /v1/entities/{id}/patrimony).
const PATRIMONY_TYPES = ["Person", "Company", "Network"];
const PATRIMONY_DEPTH = 3;

// The entities whose events the timeline endpoint gathers (a person's through its identifiers).
const TIMELINE_TYPES = ["Person", "Phone", "Vehicle", "BankAccount", "CryptoWallet", "Handset"];

function value(v) {
  if (Array.isArray(v)) return v.join(", ");
  if (v && typeof v === "object") return JSON.stringify(v);
  return v;
}

export async function entityView([id], params, me) {
  const entity = await get(`/v1/entities/${encodeURIComponent(id)}`);
  const header = h("div", { class: "entity-head" },
    typeBadge(entity.type), h("h1", {}, label(entity)),
    h("a", { class: "button", href: `#/chart/${encodeURIComponent(id)}`, id: "open-chart" }, "Open link chart"),
    TIMELINE_TYPES.includes(entity.type)
      ? h("a", { class: "button", href: `#/timeline/${encodeURIComponent(id)}`, id: "open-timeline" }, "Timeline") : null,
    entity.type === "Phone" ? h("a", { class: "button", href: `#/phone/${encodeURIComponent(id)}`, id: "open-phone" }, "Phone analysis") : null);
  if (entity.redacted) return h("section", {}, header, stubBox(entity));

  const props = Object.entries(entity.properties || {}).map(([k, v]) => [k, value(v)]);
  const prov = entity.provenance || {};
  const details = h("div", { class: "columns" },
    h("div", { class: "card" }, h("h2", {}, "Properties"), kv(props.length ? props : [["—", "no properties"]])),
    h("div", { class: "card" }, h("h2", {}, "Provenance"), kv([
      entity.value ? ["value", entity.value] : null,
      ["owner agency", entity.owner_agency || "— (identifier: no owner)"],
      ["owner unit", prov.owner_unit], ["source system", prov.source_system],
      ["reference", entity.ref], ["sharing", entity.sharing], ["version", entity.version],
      entity.handling ? ["handling", entity.handling_notice || entity.handling] : null,
      entity.reliability ? ["evaluation", `${entity.reliability}${entity.accuracy}`] : null,
      ["created", fmtDate(prov.created_at)], ["updated", fmtDate(prov.updated_at)],
      ["last batch", prov.batch_id],
    ])));
  const links = h("div", { class: "card", id: "links" }, h("h2", {}, "Links"), h("p", { class: "muted" }, "Loading…"));
  loadLinks(id, links);
  const canPropose = me && me.permissions.includes("write") && ["Person", "Network"].includes(entity.type);
  return h("section", {}, header, details, patrimonyCard(entity), links, canPropose ? proposeBox(entity) : null);
}

/** The patrimony card of a Person, Company or Network seen in full (null for other entities). */
export function patrimonyCard(entity) {
  if (!entity || entity.redacted || !PATRIMONY_TYPES.includes(entity.type)) return null;
  const box = h("div", { class: "card", id: "patrimony" }, h("h2", {}, "Patrimony"), h("p", { class: "muted" }, "Loading…"));
  loadPatrimony(entity, box);
  return box;
}

/** The assets the entity holds, as a tree of the chains that lead to them, with the totals. */
async function loadPatrimony(entity, box) {
  try {
    const p = await get(`/v1/entities/${encodeURIComponent(entity.id)}/patrimony`, { max_depth: PATRIMONY_DEPTH, limit: 200 });
    // The chain nodes between the entity and each asset, by id: names fetched once each (all seen in full).
    const between = [...new Set(p.assets.flatMap((a) => a.via.filter((v) => v !== entity.id && v !== a.asset.id)))];
    const names = new Map(await Promise.all(between.map(async (v) => {
      try { const n = await get(`/v1/entities/${encodeURIComponent(v)}`); return [v, n]; } catch { return [v, { id: v, type: "", properties: {} }]; }
    })));
    const root = { children: new Map(), assets: [] };
    for (const a of p.assets) {
      let at = root;
      for (const v of a.via.filter((x) => x !== entity.id && x !== a.asset.id)) {
        if (!at.children.has(v)) at.children.set(v, { children: new Map(), assets: [] });
        at = at.children.get(v);
      }
      at.assets.push(a);
    }
    const euro = (x) => (x === null || x === undefined ? "—" : `${fmtNumber(x)} €`);
    const assetItem = (a) => h("li", { class: "patrimony-asset", dataset: { id: a.asset.id } },
      typeBadge(a.asset.type), " ",
      h("a", { href: `#/entity/${encodeURIComponent(a.asset.id)}` }, label(a.asset)), " ",
      h("span", { class: "muted" }, [
        a.status || "", a.value_eur !== null && a.value_eur !== undefined ? ` · ${euro(a.value_eur)}` : "",
        ` · share ${a.share === null ? "unknown" : `${Math.round(a.share * 1000) / 10} %`}`].join("")));
    const branch = (node) => h("ul", { class: "tree" },
      node.assets.map(assetItem),
      [...node.children.entries()].map(([v, child]) => h("li", { class: "patrimony-via" },
        names.get(v) ? typeBadge(names.get(v).type) : null, " ",
        h("a", { href: `#/entity/${encodeURIComponent(v)}` }, names.get(v) ? label(names.get(v)) : v),
        branch(child))));
    const t = p.totals;
    fill(box, h("h2", {}, `Patrimony (${p.total} asset${p.total === 1 ? "" : "s"})`),
      kv([["identified", `${t.identified.count} · ${euro(t.identified.value_eur)}`],
        ["seized", `${t.seized.count} · ${euro(t.seized.value_eur)}`],
        ["confiscated", `${t.confiscated.count} · ${euro(t.confiscated.value_eur)}`],
        ["released", `${t.released.count} · ${euro(t.released.value_eur)}`],
        ["attributable", euro(t.attributable_eur)], ["share unknown", euro(t.unknown_share_eur)]]),
      p.assets.length ? h("div", { id: "patrimony-tree" }, h("strong", {}, label(entity)), branch(root))
        : h("p", { class: "muted" }, `No asset you may see, within ${PATRIMONY_DEPTH} links.`),
      p.withheld.map((w) => h("p", { class: "stub patrimony-withheld" },
        `${w.assets} asset(s) held through ${w.owner_agency}'s data — contact: ${w.contact}`)),
      p.total > p.assets.length ? h("p", { class: "muted" }, `The first ${p.assets.length} of ${p.total} assets.`) : null,
      p.truncated ? h("p", { class: "muted" }, "The chains read reached the service's bound: there may be more.") : null);
  } catch (err) {
    fill(box, h("h2", {}, "Patrimony"), errorBox(err));
  }
}

async function loadLinks(id, box) {
  try {
    const hood = await get(`/v1/entities/${encodeURIComponent(id)}/neighbourhood`, { depth: 1, limit: 300 });
    const byId = new Map(hood.nodes.map((n) => [n.id, n]));
    const groups = new Map();
    for (const e of hood.edges) {
      const otherId = e.source === id ? e.target : e.source;
      const other = byId.get(otherId);
      if (!other) continue;
      if (!groups.has(e.type)) groups.set(e.type, []);
      groups.get(e.type).push({ e, other, outgoing: e.source === id });
    }
    const sections = [...groups.entries()].sort().map(([type, items]) => h("div", { class: "link-group" },
      h("h3", {}, `${type} (${items.length})`),
      h("ul", {}, items.map(({ e, other, outgoing }) => h("li", { class: other.redacted ? "stub" : "" },
        h("span", { class: "dir" }, outgoing ? "→" : "←"), " ",
        typeBadge(other.type), " ",
        h("a", { href: `#/entity/${encodeURIComponent(other.id)}` }, label(other)),
        other.redacted ? h("span", { class: "muted" }, ` — contact: ${other.contact || "—"}`) : null,
        e.redacted ? h("span", { class: "muted" }, ` (link restricted by ${e.owner_agency})`) : null,
        e.properties && e.properties.role ? h("span", { class: "muted" }, ` (${e.properties.role})`) : null)))));
    fill(box, h("h2", {}, "Links by type"),
      ...(sections.length ? sections : [h("p", { class: "muted" }, "No link you may know of.")]),
      hood.truncated ? h("p", { class: "muted" }, "More links exist than shown (300).") : null);
  } catch (err) {
    fill(box, h("h2", {}, "Links"), errorBox(err));
  }
}

/** Propose the entity for the national priority target list (measure 17); OFAST decides. */
function proposeBox(entity) {
  const msg = h("div", {});
  return h("details", { class: "card", id: "propose" },
    h("summary", {}, "Propose as a priority target"),
    h("form", { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const f = e.target.elements;
      try {
        const t = await post("/v1/priority-targets", { entity_id: entity.id, proposed_tier: Number(f.proposed_tier.value),
          justification: f.justification.value });
        navigate(`#/targets/${encodeURIComponent(t.id)}`);
      } catch (err) {
        fill(msg, errorBox(err));
      }
    } },
    h("label", {}, "Justification", h("textarea", { name: "justification", rows: 3, required: true, maxlength: 10000 })),
    h("label", {}, "Proposed tier", h("select", { name: "proposed_tier" },
      [1, 2, 3].map((n) => h("option", { value: n, selected: n === 2 }, `${n}${n === 1 ? " (highest)" : ""}`)))),
    h("div", { class: "toolbar" }, h("button", { type: "submit", id: "propose-submit" }, "Propose")), msg));
}
