"""FNOS objectives (/v1/objectives) and deconfliction alerts (/v1/alerts) on a real Neo4j."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, alerts_of, person, push, uses
from tests.conftest import cypher

Who = dict[str, dict[str, str]]

PHONE = "06 12 34 56 78"
POLICE_CONTACT = "Police nationale — permanence OFAST relay, +33 1 00 00 00 01"
DOUANE_CONTACT = "DNRED — permanence, +33 1 00 00 00 03"
OFAST_CONTACT = "OFAST — état-major, +33 1 00 00 00 04"


def declare(client: TestClient, headers: dict[str, str], entity_id: str, case_ref: str = "PROC-1",
            unit: str | None = "U1") -> Any:
    body: dict[str, Any] = {"entity_id": entity_id, "case_ref": case_ref}
    if unit is not None:
        body["unit"] = unit
    return client.post("/v1/objectives", json=body, headers=headers)


def overlap_alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return alerts_of(client, headers, "objective_overlap")


@pytest.fixture
def who(auth: Auth) -> dict[str, dict[str, str]]:
    """An investigator's headers per agency, from tokens bound to no unit (they name the unit in the body)."""
    return {agency: auth(agency, "investigator")
            for agency in ("police", "douane", "gendarmerie", "ofast")}


POLICE_P = ids.entity_id("police", "Person", "PP")
DOUANE_P = ids.entity_id("douane", "Person", "DP")
DOUANE_C = ids.entity_id("douane", "Person", "DC")


def test_objective_crud(client: TestClient, auth: Auth, who: Who, graph: neo4j.Driver) -> None:
    push(client, who["police"], [person("PP", last_name="Benali")])
    push(client, who["douane"], [person("DP", last_name="Morel"), person("DC", "confidential", last_name="Garnier")])
    r = declare(client, auth("police", "investigator", unit="OCRTIS"), POLICE_P, "PROC-42", "OCRTIS")
    assert r.status_code == 201, r.text
    obj = r.json()
    assert {k: obj[k] for k in ("entity_id", "agency", "unit", "case_ref", "status", "created_by", "closed_at")} == {
        "entity_id": POLICE_P, "agency": "police", "unit": "OCRTIS", "case_ref": "PROC-42", "status": "open",
        "created_by": "police-user", "closed_at": None}
    stored = cypher(graph, "MATCH (o:Objective {id: $id})-[:TARGETS]->(e) RETURN e.id AS e, o {.*} AS o", id=obj["id"])
    assert stored[0]["e"] == POLICE_P and stored[0]["o"]["created_at"] == obj["created_at"]
    # The unit defaults to the token's.
    r = declare(client, auth("police", "investigator", unit="BRI"), POLICE_P, unit=None)
    assert r.status_code == 201 and r.json()["unit"] == "BRI"
    assert declare(client, auth("police", "investigator"), POLICE_P, unit=None).status_code == 422
    # A unit-bound token speaks for its unit only.
    other = declare(client, auth("police", "investigator", unit="BRI"), POLICE_P, "PROC-9", "OCRTIS")
    assert other.status_code == 403 and other.json()["error"]["code"] == "unit_mismatch"
    # Same unit, same entity, still open: 409.
    dup = declare(client, auth("police", "investigator", unit="OCRTIS"), POLICE_P, "PROC-43", "OCRTIS")
    assert dup.status_code == 409 and dup.json()["error"]["details"]["objective_id"] == obj["id"]
    # A restricted customs person is known to police as a stub: it may be declared.
    assert declare(client, who["police"], DOUANE_P).status_code == 201
    # Unknown and confidential-of-another-agency entities do not exist: 404.
    assert declare(client, who["police"], "nope").status_code == 404
    assert declare(client, who["police"], DOUANE_C).status_code == 404
    assert declare(client, auth("police", "analyst"), POLICE_P).status_code == 403
    assert client.post("/v1/objectives", json={"entity_id": POLICE_P}, headers=who["police"]).status_code == 422

    listing = client.get("/v1/objectives", headers=auth("police", "analyst")).json()
    assert listing["total"] == 3 and len(listing["items"]) == 3
    entities = {o["entity_id"]: o["entity"] for o in listing["items"]}
    assert entities[DOUANE_P]["redacted"] is True and "Morel" not in json.dumps(listing)
    assert entities[POLICE_P]["properties"]["last_name"] == "Benali"
    assert client.get("/v1/objectives", headers=auth("douane", "analyst")).json() == {"items": [], "total": 0}
    page = client.get("/v1/objectives", params={"limit": 2, "offset": 2}, headers=auth("police", "analyst")).json()
    assert page["total"] == 3 and len(page["items"]) == 1

    # Close: only the owner agency; another agency gets 403, an unknown id 404.
    assert client.delete(f"/v1/objectives/{obj['id']}", headers=who["douane"]).status_code == 403
    assert client.delete("/v1/objectives/nope", headers=who["police"]).status_code == 404
    closed = client.delete(f"/v1/objectives/{obj['id']}", headers=who["police"])
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]
    again = client.delete(f"/v1/objectives/{obj['id']}", headers=who["police"])
    assert again.json()["closed_at"] == closed.json()["closed_at"]
    status = {s: client.get("/v1/objectives", params={"status": s}, headers=who["police"]).json()["total"]
              for s in ("open", "closed", "all")}
    assert status == {"open": 2, "closed": 1, "all": 3}
    # Closed, the unit may declare the same entity again.
    reopened = declare(client, auth("police", "investigator", unit="OCRTIS"), POLICE_P, "PROC-44", "OCRTIS")
    assert reopened.status_code == 201
    actions = {r["a"] for r in cypher(graph, "MATCH (e:AuditEvent) RETURN DISTINCT e.action AS a")}
    assert {"objectives.create", "objectives.list", "objectives.close"} <= actions


def test_overlap_on_the_same_entity(client: TestClient, auth: Auth, who: Who) -> None:
    push(client, who["douane"], [person("DP", last_name="Morel")])
    assert declare(client, who["douane"], DOUANE_P, "DNRED-7").status_code == 201
    assert overlap_alerts(client, who["douane"]) == []
    assert declare(client, who["police"], DOUANE_P, "PJ-9").status_code == 201
    police, douane = overlap_alerts(client, who["police"]), overlap_alerts(client, who["douane"])
    assert len(police) == len(douane) == 1
    assert police[0]["entity_id"] == douane[0]["entity_id"] == DOUANE_P
    assert (police[0]["counterpart_agency"], police[0]["counterpart_contact"]) == ("douane", DOUANE_CONTACT)
    assert (douane[0]["counterpart_agency"], douane[0]["counterpart_contact"]) == ("police", POLICE_CONTACT)
    assert set(police[0]) == {"id", "kind", "created_at", "entity_id", "entity_name", "priority",
                              "counterpart_agency", "counterpart_contact", "acknowledged"}
    # Customs' restricted person is a stub to police: its alert does not name it; customs' does.
    assert police[0]["entity_name"] is None and douane[0]["entity_name"] == "Morel"
    assert police[0]["acknowledged"] is False
    # Another unit of the same agency on the same entity: same pair, no new alert; same agency: none.
    assert declare(client, who["police"], DOUANE_P, "PJ-10", unit="U2").status_code == 201
    assert declare(client, who["douane"], DOUANE_P, "DNRED-8", unit="U9").status_code == 201
    assert len(overlap_alerts(client, who["police"])) == len(overlap_alerts(client, who["douane"])) == 1
    assert overlap_alerts(client, who["gendarmerie"]) == []
    # The central agency overlapping too: it and each other agency get their own alert.
    assert declare(client, who["ofast"], DOUANE_P, "OFAST-1").status_code == 201
    ofast = overlap_alerts(client, who["ofast"])
    assert sorted(a["counterpart_agency"] for a in ofast) == ["douane", "police"]
    assert len(overlap_alerts(client, who["police"])) == 2
    assert {a["counterpart_contact"] for a in overlap_alerts(client, who["douane"])} == {POLICE_CONTACT, OFAST_CONTACT}


def test_overlap_through_a_shared_phone(client: TestClient, auth: Auth, who: Who, graph: neo4j.Driver) -> None:
    push(client, who["police"], [person("PP", last_name="Benali"), {"type": "Phone", "ref": PHONE}],
         [uses("PP", PHONE)])
    push(client, who["douane"], [person("DP", last_name="Morel"), {"type": "Phone", "ref": "+33612345678"}],
         [uses("DP", "+33612345678")])
    assert declare(client, who["police"], POLICE_P, "PJ-1").status_code == 201
    assert declare(client, who["douane"], DOUANE_P, "DNRED-1").status_code == 201
    police, douane = overlap_alerts(client, who["police"]), overlap_alerts(client, who["douane"])
    assert len(police) == len(douane) == 1
    assert police[0]["entity_id"] == POLICE_P and police[0]["counterpart_agency"] == "douane"
    assert douane[0]["entity_id"] == DOUANE_P and douane[0]["counterpart_agency"] == "police"
    # Each side sees its own entity and the other's contact: never the other's entity or data.
    police_text = client.get("/v1/alerts", headers=who["police"]).text
    douane_text = client.get("/v1/alerts", headers=who["douane"]).text
    assert DOUANE_P not in police_text and "Morel" not in police_text
    assert POLICE_P not in douane_text and "Benali" not in douane_text
    # Dedup: re-declaring after closing, or a second unit, raises nothing new.
    objective = client.get("/v1/objectives", headers=who["police"]).json()["items"][0]
    client.delete(f"/v1/objectives/{objective['id']}", headers=who["police"])
    assert declare(client, who["police"], POLICE_P, "PJ-2").status_code == 201
    assert declare(client, who["police"], POLICE_P, "PJ-3", unit="U7").status_code == 201
    assert len(overlap_alerts(client, who["police"])) == len(overlap_alerts(client, who["douane"])) == 1
    rows = cypher(graph, "MATCH (a:Alert {kind: 'objective_overlap'}) RETURN count(a) AS n, "
                         "count(DISTINCT a.pair_key) AS keys")
    assert rows == [{"n": 2, "keys": 2}]
    # An objective on the phone itself overlaps with both persons' objectives.
    phone_id = ids.identifier_id("Phone", "+33612345678")
    assert declare(client, who["gendarmerie"], phone_id, "GN-1").status_code == 201
    gendarmerie = overlap_alerts(client, who["gendarmerie"])
    assert sorted(a["counterpart_agency"] for a in gendarmerie) == ["douane", "police"]
    assert all(a["entity_id"] == phone_id for a in gendarmerie)
    assert [a["entity_id"] for a in overlap_alerts(client, who["police"]) if a["counterpart_agency"] == "gendarmerie"] \
        == [POLICE_P]


def test_no_overlap_alert_about_what_a_side_may_not_know(client: TestClient, auth: Auth, who: Who) -> None:
    push(client, who["police"], [person("PP", last_name="X"), {"type": "Phone", "ref": PHONE}], [uses("PP", PHONE)])
    push(client, who["douane"], [person("DC", "confidential", last_name="X"), {"type": "Phone", "ref": PHONE}],
         [uses("DC", PHONE, "confidential")])
    assert declare(client, who["police"], POLICE_P).status_code == 201
    assert declare(client, who["douane"], DOUANE_C).status_code == 201
    # Customs may know the police person: it is alerted. Police may not know the confidential
    # customs person exists: no alert names customs to it.
    douane = overlap_alerts(client, who["douane"])
    assert len(douane) == 1 and douane[0]["entity_id"] == DOUANE_C and douane[0]["counterpart_agency"] == "police"
    assert overlap_alerts(client, who["police"]) == []
    # Unrelated entities raise nothing.
    push(client, who["gendarmerie"], [person("GP", last_name="X")])
    assert declare(client, who["gendarmerie"], ids.entity_id("gendarmerie", "Person", "GP")).status_code == 201
    assert overlap_alerts(client, who["gendarmerie"]) == []


def test_alerts_list_and_ack_own_agency_only(client: TestClient, auth: Auth, who: Who) -> None:
    push(client, who["douane"], [person("DP", last_name="X")])
    declare(client, who["douane"], DOUANE_P)
    declare(client, who["police"], DOUANE_P)
    police, douane = overlap_alerts(client, who["police"]), overlap_alerts(client, who["douane"])
    # Another agency's alert does not exist for the caller.
    r = client.post(f"/v1/alerts/{douane[0]['id']}/ack", headers=who["police"])
    assert r.status_code == 404
    assert client.post("/v1/alerts/nope/ack", headers=who["police"]).status_code == 404
    r = client.post(f"/v1/alerts/{police[0]['id']}/ack", headers=who["police"])
    assert r.status_code == 200 and r.json()["acknowledged"] is True and r.json()["id"] == police[0]["id"]
    assert client.post(f"/v1/alerts/{police[0]['id']}/ack", headers=who["police"]).status_code == 200
    acked = client.get("/v1/alerts", params={"acknowledged": "true"}, headers=who["police"]).json()
    pending = client.get("/v1/alerts", params={"acknowledged": "false"}, headers=who["police"]).json()
    assert [a["id"] for a in acked["items"]] == [police[0]["id"]] and pending == {"items": [], "total": 0}
    assert overlap_alerts(client, who["douane"])[0]["acknowledged"] is False  # their copy is theirs
    assert client.get("/v1/alerts").status_code == 401
    assert client.get("/v1/alerts", headers=auth("police", "ingest")).status_code == 403


def test_shared_identifier_alerts_from_ingest(client: TestClient, auth: Auth, who: Who) -> None:
    push(client, who["police"], [person("PP", last_name="Benali"), {"type": "Phone", "ref": PHONE}],
         [uses("PP", PHONE)])
    push(client, who["douane"], [person("DP", last_name="Morel"), {"type": "Phone", "ref": "0612345678"}],
         [uses("DP", "0612345678")])
    # Pushing the same batch again raises nothing new.
    push(client, who["douane"], [person("DP", last_name="Morel"), {"type": "Phone", "ref": "0612345678"}],
         [uses("DP", "0612345678")])
    for agency, own, other, contact, hidden in (("police", POLICE_P, "douane", DOUANE_CONTACT, "Morel"),
                                                ("douane", DOUANE_P, "police", POLICE_CONTACT, "Benali")):
        r = client.get("/v1/alerts", headers=who[agency])
        shared = [a for a in r.json()["items"] if a["kind"] == "shared_identifier"]
        assert len(shared) == 1, r.text
        assert shared[0]["entity_id"] == own and shared[0]["counterpart_agency"] == other
        assert shared[0]["counterpart_contact"] == contact and hidden not in r.text
    assert client.get("/v1/alerts", headers=who["gendarmerie"]).json()["items"] == []


def test_concurrent_declarations_neither_duplicate_nor_miss_an_overlap(client: TestClient, who: Who) -> None:
    push(client, who["police"], [person("PP", last_name="X"), {"type": "Phone", "ref": PHONE}], [uses("PP", PHONE)])
    push(client, who["douane"], [person("DP", last_name="X"), {"type": "Phone", "ref": PHONE}], [uses("DP", PHONE)])
    calls = [(who["police"], POLICE_P)] * 3 + [(who["douane"], DOUANE_P)] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda c: declare(client, c[0], c[1]).status_code, calls))
    # One objective per (unit, entity); the losers of each race get 409, not a twin.
    assert sorted(codes) == [201, 201, 409, 409, 409, 409]
    assert len(overlap_alerts(client, who["police"])) == len(overlap_alerts(client, who["douane"])) == 1
