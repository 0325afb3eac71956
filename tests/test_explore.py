"""Neighbourhood, shortest paths and their exports on a real Neo4j, under the visibility rules.

The story (seeded through POST /v1/ingest, as the agencies would push it):
- police: Karim Bénali (P-1) uses phone A and is a suspect in case C-1; Nadia Ferhat (P-3)
  uses phone B. All restricted.
- douane: Moussa Diallo (D-1, restricted) uses phone A and is a courier of the open network
  "Réseau du Port" (N-1); a confidential informant (D-9) uses phones A, B and C.
So for police, D-1 is a stub, D-9 does not exist: P-1 and P-3 are connected only through D-9.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import neo4j
from fastapi.testclient import TestClient
from followthemoney import model

from service.core import ids
from tests.builders import Auth, ent, link, person, push, uses
from tests.conftest import cypher

PHONE_A, PHONE_B, PHONE_C = "+33612345678", "+33698765432", "+33711223344"
P1 = ids.entity_id("police", "Person", "P-1")
P3 = ids.entity_id("police", "Person", "P-3")
C1 = ids.entity_id("police", "Case", "C-1")
D1 = ids.entity_id("douane", "Person", "D-1")
D9 = ids.entity_id("douane", "Person", "D-9")
N1 = ids.entity_id("douane", "Network", "N-1")
A = ids.identifier_id("Phone", PHONE_A)
B = ids.identifier_id("Phone", PHONE_B)
C = ids.identifier_id("Phone", PHONE_C)


POLICE = (
    [person("P-1", first_name="Karim", last_name="Bénali", aliases=["Le Chat"]),
     person("P-3", first_name="Nadia", last_name="Ferhat"),
     ent("Case", "C-1", reference="2024/123", title="Opération Calanque"),
     {"type": "Phone", "ref": "06 12 34 56 78"},
     {"type": "Phone", "ref": "06 98 76 54 32"}],
    [uses("P-1", "06 12 34 56 78"),
     uses("P-3", "06 98 76 54 32"),
     link("INVOLVED_IN", ("Person", "P-1"), ("Case", "C-1"), role="suspect")],
)

DOUANE = (
    [person("D-1", first_name="Moussa", last_name="Diallo"),
     person("D-9", "confidential", first_name="Secret", last_name="Informant"),
     ent("Network", "N-1", "open", name="Réseau du Port", kind="import_channel"),
     {"type": "Phone", "ref": PHONE_A},
     {"type": "Phone", "ref": PHONE_B},
     {"type": "Phone", "ref": PHONE_C}],
    [uses("D-1", PHONE_A),
     link("MEMBER_OF", ("Person", "D-1"), ("Network", "N-1"), role="courier"),
     uses("D-9", PHONE_A),
     uses("D-9", PHONE_B),
     uses("D-9", PHONE_C)],
)


def seed(client: TestClient, auth: Auth) -> None:
    for agency, (entities, links) in (("police", POLICE), ("douane", DOUANE)):
        push(client, auth(agency, "investigator"), entities, links)


def ids_of(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


def hood(client: TestClient, headers: dict[str, str], node: str, **params: Any) -> Any:
    return client.get(f"/v1/entities/{node}/neighbourhood", params=params, headers=headers)


def test_neighbourhood_reaches_shared_phone_and_other_agency_stub(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    r = hood(client, auth("police", "analyst"), P1, depth=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"nodes", "edges", "truncated"}
    assert body["truncated"] is False
    nodes = {n["id"]: n for n in body["nodes"]}
    assert body["nodes"][0]["id"] == P1
    assert set(nodes) == {P1, A, C1, D1}          # D-9 (confidential) does not exist for police
    assert nodes[P1]["redacted"] is False and nodes[P1]["properties"]["last_name"] == "Bénali"
    assert nodes[A]["value"] == PHONE_A and nodes[A]["redacted"] is False
    stub = nodes[D1]
    assert stub == {"id": D1, "type": "Person", "owner_agency": "douane", "redacted": True,
                    "contact": stub["contact"], "handling": "H0", "handling_notice": stub["handling_notice"]}
    assert "DNRED" in stub["contact"]
    assert "Moussa" not in r.text and "Diallo" not in r.text and "Informant" not in r.text
    edges = {(e["source"], e["target"]): e for e in body["edges"]}
    assert set(edges) == {(P1, A), (P1, C1), (D1, A)}
    for e in body["edges"]:
        assert set(e) >= {"id", "type", "source", "target", "owner_agency", "redacted", "properties"}
    assert edges[(P1, C1)]["properties"] == {"role": "suspect"} and edges[(P1, C1)]["redacted"] is False
    douane_edge = edges[(D1, A)]
    assert douane_edge["redacted"] is True and douane_edge["properties"] == {}
    assert douane_edge["owner_agency"] == "douane" and douane_edge["type"] == "USES"


def test_neighbourhood_traverses_stubs_and_respects_depth(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    h = auth("police", "analyst")
    one = hood(client, h, P1, depth=1).json()
    assert ids_of(one["nodes"]) == {P1, A, C1}
    three = hood(client, h, P1, depth=3).json()
    # Through the stub D-1 to the open network; never D-9.
    assert ids_of(three["nodes"]) == {P1, A, C1, D1, N1}
    network = next(n for n in three["nodes"] if n["id"] == N1)
    assert network["redacted"] is False and network["properties"]["name"] == "Réseau du Port"
    member = next(e for e in three["edges"] if e["type"] == "MEMBER_OF")
    assert member["redacted"] is True and member["properties"] == {}
    only_cases = hood(client, h, P1, depth=3, types="INVOLVED_IN").json()
    assert ids_of(only_cases["nodes"]) == {P1, C1}


def test_confidential_never_in_neighbourhood_but_owner_and_ofast_see_it(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    for agency in ("police", "gendarmerie"):
        body = hood(client, auth(agency, "analyst"), A, depth=3).json()
        assert D9 not in ids_of(body["nodes"])
        assert C not in ids_of(body["nodes"])  # reachable only through D-9
        assert all(D9 not in (e["source"], e["target"]) for e in body["edges"])
        assert hood(client, auth(agency, "analyst"), D9).status_code == 404
    for agency in ("douane", "ofast"):
        body = hood(client, auth(agency, "analyst"), A, depth=3).json()
        nodes = {n["id"]: n for n in body["nodes"]}
        assert {P1, P3, D1, D9, B, C, C1, N1} <= set(nodes)
        assert nodes[D9]["redacted"] is False and nodes[D9]["properties"]["first_name"] == "Secret"
    ofast = {n["id"]: n for n in hood(client, auth("ofast", "analyst"), P1, depth=2).json()["nodes"]}
    assert all(not n["redacted"] for n in ofast.values())
    assert ofast[D1]["properties"]["last_name"] == "Diallo"


def test_neighbourhood_truncated_and_validation(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    h = auth("ofast", "analyst")
    full = hood(client, h, A, depth=1).json()
    assert full["truncated"] is False and len(full["nodes"]) == 4  # A, P-1, D-1, D-9
    small = hood(client, h, A, depth=1, limit=2).json()
    assert small["truncated"] is True and len(small["nodes"]) == 2
    assert all(e["source"] in ids_of(small["nodes"]) and e["target"] in ids_of(small["nodes"])
               for e in small["edges"])
    exact = hood(client, h, A, depth=1, limit=4).json()
    assert exact["truncated"] is False and len(exact["nodes"]) == 4
    # From P-1: level 1 is A and C-1, level 2 D-1 and D-9 (ofast sees them).
    assert ids_of(hood(client, h, P1, depth=2, limit=5).json()["nodes"]) == {P1, A, C1, D1, D9}
    assert hood(client, h, P1, depth=2, limit=5).json()["truncated"] is False
    full_first_level = hood(client, h, P1, depth=2, limit=3).json()
    assert ids_of(full_first_level["nodes"]) == {P1, A, C1} and full_first_level["truncated"] is True
    partial = hood(client, h, P1, depth=2, limit=4).json()
    assert len(partial["nodes"]) == 4 and partial["truncated"] is True
    assert hood(client, h, A, depth=4).status_code == 422
    assert hood(client, h, A, depth=0).status_code == 422
    assert hood(client, h, A, limit=1001).status_code == 422
    bad = hood(client, h, A, types="USES,DROP_ALL")
    assert bad.status_code == 422 and "DROP_ALL" in bad.json()["error"]["message"]
    assert hood(client, h, "no-such-id").status_code == 404
    assert hood(client, {}, A).status_code == 401
    assert hood(client, auth("police", "ingest"), A).status_code == 403


def test_neighbourhood_is_audited(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    seed(client, auth)
    hood(client, auth("police", "analyst", purpose="case 2024/123"), P1, depth=2)
    rows = cypher(graph, "MATCH (a:AuditEvent {action: 'explore.neighbourhood'}) RETURN a {.*} AS a")
    assert len(rows) == 1
    event = rows[0]["a"]
    assert event["agency"] == "police" and event["purpose"] == "case 2024/123"
    assert event["result_count"] == 4 and set(event["target_ids"]) == {P1, A, C1, D1}


def paths(client: TestClient, headers: dict[str, str], source: str, target: str, **params: Any) -> Any:
    return client.get("/v1/paths", params={"source": source, "target": target, **params}, headers=headers)


def test_paths_cross_stubs_but_never_confidential(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    police = auth("police", "analyst")
    r = paths(client, police, P1, N1)
    assert r.status_code == 200, r.text
    found = r.json()["paths"]
    assert len(found) == 1
    assert [n["id"] for n in found[0]["nodes"]] == [P1, A, D1, N1]
    assert found[0]["nodes"][2]["redacted"] is True
    assert [e["type"] for e in found[0]["edges"]] == ["USES", "USES", "MEMBER_OF"]
    assert "Diallo" not in r.text and "courier" not in r.text
    # P-1 and P-3 are linked only through the confidential D-9: no path for police.
    assert paths(client, police, P1, P3).json() == {"paths": []}
    for agency in ("douane", "ofast"):
        seen = paths(client, auth(agency, "analyst"), P1, P3).json()["paths"]
        assert [[n["id"] for n in p["nodes"]] for p in seen] == [[P1, A, D9, B, P3]]
    assert paths(client, auth("ofast", "analyst"), P1, P3, max_hops=3).json() == {"paths": []}


def test_paths_validation_and_unknown_ends(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    police = auth("police", "analyst")
    missing = paths(client, police, P1, D9)
    assert missing.status_code == 404 and D9 in missing.json()["error"]["message"]
    assert paths(client, police, "nope", P1).status_code == 404
    assert paths(client, police, P1, N1, max_hops=9).status_code == 422
    assert paths(client, police, P1, N1, max_hops=0).status_code == 422
    assert paths(client, police, P1, N1, limit=51).status_code == 422
    assert paths(client, police, P1, P1).status_code == 422
    assert paths(client, police, P1, N1, types="USES").json() == {"paths": []}
    assert paths(client, police, P1, N1, types="USES,MEMBER_OF").json()["paths"]
    assert paths(client, police, P1, N1, types="NOPE").status_code == 422


def test_paths_all_shortest_and_limit(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    # A second route of the same length from P-1 to D-1's network: P-1 also uses phone C,
    # which D-1 uses too.
    push(client, auth("police", "investigator"), [{"type": "Phone", "ref": PHONE_C}], [uses("P-1", PHONE_C)])
    push(client, auth("douane", "investigator"), [{"type": "Phone", "ref": PHONE_C}], [uses("D-1", PHONE_C)])
    both = paths(client, auth("police", "analyst"), P1, N1).json()["paths"]
    assert sorted(p["nodes"][1]["id"] for p in both) == sorted([A, C])
    one = paths(client, auth("police", "analyst"), P1, N1, limit=1).json()["paths"]
    assert len(one) == 1


def test_graphml_export_parses_and_hides_stub_values(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    r = hood(client, auth("police", "analyst"), P1, depth=3, format="graphml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/graphml+xml")
    root = ET.fromstring(r.content)
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    keys = {k.get("id"): k.get("attr.name") for k in root.findall("g:key", ns)}
    graph_el = root.find("g:graph", ns)
    assert graph_el is not None
    nodes = {n.get("id"): {keys[d.get("key")]: d.text for d in n.findall("g:data", ns)}
             for n in graph_el.findall("g:node", ns)}
    assert set(nodes) == {P1, A, C1, D1, N1}
    assert nodes[D1]["redacted"] == "true" and nodes[D1]["owner_agency"] == "douane"
    assert not any(k.startswith("p_") for k in nodes[D1])
    assert nodes[P1]["p_last_name"] == "Bénali" and nodes[P1]["p_aliases"] == "Le Chat"
    assert len(graph_el.findall("g:edge", ns)) == 4
    assert b"Diallo" not in r.content and b"courier" not in r.content

    r = paths(client, auth("police", "analyst"), P1, N1, format="graphml")
    root = ET.fromstring(r.content)
    assert len(root.findall("g:graph/g:node", ns)) == 4


def test_ftm_export_parses_with_followthemoney(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    r = hood(client, auth("police", "analyst"), P1, depth=3, format="ftm")
    assert r.status_code == 200
    proxies = [model.get_proxy(json.loads(line)) for line in r.text.splitlines() if line.strip()]
    by_id = {p.id: p for p in proxies}
    assert by_id[P1].schema.name == "Person" and "Bénali" in by_id[P1].get("lastName")
    assert by_id[A].schema.name == "UserAccount" and by_id[A].get("phone") == [PHONE_A]
    assert by_id[N1].schema.name == "Organization"
    assert by_id[C1].schema.name == "CourtCase"
    stub = by_id[D1]
    assert stub.schema.name == "Person" and stub.get("name") == [] and stub.get("lastName") == []
    assert "douane" in stub.get("notes")[0]
    memberships = [p for p in proxies if p.schema.name == "Membership"]
    assert len(memberships) == 1 and memberships[0].get("member") == [D1]
    assert memberships[0].get("role") == []  # the link is restricted: no values
    assert "Diallo" not in r.text and "courier" not in r.text
    ofast = client.get("/v1/paths", params={"source": P1, "target": P3, "format": "ftm"},
                       headers=auth("ofast", "analyst"))
    ofast_ids = {json.loads(line)["id"] for line in ofast.text.splitlines()}
    assert D9 in ofast_ids


def test_exports_escape_markup(client: TestClient, auth: Auth) -> None:
    push(client, auth("police", "investigator"),
         [person("X-1", "open", first_name='<script>&"\'', last_name="Ünïcødé\u0007"),
          {"type": "Phone", "ref": PHONE_A}],
         [uses("X-1", PHONE_A, None)])
    r = hood(client, auth("gendarmerie", "analyst"), ids.entity_id("police", "Person", "X-1"), format="graphml")
    root = ET.fromstring(r.content)  # would raise on bad escaping or illegal characters
    texts = [d.text for d in root.iter("{http://graphml.graphdrawing.org/xmlns}data")]
    assert '<script>&"\'' in texts and "Ünïcødé" in texts


def test_grant_turns_stub_into_full_and_confidential_into_known(client: TestClient, auth: Auth) -> None:
    seed(client, auth)
    douane = auth("douane", "investigator")
    for entity in (D1, D9):
        r = client.post(f"/v1/entities/{entity}/grants", json={"agency": "police", "reason": "joint case"},
                        headers=douane)
        assert r.status_code == 201, r.text
    police = auth("police", "analyst")
    nodes = {n["id"]: n for n in hood(client, police, A, depth=1).json()["nodes"]}
    # A grant covers the node, not its links: D-9's link to A is restricted, hence known.
    assert nodes[D1]["redacted"] is False and nodes[D1]["properties"]["last_name"] == "Diallo"
    assert nodes[D9]["redacted"] is False and nodes[D9]["properties"]["first_name"] == "Secret"
    assert [[n["id"] for n in p["nodes"]] for p in paths(client, police, P1, P3).json()["paths"]] == [
        [P1, A, D9, B, P3]]
    # Gendarmerie holds no grant: nothing changes for it.
    gendarmerie = {n["id"]: n for n in hood(client, auth("gendarmerie", "analyst"), A, depth=1).json()["nodes"]}
    assert gendarmerie[D1]["redacted"] is True and D9 not in gendarmerie
