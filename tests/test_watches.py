"""Watches (issue 20, item 1) on a real Neo4j: an agency watches an entity, an identifier or a
search, and another agency's writes that it may know of raise one `watch_hit` alert per watch and
item — nothing for what it may not know exists, nothing after the watch expires or is deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, alerts_of, eid, ent, ingest_as, link, person, uses
from tests.conftest import cypher

PHONE = "06 11 22 33 44"
PHONE_ID = ids.identifier_id("Phone", "+33611223344")
PURPOSE = "PROC-2026-207 réseau de la Castellane"


def _watch(client: TestClient, auth: Auth, target: dict[str, Any], agency: str = "police", **fields: Any) -> Any:
    return client.post("/v1/watches", json={"target": target, "purpose": PURPOSE, **fields},
                       headers=auth(agency, "investigator", unit=f"{agency}-unit"))


def _created(client: TestClient, auth: Auth, target: dict[str, Any], agency: str = "police",
             **fields: Any) -> dict[str, Any]:
    r = _watch(client, auth, target, agency, **fields)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _hits(client: TestClient, auth: Auth, agency: str = "police") -> list[dict[str, Any]]:
    return alerts_of(client, auth(agency, "analyst"), "watch_hit")


def _call(src: str, dst: str, at: str, sharing: str, ref: str) -> dict[str, Any]:
    return {"kind": "call", "ref": ref, "at": at, "mode": "voice", "duration_s": 30, "sharing": sharing,
            "from": {"type": "Phone", "ref": src}, "to": {"type": "Phone", "ref": dst}}


def test_phone_watch_raised_once_per_link_naming_only_owner_and_contact(client: TestClient, auth: Auth,
                                                                        graph: neo4j.Driver) -> None:
    watch = _created(client, auth, {"identifier": {"type": "Phone", "value": PHONE}})
    # Normalised as ingest normalises: the watch names the node a push of the number merges.
    assert (watch["kind"], watch["target_id"], watch["value"]) == ("identifier", PHONE_ID, "+33611223344")
    assert watch["purpose"] == PURPOSE and watch["expired"] is False and watch["unit"] == "police-unit"

    batch = ([person("DN-1", "restricted", first_name="Secret-Prénom", last_name="Secret-Nom")],
             [uses("DN-1", "+33 6 11 22 33 44", "restricted", since="2026-01-02", handling="H3",
                   handling_note="Secret-Note")])
    ingest_as(client, auth, "douane", *batch, unit="DNRED-LeHavre")
    [hit] = _hits(client, auth)
    assert hit["watch_id"] == watch["id"] and hit["entity_id"] == PHONE_ID
    assert hit["counterpart_agency"] == "douane" and hit["counterpart_contact"].startswith("DNRED")
    body = client.get("/v1/alerts", headers=auth("police", "analyst")).text
    for secret in ("Secret-Prénom", "Secret-Nom", "Secret-Note", "DN-1", "DNRED-LeHavre",
                   eid("douane", "Person", "DN-1")):
        assert secret not in body

    # The same push again, and a change to the same link: the same item, no new alert.
    ingest_as(client, auth, "douane", *batch)
    ingest_as(client, auth, "douane", batch[0], [uses("DN-1", PHONE, "open")])
    assert len(_hits(client, auth)) == 1
    # Another agency's new link is another item.
    ingest_as(client, auth, "gendarmerie", [person("GN-1", "open", first_name="Ali")], [uses("GN-1", PHONE, "open")])
    assert sorted(h["counterpart_agency"] for h in _hits(client, auth)) == ["douane", "gendarmerie"]
    # The writer's own watch is not alerted by its own agency's writes, nor is anyone without one.
    ingest_as(client, auth, "police", [person("PN-1", "open", first_name="Moi")], [uses("PN-1", PHONE, "open")])
    assert len(_hits(client, auth)) == 2
    assert _hits(client, auth, "douane") == [] and _hits(client, auth, "gendarmerie") == []


def test_confidential_link_raises_nothing(client: TestClient, auth: Auth) -> None:
    _created(client, auth, {"identifier": {"type": "Phone", "value": PHONE}})
    ingest_as(client, auth, "douane", [person("DN-1", "restricted", first_name="Yacine")],
              [uses("DN-1", PHONE, "confidential")])
    # A restricted link to a confidential person: the person's existence is not the watcher's to learn.
    ingest_as(client, auth, "gendarmerie", [person("GN-1", "confidential", first_name="Yacine")],
              [uses("GN-1", PHONE, "restricted")])
    assert _hits(client, auth) == []


def test_watch_on_a_number_not_yet_in_the_graph_and_calls_on_it(client: TestClient, auth: Auth) -> None:
    watch = _created(client, auth, {"identifier": {"type": "Phone", "value": PHONE}}, agency="gendarmerie")
    r = client.post("/v1/events", headers=auth("douane", "investigator"), json={"events": [
        _call(PHONE, "06 55 44 33 22", "2026-03-14T22:00:00Z", "restricted", "REQ-1/1"),
        _call("06 55 44 33 22", PHONE, "2026-03-14T23:00:00Z", "confidential", "REQ-1/2")]})
    assert r.status_code == 200, r.text
    restricted_call = r.json()["events"][0]["id"]
    [hit] = _hits(client, auth, "gendarmerie")
    assert (hit["watch_id"], hit["entity_id"], hit["counterpart_agency"]) == (watch["id"], PHONE_ID, "douane")
    assert restricted_call not in client.get("/v1/alerts", headers=auth("gendarmerie", "analyst")).text
    # Pushed again: the same events, nothing new.
    client.post("/v1/events", headers=auth("douane", "investigator"), json={"events": [
        _call(PHONE, "06 55 44 33 22", "2026-03-14T22:00:00Z", "restricted", "REQ-1/1")]})
    assert len(_hits(client, auth, "gendarmerie")) == 1


def test_search_watch_raised_by_a_new_matching_entity_it_could_find(client: TestClient, auth: Auth) -> None:
    watch = _created(client, auth, {"search": {"q": "karim BENALI", "type": "Person"}})
    assert (watch["kind"], watch["q"], watch["entity_type"]) == ("search", "karim BENALI", "Person")
    # A restricted person of another agency: search would not find it, nor does the watch.
    ingest_as(client, auth, "douane", [person("DN-1", "restricted", first_name="Karim", last_name="Benali")])
    # Another type, or only one of the words: no match.
    ingest_as(client, auth, "douane", [ent("Network", "DN-N", "open", name="Karim Benali"),
                                       person("DN-2", "open", first_name="Karim", last_name="Dupont")])
    assert _hits(client, auth) == []
    # Open, accents and case aside, words in any order, an alias: a match, once.
    found = ingest_as(client, auth, "gendarmerie", [person("GN-1", "open", first_name="Bénali",
                                                           last_name="Karim")])
    [hit] = _hits(client, auth)
    assert hit["watch_id"] == watch["id"] and hit["entity_id"] == found["entities"][0]["id"]
    assert hit["counterpart_agency"] == "gendarmerie"
    ingest_as(client, auth, "gendarmerie", [person("GN-1", "open", first_name="Bénali", last_name="Karim",
                                                   aliases=["KB"])])  # an update: not a new entity
    assert len(_hits(client, auth)) == 1
    ingest_as(client, auth, "douane", [person("DN-3", "open", first_name="Le", aliases=["Karim Benali"])])
    assert len(_hits(client, auth)) == 2


def test_entity_watch(client: TestClient, auth: Auth) -> None:
    ingest_as(client, auth, "douane", [person("DN-1", "restricted", first_name="Yacine"),
                                       person("DN-X", "confidential", first_name="Caché")])
    target = eid("douane", "Person", "DN-1")
    watch = _created(client, auth, {"entity_id": target})
    assert (watch["kind"], watch["target_id"], watch["entity_type"]) == ("entity", target, "Person")
    # What the caller may not know exists cannot be watched: 404, as everywhere.
    for unknown in (eid("douane", "Person", "DN-X"), eid("douane", "Person", "nobody")):
        r = _watch(client, auth, {"entity_id": unknown})
        assert r.status_code == 404, r.text
    ingest_as(client, auth, "douane", [ent("Network", "DN-N", "restricted", name="Secret-Réseau")],
              [link("MEMBER_OF", ("Person", "DN-1"), ("Network", "DN-N"), "restricted"),
               uses("DN-1", PHONE, "confidential")])
    [hit] = _hits(client, auth)
    assert (hit["watch_id"], hit["entity_id"], hit["counterpart_agency"]) == (watch["id"], target, "douane")
    assert "Secret-Réseau" not in client.get("/v1/alerts", headers=auth("police", "analyst")).text


def test_expiry(client: TestClient, auth: Auth, clock: Any) -> None:
    default = _created(client, auth, {"identifier": {"type": "Phone", "value": PHONE}})
    days = (dt.datetime.fromisoformat(default["expires_at"]) - clock.now()).days
    assert 182 <= days <= 183  # the policy's default, six months
    soon = (clock.now() + dt.timedelta(days=1)).isoformat()
    short = _created(client, auth, {"identifier": {"type": "Phone", "value": "06 99 99 99 99"}}, expires_at=soon)
    clock.advance(dt.timedelta(days=2))
    ingest_as(client, auth, "douane", [person("DN-1", "open", first_name="Yacine")],
              [uses("DN-1", "06 99 99 99 99", "open")])
    assert _hits(client, auth) == []
    listed = client.get("/v1/watches", headers=auth("police", "analyst")).json()
    assert {w["id"]: w["expired"] for w in listed["items"]} == {short["id"]: True, default["id"]: False}

    for expires_at, message in (((clock.now() - dt.timedelta(hours=1)).isoformat(), "past"),
                                ((clock.now() + dt.timedelta(days=400)).isoformat(), "366 days"),
                                ("2030-01-01T00:00:00", "time zone")):
        r = _watch(client, auth, {"identifier": {"type": "Phone", "value": PHONE}}, expires_at=expires_at)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"] == {"field": "expires_at"} and message in r.json()["error"]["message"]


def test_list_delete_and_other_agencies(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    watches = [_created(client, auth, {"identifier": {"type": "Phone", "value": f"06 11 22 33 4{k}"}})
               for k in range(3)]
    page = client.get("/v1/watches", params={"limit": 2}, headers=auth("police", "analyst")).json()
    assert page["total"] == 3 and [w["id"] for w in page["items"]] == [w["id"] for w in watches[::-1][:2]]
    rest = client.get("/v1/watches", params={"limit": 2, "offset": 2}, headers=auth("police", "analyst")).json()
    assert [w["id"] for w in rest["items"]] == [watches[0]["id"]]
    assert client.get("/v1/watches", headers=auth("douane", "analyst")).json() == {"items": [], "total": 0}

    gone = watches[-1]
    # Another agency's watch does not exist for the caller.
    r = client.delete(f"/v1/watches/{gone['id']}", headers=auth("douane", "investigator"))
    assert r.status_code == 404
    r = client.delete(f"/v1/watches/{gone['id']}", headers=auth("police", "investigator"))
    assert r.status_code == 204
    assert client.delete(f"/v1/watches/{gone['id']}", headers=auth("police", "investigator")).status_code == 404
    assert client.get("/v1/watches", headers=auth("police", "analyst")).json()["total"] == 2
    ingest_as(client, auth, "douane", [person("DN-1", "open", first_name="Yacine")],
              [uses("DN-1", "06 11 22 33 42", "open")])
    assert _hits(client, auth) == []

    audited = cypher(graph, "MATCH (a:AuditEvent) WHERE a.action IN ['watches.create', 'watches.delete'] "
                            "RETURN a.action AS action, a.purpose AS purpose, a.target_ids AS targets")
    assert sorted(r["action"] for r in audited) == ["watches.create"] * 3 + ["watches.delete"] * 3
    assert {r["purpose"] for r in audited if r["targets"] == [gone["id"]]} == {PURPOSE, ""}
    # A source that reads nothing cannot watch either.
    r = client.post("/v1/watches", json={"target": {"entity_id": "x"}, "purpose": PURPOSE},
                    headers=auth("police", "ingest"))
    assert r.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"purpose": PURPOSE}, ["body", "target"]),
    ({"target": {}, "purpose": PURPOSE}, ["body", "target"]),
    ({"target": {"entity_id": "x", "search": {"q": "Karim"}}, "purpose": PURPOSE}, ["body", "target"]),
    ({"target": {"entity_id": "x"}}, ["body", "purpose"]),
    ({"target": {"entity_id": "x"}, "purpose": ""}, ["body", "purpose"]),
    ({"target": {"phone": "x"}, "purpose": PURPOSE}, ["body", "target", "phone"]),
    ({"target": {"identifier": {"type": "Phone"}}, "purpose": PURPOSE}, ["body", "target", "identifier", "value"]),
    ({"target": {"entity_id": "x"}, "purpose": PURPOSE, "expires_at": "soon"}, ["body", "expires_at"]),
])
def test_malformed_bodies_name_the_field(client: TestClient, auth: Auth, body: dict[str, Any],
                                         field: list[str]) -> None:
    r = client.post("/v1/watches", json=body, headers=auth("police", "investigator"))
    assert r.status_code == 422, r.text
    assert field in [d["loc"] for d in r.json()["error"]["details"]], r.text


@pytest.mark.parametrize(("target", "field"), [
    ({"identifier": {"type": "Phone", "value": "not a phone"}}, "target.identifier.value"),
    ({"identifier": {"type": "Person", "value": "06 11 22 33 44"}}, "target.identifier.type"),
    ({"search": {"q": "the of and"}}, "target.search.q"),
    ({"search": {"q": "Karim", "type": "Phone"}}, "target.search.type"),
])
def test_invalid_targets_name_the_field(client: TestClient, auth: Auth, target: dict[str, Any], field: str) -> None:
    r = _watch(client, auth, target)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == {"field": field}
