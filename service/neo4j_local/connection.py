"""The local server of `ofast-graph neo4j` as the fallback when no Neo4j is configured.

Applied by the entry points (the `ofast-graph` command line, the benchmarks), never by the
service's core: a deployed service always names its Neo4j (`OFAST_GRAPH_NEO4J_URI`, `…_PASSWORD`).
"""

from __future__ import annotations

from service.core.settings import Settings
from service.neo4j_local.manager import from_settings


def with_local_server(settings: Settings) -> Settings:
    """`settings`, with the local server's URI and generated password where none is configured."""
    if settings.neo4j_uri and settings.neo4j_password:
        return settings
    local = from_settings()
    return settings.model_copy(update={"neo4j_uri": settings.neo4j_uri or local.uri,
                                       "neo4j_password": settings.neo4j_password or local.password()})


def connection_params(settings: Settings) -> tuple[str, str, str]:
    """(uri, user, password): the configured server, else the local one."""
    resolved = with_local_server(settings)
    return resolved.neo4j_uri, resolved.neo4j_user, resolved.neo4j_password
