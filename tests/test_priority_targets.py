"""The national priority target list (issue 6): workflow, concurrency, history, visibility, exports.

Entities are pushed through POST /v1/ingest by their owner agencies; the workflow goes through
the API; a few arrangements the API cannot make (a review date in the past, a second policy)
are made directly. Everything runs against the real Neo4j of the test session.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
import uvicorn
import yaml
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import Settings
from service.domain.lifecycle.retention import add_months
from service.domain.targets.rules import TRANSITIONS, parse_if_match
from tests.builders import Auth, Item, bearer, eid, ent, ingest_as, link, person, uses
from tests.conftest import TokenFactory, cypher

STATUSES = ("proposed", "active", "rejected", "suspended", "neutralised", "archived")
BASE = "/v1/priority-targets"


# --- helpers -----------------------------------------------------------------------------------


def ingest(client: TestClient, auth: Auth, agency: str, entities: list[Item],
           links: list[Item] | None = None) -> dict[str, Any]:
    return ingest_as(client, auth, agency, entities, links, unit=f"{agency}-unit")


def manager(auth: Auth, agency: str = "ofast", **extra: Any) -> dict[str, str]:
    return auth(agency, "target_manager", unit="EM-OFAST", **extra)


def propose(client: TestClient, auth: Auth, entity_id: str, agency: str = "police", tier: int = 2,
            justification: str = "heads the import channel") -> dict[str, Any]:
    r = client.post(BASE, json={"entity_id": entity_id, "justification": justification, "proposed_tier": tier},
                    headers=auth(agency, "investigator", unit=f"{agency}-unit"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def move(client: TestClient, auth: Auth, target_id: str, to: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"to": to, "reason": f"decided: {to}", **body}
    if to == "active" and "lead_agency" not in payload:
        payload["lead_agency"] = "police"
    if to == "neutralised":
        payload.setdefault("neutralised_at", "2026-01-15")
        payload.setdefault("case_ref", "JIRS-MRS-2026-001")
    r = client.post(f"{BASE}/{target_id}/transitions", json=payload, headers=manager(auth))
    assert r.status_code == expect, r.text
    return dict(r.json())


PATHS: dict[str, tuple[str, ...]] = {
    "proposed": (),
    "active": ("active",),
    "rejected": ("rejected",),
    "suspended": ("active", "suspended"),
    "neutralised": ("active", "neutralised"),
    "archived": ("active", "archived"),
}


def target_in(client: TestClient, auth: Auth, entity_id: str, status: str) -> dict[str, Any]:
    entry = propose(client, auth, entity_id)
    for step in PATHS[status]:
        entry = move(client, auth, entry["id"], step)
    assert entry["status"] == status
    return entry


def history(client: TestClient, headers: dict[str, str], target_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{BASE}/{target_id}/history", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["versions"])


@pytest.fixture
def people(client: TestClient, auth: Auth) -> list[str]:
    """Forty police persons (restricted) to designate."""
    ingest(client, auth, "police", [person(f"P-{i}", first_name=f"First{i}", last_name=f"Last{i}") for i in range(40)])
    return [eid("police", "Person", f"P-{i}") for i in range(40)]


@pytest.fixture
def world(client: TestClient, auth: Auth) -> dict[str, str]:
    """A police network in Marseille with two members, cases, seizures and assets; a confidential
    douane person; a gendarmerie network in Lyon."""
    net, head, lieutenant = ("Network", "N-DZ"), ("Person", "P-HEAD"), ("Person", "P-LT")
    company = ("Company", "CO-1")
    ingest(client, auth, "police", [
        ent(*net, "open", name="DZ Mafia", kind="import_channel", territory="Marseille"),
        person("P-HEAD", first_name="Karim", last_name="Boss"),
        person("P-LT", "open", first_name="Yanis", last_name="Second"),
        ent("Case", "C-1", reference="2025/001"),
        ent("Case", "C-2", "open", reference="2025/002"),
        ent("Seizure", "S-1", "open", drug="cocaine", quantity=10.0, unit="kg"),
        ent("Seizure", "S-2", "open", drug="cocaine", quantity=5.5, unit="kg"),
        ent("Seizure", "S-3", "open", drug="cannabis_resin", quantity=100.0, unit="kg"),
        ent("Asset", "A-1", "open", kind="real_estate", value_eur=300000.0, status="seized"),
        ent("Asset", "A-2", "open", kind="cash", value_eur=50000.0, status="seized"),
        ent("Asset", "A-3", "open", kind="vehicle", value_eur=20000.0, status="identified"),
        ent("Asset", "A-4", "confidential", kind="crypto", value_eur=1000.0, status="identified"),
        ent(*company, "open", name="Front SARL"),
    ], [
        link("MEMBER_OF", head, net, "open", role="head"),
        link("MEMBER_OF", lieutenant, net, "open", role="lieutenant"),
        link("INVOLVED_IN", head, ("Case", "C-1"), "open", role="suspect"),
        link("SEIZED_FROM", ("Seizure", "S-1"), net, "open"),
        link("SEIZED_IN", ("Seizure", "S-1"), ("Case", "C-2"), "open"),
        link("SEIZED_FROM", ("Seizure", "S-2"), lieutenant, "open"),
        link("SEIZED_FROM", ("Seizure", "S-3"), net, "open"),
        link("OWNS", head, ("Asset", "A-1"), "open"),
        link("OWNS", net, ("Asset", "A-2"), "open"),
        link("CONTROLS", lieutenant, company, "open"),
        link("OWNS", company, ("Asset", "A-3"), "open"),
        link("OWNS", head, ("Asset", "A-4"), "confidential"),
    ])
    ingest(client, auth, "douane", [person("D-SECRET", "confidential", first_name="Hidden", last_name="Smuggler"),
                                    person("D-OPEN", "open", first_name="Known", last_name="Courier")])
    ingest(client, auth, "gendarmerie", [
        ent("Network", "N-LYON", "open", name="Lyon Crew", kind="retail_point", territory="Lyon"),
        person("G-1", "open", first_name="Lucas", last_name="Dealer"),
    ], [link("MEMBER_OF", ("Person", "G-1"), ("Network", "N-LYON"), "open")])
    return {
        "network": eid("police", "Network", "N-DZ"), "head": eid("police", "Person", "P-HEAD"),
        "lieutenant": eid("police", "Person", "P-LT"), "case1": eid("police", "Case", "C-1"),
        "secret": eid("douane", "Person", "D-SECRET"), "douane_open": eid("douane", "Person", "D-OPEN"),
        "lyon": eid("gendarmerie", "Network", "N-LYON"), "lyon_member": eid("gendarmerie", "Person", "G-1"),
    }


# --- units -------------------------------------------------------------------------------------


def test_review_dates_and_if_match_parsing() -> None:
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 1, 15), 12) == dt.date(2027, 1, 15)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)
    assert parse_if_match('"3"') == 3 and parse_if_match('W/"4"') == 4 and parse_if_match("5") == 5
    assert parse_if_match(None) is None and parse_if_match("*") is None


# --- proposals ---------------------------------------------------------------------------------


def test_propose_returns_201_version_1(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    r = client.post(BASE, json={"entity_id": world["network"], "justification": "import channel",
                                "proposed_tier": 1}, headers=auth("police", "investigator", unit="OFAST-MRS"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "proposed" and body["version"] == 1 and body["id"]
    assert body["proposed_tier"] == 1 and body["tier"] is None
    assert body["entity_id"] == world["network"] and body["entity"]["properties"]["name"] == "DZ Mafia"
    assert body["proposed_by"] == {"agency": "police", "unit": "OFAST-MRS", "sub": "police-user"}
    assert body["allowed_transitions"] == ["active", "rejected"]
    assert r.headers["ETag"] == '"1"'
    assert body["territories"] == ["Marseille"]


def test_propose_validation(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    inv = auth("police", "investigator")
    # not a Person or Network
    r = client.post(BASE, json={"entity_id": world["case1"], "justification": "x", "proposed_tier": 1}, headers=inv)
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_designable"
    # unknown id, and a confidential person of another agency: both simply do not exist
    for missing in ("nope", world["secret"]):
        r = client.post(BASE, json={"entity_id": missing, "justification": "x", "proposed_tier": 1}, headers=inv)
        assert r.status_code == 404, r.text
    # the owner may propose its own confidential person
    assert propose(client, auth, world["secret"], agency="douane")["entity_id"] == world["secret"]
    # bad tier, missing field, extra field
    for bad in ({"entity_id": world["head"], "justification": "x", "proposed_tier": 4},
                {"entity_id": world["head"], "proposed_tier": 1},
                {"entity_id": world["head"], "justification": "x", "proposed_tier": 1, "tier": 1}):
        assert client.post(BASE, json=bad, headers=inv).status_code == 422
    # an analyst (read only) may not propose; no token at all is 401
    r = client.post(BASE, json={"entity_id": world["head"], "justification": "x", "proposed_tier": 1},
                    headers=auth("police", "analyst"))
    assert r.status_code == 403
    anonymous = client.post(BASE, json={"entity_id": world["head"], "justification": "x", "proposed_tier": 1})
    assert anonymous.status_code == 401


def test_propose_refused_while_already_designated(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    first = target_in(client, auth, world["head"], "active")
    r = client.post(BASE, json={"entity_id": world["head"], "justification": "again", "proposed_tier": 2},
                    headers=auth("gendarmerie", "investigator"))
    assert r.status_code == 409
    assert r.json()["error"]["details"]["target_id"] == first["id"]


def test_activation_refused_when_another_entry_is_live(client: TestClient, auth: Auth,
                                                       world: dict[str, str]) -> None:
    a = propose(client, auth, world["head"])
    b = propose(client, auth, world["head"], agency="gendarmerie")  # parallel proposals are allowed
    move(client, auth, a["id"], "active")
    r = client.post(f"{BASE}/{b['id']}/transitions", json={"to": "active", "reason": "x", "lead_agency": "police"},
                    headers=manager(auth))
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_designated"
    move(client, auth, b["id"], "rejected")


# --- workflow ----------------------------------------------------------------------------------


def test_every_transition_legal_and_illegal(client: TestClient, auth: Auth, people: list[str]) -> None:
    pool = iter(people)
    checked = 0
    for start in STATUSES:
        for to in STATUSES:
            entry = target_in(client, auth, next(pool), start)
            allowed = list(TRANSITIONS[start])
            payload: dict[str, Any] = {"to": to, "reason": "check"}
            if to == "active":
                payload["lead_agency"] = "gendarmerie"
            if to == "neutralised":
                payload |= {"neutralised_at": "2026-02-01", "case_ref": "JIRS-1"}
            r = client.post(f"{BASE}/{entry['id']}/transitions", json=payload, headers=manager(auth))
            if to in allowed:
                assert r.status_code == 200, (start, to, r.text)
                body = r.json()
                assert body["status"] == to and body["version"] == entry["version"] + 1
                assert body["allowed_transitions"] == list(TRANSITIONS[to])
            else:
                assert r.status_code == 409, (start, to, r.text)
                err = r.json()["error"]
                assert err["code"] == "illegal_transition"
                assert err["details"] == {"from": start, "to": to, "allowed": allowed}
                after = client.get(f"{BASE}/{entry['id']}", headers=manager(auth)).json()
                assert after["status"] == start and after["version"] == entry["version"]
            checked += 1
    assert checked == 36


def test_activation_fields_and_review_due(client: TestClient, auth: Auth, people: list[str]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    # tier taken from the proposal; lead agency required
    e1 = propose(client, auth, people[0], tier=1)
    r = client.post(f"{BASE}/{e1['id']}/transitions", json={"to": "active", "reason": "ok"}, headers=manager(auth))
    assert r.status_code == 422 and r.json()["error"]["code"] == "lead_agency_required"
    r = client.post(f"{BASE}/{e1['id']}/transitions", json={"to": "active", "reason": "ok", "lead_agency": "cia"},
                    headers=manager(auth))
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_agency"
    active = move(client, auth, e1["id"], "active", lead_agency="douane", lead_unit="DNRED-Marseille")
    assert active["tier"] == 1 and active["lead_agency"] == "douane" and active["lead_unit"] == "DNRED-Marseille"
    assert active["review_due"] == add_months(today, 6).isoformat()
    assert active["lead_contact"].startswith("DNRED")
    # an explicit tier overrides the proposal; tiers 2 and 3 are reviewed yearly
    e2 = propose(client, auth, people[1], tier=1)
    active2 = move(client, auth, e2["id"], "active", tier=3)
    assert active2["tier"] == 3 and active2["review_due"] == add_months(today, 12).isoformat()
    # tier / lead only on activation; neutralisation needs date and case reference
    r = client.post(f"{BASE}/{e2['id']}/transitions", json={"to": "suspended", "reason": "x", "tier": 1},
                    headers=manager(auth))
    assert r.status_code == 422
    for missing in ({"neutralised_at": "2026-01-01"}, {"case_ref": "JIRS-9"}, {}):
        r = client.post(f"{BASE}/{e2['id']}/transitions", json={"to": "neutralised", "reason": "x", **missing},
                        headers=manager(auth))
        assert r.status_code == 422, missing
        assert r.json()["error"]["code"] == "neutralisation_incomplete"
    future = (today + dt.timedelta(days=3)).isoformat()
    r = client.post(f"{BASE}/{e2['id']}/transitions",
                    json={"to": "neutralised", "reason": "x", "neutralised_at": future, "case_ref": "J"},
                    headers=manager(auth))
    assert r.status_code == 422
    assert client.get(f"{BASE}/{e2['id']}", headers=manager(auth)).json()["version"] == 2
    # suspension keeps the review date, re-activation renews it, neutralisation clears it
    suspended = move(client, auth, e2["id"], "suspended")
    assert suspended["review_due"] == active2["review_due"]
    again = move(client, auth, e2["id"], "active", tier=1)
    assert again["lead_agency"] == "police" and again["review_due"] == add_months(today, 6).isoformat()
    done = move(client, auth, e2["id"], "neutralised", neutralised_at="2026-03-01", case_ref="JIRS-MRS-77")
    assert done["review_due"] is None and done["neutralised_at"] == "2026-03-01"
    assert done["neutralised_case_ref"] == "JIRS-MRS-77"


def test_review_renews_due_date(client: TestClient, auth: Auth, people: list[str], graph: neo4j.Driver) -> None:
    entry = target_in(client, auth, people[0], "active")
    cypher(graph, "MATCH (t:PriorityTarget {id: $id}) SET t.review_due = '2020-01-01'", id=entry["id"])
    r = client.post(f"{BASE}/{entry['id']}/reviews", json={"reason": "still leading", "tier": 1},
                    headers=manager(auth, If_Match='"2"'))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 3 and body["tier"] == 1 and body["status"] == "active" and not body["overdue"]
    assert body["review_due"] == add_months(dt.datetime.now(dt.UTC).date(), 6).isoformat()
    last = history(client, manager(auth), entry["id"])[-1]
    assert last["kind"] == "review" and last["previous"]["review_due"] == "2020-01-01"
    # reviews are for active entries only, and for central managers only
    move(client, auth, entry["id"], "suspended")
    r = client.post(f"{BASE}/{entry['id']}/reviews", json={"reason": "x"}, headers=manager(auth))
    assert r.status_code == 409 and r.json()["error"]["details"]["allowed"] == ["active", "archived"]
    r = client.post(f"{BASE}/{entry['id']}/reviews", json={"reason": "x"}, headers=manager(auth, "police"))
    assert r.status_code == 403


def test_role_and_agency_checks(client: TestClient, auth: Auth, people: list[str]) -> None:
    entry = propose(client, auth, people[0])
    url = f"{BASE}/{entry['id']}/transitions"
    payload = {"to": "active", "reason": "x", "lead_agency": "police"}
    # an investigator (even of the central agency), an analyst, a police target_manager: 403
    for headers in (auth("police", "investigator"), auth("ofast", "investigator"), auth("ofast", "analyst"),
                    manager(auth, "police"), manager(auth, "douane")):
        r = client.post(url, json=payload, headers=headers)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
    assert client.post(url, json=payload).status_code == 401
    assert client.get(f"{BASE}/{entry['id']}", headers=manager(auth)).json()["version"] == 1
    assert len(history(client, manager(auth), entry["id"])) == 1
    # unknown target: 404 for a manager
    assert client.post(f"{BASE}/nope/transitions", json=payload, headers=manager(auth)).status_code == 404


# --- versions and concurrency ------------------------------------------------------------------


def test_stale_if_match_is_412_and_changes_nothing(client: TestClient, auth: Auth, people: list[str]) -> None:
    entry = target_in(client, auth, people[0], "active")
    r = client.post(f"{BASE}/{entry['id']}/transitions", json={"to": "suspended", "reason": "x"},
                    headers=manager(auth, If_Match='"1"'))
    assert r.status_code == 412, r.text
    assert r.json()["error"]["details"] == {"current_version": 2, "expected_version": 1}
    assert r.headers["ETag"] == '"2"'
    after = client.get(f"{BASE}/{entry['id']}", headers=manager(auth))
    assert after.json()["status"] == "active" and after.json()["version"] == 2 and after.headers["ETag"] == '"2"'
    assert [v["version"] for v in history(client, manager(auth), entry["id"])] == [1, 2]
    # the current version goes through; a malformed one is a 400
    r = client.post(f"{BASE}/{entry['id']}/transitions", json={"to": "suspended", "reason": "x"},
                    headers=manager(auth, If_Match="2"))
    assert r.status_code == 200 and r.json()["version"] == 3
    r = client.post(f"{BASE}/{entry['id']}/transitions", json={"to": "active", "reason": "x"},
                    headers=manager(auth, If_Match="three"))
    assert r.status_code == 400


@pytest.fixture
def live_server(settings: Settings, driver: neo4j.Driver, tmp_path: Path) -> Iterator[str]:
    """The app under a real uvicorn server on 127.0.0.1 (its own event loop, driver pool and state
    folder: a journal it left behind is never replayed by the session's app into another test)."""
    own = settings.model_copy(update={"state_dir": tmp_path / "state"})
    config = uvicorn.Config(create_app(own), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_two_concurrent_managers_one_wins_nothing_lost(client: TestClient, auth: Auth, token: TokenFactory,
                                                       people: list[str], live_server: str) -> None:
    rounds = 4
    for n in range(rounds):
        entry = propose(client, auth, people[n])
        managers: dict[str, dict[str, Any]] = {
            "m-alpha": {"to": "active", "reason": "alpha activates", "lead_agency": "police", "tier": 1},
            "m-beta": {"to": "rejected", "reason": "beta rejects"},
        }
        barrier = threading.Barrier(len(managers))
        results: dict[str, httpx.Response] = {}

        def send(sub: str, body: dict[str, Any], target_id: str, barrier: threading.Barrier,
                 results: dict[str, httpx.Response]) -> None:
            headers = {**bearer(token("ofast", "target_manager", subject=sub)), "If-Match": '"1"'}
            with httpx.Client(base_url=live_server, timeout=30) as http:
                barrier.wait()
                results[sub] = http.post(f"{BASE}/{target_id}/transitions", json=body, headers=headers)

        threads = [threading.Thread(target=send, args=(sub, body, entry["id"], barrier, results))
                   for sub, body in managers.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200, 412], {k: (v.status_code, v.text) for k, v in results.items()}
        winner = next(sub for sub, r in results.items() if r.status_code == 200)
        loser = next(sub for sub, r in results.items() if r.status_code == 412)
        assert results[loser].json()["error"]["details"]["current_version"] == 2
        final = client.get(f"{BASE}/{entry['id']}", headers=manager(auth)).json()
        assert final["version"] == 2 and final["status"] == managers[winner]["to"]
        versions = history(client, manager(auth), entry["id"])
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[1]["by_sub"] == winner and versions[1]["reason"] == managers[winner]["reason"]


def test_concurrent_changes_without_if_match_are_serialised(client: TestClient, auth: Auth, token: TokenFactory,
                                                            people: list[str], live_server: str) -> None:
    """Six managers review the same entry at once, blind: all six land, one version each."""
    entry = target_in(client, auth, people[0], "active")
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def send(i: int) -> None:
        headers = bearer(token("ofast", "target_manager", subject=f"m{i}"))
        with httpx.Client(base_url=live_server, timeout=30) as http:
            barrier.wait()
            codes.append(http.post(f"{BASE}/{entry['id']}/reviews", json={"reason": f"review {i}"},
                                   headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [200] * 6
    versions = history(client, manager(auth), entry["id"])
    assert [v["version"] for v in versions] == list(range(1, 9))
    assert sorted(v["reason"] for v in versions[2:]) == [f"review {i}" for i in range(6)]
    for before, after in itertools.pairwise(versions):
        assert after["previous"] == before["values"]  # each change saw the one before it


def test_history_is_complete(client: TestClient, auth: Auth, people: list[str]) -> None:
    entry = propose(client, auth, people[0], tier=2, justification="runs the port of Marseille")
    move(client, auth, entry["id"], "active", tier=1, lead_agency="douane", lead_unit="DNRED")
    r = client.post(f"{BASE}/{entry['id']}/reviews", json={"reason": "yearly review", "lead_unit": "DNRED-2"},
                    headers=manager(auth))
    assert r.status_code == 200
    move(client, auth, entry["id"], "suspended")
    move(client, auth, entry["id"], "active")
    move(client, auth, entry["id"], "neutralised", neutralised_at="2026-04-02", case_ref="JIRS-42")
    versions = history(client, manager(auth), entry["id"])
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5, 6]
    assert [(v["transition_from"], v["transition_to"]) for v in versions] == [
        (None, "proposed"), ("proposed", "active"), ("active", "active"), ("active", "suspended"),
        ("suspended", "active"), ("active", "neutralised")]
    assert [v["kind"] for v in versions] == ["proposal", "transition", "review", "transition", "transition",
                                             "transition"]
    assert versions[0]["by_agency"] == "police" and versions[0]["by_unit"] == "police-unit"
    assert versions[0]["reason"] == "runs the port of Marseille" and versions[0]["previous"] is None
    assert all(v["by_agency"] == "ofast" and v["by_sub"] == "ofast-user" and v["by_unit"] == "EM-OFAST"
               for v in versions[1:])
    assert versions[1]["reason"] == "decided: active" and versions[2]["reason"] == "yearly review"
    ats = [dt.datetime.fromisoformat(v["at"]) for v in versions]
    assert ats == sorted(ats)
    for before, after in itertools.pairwise(versions):
        assert after["previous"] == before["values"]
        assert after["values"]["version"] == after["version"]
    assert versions[1]["previous"]["status"] == "proposed" and "tier" not in versions[1]["previous"]
    assert versions[1]["values"]["tier"] == 1 and versions[1]["values"]["lead_agency"] == "douane"
    assert versions[2]["previous"]["lead_unit"] == "DNRED" and versions[2]["values"]["lead_unit"] == "DNRED-2"
    assert versions[5]["values"]["neutralised_case_ref"] == "JIRS-42" and "review_due" not in versions[5]["values"]
    assert not any(v["redacted"] for v in versions)


def test_versions_stored_as_nodes(client: TestClient, auth: Auth, people: list[str], graph: neo4j.Driver) -> None:
    entry = target_in(client, auth, people[0], "suspended")
    rows = cypher(graph, """
        MATCH (t:PriorityTarget {id: $id})-[:HAS_VERSION]->(v:PriorityTargetVersion)
        MATCH (t)-[:DESIGNATES]->(e:Person)
        RETURN e.id AS entity, v.version AS version, v.target_id AS target ORDER BY version""", id=entry["id"])
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert {r["entity"] for r in rows} == {people[0]} and {r["target"] for r in rows} == {entry["id"]}


# --- visibility --------------------------------------------------------------------------------


def test_restricted_person_is_a_stub_to_other_agencies(client: TestClient, auth: Auth,
                                                       world: dict[str, str]) -> None:
    entry = target_in(client, auth, world["head"], "active")
    seen = {}
    for agency in ("police", "ofast", "douane", "gendarmerie"):
        r = client.get(f"{BASE}/{entry['id']}", headers=auth(agency, "analyst"))
        assert r.status_code == 200
        seen[agency] = r.json()
    for agency in ("police", "ofast"):
        entity = seen[agency]["entity"]
        assert entity["redacted"] is False and entity["properties"]["last_name"] == "Boss"
        assert seen[agency]["justification"] == "heads the import channel"
    for agency in ("douane", "gendarmerie"):
        body = seen[agency]
        assert body["entity"] == {"id": world["head"], "type": "Person", "owner_agency": "police",
                                  "contact": body["entity"]["contact"], "redacted": True, "handling": "H0",
                                  "handling_notice": "H0: for crime prevention and repression only"}
        assert "Boss" not in str(body) and "Karim" not in str(body)
        assert body["justification"] is None and body["entity_hidden"] is False
        assert body["status"] == "active" and body["lead_agency"] == "police"
        assert body["proposed_by"]["sub"] is None
        # the entry is listed for them too
        listed = client.get(BASE, headers=auth(agency, "analyst")).json()
        assert [i["id"] for i in listed["items"]] == [entry["id"]]
        assert listed["items"][0]["entity"]["redacted"] is True
        hist = history(client, auth(agency, "analyst"), entry["id"])
        assert all(v["redacted"] and v["values"] is None and v["reason"] is None for v in hist)
        assert "Boss" not in str(hist)
    # a grant lifts the stub for that agency only
    r = client.post(f"/v1/entities/{world['head']}/grants", json={"agency": "douane", "reason": "joint op"},
                    headers=auth("police", "investigator"))
    assert r.status_code == 201, r.text
    assert client.get(f"{BASE}/{entry['id']}", headers=auth("douane", "analyst")).json()["entity"]["redacted"] is False
    assert client.get(f"{BASE}/{entry['id']}", headers=auth("gendarmerie", "analyst")).json()["entity"]["redacted"]


def test_confidential_entity_is_hidden_but_entry_listed(client: TestClient, auth: Auth,
                                                        world: dict[str, str]) -> None:
    entry = propose(client, auth, world["secret"], agency="douane", justification="Smuggler of the port")
    move(client, auth, entry["id"], "active", lead_agency="douane")
    r = client.get(f"{BASE}/{entry['id']}", headers=auth("police", "analyst"))
    assert r.status_code == 200
    body = r.json()
    assert body["entity"] is None and body["entity_hidden"] is True and body["entity_id"] is None
    assert body["entity_type"] is None and body["justification"] is None
    assert body["lead_agency"] == "douane" and body["lead_contact"].startswith("DNRED")
    assert world["secret"] not in r.text and "Smuggler" not in r.text
    listed = client.get(BASE, headers=auth("police", "analyst"))
    assert [i["id"] for i in listed.json()["items"]] == [entry["id"]] and world["secret"] not in listed.text
    hist = client.get(f"{BASE}/{entry['id']}/history", headers=auth("police", "analyst"))
    assert hist.status_code == 200 and world["secret"] not in hist.text and "Smuggler" not in hist.text
    ev = client.get(f"{BASE}/{entry['id']}/evidence", headers=auth("police", "analyst")).json()
    assert ev["entity_hidden"] is True and ev["entity_id"] is None and ev["cases_total"] == 0
    csv_text = client.get(f"{BASE}/export.csv", headers=auth("police", "analyst")).text
    assert world["secret"] not in csv_text and "Smuggler" not in csv_text
    html = client.get(f"{BASE}/report.html", headers=auth("police", "analyst")).text
    assert "Smuggler" not in html and "Hidden" not in html
    # owner and central agency see it in full
    for agency in ("douane", "ofast"):
        full = client.get(f"{BASE}/{entry['id']}", headers=auth(agency, "analyst")).json()
        assert full["entity"]["properties"]["last_name"] == "Smuggler" and full["entity_hidden"] is False


def test_proposals_visible_to_central_and_proposer_only(client: TestClient, auth: Auth,
                                                        world: dict[str, str]) -> None:
    proposal = propose(client, auth, world["lieutenant"], agency="police")
    rejected = propose(client, auth, world["douane_open"], agency="douane")
    move(client, auth, rejected["id"], "rejected")

    def ids_for(agency: str) -> set[str]:
        r = client.get(BASE, headers=auth(agency, "analyst"))
        assert r.status_code == 200
        return {i["id"] for i in r.json()["items"]}

    assert ids_for("ofast") == {proposal["id"], rejected["id"]}
    assert ids_for("police") == {proposal["id"]}
    assert ids_for("douane") == {rejected["id"]}
    assert ids_for("gendarmerie") == set()
    for path in ("", "/history", "/evidence"):
        assert client.get(f"{BASE}/{proposal['id']}{path}", headers=auth("gendarmerie", "analyst")).status_code == 404
        assert client.get(f"{BASE}/{proposal['id']}{path}", headers=auth("douane", "analyst")).status_code == 404
        assert client.get(f"{BASE}/{proposal['id']}{path}", headers=auth("police", "analyst")).status_code == 200
    move(client, auth, proposal["id"], "active")
    assert proposal["id"] in ids_for("gendarmerie")


# --- list, filters, sorting --------------------------------------------------------------------


def test_filters_sort_pagination(client: TestClient, auth: Auth, world: dict[str, str], people: list[str],
                                 graph: neo4j.Driver) -> None:
    net = target_in(client, auth, world["network"], "proposed")
    net = move(client, auth, net["id"], "active", tier=1, lead_agency="police")
    lt = propose(client, auth, world["lieutenant"])
    lt = move(client, auth, lt["id"], "active", tier=2, lead_agency="gendarmerie")
    lyon = propose(client, auth, world["lyon"], agency="gendarmerie")
    lyon = move(client, auth, lyon["id"], "active", tier=3, lead_agency="gendarmerie")
    susp = target_in(client, auth, people[0], "suspended")  # tier 2 (proposed), lead police
    target_in(client, auth, people[1], "proposed")
    cypher(graph, "MATCH (t:PriorityTarget {id: $id}) SET t.review_due = '2021-06-30'", id=lt["id"])
    viewer = auth("douane", "analyst")

    def ids_of(**params: Any) -> list[str]:
        r = client.get(BASE, params=params, headers=viewer)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] >= len(body["items"])
        return [i["id"] for i in body["items"]]

    assert set(ids_of()) == {net["id"], lt["id"], lyon["id"], susp["id"]}  # douane does not see the proposal
    assert ids_of(status="suspended") == [susp["id"]]
    assert set(ids_of(tier=2)) == {lt["id"], susp["id"]}
    assert set(ids_of(lead_agency="gendarmerie")) == {lt["id"], lyon["id"]}
    # territory: the network's, or the person's networks'; case-insensitive
    assert set(ids_of(territory="marseille")) == {net["id"], lt["id"]}
    assert ids_of(territory="Lyon") == [lyon["id"]]
    assert ids_of(overdue="true") == [lt["id"]]
    assert set(ids_of(overdue="false")) == {net["id"], lyon["id"], susp["id"]}
    over = client.get(f"{BASE}/{lt['id']}", headers=viewer).json()
    assert over["overdue"] is True
    # sorting
    assert ids_of(sort="tier")[0] == net["id"] and ids_of(sort="tier")[-1] == lyon["id"]
    assert ids_of(sort="-tier")[0] == lyon["id"]
    assert ids_of(sort="review_due")[0] == lt["id"]
    assert ids_of(sort="-updated_at")[0] == susp["id"]  # the last one changed
    updated = ids_of(sort="updated_at")
    assert updated == list(reversed(ids_of(sort="-updated_at")))
    # pagination keeps the total
    all_ids = ids_of(sort="tier")
    page1 = client.get(BASE, params={"sort": "tier", "limit": 2, "offset": 0}, headers=viewer).json()
    page2 = client.get(BASE, params={"sort": "tier", "limit": 2, "offset": 2}, headers=viewer).json()
    page3 = client.get(BASE, params={"sort": "tier", "limit": 2, "offset": 4}, headers=viewer).json()
    assert page1["total"] == page2["total"] == page3["total"] == 4
    assert [i["id"] for i in page1["items"] + page2["items"]] == all_ids and page3["items"] == []
    # whitelists and bounds
    for bad in ({"sort": "justification"}, {"sort": "tier; DROP"}, {"tier": 4}, {"limit": 0}, {"limit": 501},
                {"offset": -1}, {"status": "deleted"}, {"overdue": "maybe"}):
        assert client.get(BASE, params=bad, headers=viewer).status_code == 422, bad
    # injection attempts in free-text filters are plain values
    assert ids_of(territory="' OR 1=1 //") == []
    assert ids_of(lead_agency="police' OR true //") == []


# --- evidence ----------------------------------------------------------------------------------


def test_evidence_panel(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    entry = propose(client, auth, world["network"])
    entry = move(client, auth, entry["id"], "active", tier=1)
    # a link added after activation
    ingest(client, auth, "police", [{"type": "Phone", "ref": "+33 6 12 34 56 78"}],
           [uses("P-LT", "+33 6 12 34 56 78", "open")])
    for agency in ("douane", "police"):
        r = client.get(f"{BASE}/{entry['id']}/evidence", headers=auth(agency, "analyst"))
        assert r.status_code == 200, r.text
        ev = r.json()
        assert ev["entity_id"] == world["network"] and ev["entity_type"] == "Network" and ev["statistics_count_all"]
        assert ev["cases_by_agency"] == [{"agency": "police", "cases": 2}] and ev["cases_total"] == 2
        assert ev["seizures_by_drug"] == [
            {"drug": "cannabis_resin", "unit": "kg", "seizures": 1, "quantity": 100.0},
            {"drug": "cocaine", "unit": "kg", "seizures": 2, "quantity": 15.5}]
        # the confidential asset counts (statistics_count_all) for every agency
        assert ev["assets_by_status"] == [
            {"status": "identified", "assets": 2, "value_eur": 21000.0},
            {"status": "seized", "assets": 2, "value_eur": 350000.0}]
        assert ev["network"] == {"networks": 1, "members": 2}
        new = ev["links_since_review"]
        assert new["count"] == 1 and len(new["items"]) == 1
        assert new["items"][0]["edge"]["type"] == "USES" and new["items"][0]["target"]["value"] == "+33612345678"
        assert ev["since"] == entry["last_reviewed_at"]
    # a person target: its networks and their members
    p = propose(client, auth, world["head"])
    p = move(client, auth, p["id"], "active")
    ev = client.get(f"{BASE}/{p['id']}/evidence", headers=auth("gendarmerie", "analyst")).json()
    assert ev["network"] == {"networks": 1, "members": 2}
    assert ev["cases_by_agency"] == [{"agency": "police", "cases": 1}]
    assert ev["assets_by_status"] == [{"status": "identified", "assets": 1, "value_eur": 1000.0},
                                      {"status": "seized", "assets": 1, "value_eur": 300000.0}]
    assert ev["links_since_review"]["count"] == 0
    assert client.get(f"{BASE}/nope/evidence", headers=auth("police", "analyst")).status_code == 404


def test_evidence_counts_follow_the_policy_switch(settings: Settings, auth: Auth, world: dict[str, str],
                                                  client: TestClient, tmp_path: Path) -> None:
    entry = propose(client, auth, world["head"])
    entry = move(client, auth, entry["id"], "active")
    policy = yaml.safe_load(settings.policy_file.read_text())
    policy["statistics_count_all"] = False
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    strict = settings.model_copy(update={"policy_file": policy_file})
    with TestClient(create_app(strict), raise_server_exceptions=False) as other:
        douane = other.get(f"{BASE}/{entry['id']}/evidence", headers=auth("douane", "analyst")).json()
        police = other.get(f"{BASE}/{entry['id']}/evidence", headers=auth("police", "analyst")).json()
    assert douane["statistics_count_all"] is False
    # douane: the confidential asset does not exist; the restricted case is a stub, still counted
    assert douane["assets_by_status"] == [{"status": "seized", "assets": 1, "value_eur": 300000.0}]
    assert douane["cases_by_agency"] == [{"agency": "police", "cases": 1}]
    # the owner sees its own confidential asset
    assert police["assets_by_status"] == [{"status": "identified", "assets": 1, "value_eur": 1000.0},
                                          {"status": "seized", "assets": 1, "value_eur": 300000.0}]


# --- exports -----------------------------------------------------------------------------------


def test_csv_export(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    net = propose(client, auth, world["network"], justification="=HYPERLINK(\"http://x\")")
    move(client, auth, net["id"], "active", tier=1)
    head = propose(client, auth, world["head"])
    move(client, auth, head["id"], "active", tier=2, lead_agency="gendarmerie")
    target_in(client, auth, world["lieutenant"], "proposed")
    r = client.get(f"{BASE}/export.csv", params={"sort": "tier"}, headers=auth("douane", "analyst"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == [net["id"], head["id"]]  # no proposal for douane
    assert rows[0]["entity_label"] == "DZ Mafia" and rows[0]["territories"] == "Marseille"
    assert rows[0]["justification"].startswith("'=")  # no formula injection in spreadsheets
    assert rows[1]["entity_label"] == "(restricted)" and rows[1]["entity_redacted"] == "true"
    assert rows[1]["justification"] == "" and "Boss" not in r.text
    filtered = client.get(f"{BASE}/export.csv", params={"lead_agency": "gendarmerie"},
                          headers=auth("police", "analyst"))
    rows = list(csv.DictReader(io.StringIO(filtered.text)))
    assert [row["id"] for row in rows] == [head["id"]] and rows[0]["entity_label"] == "Karim Boss"


def test_exports_refuse_another_agencys_h2_entity(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    ingest(client, auth, "douane", [person("D-H2", "open", first_name="Code", last_name="Deux", handling="H2")])
    h2 = eid("douane", "Person", "D-H2")
    target_in(client, auth, h2, "active")
    for agency in ("ofast", "police"):  # the central agency too: H2 needs the owner's consent
        for path in ("/export.csv", "/report.html"):
            r = client.get(f"{BASE}{path}", headers=auth(agency, "analyst"))
            assert r.status_code == 403, (agency, path, r.text)
            error = r.json()["error"]
            assert error["code"] == "handling_h2" and "H2" in error["message"] and error["details"]["ids"] == [h2]
        assert client.get(BASE, headers=auth(agency, "analyst")).status_code == 200  # the JSON view stays
    # the owner may export its own H2 item
    assert client.get(f"{BASE}/export.csv", headers=auth("douane", "analyst")).status_code == 200


def test_html_report(client: TestClient, auth: Auth, world: dict[str, str], people: list[str]) -> None:
    net = propose(client, auth, world["network"])
    move(client, auth, net["id"], "active", tier=1)
    lyon = propose(client, auth, world["lyon"], agency="gendarmerie", justification="<script>alert(1)</script>")
    move(client, auth, lyon["id"], "active", tier=3, lead_agency="gendarmerie")
    target_in(client, auth, people[0], "suspended")
    r = client.get(f"{BASE}/report.html", headers=auth("gendarmerie", "analyst"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 4
    assert "<script" not in html.lower() and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    for title in ("Entries by tier", "Entries by status", "Entries by lead agency", "Entries by territory"):
        assert title in html
    assert "Tier 1: 1</title>" in html and "Tier 3: 1</title>" in html and "Tier 2: 1</title>" in html
    assert "active: 2</title>" in html and "suspended: 1</title>" in html
    assert "police: 2</title>" in html and "gendarmerie: 1</title>" in html
    assert "Marseille: 1</title>" in html and "Lyon: 1</title>" in html
    assert "DZ Mafia" in html and "Lyon Crew" in html and "(restricted)" in html
    filtered = client.get(f"{BASE}/report.html", params={"tier": 3}, headers=auth("gendarmerie", "analyst")).text
    assert "Lyon Crew" in filtered and "DZ Mafia" not in filtered and "tier = 3" in filtered


# --- audit -------------------------------------------------------------------------------------


def test_every_endpoint_is_audited(client: TestClient, auth: Auth, world: dict[str, str],
                                   graph: neo4j.Driver) -> None:
    entry = propose(client, auth, world["network"])
    move(client, auth, entry["id"], "active")
    client.post(f"{BASE}/{entry['id']}/reviews", json={"reason": "r"}, headers=manager(auth))
    h = auth("douane", "analyst", purpose="threat assessment 2026")
    for path in ("", f"/{entry['id']}", f"/{entry['id']}/history", f"/{entry['id']}/evidence", "/export.csv",
                 "/report.html"):
        assert client.get(f"{BASE}{path}", headers=h).status_code == 200, path
    assert client.get(f"{BASE}/missing", headers=h).status_code == 404
    rows = cypher(graph, "MATCH (a:AuditEvent) WHERE a.action STARTS WITH 'priority_target.' "
                         "RETURN a.action AS action, a.agency AS agency, a.purpose AS purpose, "
                         "a.target_ids AS targets, a.result_count AS n ORDER BY a.seq")
    actions = [r["action"] for r in rows]
    assert actions == ["priority_target.propose", "priority_target.transition.active", "priority_target.review",
                       "priority_target.list", "priority_target.read", "priority_target.history",
                       "priority_target.evidence", "priority_target.export_csv", "priority_target.report",
                       "priority_target.read"]
    douane = [r for r in rows if r["agency"] == "douane"]
    assert all(r["purpose"] == "threat assessment 2026" for r in douane)
    assert douane[-1]["n"] == 0 and douane[-1]["targets"] == ["missing"]
    assert all(entry["id"] in r["targets"] for r in rows[:-1])


def test_designation_stays_out_of_the_data_graph(client: TestClient, auth: Auth, world: dict[str, str]) -> None:
    """DESIGNATES is a workflow link: not a schema type, never met by neighbourhood traversals."""
    from graph_schema import get_schema

    assert "DESIGNATES" not in get_schema().relationships and "HAS_VERSION" not in get_schema().relationships
    entry = target_in(client, auth, world["network"], "active")
    r = client.get(f"/v1/entities/{world['network']}/neighbourhood", params={"depth": 2},
                   headers=auth("ofast", "analyst", purpose="check"))
    assert r.status_code == 200, r.text
    assert entry["id"] not in r.text and "DESIGNATES" not in r.text and "PriorityTarget" not in r.text


def test_live_target_entity_cannot_be_deleted(client: TestClient, auth: Auth, people: list[str]) -> None:
    """The owner cannot pull the entity from under a live entry; once archived it can, and a mere
    proposal (invisible to the owner unless it proposed) holds nothing back."""
    owner = auth("police", "investigator", unit="police-unit")
    active, suspended, proposed = people[:3]
    entries = {pid: target_in(client, auth, pid, status)
               for pid, status in ((active, "active"), (suspended, "suspended"))}
    propose(client, auth, proposed, agency="gendarmerie")
    for pid, status in ((active, "active"), (suspended, "suspended")):
        r = client.delete(f"/v1/entities/{pid}", headers=owner)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "entity_designated"
        assert err["details"] == {"priority_targets": [{"id": entries[pid]["id"], "status": status}]}
        assert client.get(f"/v1/entities/{pid}", headers=owner).status_code == 200
    # The review queue's delete is an owner's delete too.
    r = client.delete(f"/v1/review-queue/{suspended}", headers=owner)
    assert r.status_code == 409 and r.json()["error"]["code"] == "entity_designated", r.text
    move(client, auth, entries[active]["id"], "archived")
    assert client.delete(f"/v1/entities/{active}", headers=owner).json()["deleted"] is True
    assert client.delete(f"/v1/entities/{proposed}", headers=owner).json()["deleted"] is True
    assert client.get(f"/v1/entities/{active}", headers=owner).status_code == 404
