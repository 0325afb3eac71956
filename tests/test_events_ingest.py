"""POST /v1/events on a real Neo4j: the issue's example batch, ids and statuses, validation,
ownership, storage in UTC, the derived CALLED / TRANSFERRED links, alerts and lookups."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import neo4j
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, alerts_of, ent, push, uses
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


def test_a_wrong_imei_check_digit_is_named(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    events = [call("2026-03-14T23:41:07+01:00"), call("2026-03-14T23:42:07+01:00", handset="352099001761482")]
    r = post(client, auth("douane", "ingest"), {"events": events})
    assert r.status_code == 422, r.text
    [error] = r.json()["error"]["details"]
    assert (error["section"], error["index"], error["field"]) == ("events", 1, "handset")
    assert "check digit" in error["message"]
    assert cypher(graph, "MATCH (x) WHERE x:Node OR x:Event RETURN count(x) AS n") == [{"n": 0}]


def test_every_bad_field_is_listed_with_its_index(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    bad = copy.deepcopy(EXAMPLE["events"])
    bad[0]["cell"]["lat"] = "43.29"  # a string for a number, two levels down
    bad[0]["from"] = {"type": "Email", "ref": "x@example.fr"}  # a type calls do not take
    bad[0]["duration_s"] = True  # no boolean for an integer
    bad[1]["at"] = "2026-03-14T22:05:00"  # no offset: ambiguous
    bad[2]["amount_eur"] = "9500"
    bad[2]["to"]["ref"] = "   "
    bad.append({"kind": "fax", "at": "2026-03-14T22:05:00Z"})
    bad.append({**call("2026-03-14T23:41:07+01:00"), "mode": "pigeon", "colour": "red"})
    r = post(client, auth("douane", "ingest"), {"events": bad})
    assert r.status_code == 422, r.text
    found = {(e["index"], e["field"]) for e in r.json()["error"]["details"]}
    assert found == {(0, "cell.lat"), (0, "from.type"), (0, "duration_s"), (1, "at"), (2, "amount_eur"),
                     (2, "to.ref"), (3, "kind"), (4, "mode"), (4, "colour")}
    assert cypher(graph, "MATCH (x) WHERE x:Node OR x:Event RETURN count(x) AS n") == [{"n": 0}]


def test_limits_and_rights(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    limit = client.app.state.settings.max_batch_items  # type: ignore[attr-defined]
    r = post(client, auth("douane", "ingest"), {"events": [call("2026-03-14T23:41:07Z")] * (limit + 1)})
    assert r.status_code == 413 and str(limit) in r.json()["error"]["message"]
    assert post(client, auth("douane", "analyst"), EXAMPLE).status_code == 403
    assert post(client, {}, EXAMPLE).status_code == 401


def test_another_agencys_event_is_refused_by_its_id(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    theirs = send(client, auth("douane", "ingest"), [EXAMPLE["events"][0]])["events"][0]["id"]
    r = post(client, auth("police", "investigator"), {"events": [{**EXAMPLE["events"][0], "id": theirs}]})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"][0]["index"] == 0 and theirs in r.json()["error"]["message"]
    # Its own id is checked, never chosen.
    r = post(client, auth("police", "investigator"), {"events": [{**EXAMPLE["events"][1], "id": "made-up"}]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "id"
    assert cypher(graph, "MATCH (e:Event) RETURN e.owner_agency AS a") == [{"a": "douane"}]


def test_repeats_in_a_batch_are_one_event_and_conflicts_name_both(client: TestClient, auth: Auth,
                                                                   graph: neo4j.Driver) -> None:
    headers = auth("douane", "ingest")
    one = call("2026-03-14T23:41:07+01:00", duration_s=10)
    out = send(client, headers, [one, dict(one), call("2026-03-14T22:41:07Z", duration_s=10)])["events"]
    # The third is the first at the same instant written in UTC: the same event again.
    assert len({e["id"] for e in out}) == 1 and [e["status"] for e in out] == ["created"] * 3
    assert cypher(graph, "MATCH (e:Event) RETURN count(e) AS n") == [{"n": 1}]
    r = post(client, headers, {"events": [{**one, "ref": "R-1"}, {**one, "ref": "R-1", "duration_s": 11}]})
    assert r.status_code == 422
    [error] = r.json()["error"]["details"]
    assert error["index"] == 1 and "events[0]" in error["message"]


def test_sharing_and_codes_are_stored_and_a_change_is_an_update(client: TestClient, auth: Auth,
                                                                 graph: neo4j.Driver) -> None:
    headers = auth("douane", "ingest")
    events = [call("2026-03-01T10:00:00Z", ref="C-1", sharing="confidential", reliability="B", accuracy=2,
                   handling="H3", handling_note="not before the hearing"),
              call("2026-03-01T11:00:00Z", ref="C-2", sharing="open")]
    send(client, headers, events)
    rows = cypher(graph, "MATCH (e:Event) RETURN e.ref AS ref, e.sharing AS s, e.reliability AS r, e.accuracy AS a, "
                         "e.handling AS h, e.handling_note AS note, e.version AS v ORDER BY ref")
    assert rows == [{"ref": "C-1", "s": "confidential", "r": "B", "a": "2", "h": "H3", "note": "not before the hearing",
                     "v": 1},
                    {"ref": "C-2", "s": "open", "r": "X", "a": "4", "h": "H0", "note": None, "v": 1}]
    out = send(client, headers, [{**events[1], "sharing": "restricted"}, events[0]])["events"]
    assert [e["status"] for e in out] == ["updated", "unchanged"]
    assert cypher(graph, "MATCH (e:Event {ref: 'C-2'}) RETURN e.sharing AS s, e.version AS v") == [
        {"s": "restricted", "v": 2}]


def called(graph: neo4j.Driver) -> list[dict[str, Any]]:
    return cypher(graph, "MATCH (a)-[l:CALLED]->(b) RETURN a.value AS src, b.value AS dst, l.count AS count, "
                         "l.first AS first, l.last AS last, l.derived AS derived, l.sharing AS sharing, "
                         "l.owner_agency AS owner, l.id AS id ORDER BY src, sharing")


def test_the_called_links_follow_the_calls(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    headers = auth("douane", "ingest")
    send(client, headers, [call("2026-03-14T23:41:07+01:00"), call("2026-03-15T08:00:00+01:00"),
                           call("2026-03-15T09:00:00+01:00", src=CALLEE, dst=CALLER)])
    second = [call("2026-03-13T12:00:00Z"), call("2026-03-16T12:00:00Z"), call("2026-03-15T07:30:00Z")]
    send(client, headers, second)
    send(client, headers, second)  # a re-push counts nothing
    links = called(graph)
    assert [(k["src"], k["dst"], k["count"], k["first"], k["last"]) for k in links] == [
        (CALLER, CALLEE, 5, "2026-03-13T12:00:00Z", "2026-03-16T12:00:00Z"),
        (CALLEE, CALLER, 1, "2026-03-15T08:00:00Z", "2026-03-15T08:00:00Z"),
    ]
    assert all(k["derived"] is True and k["owner"] == "douane" and k["sharing"] == "restricted" for k in links)
    # The count is the number of stored calls of the pair: consistent with the events.
    stored_calls = cypher(graph, "MATCH (e:Call {from_id: $a, to_id: $b}) RETURN count(e) AS n",
                          a=phone_id(CALLER), b=phone_id(CALLEE))
    assert stored_calls == [{"n": 5}]
    # Confidential calls are counted apart: the aggregate never shows more than its calls.
    send(client, headers, [call("2026-03-17T12:00:00Z", sharing="confidential")])
    assert [(k["src"], k["sharing"], k["count"]) for k in called(graph)] == [
        (CALLER, "confidential", 1), (CALLER, "restricted", 5), (CALLEE, "restricted", 1)]


def test_repeated_transfers_are_separate_events(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    rent = EXAMPLE["events"][2]
    months = [{**rent, "at": f"2026-0{m}-05"} for m in (1, 2, 3)]
    out = send(client, auth("police", "investigator"), [*months, {**rent, "at": "2026-03-05T10:00:00+01:00",
                                                                  "ref": "VIR-77"}])["events"]
    assert len({e["id"] for e in out}) == 4 and {e["status"] for e in out} == {"created"}
    rows = cypher(graph, "MATCH (t:Transfer) RETURN toString(t.at) AS at, t.date_only AS d ORDER BY at")
    assert rows == [{"at": "2026-01-05T00:00:00Z", "d": True}, {"at": "2026-02-05T00:00:00Z", "d": True},
                    {"at": "2026-03-05T00:00:00Z", "d": True}, {"at": "2026-03-05T09:00:00Z", "d": None}]
    [link] = cypher(graph, "MATCH ()-[l:TRANSFERRED]->() RETURN l.count AS n, l.amount_eur AS total, l.first AS f, "
                           "l.last AS l")
    assert link == {"n": 4, "total": 38000.0, "f": "2026-01-05T00:00:00Z", "l": "2026-03-05T09:00:00Z"}


def test_paris_times_across_the_dst_changes_are_stored_in_utc(client: TestClient, auth: Auth,
                                                               graph: neo4j.Driver) -> None:
    """Europe/Paris leaves +01:00 for +02:00 at 02:00 on 29 March 2026 and comes back at 03:00 on
    25 October 2026, when 02:30 happens twice."""
    times = {"2026-03-29T01:59:00+01:00": "2026-03-29T00:59:00Z",
             "2026-03-29T03:01:00+02:00": "2026-03-29T01:01:00Z",
             "2026-10-25T02:30:00+02:00": "2026-10-25T00:30:00Z",
             "2026-10-25T02:30:00+01:00": "2026-10-25T01:30:00Z"}
    out = send(client, auth("gendarmerie", "ingest"), [call(at) for at in times])["events"]
    assert len({e["id"] for e in out}) == 4  # the two 02:30 of October are two calls
    rows = cypher(graph, "MATCH (e:Call) RETURN toString(e.at) AS at ORDER BY e.at")
    assert [r["at"] for r in rows] == sorted(times.values())
    [link] = called(graph)
    assert (link["count"], link["first"], link["last"]) == (4, "2026-03-29T00:59:00Z", "2026-10-25T01:30:00Z")


def lookup(client: TestClient, auth: Auth, agency: str, type_: str, value: str) -> dict[str, Any]:
    r = client.get("/v1/lookup", params={"type": type_, "value": value},
                   headers=auth(agency, "investigator", purpose="PROC-2026-7"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def holders(client: TestClient, auth: Auth, agency: str, type_: str, value: str) -> list[str]:
    return [h["agency"] for h in lookup(client, auth, agency, type_, value)["holders"]]


def test_a_phone_in_customs_records_that_police_holds_alerts_both(client: TestClient, auth: Auth,
                                                                  graph: neo4j.Driver) -> None:
    police, douane = auth("police", "investigator"), auth("douane", "ingest")
    push(client, police, [ent("Person", "P-1", last_name="Benali"), ent("Phone", CALLER)], [uses("P-1", CALLER)])
    send(client, douane, [EXAMPLE["events"][0]])
    [to_police] = alerts_of(client, police, "shared_identifier")
    [to_douane] = alerts_of(client, auth("douane", "investigator"), "shared_identifier")
    assert (to_police["counterpart_agency"], to_police["entity_id"]) == ("douane", ids.entity_id("police", "Person",
                                                                                                  "P-1"))
    assert (to_douane["counterpart_agency"], to_douane["entity_id"]) == ("police", phone_id(CALLER))
    # Once per (recipient, counterpart, identifier): more calls raise nothing new.
    send(client, douane, [call("2026-03-20T10:00:00Z")])
    assert len(alerts_of(client, police, "shared_identifier")) == 1
    # The other way round: events first, then another agency's link to the identifier.
    handset = "35-209900-176148-1"
    gendarmerie = auth("gendarmerie", "investigator")
    push(client, gendarmerie, [ent("Person", "G-1"), ent("Phone", CALLEE)], [uses("G-1", CALLEE)])
    assert {a["counterpart_agency"] for a in alerts_of(client, gendarmerie, "shared_identifier")} == {"douane"}
    assert holders(client, auth, "ofast", "Handset", handset) == ["douane"]


def test_confidential_events_are_no_hit_for_others(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    police = auth("police", "investigator")
    push(client, police, [ent("Person", "P-1"), ent("Vehicle", "AB-123-CD")],
         [{"type": "USES", "from": {"type": "Person", "ref": "P-1"}, "to": {"type": "Vehicle", "ref": "AB-123-CD"}}])
    read = EXAMPLE["events"][1]
    send(client, auth("douane", "ingest"), [{**read, "sharing": "confidential"}])
    assert alerts_of(client, police, "shared_identifier") == []
    assert holders(client, auth, "police", "Vehicle", "AB123CD") == ["police"]
    assert holders(client, auth, "douane", "Vehicle", "AB123CD") == ["douane", "police"]
    assert holders(client, auth, "ofast", "Vehicle", "AB123CD") == ["douane", "police"]  # the central agency
    # douane knows of police's link: it is alerted; police is not told of a confidential read.
    [to_douane] = alerts_of(client, auth("douane", "investigator"), "shared_identifier")
    assert to_douane["counterpart_agency"] == "police"
    send(client, auth("douane", "ingest"), [{**read, "at": "2026-03-15T22:05:00Z", "sharing": "restricted"}])
    assert holders(client, auth, "police", "Vehicle", "AB123CD") == ["douane", "police"]
    assert [a["counterpart_agency"] for a in alerts_of(client, police, "shared_identifier")] == ["douane"]


def test_a_plate_read_meets_an_earlier_no_hit_lookup(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    assert lookup(client, auth, "police", "Vehicle", "AB-123-CD")["hit"] is False
    send(client, auth("douane", "ingest"), [EXAMPLE["events"][1]])
    [searcher] = alerts_of(client, auth("police", "analyst"), "late_hit")
    [holder] = alerts_of(client, auth("douane", "analyst"), "late_hit")
    assert (searcher["counterpart_agency"], searcher["purpose"]) == ("douane", "PROC-2026-7")
    assert holder["counterpart_agency"] == "police"
    send(client, auth("douane", "ingest"), [{**EXAMPLE["events"][1], "at": "2026-03-16T22:05:00Z"}])
    assert len(alerts_of(client, auth("police", "analyst"), "late_hit")) == 1  # once
