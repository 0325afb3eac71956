"""Write-only sources (measure 15) and public reports (measure 16), on a real Neo4j.

A contributor pushes and reads nothing: the OpenAPI document is walked, every read is 403. Its
items land restricted, owned by the CROSS of its département, X/4, the source in provenance. A
public report is rate-limited, triaged by the CROSS of its département only, and once accepted is
a deal point on the map.
"""

from __future__ import annotations

import re
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.api.openapi import PUBLIC_PATHS
from tests.builders import Auth
from tests.conftest import cypher, wipe

PUSH_PATHS = {("post", "/v1/ingest"), ("post", "/v1/events")}
MARSEILLE = {"lat": 43.2965, "lon": 5.3698}  # Bouches-du-Rhône (13)
LYON = {"lat": 45.764, "lon": 4.8357}  # Rhône (69)


@pytest.fixture(scope="module")
def api(app_client: TestClient, driver: neo4j.Driver) -> TestClient:
    """One clean graph for the module: each test below arranges its own, disjoint data."""
    wipe(driver)
    return app_client


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((method, path) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post") and path not in PUBLIC_PATHS and (method, path) not in PUSH_PATHS)


def test_a_contributor_is_refused_every_read(api: TestClient, auth: Auth) -> None:
    spec = api.get("/openapi.json").json()
    operations = _operations(spec)
    assert ("get", "/v1/lookup") in operations and ("get", "/v1/me") in operations
    headers = auth("police_municipale_marseille", "contributor", purpose="probing")
    answers = {}
    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = api.get(url, headers=headers) if method == "get" else api.post(url, headers=headers, json={})
        answers[f"{method.upper()} {path}"] = response.status_code
    assert {op: code for op, code in answers.items() if code != 403} == {}
    # A role the agency is not declared with is not honoured: no way out of write-only.
    assert api.get("/v1/me", headers=auth("police_municipale_marseille", "investigator")).status_code == 403


def test_contributor_items_are_the_cross_s_restricted_x4_with_their_source(
        api: TestClient, auth: Auth, driver: neo4j.Driver) -> None:
    batch = {"entities": [
        {"type": "Person", "ref": "PM-1", "sharing": "open", "reliability": "A", "accuracy": "1",
         "properties": {"last_name": "Testcontrib"}},
        {"type": "Location", "ref": "HALL-B", "properties": {"kind": "deal_point", "label": "Hall B", **MARSEILLE}},
        {"type": "Phone", "ref": "+33 6 11 22 33 44"},
    ], "links": [
        {"type": "USES", "from": {"type": "Person", "ref": "PM-1"}, "to": {"type": "Phone", "ref": "+33611223344"}},
    ]}
    pushed = api.post("/v1/ingest", json=batch, headers=auth("police_municipale_marseille", "contributor",
                                                              **{"X-Source-System": "main-courante"}))
    assert pushed.status_code == 200, pushed.text
    assert {e["status"] for e in pushed.json()["entities"]} == {"created"}
    rows = cypher(driver, "MATCH (n:Entity) WHERE n.ref STARTS WITH 'police_municipale_marseille:' "
                          "RETURN n.type AS type, n.owner_agency AS owner, n.owner_unit AS unit, n.sharing AS sharing, "
                          "n.reliability AS reliability, n.accuracy AS accuracy, n.source_system AS source "
                          "ORDER BY type")
    assert rows == [{"type": t, "owner": "cross_13", "unit": "police_municipale_marseille", "sharing": "restricted",
                     "reliability": "X", "accuracy": "4", "source": "police_municipale_marseille/main-courante"}
                    for t in ("Location", "Person")]
    link = cypher(driver, "MATCH (:Person {ref: 'police_municipale_marseille:PM-1'})-[r:USES]->(:Phone) "
                          "RETURN r.owner_agency AS owner, r.sharing AS sharing, r.reliability AS reliability")
    assert link == [{"owner": "cross_13", "sharing": "restricted", "reliability": "X"}]
    # Another département's source belongs to its own CROSS.
    lyon = api.post("/v1/ingest", json={"entities": [{"type": "Person", "ref": "T-1"}]},
                    headers=auth("transports_lyon_tcl", "contributor"))
    assert lyon.status_code == 200, lyon.text
    assert cypher(driver, "MATCH (n:Person {ref: 'transports_lyon_tcl:T-1'}) RETURN n.owner_agency AS o") == [
        {"o": "cross_69"}]
    # The CROSS re-grades as an owner updates: the same item pushed again with its codes.
    regraded = api.post("/v1/ingest", headers=auth("cross_13", "investigator"), json={"entities": [
        {"type": "Person", "ref": "police_municipale_marseille:PM-1", "reliability": "B", "accuracy": "2",
         "properties": {"last_name": "Testcontrib"}}]})
    assert regraded.status_code == 200 and regraded.json()["entities"][0]["status"] == "updated", regraded.text
    assert cypher(driver, "MATCH (n:Person {ref: 'police_municipale_marseille:PM-1'}) "
                          "RETURN n.reliability AS r, n.accuracy AS a, n.owner_agency AS o") == [
        {"r": "B", "a": "2", "o": "cross_13"}]


def _report(api: TestClient, body: dict[str, Any]) -> str:
    response = api.post("/v1/reports/public", json=body)
    assert response.status_code == 202, response.text
    receipt: str = response.json()["receipt"]
    return receipt


def test_public_reports_are_triaged_by_the_cross_of_their_departement(
        api: TestClient, auth: Auth, driver: neo4j.Driver) -> None:
    cross13, cross69 = auth("cross_13", "investigator"), auth("cross_69", "investigator")
    accepted = _report(api, {**MARSEILLE, "description": "Guetteurs au pied de la tour, le soir",
                             "observed_at": "2026-11-30T21:00:00+01:00"})
    rejected = _report(api, {"address": "3 rue de la République, 69002 Lyon", "description": "Va-et-vient"})
    # Bad input: a 422 naming the field; markup is refused, personal fields do not exist.
    markup = api.post("/v1/reports/public", json={**MARSEILLE, "description": "<script>x</script>"})
    assert markup.status_code == 422 and markup.json()["error"]["details"]["field"] == "description"
    assert api.post("/v1/reports/public", json={**MARSEILLE, "description": "x", "email": "a@b.fr"}).status_code == 422
    assert cypher(driver, "MATCH (r:PublicReport) RETURN count(r) AS n") == [{"n": 2}]

    queue13 = api.get("/v1/reports/queue", headers=cross13).json()["reports"]
    assert [r["id"] for r in queue13] == [accepted] and queue13[0]["departement"] == "13"
    assert [r["id"] for r in api.get("/v1/reports/queue", headers=cross69).json()["reports"]] == [rejected]
    # Another CROSS cannot triage it, nor learn it exists.
    assert api.post(f"/v1/reports/{accepted}/accept", json={}, headers=cross69).status_code == 404
    assert api.post(f"/v1/reports/{accepted}/reject", json={}, headers=cross69).status_code == 404
    assert api.post(f"/v1/reports/{accepted}/accept", json={}, headers=auth("police_municipale_marseille",
                                                                            "contributor")).status_code == 403

    done = api.post(f"/v1/reports/{accepted}/accept", json={"label": "Tour K"}, headers=cross13)
    assert done.status_code == 200, done.text
    deal_point = done.json()["deal_point_id"]
    assert api.post(f"/v1/reports/{accepted}/accept", json={}, headers=cross13).status_code == 409
    features = api.get("/v1/map/deal-points", headers=cross13).json()["features"]
    placed = [f for f in features if f["id"] == deal_point]
    assert placed and placed[0]["properties"]["owner_agency"] == "cross_13"
    assert placed[0]["geometry"]["coordinates"] == [MARSEILLE["lon"], MARSEILLE["lat"]]
    # For another agency it is a restricted deal point of the CROSS: counted, not placed.
    police_map = api.get("/v1/map/deal-points", headers=auth("police")).json()
    assert deal_point not in {f["id"] for f in police_map["features"]}
    assert any(w["owner_agency"] == "cross_13" for w in police_map["withheld"])

    assert api.post(f"/v1/reports/{rejected}/reject", json={"reason": "vague"}, headers=cross69).json()[
        "status"] == "rejected"
    merged = _report(api, {**MARSEILLE, "description": "Même point, autre soir"})
    merge = api.post(f"/v1/reports/{merged}/merge", json={"deal_point_id": deal_point}, headers=cross13)
    assert merge.status_code == 200 and merge.json()["deal_point_id"] == deal_point, merge.text
    stored = cypher(driver, "MATCH (r:PublicReport) RETURN r.id AS id, r.status AS status ORDER BY id")
    assert sorted(stored, key=lambda r: r["id"]) == sorted(
        [{"id": accepted, "status": "accepted"}, {"id": rejected, "status": "rejected"},
         {"id": merged, "status": "merged"}], key=lambda r: r["id"])
    # Nothing about the client is stored with a report.
    keys = {k for row in cypher(driver, "MATCH (r:PublicReport) RETURN keys(r) AS keys") for k in row["keys"]}
    assert keys <= {"id", "cross", "departement", "lat", "lon", "address", "description", "observed_at",
                    "received_at", "status", "decided_at", "decided_by", "deal_point_id", "reason"}
    actions = cypher(driver, "MATCH (a:AuditEvent) WHERE a.action STARTS WITH 'reports.' "
                             "RETURN a.action AS action, a.agency AS agency ORDER BY action")
    assert actions == [{"action": "reports.accept", "agency": "cross_13"},
                       {"action": "reports.merge", "agency": "cross_13"},
                       {"action": "reports.reject", "agency": "cross_69"}]


def test_public_reports_are_rate_limited_per_client(api: TestClient) -> None:
    # The limiter counts per API process: start this process's afresh, so that reports other tests
    # of the session sent from the same client address do not count.
    api.app.state.public_report_limiter = None  # type: ignore[attr-defined]
    per_hour = api.app.state.policy.public_reports.per_client_per_hour  # type: ignore[attr-defined]
    codes = [api.post("/v1/reports/public", json={**LYON, "description": f"Signalement {i}"})
             for i in range(per_hour + 2)]
    assert [r.status_code for r in codes] == [202] * per_hour + [429, 429]
    assert int(codes[-1].headers["Retry-After"]) > 0
    assert codes[-1].json()["error"]["code"] == "rate_limited"
