"""Full-text search and hit / no-hit lookup on a real Neo4j, under the visibility rules.

Seeded with the story of tests/test_explore.py (police's Karim Bénali and Nadia Ferhat,
douane's restricted Moussa Diallo, its open network "Réseau du Port" and a confidential
informant using phones A, B and C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.domain.explore.search import lucene_query
from tests.builders import Auth
from tests.conftest import cypher
from tests.test_explore import D1, D9, N1, P1, PHONE_A, PHONE_B, PHONE_C, A, B, C, seed


def search(client: TestClient, headers: dict[str, str], q: str, **params: Any) -> Any:
    return client.get("/v1/search", params={"q": q, **params}, headers=headers)


def found(client: TestClient, headers: dict[str, str], q: str, **params: Any) -> list[str]:
    r = search(client, headers, q, **params)
    assert r.status_code == 200, r.text
    return [hit["id"] for hit in r.json()["results"]]


Who = Callable[[str], dict[str, str]]


@pytest.fixture
def seeded(client: TestClient, auth: Auth) -> TestClient:
    seed(client, auth)
    return client


@pytest.fixture
def who(auth: Auth) -> Who:
    """Headers of an analyst of `agency` stating a purpose."""
    return lambda agency: auth(agency, "analyst", purpose="case 2024/123")


def test_search_accent_case_and_fuzzy(seeded: TestClient, who: Who) -> None:
    assert found(seeded, who("police"), "benali") == [P1]
    assert found(seeded, who("police"), "BÉNALI") == [P1]
    assert found(seeded, who("police"), "Karin") == [P1]          # one typo
    assert found(seeded, who("police"), "karim benalli") == [P1]  # every word, each fuzzy
    assert found(seeded, who("police"), "le chat") == [P1]        # aliases
    assert found(seeded, who("police"), "reseau port") == [N1]    # open network of douane, accents folded
    assert found(seeded, who("police"), "karim nadia") == []      # every word must match


def test_search_contract_ranking_and_total(seeded: TestClient, who: Who, auth: Auth) -> None:
    r = search(seeded, who("ofast"), "karim")
    body = r.json()
    assert set(body) == {"results", "total"} and body["total"] == 1
    hit = body["results"][0]
    assert hit["id"] == P1 and hit["redacted"] is False and hit["properties"]["first_name"] == "Karim"
    assert isinstance(hit["score"], float)
    # Exact matches rank above fuzzy ones.
    r = seeded.post("/v1/ingest", headers=auth("police", "investigator"),
                    json={"entities": [{"type": "Person", "ref": "P-7", "properties": {"first_name": "Karin"}}]})
    assert r.status_code == 200
    ranked = search(seeded, who("police"), "karim").json()
    assert ranked["total"] == 2 and ranked["results"][0]["id"] == P1
    page = search(seeded, who("police"), "karim", limit=1, offset=1).json()
    assert page["total"] == 2 and len(page["results"]) == 1 and page["results"][0]["id"] != P1
    assert search(seeded, who("police"), "karim", offset=5).json() == {"results": [], "total": 2}


def test_search_only_full_entities(seeded: TestClient, who: Who) -> None:
    # Restricted items of another agency are stubs: never searchable; confidential ones neither.
    for q in ("benali", "karim", "nadia ferhat"):
        assert found(seeded, who("gendarmerie"), q) == []
        assert found(seeded, who("douane"), q) == []
    for q in ("diallo", "moussa", "secret informant"):
        assert found(seeded, who("police"), q) == []
        assert found(seeded, who("gendarmerie"), q) == []
    assert found(seeded, who("douane"), "secret informant") == [D9]
    assert found(seeded, who("ofast"), "secret informant") == [D9]
    assert search(seeded, who("police"), "informant").json() == {"results": [], "total": 0}
    # Identifiers are not searchable (hit / no-hit goes through /v1/lookup).
    assert found(seeded, who("ofast"), "33612345678") == []


def test_search_types_and_validation(seeded: TestClient, who: Who, auth: Auth) -> None:
    assert found(seeded, who("ofast"), "reseau", type="Network") == [N1]
    assert found(seeded, who("ofast"), "reseau", type="Person") == []
    assert found(seeded, who("ofast"), "karim", type="Person,Case") == [P1]
    bad = search(seeded, who("ofast"), "karim", type="Persona")
    assert bad.status_code == 422 and "Persona" in bad.json()["error"]["message"]
    assert search(seeded, who("ofast"), "karim", type="Phone").status_code == 422
    assert search(seeded, who("ofast"), "!!! ???").status_code == 422
    assert search(seeded, who("ofast"), "karim", limit=101).status_code == 422
    assert search(seeded, who("ofast"), "karim", offset=10_001).status_code == 422
    no_purpose = search(seeded, auth("ofast", "analyst"), "karim")
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["code"] == "purpose_required"
    assert search(seeded, {"X-Purpose": "x"}, "karim").status_code == 401


def test_search_lucene_syntax_is_inert(seeded: TestClient, who: Who) -> None:
    for q in ('karim" OR *:*', "karim AND NOT x", "name:karim~", "(karim", "kar\\im", "a/b [c TO d]"):
        r = search(seeded, who("gendarmerie"), q)
        assert r.status_code == 200 and r.json()["results"] == [], (q, r.text)
    r = search(seeded, who("gendarmerie"), "*")  # no word left once the syntax is escaped
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_query", r.text
    assert lucene_query('Bénali "x') == "+(benali^3 OR benali~1) +x"
    assert lucene_query("Abdelkrim") == "+(abdelkrim^3 OR abdelkrim~2)"


def test_search_ignores_stop_words(seeded: TestClient, who: Who) -> None:
    # The index drops English stop words; requiring one would match nothing.
    assert found(seeded, who("police"), "the karim") == [P1]
    r = search(seeded, who("police"), "the and of")
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_query"


def test_search_audited_with_purpose_even_empty(seeded: TestClient, graph: neo4j.Driver, who: Who) -> None:
    search(seeded, who("police"), "benali")
    search(seeded, who("police"), "nobody")
    rows = cypher(graph, "MATCH (a:AuditEvent {action: 'search'}) RETURN a {.*} AS a ORDER BY a.seq")
    assert [(r["a"]["purpose"], r["a"]["result_count"]) for r in rows] == [("case 2024/123", 1),
                                                                         ("case 2024/123", 0)]
    assert rows[0]["a"]["target_ids"] == [P1]


def lookup(client: TestClient, headers: dict[str, str], type_: str, value: str) -> Any:
    return client.get("/v1/lookup", params={"type": type_, "value": value}, headers=headers)


def test_lookup_hit_names_holders_not_content(seeded: TestClient, who: Who) -> None:
    r = lookup(seeded, who("gendarmerie"), "Phone", "06 12 34 56 78")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"hit", "type", "value", "id", "holders"}
    assert body["hit"] is True and body["value"] == PHONE_A and body["id"] == A and body["type"] == "Phone"
    assert [h["agency"] for h in body["holders"]] == ["douane", "police"]
    assert all(h["contact"] for h in body["holders"])
    assert "DNRED" in body["holders"][0]["contact"]
    for secret in ("Karim", "Diallo", "Informant", "P-1", "D-1"):
        assert secret not in r.text


def test_lookup_never_reveals_confidential_holders(seeded: TestClient, who: Who) -> None:
    # Phone B: police (P-3, restricted) and douane's confidential informant.
    for agency in ("police", "gendarmerie"):
        body = lookup(seeded, who(agency), "Phone", "+33 6 98 76 54 32").json()
        assert body["hit"] is True and [h["agency"] for h in body["holders"]] == ["police"]
    assert [h["agency"] for h in lookup(seeded, who("ofast"), "Phone", PHONE_B).json()["holders"]] == [
        "douane", "police"]
    # Phone C: only the confidential informant holds it — no hit for others, no id.
    for agency in ("police", "gendarmerie"):
        body = lookup(seeded, who(agency), "Phone", PHONE_C).json()
        assert body == {"hit": False, "type": "Phone", "value": PHONE_C, "id": None, "holders": []}
    body = lookup(seeded, who("douane"), "Phone", PHONE_C).json()
    assert body["hit"] is True and body["id"] == C and [h["agency"] for h in body["holders"]] == ["douane"]
    assert lookup(seeded, who("ofast"), "Phone", PHONE_B).json()["id"] == B


def test_lookup_no_hit_validation_and_audit(seeded: TestClient, graph: neo4j.Driver, who: Who, auth: Auth) -> None:
    body = lookup(seeded, who("police"), "Phone", "0600000000").json()
    assert body == {"hit": False, "type": "Phone", "value": "+33600000000", "id": None, "holders": []}
    email = lookup(seeded, who("police"), "Email", "Nobody@Example.ORG").json()
    assert email["hit"] is False and email["value"] == "nobody@example.org"
    bad = lookup(seeded, who("police"), "Phone", "not a phone")
    assert bad.status_code == 422 and "Phone" in bad.json()["error"]["message"]
    assert lookup(seeded, who("police"), "Person", "Karim").status_code == 422
    assert lookup(seeded, who("police"), "Nope", "1").status_code == 422
    no_purpose = lookup(seeded, auth("police", "analyst"), "Phone", PHONE_A)
    assert no_purpose.status_code == 400
    assert lookup(seeded, auth("police", "ingest", purpose="x"), "Phone", PHONE_A).status_code == 403
    rows = cypher(graph, "MATCH (a:AuditEvent {action: 'lookup'}) RETURN a {.*} AS a ORDER BY a.seq")
    assert [(r["a"]["purpose"], r["a"]["result_count"]) for r in rows] == [("case 2024/123", 0),
                                                                         ("case 2024/123", 0)]


def test_search_finds_granted_entities(seeded: TestClient, who: Who, auth: Auth) -> None:
    assert found(seeded, who("police"), "diallo") == []
    r = seeded.post(f"/v1/entities/{D1}/grants", json={"agency": "police", "reason": "joint case"},
                    headers=auth("douane", "investigator"))
    assert r.status_code == 201, r.text
    assert found(seeded, who("police"), "diallo") == [D1]
    assert found(seeded, who("gendarmerie"), "diallo") == []
