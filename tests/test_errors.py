"""A query Neo4j refuses to run is a bug of ours: a logged 500 carrying the request id, never a 503
that tells the caller to resend the same request into the same failure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
import structlog
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from structlog.testing import CapturingLogger

from service.api.app import create_app
from service.core import errors
from service.core.settings import Settings
from tests.builders import Auth

# Each a deterministic failure on every attempt: a division by zero, a procedure's refusal.
BAD_QUERIES = {
    "/test/arithmetic": "RETURN 1 / 0 AS x",
    "/test/procedure": "CALL db.index.fulltext.queryNodes('no_such_index', 'x') YIELD node RETURN node",
}


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    """The error module's log lines, with the request context the middleware binds."""
    capturing = CapturingLogger()
    monkeypatch.setattr(errors, "log", structlog.wrap_logger(
        capturing, processors=[structlog.contextvars.merge_contextvars, lambda _l, _m, event: event]))
    return capturing


@pytest.fixture
def bad_client(settings: Settings, graph: neo4j.Driver) -> Iterator[TestClient]:
    """The app with test-only routes that each run a failing query through the service's Database."""
    app: FastAPI = create_app(settings)
    for path, query in BAD_QUERIES.items():
        async def run(request: Request, query: str = query) -> Any:
            return await request.app.state.db.read_records(query)

        app.add_api_route(path, run, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("path", sorted(BAD_QUERIES))
def test_query_error_is_a_logged_500(bad_client: TestClient, captured: CapturingLogger, path: str) -> None:
    r = bad_client.get(path, headers={"X-Request-ID": "req-query-error-1"})
    assert r.status_code == 500, r.text
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["details"] == {"request_id": "req-query-error-1"}
    assert "req-query-error-1" in body["error"]["message"]
    assert r.headers["x-request-id"] == "req-query-error-1"
    lines = [c.kwargs for c in captured.calls if c.kwargs.get("event") == "neo4j_query_error"]
    assert lines and captured.calls[0].method_name == "error", captured.calls
    assert lines[0]["request_id"] == "req-query-error-1"
    assert lines[0]["code"].startswith("Neo.ClientError."), lines[0]


def test_unexpected_error_carries_the_request_id(settings: Settings, graph: neo4j.Driver,
                                                 captured: CapturingLogger) -> None:
    """Any other bug: the same 500 shape, the id in the body and in the log line."""
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/boom", boom, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/test/boom", headers={"X-Request-ID": "req-bug-2"})
    assert r.status_code == 500
    assert r.json()["error"]["details"] == {"request_id": "req-bug-2"}
    lines = [c.kwargs for c in captured.calls if c.kwargs.get("event") == "unhandled_error"]
    assert lines and lines[0]["request_id"] == "req-bug-2", captured.calls


def test_unavailable_neo4j_is_still_a_503(settings: Settings, auth: Auth, graph: neo4j.Driver) -> None:
    """The other side of the line: no Neo4j at all is a 503 with Retry-After."""
    app = create_app(settings.model_copy(update={"neo4j_uri": "bolt://127.0.0.1:9"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/v1/search", params={"q": "x"}, headers=auth("police", "analyst", purpose="test"))
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(settings.retry_after_seconds)
    assert r.json()["error"]["code"] == "neo4j_unavailable"
