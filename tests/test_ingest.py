"""POST /v1/ingest on a real Neo4j: identifier resolution, idempotency, atomic rejection, alerts."""

from __future__ import annotations

import uuid
from typing import Any

import neo4j
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_schema.normalise import phone as reference_phone
from service.core import ids
from service.domain.ingest.models import _normalised
from tests.builders import Auth, post_batch
from tests.conftest import cypher

KARIM = {"type": "Person", "ref": "P-1", "sharing": "restricted",
         "properties": {"first_name": "Karim", "last_name": "Benali", "birth_date": "1991-03-02",
                        "aliases": ["Le Chat"]}}


def batch(phone: str = "06 12 34 56 78", person: dict[str, Any] | None = None) -> dict[str, Any]:
    person = person or KARIM
    return {
        "entities": [person, {"type": "Phone", "ref": phone}],
        "links": [{"type": "USES", "from": {"type": "Person", "ref": person["ref"]},
                   "to": {"type": "Phone", "ref": phone}, "sharing": "restricted",
                   "properties": {"since": "2024-01-01"}}],
    }


def snapshot(drv: neo4j.Driver) -> list[dict[str, Any]]:
    nodes = cypher(drv, "MATCH (n:Node) RETURN n.id AS id, properties(n) AS p ORDER BY id")
    rels = cypher(drv, "MATCH ()-[r]->() RETURN r.id AS id, properties(r) AS p ORDER BY id")
    return nodes + rels


def counts(drv: neo4j.Driver) -> tuple[int, int]:
    rows = cypher(drv, "MATCH (n) WHERE NOT n:SchemaMigration AND NOT n:AuditHead AND NOT n:AuditEvent "
                       "RETURN count(n) AS n")
    rels = cypher(drv, "MATCH ()-[r]->() RETURN count(r) AS n")
    return rows[0]["n"], rels[0]["n"]


def test_contract_and_labels(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    r = post_batch(client, auth("police", "investigator", unit="OCRTIS"), batch())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"batch_id", "entities", "links"}
    person_id = ids.entity_id("police", "Person", "P-1")
    phone_id = ids.identifier_id("Phone", "+33612345678")
    assert body["entities"] == [
        {"index": 0, "type": "Person", "ref": "P-1", "id": person_id, "status": "created"},
        {"index": 1, "type": "Phone", "ref": "+33612345678", "id": phone_id, "status": "created"},
    ]
    link_id = ids.link_id("police", "USES", person_id, phone_id)
    assert body["links"] == [{"index": 0, "id": link_id, "status": "created"}]
    labels = {r["id"]: set(r["labels"]) for r in cypher(graph, "MATCH (n:Node) RETURN n.id AS id, labels(n) AS labels")}
    assert labels[person_id] == {"Node", "Entity", "Person"}
    assert labels[phone_id] == {"Node", "Identifier", "Phone"}
    person = cypher(graph, "MATCH (n:Person) RETURN properties(n) AS p")[0]["p"]
    assert person["search_text"] == "Karim Benali Le Chat"
    assert person["aliases"] == ["Le Chat"] and person["birth_date"] == "1991-03-02"
    assert person["version"] == 1 and person["sharing"] == "restricted"
    phone = cypher(graph, "MATCH (n:Phone) RETURN properties(n) AS p")[0]["p"]
    assert phone["value"] == phone["search_text"] == "+33612345678"
    assert "owner_agency" not in phone
    rel = cypher(graph, "MATCH ()-[r:USES]->() RETURN properties(r) AS p")[0]["p"]
    assert rel["since"] == "2024-01-01" and rel["owner_agency"] == "police" and rel["version"] == 1


def test_phone_in_two_formats_by_two_agencies_is_one_node(client: TestClient, auth: Auth,
                                                          graph: neo4j.Driver) -> None:
    a = post_batch(client, auth("police"), batch("06 12 34 56 78"))
    b = post_batch(client, auth("douane"), batch("+33612345678"))
    assert a.status_code == b.status_code == 200
    assert a.json()["entities"][1]["id"] == b.json()["entities"][1]["id"]
    assert b.json()["entities"][1]["status"] == "unchanged"
    rows = cypher(graph, "MATCH (p:Phone) RETURN p.value AS v, COUNT { (p)<-[:USES]-() } AS users")
    assert rows == [{"v": "+33612345678", "users": 2}]
    owners = cypher(graph, "MATCH (n:Person) RETURN n.owner_agency AS a ORDER BY a")
    assert [r["a"] for r in owners] == ["douane", "police"]


def test_same_batch_twice_is_unchanged(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    first = post_batch(client, h, batch())
    before = snapshot(graph)
    second = post_batch(client, h, batch())
    assert second.status_code == 200
    out = second.json()
    assert {e["status"] for e in out["entities"]} == {"unchanged"}
    assert {e["status"] for e in out["links"]} == {"unchanged"}
    assert [e["id"] for e in out["entities"]] == [e["id"] for e in first.json()["entities"]]
    assert snapshot(graph) == before


def test_update_replaces_properties_and_bumps_version(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    post_batch(client, h, batch())
    changed = {"type": "Person", "ref": "P-1", "sharing": "open", "properties": {"first_name": "Karim"}}
    r = post_batch(client, h, {"entities": [changed]})
    assert r.json()["entities"][0]["status"] == "updated"
    p = cypher(graph, "MATCH (n:Person) RETURN properties(n) AS p")[0]["p"]
    assert p["version"] == 2 and p["sharing"] == "open" and p["first_name"] == "Karim"
    assert "last_name" not in p and "aliases" not in p and "birth_date" not in p
    assert p["search_text"] == "Karim"
    # A link update bumps the link's version too.
    link = batch()["links"][0] | {"properties": {"since": "2023-05-01"}}
    r = post_batch(client, h, {"links": [link]})
    assert r.json()["links"][0]["status"] == "updated"
    rel = cypher(graph, "MATCH ()-[r:USES]->() RETURN r.version AS v, r.since AS s")[0]
    assert rel == {"v": 2, "s": "2023-05-01"}


def test_bad_batch_lists_every_error_and_writes_nothing(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    post_batch(client, h, batch())
    before = counts(graph)
    bad = {
        "entities": [
            {"type": "Person", "ref": "P-2", "properties": {"first_name": "Ok"}},   # valid
            {"type": "Spaceship", "ref": "X"},                                       # 1
            {"type": "Person", "ref": "P-3", "properties": {"shoe_size": 42}},       # 2
            {"type": "Person", "ref": "P-4", "properties": {"birth_date": "yesterday"}},  # 3
            {"type": "Phone", "ref": "not a phone"},                                 # 4
            {"type": "Person", "ref": "P-2"},                                        # 5 duplicate
            {"type": "Seizure", "ref": "S-1", "properties": {"quantity": "lots"}},   # 6
            {"type": "Person", "ref": "P-5", "sharing": "secret"},                   # 7
        ],
        "links": [
            {"type": "USES", "from": {"type": "Phone", "ref": "0612345678"},
             "to": {"type": "Person", "ref": "P-2"}},                                # 0 disallowed pair
            {"type": "MEMBER_OF", "from": {"type": "Person", "ref": "P-2"},
             "to": {"type": "Network", "ref": "N-unknown"}},                         # 1 missing owned end
            {"type": "KNOWS", "from": {"type": "Person", "ref": "P-2"},
             "to": {"type": "Person", "ref": "P-1"}},                                # 2 unknown type
            {"type": "CALLED", "from": {"type": "Phone", "ref": "0612345678"},
             "to": {"type": "Phone", "ref": "0698765432"}, "properties": {"count": "3"}},  # 3 wrong type
        ],
    }
    r = post_batch(client, h, bad)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    got = {(d["section"], d["index"], d["field"]) for d in err["details"]}
    assert got == {
        ("entities", 1, "type"), ("entities", 2, "properties.shoe_size"),
        ("entities", 3, "properties.birth_date"), ("entities", 4, "ref"), ("entities", 5, "ref"),
        ("entities", 6, "properties.quantity"), ("entities", 7, "sharing"),
        ("links", 0, "type"), ("links", 1, "to.ref"), ("links", 2, "type"),
        ("links", 3, "properties.count"),
    }
    assert all(d["message"] for d in err["details"])
    assert counts(graph) == before


def test_stored_own_entity_is_a_valid_link_end(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    post_batch(client, h, {"entities": [{"type": "Network", "ref": "N-1", "properties": {"name": "DZ"}}]})
    link = {"type": "MEMBER_OF", "from": {"type": "Person", "ref": "P-1"}, "to": {"type": "Network", "ref": "N-1"},
            "properties": {"role": "head"}}
    r = post_batch(client, h, {"entities": [KARIM], "links": [link]})
    assert r.status_code == 200, r.text
    # Another agency's entity with the same ref is not a valid end for gendarmerie.
    r = post_batch(client, auth("gendarmerie"), {"entities": [KARIM], "links": [link]})
    assert r.status_code == 422
    assert [(d["index"], d["field"]) for d in r.json()["error"]["details"]] == [(0, "to.ref")]


def test_another_agencys_entity_is_403(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    out = post_batch(client, auth("police"), batch()).json()
    person_id = out["entities"][0]["id"]
    before = snapshot(graph)
    attempt = {"entities": [{"type": "Person", "ref": "D-1"},
                            {"id": person_id, "type": "Person", "ref": "P-1", "properties": {"first_name": "X"}}]}
    r = post_batch(client, auth("douane"), attempt)
    assert r.status_code == 403
    err = r.json()["error"]
    assert "entities[1]" in err["message"] and person_id in err["message"]
    assert err["details"][0]["index"] == 1 and err["details"][0]["id"] == person_id
    # The central agency cannot modify it either.
    assert post_batch(client, auth("ofast", "admin"), attempt).status_code == 403
    assert snapshot(graph) == before
    # The owner may name its own id; a wrong id is a validation error.
    own = {"entities": [{"id": person_id} | KARIM]}
    assert post_batch(client, auth("police"), own).status_code == 200
    wrong = {"entities": [{"id": ids.entity_id("police", "Person", "P-9")} | KARIM]}
    r = post_batch(client, auth("police"), wrong)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "id"


def test_over_item_limit_is_413(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    limit = client.app.state.settings.max_batch_items  # type: ignore[attr-defined]
    body = {"entities": [{"type": "Person", "ref": f"P-{i}"} for i in range(limit + 1)]}
    r = post_batch(client, auth("police"), body)
    assert r.status_code == 413
    assert str(limit) in r.json()["error"]["message"]
    assert counts(graph)[0] == 0


def test_permissions_and_bad_json(client: TestClient, auth: Auth) -> None:
    assert post_batch(client, auth("police", "analyst"), batch()).status_code == 403
    assert post_batch(client, auth("police", "ingest"), batch()).status_code == 200
    assert client.post("/v1/ingest", json=batch()).status_code == 401
    r = client.post("/v1/ingest", content=b"{not json", headers=auth("police") | {"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post("/v1/ingest", json=[1, 2], headers=auth("police"))
    assert r.status_code == 422


def test_provenance_from_token_and_header(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("gendarmerie", unit="SR Marseille", X_Source_System="LRPGN")
    person = KARIM | {"properties": {"first_name": "Karim"}}
    # Owner fields in the payload are not properties: they are rejected, never taken.
    forged = person | {"properties": {"first_name": "Karim", "owner_agency": "police"}}
    assert post_batch(client, h, {"entities": [forged]}).status_code == 422
    r = post_batch(client, h, batch(person=person))
    batch_id = r.json()["batch_id"]
    p = cypher(graph, "MATCH (n:Person) RETURN properties(n) AS p")[0]["p"]
    assert p["owner_agency"] == "gendarmerie" and p["owner_unit"] == "SR Marseille"
    assert p["source_system"] == "LRPGN" and p["batch_id"] == batch_id and p["version"] == 1
    assert p["created_at"] == p["updated_at"] and len(p["content_hash"]) == 64
    rel = cypher(graph, "MATCH ()-[r:USES]->() RETURN properties(r) AS p")[0]["p"]
    assert rel["owner_agency"] == "gendarmerie" and rel["source_system"] == "LRPGN"
    assert rel["batch_id"] == batch_id and rel["owner_unit"] == "SR Marseille"
    audit = cypher(graph, "MATCH (a:AuditEvent {action: 'ingest'}) RETURN a.result_count AS n, a.agency AS ag")
    assert audit == [{"n": 3, "ag": "gendarmerie"}]


def test_max_sharing_from_policy(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    from dataclasses import replace

    policy = client.app.state.policy  # type: ignore[attr-defined]
    original = policy.agencies["police"]
    policy.agencies["police"] = replace(original, max_sharing="restricted")
    try:
        r = post_batch(client, auth("police"), {"entities": [KARIM | {"sharing": "confidential"}]})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "sharing"
        assert post_batch(client, auth("police"), {"entities": [KARIM]}).status_code == 200
    finally:
        policy.agencies["police"] = original


def test_link_ref_distinguishes_parallel_links(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    iban_a, iban_b = "FR76 3000 6000 0112 3456 7890 189", "DE89370400440532013000"
    links = [{"type": "TRANSFERRED", "ref": f"T-{i}", "from": {"type": "BankAccount", "ref": iban_a},
              "to": {"type": "BankAccount", "ref": iban_b}, "properties": {"amount_eur": 1000.0 * i}}
             for i in (1, 2)]
    r = post_batch(client, auth("douane"), {"links": links})
    assert r.status_code == 200, r.text
    assert len({link["id"] for link in r.json()["links"]}) == 2
    rows = cypher(graph, "MATCH (a:BankAccount)-[t:TRANSFERRED]->(b) RETURN a.value AS a, b.value AS b, "
                         "t.amount_eur AS amt ORDER BY amt")
    assert [r["amt"] for r in rows] == [1000.0, 2000.0]
    assert rows[0]["a"] == "FR7630006000011234567890189"


def test_injection_strings_are_data(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    evil = "') DETACH DELETE n //"
    body = {"entities": [{"type": "Person", "ref": evil, "properties": {"first_name": evil, "aliases": [evil]}}]}
    r = post_batch(client, auth("police"), body)
    assert r.status_code == 200
    rows = cypher(graph, "MATCH (n:Person) RETURN n.ref AS ref, n.first_name AS f")
    assert rows == [{"ref": evil, "f": evil}]


def alerts(drv: neo4j.Driver) -> list[dict[str, Any]]:
    return cypher(drv, "MATCH (a:Alert) RETURN a.agency AS agency, a.kind AS kind, a.entity_id AS entity, "
                       "a.identifier_id AS identifier, a.counterpart_agency AS other, "
                       "a.counterpart_contact AS contact, a.acknowledged AS ack ORDER BY agency")


def test_shared_identifier_alerts_once_per_pair(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    police, douane = auth("police"), auth("douane")
    post_batch(client, police, batch("06 12 34 56 78"))
    assert alerts(graph) == []
    douane_person = {"type": "Person", "ref": "DN-7", "properties": {"last_name": "X"}}
    post_batch(client, douane, batch("+33 6 12 34 56 78", person=douane_person))
    phone = ids.identifier_id("Phone", "+33612345678")
    policy = client.app.state.policy  # type: ignore[attr-defined]
    assert alerts(graph) == [
        {"agency": "douane", "kind": "shared_identifier", "entity": ids.entity_id("douane", "Person", "DN-7"),
         "identifier": phone, "other": "police", "contact": policy.contact("police"), "ack": False},
        {"agency": "police", "kind": "shared_identifier", "entity": ids.entity_id("police", "Person", "P-1"),
         "identifier": phone, "other": "douane", "contact": policy.contact("douane"), "ack": False},
    ]
    # Re-pushes, updates and a second douane entity on the same phone raise nothing new.
    post_batch(client, douane, batch("+33612345678", person=douane_person))
    post_batch(client, police, batch("0612345678", person=KARIM | {"properties": {"first_name": "K"}}))
    post_batch(client, douane, batch("0612345678", person={"type": "Person", "ref": "DN-8"}))
    assert len(alerts(graph)) == 2
    ids_ = cypher(graph, "MATCH (a:Alert) RETURN a.id AS id, a.pair_key AS k")
    assert len({r["id"] for r in ids_}) == 2 and all(r["k"] for r in ids_)


def test_confidential_data_raises_no_alert_for_the_other_side(client: TestClient, auth: Auth,
                                                              graph: neo4j.Driver) -> None:
    secret = KARIM | {"sharing": "confidential"}
    body = batch(person=secret)
    body["links"][0]["sharing"] = "confidential"
    post_batch(client, auth("police"), body)
    post_batch(client, auth("douane"), batch(person={"type": "Person", "ref": "DN-1"}))
    # douane may not learn police's confidential data exists; police may learn douane's.
    assert [(a["agency"], a["other"]) for a in alerts(graph)] == [("police", "douane")]


# --- hot-path shortcuts agree with the reference implementations -------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_fast_uuid5_matches_the_standard_library(a: str, b: str, c: str) -> None:
    for name in (a, f"entity\x1f{a}\x1f{b}\x1f{c}", f"link\x1f{a}\x1f{b}\x1f{c}\x1f{a}\x1f{b}\x1f"):
        assert ids.uuid5(name) == str(uuid.uuid5(ids.NAMESPACE, name))
    assert ids.identifier_id(a, b) == str(uuid.uuid5(ids.NAMESPACE, f"identifier\x1f{a}\x1f{b}"))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.integers(0, 10**8 - 1), st.sampled_from(["", " ", ".", "-"]),
       st.sampled_from(["0", "+33", "+33 "]))
def test_french_phone_shortcut_matches_phonenumbers(first: int, rest: int, sep: str, prefix: str) -> None:
    digits = f"{first}{rest:08d}"
    value = prefix + digits[0] + sep + sep.join(digits[i:i + 2] for i in range(1, 9, 2))
    assert _normalised("phone", value) == reference_phone(value)


def test_identifier_properties_and_duplicates(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("douane")
    # The same plate twice in one batch, written two ways: one node, both items report it.
    body = {"entities": [{"type": "Vehicle", "ref": "ab-123-cd"}, {"type": "Vehicle", "ref": "AB 123 CD"}]}
    out = post_batch(client, h, body).json()["entities"]
    assert out[0]["id"] == out[1]["id"] and out[0]["ref"] == "AB123CD"
    assert [e["status"] for e in out] == ["created", "created"]
    r = post_batch(client, h, {"entities": [{"type": "Vehicle", "ref": "AB123CD", "properties": {"kind": "car"}}]})
    assert r.json()["entities"][0]["status"] == "updated"
    # Another agency's push without the property neither changes nor erases it.
    r = post_batch(client, auth("police"), {"entities": [{"type": "Vehicle", "ref": "AB-123-CD"}]})
    assert r.json()["entities"][0]["status"] == "unchanged"
    assert cypher(graph, "MATCH (v:Vehicle) RETURN v.kind AS k") == [{"k": "car"}]
    conflicting = {"entities": [{"type": "Vehicle", "ref": "XY1", "properties": {"kind": "car"}},
                                {"type": "Vehicle", "ref": "xy-1", "properties": {"kind": "boat"}}]}
    r = post_batch(client, h, conflicting)
    assert r.status_code == 422
    assert [(d["index"], d["field"]) for d in r.json()["error"]["details"]] == [(1, "properties")]
