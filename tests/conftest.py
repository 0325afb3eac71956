"""Shared fixtures: one real Neo4j per session, a clean graph per test, the app, tokens."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from bench.process import migrate_schema
from bench.process import wipe as wipe_graph
from service.access.auth import make_token
from service.api.app import create_app
from service.core.settings import Settings
from tests.builders import Auth, bearer
from tests.neo4j_server import Neo4jServer, neo4j_server

TEST_JWT_SECRET = "test-secret-not-for-production-0123456789abcdef"


@pytest.fixture(scope="session")
def neo4j_srv() -> Iterator[Neo4jServer]:
    with neo4j_server() as server:
        yield server


@pytest.fixture(scope="session")
def settings(neo4j_srv: Neo4jServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        neo4j_uri=neo4j_srv.uri,
        neo4j_user=neo4j_srv.user,
        neo4j_password=neo4j_srv.password,
        jwt_secret=TEST_JWT_SECRET,
        state_dir=tmp_path_factory.mktemp("state"),
        log_level="WARNING",
        # In-process clients (TestClient, schemathesis over ASGI) read a response to its end: the
        # live alert stream sends its count once and closes. Its own test runs it under uvicorn.
        alert_stream_max_seconds=0.0,
    )


@pytest.fixture(scope="session")
def driver(neo4j_srv: Neo4jServer, settings: Settings) -> Iterator[neo4j.Driver]:
    """A plain synchronous driver for arranging and checking the graph in tests."""
    with neo4j.GraphDatabase.driver(neo4j_srv.uri, auth=(neo4j_srv.user, neo4j_srv.password),
                                    notifications_min_severity="OFF") as drv:
        drv.verify_connectivity()
        migrate_schema(neo4j_srv.uri, (neo4j_srv.user, neo4j_srv.password), settings.neo4j_database)
        yield drv


def wipe(drv: neo4j.Driver) -> None:
    """Delete all data of the test database but keep the schema (indexes, constraints, migration records)."""
    wipe_graph(drv, "neo4j")


@pytest.fixture
def graph(driver: neo4j.Driver) -> neo4j.Driver:
    """A clean graph for this test."""
    wipe(driver)
    return driver


@pytest.fixture(scope="session")
def app_client(settings: Settings, driver: neo4j.Driver) -> Iterator[TestClient]:
    app = create_app(settings)
    with AuditFlushingClient(app, raise_server_exceptions=False) as client:
        yield client


class AuditFlushingClient(TestClient):
    """A test client that, after each request, waits for the app's audit records to reach Neo4j.

    A request returns once its audit record is durable in the process's journal; the records
    reach the Neo4j chain moments later. Tests read the chain right after a request, and wipe
    the graph between tests: flushing here makes both deterministic.
    """

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response = super().request(*args, **kwargs)
        portal = self.portal
        audit = getattr(self.app.state, "audit", None) if portal is not None else None  # type: ignore[attr-defined]
        if portal is not None and audit is not None:
            # Neo4j down (a fault test): the records wait in the journal; the test sees the 503.
            with contextlib.suppress(Exception):
                portal.call(audit.flush)
        return response


@pytest.fixture
def client(app_client: TestClient, graph: neo4j.Driver) -> TestClient:
    """The API over a clean graph."""
    return app_client


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def token(settings: Settings) -> TokenFactory:
    def make(agency: str, *roles: str, unit: str = "", subject: str | None = None, ttl: int = 3600) -> str:
        return make_token(settings, agency=agency, roles=list(roles) or ["investigator"], unit=unit,
                          subject=subject or f"{agency}-user", ttl=ttl)

    return make


@pytest.fixture(scope="session")
def auth(token: TokenFactory) -> Auth:
    """Headers for a caller: `auth("police", "investigator", unit="OCRTIS")`."""

    def headers(agency: str, *roles: str, unit: str = "", purpose: str | None = None, **extra: Any) -> dict[str, str]:
        h = bearer(token(agency, *roles, unit=unit))
        if purpose:
            h["X-Purpose"] = purpose
        h.update({k.replace("_", "-"): v for k, v in extra.items()})
        return h

    return headers


def cypher(drv: neo4j.Driver, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = drv.execute_query(query, params, database_="neo4j")
    return [r.data() for r in records]


ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LeakReport:
    """What tests/test_leaks.py's property held for in this session, said once the run ends."""

    examples: int  # OFAST_GRAPH_LEAK_EXAMPLES
    cases: int = 0  # generated graphs checked
    endpoints: int = 0  # read endpoints each graph was checked over


LEAK_REPORT = pytest.StashKey[LeakReport]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(LEAK_REPORT, None)
    if report is not None:
        terminalreporter.write_line(f"leak test: {report.cases} generated graphs checked over {report.endpoints} "
                                    f"endpoints (OFAST_GRAPH_LEAK_EXAMPLES={report.examples})")


@pytest.fixture
def clock() -> Iterator[Any]:
    """The service clock (`service.core.clock`), put back to real time after the test."""
    from service.core import clock as service_clock

    service_clock.reset()
    yield service_clock
    service_clock.reset()
