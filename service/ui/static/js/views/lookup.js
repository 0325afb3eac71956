import { get, session } from "../api.js";
import { errorBox, h, loading, fill } from "../dom.js";
import { IDENTIFIER_TYPES } from "../types.js";

export function lookupView(args, params, me) {
  const type = h("select", { id: "lookup-type" },
    IDENTIFIER_TYPES.map((t) => h("option", { value: t, selected: t === (params.get("type") || "Phone") }, t)));
  const value = h("input", { id: "lookup-value", type: "text", maxlength: 256, value: params.get("value") || "",
    placeholder: "06 12 34 56 78, FR76…, AB-123-CD…" });
  const result = h("div", { id: "lookup-result" });

  async function submit(e) {
    e.preventDefault();
    if (!session.purpose) {
      fill(result, errorBox(new Error("state a purpose (case reference) in the header first: lookups are audited with it")));
      return;
    }
    fill(result, loading("Asking…"));
    try {
      const r = await get("/v1/lookup", { type: type.value, value: value.value });
      fill(result, h("div", { class: `hit-box ${r.hit ? "hit" : "nohit"}` },
        h("div", { class: "verdict" }, r.hit ? "HIT" : "NO HIT"),
        h("p", {}, `${r.type} ${r.value}`),
        r.hit ? h("div", {},
          h("p", {}, "Services holding data on this identifier — call them:"),
          h("table", { class: "list" }, h("thead", {}, h("tr", {}, h("th", {}, "Agency"), h("th", {}, "Contact"))),
            h("tbody", {}, r.holders.map((x) => h("tr", { class: "holder" },
              h("td", {}, x.agency, x.agency === me.agency ? h("span", { class: "muted" }, " (your agency)") : null),
              h("td", {}, x.contact))))),
          r.id ? h("p", {}, h("a", { href: `#/entity/${encodeURIComponent(r.id)}` }, "Open the identifier"), " · ",
            h("a", { href: `#/chart/${encodeURIComponent(r.id)}` }, "link chart")) : null)
          : h("p", {}, "No service holds data on it that you may learn of. The lookup is remembered: " +
            "if a service adds it later, both of you will get an alert.")));
    } catch (err) {
      fill(result, errorBox(err));
    }
  }

  return h("section", {},
    h("h1", {}, "Identifier lookup (hit / no-hit)"),
    h("p", { class: "muted" }, "Learn whether another service holds data on a phone, account, plate, wallet or e-mail — and whom to call."),
    h("form", { class: "inline", onsubmit: submit }, type, value, h("button", { type: "submit" }, "Look up")),
    result);
}
