"""Grants of full visibility on an entity, and the central agency's disseminations, on a real Neo4j."""

from __future__ import annotations

from typing import Any

import neo4j
from fastapi.testclient import TestClient

from service.access.visibility import node_full, node_known, rel_full
from service.core import ids
from tests.builders import Auth, ingest_as, person, uses
from tests.conftest import cypher


def sees(drv: neo4j.Driver, agency: str, entity_id: str) -> tuple[bool, bool]:
    """(known, full) for an agency, decided by the visibility fragments every read path uses."""
    viewer = {"agency": agency, "central": agency == "ofast"}
    rows = cypher(drv, f"MATCH (e:Node {{id: $id}}) RETURN {node_known('e')} AS known, {node_full('e')} AS full",
                  id=entity_id, viewer=viewer)
    return bool(rows[0]["known"]), bool(rows[0]["full"])


def grant(client: TestClient, headers: dict[str, str], entity_id: str, agency: str,
          reason: str = "joint investigation JIRS Marseille") -> Any:
    return client.post(f"/v1/entities/{entity_id}/grants", json={"agency": agency, "reason": reason}, headers=headers)


def test_owner_grants_then_revokes(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police", [person("P-1", "confidential", first_name="Karim")])
    pid = ids.entity_id("police", "Person", "P-1")
    assert sees(graph, "douane", pid) == (False, False)

    r = grant(client, auth("police", "investigator", unit="OCRTIS"), pid, "douane")
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["entity_id"] == pid and g["agency"] == "douane" and g["revoked_at"] is None
    assert g["granted_by_agency"] == "police" and g["granted_by_sub"] == "police-user"
    assert g["reason"] == "joint investigation JIRS Marseille"
    assert sees(graph, "douane", pid) == (True, True)
    assert sees(graph, "gendarmerie", pid) == (False, False)
    stored = cypher(graph, "MATCH (g:Grant {id: $id}) RETURN g {.*} AS g", id=g["id"])[0]["g"]
    assert stored["granted_by_agency"] == "police" and stored["at"] == g["at"]

    again = grant(client, auth("police", "investigator"), pid, "douane")
    assert again.status_code == 200 and again.json()["id"] == g["id"]
    assert cypher(graph, "MATCH (g:Grant {entity_id: $id}) RETURN count(g) AS n", id=pid)[0]["n"] == 1

    listed = client.get(f"/v1/entities/{pid}/grants", headers=auth("police", "analyst"))
    assert listed.status_code == 200
    assert [x["id"] for x in listed.json()["items"]] == [g["id"]]

    r = client.delete(f"/v1/entities/{pid}/grants/douane", headers=auth("police", "investigator"),
                      params={"reason": "case closed"})
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["items"]] == [g["id"]]
    assert r.json()["items"][0]["revoked_at"]
    assert sees(graph, "douane", pid) == (False, False)
    assert cypher(graph, "MATCH (e:Node {id: $id}) RETURN e.grantees AS g", id=pid)[0]["g"] == []
    assert client.delete(f"/v1/entities/{pid}/grants/douane", headers=auth("police", "investigator")).status_code == 404

    # The history keeps the revoked grant; a new grant is a new record.
    assert grant(client, auth("police", "investigator"), pid, "douane").status_code == 201
    items = client.get(f"/v1/entities/{pid}/grants", headers=auth("police", "investigator")).json()["items"]
    assert len(items) == 2 and items[0]["revoked_at"] is None and items[1]["revoked_at"]

    actions = [r["action"] for r in cypher(graph, "MATCH (a:AuditEvent) WHERE a.action STARTS WITH 'grant.' "
                                             "RETURN a.action AS action ORDER BY a.seq")]
    assert actions == ["grant.create", "grant.exists", "grant.list", "grant.revoke", "grant.create", "grant.list"]


def test_central_agency_grants_and_revokes(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "gendarmerie", [person("G-1", first_name="Karim")])
    gid = ids.entity_id("gendarmerie", "Person", "G-1")
    assert grant(client, auth("ofast", "investigator"), gid, "police").status_code == 201
    assert sees(graph, "police", gid) == (True, True)
    assert client.get(f"/v1/entities/{gid}/grants", headers=auth("ofast", "analyst")).status_code == 200
    assert client.delete(f"/v1/entities/{gid}/grants/police", headers=auth("ofast", "admin")).status_code == 200
    assert sees(graph, "police", gid) == (True, False)


def test_who_may_not(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
              [person("P-1", first_name="Karim"), person("P-2", "confidential", first_name="Karim")])
    restricted = ids.entity_id("police", "Person", "P-1")
    confidential = ids.entity_id("police", "Person", "P-2")
    # Another agency: 403 on what it knows of, 404 on what does not exist for it.
    assert grant(client, auth("gendarmerie", "investigator"), restricted, "douane").status_code == 403
    assert grant(client, auth("gendarmerie", "investigator"), confidential, "douane").status_code == 404
    assert client.get(f"/v1/entities/{restricted}/grants",
                      headers=auth("gendarmerie", "investigator")).status_code == 403
    assert client.get(f"/v1/entities/{confidential}/grants",
                      headers=auth("gendarmerie", "investigator")).status_code == 404
    assert client.delete(f"/v1/entities/{restricted}/grants/douane",
                         headers=auth("gendarmerie", "investigator")).status_code == 403
    assert grant(client, auth("police", "investigator"), ids.entity_id("police", "Person", "nope"),
                 "douane").status_code == 404
    # A grantee sees the entity in full but does not manage its grants.
    assert grant(client, auth("police", "investigator"), restricted, "douane").status_code == 201
    r = grant(client, auth("douane", "investigator"), restricted, "gendarmerie")
    assert r.status_code == 403 and "owner agency (police)" in r.json()["error"]["message"]
    # The owner's analyst (read only) may not grant.
    assert grant(client, auth("police", "analyst"), restricted, "gendarmerie").status_code == 403
    assert grant(client, auth("police", "auditor"), restricted, "gendarmerie").status_code == 403
    # Unknown agency, the owner itself, the central agency: 422.
    for agency, code in (("interpol", "unknown_agency"), ("police", "nothing_to_grant"), ("ofast", "nothing_to_grant")):
        r = grant(client, auth("police", "investigator"), restricted, agency)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (agency, r.text)
    assert client.delete(f"/v1/entities/{restricted}/grants/interpol",
                         headers=auth("police", "investigator")).status_code == 422
    assert grant(client, auth("police", "investigator"), restricted, "douane", reason="").status_code == 422
    # Identifiers have no owner and are seen by all: nothing to grant on them.
    ingest_as(client, auth, "police", [{"type": "Phone", "ref": "0612345678"}])
    phone = ids.identifier_id("Phone", "+33612345678")
    assert grant(client, auth("ofast", "investigator"), phone, "douane").status_code == 404


def test_grant_covers_the_node_not_its_links(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    body = ingest_as(client, auth, "police",
                     [person("P-1", first_name="Karim"), {"type": "Phone", "ref": "0612345678"}],
                     [uses("P-1", "0612345678")])
    pid, link = body["entities"][0]["id"], body["links"][0]["id"]
    assert grant(client, auth("police", "investigator"), pid, "douane").status_code == 201
    assert sees(graph, "douane", pid) == (True, True)
    rows = cypher(graph, f"MATCH ()-[r {{id: $id}}]->() RETURN {rel_full('r')} AS full", id=link,
                  viewer={"agency": "douane", "central": False})
    assert rows[0]["full"] is False


def test_grant_survives_a_repush(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police", [person("P-1", first_name="Karim")])
    pid = ids.entity_id("police", "Person", "P-1")
    assert grant(client, auth("police", "investigator"), pid, "douane").status_code == 201
    ingest_as(client, auth, "police", [person("P-1", first_name="Karim B.")])
    assert sees(graph, "douane", pid) == (True, True)


def test_dissemination(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
              [person("P-1", "confidential", first_name="Karim"), person("P-2", first_name="Karim")])
    ingest_as(client, auth, "douane", [person("D-1", "confidential", first_name="Karim")])
    p1, p2 = ids.entity_id("police", "Person", "P-1"), ids.entity_id("police", "Person", "P-2")
    d1 = ids.entity_id("douane", "Person", "D-1")
    body = {"entity_ids": [p1, p2, d1], "agencies": ["douane", "gendarmerie"], "note": "Analyse OFAST n°12"}

    assert client.post("/v1/disseminations", json=body, headers=auth("police", "investigator")).status_code == 403
    assert client.post("/v1/disseminations", json=body, headers=auth("ofast", "analyst")).status_code == 403
    bad = client.post("/v1/disseminations", json={**body, "agencies": ["interpol"]}, headers=auth("ofast", "admin"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_agency"
    missing = ids.entity_id("police", "Person", "none")
    bad = client.post("/v1/disseminations", json={**body, "entity_ids": [p1, missing]}, headers=auth("ofast", "admin"))
    assert bad.status_code == 422 and bad.json()["error"]["details"] == {"missing": [missing]}
    assert cypher(graph, "MATCH (g:Grant) RETURN count(g) AS n")[0]["n"] == 0

    r = client.post("/v1/disseminations", json=body, headers=auth("ofast", "investigator", unit="DIV-ANALYSE"))
    assert r.status_code == 201, r.text
    d = r.json()
    # 3 entities x 2 agencies, less douane on its own entity.
    assert d["grants_created"] == 5 and d["by_agency"] == "ofast" and d["note"] == "Analyse OFAST n°12"
    for agency in ("douane", "gendarmerie"):
        for eid in (p1, p2, d1):
            assert sees(graph, agency, eid) == (True, True)
    assert sees(graph, "police", d1) == (False, False)
    grants = cypher(graph, "MATCH (g:Grant) RETURN g.dissemination_id AS d, g.reason AS r")
    assert {(g["d"], g["r"]) for g in grants} == {(d["id"], "Analyse OFAST n°12")}

    # Each recipient lists what was sent to it; others do not see it.
    for agency in ("douane", "gendarmerie"):
        listed = client.get("/v1/disseminations", headers=auth(agency, "analyst")).json()
        assert [x["id"] for x in listed["items"]] == [d["id"]] and listed["next"] is None
        assert set(listed["items"][0]["entity_ids"]) == {p1, p2, d1}
    assert client.get("/v1/disseminations", headers=auth("police", "analyst")).json()["items"] == []
    assert client.get("/v1/disseminations", headers=auth("gendarmerie", "auditor")).status_code == 403

    # A revoked grant on a confidential entity takes its id out of the recipient's list.
    revoked = client.delete(f"/v1/entities/{p1}/grants/gendarmerie", headers=auth("police", "investigator"))
    assert revoked.status_code == 200
    items = client.get("/v1/disseminations", headers=auth("gendarmerie", "analyst")).json()["items"]
    assert set(items[0]["entity_ids"]) == {p2, d1}
    assert p1 not in client.get("/v1/disseminations", headers=auth("gendarmerie", "analyst")).text

    actions = {r["a"] for r in cypher(graph, "MATCH (a:AuditEvent) RETURN a.action AS a")}
    assert {"dissemination.create", "dissemination.list"} <= actions


def test_disseminations_paginate(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police", [person("P-1", first_name="Karim")])
    p1 = ids.entity_id("police", "Person", "P-1")
    made = []
    for i in range(5):
        r = client.post("/v1/disseminations", json={"entity_ids": [p1], "agencies": ["douane"], "note": f"n{i}"},
                        headers=auth("ofast", "investigator"))
        assert r.status_code == 201
        made.append(r.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/disseminations", params=params, headers=auth("douane", "analyst")).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    all_central = client.get("/v1/disseminations", headers=auth("ofast", "analyst")).json()["items"]
    assert len(all_central) == 5
    bad = client.get("/v1/disseminations", params={"cursor": "!!"}, headers=auth("douane", "analyst"))
    assert bad.status_code == 400
