"""Where the tests' Neo4j comes from, in this order:

1. `NEO4J_URI` (+ `NEO4J_USER`, `NEO4J_PASSWORD`) set: that server.
2. A Docker engine reachable: testcontainers' Neo4j container, image `neo4j:5.26-community`.
3. Otherwise the local server of `ofast-graph neo4j`, instance `test` (its own folder and port),
   started once for the session and stopped at its end if the session started it.

There is no fallback beyond these: a test that needs Neo4j and cannot reach one fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from service.neo4j_local.manager import from_settings

TEST_PORT = int(os.environ.get("OFAST_GRAPH_TEST_BOLT_PORT", "7688"))
DOCKER_IMAGE = "neo4j:5.26-community"


@dataclass(frozen=True)
class Neo4jServer:
    uri: str
    user: str
    password: str
    origin: str  # "env", "testcontainers" or "local"


def _docker_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextmanager
def neo4j_server() -> Iterator[Neo4jServer]:
    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                          os.environ.get("NEO4J_PASSWORD", ""), "env")
        return
    if _docker_reachable():
        from testcontainers.neo4j import Neo4jContainer

        with Neo4jContainer(DOCKER_IMAGE, password="ofast-graph-tests") as container:
            yield Neo4jServer(container.get_connection_url(), "neo4j", "ofast-graph-tests", "testcontainers")
        return
    local = from_settings(f"test-{TEST_PORT}", TEST_PORT)
    was_running = local.pid() is not None and local.bolt_answers()
    local.start()
    try:
        yield Neo4jServer(local.uri, local.user, local.password(), "local")
    finally:
        if not was_running:
            local.stop()
