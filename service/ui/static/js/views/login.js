import { get, session } from "../api.js";
import { errorBox, h, fill } from "../dom.js";
import { navigate } from "../router.js";

export function loginView(args, params, error) {
  const token = h("textarea", { id: "token", rows: 5, spellcheck: false, autocomplete: "off",
    placeholder: "eyJhbGciOi…", required: true });
  const purpose = h("input", { id: "login-purpose", type: "text", maxlength: 500, value: session.purpose,
    placeholder: "e.g. PROC-2026-113" });
  const status = h("div", { class: "status" });
  if (error) status.append(errorBox(error));
  else if (params && params.get("expired")) status.append(errorBox(new Error("your token expired or was refused: sign in again")));

  async function submit(e) {
    e.preventDefault();
    fill(status);
    const value = token.value.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    session.token = value;
    session.purpose = purpose.value.trim();
    try {
      session.me = await get("/v1/me");
      navigate("#/search");
    } catch (err) {
      session.clear();
      status.append(errorBox(err));
    }
  }

  return h("section", { class: "login card" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste a bearer token: in development ",
      h("code", {}, "ofast-graph token --agency police --role investigator --unit OFAST-Marseille"),
      ", in a deployment the token issued by the single sign-on."),
    h("form", { onsubmit: submit },
      h("label", {}, "Bearer token", token),
      h("label", {}, "Purpose (case reference, recorded in the audit trail with every search)", purpose),
      h("button", { type: "submit", id: "signin" }, "Sign in")),
    status,
    h("p", { class: "muted" }, "The token stays in this browser tab only (sessionStorage) and is sent to this service alone."));
}
