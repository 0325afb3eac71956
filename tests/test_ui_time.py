"""End-to-end tests of the web UI's views of time: an entity's timeline, the link chart's time
slider, the phone page (contacts, 24 x 7 activity, handsets and SIMs, common contacts) and the
places and co-locations on the map — headless Chromium against the real service under uvicorn
and the real test Neo4j, every event pushed through POST /v1/events.

The story: the police's phone A (Karim's) calls D in January, then B and C in March from handset
H1 on the Vieux-Port cell; B is under the same cell minutes later; H1 then takes the SIM of phone
E. Customs (douane) holds a restricted call of A's that the police may only count. Each test
also writes screenshots of its view at 1280 x 720 and 1920 x 1080 to `artifacts/screenshots/`,
and checks the page never scrolls sideways at 1280 x 720.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import neo4j
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from service.access.auth import make_token
from service.core.ids import identifier_id
from service.core.settings import Settings
from tests.builders import bearer, ent, link, push
from tests.live import LiveService, ui_service
from tests.neo4j_server import Neo4jServer
from tests.test_importers import run_demo
from tests.test_ui import SHOTS, TIMEOUT_MS, browser, sign_in  # noqa: F401  (browser: the shared fixture)

SMALL = ViewportSize(width=1280, height=720)
LARGE = ViewportSize(width=1920, height=1080)
DRAWN = "kind => window.ofastUI.timelineItems.get({filter: i => i.group === kind || i.className === kind}).length"

PHONES = {k: f"+336{n}" for k, n in {"A": "11223344", "B": "22334455", "C": "33445566", "D": "44556677",
                                     "E": "55667788", "X": "99000111"}.items()}
VAN = "AB-123-CD"
CELL = {"ref": "208-10-12345-678", "operator": "SFR", "lat": 43.2965, "lon": 5.3698, "azimuth": 120}
CELL_2 = {"ref": "208-01-22222-111", "operator": "Orange", "lat": 43.3050, "lon": 5.3950, "azimuth": 240}
READER = {"ref": "LAPI-A7-PK243", "lat": 43.35, "lon": 5.35}


def luhn(body: str) -> str:
    """An IMEI: the 14 digits and their Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


H1 = luhn("35209900176148")
H2 = luhn("35391110123456")


def call(src: str, dst: str, at: str, duration: int, handset: str | None = None,
         cell: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "call", "at": at, "mode": "voice", "duration_s": duration,
                             "from": {"type": "Phone", "ref": PHONES[src]}, "to": {"type": "Phone", "ref": PHONES[dst]}}
    if handset:
        event["handset"] = handset
    if cell:
        event["cell"] = cell
    return event | extra


POLICE_EVENTS: list[dict[str, Any]] = [
    # January: A and D, never again.
    call("A", "D", "2026-01-05T10:15:00+01:00", 60, H1, CELL_2),
    call("D", "A", "2026-01-06T18:30:00+01:00", 45),
    # March: A calls B and C in the evenings from H1; B calls C; A and B under one cell minutes apart.
    call("A", "B", "2026-03-02T21:05:00+01:00", 120, H1, CELL),
    call("A", "B", "2026-03-04T21:40:00+01:00", 30, H1, CELL_2),
    call("A", "B", "2026-03-09T22:10:00+01:00", 200, H1, CELL),
    call("A", "C", "2026-03-03T09:00:00+01:00", 15, H1, CELL_2),
    call("C", "A", "2026-03-05T21:20:00+01:00", 75),
    call("A", "B", "2026-03-14T23:41:07+01:00", 74, H1, CELL, ref="REQ-2026-118/000123"),
    call("B", "C", "2026-03-14T23:55:00+01:00", 33, H2, CELL),
    call("B", "C", "2026-03-16T12:00:00+01:00", 20, H2, CELL_2),
    # H1 takes another SIM (E): a SIM change in the handset.
    call("E", "C", "2026-03-18T20:00:00+01:00", 50, H1, CELL_2),
    call("E", "B", "2026-03-20T08:30:00+01:00", 10, H1, CELL_2),
    {"kind": "plate_read", "at": "2026-03-14T22:05:00Z", "vehicle": VAN, "reader": READER},
]
# Customs' own requisition: a restricted call of A's that the police may know of, not see.
CUSTOMS_EVENTS: list[dict[str, Any]] = [
    call("A", "X", "2026-03-12T10:00:00+01:00", 90, sharing="restricted"),
]
POLICE_BATCH: dict[str, Any] = {
    "entities": [ent("Person", "UT-P-1", first_name="Karim", last_name="Zeroual", aliases=["Le Phare"]),
                 {"type": "Phone", "ref": PHONES["A"]}, {"type": "Vehicle", "ref": VAN}],
    "links": [link("USES", ("Person", "UT-P-1"), ("Phone", PHONES["A"])),
              link("USES", ("Person", "UT-P-1"), ("Vehicle", VAN))],
}


class World:
    def __init__(self, service: LiveService, settings: Settings, ids: dict[str, str]) -> None:
        self.service, self.settings, self.ids = service, settings, ids

    def token(self, agency: str, *roles: str) -> str:
        return make_token(self.settings, agency=agency, roles=list(roles), subject=f"{agency}-ui-time")

    def api(self, agency: str, path: str, **params: Any) -> Any:
        with httpx.Client(base_url=self.service.url, timeout=60) as client:
            r = client.get(path, params=params, headers=bearer(self.token(agency, "investigator")))
            assert r.status_code == 200, r.text[:500]
            return r.json()


def push_events(client: httpx.Client, settings: Settings, agency: str, events: list[dict[str, Any]]) -> None:
    token = make_token(settings, agency=agency, roles=["investigator"], subject=f"{agency}-loader")
    r = client.post("/v1/events", json={"events": events}, headers={**bearer(token), "X-Source-System": "UI-TIME"})
    assert r.status_code == 200, r.text[:1000]
    assert all(e["status"] == "created" for e in r.json()["events"])


def seed(service: LiveService, settings: Settings) -> World:
    with httpx.Client(base_url=service.url, timeout=300) as client:
        token = make_token(settings, agency="police", roles=["investigator"], subject="police-loader")
        body = push(client, {**bearer(token), "X-Source-System": "UI-TIME"}, POLICE_BATCH["entities"],
                    POLICE_BATCH["links"])
        push_events(client, settings, "police", POLICE_EVENTS)
        push_events(client, settings, "douane", CUSTOMS_EVENTS)
    ids = {k: identifier_id("Phone", v) for k, v in PHONES.items()}
    ids["person"] = next(e["id"] for e in body["entities"] if e.get("ref") == "UT-P-1")
    ids["van"] = next(e["id"] for e in body["entities"] if e.get("type") == "Vehicle")
    ids["H1"] = identifier_id("Handset", H1)
    return World(service, settings, ids)


@pytest.fixture(scope="module")
def world(neo4j_srv: Neo4jServer, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with ui_service(neo4j_srv, driver, tmp_path_factory.mktemp("ui-time-state")) as (service, settings):
        yield seed(service, settings)


@pytest.fixture
def new_page(browser: Browser, world: World) -> Iterator[Any]:  # noqa: F811
    pages: list[Page] = []
    problems: list[str] = []

    def make(agency: str, *roles: str) -> Page:
        context = browser.new_context(viewport=SMALL, base_url=world.service.url)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
        # Nothing may leave for another host: every request goes to the service itself.
        page.on("request", lambda req: problems.append(f"outside request: {req.url}")
                if not req.url.startswith((world.service.url, "data:", "blob:")) else None)
        sign_in(page, world.token(agency, *roles))
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()
    assert not problems, problems


def shots(page: Page, name: str) -> None:
    """The view at 1280 x 720 (where nothing may overflow sideways), then at 1920 x 1080."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name}: horizontal scroll at 1280 x 720 ({widths})"
    page.screenshot(path=str(SHOTS / f"{name}-1280x720.png"))
    page.set_viewport_size(LARGE)
    page.wait_for_timeout(300)  # charts and maps follow the resize
    page.screenshot(path=str(SHOTS / f"{name}-1920x1080.png"))
    page.set_viewport_size(SMALL)


def test_timeline_shows_the_phones_calls_and_its_sim_change(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    page.goto(f"/ui/#/entity/{world.ids['A']}")
    page.click("#open-timeline")
    expect(page.locator("#timeline-page")).to_have_attribute("data-ready", "1")
    api = world.api("police", f"/v1/entities/{world.ids['A']}/timeline", limit=500)
    calls = [e for e in api["items"] if e["kind"] == "call"]
    assert len(calls) == 8  # the calls of A the police hold, not the customs one
    expect(page.locator("tr.event-row[data-kind='call']")).to_have_count(len(calls))
    assert page.evaluate(DRAWN, "call") == len(calls)
    expect(page.locator(".vis-item.ev-call").first).to_be_attached()
    # H1 carried A's SIM, then E's: a SIM change, in the list and on the timeline's handset row.
    expect(page.locator("#sim-changes .sim-change").first).to_contain_text("SIM change in handset")
    expect(page.locator("#sim-changes")).to_contain_text(PHONES["E"])
    assert page.evaluate(DRAWN, "ev-sim-change") >= 1
    # An event opens its detail, from the keyboard as well.
    row = page.locator(f"tr.event-row[data-id='{calls[0]['id']}'] button")
    page.keyboard.press("Shift")  # keyboard use, so focus shows (:focus-visible)
    row.focus()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#event-detail")).to_have_attribute("data-id", calls[0]["id"])
    expect(page.locator("#event-detail")).to_contain_text(calls[0]["to"]["value"])
    shots(page, "timeline")


def test_police_see_a_customs_restricted_call_only_as_a_count_with_whom_to_call(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    page.goto(f"/ui/#/timeline/{world.ids['A']}")
    expect(page.locator("#timeline-page")).to_have_attribute("data-ready", "1")
    withheld = page.locator("#withheld .withheld-row[data-agency='douane']")
    expect(withheld).to_have_attribute("data-count", "1")
    expect(withheld).to_contain_text("DNRED")
    # Nothing of it is drawn: no item, no time, no counterpart number.
    assert "99000111" not in page.content()
    drawn = page.evaluate("() => window.ofastUI.timelineItems.getIds()")
    events = [i for i in drawn if not str(i).startswith(("swap:", "change:"))]
    assert len(events) == int(page.locator("#timeline-page").get_attribute("data-items") or 0) == 8
    # Customs see their call in full.
    customs = new_page("douane", "investigator")
    customs.goto(f"/ui/#/timeline/{world.ids['A']}")
    expect(customs.locator("#timeline-page")).to_have_attribute("data-ready", "1")
    expect(customs.locator("tr.event-row")).to_have_count(1)
    expect(customs.locator("tr.event-row")).to_contain_text(PHONES["X"])


def test_time_slider_removes_links_outside_the_window(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    a, d, b = world.ids["A"], world.ids["D"], world.ids["B"]
    page.goto(f"/ui/#/chart/{a}")
    page.wait_for_function("([a, d]) => window.ofastUI?.cy?.edges().some(e => "
                           "[e.data('source'), e.data('target')].includes(d))", arg=[a, d])
    edges_to = """([a, other]) => window.ofastUI.cy.edges().filter(e => {
        const ends = [e.data('source'), e.data('target')]; return ends.includes(a) && ends.includes(other); }).length"""
    assert page.evaluate(edges_to, [a, b]) >= 1
    # Move the window's start past January (A-D's only calls): that link leaves, A-B stays.
    page.locator("#slider-from").fill("500")
    expect(page.locator("#time-slider")).not_to_have_attribute("data-since", "")
    since = page.locator("#time-slider").get_attribute("data-since") or ""
    assert "2026-01-07" < since < "2026-03-01", since
    page.wait_for_function(f"([a, d]) => ({edges_to})([a, d]) === 0", arg=[a, d])
    assert page.evaluate(edges_to, [a, b]) >= 1
    expect(page.locator(".chart-page")).to_have_attribute("data-window", f"{since}/")
    # Step the window's end back to before March: A-B leaves too; "All time" brings both back.
    for _ in range(8):
        page.click("#btn-step-back")
    page.wait_for_function(f"([a, b]) => ({edges_to})([a, b]) === 0", arg=[a, b])
    shots(page, "link-chart-time-slider")
    page.click("#btn-all-time")
    page.wait_for_function(f"([a, d]) => ({edges_to})([a, d]) >= 1", arg=[a, d])
    # Play runs the window forward to the end, where every link is back.
    page.locator("#slider-to").fill("100")
    page.click("#btn-play")
    expect(page.locator("#btn-play")).to_contain_text("Play", timeout=60_000)
    page.wait_for_function(f"([a, b]) => ({edges_to})([a, b]) >= 1", arg=[a, b])


def test_phone_page_numbers_are_the_apis(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    a = world.ids["A"]
    page.goto(f"/ui/#/phone/{a}")
    contacts = world.api("police", "/v1/analytics/contacts", phone=a, limit=20)["contacts"]
    assert [c["phone"]["value"] for c in contacts[:2]] == [PHONES["B"], PHONES["C"]]
    rows = page.locator("tr.contact-row")
    expect(rows).to_have_count(len(contacts))
    for i, c in enumerate(contacts):
        expect(rows.nth(i)).to_have_attribute("data-id", c["phone"]["id"])
        expect(rows.nth(i)).to_have_attribute("data-calls", str(c["calls"]))
        expect(rows.nth(i)).to_have_attribute("data-duration", str(c["duration_s"]))
        expect(rows.nth(i).locator("td.calls")).to_have_text(str(c["calls"]))
    assert page.evaluate("() => window.Chart.getChart('chart-contacts').data.datasets[0].data") == \
        [c["calls"] for c in contacts[:10]]
    expect(page.locator("#contacts-withheld .withheld-row[data-agency='douane']")).to_contain_text("DNRED")
    expect(page.locator("#contacts-withheld")).to_contain_text("1 call")

    activity = world.api("police", "/v1/analytics/activity", id=a)
    expect(page.locator("td.heat-cell")).to_have_count(7 * 24)
    shown = page.evaluate("""() => { const g = [...Array(7)].map(() => Array(24).fill(0));
        for (const td of document.querySelectorAll('td.heat-cell')) {
            g[+td.dataset.day][+td.dataset.hour] = +td.dataset.count; }
        return g; }""")
    assert shown == activity["by_weekday_hour"]
    assert sum(map(sum, shown)) == activity["total"] > 0

    expect(page.locator("tr.swap-row").first).to_be_visible()
    expect(page.locator("#swaps .sim-change").first).to_contain_text(PHONES["E"])

    # Common contacts: tick B in the table, ask; C is the one both call.
    rows.nth(0).locator("input.pick").check()
    page.click("#btn-common")
    common = world.api("police", "/v1/analytics/common-contacts", phones=f"{a},{world.ids['B']}")["contacts"]
    assert common and common[0]["phone"]["id"] == world.ids["C"]
    expect(page.locator("tr.common-row")).to_have_count(len(common))
    expect(page.locator("tr.common-row").first).to_contain_text(PHONES["C"])
    shots(page, "phone")


def test_map_draws_the_cells_readers_and_co_locations(world: World, new_page: Any) -> None:
    page = new_page("police", "investigator")
    a = world.ids["A"]
    page.goto(f"/ui/#/phone/{a}")
    page.click("#open-colocation")
    expect(page.locator("#map-page")).to_have_attribute("data-ready", "1")
    found = world.api("police", "/v1/analytics/co-location", id=a, window_minutes=30)["items"]
    placed = [i for i in found if i["place"]]
    assert any(i["other"]["id"] == world.ids["B"] for i in placed)
    expect(page.locator("#map-page")).to_have_attribute("data-colocations", str(len(found)))
    assert page.locator("path.colocation").count() == len(placed)
    assert page.locator("path.cell-site").count() == 2  # A's two cells
    assert page.locator("path.cell-sector").count() == 2  # each with its antenna's bearing
    expect(page.locator("#colocation tr.coloc-row").first).to_contain_text(PHONES["B"])
    # The overseas départements sit in their insets.
    expect(page.locator(".map-inset")).to_have_count(5)
    shots(page, "map-co-location")
    # A vehicle's plate reads: the reader is drawn.
    page.goto(f"/ui/#/map?id={world.ids['van']}")
    expect(page.locator("#map-page")).to_have_attribute("data-ready", "1")
    expect(page.locator("#map-page")).to_have_attribute("data-places", "1")
    assert page.locator("path.plate-reader").count() == 1


def test_the_demo_heads_phone_shows_its_calls_and_sim_changes(world: World, new_page: Any, driver: neo4j.Driver,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`ofast-graph demo-data` (the README's demo) gives the head of a scene a handset that took
    three SIMs: its timeline draws the calls the API returns and the SIM changes. Last in this
    module: it adds the demo's scenes to the story's graph."""
    [(code, summary, stderr)] = run_demo(monkeypatch, world.service.url)
    assert code == 0 and summary is not None and summary["refused"] == [], stderr[-2000:]
    with driver.session() as session:
        head = session.run(
            "MATCH (e:Call) WHERE e.handset_id IS NOT NULL AND coalesce(e.source_system, '') <> 'UI-TIME' "
            "WITH e.handset_id AS h, e.owner_agency AS agency, collect(DISTINCT e.from_id) AS phones "
            "WHERE size(phones) = 3 RETURN agency, phones[0] AS phone ORDER BY h LIMIT 1").single()
    assert head is not None, "the demo has no handset with three SIMs"
    page = new_page(head["agency"], "investigator")
    page.goto(f"/ui/#/timeline/{head['phone']}")
    expect(page.locator("#timeline-page")).to_have_attribute("data-ready", "1")
    api = world.api(head["agency"], f"/v1/entities/{head['phone']}/timeline", limit=500)
    assert api["items"] and page.locator("#timeline-page").get_attribute("data-items") == str(len(api["items"]))
    assert page.evaluate(DRAWN, "call") == sum(1 for e in api["items"] if e["kind"] == "call")
    expect(page.locator("#sim-changes .sim-change").first).to_contain_text("SIM change in handset")
    assert int(page.locator("#timeline-page").get_attribute("data-sim-changes") or 0) >= 1
    shots(page, "timeline-demo")
