"""Hostile input: whatever arrives, the answer is a clear 4xx (never a 5xx) and nothing is written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from bench.process import api_env
from service.core import ids
from tests.builders import Auth, bearer
from tests.conftest import TEST_JWT_SECRET, cypher, wipe
from tests.live import LiveService
from tests.neo4j_server import Neo4jServer


def node_count(drv: neo4j.Driver) -> int:
    return int(cypher(drv, "MATCH (n) WHERE n:Node OR n:Event RETURN count(n) AS c")[0]["c"])


# The endpoints that take a batch body: each refuses the same hostile bodies the same way.
BATCH_ENDPOINTS = ["/v1/ingest", "/v1/events"]


def assert_clear_4xx(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code}: {r.text[:300]}"
    body: dict[str, Any] = r.json()
    assert body["error"]["code"] and body["error"]["message"]
    return body


@pytest.mark.parametrize("endpoint", BATCH_ENDPOINTS)
def test_oversized_body(client: TestClient, auth: Auth, graph: neo4j.Driver, endpoint: str) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    payload = b'{"entities": [], "pad": "' + b"x" * (limit + 10) + b'"}'
    r = client.post(endpoint, content=payload,
                    headers={**auth("police", "ingest"), "Content-Type": "application/json"})
    body = assert_clear_4xx(r, 413)
    assert str(limit) in str(body["error"]["message"])
    assert node_count(graph) == 0


def test_too_many_items(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    limit = client.app.state.settings.max_batch_items  # type: ignore[attr-defined]
    entities = [{"type": "Phone", "ref": f"+336{i:08d}"} for i in range(limit + 1)]
    r = client.post("/v1/ingest", json={"entities": entities, "links": []}, headers=auth("police", "ingest"))
    body = assert_clear_4xx(r, 413)
    assert str(limit) in str(body["error"]["message"])
    assert node_count(graph) == 0


@pytest.mark.parametrize("endpoint", BATCH_ENDPOINTS)
def test_deeply_nested_json(client: TestClient, auth: Auth, graph: neo4j.Driver, endpoint: str) -> None:
    depth = 100_000
    nested = "[" * depth + "]" * depth
    payload = '{"entities": [{"type": "Person", "ref": "P", "properties": {"aliases": ' + nested + "}}]}"
    r = client.post(endpoint, content=payload.encode(),
                    headers={**auth("police", "ingest"), "Content-Type": "application/json"})
    assert assert_clear_4xx(r, 400)["error"]["code"] == "too_deeply_nested"
    assert node_count(graph) == 0


def test_megabyte_string(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    big = "é" * 1_000_000
    r = client.post("/v1/ingest", json={"entities": [
        {"type": "Person", "ref": "P-1", "properties": {"last_name": big}}]}, headers=auth("police", "ingest"))
    assert_clear_4xx(r, 422)
    r = client.post("/v1/ingest", json={"entities": [{"type": "Person", "ref": big}]},
                    headers=auth("police", "ingest"))
    assert_clear_4xx(r, 422)
    assert node_count(graph) == 0


@pytest.mark.parametrize("endpoint", BATCH_ENDPOINTS)
def test_invalid_utf8(client: TestClient, auth: Auth, graph: neo4j.Driver, endpoint: str) -> None:
    payload = b'{"entities": [{"type": "Person", "ref": "\xff\xfe\xfd"}]}'
    r = client.post(endpoint, content=payload,
                    headers={**auth("police", "ingest"), "Content-Type": "application/json"})
    assert assert_clear_4xx(r, 400)["error"]["code"] == "invalid_json"
    assert node_count(graph) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("endpoint", BATCH_ENDPOINTS)
def test_wrong_content_type(client: TestClient, auth: Auth, graph: neo4j.Driver, content_type: str,
                            endpoint: str) -> None:
    payload = json.dumps({"entities": [{"type": "Phone", "ref": "0612345678"}]}).encode()
    r = client.post(endpoint, content=payload,
                    headers={**auth("police", "ingest"), "Content-Type": content_type})
    assert assert_clear_4xx(r, 415)["error"]["code"] == "unsupported_media_type"
    assert node_count(graph) == 0


@pytest.mark.parametrize("endpoint", BATCH_ENDPOINTS)
def test_not_json_at_all(client: TestClient, auth: Auth, graph: neo4j.Driver, endpoint: str) -> None:
    r = client.post(endpoint, content=b"{not json",
                    headers={**auth("police", "ingest"), "Content-Type": "application/json"})
    assert assert_clear_4xx(r, 400)["error"]["code"] == "invalid_json"
    assert node_count(graph) == 0


def test_megabyte_strings_unknown_kinds_and_times_out_of_range_in_events(client: TestClient, auth: Auth,
                                                                         graph: neo4j.Driver) -> None:
    big = "é" * 1_000_000
    call = {"kind": "call", "at": "2026-03-14T23:41:07+01:00", "mode": "voice",
            "from": {"type": "Phone", "ref": "0612345678"}, "to": {"type": "Phone", "ref": "0698765432"}}
    events = [{**call, "ref": big}, {**call, "cell": {"ref": big}}, {"kind": "teleport", "at": big},
              # Valid ISO 8601 whose UTC time Python cannot hold (year 10000, year 0).
              {**call, "at": "9999-12-31T23:59:59-23:59"}, {**call, "at": "0001-01-01T00:00:00+01:00"}]
    r = client.post("/v1/events", json={"events": events}, headers=auth("police", "ingest"))
    body = assert_clear_4xx(r, 422)
    assert {(e["index"], e["field"]) for e in body["error"]["details"]} == {
        (0, "ref"), (1, "cell.ref"), (2, "kind"), (3, "at"), (4, "at")}
    assert node_count(graph) == 0


def test_unknown_types_and_properties(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    r = client.post("/v1/ingest", json={
        "entities": [
            {"type": "Spaceship", "ref": "S-1"},
            {"type": "Person", "ref": "P-1", "properties": {"favourite_colour": "blue"}},
            {"type": "Person", "ref": "P-2", "properties": {"birth_date": 12}},
        ],
        "links": [{"type": "TELEPORTS", "from": {"type": "Person", "ref": "P-1"},
                   "to": {"type": "Person", "ref": "P-2"}}],
    }, headers=auth("police", "ingest"))
    body = assert_clear_4xx(r, 422)
    assert len(body["error"]["details"]) >= 4
    assert node_count(graph) == 0


# -- the analyses of events: hostile query parameters ---------------------------------------------

# Each analysis with the parameter naming its node; `{}` is the node's place in the path.
ANALYSES = [("/v1/entities/{}/timeline", None), ("/v1/analytics/contacts", "phone"),
            ("/v1/analytics/activity", "id"), ("/v1/analytics/common-contacts", "phones"),
            ("/v1/analytics/co-location", "id"), ("/v1/analytics/handset-swaps", "id")]
HOSTILE_TIMES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "2026-02-30", "2026-03-14T25:00:00Z",
                 "' OR 1=1 //", "\u0000", "1e309", "x" * 65]
HOSTILE_IDS = ["') MATCH (n) DETACH DELETE n //", "${jndi:ldap://x}", "%00", "é" * 50, "../../v1/ingest"]


@pytest.mark.parametrize(("path", "key"), ANALYSES)
def test_hostile_analysis_parameters(client: TestClient, auth: Auth, graph: neo4j.Driver, path: str,
                                     key: str | None) -> None:
    """Bad times are a 422 naming the parameter, odd ids an unknown node (404), too long ones a 422;
    never a 5xx, and a read writes nothing."""
    headers = auth("police", "investigator")
    caller, callee = "+33612345678", "+33698765432"
    r = client.post("/v1/events", headers=auth("police", "ingest"), json={"events": [
        {"kind": "call", "at": "2026-03-14T23:41:07+01:00", "mode": "voice", "from": {"type": "Phone", "ref": caller},
         "to": {"type": "Phone", "ref": callee}}]})
    assert r.status_code == 200, r.text
    before = node_count(graph)
    other = ids.identifier_id("Phone", callee)

    def ask(node: str, **params: str) -> httpx.Response:
        named = {key: node if key != "phones" else f"{node},{other}"} if key else {}
        return client.get(path.format(node), params={**named, **params}, headers=headers)

    known = ids.identifier_id("Phone", caller)
    for value in HOSTILE_TIMES:
        for name in ("since", "until"):
            r = ask(known, **{name: value})
            assert r.status_code == 422, (name, value, r.text)
            assert r.json()["error"]["code"] in (f"invalid_{name}", "validation_error"), r.text
    for value in HOSTILE_IDS:
        assert ask(value).status_code == 404, value
    assert ask("x" * 2001).status_code == (404 if key is None else 422)
    assert node_count(graph) == before


# -- schemathesis against the service's own OpenAPI document ------------------------------------


@pytest.fixture(scope="module")
def live_api(neo4j_srv: Neo4jServer, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    wipe(driver)
    state = tmp_path_factory.mktemp("hostile")
    api = LiveService(api_env(neo4j_srv.uri, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET,
                              state_dir=str(state), log_level="ERROR",
                              # the fuzzer reads the live alert stream to its end: make that short
                              alert_stream_max_seconds="2", alert_stream_check_seconds="0.5"),
                     log=Path(state) / "api.log")
    api.start()
    try:
        yield api.url
    finally:
        api.stop()


def test_openapi_fuzz(live_api: str, token: Callable[..., str]) -> None:
    """No 5xx, and every response conforms to the documented schema, for any generated request.

    Every operation of the service's own /openapi.json is driven with generated requests (valid
    and invalid) carrying a valid central-agency token with every role.
    """
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    api_schema = schemathesis.openapi.from_url(live_api + "/openapi.json")
    headers = {**bearer(token("ofast", "admin", "target_manager", "auditor")), "X-Purpose": "schemathesis"}
    examples = int(os.environ.get("OFAST_GRAPH_FUZZ_EXAMPLES", "8"))
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:
            inner = getattr(exc, "exceptions", None) or [exc]
            failures.append(f"{operation.label}: " + " | ".join(f"{type(e).__name__}: {str(e)[:600]}" for e in inner))
    assert operations > 10
    assert not failures, "\n\n".join(failures)
