"""Evaluation codes, handling codes and minors (issue 9, part A), on a real Neo4j."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import neo4j
from fastapi.testclient import TestClient

from graph_schema import get_schema
from graph_schema.migrations import migrate
from service.core import ids
from service.domain.ingest.models import is_minor
from tests.builders import Auth, ent, ingest_as, link, person, uses
from tests.conftest import cypher

PHONE = "06 11 22 33 44"


def get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers={**headers, "X-Purpose": "PROC-2026-9"})


def years_ago(years: int, days: int = 0) -> str:
    today = dt.date.today()
    if (today.month, today.day) == (2, 29):
        today -= dt.timedelta(days=1)
    return (today.replace(year=today.year - years) - dt.timedelta(days=days)).isoformat()


# --- evaluation codes ----------------------------------------------------------------------------


def test_codes_are_stored_returned_and_part_of_the_content(client: TestClient, auth: Auth,
                                                           graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
              [person("P-1", first_name="Karim", reliability="B", accuracy=2, handling="H1"),
               person("P-2", first_name="Karim")],
              [uses("P-1", PHONE, reliability="A", accuracy="1", handling="H3",
                    handling_note="ne pas contacter la source")])
    p1, p2 = ids.entity_id("police", "Person", "P-1"), ids.entity_id("police", "Person", "P-2")
    stored = cypher(graph, "MATCH (p:Person {id: $id}) RETURN p {.*} AS p", id=p1)[0]["p"]
    assert (stored["reliability"], stored["accuracy"], stored["handling"]) == ("B", "2", "H1")
    assert "handling_note" not in stored

    body = client.get(f"/v1/entities/{p1}", headers=auth("police", "analyst")).json()
    assert (body["reliability"], body["accuracy"], body["handling"]) == ("B", "2", "H1")
    assert "judicial proceedings" in body["handling_notice"] and body["handling_note"] is None
    assert "reliability" not in body["properties"] and "minor" not in body["properties"]
    # Defaults of the policy: X (cannot be assessed), 4 (cannot be judged), H0.
    body2 = client.get(f"/v1/entities/{p2}", headers=auth("police", "analyst")).json()
    assert (body2["reliability"], body2["accuracy"], body2["handling"]) == ("X", "4", "H0")

    edge = client.get(f"/v1/entities/{p1}/neighbourhood", headers=auth("police", "analyst")).json()["edges"][0]
    assert (edge["reliability"], edge["accuracy"], edge["handling"]) == ("A", "1", "H3")
    assert edge["handling_note"] == "ne pas contacter la source"

    # Same codes: unchanged. Changed codes: updated (the codes are in the content hash).
    again = ingest_as(client, auth, "police",
                      [person("P-1", first_name="Karim", reliability="B", accuracy="2", handling="H1")],
                      [uses("P-1", PHONE, reliability="A", accuracy=1, handling="H3",
                            handling_note="ne pas contacter la source")])
    assert again["entities"][0]["status"] == "unchanged" and again["links"][0]["status"] == "unchanged"
    changed = ingest_as(client, auth, "police",
                        [person("P-1", first_name="Karim", reliability="B", accuracy="3", handling="H1")],
                        [uses("P-1", PHONE, reliability="A", accuracy=1, handling="H2")])
    assert changed["entities"][0]["status"] == "updated" and changed["links"][0]["status"] == "updated"
    rows = cypher(graph, "MATCH (p:Person {id: $id})-[r:USES]->() RETURN p.accuracy AS a, p.version AS v, "
                         "r.handling AS h, r.handling_note AS note", id=p1)
    assert rows == [{"a": "3", "v": 2, "h": "H2", "note": None}]
    # Without codes, an item pushed before the codes existed keeps its hash (no spurious update).
    again = ingest_as(client, auth, "police", [person("P-2", first_name="Karim")])
    assert again["entities"][0]["status"] == "unchanged"


def test_invalid_codes_are_422_naming_each_field(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    r = client.post("/v1/ingest", headers=auth("police", "investigator"), json={
        "entities": [person("P-1", first_name="Karim", reliability="E"), person("P-2", first_name="Karim", accuracy=5),
                     person("P-3", first_name="Karim", handling="H4"), person("P-4", first_name="Karim", handling="H3"),
                     person("P-5", first_name="Karim", handling="H1", handling_note="x"),
                     {"type": "Phone", "ref": PHONE, "handling": "H2"},
                     person("P-6", first_name="Karim", accuracy=True)],
        "links": [uses("P-1", PHONE, reliability="a")]})
    assert r.status_code == 422, r.text
    errors = {(e["section"], e["index"], e["field"]): e["message"] for e in r.json()["error"]["details"]}
    assert "A, B, C, X" in errors[("entities", 0, "reliability")]
    assert "1, 2, 3, 4" in errors[("entities", 1, "accuracy")]
    assert "H0, H1, H2, H3" in errors[("entities", 2, "handling")]
    assert "needs a handling_note" in errors[("entities", 3, "handling_note")]
    assert "H3 only" in errors[("entities", 4, "handling_note")]
    assert "identifier" in errors[("entities", 5, "handling")]
    assert ("entities", 6, "accuracy") in errors and ("links", 0, "reliability") in errors
    assert cypher(graph, "MATCH (n:Node) RETURN count(n) AS c")[0]["c"] == 0


def test_stubs_show_the_handling_code_never_the_content(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
         [person("P-1", first_name="Zorglub", reliability="A", accuracy=1, handling="H3", handling_note="SECRET-NOTE")],
         [uses("P-1", PHONE, handling="H1")])
    pid = ids.entity_id("police", "Person", "P-1")
    stub = client.get(f"/v1/entities/{pid}", headers=auth("gendarmerie", "analyst")).json()
    assert stub["redacted"] is True and stub["handling"] == "H3"
    text = str(stub)
    assert "SECRET-NOTE" not in text and "Zorglub" not in text and "reliability" not in stub
    phone = ids.identifier_id("Phone", "+33611223344")
    hood = client.get(f"/v1/entities/{phone}/neighbourhood", headers=auth("gendarmerie", "analyst"))
    assert hood.status_code == 200 and "SECRET-NOTE" not in hood.text and "Zorglub" not in hood.text
    nodes = {n["id"]: n for n in hood.json()["nodes"]}
    assert nodes[pid]["redacted"] and nodes[pid]["handling"] == "H3"
    (edge,) = hood.json()["edges"]
    assert edge["redacted"] and edge["handling"] == "H1" and "judicial" in edge["handling_notice"]
    # Central agency sees it in full, the note included.
    full = client.get(f"/v1/entities/{pid}", headers=auth("ofast", "analyst")).json()
    assert full["handling_note"] == "SECRET-NOTE" and full["reliability"] == "A"


def test_min_reliability_and_accuracy_filter_search_and_neighbourhood(client: TestClient, auth: Auth,
                                                                      graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
              [person("A1", "open", first_name="Karim", reliability="A", accuracy=1),
               person("B3", "open", first_name="Karim", reliability="B", accuracy=3),
               person("C2", "open", first_name="Karim", reliability="C", accuracy=2),
               person("X4", "open", first_name="Karim")],
              [uses("A1", PHONE, reliability="A", accuracy=1), uses("B3", PHONE, reliability="B", accuracy=2),
               uses("C2", PHONE, reliability="A", accuracy=1), uses("X4", PHONE, reliability="A", accuracy=1)])
    ingest_as(client, auth, "gendarmerie",
              [person("G1", "restricted", first_name="Karim", reliability="A", accuracy=1)],
              [uses("G1", PHONE, "restricted", reliability="A", accuracy=1)])
    ref = {ids.entity_id("police", "Person", r): r for r in ("A1", "B3", "C2", "X4")}
    h = auth("police", "analyst")

    def found(**params: Any) -> set[str]:
        r = get(client, h, "/v1/search", q="Karim", **params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["results"])
        return {ref[x["id"]] for x in r.json()["results"] if x["id"] in ref}

    assert found() == {"A1", "B3", "C2", "X4"}
    assert found(min_reliability="B") == {"A1", "B3"}
    assert found(min_accuracy="2") == {"A1", "C2"}
    assert found(min_reliability="B", min_accuracy="2") == {"A1"}
    result = get(client, h, "/v1/search", q="Karim", min_reliability="A").json()["results"][0]
    assert (result["reliability"], result["accuracy"], result["handling"]) == ("A", "1", "H0")
    for bad in ({"min_reliability": "D"}, {"min_accuracy": "0"}, {"min_accuracy": "high"}):
        r = get(client, h, "/v1/search", q="Karim", **bad)
        assert r.status_code == 422 and r.json()["error"]["code"].startswith("invalid_min_"), r.text
        assert "keeps" in r.json()["error"]["message"]

    phone = ids.identifier_id("Phone", "+33611223344")

    def hood(**params: Any) -> set[str]:
        r = get(client, h, f"/v1/entities/{phone}/neighbourhood", **params)
        assert r.status_code == 200, r.text
        return {ref.get(n["id"], "stub" if n["redacted"] else n["type"]) for n in r.json()["nodes"]}

    assert hood() == {"Phone", "A1", "B3", "C2", "X4", "stub"}
    # Node and link must both meet the minimum; a stub's codes are not the caller's: left out.
    assert hood(min_reliability="B") == {"Phone", "A1", "B3"}
    assert hood(min_accuracy="1") == {"Phone", "A1"}
    assert hood(min_reliability="c", min_accuracy="2") == {"Phone", "A1", "C2"}
    r = get(client, h, f"/v1/entities/{phone}/neighbourhood", min_reliability="Z")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_min_reliability"
    # The start node is returned whatever its codes.
    x4 = ids.entity_id("police", "Person", "X4")
    nodes = get(client, h, f"/v1/entities/{x4}/neighbourhood", min_reliability="A").json()["nodes"]
    assert [n["id"] for n in nodes] == [x4, phone]


def test_h2_refuses_grants_disseminations_and_exports_by_non_owners(client: TestClient, auth: Auth,
                                                                    graph: neo4j.Driver) -> None:
    ingest_as(client, auth, "police",
              [person("P-1", first_name="Karim", handling="H2"), person("P-2", "open", first_name="Karim")],
              [uses("P-1", PHONE), uses("P-2", PHONE, "open", handling="H2")])
    p1, p2 = ids.entity_id("police", "Person", "P-1"), ids.entity_id("police", "Person", "P-2")
    phone = ids.identifier_id("Phone", "+33611223344")

    r = client.post(f"/v1/entities/{p1}/grants", json={"agency": "douane", "reason": "JIT"},
                    headers=auth("ofast", "investigator"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "handling_h2" and "H2" in r.json()["error"]["message"]
    r = client.post("/v1/disseminations", json={"entity_ids": [p2, p1], "agencies": ["douane"], "note": "analysis"},
                    headers=auth("ofast", "investigator"))
    assert r.status_code == 403 and "H2" in r.json()["error"]["message"] and r.json()["error"]["details"]["ids"] == [p1]
    assert cypher(graph, "MATCH (g:Grant) RETURN count(g) AS c")[0]["c"] == 0
    assert cypher(graph, "MATCH (d:Dissemination) RETURN count(d) AS c")[0]["c"] == 0
    # The owner consents by granting it itself.
    r = client.post(f"/v1/entities/{p1}/grants", json={"agency": "douane", "reason": "JIT"},
                    headers=auth("police", "investigator"))
    assert r.status_code == 201, r.text

    for agency in ("gendarmerie", "ofast"):
        for fmt in ("graphml", "ftm"):
            r = get(client, auth(agency, "analyst"), f"/v1/entities/{phone}/neighbourhood", format=fmt)
            assert r.status_code == 403, r.text
            err = r.json()["error"]
            assert err["code"] == "handling_h2" and "H2" in err["message"] and p1 in err["message"]
            assert set(err["details"]["ids"]) >= {p1}
        r = get(client, auth(agency, "analyst"), "/v1/paths", source=p2, target=phone, format="graphml")
        assert r.status_code == 403 and "H2" in r.json()["error"]["message"]
        assert get(client, auth(agency, "analyst"), f"/v1/entities/{phone}/neighbourhood").status_code == 200
    for fmt, marker in (("graphml", "H2: no dissemination"), ("ftm", "H2: no dissemination")):
        r = get(client, auth("police", "analyst"), f"/v1/entities/{phone}/neighbourhood", format=fmt)
        assert r.status_code == 200 and marker in r.text, r.text[:300]


def test_minor_flag_follows_the_service_clock(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                              clock: Any) -> None:
    today = clock.today()
    assert is_minor(years_ago(17, -1), today) and not is_minor(years_ago(18), today)
    assert is_minor("2008-02-29", dt.date(2026, 2, 28)) and not is_minor("2008-02-29", dt.date(2026, 3, 1))
    born = years_ago(17)
    ingest_as(client, auth, "police", [{"type": "Person", "ref": "M-1", "properties": {"birth_date": born}},
                                  {"type": "Person", "ref": "A-1", "properties": {"birth_date": years_ago(30)}},
                                  {"type": "Person", "ref": "N-1"}])
    clock.advance(dt.timedelta(days=2 * 366))
    ingest_as(client, auth, "police", [{"type": "Person", "ref": "M-2", "properties": {"birth_date": born}}])
    # Still flagged after turning 18: unchanged, or changed with the same birth date.
    assert ingest_as(client, auth, "police", [{"type": "Person", "ref": "M-1", "properties": {"birth_date": born}}]
                )["entities"][0]["status"] == "unchanged"
    ingest_as(client, auth, "police", [{"type": "Person", "ref": "A-1", "properties": {"birth_date": years_ago(30),
                                                                                  "first_name": "Ali"}}])
    assert ingest_as(client, auth, "police", [{"type": "Person", "ref": "M-1",
                                          "properties": {"birth_date": born, "first_name": "Mo"}}]
                )["entities"][0]["status"] == "updated"
    flags = {r["ref"]: r["minor"] for r in cypher(graph, "MATCH (p:Person) RETURN p.ref AS ref, p.minor AS minor")}
    assert flags == {"M-1": True, "A-1": False, "N-1": False, "M-2": False}
    # A corrected birth date re-evaluates the flag, on the clock's today.
    ingest_as(client, auth, "police", [{"type": "Person", "ref": "M-1", "properties": {"birth_date": years_ago(40)}},
                                  {"type": "Person", "ref": "A-1", "properties": {"birth_date": years_ago(5)}}])
    flags = {r["ref"]: r["minor"] for r in cypher(graph, "MATCH (p:Person) RETURN p.ref AS ref, p.minor AS minor")}
    assert flags == {"M-1": False, "A-1": True, "N-1": False, "M-2": False}


def test_minors_are_hit_no_hit_only_for_every_other_agency(client: TestClient, auth: Auth,
                                                           graph: neo4j.Driver) -> None:
    minor = person("M-1", "open", first_name="Kevin", last_name="Mineur", birth_date=years_ago(15))
    ingest_as(client, auth, "police",
              [minor, person("P-2", "open", first_name="Karim"), ent("Network", "N-1", "open", name="Les Calanques")],
              [uses("M-1", PHONE), uses("M-1", "06 99 88 77 66", "open"), uses("P-2", "06 99 88 77 66"),
               link("MEMBER_OF", ("Person", "M-1"), ("Network", "N-1"), "open")])
    m1, p2 = ids.entity_id("police", "Person", "M-1"), ids.entity_id("police", "Person", "P-2")
    net = ids.entity_id("police", "Network", "N-1")
    phone = ids.identifier_id("Phone", "+33611223344")
    assert cypher(graph, "MATCH (p:Person {id: $id}) RETURN p.minor AS m", id=m1) == [{"m": True}]

    # The owner sees the minor everywhere.
    owner = auth("police", "analyst")
    assert client.get(f"/v1/entities/{m1}", headers=owner).json()["properties"]["last_name"] == "Mineur"
    assert get(client, owner, "/v1/search", q="Mineur").json()["total"] == 1
    assert m1 in get(client, owner, f"/v1/entities/{phone}/neighbourhood").text
    assert get(client, owner, "/v1/paths", source=phone, target=p2).json()["paths"]

    # Not even a grant shows it to another agency: the owner cannot grant it.
    r = client.post(f"/v1/entities/{m1}/grants", json={"agency": "douane", "reason": "JIT"},
                    headers=auth("police", "investigator"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "minor_record"

    for agency in ("gendarmerie", "douane", "ofast"):  # the central agency included (issue 9)
        h = auth(agency, "analyst", "target_manager")
        assert client.get(f"/v1/entities/{m1}", headers=h).status_code == 404
        assert get(client, h, "/v1/search", q="Mineur").json() == {"results": [], "total": 0}
        assert get(client, h, "/v1/search", q="Kevin").json()["total"] == 0
        hood = get(client, h, f"/v1/entities/{phone}/neighbourhood", depth=3)
        assert hood.status_code == 200 and m1 not in hood.text and "Mineur" not in hood.text
        assert [n["id"] for n in hood.json()["nodes"]] == [phone] and hood.json()["edges"] == []
        assert get(client, h, f"/v1/entities/{m1}/neighbourhood").status_code == 404
        # No path through the minor (phone -> minor -> other phone -> P-2), none to it.
        paths = get(client, h, "/v1/paths", source=phone, target=p2)
        assert paths.status_code == 200 and paths.json()["paths"] == []
        assert get(client, h, "/v1/paths", source=phone, target=m1).status_code == 404
        network = get(client, h, f"/v1/networks/{net}")
        assert network.status_code == 200 and m1 not in network.text and "Mineur" not in network.text
        assert m1 not in get(client, h, "/v1/analytics/key-players", network=net).text
        for fmt in ("graphml", "ftm"):
            assert m1 not in get(client, h, f"/v1/entities/{p2}/neighbourhood", depth=3, format=fmt).text
        # Hit / no-hit is all they get: the holder is named, nothing else.
        hit = get(client, h, "/v1/lookup", type="Phone", value=PHONE).json()
        assert hit["hit"] is True and [x["agency"] for x in hit["holders"]] == ["police"]
        assert m1 not in str(hit)
    r = client.post("/v1/disseminations", json={"entity_ids": [m1], "agencies": ["douane"], "note": "analysis"},
                    headers=auth("ofast", "investigator"))
    assert r.status_code == 422 and r.json()["error"]["details"]["missing"] == [m1]


def test_migration_9_flags_persons_stored_before_the_flag(graph: neo4j.Driver, neo4j_srv: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    cypher(graph, """
        UNWIND $rows AS r
        CREATE (:Node:Entity:Person {id: r.id, type: 'Person', owner_agency: 'police', sharing: 'open',
                                     birth_date: r.born, created_at: r.at})""", rows=[
        {"id": "old-minor", "born": years_ago(30), "at": (now - dt.timedelta(days=20 * 365)).isoformat()},
        {"id": "old-adult", "born": years_ago(30), "at": now.isoformat()},
        {"id": "no-birth-date", "born": None, "at": now.isoformat()}])

    async def run() -> None:
        adrv = neo4j.AsyncGraphDatabase.driver(neo4j_srv.uri, auth=(neo4j_srv.user, neo4j_srv.password),
                                               notifications_min_severity="OFF")
        try:
            await migrate(adrv, "neo4j", get_schema())
        finally:
            await adrv.close()

    asyncio.run(run())
    rows = cypher(graph, "MATCH (p:Person) RETURN p.id AS id, p.minor AS minor ORDER BY id")
    assert rows == [{"id": "no-birth-date", "minor": None}, {"id": "old-adult", "minor": False},
                    {"id": "old-minor", "minor": True}]
