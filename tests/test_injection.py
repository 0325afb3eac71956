"""Hostile strings are data: stored and returned verbatim, never executed as Cypher."""

from __future__ import annotations

from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from tests.builders import Auth, person, post_batch, push, uses
from tests.conftest import cypher

HOSTILE = [
    "') DETACH DELETE n //",
    '"}]->(x) MATCH (n) DETACH DELETE n //',
    "' OR 1=1 WITH n MATCH (m) DETACH DELETE m RETURN '",
    "`Person` DETACH DELETE n",
    "``` `backticks` ``",
    "$viewer} RETURN 1 //",
    "\\u0027) DETACH DELETE n; // \\\\",
    "Ϩ Müller-Lüdenscheid — 北京 🚀 \u200b zero-width",
    "line\nbreak\ttab\r\n",
    "{agency: 'ofast', central: true}",
    "/* */ CALL dbms.shutdown() //",
    "x" * 5000,
]


def counts(drv: neo4j.Driver) -> tuple[int, int]:
    nodes = cypher(drv, "MATCH (n:Node) RETURN count(n) AS n")[0]["n"]
    rels = cypher(drv, "MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    return nodes, rels


def bystanders(client: TestClient, auth: Auth) -> None:
    """Other agencies' data that an injection would delete or reveal."""
    for agency in ("gendarmerie", "douane"):
        push(client, auth(agency, "investigator"),
             [person("B-1", None, first_name="bystander"), {"type": "Phone", "ref": "0611111111"}],
             [uses("B-1", "0611111111", None)])


@pytest.mark.parametrize("text", HOSTILE, ids=[f"s{i}" for i in range(len(HOSTILE))])
def test_hostile_strings_round_trip(client: TestClient, auth: Auth, graph: neo4j.Driver, text: str) -> None:
    bystanders(client, auth)
    before = counts(graph)
    ref = text[:256]  # a reference has at most 256 characters
    headers = {**auth("police", "investigator"), "X-Source-System": text[:200].replace("\n", " ").replace("\r", " ")
               .replace("\u200b", "").encode("ascii", "replace").decode()}
    body = {
        "entities": [
            {"type": "Person", "ref": ref, "sharing": "restricted",
             "properties": {"first_name": text, "last_name": text[::-1], "aliases": [text, "plain"]}},
            {"type": "Person", "ref": "other", "properties": {"first_name": "Other"}},
        ],
        "links": [{"type": "ASSOCIATE_OF", "from": {"type": "Person", "ref": ref},
                   "to": {"type": "Person", "ref": "other"}, "properties": {"nature": text}}],
    }
    r = post_batch(client, headers, body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["entities"][0]["ref"] == ref
    pid = out["entities"][0]["id"]
    assert counts(graph) == (before[0] + 2, before[1] + 1)

    got = client.get(f"/v1/entities/{pid}", headers=auth("police", "analyst"))
    assert got.status_code == 200, got.text
    entity = got.json()
    assert entity["ref"] == ref
    assert entity["properties"]["first_name"] == text
    assert entity["properties"]["last_name"] == text[::-1]
    assert entity["properties"]["aliases"] == [text, "plain"]
    stored = cypher(graph, "MATCH ()-[r:ASSOCIATE_OF]->() RETURN r.nature AS nature")
    assert stored == [{"nature": text}]

    # Re-pushing the same hostile batch is idempotent, and nothing else moved.
    again = post_batch(client, headers, body).json()
    assert {e["status"] for e in again["entities"]} == {"unchanged"}
    assert counts(graph) == (before[0] + 2, before[1] + 1)

    # Hostile reasons, notes, purposes and audit filters are data too.
    reason = text[:2000]  # a reason has at most 2000 characters
    g = client.post(f"/v1/entities/{pid}/grants", json={"agency": "douane", "reason": reason},
                    headers=auth("police", "investigator"))
    assert g.status_code == 201 and g.json()["reason"] == reason
    assert client.delete(f"/v1/entities/{pid}/grants/douane", params={"reason": reason},
                         headers=auth("police", "investigator")).status_code == 200
    d = client.post("/v1/disseminations", json={"entity_ids": [pid], "agencies": ["gendarmerie"], "note": text},
                    headers=auth("ofast", "investigator"))
    assert d.status_code == 201 and d.json()["note"] == text
    for param in ("subject", "agency", "action"):
        a = client.get("/v1/audit", params={param: text}, headers=auth("ofast", "auditor"))
        assert a.status_code == 200 and a.json()["items"] == []
    assert counts(graph) == (before[0] + 2, before[1] + 1)
    assert len(cypher(graph, "MATCH (n:Person {first_name: 'bystander'}) RETURN n.id AS id")) == 2


@pytest.mark.parametrize("path", ["/v1/entities/{}", "/v1/entities/{}/grants"])
def test_hostile_ids_are_not_found(client: TestClient, auth: Auth, graph: neo4j.Driver, path: str) -> None:
    bystanders(client, auth)
    before = counts(graph)
    for text in HOSTILE[:7]:
        r = client.get(path.format(text.replace("/", "%2F")), headers=auth("ofast", "analyst"))
        assert r.status_code == 404, (text, r.text)
    assert counts(graph) == before


@pytest.mark.parametrize(("entity", "link"), [
    ({"type": "Person) DETACH DELETE n //", "ref": "x"}, None),
    ({"type": "Person`:`Case", "ref": "x"}, None),
    ({"type": "Person", "ref": "x", "properties": {"first_name`: 1}) DETACH DELETE n //": "v"}}, None),
    ({"type": "Person", "ref": "x", "sharing": "open' OR 1=1 //"}, None),
    ({"type": "Person", "ref": "x"}, {"type": "USES]->() DETACH DELETE n //", "from": {"type": "Person", "ref": "x"},
                                      "to": {"type": "Person", "ref": "x"}}),
])
def test_labels_and_types_come_from_the_whitelist(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                                  entity: dict[str, Any], link: dict[str, Any] | None) -> None:
    bystanders(client, auth)
    before = counts(graph)
    r = client.post("/v1/ingest", json={"entities": [entity], "links": [link] if link else []},
                    headers=auth("police", "investigator"))
    assert r.status_code == 422, r.text
    assert counts(graph) == before
