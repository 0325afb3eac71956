"""Hot spots: concurrent batches sharing hub phones and a popular birth date converge, none refused.

Batches of several agencies, pushed 4 at a time to the API under uvicorn, link their persons to a
small pool of hub phones (each hub in every batch) and 30 % of the persons are born on 1 January of
their year (`bench.hotspots.generate`). Every batch must answer 200 on its first send — a 503
("retry later") is the failure — and the graph and alerts must be what the same batches pushed one
at a time give. The time of each batch is printed (`pytest -s`), never asserted.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import neo4j

from bench.hotspots import generate
from bench.process import api_env
from tests.builders import bearer
from tests.conftest import TEST_JWT_SECRET, TokenFactory, cypher, wipe
from tests.live import LiveService
from tests.neo4j_server import Neo4jServer

BATCHES = 8
BATCH_ITEMS = 1200
HUBS = 12

# What a push decides, without the times and batch ids of whichever push came first.
_VOLATILE = {"created_at", "updated_at", "batch_id", "source_system"}


def _snapshot(driver: neo4j.Driver) -> dict[str, Any]:
    nodes = cypher(driver, "MATCH (n:Node) RETURN n.id AS id, labels(n) AS labels, properties(n) AS p ORDER BY id")
    rels = cypher(driver, "MATCH (a:Node)-[r]->(b:Node) RETURN r.id AS id, type(r) AS type, a.id AS src, b.id AS dst, "
                          "properties(r) AS p ORDER BY id")
    # An alert's example entity is the one of the batch that raised it first: not compared.
    alerts = cypher(driver, "MATCH (a:Alert) RETURN a.pair_key AS key, a.kind AS kind, a.agency AS agency, "
                            "a.identifier_id AS identifier, a.counterpart_agency AS counterpart ORDER BY key")
    matches = cypher(driver, "MATCH (m:MatchCandidate) RETURN m.pair_key AS key ORDER BY key")
    for row in nodes + rels:
        row["p"] = {k: v for k, v in row["p"].items() if k not in _VOLATILE}
        row["labels"] = sorted(row.get("labels") or [])
    return {"nodes": nodes, "relationships": rels, "alerts": alerts, "matches": matches}


def _push(url: str, headers: dict[str, str], body: bytes) -> tuple[int, float, str]:
    started = time.perf_counter()
    r = httpx.post(url + "/v1/ingest", content=body, headers={**headers, "Content-Type": "application/json"},
                   timeout=300.0)
    return r.status_code, time.perf_counter() - started, r.text[:300]


def test_hub_batches_converge_without_503(neo4j_srv: Neo4jServer, driver: neo4j.Driver, token: TokenFactory,
                                          tmp_path: Path) -> None:
    batches = generate(BATCHES * BATCH_ITEMS, BATCH_ITEMS, HUBS)
    assert len(batches) == BATCHES
    headers = {a: bearer(token(a, "ingest", unit="hotspots")) for a, _ in batches}
    payloads = [(headers[agency], json.dumps(body).encode()) for agency, body in batches]
    env = api_env(neo4j_srv.uri, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET, state_dir=str(tmp_path))
    api = LiveService(env, log=tmp_path / "api.log")
    wipe(driver)
    api.start()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            concurrent = list(pool.map(lambda p: _push(api.url, *p), payloads))
        elapsed = time.perf_counter() - started
        print(f"\n  concurrent: {BATCHES} batches of {BATCH_ITEMS} items, 4 in flight, {elapsed:.1f} s; per batch (s): "
              + ", ".join(f"{s:.1f}" for _, s, _ in concurrent))
        assert [status for status, _, _ in concurrent] == [200] * BATCHES, [c for c in concurrent if c[0] != 200]
        together = _snapshot(driver)

        wipe(driver)
        sequential = [_push(api.url, *p) for p in payloads]
        print("  one at a time, per batch (s): " + ", ".join(f"{s:.1f}" for _, s, _ in sequential))
        assert [status for status, _, _ in sequential] == [200] * BATCHES
        alone = _snapshot(driver)
    finally:
        api.stop()
    wipe(driver)
    assert together["alerts"], "the hubs are shared across agencies: alerts are expected"
    for part in ("nodes", "relationships", "alerts", "matches"):
        assert together[part] == alone[part], part
