"""The foundation: a real Neo4j, migrations, health probes, error shape, schema as data."""

from __future__ import annotations

import neo4j
from fastapi.testclient import TestClient

from graph_schema import get_schema, load_schema
from graph_schema.docs import render_markdown
from graph_schema.migrations import LATEST_VERSION
from tests.conftest import cypher


def test_neo4j_is_real_and_526(graph: neo4j.Driver) -> None:
    rows = cypher(graph, "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition")
    assert rows[0]["v"].startswith("5.26.")
    assert rows[0]["edition"] == "community"


def test_migrations_recorded_and_constraints_exist(graph: neo4j.Driver) -> None:
    versions = cypher(graph, "MATCH (m:SchemaMigration) RETURN m.version AS v ORDER BY v")
    assert [r["v"] for r in versions] == list(range(1, LATEST_VERSION + 1))
    names = {r["name"] for r in cypher(graph, "SHOW CONSTRAINTS YIELD name RETURN name")}
    assert "node_id" in names
    indexes = {r["name"]: r for r in cypher(graph, "SHOW INDEXES YIELD name, type, state RETURN name, type, state")}
    assert indexes["node_search"]["type"] == "FULLTEXT"
    for rel in get_schema().relationships:
        assert f"rel_{rel.lower()}_id" in indexes


def test_unique_node_id_enforced(graph: neo4j.Driver) -> None:
    cypher(graph, "CREATE (:Node {id: 'x'})")
    try:
        cypher(graph, "CREATE (:Node {id: 'x'})")
    except neo4j.exceptions.ConstraintError:
        pass
    else:
        raise AssertionError("duplicate id accepted")


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema_version"] == LATEST_VERSION


def test_ready_is_503_when_schema_behind(client: TestClient, graph: neo4j.Driver) -> None:
    cypher(graph, "MATCH (m:SchemaMigration {version: $v}) SET m.version = -1", v=LATEST_VERSION)
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.headers["Retry-After"]
        assert r.json()["error"]["code"] == "schema_not_migrated"
    finally:
        cypher(graph, "MATCH (m:SchemaMigration {version: -1}) SET m.version = $v", v=LATEST_VERSION)


def test_errors_are_json(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert r.headers["x-request-id"]


def test_request_id_echoed(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "ofast-graph"
    assert client.get("/docs").status_code == 200


def test_schema_is_data() -> None:
    schema = load_schema()
    assert schema.node("Phone").is_identifier
    assert schema.relationship("USES").allows("Person", "Phone")
    assert not schema.relationship("USES").allows("Phone", "Person")
    doc = render_markdown()
    assert "### Person" in doc and "MEMBER_OF" in doc
