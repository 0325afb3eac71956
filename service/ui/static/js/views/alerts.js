import { get, post } from "../api.js";
import { errorBox, fmtDate, h, loading, fill } from "../dom.js";
import { navigate } from "../router.js";
import { refreshAlertCount } from "../widgets.js";

const KINDS = {
  shared_identifier: "another service holds data on an identifier linked to your entity",
  objective_overlap: "another service declared an objective on the same target",
  possible_match: "another service may hold the same person (judge it: nothing is merged)",
  late_hit: "an identifier you looked up without a hit is now held by another service",
  watch_hit: "something new touches what you watch",
};
const VERDICTS = [["same", "Same person"], ["different", "Different"], ["unsure", "Unsure"]];
const FILTERS = ["kind", "unit", "since", "until"];

// Triage: the alerts of the caller's agency grouped by own entity, other service and kind, what
// touches a priority target or an objective of the caller's unit first; a group opens onto its
// alerts, each with its action inline (judge a possible match, open the shared identifier, call
// the contact), and a group or everything the filter shows is acknowledged in one call.
export function alertsView(args, params) {
  const showAll = params.get("all") === "1";
  const filter = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
  const list = h("div", { id: "alerts" }, loading());

  const query = () => ({ kind: filter.kind || undefined, unit: filter.unit || undefined,
    since: filter.since || undefined, until: filter.until || undefined,
    acknowledged: showAll ? undefined : false });
  const bodyOf = (extra) => Object.fromEntries(Object.entries({ ...query(), acknowledged: undefined, ...extra,
    kind: extra.kind ? [extra.kind] : filter.kind ? [filter.kind] : undefined })
    .filter(([, v]) => v !== undefined && v !== null && v !== ""));

  async function acknowledge(body, button) {
    button.disabled = true;
    try {
      const res = await post("/v1/alerts/ack", body);
      refreshAlertCount();
      return res.acknowledged;
    } catch (err) {
      button.disabled = false;
      button.after(errorBox(err));
      return null;
    }
  }

  function alertRow(a) {
    const row = h("tr", { class: `alert-row ${a.acknowledged ? "acknowledged" : ""}`, dataset: { id: a.id, kind: a.kind } });
    const done = (text) => {
      row.classList.add("acknowledged");
      fill(row.lastChild, h("span", { class: "muted" }, text));
    };
    const ack = h("button", { type: "button", class: "ack small", onclick: async () => {
      if (await acknowledge({ ids: [a.id] }, ack) !== null) done("acknowledged");
    } }, "Acknowledge");
    const actions = [];
    if (a.kind === "possible_match" && a.match_id && !a.acknowledged) {
      actions.push(h("span", { class: "judge" }, VERDICTS.map(([verdict, text]) => h("button", {
        type: "button", class: `small verdict-${verdict}`, onclick: async (e) => {
          e.target.disabled = true;
          try {
            await post(`/v1/matches/${encodeURIComponent(a.match_id)}/judgement`, { verdict });
            await post("/v1/alerts/ack", { ids: [a.id] });
            refreshAlertCount();
            done(`judged: ${verdict}`);
          } catch (err) {
            e.target.disabled = false;
            row.lastChild.append(errorBox(err));
          }
        } }, text))));
    }
    if (a.kind === "shared_identifier" && a.identifier_id) {
      actions.push(h("a", { href: `#/entity/${encodeURIComponent(a.identifier_id)}`, class: "open-identifier" },
        "open the shared identifier"));
    }
    if (a.match_id) actions.push(h("a", { href: `#/entity/${encodeURIComponent(a.entity_id)}` }, "your person"));
    if (a.purpose) actions.push(h("span", { class: "muted small" }, `their purpose: ${a.purpose}`));
    row.append(
      h("td", { class: "nowrap" }, fmtDate(a.created_at).replace(" UTC", "")),
      h("td", {}, h("strong", {}, a.kind), h("div", { class: "muted small" }, KINDS[a.kind] || "")),
      h("td", {}, a.counterpart_contact ? h("span", { class: "contact" }, `call ${a.counterpart_contact}`) : "—"),
      h("td", { class: "actions" }, actions),
      h("td", {}, a.acknowledged ? h("span", { class: "muted" }, "acknowledged") : ack));
    return row;
  }

  function groupRows(g) {
    const key = { entity_id: g.entity_id, counterpart_agency: g.counterpart_agency, kind: g.kind };
    const detail = h("tr", { class: "group-detail", hidden: true },
      h("td", { colspan: 7 }, h("div", { class: "group-alerts" })));
    const toggle = h("button", { type: "button", class: "small open-group", onclick: async () => {
      detail.hidden = !detail.hidden;
      toggle.textContent = detail.hidden ? `Show ${g.count}` : "Hide";
      if (detail.hidden || detail.dataset.loaded) return;
      const box = detail.querySelector(".group-alerts");
      fill(box, loading());
      try {
        const data = await get("/v1/alerts", { ...query(), ...key, limit: 200 });
        detail.dataset.loaded = "1";
        fill(box, h("table", { class: "list inner" }, h("tbody", {}, data.items.map(alertRow))),
          data.total > data.items.length ? h("p", { class: "muted" }, `${data.items.length} of ${data.total} shown`) : null);
      } catch (err) {
        fill(box, errorBox(err));
      }
    } }, `Show ${g.count}`);
    const ackGroup = h("button", { type: "button", class: "small ack-group", onclick: async () => {
      const n = await acknowledge(bodyOf(key), ackGroup);
      if (n === null) return;
      head.classList.add("acknowledged");
      fill(ackGroup.parentElement, h("span", { class: "muted" }, `${n} acknowledged`));
      detail.dataset.loaded = "";
    } }, "Acknowledge group");
    const entity = g.entity_id
      ? h("a", { href: `#/entity/${encodeURIComponent(g.entity_id)}` }, g.entity_name || "identifier")
      : "—";
    const head = h("tr", { class: `alert-group ${g.priority ? "priority" : ""}`,
      dataset: { entity: g.entity_id || "", agency: g.counterpart_agency || "", kind: g.kind || "" } },
      h("td", {}, g.priority ? h("span", { class: "badge priority-badge", title:
        "a priority target, or an objective of your unit" }, "priority") : ""),
      h("td", {}, entity),
      h("td", {}, g.counterpart_agency, h("div", { class: "muted small" }, g.counterpart_contact || "")),
      h("td", {}, h("strong", {}, g.kind), h("div", { class: "muted small" }, KINDS[g.kind] || "")),
      h("td", { class: "num" }, showAll ? `${g.pending} / ${g.count}` : String(g.pending)),
      h("td", { class: "nowrap" }, fmtDate(g.latest_at).replace(" UTC", "")),
      h("td", { class: "nowrap" }, toggle, " ", g.pending ? ackGroup : h("span", { class: "muted" }, "acknowledged")));
    return [head, detail];
  }

  async function render() {
    fill(list, loading());
    try {
      const data = await get("/v1/alerts", { ...query(), group_by: "entity,counterpart_agency,kind", limit: 200 });
      if (!data.groups.length) {
        fill(list, h("p", { class: "muted", id: "no-alerts" }, showAll ? "No alert." : "No pending alert."));
        return;
      }
      const ackAll = h("button", { type: "button", id: "ack-filtered", class: "small", onclick: async () => {
        const n = await acknowledge(bodyOf({ since: filter.since || "0001-01-01" }), ackAll);
        if (n !== null) render();
      } }, "Acknowledge all shown");
      fill(list,
        h("p", {}, `${data.total} alert(s) in ${data.group_total} group(s)`, " ", ackAll),
        h("table", { class: "list", id: "alert-groups" },
          h("thead", {}, h("tr", {}, ["", "Your entity", "Other service", "What", showAll ? "Pending / all" : "Pending",
            "Latest", ""].map((x) => h("th", {}, x)))),
          h("tbody", {}, data.groups.map(groupRows))),
        data.group_total > data.groups.length ? h("p", { class: "muted" }, `${data.groups.length} of ${data.group_total} groups shown: narrow the filter`) : null);
    } catch (err) {
      fill(list, errorBox(err));
    }
  }
  render();

  const form = h("form", { id: "alert-filter", class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const usp = new URLSearchParams();
    const fd = new FormData(e.target);
    for (const k of FILTERS) if (fd.get(k)) usp.set(k, String(fd.get(k)));
    if (fd.get("all")) usp.set("all", "1");
    const s = usp.toString();
    navigate(s ? `#/alerts?${s}` : "#/alerts");
  } },
    h("label", {}, "Kind ", h("select", { name: "kind" }, h("option", { value: "" }, "all"),
      Object.keys(KINDS).map((k) => h("option", { value: k, selected: filter.kind === k }, k)))),
    h("label", {}, " Unit ", h("input", { name: "unit", value: filter.unit, size: 12, placeholder: "any" })),
    h("label", {}, " From ", h("input", { type: "date", name: "since", value: filter.since })),
    h("label", {}, " to ", h("input", { type: "date", name: "until", value: filter.until })),
    h("label", {}, " ", h("input", { type: "checkbox", name: "all", checked: showAll }), " acknowledged too"),
    " ", h("button", { type: "submit", class: "small" }, "Filter"));
  return h("section", {}, h("h1", {}, "Alerts"), form, list);
}
