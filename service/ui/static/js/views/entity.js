import { get, post } from "../api.js";
import { errorBox, fmtDate, h, kv, fill } from "../dom.js";
import { navigate } from "../router.js";
import { label } from "../types.js";
import { stubBox, typeBadge } from "../widgets.js";

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
  return h("section", {}, header, details, links, canPropose ? proposeBox(entity) : null);
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
