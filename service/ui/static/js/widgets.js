// Small pieces of UI that several views (and the header) draw the same way.
import { get } from "./api.js";
import { h } from "./dom.js";
import { colour, icon } from "./types.js";

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

/** The header's count of unacknowledged alerts (hidden when none, or when the call fails). */
export async function refreshAlertCount() {
  const badge = document.getElementById("alert-count");
  try {
    const pending = await get("/v1/alerts", { acknowledged: false, limit: 1 });
    badge.textContent = String(pending.total);
    badge.hidden = pending.total === 0;
  } catch {
    badge.hidden = true;
  }
}
