"""Fetch, configure, start and stop a local Neo4j Community server.

Machines of this project have Java and Maven but no Docker engine, so the server comes from
Maven Central: `pom.xml` beside this file lists `org.neo4j.app:neo4j-server` and
`org.neo4j:neo4j`, Maven copies their runtime jars into a shared `lib/`, and the server is
launched the way Neo4j's own launcher does it (`CommunityEntryPoint --console-mode`), detached
from the calling process. Each instance (development, tests) has its own folder, port and
generated password (file mode 600) under the state folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).with_name("pom.xml")

# What Neo4j 5.26's shipped neo4j.conf passes in `server.jvm.additional`; without the
# --add-opens some index population was seen to stall.
JVM_OPTIONS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
]


class Neo4jStartError(RuntimeError):
    """The local server could not be fetched or did not come up; the message says why."""


@dataclass(frozen=True)
class LocalNeo4j:
    """One local Neo4j instance: `state_dir/<name>/` holds its conf, data, logs and password."""

    state_dir: Path
    version: str
    name: str = "dev"
    bolt_port: int = 7687
    heap: str = "1g"
    pagecache: str = "512m"
    user: str = "neo4j"

    @property
    def lib_dir(self) -> Path:
        return self.state_dir / f"neo4j-{self.version}" / "lib"

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    # -- fetching ---------------------------------------------------------------------------

    def jars_present(self) -> bool:
        return self.lib_dir.is_dir() and any(self.lib_dir.glob(f"neo4j-{self.version}.jar"))

    def fetch(self) -> None:
        """Copy the server's runtime jars from Maven Central (once; later calls do nothing)."""
        if self.jars_present():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise Neo4jStartError("Maven (mvn) is not installed; it fetches Neo4j from Maven Central")
        tmp = self.lib_dir.with_name("lib.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            mvn, "-B", "-q", "-f", str(POM),
            f"-Dneo4j.version={self.version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Neo4jStartError(f"Maven could not fetch Neo4j {self.version}:\n{proc.stdout[-3000:]}")
        tmp.replace(self.lib_dir)  # atomic: a half-fetched lib/ is never mistaken for a whole one

    # -- configuration ----------------------------------------------------------------------

    def password(self) -> str:
        if not self.password_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                # Hex: a urlsafe token may start with '-', which the admin tool reads as an option.
                fh.write(secrets.token_hex(24))
        return self.password_file.read_text().strip()

    def write_conf(self) -> None:
        home = self.home
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        conf = {
            "server.directories.data": home / "data",
            "server.directories.logs": home / "logs",
            "server.directories.run": home / "run",
            "server.directories.plugins": home / "plugins",
            "server.directories.import": home / "import",
            "server.directories.transaction.logs.root": home / "data" / "transactions",
            "server.default_listen_address": "127.0.0.1",
            "server.default_advertised_address": "127.0.0.1",
            "server.bolt.listen_address": f"127.0.0.1:{self.bolt_port}",
            "server.http.enabled": "false",
            "server.https.enabled": "false",
            "server.memory.heap.initial_size": self.heap,
            "server.memory.heap.max_size": self.heap,
            "server.memory.pagecache.size": self.pagecache,
            "dbms.usage_report.enabled": "false",
            "dbms.security.auth_enabled": "true",
            "db.transaction.timeout": "120s",
        }
        text = "# Generated by `ofast-graph neo4j start`; edits are overwritten.\n"
        text += "".join(f"{k}={v}\n" for k, v in conf.items())
        (home / "conf" / "neo4j.conf").write_text(text)

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").exists():
            return str(Path(java_home) / "bin" / "java")
        java = shutil.which("java")
        if java is None:
            raise Neo4jStartError("Java 17 or 21 is required to run Neo4j 5.26; `java` is not on PATH")
        return java

    def _set_initial_password(self) -> None:
        if (self.home / "data" / "dbms" / "auth.ini").exists():
            return
        env = dict(os.environ, NEO4J_HOME=str(self.home), NEO4J_CONF=str(self.home / "conf"))
        cmd = [
            self._java(), "-cp", f"{self.lib_dir}/*", "org.neo4j.cli.AdminTool",
            "dbms", "set-initial-password", self.password(),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Neo4jStartError(f"setting the initial password failed:\n{proc.stdout}{proc.stderr}")

    # -- lifecycle --------------------------------------------------------------------------

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A zombie child of ours still answers kill(0); treat it as gone.
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return None
        return pid

    def bolt_answers(self, timeout: float = 1.0) -> bool:
        """True when the Bolt port accepts a connection and the credentials work."""
        try:
            with socket.create_connection(("127.0.0.1", self.bolt_port), timeout=timeout):
                pass
        except OSError:
            return False
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable

        try:
            with GraphDatabase.driver(
                self.uri, auth=(self.user, self.password()), connection_timeout=timeout
            ) as driver:
                driver.verify_connectivity()
                driver.execute_query("RETURN 1", database_="neo4j")
            return True
        except (ServiceUnavailable, Neo4jError, OSError):
            return False

    def start(self, timeout: float = 180.0) -> str:
        """Start the server (fetching it on first use) and wait until Bolt answers.

        Idempotent: an instance already running is left as it is. Returns the Bolt URI.
        """
        if self.pid() is not None and self.bolt_answers():
            return self.uri
        self.fetch()
        self.write_conf()
        self._set_initial_password()
        if self.pid() is None:
            self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise Neo4jStartError(f"Neo4j exited during start-up; last lines of its log:\n{self.log_tail()}")
            if self.bolt_answers():
                return self.uri
            time.sleep(0.25)
        raise Neo4jStartError(f"Neo4j did not answer on {self.uri} within {timeout:.0f}s:\n{self.log_tail()}")

    def _spawn(self) -> None:
        cmd = [
            self._java(), f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_OPTIONS,
            "-cp", f"{self.home}/plugins/*:{self.home}/conf/*:{self.lib_dir}/*",
            "org.neo4j.server.CommunityEntryPoint",
            f"--home-dir={self.home}", f"--config-dir={self.home / 'conf'}", "--console-mode",
        ]
        log = open(self.home / "logs" / "console.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.home, start_new_session=True,
        )
        log.close()
        self.pid_file.write_text(str(proc.pid))

    def stop(self, timeout: float = 60.0) -> bool:
        """Shut the server down cleanly (SIGTERM, then SIGKILL after `timeout`). True if it was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._reap(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            while not self._reap(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """`kill -9` the server, as a crash would (fault-injection tests)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while not self._reap(pid):
                time.sleep(0.05)

    def _reap(self, pid: int) -> bool:
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        return self.pid() is None

    def status(self) -> dict[str, object]:
        pid = self.pid()
        return {
            "instance": self.name,
            "version": self.version,
            "uri": self.uri,
            "pid": pid,
            "running": pid is not None,
            "bolt": pid is not None and self.bolt_answers(),
            "fetched": self.jars_present(),
            "home": str(self.home),
        }

    def log_tail(self, lines: int = 30) -> str:
        path = self.home / "logs" / "console.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def from_settings(name: str = "dev", bolt_port: int | None = None) -> LocalNeo4j:
    from service.core.settings import get_settings

    s = get_settings()
    return LocalNeo4j(
        state_dir=s.state_dir,
        version=s.neo4j_version,
        name=name,
        bolt_port=bolt_port or s.local_bolt_port,
        heap=s.local_heap,
        pagecache=s.local_pagecache,
    )
