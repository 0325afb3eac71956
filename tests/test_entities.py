"""GET and DELETE /v1/entities/{id}: full view, stub, 404, link counts, ownership of deletes."""

from __future__ import annotations

from typing import Any

import neo4j
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, ent, link, person, push, uses
from tests.conftest import cypher

PHONE = ids.identifier_id("Phone", "+33612345678")


def seed(client: TestClient, auth: Auth) -> dict[str, str]:
    """police: open, restricted and confidential persons, all on one phone; douane: one person on it."""
    net = ("Network", "N-1")
    push(client, auth("police", unit="OCRTIS", X_Source_System="LRP"),
         [person("P-open", "open", first_name="Ouvert", last_name="Doe"),
          person("P-restr", "restricted", first_name="Karim", last_name="Doe"),
          person("P-conf", "confidential", first_name="Secret", last_name="Doe"),
          ent(*net, name="DZ")],
         [uses("P-open", "0612345678", "open"), uses("P-restr", "0612345678"),
          uses("P-conf", "0612345678", "confidential"),
          link("MEMBER_OF", ("Person", "P-restr"), net, role="head"),
          link("MEMBER_OF", ("Person", "P-conf"), net, "open")])
    push(client, auth("douane"), [person("D-1", "restricted", first_name="Douanier", last_name="Doe")],
         [uses("D-1", "0612345678")])
    return {ref: ids.entity_id("police", t, ref) for t, ref in
            [("Person", "P-open"), ("Person", "P-restr"), ("Person", "P-conf"), ("Network", "N-1")]} | {
        "D-1": ids.entity_id("douane", "Person", "D-1")}


def get(client: TestClient, headers: dict[str, str], ident: str) -> Any:
    return client.get(f"/v1/entities/{ident}", headers=headers)


def test_owner_sees_full_with_provenance_and_counts(client: TestClient, auth: Auth) -> None:
    e = seed(client, auth)
    r = get(client, auth("police", "analyst"), e["P-restr"])
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == e["P-restr"] and body["type"] == "Person" and body["ref"] == "P-restr"
    assert body["owner_agency"] == "police" and body["sharing"] == "restricted" and body["redacted"] is False
    assert body["version"] == 1
    assert body["properties"] == {"first_name": "Karim", "last_name": "Doe"}
    prov = body["provenance"]
    assert prov["owner_unit"] == "OCRTIS" and prov["source_system"] == "LRP"
    assert prov["created_at"] and prov["updated_at"] and prov["batch_id"]
    assert body["links"] == {"MEMBER_OF": 1, "USES": 1}
    # The network's counts, seen by its owner, include the confidential member's link.
    assert get(client, auth("police"), e["N-1"]).json()["links"] == {"MEMBER_OF": 2}


def test_other_agency_gets_stub_or_404(client: TestClient, auth: Auth) -> None:
    e = seed(client, auth)
    douane = auth("douane", "analyst")
    stub = get(client, douane, e["P-restr"])
    assert stub.status_code == 200
    policy = client.app.state.policy  # type: ignore[attr-defined]
    assert stub.json() == {"id": e["P-restr"], "type": "Person", "owner_agency": "police",
                           "contact": policy.contact("police"), "redacted": True, "handling": "H0",
                           "handling_notice": "H0: for crime prevention and repression only"}
    assert "Karim" not in stub.text
    full = get(client, douane, e["P-open"]).json()
    assert full["redacted"] is False and full["properties"]["first_name"] == "Ouvert"
    conf = get(client, douane, e["P-conf"])
    assert conf.status_code == 404
    nobody = ids.entity_id("police", "Person", "nobody")
    absent = get(client, douane, nobody)
    assert absent.status_code == 404
    # Indistinguishable from an id that does not exist.
    assert conf.json()["error"]["message"].replace(e["P-conf"], nobody) == absent.json()["error"]["message"]
    assert "Secret" not in conf.text
    # Counts leave out what douane may not know exists: the confidential person's open link.
    network = get(client, douane, e["N-1"]).json()
    assert network["redacted"] is True and "links" not in network
    # The central agency sees everything in full.
    ofast = auth("ofast", "analyst")
    secret = get(client, ofast, e["P-conf"]).json()
    assert secret["redacted"] is False and secret["properties"]["first_name"] == "Secret"
    assert get(client, ofast, e["N-1"]).json()["links"] == {"MEMBER_OF": 2}


def test_identifier_view_and_counts_per_viewer(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    phone = get(client, auth("douane"), PHONE).json()
    assert phone["type"] == "Phone" and phone["value"] == "+33612345678" and phone["redacted"] is False
    assert "owner_agency" not in phone
    # douane knows of its own link, police's open and restricted ones — not the confidential one.
    assert phone["links"] == {"USES": 3}
    assert get(client, auth("police"), PHONE).json()["links"] == {"USES": 4}
    assert get(client, auth("gendarmerie"), PHONE).json()["links"] == {"USES": 3}


def test_unknown_id_and_permissions(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    assert get(client, auth("police"), "nope").status_code == 404
    assert get(client, auth("police", "ingest"), "nope").status_code == 403
    assert client.get("/v1/entities/nope").status_code == 401
    audit = cypher(graph, "MATCH (a:AuditEvent {action: 'entity.read'}) RETURN a.result_count AS n")
    assert audit == [{"n": 0}]


def test_injection_strings_returned_verbatim(client: TestClient, auth: Auth) -> None:
    evil = "') DETACH DELETE n //"
    body = {"entities": [{"type": "Person", "ref": evil, "properties": {"first_name": evil, "aliases": [evil, "x"]}}]}
    r = client.post("/v1/ingest", json=body, headers=auth("police"))
    out = get(client, auth("police"), r.json()["entities"][0]["id"]).json()
    assert out["ref"] == evil and out["properties"] == {"first_name": evil, "aliases": [evil, "x"]}
    assert get(client, auth("police"), evil).status_code == 404


def test_delete_only_by_owner(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    e = seed(client, auth)
    r = client.delete(f"/v1/entities/{e['P-restr']}", headers=auth("douane"))
    assert r.status_code == 403 and e["P-restr"] in r.json()["error"]["message"]
    assert client.delete(f"/v1/entities/{e['P-restr']}", headers=auth("ofast", "admin")).status_code == 403
    # Confidential data of another agency does not exist for the caller: 404, not 403.
    assert client.delete(f"/v1/entities/{e['P-conf']}", headers=auth("douane")).status_code == 404
    assert client.delete(f"/v1/entities/{PHONE}", headers=auth("police")).status_code == 403
    assert client.delete(f"/v1/entities/{e['P-restr']}", headers=auth("police", "analyst")).status_code == 403
    r = client.delete(f"/v1/entities/{e['P-restr']}", headers=auth("police"))
    assert r.status_code == 200 and r.json() == {"id": e["P-restr"], "deleted": True}
    assert cypher(graph, "MATCH (n:Node {id: $id}) RETURN n", id=e["P-restr"]) == []
    assert get(client, auth("police"), e["P-restr"]).status_code == 404
    assert cypher(graph, "MATCH (a:AuditEvent {action: 'entity.delete'}) RETURN a.agency AS ag") == [{"ag": "police"}]
    # The phone and the other agencies' data stay.
    assert get(client, auth("douane"), PHONE).json()["links"] == {"USES": 2}


def test_workflow_relationships_are_not_counted(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    e = seed(client, auth)
    cypher(graph, "MATCH (n:Node {id: $id}) CREATE (:Objective {id: 'o1'})-[:TARGETS]->(n)", id=e["P-restr"])
    assert get(client, auth("ofast", "analyst"), e["P-restr"]).json()["links"] == {"MEMBER_OF": 1, "USES": 1}
