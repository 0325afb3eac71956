// The single-page application: the table of views, the header, sign-in state. Views import
// router.js and widgets.js, never this module.
import { get, session } from "./api.js";
import { errorBox, h, mount, fill } from "./dom.js";
import { leave, navigate, parseHash, startRouter } from "./router.js";
import { alertsView } from "./views/alerts.js";
import { chartView } from "./views/chart.js";
import { dashboardView } from "./views/dashboard.js";
import { entityView } from "./views/entity.js";
import { loginView } from "./views/login.js";
import { lookupView } from "./views/lookup.js";
import { mapView } from "./views/map.js";
import { phoneView } from "./views/phone.js";
import { searchView } from "./views/search.js";
import { targetsView, targetView } from "./views/targets.js";
import { timelineView } from "./views/timeline.js";
import { refreshAlertCount } from "./widgets.js";

const ROUTES = {
  login: loginView,
  search: searchView,
  entity: entityView,
  chart: chartView,
  lookup: lookupView,
  targets: (args, params, me) => (args[0] ? targetView(args[0], params, me) : targetsView(params)),
  alerts: alertsView,
  dashboard: dashboardView,
  map: mapView,
  timeline: timelineView,
  phone: phoneView,
};

async function ensureMe() {
  if (!session.token) return null;
  if (session.me) return session.me;
  session.me = await get("/v1/me");
  return session.me;
}

function renderHeader(me) {
  const nav = document.getElementById("nav");
  const who = document.getElementById("whoami");
  nav.hidden = !me;
  who.hidden = !me;
  if (!me) return;
  const identity = document.getElementById("identity");
  fill(identity, 
    h("span", { class: `agency agency-${me.agency}`, title: me.agency_name }, me.agency),
    h("span", { class: "unit" }, me.unit || "no unit"),
    h("span", { class: "roles" }, me.roles.join(", ")),
  );
  identity.title = `${me.sub} — ${me.agency_name}${me.central ? " (central agency)" : ""}`;
  document.getElementById("purpose").value = session.purpose;
  const { name } = parseHash();
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.view === name);
  refreshAlertCount();
}

async function route() {
  leave();
  const { name, args, params } = parseHash();
  let me = null;
  try {
    me = await ensureMe();
  } catch (err) {
    session.clear();
    renderHeader(null);
    mount(loginView([], params, err));
    return;
  }
  renderHeader(me);
  if (!me || name === "login") {
    mount(loginView(args, params));
    return;
  }
  const view = ROUTES[name];
  if (!view) {
    mount(errorBox(new Error(`no page ${name}`)));
    return;
  }
  try {
    const el = await view(args, params, me);
    if (el) mount(el);
  } catch (err) {
    mount(errorBox(err));
  }
}

document.getElementById("purpose").addEventListener("change", (e) => { session.purpose = e.target.value.trim(); });
document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  session.purpose = "";
  navigate("#/login");
});
window.addEventListener("ofast:unauthorised", () => {
  session.clear();
  navigate("#/login?expired=1");
});
startRouter(route);
