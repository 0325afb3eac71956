"""POST /v1/events on a real Neo4j: the issue's example batch, ids and statuses, validation,
ownership, storage in UTC, the derived CALLED / TRANSFERRED links, alerts and lookups."""

from __future__ import annotations

from typing import Any

import httpx
import neo4j
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth
from tests.conftest import cypher

EXAMPLE: dict[str, Any] = {"events": [
    {"kind": "call", "ref": "REQ-2026-118/000123", "at": "2026-03-14T23:41:07+01:00", "duration_s": 74,
     "mode": "voice", "from": {"type": "Phone", "ref": "06 12 34 56 78"},
     "to": {"type": "Phone", "ref": "+33698765432"},
     "handset": "35-209900-176148-1",
     "cell": {"ref": "208-10-12345-678", "operator": "SFR", "lat": 43.2965, "lon": 5.3698, "azimuth": 120},
     "sharing": "restricted"},
    {"kind": "plate_read", "at": "2026-03-14T22:05:00Z", "vehicle": "AB-123-CD",
     "reader": {"ref": "LAPI-A7-PK243", "lat": 43.5, "lon": 4.9}},
    {"kind": "transfer", "at": "2026-03-15",
     "from": {"type": "BankAccount", "ref": "FR76 3000 4000 0312 3456 7890 143"},
     "to": {"type": "BankAccount", "ref": "FR7630001007941234567890185"}, "amount_eur": 9500.0, "reference": "loyer"}]}

CALLER, CALLEE = "+33612345678", "+33698765432"


def post(client: httpx.Client, headers: dict[str, str], body: Any) -> httpx.Response:
    return client.post("/v1/events", json=body, headers=headers)


def send(client: httpx.Client, headers: dict[str, str], events: list[dict[str, Any]]) -> dict[str, Any]:
    """POST one batch of events; it must be accepted."""
    r = post(client, headers, {"events": events})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def call(at: str, src: str = CALLER, dst: str = CALLEE, **fields: Any) -> dict[str, Any]:
    return {"kind": "call", "at": at, "mode": "voice", "from": {"type": "Phone", "ref": src},
            "to": {"type": "Phone", "ref": dst}, **fields}


def phone_id(value: str) -> str:
    return ids.identifier_id("Phone", value)


def stored(graph: neo4j.Driver, event_id: str) -> dict[str, Any]:
    rows = cypher(graph, "MATCH (e:Event {id: $id}) RETURN properties(e) AS p, labels(e) AS labels, "
                         "toString(e.at) AS at_text", id=event_id)
    assert len(rows) == 1
    return {**rows[0]["p"], "labels": sorted(rows[0]["labels"]), "at_text": rows[0]["at_text"]}


def test_the_example_batch_round_trips(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    out = send(client, auth("douane", "ingest"), EXAMPLE["events"])
    assert [(e["index"], e["status"]) for e in out["events"]] == [(0, "created"), (1, "created"), (2, "created")]
    assert out["batch_id"]
    call_, read, transfer = (stored(graph, e["id"]) for e in out["events"])

    assert call_["labels"] == ["Call", "Event"] and call_["kind"] == "call"
    assert call_["at_text"] == "2026-03-14T22:41:07Z"  # 23:41:07+01:00 in UTC, a Neo4j DATETIME
    assert (call_["from_id"], call_["to_id"]) == (phone_id(CALLER), phone_id(CALLEE))
    assert call_["handset_id"] == ids.identifier_id("Handset", "352099001761481")
    assert (call_["duration_s"], call_["mode"], call_["sharing"], call_["owner_agency"]) == (74, "voice", "restricted",
                                                                                          "douane")
    assert (call_["reliability"], call_["accuracy"], call_["handling"]) == ("X", "4", "H0")
    assert call_["place_ref"] == "208-10-12345-678"
    assert call_["id"] == ids.uuid5("event\x1fdouane\x1fcall\x1fref\x1fREQ-2026-118/000123")

    cell = cypher(graph, "MATCH (n:Location {id: $id}) RETURN properties(n) AS p", id=call_["place_id"])[0]["p"]
    assert (cell["kind"], cell["ref"], cell["operator"], cell["azimuth"], cell["owner_agency"]) == (
        "cell_site", "208-10-12345-678", "SFR", 120.0, "douane")
    handset = cypher(graph, "MATCH (h:Handset:Identifier) RETURN h.value AS v, h.tac AS tac")
    assert handset == [{"v": "352099001761481", "tac": "35209900"}]

    assert read["labels"] == ["Event", "PlateRead"] and read["at_text"] == "2026-03-14T22:05:00Z"
    assert read["vehicle_id"] == ids.identifier_id("Vehicle", "AB123CD") and read["place_ref"] == "LAPI-A7-PK243"
    assert transfer["at_text"] == "2026-03-15T00:00:00Z" and transfer["date_only"] is True
    assert (transfer["amount_eur"], transfer["reference"]) == (9500.0, "loyer")
    assert transfer["from_id"] == ids.identifier_id("BankAccount", "FR7630004000031234567890143")


def test_the_same_batch_twice_changes_nothing(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    headers = auth("douane", "ingest")
    first = send(client, headers, EXAMPLE["events"])
    data = "MATCH (x) WHERE x:Node OR x:Event RETURN count(x) AS n, max(x.version) AS v, max(x.updated_at) AS at"
    before = cypher(graph, data)
    again = send(client, headers, EXAMPLE["events"])
    assert [e["status"] for e in again["events"]] == ["unchanged"] * 3
    assert [e["id"] for e in again["events"]] == [e["id"] for e in first["events"]]
    assert cypher(graph, data) == before
    assert cypher(graph, "MATCH ()-[l:CALLED]->() RETURN l.count AS n") == [{"n": 1}]
