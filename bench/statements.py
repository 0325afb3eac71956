"""Where a write benchmark's time goes, statement by statement: each Cypher statement a process
runs, timed from its `run` until its result is fully read (lock waits included), summed by the
statement's opening words.

`install(path)` patches the async driver's transactions in this process and returns the totals,
also kept in `path` when given (JSON, rewritten after each statement); `PROFILED_CLI` is the
`ofast-graph` command with the same patch, its file named by `OFAST_GRAPH_BENCH_STATEMENTS`.
Reading a result whole at once is what every caller here does anyway; the patch changes no answer.
A benchmark, never the service, uses it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from neo4j._async.work import transaction as _transaction

ENV = "OFAST_GRAPH_BENCH_STATEMENTS"
PROFILED_CLI = [sys.executable, "-c",
                "import bench.statements as s; s.install_from_env(); from service.cli import app; app()"]
_KEY_CHARS = 90


def key(query: str) -> str:
    """A statement's opening words, its `CYPHER` options left out: what groups its runs."""
    words = str(query).split()
    if words and words[0].upper() == "CYPHER":
        words = words[1:]
        while words and "=" in words[0]:
            words = words[1:]
    return " ".join(words)[:_KEY_CHARS]


def install(path: Path | None = None) -> dict[str, list[float]]:
    """Time every statement this process runs from now on; the totals `{key: [runs, seconds]}`,
    also written to `path` after each when given (for another process to read: a write of a few kB
    beside a statement of milliseconds)."""
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    original = _transaction.AsyncTransactionBase.run

    async def run(self: Any, query: Any, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
        started = time.perf_counter()
        result = await original(self, query, parameters, **kw)
        await result._buffer_all()
        entry = stats[key(query)]
        entry[0] += 1
        entry[1] += time.perf_counter() - started
        if path is not None:
            dump(stats, path)
        return result

    _transaction.AsyncTransactionBase.run = run  # type: ignore[method-assign]
    return stats


def install_from_env() -> None:
    if os.environ.get(ENV):
        install(Path(os.environ[ENV]))


def dump(stats: dict[str, list[float]], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats))
    tmp.replace(path)


def read(path: Path) -> dict[str, list[float]]:
    return json.loads(path.read_text()) if path.exists() else {}


def since(before: dict[str, list[float]], after: dict[str, list[float]]) -> dict[str, list[float]]:
    """What ran between two readings."""
    out = {}
    for k, (runs, seconds) in after.items():
        b_runs, b_seconds = before.get(k, [0, 0.0])
        if runs > b_runs:
            out[k] = [runs - b_runs, seconds - b_seconds]
    return out


def top(stats: dict[str, list[float]], rounds: int, n: int = 12) -> list[dict[str, Any]]:
    """The `n` costliest statements, per round: `{statement, runs, seconds}`."""
    rows = sorted(stats.items(), key=lambda kv: -kv[1][1])[:n]
    return [{"statement": k, "runs": round(v[0] / rounds), "seconds": round(v[1] / rounds, 2)} for k, v in rows]


class Sides:
    """Both sides' statement totals in one benchmark run: the API server's, started with
    `PROFILED_CLI` and `env` (a file it writes), and the raw writer's, in this process."""

    def __init__(self) -> None:
        self.file = Path(tempfile.mkdtemp(prefix="bench-statements-")) / "api.json"
        self.env = {ENV: str(self.file)}
        self.raw = install()
        self.mark()

    def mark(self) -> None:
        """Count from here (after a warm-up)."""
        self._api_before, self._raw_before = read(self.file), {k: list(v) for k, v in self.raw.items()}

    def top(self, rounds: int, concurrency: int) -> dict[str, Any]:
        """Each side's costliest statements per round since `mark`."""
        return {"api": top(since(self._api_before, read(self.file)), rounds),
                "raw": top(since(self._raw_before, self.raw), rounds), "concurrency": concurrency}
