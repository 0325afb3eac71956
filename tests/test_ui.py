"""End-to-end tests of the web UI: headless Chromium (Debian's package, driven by Playwright)
against the real service under uvicorn (`tests.live.LiveService`) and the real test Neo4j.

Each test signs in with a development token, drives the pages as an investigator or an OFAST
officer would, and writes a screenshot of the view to `artifacts/screenshots/`. There is no
skip: without `/usr/bin/chromium` (installed by `./run test`) these tests fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from importers.demo import SOURCE_SYSTEM, generate
from service.access.auth import make_token
from service.core.ids import identifier_id
from service.core.settings import Settings
from tests.builders import bearer, push
from tests.conftest import ROOT
from tests.live import LiveService, ui_service
from tests.neo4j_server import Neo4jServer
from tests.test_threat_assessment import report_row

CHROMIUM = os.environ.get("OFAST_GRAPH_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
PURPOSE = "PROC-UI-E2E"
DEMO_SIZE = 250  # a few scenes: enough deal points, networks and seizures for every view
TIMEOUT_MS = 20_000  # generous: the machines running the tests are shared and slow
expect.set_options(timeout=TIMEOUT_MS)

# A small cross-agency story on top of the demo data: a police network whose member shares a
# phone with a restricted customs (douane) suspect, who holds an account a second police suspect
# also holds — the only way from one police suspect to the other passes through the customs stub.
POLICE_BATCH: dict[str, Any] = {
    "entities": [
        {"type": "Network", "ref": "UI-NET-1", "properties": {"name": "Réseau des Calanques", "kind": "retail_point",
                                                               "territory": "Marseille (13)"}},
        {"type": "Person", "ref": "UI-P-1", "properties": {"first_name": "Karim", "last_name": "Zeroual",
                                                            "aliases": ["Le Phare"]}},
        {"type": "Person", "ref": "UI-P-2", "properties": {"first_name": "Samia", "last_name": "Belhadj"}},
        {"type": "Phone", "ref": "06 99 88 77 66"},
        {"type": "BankAccount", "ref": "FR76 3000 4000 3123 4567 8901 429"},
        {"type": "Location", "ref": "UI-LOC-1", "properties": {
            "kind": "deal_point", "label": "Cité des Calanques, Marseille", "lat": 43.2401, "lon": 5.4101,
            "insee_code": "13055"}},
    ],
    "links": [
        {"type": "MEMBER_OF", "from": {"type": "Person", "ref": "UI-P-1"}, "to": {"type": "Network", "ref": "UI-NET-1"},
         "properties": {"role": "head"}},
        {"type": "USES", "from": {"type": "Person", "ref": "UI-P-1"}, "to": {"type": "Phone", "ref": "06 99 88 77 66"}},
        {"type": "HOLDS", "from": {"type": "Person", "ref": "UI-P-2"},
         "to": {"type": "BankAccount", "ref": "FR76 3000 4000 3123 4567 8901 429"}},
        {"type": "OPERATES", "from": {"type": "Network", "ref": "UI-NET-1"},
         "to": {"type": "Location", "ref": "UI-LOC-1"}},
    ],
}
CUSTOMS_BATCH: dict[str, Any] = {
    "entities": [
        {"type": "Person", "ref": "UI-D-1", "sharing": "restricted",
         "properties": {"first_name": "Dmitri", "last_name": "Volkov"}},
        {"type": "Phone", "ref": "0033699887766"},
        {"type": "BankAccount", "ref": "FR7630004000312345678901429"},
    ],
    "links": [
        {"type": "USES", "from": {"type": "Person", "ref": "UI-D-1"}, "to": {"type": "Phone", "ref": "0033699887766"}},
        {"type": "HOLDS", "from": {"type": "Person", "ref": "UI-D-1"},
         "to": {"type": "BankAccount", "ref": "FR7630004000312345678901429"}},
    ],
}


class World:
    def __init__(self, service: LiveService, settings: Settings, ids: dict[str, str], target_id: str,
                 deal_points: int) -> None:
        self.service = service
        self.settings = settings
        self.ids = ids
        self.target_id = target_id
        self.deal_points = deal_points

    def token(self, agency: str, *roles: str, unit: str = "") -> str:
        return make_token(self.settings, agency=agency, roles=list(roles), unit=unit, subject=f"{agency}-ui-user")


def entity_ids(body: dict[str, Any]) -> set[str]:
    return {e["id"] for e in body["entities"]}


def _ingest(client: httpx.Client, settings: Settings, agency: str, batch: dict[str, Any]) -> dict[str, Any]:
    token = make_token(settings, agency=agency, roles=["investigator"], subject=f"{agency}-loader")
    return push(client, {**bearer(token), "X-Source-System": SOURCE_SYSTEM.get(agency, "UI-TEST")},
                batch["entities"], batch["links"])


def seed(service: LiveService, settings: Settings, demo: bool = True) -> World:
    """Push the demo scenes and the cross-agency story through the API; propose the network."""
    with httpx.Client(base_url=service.url, timeout=300) as client:
        if demo:
            with ThreadPoolExecutor(3) as pool:  # one batch per agency, pushed side by side
                list(pool.map(lambda b: _ingest(client, settings, b.agency, b.batch), generate(size=DEMO_SIZE, seed=1)))
        police = _ingest(client, settings, "police", POLICE_BATCH)
        customs = _ingest(client, settings, "douane", CUSTOMS_BATCH)
        ids = {f"police:{e['ref']}": e["id"] for e in police["entities"]}
        ids.update({f"douane:{e['ref']}": e["id"] for e in customs["entities"]})
        ids["phone"] = identifier_id("Phone", "+33699887766")
        ids["account"] = identifier_id("BankAccount", "FR7630004000312345678901429")
        assert ids["phone"] in entity_ids(police) and ids["account"] in entity_ids(customs)
        proposer = make_token(settings, agency="police", roles=["investigator"], unit="OFAST-Marseille",
                              subject="police-proposer")
        r = client.post("/v1/priority-targets", json={
            "entity_id": ids["police:UI-NET-1"], "proposed_tier": 1,
            "justification": "Head of the Calanques deal points; phone shared with a customs suspect"},
            headers=bearer(proposer))
        assert r.status_code == 201, r.text[:500]
        target_id = r.json()["id"]
        analyst = make_token(settings, agency="ofast", roles=["analyst"], subject="counter")
        r = client.get("/v1/map/deal-points", headers=bearer(analyst))
        deal_points = len(r.json()["features"])
    return World(service, settings, ids, target_id, deal_points)


@pytest.fixture(scope="module")
def world(neo4j_srv: Neo4jServer, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ui_service(neo4j_srv, driver, tmp_path_factory.mktemp("ui-state")) as (service, settings):
        yield seed(service, settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists() or shutil.which("chromium"), (
        f"chromium is required for the UI tests ({CHROMIUM}): ./run test installs it (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Browser, world: World) -> Iterator[Any]:
    pages: list[Page] = []
    problems: list[str] = []

    def make(agency: str, *roles: str, unit: str = "") -> Page:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=world.service.url,
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and "status of 40" not in msg.text else None)
        # Nothing may leave for the internet: every request goes to the service itself.
        page.on("request", lambda req: problems.append(f"outside request: {req.url}")
                if not req.url.startswith((world.service.url, "data:", "blob:")) else None)
        sign_in(page, world.token(agency, *roles, unit=unit))
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()
    assert not problems, problems


def sign_in(page: Page, token: str) -> None:
    page.goto("/ui/")
    page.fill("#token", token)
    page.fill("#login-purpose", PURPOSE)
    page.click("#signin")
    expect(page.locator("#identity")).to_be_visible()


def shot(page: Page, name: str, full_page: bool = False) -> None:
    """A screenshot of the view, kept as a test artefact (artifacts/screenshots/NAME.png)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover tooltip left over the view
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def node_xy(page: Page, node_id: str) -> tuple[float, float]:
    """Where a node is drawn on the page (Cytoscape draws on a canvas: there is no element to click)."""
    pos = page.evaluate("""id => { const cy = window.ofastUI.cy; const p = cy.getElementById(id).renderedPosition();
        const r = cy.container().getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; }""", node_id)
    return pos["x"], pos["y"]


def click_node(page: Page, node_id: str) -> None:
    """A real mouse click at the node's place on the Cytoscape canvas."""
    page.mouse.click(*node_xy(page, node_id))


def expand_node(page: Page, node_id: str) -> None:
    """A real double click on the node: the chart adds its neighbours."""
    page.mouse.dblclick(*node_xy(page, node_id))


def wait_nodes(page: Page, at_least: int) -> None:
    page.wait_for_function("n => window.ofastUI?.cy?.nodes().length >= n", arg=at_least)


def test_search_open_expand_and_shortest_path(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator", unit="OFAST-Marseille")
    expect(page.locator("#identity")).to_contain_text("police")
    expect(page.locator("#identity")).to_contain_text("OFAST-Marseille")
    expect(page.locator("#identity")).to_contain_text("investigator")

    page.fill("#q", "Zeroual")
    page.press("#q", "Enter")
    expect(page.locator("tr.result").first).to_contain_text("Karim Zeroual")
    shot(page, "search")
    page.locator("a.result-link", has_text="Karim Zeroual").first.click()
    expect(page.locator(".entity-head h1")).to_contain_text("Karim Zeroual")
    expect(page.locator("#links")).to_contain_text("MEMBER_OF")
    expect(page.locator("#links")).to_contain_text("Réseau des Calanques")
    shot(page, "entity")

    page.click("#open-chart")
    karim, phone = world.ids["police:UI-P-1"], world.ids["phone"]
    wait_nodes(page, 3)  # Karim, his network, his phone
    # Expand the phone: the customs suspect who uses it appears, as a stub.
    expand_node(page, phone)
    stub_id = world.ids["douane:UI-D-1"]
    page.wait_for_function("id => window.ofastUI.cy.getElementById(id).nonempty()", arg=stub_id)
    # Expand the stub (the traversal continues through it): the shared account, then Samia.
    expand_node(page, stub_id)
    account = world.ids["account"]
    page.wait_for_function("id => window.ofastUI.cy.getElementById(id).nonempty()", arg=account)
    samia = world.ids["police:UI-P-2"]
    expand_node(page, account)
    page.wait_for_function("id => window.ofastUI.cy.getElementById(id).nonempty()", arg=samia)

    # Pick the two suspects with real clicks on the canvas, then ask for the shortest paths.
    page.click("#btn-layout")
    click_node(page, karim)
    click_node(page, samia)
    expect(page.locator(".chart-page")).to_have_attribute("data-picked", f"{karim},{samia}")
    page.click("#btn-path")
    expect(page.locator("#chart-status")).to_contain_text("shortest path")
    expect(page.locator(".chart-page")).to_have_attribute("data-path-hops", "4")
    on_path = page.evaluate("() => window.ofastUI.cy.$('.on-path').nodes().map(n => n.id())")
    assert set(on_path) == {karim, phone, stub_id, account, samia}
    page.wait_for_timeout(400)  # the fit animation
    shot(page, "link-chart-path")

    # Exports: PNG of the canvas and GraphML of what is on the chart.
    with page.expect_download() as png:
        page.click("#btn-png")
    assert png.value.suggested_filename == "link-chart.png"
    with page.expect_download() as graphml:
        page.click("#btn-graphml")
    text = Path(graphml.value.path()).read_text()
    assert "<graphml" in text and karim in text and "Dmitri" not in text and "Volkov" not in text

    # Filter by type: hiding phones hides the phone node.
    page.locator("#type-filters input[data-type='Phone']").uncheck()
    assert page.evaluate("id => window.ofastUI.cy.getElementById(id).hasClass('filtered')", phone)


def test_police_sees_customs_restricted_person_as_hatched_stub(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    phone = world.ids["phone"]
    stub_id = world.ids["douane:UI-D-1"]
    page.goto(f"/ui/#/chart/{phone}")
    page.wait_for_function("id => window.ofastUI?.cy?.getElementById(id).nonempty()", arg=stub_id)
    data = page.evaluate("""id => { const n = window.ofastUI.cy.getElementById(id);
        return {redacted: n.data('redacted'), label: n.data('label'), owner: n.data('owner_agency'),
                contact: n.data('contact'), image: n.style('background-image'), border: n.style('border-style'),
                props: n.data('raw').properties || null}; }""", stub_id)
    assert data["redacted"] is True
    assert data["owner"] == "douane" and "douane" in data["label"]
    assert "DNRED" in data["contact"]
    assert data["border"] == "dashed" and "svg" in data["image"]  # the hatch pattern
    assert data["props"] is None  # the API gave no values, the UI has none
    assert "Volkov" not in page.content() and "Dmitri" not in page.content()
    # Hovering shows whom to contact.
    page.mouse.move(*node_xy(page, stub_id))
    expect(page.locator("#tooltip")).to_be_visible()
    expect(page.locator("#tooltip")).to_contain_text("DNRED")
    shot(page, "link-chart-stub")
    # Customs sees its own suspect in full.
    customs = new_page("douane", "investigator")
    customs.goto(f"/ui/#/entity/{stub_id}")
    expect(customs.locator(".entity-head h1")).to_contain_text("Dmitri Volkov")


def test_target_manager_validates_a_proposal_and_analyst_sees_no_buttons(world: World, new_page: Any) -> None:
    manager = new_page("ofast", "target_manager", unit="OFAST-EM")
    manager.click("#nav a[data-view='targets']")
    manager.select_option("#f-status", "proposed")
    manager.click(".filters-form button[type='submit']")
    row = manager.locator(f"tr.target-row[data-id='{world.target_id}']")
    expect(row).to_contain_text("Réseau des Calanques")
    shot(manager, "targets")
    row.locator("a.open-target").click()
    expect(manager.locator("#target-page")).to_have_attribute("data-status", "proposed")
    expect(manager.locator("#history")).to_contain_text("proposal")
    expect(manager.locator("#evidence")).to_contain_text("cases")
    manager.click("button.wf-active")
    manager.fill("#form-active textarea[name='reason']", "Validated at the weekly OFAST board")
    manager.select_option("#form-active select[name='lead_agency']", "police")
    manager.fill("#form-active input[name='lead_unit']", "OFAST-Marseille")
    sent: list[tuple[str, str, str | None]] = []
    manager.on("request", lambda req: sent.append((req.method, req.url, req.headers.get("x-neo4j-bookmark"))))
    manager.click("#form-active button[type='submit']")
    expect(manager.locator("#target-page")).to_have_attribute("data-status", "active")
    expect(manager.locator("#history")).to_contain_text("Validated at the weekly OFAST board")
    # The transition's bookmark is kept by the tab and sent with the reads that follow (read-your-writes).
    kept = manager.evaluate("() => JSON.parse(sessionStorage.getItem('ofast-graph.bookmarks') || '[]')")
    assert len(kept) == 1, kept
    posted = next(i for i, (method, url, _) in enumerate(sent) if method == "POST" and "/transitions" in url)
    assert any(method == "GET" and bookmark == kept[0] for method, _, bookmark in sent[posted + 1:]), sent
    expect(manager.locator("button.wf-suspended")).to_be_visible()
    expect(manager.locator("#evidence")).to_contain_text("cases")
    shot(manager, "target-validated")

    analyst = new_page("ofast", "analyst")
    analyst.goto(f"/ui/#/targets/{world.target_id}")
    expect(analyst.locator("#target-page")).to_have_attribute("data-status", "active")
    expect(analyst.locator("#history")).to_contain_text("Validated")
    assert analyst.locator("#workflow").count() == 0
    assert analyst.locator("button.wf").count() == 0
    expect(analyst.locator("#evidence")).to_contain_text("cases")
    # The target's patrimony, as on its entity's page.
    expect(analyst.locator("#patrimony h2")).to_contain_text("asset")
    shot(analyst, "target-analyst")

    # The central agency's analysts open the year's threat assessment from the dashboard.
    analyst.click("#nav a[data-view='dashboard']")
    expect(analyst.locator("#dashboard")).to_have_attribute("data-ready", "1")
    with analyst.expect_popup() as popup:
        analyst.click("#open-threat-report")
    report = popup.value
    expect(report.locator("h1")).to_contain_text("Threat assessment")
    assert report.locator("svg").count() >= 10
    shot(report, "threat-assessment", full_page=True)
    # Its totals for the demo's year are those of the endpoint it builds on.
    year = int(report.locator("h1").inner_text().split()[-1])
    totals = httpx.get(f"{world.service.url}/v1/dashboard/threat", timeout=30,
                       params={"since": f"{year}-01-01", "until": f"{year}-12-31"},
                       headers=bearer(world.token("ofast", "analyst"))).json()["totals"]
    html = report.content()
    assert report_row(html, "Seizures")[0] == str(totals["seizures"])
    assert report_row(html, "Networks known")[0] != "0"


def test_patrimony_tree_of_a_demo_network(world: World, new_page: Any) -> None:
    """The demo network holding the most assets, as OFAST sees it: one tree leaf per asset the API
    lists, the totals of the API, the chain's companies and members as branches."""
    analyst = bearer(world.token("ofast", "analyst"))
    groups = httpx.get(f"{world.service.url}/v1/assets/recovery", params={"group_by": "network"}, headers=analyst,
                       timeout=30).json()["groups"]
    network = max((g for g in groups if g["group"]), key=lambda g: g["count"])["group"]
    api = httpx.get(f"{world.service.url}/v1/entities/{network}/patrimony", params={"max_depth": 3, "limit": 200},
                    headers={**analyst, "X-Purpose": "ui test"}, timeout=30).json()
    assert api["assets"]
    page = new_page("ofast", "analyst")
    page.goto(f"/ui/#/entity/{network}")
    expect(page.locator("#patrimony-tree")).to_be_visible()
    assert page.locator("li.patrimony-asset").count() == len(api["assets"])
    expect(page.locator("#patrimony h2")).to_contain_text(f"({api['total']} asset")
    seized = api["totals"]["seized"]
    expect(page.locator("#patrimony")).to_contain_text(f"{seized['count']} · ")
    if any(len(a["via"]) > 2 for a in api["assets"]):  # held through a member or a company
        assert page.locator("li.patrimony-via").count() > 0
    shot(page, "patrimony")


def test_transfers_are_drawn_as_wide_as_their_amounts(world: World, new_page: Any, driver: neo4j.Driver) -> None:
    """The link chart around the demo account with the most transfers: every TRANSFERRED link is a
    money edge labelled with its amount, and a larger amount is drawn wider."""
    account = driver.execute_query(
        "MATCH (a:BankAccount)-[t:TRANSFERRED]-() RETURN a.id AS id, count(t) AS n ORDER BY n DESC, id LIMIT 1",
        database_="neo4j").records[0]["id"]
    page = new_page("ofast", "analyst")
    page.goto(f"/ui/#/chart/{account}")
    page.wait_for_function("() => window.ofastUI?.cy?.edges('[type = \"TRANSFERRED\"]').length > 0")
    money = page.evaluate("""() => window.ofastUI.cy.edges('[type = "TRANSFERRED"]').map((e) => ({
        amount: e.data('raw').properties.amount_eur, width: parseFloat(e.style('width')),
        label: e.data('money_label') }))""")
    assert money and all(m["label"] and "€" in m["label"] for m in money), money
    ordered = sorted(money, key=lambda m: m["amount"])
    assert ordered[0]["amount"] == ordered[-1]["amount"] or ordered[0]["width"] < ordered[-1]["width"], ordered
    shot(page, "money-flows")


def test_map_shows_the_demo_deal_points(world: World, new_page: Any) -> None:
    page = new_page("ofast", "analyst")
    page.click("#nav a[data-view='map']")
    expect(page.locator("#map-page")).to_have_attribute("data-ready", "1")
    assert world.deal_points > 10
    expect(page.locator("#map-page")).to_have_attribute("data-points", str(world.deal_points))
    assert page.locator("path.deal-point").count() == world.deal_points
    assert page.locator("path.leaflet-interactive").count() > world.deal_points + 90  # + 96 départements
    expect(page.locator("#map-count")).to_contain_text(f"{world.deal_points} deal point")
    shot(page, "map")
    page.locator("path.deal-point").first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("INSEE")
    # A police officer sees fewer points placed, and the others counted with whom to call.
    police = new_page("police", "investigator")
    police.goto("/ui/#/map")
    expect(police.locator("#map-page")).to_have_attribute("data-ready", "1")
    shown = int(police.locator("#map-page").get_attribute("data-points") or 0)
    assert 0 < shown < world.deal_points
    expect(police.locator("#map-side")).to_contain_text("Restricted deal points of other services")


def test_dashboard_lookup_and_alerts(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator", unit="OFAST-Marseille")
    page.click("#nav a[data-view='dashboard']")
    expect(page.locator("#dashboard")).to_have_attribute("data-ready", "1")
    expect(page.locator(".tile").first).to_contain_text("Seizures")
    assert page.locator("#threat-report").count() == 0  # the threat assessment is the central agency's
    for canvas in ("chart-seizures-month", "chart-seizures-drug", "chart-assets", "chart-networks"):
        assert page.evaluate(f"() => !!window.Chart.getChart('{canvas}')"), canvas
    shot(page, "dashboard", full_page=True)

    page.click("#nav a[data-view='lookup']")
    page.select_option("#lookup-type", "Phone")
    page.fill("#lookup-value", "+33 6 99 88 77 66")
    page.click("#lookup-value ~ button[type='submit']")
    expect(page.locator(".hit-box .verdict")).to_have_text("HIT")
    expect(page.locator("tr.holder", has_text="douane")).to_contain_text("DNRED")
    shot(page, "lookup")
    page.fill("#lookup-value", "06 00 00 00 01")
    page.click("#lookup-value ~ button[type='submit']")
    expect(page.locator(".hit-box .verdict")).to_have_text("NO HIT")

    # An investigator proposes a person for the priority target list; OFAST will decide.
    page.goto(f"/ui/#/entity/{world.ids['police:UI-P-2']}")
    page.click("#propose summary")
    page.fill("#propose textarea[name='justification']", "Holds the account the customs suspect uses")
    page.click("#propose-submit")
    expect(page.locator("#target-page")).to_have_attribute("data-status", "proposed")
    expect(page.locator("#target-page")).to_contain_text("Samia Belhadj")
    assert page.locator("#workflow").count() == 0  # an investigator proposes; only OFAST's managers decide

    # Alerts come grouped by entity, other service and kind; a group opens onto its alerts.
    page.click("#nav a[data-view='alerts']")
    group = page.locator("tr.alert-group[data-kind='shared_identifier'][data-agency='douane']").first
    expect(group).to_contain_text("DNRED")
    entity = group.get_attribute("data-entity")
    group.locator("button.open-group").click()
    shared = page.locator("tr.group-detail:not([hidden]) tr.alert-row").first
    expect(shared).to_contain_text("shared_identifier")
    expect(shared.locator("a.open-identifier")).to_be_visible()
    alert_id = shared.get_attribute("data-id")
    shot(page, "alerts")
    shared.locator("button.ack").click()
    expect(page.locator(f"tr.alert-row.acknowledged[data-id='{alert_id}']")).to_have_count(1)
    page.reload()
    expect(page.locator("#alert-groups, #no-alerts").first).to_be_visible()
    same = page.locator(f"tr.alert-group[data-kind='shared_identifier'][data-agency='douane'][data-entity='{entity}']")
    if same.count():  # the group had other pending alerts: the acknowledged one is no longer among them
        same.locator("button.open-group").click()
        expect(page.locator("tr.group-detail:not([hidden]) tr.alert-row").first).to_be_visible()
    expect(page.locator(f"tr.alert-row[data-id='{alert_id}']")).to_have_count(0)


def test_judge_a_possible_match_from_the_alerts_list(world: World, new_page: Any) -> None:
    """Customs pushes a namesake of police's Samia Belhadj holding her account: police's alerts list
    shows the possible match under her name, its badge goes up live, and judging it from the list
    records the verdict and acknowledges the alert."""
    police_token = world.token("police", "investigator", unit="OFAST-Marseille")
    page = new_page("police", "investigator", unit="OFAST-Marseille")
    page.click("#nav a[data-view='alerts']")
    expect(page.locator("#alert-groups, #no-alerts").first).to_be_visible()
    with httpx.Client(base_url=world.service.url, timeout=60) as api:
        before = api.get("/v1/alerts", params={"acknowledged": False}, headers=bearer(police_token)).json()["total"]
        expect(page.locator("#alert-count")).to_have_attribute("data-live", "1")
        _ingest(api, world.settings, "douane", {"entities": [
            {"type": "Person", "ref": "UI-D-9", "sharing": "restricted",
             "properties": {"first_name": "Samia", "last_name": "Belhadj"}},
            {"type": "BankAccount", "ref": "FR7630004000312345678901429"}], "links": [
            {"type": "HOLDS", "from": {"type": "Person", "ref": "UI-D-9"},
             "to": {"type": "BankAccount", "ref": "FR7630004000312345678901429"}}]})
        after = api.get("/v1/alerts", params={"acknowledged": False}, headers=bearer(police_token)).json()
        assert after["total"] > before
        # The header's count follows without a reload (server-sent events).
        expect(page.locator("#alert-count")).to_have_text(str(after["total"]))
        page.reload()
        group = page.locator("tr.alert-group[data-kind='possible_match'][data-agency='douane']",
                             has_text="Samia Belhadj")
        expect(group).to_have_count(1)
        group.locator("button.open-group").click()
        row = page.locator("tr.group-detail:not([hidden]) tr.alert-row[data-kind='possible_match']").first
        alert_id = row.get_attribute("data-id")
        shot(page, "alerts-triage")
        row.locator("button.verdict-same").click()
        expect(row).to_contain_text("judged: same")
        alert = next(a for a in api.get("/v1/alerts", params={"kind": "possible_match", "limit": 500},
                                        headers=bearer(police_token)).json()["items"] if a["id"] == alert_id)
        assert alert["acknowledged"] is True
        match = api.get(f"/v1/matches/{alert['match_id']}", headers=bearer(police_token)).json()
        assert match["status"] == "same", match
        pending = api.get("/v1/alerts", params={"acknowledged": False}, headers=bearer(police_token)).json()["total"]
        expect(page.locator("#alert-count")).to_have_text(str(pending))
