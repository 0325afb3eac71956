import { get, post } from "../api.js";
import { errorBox, fmtDate, h, loading, fill } from "../dom.js";
import { navigate } from "../router.js";
import { refreshAlertCount } from "../widgets.js";

const KINDS = {
  shared_identifier: "another service holds data on an identifier linked to your entity",
  objective_overlap: "another service declared an objective on the same target",
  possible_match: "another service may hold the same person (judge it: nothing is merged)",
  late_hit: "an identifier you looked up without a hit is now held by another service",
};

export function alertsView(args, params) {
  const showAll = params.get("all") === "1";
  const list = h("div", { id: "alerts" }, loading());
  (async () => {
    try {
      const data = await get("/v1/alerts", { acknowledged: showAll ? undefined : false, limit: 200 });
      if (!data.items.length) {
        fill(list, h("p", { class: "muted", id: "no-alerts" }, showAll ? "No alert." : "No pending alert."));
        return;
      }
      fill(list, h("table", { class: "list" },
        h("thead", {}, h("tr", {}, ["Received", "What", "Your entity", "Other service", "Contact", ""].map((x) => h("th", {}, x)))),
        h("tbody", {}, data.items.map((a) => {
          const ack = h("button", { type: "button", class: "ack small", dataset: { id: a.id }, onclick: async () => {
            ack.disabled = true;
            try {
              await post(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, {});
              row.classList.add("acknowledged");
              ack.replaceWith(h("span", { class: "muted" }, "acknowledged"));
              refreshAlertCount();
            } catch (err) {
              ack.disabled = false;
              row.lastChild.append(errorBox(err));
            }
          } }, "Acknowledge");
          const row = h("tr", { class: `alert-row ${a.acknowledged ? "acknowledged" : ""}`, dataset: { id: a.id } },
            h("td", { class: "nowrap" }, fmtDate(a.created_at).replace(" UTC", "")),
            h("td", {}, h("strong", {}, a.kind), h("div", { class: "muted small" }, KINDS[a.kind] || "")),
            h("td", {}, a.entity_id ? h("span", {}, h("a", { href: `#/entity/${encodeURIComponent(a.entity_id)}` }, "entity"), " · ",
              h("a", { href: `#/chart/${encodeURIComponent(a.entity_id)}` }, "chart")) : "—"),
            h("td", {}, a.counterpart_agency),
            h("td", {}, a.counterpart_contact),
            h("td", {}, a.acknowledged ? h("span", { class: "muted" }, "acknowledged") : ack));
          return row;
        }))), h("p", { class: "muted" }, `${data.total} alert(s)`));
    } catch (err) {
      fill(list, errorBox(err));
    }
  })();
  return h("section", {},
    h("h1", {}, "Alerts"),
    h("p", {}, h("label", {}, h("input", { type: "checkbox", checked: showAll,
      onchange: (e) => navigate(e.target.checked ? "#/alerts?all=1" : "#/alerts") }), " show acknowledged alerts too")),
    list);
}
