"""What a benchmark (or a test with live processes) starts from: the schema migrated, a wiped graph,
the API in a child process on a free loopback port, waited for and stopped cleanly."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import neo4j

from graph_schema import get_schema
from graph_schema.migrations import migrate
from service.core.settings import Settings, get_settings
from service.neo4j_local.connection import connection_params

# The `ofast-graph` command in this interpreter, whether or not the console script is installed.
CLI = [sys.executable, "-c", "from service.cli import app; app()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_env(uri: str, user: str, password: str, jwt_secret: str, **settings: str) -> dict[str, str]:
    """The environment of a child API process: its Neo4j, its token secret, warnings only in its log;
    `settings` adds or overrides others by name (`state_dir="/tmp/x"` is OFAST_GRAPH_STATE_DIR)."""
    env = {"NEO4J_URI": uri, "NEO4J_USER": user, "NEO4J_PASSWORD": password, "JWT_SECRET": jwt_secret,
           "LOG_LEVEL": "WARNING"} | {name.upper(): value for name, value in settings.items()}
    return {f"OFAST_GRAPH_{name}": value for name, value in env.items()}


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0, probe: str = "/readyz") -> None:
    """Until `probe` answers 200; fails as soon as the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with code {proc.returncode}")
        try:
            if httpx.get(base + probe, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the API did not become ready on {base}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown moves the audit journal into Neo4j), SIGKILL after 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def migrate_schema(uri: str, auth: tuple[str, str], database: str) -> None:
    """Apply the schema's migrations (indexes, constraints), as the service does at startup."""

    async def run() -> None:
        async with neo4j.AsyncGraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:
            await migrate(driver, database, get_schema())

    asyncio.run(run())


def wipe(driver: neo4j.Driver, database: str) -> None:
    """Delete all data, the audit chain included, but keep the schema and its migration records."""
    # One transaction per batch: `CALL … IN TRANSACTIONS` runs inside one outer transaction, which
    # the server's transaction timeout (120 s locally) cuts short on a million-node graph.
    # Relationships first, by count: 10,000 nodes detached at once include the hub phones, whose
    # tens of thousands of calls each pass the transaction memory limit (2 GiB heap).
    while driver.execute_query("MATCH ()-[r]->() WITH r LIMIT 50000 DELETE r RETURN count(*) AS deleted",
                               database_=database).records[0]["deleted"]:
        pass
    while driver.execute_query("MATCH (n) WHERE NOT n:SchemaMigration WITH n LIMIT 10000 DETACH DELETE n "
                               "RETURN count(*) AS deleted", database_=database).records[0]["deleted"]:
        pass
    driver.execute_query("MERGE (h:AuditHead {id: 'head'}) SET h.seq = 0, h.hash = ''", database_=database)


def _local_home(settings: Settings) -> Path | None:
    """The home of the local instance the settings' Bolt URI reaches (None for a server of elsewhere):
    an instance of any name whose config listens on that port, else the names tests and demo use."""
    from service.neo4j_local.manager import from_settings

    uri = connection_params(settings)[0]
    port = int(uri.rsplit(":", 1)[1]) if uri.rsplit(":", 1)[1].isdigit() else None
    names = [f"bench-{port}", f"test-{port}", "dev"]
    state = get_settings().state_dir
    if port and state.is_dir():
        names[:0] = sorted(d.name for d in state.iterdir()
                           if (d / "conf" / "neo4j.conf").is_file()
                           and f"bolt.listen_address=127.0.0.1:{port}\n" in (d / "conf" / "neo4j.conf").read_text())
    for name in names:
        home = from_settings(name, port).home
        if (home / "data").exists():
            return home
    return None


def _bytes_under(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def store_bytes(settings: Settings) -> int | None:
    """Bytes on disk of the local instance's data directory, transaction logs included."""
    home = _local_home(settings)
    return _bytes_under(home / "data") if home else None


def transaction_log_bytes(settings: Settings) -> int | None:
    """Of `store_bytes`, the transaction logs: a store wiped and reloaded many times keeps its logs
    (their retention), so they can outweigh the graph itself."""
    home = _local_home(settings)
    return _bytes_under(home / "data" / "transactions") if home else None


def memory_settings(settings: Settings | None = None) -> dict[str, str]:
    """Heap and page cache of the instance measured, from its own config (the instance may have been
    started with other settings than this process's environment), else this process's settings."""
    s = get_settings()
    home = _local_home(settings or s)
    conf = (home / "conf" / "neo4j.conf").read_text() if home and (home / "conf" / "neo4j.conf").is_file() else ""
    found = dict(line.split("=", 1) for line in conf.splitlines() if "=" in line and not line.startswith("#"))
    return {"heap": found.get("server.memory.heap.max_size", s.local_heap),
            "pagecache": found.get("server.memory.pagecache.size", s.local_pagecache)}


def store_facts(settings: Settings) -> dict[str, Any]:
    """What a read benchmark records about the store it measured: its size on disk, the part of it
    that is transaction logs, and the instance's heap and page cache."""
    return {"store_bytes": store_bytes(settings), "transaction_log_bytes": transaction_log_bytes(settings),
            "memory": memory_settings(settings)}
