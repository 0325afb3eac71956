"""GET /v1/networks/{id}, /v1/analytics/key-players and /v1/analytics/bridges on a real Neo4j.

Data goes in through POST /v1/ingest, as partner systems push it; each test then reads it as
several agencies and checks what each may see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import neo4j
import pytest
import yaml
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core import ids
from service.core.settings import Settings
from service.domain.analytics import centrality
from tests.builders import Auth, eid, ent, link, push
from tests.conftest import cypher

NET = ("Network", "N-HAVRE")
HEAD, COURIER, SECRET = ("Person", "D-HEAD"), ("Person", "D-COURIER"), ("Person", "D-SECRET")


def seed_havre(client: TestClient, auth: Auth) -> None:
    """A customs network: open network, an open head, a restricted courier, a confidential lieutenant."""
    push(client, auth("douane", "investigator", unit="DNRED"), [
        ent("Network", "N-HAVRE", "open", name="Réseau du Havre", kind="import_channel", territory="Seine-Maritime"),
        ent("Person", "D-HEAD", "open", first_name="Yanis", last_name="Morel"),
        ent("Person", "D-COURIER", "restricted", first_name="Lucas", last_name="Ferrand"),
        ent("Person", "D-SECRET", "confidential", first_name="Sofiane", last_name="Garnier"),
        ent("Case", "C-OPEN", "open", reference="DNRED-2024-001", title="Conteneurs du Havre"),
        ent("Case", "C-RESTR", "restricted", reference="DNRED-2024-002", title="Saisie quai 4"),
        ent("Case", "C-CONF", "confidential", reference="DNRED-2024-003", title="Source humaine"),
        ent("Seizure", "S-1", "open", drug="cocaine", quantity=120.0, unit="kg", method="container"),
        ent("Seizure", "S-2", "restricted", drug="cocaine", quantity=30.0, unit="kg", method="container"),
        ent("Seizure", "S-3", "confidential", drug="cannabis_resin", quantity=500.0, unit="kg", method="road"),
        ent("Asset", "A-1", "open", kind="real_estate", label="Villa", value_eur=300000.0, status="seized"),
        ent("Asset", "A-2", "restricted", kind="cash", label="Espèces", value_eur=50000.0, status="identified"),
        ent("Asset", "A-3", "confidential", kind="luxury", label="Montres", value_eur=80000.0, status="seized"),
        ent("Location", "L-PORT", "open", kind="port", label="Port du Havre", insee_code="76351"),
        ent("Location", "L-DEAL", "restricted", kind="deal_point", label="Cité Caucriauville", insee_code="76351"),
    ], [
        link("MEMBER_OF", HEAD, NET, "open", role="head"),
        link("MEMBER_OF", COURIER, NET, "restricted", role="courier"),
        link("MEMBER_OF", SECRET, NET, "confidential", role="lieutenant"),
        link("INVOLVED_IN", HEAD, ("Case", "C-OPEN"), "open", role="suspect"),
        link("INVOLVED_IN", SECRET, ("Case", "C-CONF"), "confidential", role="suspect"),
        link("SEIZED_FROM", ("Seizure", "S-1"), NET, "open"),
        link("SEIZED_FROM", ("Seizure", "S-2"), NET, "restricted"),
        link("SEIZED_FROM", ("Seizure", "S-3"), NET, "confidential"),
        link("SEIZED_IN", ("Seizure", "S-1"), ("Case", "C-RESTR"), "restricted"),
        link("OWNS", NET, ("Asset", "A-1"), "open"),
        link("OWNS", COURIER, ("Asset", "A-2"), "restricted"),
        link("OWNS", SECRET, ("Asset", "A-3"), "confidential"),
        link("OPERATES", NET, ("Location", "L-PORT"), "open"),
        link("OPERATES", NET, ("Location", "L-DEAL"), "restricted"),
    ])


def _members(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["person"]["id"]: m for m in body["members"]}


def test_network_summary_as_police(client: TestClient, auth: Auth) -> None:
    seed_havre(client, auth)
    net_id = eid("douane", *NET)
    r = client.get(f"/v1/networks/{net_id}", headers=auth("police", "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["network"]["redacted"] is False
    assert body["network"]["properties"]["name"] == "Réseau du Havre"
    members = _members(body)
    head, courier = eid("douane", *HEAD), eid("douane", *COURIER)
    assert set(members) == {head, courier}  # the confidential lieutenant does not exist for police
    assert members[head]["role"] == "head" and members[head]["person"]["properties"]["last_name"] == "Morel"
    assert members[courier]["person"] == {"id": courier, "type": "Person", "owner_agency": "douane",
                                          "contact": "DNRED — permanence, +33 1 00 00 00 03", "redacted": True,
                                          "handling": "H0",
                                          "handling_notice": "H0: for crime prevention and repression only"}
    assert members[courier]["role"] is None and members[courier]["link"]["redacted"] is True
    cases = {c["case"]["id"]: c for c in body["cases"]}
    assert set(cases) == {eid("douane", "Case", "C-OPEN"), eid("douane", "Case", "C-RESTR")}
    assert cases[eid("douane", "Case", "C-OPEN")]["via"] == ["member"]
    assert cases[eid("douane", "Case", "C-RESTR")]["case"]["redacted"] is True
    assert cases[eid("douane", "Case", "C-RESTR")]["via"] == ["seizure"]
    # Totals count everything linked (statistics_count_all: true by default): a total shows no item.
    assert body["statistics_count_all"] is True
    assert body["seizures"] == {"count": 3, "by_drug": [
        {"drug": "cannabis_resin", "unit": "kg", "quantity": 500.0, "count": 1},
        {"drug": "cocaine", "unit": "kg", "quantity": 150.0, "count": 2}]}
    assert body["assets"] == {"count": 3, "total_value_eur": 430000.0, "by_status": [
        {"status": "identified", "value_eur": 50000.0, "count": 1},
        {"status": "seized", "value_eur": 380000.0, "count": 2}]}
    territories = body["territories"]
    assert {"source": "network", "label": "Seine-Maritime"}.items() <= territories[0].items()
    locs = {t["location_id"]: t for t in territories[1:]}
    port, deal = eid("douane", "Location", "L-PORT"), eid("douane", "Location", "L-DEAL")
    assert locs[port]["label"] == "Port du Havre" and locs[port]["insee_code"] == "76351"
    assert locs[deal]["redacted"] is True and locs[deal]["label"] is None and locs[deal]["insee_code"] is None
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("Ferrand", "Lucas", "Garnier", "Sofiane", "D-COURIER", "DNRED-2024-002", "DNRED-2024-003",
                   "Source humaine", "Caucriauville", eid("douane", *SECRET), eid("douane", "Case", "C-CONF")):
        assert secret not in text


def test_network_summary_as_owner_and_central(client: TestClient, auth: Auth) -> None:
    seed_havre(client, auth)
    net_id = eid("douane", *NET)
    for agency in ("douane", "ofast"):
        body = client.get(f"/v1/networks/{net_id}", headers=auth(agency, "analyst")).json()
        members = _members(body)
        assert len(members) == 3 and all(not m["person"]["redacted"] for m in members.values())
        assert members[eid("douane", *SECRET)]["role"] == "lieutenant"
        assert len(body["cases"]) == 3 and all(not c["case"]["redacted"] for c in body["cases"])
        assert body["seizures"]["count"] == 3 and body["assets"]["total_value_eur"] == 430000.0
        assert all(not t["redacted"] for t in body["territories"])


def test_network_stub_404_and_audit(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    push(client, auth("police"), [
        ent("Network", "N-R", "restricted", name="Les Oiseaux", territory="Marseille 13e"),
        ent("Network", "N-C", "confidential", name="Cellule fantôme"),
        ent("Person", "P-1", "open", first_name="Karim", last_name="Benali"),
    ], [link("MEMBER_OF", ("Person", "P-1"), ("Network", "N-R"), "open", role="seller")])
    restricted, confidential = eid("police", "Network", "N-R"), eid("police", "Network", "N-C")
    body = client.get(f"/v1/networks/{restricted}", headers=auth("gendarmerie", "analyst")).json()
    assert body["network"]["redacted"] is True and "properties" not in body["network"]
    assert body["territories"] == []  # the territory is a property of the stub: hidden
    assert body["members"][0]["role"] == "seller"  # an open member on an open link stays visible
    assert "Les Oiseaux" not in json.dumps(body)
    r = client.get(f"/v1/networks/{confidential}", headers=auth("gendarmerie", "analyst"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get(f"/v1/networks/{confidential}", headers=auth("ofast", "analyst")).status_code == 200
    person = eid("police", "Person", "P-1")
    assert client.get(f"/v1/networks/{person}", headers=auth("police")).status_code == 404  # not a network
    assert client.get(f"/v1/networks/{restricted}").status_code == 401
    assert client.get(f"/v1/networks/{restricted}", headers=auth("police", "auditor")).status_code == 403
    actions = [r["a"] for r in cypher(graph, "MATCH (e:AuditEvent) WHERE e.action = 'networks.get' "
                                             "RETURN e {.agency, .target_ids, .result_count} AS a ORDER BY e.seq")]
    assert actions[0]["agency"] == "gendarmerie" and restricted in actions[0]["target_ids"]
    assert actions[1] == {"agency": "gendarmerie", "target_ids": [confidential], "result_count": 0}


def test_statistics_count_only_known_when_policy_says_so(settings: Settings, auth: Auth, graph: neo4j.Driver,
                                                        tmp_path: Path) -> None:
    policy = yaml.safe_load(settings.policy_file.read_text())
    policy["statistics_count_all"] = False
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True))
    with TestClient(create_app(settings.model_copy(update={"policy_file": path})),
                    raise_server_exceptions=False) as strict:
        seed_havre(strict, auth)
        body = strict.get(f"/v1/networks/{eid('douane', *NET)}", headers=auth("police", "analyst")).json()
        assert body["statistics_count_all"] is False
        # The confidential seizure (500 kg resin) and asset (80 k€) are not counted for police...
        assert body["seizures"] == {"count": 2, "by_drug": [
            {"drug": "cocaine", "unit": "kg", "quantity": 150.0, "count": 2}]}
        assert body["assets"]["count"] == 2 and body["assets"]["total_value_eur"] == 350000.0
        # ...but the owner still counts everything.
        own = strict.get(f"/v1/networks/{eid('douane', *NET)}", headers=auth("douane", "analyst")).json()
        assert own["seizures"]["count"] == 3 and own["assets"]["total_value_eur"] == 430000.0


# Key players: a path A - ph1 - B - C - ph2 - D - X plus an isolated member E. On a path of
# 7 nodes the node at position i lies on i*(6-i) shortest paths: C=9, B=ph2=8, ph1=D=5, A=X=0.
KP_NET = ("Network", "N-KP")


def seed_key_players(client: TestClient, auth: Auth) -> None:
    people = [ent("Person", f"KP-{p}", first_name=p, last_name=f"Nom{p}") for p in "ABDEX"]
    people.append(ent("Person", "KP-C", "confidential", first_name="C", last_name="NomC"))
    push(client, auth("police"), [
        ent("Network", "N-KP", "restricted", name="Clan du Nord"), *people,
        {"type": "Phone", "ref": "06 11 11 11 11"}, {"type": "Phone", "ref": "06 22 22 22 22"},
    ], [
        *(link("MEMBER_OF", ("Person", f"KP-{p}"), KP_NET, role="seller") for p in "ABDE"),
        link("MEMBER_OF", ("Person", "KP-C"), KP_NET, "confidential", role="head"),
        link("USES", ("Person", "KP-A"), ("Phone", "06 11 11 11 11")),
        link("USES", ("Person", "KP-B"), ("Phone", "06 11 11 11 11")),
        link("ASSOCIATE_OF", ("Person", "KP-B"), ("Person", "KP-C"), "confidential"),
        link("USES", ("Person", "KP-C"), ("Phone", "06 22 22 22 22"), "confidential"),
        link("USES", ("Person", "KP-D"), ("Phone", "06 22 22 22 22")),
        link("ASSOCIATE_OF", ("Person", "KP-D"), ("Person", "KP-X")),
    ])


def test_key_players_ranking_matches_hand_computed_betweenness(client: TestClient, auth: Auth) -> None:
    seed_key_players(client, auth)
    net = eid("police", *KP_NET)
    r = client.get("/v1/analytics/key-players", params={"network": net}, headers=auth("police", "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subgraph"] == {"nodes": 8, "edges": 6, "truncated": False, "approximate": False}
    ranked = [(k["person"]["properties"]["first_name"], k["betweenness"], k["degree"], k["member"])
              for k in body["items"]]
    assert ranked[:3] == [("C", 9.0, 2, True), ("B", 8.0, 2, True), ("D", 5.0, 2, True)]
    assert {x[0] for x in ranked[3:]} == {"A", "X", "E"} and all(x[1] == 0.0 for x in ranked[3:])
    assert ranked[3][0] in "AX" and ranked[5] == ("E", 0.0, 0, True)
    assert ("X", 0.0, 1, False) in ranked  # a neighbour, not a member
    top = body["items"][0]
    assert top["rank"] == 1 and top["role"] == "head"
    assert top["betweenness_normalised"] == pytest.approx(9 / 21, abs=1e-6)
    by_degree = client.get("/v1/analytics/key-players", params={"network": net, "order_by": "degree", "limit": 2},
                           headers=auth("police", "analyst")).json()["items"]
    assert [k["person"]["properties"]["first_name"] for k in by_degree] == ["C", "B"]  # degree 2, then betweenness


def test_key_players_on_the_visible_subgraph_only(client: TestClient, auth: Auth) -> None:
    seed_key_players(client, auth)
    net = eid("police", *KP_NET)
    body = client.get("/v1/analytics/key-players", params={"network": net},
                      headers=auth("douane", "analyst")).json()
    # Without the confidential C: A - ph1 - B and ph2 - D - X, plus E. Only D lies between two nodes.
    assert body["subgraph"]["nodes"] == 7 and body["subgraph"]["edges"] == 4
    assert body["network"]["redacted"] is True
    items = body["items"]
    assert items[0]["person"]["id"] == eid("police", "Person", "KP-D") and items[0]["betweenness"] == 1.0
    assert all(k["person"]["redacted"] for k in items)
    assert eid("police", "Person", "KP-C") not in json.dumps(body)
    assert all(k["role"] is None for k in items)  # restricted memberships: no role for douane
    assert len(items) == 5
    r = client.get("/v1/analytics/key-players", params={"network": eid("police", "Person", "KP-A")},
                   headers=auth("police"))
    assert r.status_code == 404
    assert client.get("/v1/analytics/key-players", headers=auth("police")).status_code == 422


def test_brandes_against_hand_computed_values() -> None:
    # A star with centre h and leaves 1..4 plus a tail 4 - t: h lies on C(4,2)=6 leaf pairs and on
    # the 3 pairs (leaf, t) for leaves 1..3; 4 lies on those 3 pairs and on (h, t).
    adj = centrality.undirected([("h", "1"), ("h", "2"), ("h", "3"), ("h", "4"), ("4", "t")])
    scores = centrality.betweenness(adj).scores
    assert scores == {"h": 9.0, "1": 0.0, "2": 0.0, "3": 0.0, "4": 4.0, "t": 0.0}
    # A 4-cycle: each node lies on half of the two shortest paths between its two neighbours.
    cycle = centrality.undirected([("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")])
    assert centrality.betweenness(cycle).scores == dict.fromkeys("abcd", 0.5)
    big = centrality.undirected([(str(i), str(i + 1)) for i in range(30)])
    approx = centrality.betweenness(big, budget=10, min_samples=31)  # every source sampled: exact
    assert approx.approximate and approx.scores["15"] == pytest.approx(15 * 15)


def seed_bridges(client: TestClient, auth: Auth) -> None:
    phone = "06 99 88 77 66"
    push(client, auth("police"), [
        ent("Network", "N1", name="Réseau Nord"), ent("Network", "N2", name="Réseau Sud"),
        ent("Person", "P", first_name="Paul", last_name="Pont"),
        ent("Person", "Q", first_name="Quentin", last_name="Quai"),
        ent("Person", "S", "confidential", first_name="Serge", last_name="Secret"),
        {"type": "Phone", "ref": phone},
    ], [
        link("MEMBER_OF", ("Person", "P"), ("Network", "N1")), link("MEMBER_OF", ("Person", "P"), ("Network", "N2")),
        link("MEMBER_OF", ("Person", "S"), ("Network", "N1"), "confidential"),
        link("MEMBER_OF", ("Person", "S"), ("Network", "N2"), "confidential"),
        link("MEMBER_OF", ("Person", "Q"), ("Network", "N1")),
        link("USES", ("Person", "Q"), ("Phone", phone)),
        link("USES", ("Network", "N2"), ("Phone", phone)),
    ])
    push(client, auth("douane"), [
        ent("Network", "N3", "open", name="Filière maritime"), ent("Person", "R", first_name="Rémi", last_name="Rade"),
        {"type": "Phone", "ref": phone},
    ], [link("MEMBER_OF", ("Person", "R"), ("Network", "N3")), link("USES", ("Person", "R"), ("Phone", phone))])


def test_bridges_per_agency(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    seed_bridges(client, auth)
    phone_id = ids.identifier_id("Phone", "+33699887766")
    n1, n2, n3 = eid("police", "Network", "N1"), eid("police", "Network", "N2"), eid("douane", "Network", "N3")
    r = client.get("/v1/analytics/bridges", headers=auth("police", "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    first = body["items"][0]
    assert first["kind"] == "identifier" and first["node"]["id"] == phone_id and first["network_count"] == 3
    assert {n["id"] for n in first["networks"]} == {n1, n2, n3}
    assert all(not n["redacted"] for n in first["networks"])  # police's own two and the open customs one
    persons = {b["node"]["id"]: b for b in body["items"][1:]}
    assert set(persons) == {eid("police", "Person", "P"), eid("police", "Person", "S")}
    assert all(b["kind"] == "person" and b["network_count"] == 2 for b in persons.values())

    body = client.get("/v1/analytics/bridges", headers=auth("douane", "analyst")).json()
    assert body["total"] == 2
    phone, person = body["items"]
    assert phone["node"]["value"] == "+33699887766" and phone["network_count"] == 3
    stubs = {n["id"]: n["redacted"] for n in phone["networks"]}
    assert stubs == {n1: True, n2: True, n3: False}
    assert person["node"] == {"id": eid("police", "Person", "P"), "type": "Person", "owner_agency": "police",
                              "contact": "Police nationale — permanence OFAST relay, +33 1 00 00 00 01",
                              "redacted": True, "handling": "H0",
                              "handling_notice": "H0: for crime prevention and repression only"}
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("Serge", "Secret", eid("police", "Person", "S"), "Réseau Nord", "Réseau Sud", "Paul", "Quentin"):
        assert secret not in text
    page = client.get("/v1/analytics/bridges", params={"limit": 1, "offset": 1},
                      headers=auth("douane", "analyst")).json()
    assert page["total"] == 2 and [b["node"]["id"] for b in page["items"]] == [eid("police", "Person", "P")]
    empty = client.get("/v1/analytics/bridges", params={"offset": 10}, headers=auth("douane", "analyst")).json()
    assert empty == {"items": [], "total": 2}
    assert client.get("/v1/analytics/bridges", headers=auth("douane", "ingest")).status_code == 403
    audited = cypher(graph, "MATCH (e:AuditEvent {action: 'analytics.bridges'}) "
                            "RETURN e.agency AS agency, e.result_count AS n ORDER BY e.seq")
    assert audited == [{"agency": "police", "n": 3}, {"agency": "douane", "n": 2},
                       {"agency": "douane", "n": 1}, {"agency": "douane", "n": 0}]
