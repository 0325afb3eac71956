"""Fault injection: Neo4j killed (-9) or the API restarted in the middle of a stream of ingests.

In-flight requests must get 503 (or lose their connection), never 500; the client retries
(ingest is idempotent) and the final graph is exactly the expected one — nothing lost, nothing
duplicated — and the audit chain still verifies.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest

from bench.process import api_env, free_port
from service.access.auth import make_token
from service.audit.verify import verify_chain
from service.core.db import Database
from service.core.settings import Settings
from service.neo4j_local.manager import LocalNeo4j, from_settings
from tests.builders import bearer
from tests.conftest import TEST_JWT_SECRET
from tests.live import LiveService

BATCHES = 30
PER_BATCH = 20


def batch(i: int) -> dict[str, Any]:
    entities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for j in range(PER_BATCH):
        ref = f"P-{i}-{j}"
        phone = f"+3361{i:03d}{j:04d}"
        entities.append({"type": "Person", "ref": ref, "properties": {"last_name": f"Name{i}x{j}"}})
        entities.append({"type": "Phone", "ref": phone})
        links.append({"type": "USES", "from": {"type": "Person", "ref": ref}, "to": {"type": "Phone", "ref": phone}})
    return {"entities": entities, "links": links}


@pytest.fixture(scope="module")
def fault_neo4j() -> Iterator[LocalNeo4j]:
    """A Neo4j of its own (local jars), since this test kills it."""
    # A port free now, so that no other local server (a developer's, a previous run's) is hit.
    port = int(os.environ.get("OFAST_GRAPH_FAULT_BOLT_PORT", "0")) or free_port()
    server = from_settings("fault", port)
    server.stop()  # a server left by an interrupted run would hold the instance's store
    server.start()
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password())) as drv, \
            drv.session(database="neo4j") as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    try:
        yield server
    finally:
        server.stop()


def _env(neo: LocalNeo4j, state: Path) -> dict[str, str]:
    return api_env(neo.uri, neo.user, neo.password(), TEST_JWT_SECRET, state_dir=str(state))


class Pusher:
    """Pushes the batches in order, retrying each until acknowledged; records every outcome."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = bearer(token)
        self.outcomes: Counter[str] = Counter()
        self.acknowledged = 0
        self.error: str | None = None

    def run(self) -> None:
        with httpx.Client(timeout=30.0) as http:
            for i in range(BATCHES):
                deadline = time.monotonic() + 180
                while True:
                    try:
                        r = http.post(self.url + "/v1/ingest",
                                      json=batch(i), headers=self.headers)
                        self.outcomes[str(r.status_code)] += 1
                        if r.status_code == 200:
                            self.acknowledged += 1
                            break
                        if r.status_code != 503:
                            self.error = f"batch {i}: {r.status_code} {r.text[:300]}"
                            return
                        assert r.headers.get("Retry-After")
                    except httpx.TransportError as exc:
                        self.outcomes[type(exc).__name__] += 1
                    if time.monotonic() > deadline:
                        self.error = f"batch {i} never acknowledged"
                        return
                    time.sleep(0.3)


def _check_graph(neo: LocalNeo4j) -> None:
    with neo4j.GraphDatabase.driver(neo.uri, auth=(neo.user, neo.password())) as drv:
        rows, _, _ = drv.execute_query(
            "MATCH (p:Person) WITH count(p) AS persons, count(DISTINCT p.ref) AS refs "
            "MATCH (f:Phone) WITH persons, refs, count(f) AS phones "
            "MATCH ()-[u:USES]->() RETURN persons, refs, phones, count(u) AS uses", database_="neo4j")
    expected = BATCHES * PER_BATCH
    assert rows[0].data() == {"persons": expected, "refs": expected, "phones": expected, "uses": expected}


def _check_audit(neo: LocalNeo4j) -> None:
    async def verify() -> tuple[bool, int, str]:
        driver = neo4j.AsyncGraphDatabase.driver(neo.uri, auth=(neo.user, neo.password()))
        try:
            return await verify_chain(Database(driver, "neo4j", 1))
        finally:
            await driver.close()

    ok, checked, message = asyncio.run(verify())
    assert ok, message
    assert checked >= BATCHES


def _token(state: Path) -> str:
    return make_token(Settings(jwt_secret=TEST_JWT_SECRET, state_dir=state), agency="police", roles=["ingest"])


def _stream_through(api: LiveService, state: Path, fault: Callable[[], None]) -> Pusher:
    """Push every batch through `api`, `fault` striking once a third is acknowledged; nothing may be
    lost and no request may get a 500."""
    api.start()
    pusher = Pusher(api.url, _token(state))
    thread = threading.Thread(target=pusher.run)
    try:
        thread.start()
        while pusher.acknowledged < BATCHES // 3 and thread.is_alive():
            time.sleep(0.05)
        fault()
        thread.join(300)
    finally:
        api.stop()
    assert pusher.error is None, pusher.error
    assert pusher.acknowledged == BATCHES
    assert "500" not in pusher.outcomes, pusher.outcomes
    return pusher


def test_neo4j_killed_mid_stream(fault_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    def kill_neo4j() -> None:
        fault_neo4j.kill()  # kill -9, mid-stream
        time.sleep(2.0)
        fault_neo4j.start()

    pusher = _stream_through(LiveService(_env(fault_neo4j, tmp_path), log=tmp_path / "api.log"), tmp_path,
                             kill_neo4j)
    assert pusher.outcomes["503"] + sum(v for k, v in pusher.outcomes.items() if not k.isdigit()) > 0, \
        f"the fault was never observed: {pusher.outcomes}"
    _check_graph(fault_neo4j)
    _check_audit(fault_neo4j)


def test_api_restarted_mid_stream(fault_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    with neo4j.GraphDatabase.driver(fault_neo4j.uri, auth=(fault_neo4j.user, fault_neo4j.password())) as drv, \
            drv.session(database="neo4j") as session:
        session.run("MATCH (n:Node) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    api = LiveService(_env(fault_neo4j, tmp_path), log=tmp_path / "api.log")

    def restart_api() -> None:
        api.kill()  # the API process dies with requests in flight
        time.sleep(1.0)
        api.start()  # the same port, environment and log

    _stream_through(api, tmp_path, restart_api)
    _check_graph(fault_neo4j)
    _check_audit(fault_neo4j)
