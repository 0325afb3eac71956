"""Load, bounded in time: 8 pushers and 16 readers against the API under uvicorn on 127.0.0.1.

For about 20 seconds (`bench.load`, the same runner as `python -m bench --only load`), then: no
5xx at all (a 503 would be retried, but under this load none is expected), every item of an
acknowledged batch in the graph exactly once, every unacknowledged batch there entirely or not
at all, re-sent batches unchanged, and the audit chain intact with a record per successful request.
Throughput is printed (`pytest -s`), and only checked to be non-zero: no timing thresholds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import neo4j

from bench import load
from bench.process import api_env
from service.core.settings import Settings
from tests.conftest import TEST_JWT_SECRET, wipe
from tests.live import LiveService
from tests.neo4j_server import Neo4jServer

SECONDS = 20.0


def test_load_exactly_once(neo4j_srv: Neo4jServer, settings: Settings, driver: neo4j.Driver, tmp_path: Path) -> None:
    wipe(driver)
    env = api_env(neo4j_srv.uri, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET, state_dir=str(tmp_path))
    phases = {"start": time.monotonic()}
    api = LiveService(env, log=tmp_path / "api.log")
    api.start()
    phases["api ready"] = time.monotonic()
    cfg = load.LoadConfig(pushers=8, readers=16, seconds=SECONDS, grace=3.0, repush_every=3)
    push, read = load.tokens(settings)
    try:
        run = asyncio.run(load.drive(api.url, push, read, cfg))
    finally:
        phases["load run"] = time.monotonic()
        api.stop()  # every audit record is flushed before the process exits
    fig = load.figures(run)
    fig["neo4j_deadlock_retries"] = load.deadlock_retries(tmp_path / "api.log")
    graph = load.verify_graph(driver, settings.neo4j_database, run)
    phases["graph checked"] = time.monotonic()
    audit = load.verify_audit(env, run)
    phases["audit verified"] = time.monotonic()
    marks = list(phases.items())
    print("\n" + load.summary(fig, graph, audit))
    print("  phases (s): " + ", ".join(f"{name} +{t - marks[i][1]:.1f}" for i, (name, t) in enumerate(marks[1:])))

    assert fig["errors_total"]["5xx"] == 0 and fig["errors_total"]["503"] == 0, fig["error_samples"]
    assert fig["errors_total"]["4xx"] == 0 and fig["errors_total"]["429"] == 0, fig["error_samples"]
    assert fig["errors_total"]["transport"] == 0, fig["error_samples"]
    assert fig["ingest"]["items_acknowledged"] > 0 and fig["reads"]["ok"] > 0, fig
    assert fig["ingest"]["id_mismatches"] == 0
    assert fig["ingest"]["repush_items_not_unchanged"] == 0
    assert graph["ok"], graph["problems"]
    assert graph["missing_nodes"] == graph["duplicated_nodes"] == 0
    assert graph["missing_links"] == graph["duplicated_links"] == 0
    assert graph["half_written_batches"] == 0
    assert graph["shared_identifier_alerts"] > 0  # the shared phones did meet across agencies
    assert audit.get("ok"), audit
