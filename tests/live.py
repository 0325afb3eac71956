"""Real processes for load and fault tests: the API under uvicorn on 127.0.0.1, a spare Neo4j."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.process import free_port, stop, wait_ready


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
