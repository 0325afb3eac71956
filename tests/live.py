"""Real processes for load and fault tests: the API under uvicorn on 127.0.0.1, a spare Neo4j."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from bench.process import api_env, free_port, stop, wait_ready
from service.core.settings import Settings
from tests.conftest import TEST_JWT_SECRET, wipe
from tests.neo4j_server import Neo4jServer


@dataclass
class LiveService:
    """`uvicorn service.api.app:create_app` in a child process, configured by environment."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0, require_ready: bool = True) -> None:
        env = {**os.environ, **self.env}
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        wait_ready(self.url, self.proc, ready_timeout, "/readyz" if require_ready else "/healthz")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            stop(self.proc)


@contextmanager
def ui_service(neo4j_srv: Neo4jServer, driver: neo4j.Driver, state: Path) -> Iterator[tuple[LiveService, Settings]]:
    """An empty graph and the real service under uvicorn, with its settings, for the browser tests."""
    from service.api.routers.ui import missing_vendor_files

    assert not missing_vendor_files(), "UI libraries missing: run ./run test (it runs npm ci into service/ui)"
    wipe(driver)
    settings = Settings(neo4j_uri=neo4j_srv.uri, neo4j_user=neo4j_srv.user, neo4j_password=neo4j_srv.password,
                        jwt_secret=TEST_JWT_SECRET, state_dir=state, log_level="WARNING")
    service = LiveService(env=api_env(neo4j_srv.uri, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET,
                                      state_dir=str(state)), log=state / "api.log")
    service.start(ready_timeout=240)
    try:
        yield service, settings
    finally:
        service.stop()
