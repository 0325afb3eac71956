// The national priority target list (measure 17) and one target's page: history, evidence and,
// for target managers of the central agency only, the workflow buttons.
import { api, get } from "../api.js";
import { errorBox, fmtDate, fmtNumber, h, kv, loading, fill } from "../dom.js";
import { navigate } from "../router.js";
import { label } from "../types.js";
import { typeBadge } from "../widgets.js";
import { patrimonyCard } from "./entity.js";

const STATUSES = ["proposed", "active", "suspended", "neutralised", "archived", "rejected"];
const ACTION_LABELS = { active: "Validate / activate", rejected: "Reject", suspended: "Suspend",
  neutralised: "Mark neutralised", archived: "Archive" };

function entityCell(t) {
  if (t.entity_hidden) return h("span", { class: "muted" }, "hidden (confidential to another agency)");
  if (!t.entity) return "—";
  return h("span", {}, typeBadge(t.entity.type), " ",
    h("a", { href: `#/entity/${encodeURIComponent(t.entity.id)}` }, label(t.entity)));
}

function statusPill(status) {
  return h("span", { class: `pill status-${status}` }, status);
}

export function targetsView(params) {
  const f = Object.fromEntries(["status", "tier", "lead_agency", "territory", "overdue", "sort"].map((k) => [k, params.get(k) || ""]));
  const form = h("form", { class: "inline filters-form", onsubmit: (e) => {
    e.preventDefault();
    const usp = new URLSearchParams();
    for (const el of e.target.elements) if (el.name && el.value) usp.set(el.name, el.value);
    navigate(`#/targets?${usp}`);
  } },
  h("select", { name: "status", id: "f-status" }, h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s, selected: s === f.status }, s))),
  h("select", { name: "tier" }, h("option", { value: "" }, "any tier"),
    [1, 2, 3].map((t) => h("option", { value: t, selected: String(t) === f.tier }, `tier ${t}`))),
  h("input", { name: "lead_agency", placeholder: "lead agency", value: f.lead_agency, size: 12 }),
  h("input", { name: "territory", placeholder: "territory", value: f.territory, size: 14 }),
  h("select", { name: "overdue" }, h("option", { value: "" }, "any review date"),
    h("option", { value: "true", selected: f.overdue === "true" }, "review overdue"),
    h("option", { value: "false", selected: f.overdue === "false" }, "not overdue")),
  h("select", { name: "sort" }, ["tier", "review_due", "-updated_at"].map((s) => h("option", { value: s, selected: s === f.sort }, `sort: ${s}`))),
  h("button", { type: "submit" }, "Filter"));
  const list = h("div", { id: "targets" }, loading());
  (async () => {
    try {
      const params2 = { ...f, limit: 200 };
      const data = await get("/v1/priority-targets", params2);
      fill(list, h("p", { class: "muted" }, `${data.total} entr${data.total === 1 ? "y" : "ies"}`),
        h("table", { class: "list" },
          h("thead", {}, h("tr", {}, ["Tier", "Status", "Designated", "Lead", "Territories", "Review due", ""].map((x) => h("th", {}, x)))),
          h("tbody", {}, data.items.map((t) => h("tr", { class: "target-row", dataset: { id: t.id } },
            h("td", { class: "num" }, t.tier ?? `(${t.proposed_tier})`),
            h("td", {}, statusPill(t.status)),
            h("td", {}, entityCell(t)),
            h("td", {}, t.lead_agency ? `${t.lead_agency}${t.lead_unit ? ` / ${t.lead_unit}` : ""}` : "—"),
            h("td", {}, t.territories.join(", ") || "—"),
            h("td", { class: t.overdue ? "overdue" : "" }, t.review_due || "—"),
            h("td", {}, h("a", { href: `#/targets/${encodeURIComponent(t.id)}`, class: "open-target" }, "open")))))));
    } catch (err) {
      fill(list, errorBox(err));
    }
  })();
  return h("section", {}, h("h1", {}, "Priority targets"), form, list);
}

export async function targetView(id, params, me) {
  const t = await get(`/v1/priority-targets/${encodeURIComponent(id)}`);
  const canManage = me.central && me.permissions.includes("manage_targets");
  const history = h("div", { class: "card", id: "history" }, h("h2", {}, "History"), loading());
  const evidence = h("div", { class: "card", id: "evidence" }, h("h2", {}, "Evidence"), loading());
  const workflow = canManage ? workflowBox(t, me) : null;

  (async () => {
    try {
      const hist = await get(`/v1/priority-targets/${encodeURIComponent(id)}/history`);
      fill(history, h("h2", {}, "History"), h("ol", { class: "timeline" }, hist.versions.map((v) => h("li", {},
        h("div", {}, h("strong", {}, `v${v.version} · ${v.kind}`),
          v.transition_to ? h("span", {}, " ", statusPill(v.transition_from || "—"), " → ", statusPill(v.transition_to)) : null,
          h("span", { class: "muted" }, ` ${fmtDate(v.at)} by ${v.by_agency || "?"}${v.by_unit ? ` / ${v.by_unit}` : ""}`)),
        v.redacted ? h("div", { class: "muted" }, "reason withheld") : h("div", {}, v.reason || "")))));
    } catch (err) { fill(history, h("h2", {}, "History"), errorBox(err)); }
  })();
  (async () => {
    try {
      const ev = await get(`/v1/priority-targets/${encodeURIComponent(id)}/evidence`);
      fill(evidence, h("h2", {}, "Evidence"), ev.entity_hidden ? h("p", { class: "muted" }, "Hidden from you.") : h("div", {},
        kv([["cases", `${ev.cases_total} (${ev.cases_by_agency.map((c) => `${c.agency}: ${c.cases}`).join(", ") || "—"})`],
          ["seizures", ev.seizures_by_drug.map((s) => `${s.drug}: ${s.seizures} (${fmtNumber(s.quantity, 1)} ${s.unit || ""})`).join("; ") || "—"],
          ["assets", ev.assets_by_status.map((a) => `${a.status}: ${a.assets} (${fmtNumber(a.value_eur)} €)`).join("; ") || "—"],
          ["network", ev.network ? `${ev.network.networks} network(s), ${ev.network.members} member(s)` : "—"],
          ["links since review", `${ev.links_since_review.count} since ${fmtDate(ev.since)}`]]),
        h("p", { class: "muted small" }, ev.statistics_count_all ? "Counts include items hidden from you (a count reveals no content)."
          : "Counts cover only what you may see.")));
    } catch (err) { fill(evidence, h("h2", {}, "Evidence"), errorBox(err)); }
  })();

  return h("section", { id: "target-page", dataset: { status: t.status, version: String(t.version) } },
    h("p", {}, h("a", { href: "#/targets" }, "← priority targets")),
    h("div", { class: "entity-head" }, h("h1", {}, "Priority target"), statusPill(t.status),
      t.tier ? h("span", { class: "pill" }, `tier ${t.tier}`) : h("span", { class: "pill" }, `proposed tier ${t.proposed_tier}`)),
    h("div", { class: "columns" },
      h("div", { class: "card" }, h("h2", {}, "Entry"), kv([
        ["designated", entityCell(t)],
        ["justification", t.justification ?? h("span", { class: "muted" }, "withheld")],
        ["lead", t.lead_agency ? `${t.lead_agency}${t.lead_unit ? ` / ${t.lead_unit}` : ""}` : "—"],
        ["lead contact", t.lead_contact],
        ["proposed by", `${t.proposed_by.agency}${t.proposed_by.unit ? ` / ${t.proposed_by.unit}` : ""}`],
        ["territories", t.territories.join(", ")],
        ["review due", t.review_due ? `${t.review_due}${t.overdue ? " (overdue)" : ""}` : "—"],
        ["last review", fmtDate(t.last_reviewed_at)],
        t.neutralised_at ? ["neutralised", `${t.neutralised_at} (${t.neutralised_case_ref})`] : null,
        ["version", t.version], ["updated", fmtDate(t.updated_at)]])),
      workflow),
    h("div", { class: "columns" }, evidence, history),
    t.entity_hidden ? null : patrimonyCard(t.entity));
}

function workflowBox(t, me) {
  const box = h("div", { class: "card", id: "workflow" }, h("h2", {}, "Workflow"));
  const form = h("div", { id: "workflow-form" });
  const buttons = h("div", { class: "toolbar" },
    t.allowed_transitions.map((to) => h("button", { type: "button", class: `wf wf-${to}`, dataset: { to },
      onclick: () => showForm(to) }, ACTION_LABELS[to] || to)),
    t.status === "active" ? h("button", { type: "button", class: "wf wf-review", onclick: () => showForm("review") }, "Record review") : null);
  if (!t.allowed_transitions.length && t.status !== "active") buttons.append(h("span", { class: "muted" }, `${t.status} is final`));
  box.append(buttons, form);

  function showForm(to) {
    const agencies = Object.keys(me.agencies || {});
    const fields = [h("label", {}, "Reason (kept in the history)", h("textarea", { name: "reason", rows: 3, required: true }))];
    if (to === "active" || to === "review") {
      fields.push(h("label", {}, "Tier", h("select", { name: "tier" }, [1, 2, 3].map((n) =>
        h("option", { value: n, selected: n === (t.tier || t.proposed_tier) }, String(n))))));
      fields.push(h("label", {}, "Lead agency", h("select", { name: "lead_agency" }, agencies.map((a) =>
        h("option", { value: a, selected: a === (t.lead_agency || t.proposed_by.agency) }, `${a} — ${me.agencies[a]}`)))));
      fields.push(h("label", {}, "Lead unit", h("input", { name: "lead_unit", value: t.lead_unit || "" })));
    }
    if (to === "neutralised") {
      fields.push(h("label", {}, "Neutralised on", h("input", { name: "neutralised_at", type: "date", required: true })));
      fields.push(h("label", {}, "Judicial case reference", h("input", { name: "case_ref", required: true })));
    }
    const msg = h("div", {});
    fill(form, h("form", { class: "stack", id: `form-${to}`, onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      for (const el of e.target.elements) {
        if (!el.name || el.value === "") continue;
        body[el.name] = el.name === "tier" ? Number(el.value) : el.value;
      }
      const path = to === "review" ? "reviews" : "transitions";
      if (to !== "review") body.to = to;
      try {
        await api("POST", `/v1/priority-targets/${encodeURIComponent(t.id)}/${path}`, { body, headers: { "If-Match": `"${t.version}"` } });
        navigate(`#/targets/${encodeURIComponent(t.id)}?done=${to}`);
      } catch (err) {
        fill(msg, errorBox(err));
      }
    } }, h("h3", {}, ACTION_LABELS[to] || "Record review"), fields,
    h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Confirm"),
      h("button", { type: "button", onclick: () => fill(form) }, "Cancel")), msg));
  }
  return box;
}
