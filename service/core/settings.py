"""One settings object for the whole service, read from `OFAST_GRAPH_*` environment variables.

When no Neo4j URI or password is configured, the `ofast-graph` commands and the benchmarks fall
back to the local server managed by `ofast-graph neo4j start`, whose generated password lives in
the git-ignored state folder (`service.neo4j_local.connection`; the service's core never does).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFAST_GRAPH_", extra="ignore")

    # Neo4j connection. Empty uri/password: the command line uses the local server of `ofast-graph neo4j`.
    neo4j_uri: str = ""
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    neo4j_pool_size: int = 50
    neo4j_connection_timeout: float = 5.0
    neo4j_acquisition_timeout: float = 10.0

    # Local Neo4j (development, tests, CI).
    state_dir: Path = PROJECT_ROOT / ".state"
    neo4j_version: str = "5.26.30"
    local_bolt_port: int = 7687
    local_heap: str = "1g"
    local_pagecache: str = "512m"

    # Authentication (JWT).
    jwt_secret: str = ""  # HS256 development secret; generated into the state folder when empty
    jwt_public_key: str = ""  # RS256 PEM public key (production)
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str = ""  # RS256 via an OIDC provider's JWKS endpoint
    jwt_audience: str = "ofast-graph"
    jwt_issuer: str = ""
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256", "RS256"])

    # Access policy (agencies, roles, central agency); the shipped file by default.
    policy_file: Path = Path(__file__).resolve().parents[1] / "access" / "policy.yaml"

    # Request limits.
    max_batch_items: int = 10_000
    max_body_bytes: int = 20 * 1024 * 1024
    retry_after_seconds: int = 5

    # Audit trail: records are durable in a local journal first (`<state_dir>/audit-journal/`), then
    # moved into the Neo4j chain; the mover may wait this long to gather more records per transaction.
    audit_move_delay_ms: float = 100.0

    # Webhooks (service/domain/notifications): production accepts only https receivers; development
    # may allow http to 127.0.0.1 / localhost. Retries back off from `backoff` doubling up to `max_backoff`.
    webhook_allow_http_localhost: bool = False
    webhook_poll_seconds: float = 5.0  # 0 pauses the API process's delivery worker
    webhook_timeout_seconds: float = 5.0
    webhook_backoff_seconds: float = 30.0
    webhook_max_backoff_seconds: float = 3600.0
    webhook_lease_seconds: float = 60.0

    # The UI's live alert count (GET /v1/alerts/stream): each open stream re-counts its agency's
    # pending alerts this often (the count is one index read) and sends only changes; a stream
    # closes after `max` seconds (0: after the first count) and the browser reconnects, so no
    # connection lives for ever.
    alert_stream_check_seconds: float = 5.0
    alert_stream_max_seconds: float = 600.0

    log_level: str = "INFO"
    log_json: bool = True


@lru_cache
def get_settings() -> Settings:
    return Settings()
