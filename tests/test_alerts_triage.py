"""Alert triage on a real Neo4j: the list names the caller's own entity, ranks first what touches
a priority target or an open FNOS objective of the caller's unit, filters by kind, unit and period,
groups with counts, and acknowledges in bulk what a filter selects — one agency's alerts only."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from fastapi.testclient import TestClient

from bench.process import api_env
from tests.builders import Auth, eid, person, push, uses
from tests.conftest import TEST_JWT_SECRET
from tests.live import LiveService
from tests.neo4j_server import Neo4jServer

PHONE_A = "06 11 22 33 44"
PHONE_B = "06 55 66 77 88"


@pytest.fixture
def story(client: TestClient, auth: Auth) -> dict[str, Any]:
    """Police's BRI owns Karim (phone A), its OCRTIS owns Samia (phone B) and Karim's namesake
    twin; customs and the gendarmerie use both phones, so police gets shared-identifier alerts
    from two agencies, and customs' Karim (same name, same birth date) a possible match. OCRTIS
    holds an open FNOS objective on Samia."""
    bri = auth("police", "investigator", unit="BRI")
    ocrtis = auth("police", "investigator", unit="OCRTIS")
    push(client, bri, [person("K", first_name="Karim", last_name="Zeroual", birth_date="1990-04-02")],
         [uses("K", PHONE_A)])
    push(client, ocrtis, [person("S", first_name="Samia", last_name="Belhadj")], [uses("S", PHONE_B)])
    r = client.post("/v1/objectives", json={"entity_id": eid("police", "Person", "S"), "case_ref": "PROC-7"},
                    headers=ocrtis)
    assert r.status_code == 201, r.text
    push(client, auth("douane", "investigator"),
         [person("DK", first_name="Karim", last_name="Zeroual", birth_date="1990-04-02")],
         [uses("DK", PHONE_A), uses("DK", PHONE_B)])
    push(client, auth("gendarmerie", "investigator"), [person("G1", last_name="Morel")],
         [uses("G1", PHONE_A), uses("G1", PHONE_B)])
    return {"bri": bri, "ocrtis": ocrtis, "karim": eid("police", "Person", "K"), "samia": eid("police", "Person", "S")}


def alerts(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = client.get("/v1/alerts", params={"limit": 500, **params}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_list_names_the_entity_ranks_priority_first_and_filters(
        client: TestClient, auth: Auth, story: dict[str, Any]) -> None:
    everything = alerts(client, story["ocrtis"])["items"]
    by_entity = Counter(a["entity_id"] for a in everything)
    assert by_entity[story["karim"]] >= 3 and by_entity[story["samia"]] >= 2, by_entity
    names = {a["entity_id"]: a["entity_name"] for a in everything}
    assert names[story["karim"]] == "Karim Zeroual" and names[story["samia"]] == "Samia Belhadj"
    # Samia is an open objective of OCRTIS: her alerts come first, flagged, for OCRTIS only.
    flags = [a["priority"] for a in everything]
    assert flags == sorted(flags, reverse=True) and flags.count(True) == by_entity[story["samia"]]
    assert {a["entity_id"] for a in everything if a["priority"]} == {story["samia"]}
    assert not any(a["priority"] for a in alerts(client, story["bri"])["items"])
    shared = [a for a in everything if a["kind"] == "shared_identifier"]
    assert shared and all(a["identifier_id"] for a in shared)
    match = [a for a in everything if a["kind"] == "possible_match"]
    assert [a["entity_id"] for a in match] == [story["karim"]] and match[0]["match_id"]

    kinds = alerts(client, story["ocrtis"], kind=["possible_match", "objective_overlap"])
    assert kinds["total"] == len([a for a in everything if a["kind"] in ("possible_match", "objective_overlap")])
    assert {a["kind"] for a in kinds["items"]} <= {"possible_match", "objective_overlap"}
    bri_unit = alerts(client, story["ocrtis"], unit="BRI")
    assert bri_unit["total"] == by_entity[story["karim"]]
    assert {a["entity_id"] for a in bri_unit["items"]} == {story["karim"]}
    douane = alerts(client, story["ocrtis"], counterpart_agency="douane", entity_id=story["samia"])
    assert douane["total"] >= 1 and {a["counterpart_agency"] for a in douane["items"]} == {"douane"}

    newest = max(a["created_at"] for a in everything)
    later = (dt.datetime.fromisoformat(newest) + dt.timedelta(seconds=1)).isoformat()
    assert alerts(client, story["ocrtis"], since=later)["total"] == 0
    assert alerts(client, story["ocrtis"], until=later)["total"] == len(everything)
    assert alerts(client, story["ocrtis"], since=min(a["created_at"] for a in everything))["total"] == len(everything)
    # Customs' list is its own: none of police's alerts, no name of police's entities.
    theirs = alerts(client, auth("douane", "investigator"))["items"]
    assert theirs and not {a["id"] for a in theirs} & {a["id"] for a in everything}
    assert {a["entity_name"] for a in theirs} <= {"Karim Zeroual", None}


def test_groups_count_what_the_list_holds(client: TestClient, story: dict[str, Any]) -> None:
    everything = alerts(client, story["ocrtis"])["items"]
    body = alerts(client, story["ocrtis"], group_by="entity,counterpart_agency,kind")
    assert body["items"] == [] and body["total"] == len(everything)
    expected = Counter((a["entity_id"], a["counterpart_agency"], a["kind"]) for a in everything)
    got = {(g["entity_id"], g["counterpart_agency"], g["kind"]): g for g in body["groups"]}
    assert {k: g["count"] for k, g in got.items()} == dict(expected)
    assert body["group_total"] == len(expected)
    assert all(g["pending"] == g["count"] for g in got.values())
    assert body["groups"][0]["priority"] and body["groups"][0]["entity_id"] == story["samia"]
    assert got[(story["karim"], "douane", "shared_identifier")]["entity_name"] == "Karim Zeroual"
    assert "DNRED" in got[(story["karim"], "douane", "shared_identifier")]["counterpart_contact"]
    # Fewer criteria, coarser groups; a page of groups.
    per_entity = alerts(client, story["ocrtis"], group_by="entity")
    assert {g["entity_id"]: g["count"] for g in per_entity["groups"]} == dict(
        Counter(a["entity_id"] for a in everything))
    assert all(g["kind"] is None and g["counterpart_agency"] is None for g in per_entity["groups"])
    page = alerts(client, story["ocrtis"], group_by="entity,counterpart_agency,kind", limit=1, offset=1)
    assert len(page["groups"]) == 1 and page["groups"][0] == body["groups"][1]


def test_bulk_acknowledgement_by_filter(client: TestClient, auth: Auth, story: dict[str, Any]) -> None:
    headers = story["ocrtis"]
    before = alerts(client, headers)["items"]
    group = [a for a in before if (a["entity_id"], a["counterpart_agency"], a["kind"])
             == (story["karim"], "douane", "shared_identifier")]
    douane_before = alerts(client, auth("douane", "investigator"), acknowledged=False)["total"]
    flt = {"entity_id": story["karim"], "counterpart_agency": "douane", "kind": ["shared_identifier"]}
    r = client.post("/v1/alerts/ack", json=flt, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"acknowledged": len(group)}
    assert client.post("/v1/alerts/ack", json=flt, headers=headers).json() == {"acknowledged": 0}
    pending = alerts(client, headers, acknowledged=False)["items"]
    assert {a["id"] for a in pending} == {a["id"] for a in before} - {a["id"] for a in group}
    grouped = alerts(client, headers, group_by="entity,counterpart_agency,kind")["groups"]
    acked = [g for g in grouped if (g["entity_id"], g["counterpart_agency"], g["kind"])
             == (story["karim"], "douane", "shared_identifier")]
    assert acked[0]["pending"] == 0 and acked[0]["count"] == len(group)
    # Another agency's alerts are not the caller's to acknowledge.
    assert alerts(client, auth("douane", "investigator"), acknowledged=False)["total"] == douane_before
    # A period and a kind; then by ids.
    r = client.post("/v1/alerts/ack", json={"kind": ["possible_match"], "since": "2000-01-01"}, headers=headers)
    assert r.json() == {"acknowledged": 1}
    rest = [a["id"] for a in alerts(client, headers, acknowledged=False)["items"]]
    r = client.post("/v1/alerts/ack", json={"ids": rest}, headers=headers)
    assert r.json() == {"acknowledged": len(rest)} and alerts(client, headers, acknowledged=False)["total"] == 0


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body"), ({"ids": []}, "body"), ({"kind": ["nonsense"]}, "kind"), ({"since": "yesterday"}, "since"),
    ({"colour": "red"}, "colour"), ({"ids": ["x"] * 1001}, "ids"),
])
def test_bulk_acknowledgement_refuses_bad_filters(client: TestClient, auth: Auth, body: dict[str, Any],
                                                  field: str) -> None:
    r = client.post("/v1/alerts/ack", json=body, headers=auth("police", "investigator"))
    assert r.status_code == 422, r.text
    assert field in r.text


@pytest.mark.parametrize(("params", "field"), [
    ({"group_by": "colour"}, "group_by"), ({"group_by": "entity,"}, "group_by"), ({"kind": "nonsense"}, "kind"),
    ({"since": "tomorrow"}, "since"), ({"since": "2026-03-02", "until": "2026-03-01"}, "since"),
])
def test_list_refuses_bad_parameters(client: TestClient, auth: Auth, params: dict[str, Any], field: str) -> None:
    r = client.get("/v1/alerts", params=params, headers=auth("police", "investigator"))
    assert r.status_code == 422, r.text
    assert field in r.text


def test_the_live_count_follows_new_and_acknowledged_alerts(
        neo4j_srv: Neo4jServer, graph: neo4j.Driver, auth: Auth, tmp_path: Path) -> None:
    """GET /v1/alerts/stream under uvicorn: the pending count at once, then each change — an alert
    raised by another agency's push, a bulk acknowledgement — and nothing of another agency's."""
    env = api_env(neo4j_srv.uri, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET, state_dir=str(tmp_path),
                  alert_stream_check_seconds="0.2", alert_stream_max_seconds="60")
    api = LiveService(env, log=tmp_path / "api.log")
    api.start()
    police = auth("police", "investigator")
    try:
        with httpx.Client(base_url=api.url, timeout=30) as http:
            push(http, police, [person("K", last_name="Zeroual")], [uses("K", PHONE_A)])
            with http.stream("GET", "/v1/alerts/stream", headers=police) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                counts = pending_counts(stream.iter_lines())
                assert next(counts) == 0
                # Another agency links the same phone: police's count rises without police asking.
                push(http, auth("douane", "investigator"), [person("D", last_name="Morel")], [uses("D", PHONE_A)])
                raised = next(counts)
                assert raised >= 1
                assert raised == http.get("/v1/alerts", params={"acknowledged": False},
                                          headers=police).json()["total"]
                # Customs acknowledging its own alerts changes nothing for police; police's does.
                http.post("/v1/alerts/ack", json={"since": "2000-01-01"}, headers=auth("douane", "investigator"))
                assert http.post("/v1/alerts/ack", json={"since": "2000-01-01"},
                                 headers=police).json() == {"acknowledged": raised}
                assert next(counts) == 0
        assert http_status(api.url, "/v1/alerts/stream", {}) == 401
    finally:
        api.stop()


def pending_counts(lines: Iterator[str]) -> Iterator[int]:
    """The `pending` values of the stream's events, in order."""
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "pending":
            yield int(json.loads(line.split(":", 1)[1])["pending"])


def http_status(base: str, path: str, headers: dict[str, str]) -> int:
    return httpx.get(base + path, headers=headers, timeout=10).status_code


def test_a_stream_with_no_time_left_sends_the_count_once(client: TestClient, story: dict[str, Any]) -> None:
    """The test settings close the stream at once (alert_stream_max_seconds=0): one event, the count."""
    r = client.get("/v1/alerts/stream", headers=story["ocrtis"])
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    pending = alerts(client, story["ocrtis"], acknowledged=False)["total"]
    assert pending > 0 and list(pending_counts(iter(r.text.splitlines()))) == [pending]
