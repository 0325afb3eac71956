import { get, session } from "../api.js";
import { errorBox, h, loading, fill } from "../dom.js";
import { navigate } from "../router.js";
import { ENTITY_TYPES, label } from "../types.js";
import { typeBadge } from "../widgets.js";

export function searchView(args, params) {
  const q = params.get("q") || "";
  const type = params.get("type") || "";
  const input = h("input", { id: "q", type: "search", value: q, placeholder: "Name, alias, label, case reference…",
    autofocus: true, maxlength: 500 });
  const select = h("select", { id: "search-type" }, h("option", { value: "" }, "all types"),
    ENTITY_TYPES.map((t) => h("option", { value: t, selected: t === type }, t)));
  const results = h("div", { id: "results" });

  function submit(e) {
    e.preventDefault();
    const usp = new URLSearchParams();
    if (input.value.trim()) usp.set("q", input.value.trim());
    if (select.value) usp.set("type", select.value);
    navigate(`#/search?${usp}`);
  }

  if (q) run();

  async function run() {
    if (!session.purpose) {
      fill(results, errorBox(new Error("state a purpose (case reference) in the header first: searches are audited with it")));
      return;
    }
    fill(results, loading("Searching…"));
    try {
      const data = await get("/v1/search", { q, type, limit: 50 });
      fill(results, 
        h("p", { class: "muted" }, `${data.total} result${data.total === 1 ? "" : "s"} you may see in full`),
        h("table", { class: "list" },
          h("thead", {}, h("tr", {}, h("th", {}, "Type"), h("th", {}, "Name / label"), h("th", {}, "Owner"),
            h("th", {}, "Sharing"), h("th", {}, "Score"), h("th", {}, ""))),
          h("tbody", {}, data.results.map((r) => h("tr", { class: "result" },
            h("td", {}, typeBadge(r.type)),
            h("td", {}, h("a", { href: `#/entity/${encodeURIComponent(r.id)}`, class: "result-link" }, label(r))),
            h("td", {}, r.owner_agency),
            h("td", {}, r.sharing || ""),
            h("td", { class: "num" }, r.score.toFixed(2)),
            h("td", {}, h("a", { href: `#/chart/${encodeURIComponent(r.id)}`, class: "small" }, "link chart")))))),
      );
    } catch (err) {
      fill(results, errorBox(err));
    }
  }

  return h("section", {},
    h("h1", {}, "Search"),
    h("form", { class: "inline", onsubmit: submit }, input, select, h("button", { type: "submit" }, "Search")),
    results);
}
