"""Where the time of one read request goes: auth, Neo4j, audit wait, JSON, the rest.

    python -m bench.profile [--op lookup] [--requests 300] [--warmup 30]

Runs the API in a child process (uvicorn, 127.0.0.1) with timers wrapped around the token check
(`TokenVerifier.verify`), the Neo4j work (`Database.read` / `.read_records` / `.write`, session
included), the audit wait (`AuditLog.record`, from the caller's side), JSON rendering
(`JSONResponse.render`) and the whole ASGI call; the parent sends the requests one at a time
(`bench.http.LeanClient`) and measures each end to end. The rest of the server time is FastAPI
routing, validation, dependencies and middleware (and, on a busy machine, time the process waited
for a CPU); client time minus server time is HTTP, uvicorn and the client. It also gives the API
process's CPU time per request (every thread and background task included, e.g. the audit mover):
unlike latencies, that hardly depends on the machine's load.

Uses the graph already in the configured Neo4j (load one with `python -m bench.explore`); it
wipes nothing, but its requests add audit records. `BENCH_PROFILE_CPROFILE=file` also writes a
cProfile of the server there. Not a test: figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import neo4j

from bench.explore import api_request, pct
from bench.http import LeanClient
from bench.process import api_env, free_port, stop, wait_ready
from service.core.settings import get_settings
from service.neo4j_local.connection import connection_params

PARTS = ("auth", "neo4j", "neo4j_write", "audit", "json")
# (the request's task, its timings): tasks spawned during a request (the audit writer and mover)
# inherit the variable, but their work is not the request's, so only the owning task adds to it.
_timings: contextvars.ContextVar[tuple[object, dict[str, float]] | None] = contextvars.ContextVar(
    "timings", default=None)


def _add(part: str, ms: float) -> None:
    owned = _timings.get()
    if owned is not None and owned[0] is _current_task():
        owned[1][part] = owned[1].get(part, 0.0) + ms


def _current_task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a worker thread (a sync call off the loop): not the request's task
        return None


def _timed_sync(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(part, (time.perf_counter() - started) * 1000)

    return wrapper


def _timed_async(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _add(part, (time.perf_counter() - started) * 1000)

    return wrapper


def serve(port: int) -> None:
    """The child: the API with timers, until SIGTERM; `GET /__profile` gives the timings so far."""
    import uvicorn
    from starlette.types import Receive, Scope, Send

    from service.access import auth
    from service.api.app import create_app
    from service.api.responses import JSONResponse
    from service.audit import trail as audit
    from service.core import db

    auth.TokenVerifier.verify = _timed_sync("auth", auth.TokenVerifier.verify)  # type: ignore[method-assign]
    db.Database.read = _timed_async("neo4j", db.Database.read)  # type: ignore[method-assign]
    db.Database.read_records = _timed_async("neo4j", db.Database.read_records)  # type: ignore[method-assign]
    # A request's own writes (e.g. a no-hit lookup remembered for late hits); the audit mover's
    # writes run in their own task, outside any request's timings.
    db.Database.write = _timed_async("neo4j_write", db.Database.write)  # type: ignore[method-assign]
    audit.AuditLog.record = _timed_async("audit", audit.AuditLog.record)  # type: ignore[method-assign]
    JSONResponse.render = _timed_sync("json", JSONResponse.render)  # type: ignore[method-assign]
    app = create_app()
    records: list[dict[str, float]] = []
    stats_file = os.environ.get("BENCH_PROFILE_CPROFILE")  # a cProfile of the server, written at /__profile
    profiler = None
    if stats_file:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    async def timed_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/__profile":
            if profiler is not None and stats_file:
                profiler.disable()
                profiler.dump_stats(stats_file)
            await JSONResponse({"records": records, "cpu_s": time.process_time()})(scope, receive, send)
            return
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await app(scope, receive, send)
            return
        t: dict[str, float] = {}
        token = _timings.set((_current_task(), t))
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            t["server"] = (time.perf_counter() - started) * 1000
            _timings.reset(token)
            records.append(t)

    server = uvicorn.Server(uvicorn.Config(timed_app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    server.run()


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 2), "p95": round(pct(values, 0.95), 2),
            "mean": round(statistics.fmean(values), 2)}


def run(op: str = "lookup", requests: int = 300, warmup: int = 30, seed: int = 7) -> dict[str, Any]:
    settings = get_settings()
    uri, user, password = connection_params(settings)
    from bench.explore import VIEWER_AGENCY, sample
    from service.access.auth import make_token

    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        picked = sample(driver, settings.neo4j_database, min(requests, 200), seed)
    inputs = picked[op]
    if not inputs:
        raise SystemExit(f"no input for {op}: load a graph first (python -m bench.explore)")
    secret = secrets.token_urlsafe(32)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **api_env(uri, user, password, secret)}
    proc = subprocess.Popen([sys.executable, "-m", "bench.profile", "--serve", str(port)], env=env)
    client_ms: list[float] = []
    try:
        wait_ready(base, proc)
        token = make_token(settings.model_copy(update={"jwt_secret": secret}), agency=VIEWER_AGENCY,
                           roles=["investigator"], unit="bench", ttl=3600)
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": "bench profile"}
        async def drive() -> tuple[list[dict[str, float]], float]:
            async with LeanClient(base, headers=headers) as client:
                cpu_start = 0.0
                for i in range(warmup + requests):
                    if i == warmup:
                        cpu_start = (await client.get("/__profile")).json()["cpu_s"]
                    item = inputs[i % len(inputs)]
                    started = time.perf_counter()
                    r = await api_request(client, op, item)
                    if i >= warmup:
                        client_ms.append((time.perf_counter() - started) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(f"{op}: {r.status_code} {r.text[:300]}")
                final = (await client.get("/__profile")).json()
                return final["records"][warmup:], (final["cpu_s"] - cpu_start) * 1000 / requests

        server, cpu_ms = asyncio.run(drive())
    finally:
        stop(proc)
    parts: dict[str, dict[str, float]] = {"client_total": _summary(client_ms)}
    parts["server_total"] = _summary([t["server"] for t in server])
    for part in PARTS:
        parts[part] = _summary([t.get(part, 0.0) for t in server])
    parts["server_other"] = _summary([t["server"] - sum(t.get(p, 0.0) for p in PARTS) for t in server])
    parts["http_and_client"] = _summary([c - t["server"] for c, t in zip(client_ms, server, strict=False)])
    return {"op": op, "requests": len(client_ms), "load_avg": os.getloadavg(), "parts_ms": parts,
            "server_cpu_ms_per_request": round(cpu_ms, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--op", choices=("lookup", "neighbourhood", "paths", "search"), default="lookup")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--save", metavar="LABEL",
                        help="also keep the figures under LABEL in docs/benchmarks/profile.json (shown in "
                             "docs/benchmarks.md at the next `python -m bench` or `python -m bench --render`)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    result = run(args.op, args.requests, args.warmup)
    if args.save:
        from bench.__main__ import RESULTS

        path = RESULTS / "profile.json"
        saved = json.loads(path.read_text()) if path.exists() else []
        saved = [p for p in saved if (p["label"], p["op"]) != (args.save, args.op)]
        saved.append({"label": args.save, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **result})
        path.write_text(json.dumps(saved, indent=2))
    print(f"{result['op']}: {result['requests']} requests, load average {result['load_avg']}, "
          f"API process CPU per request {result['server_cpu_ms_per_request']} ms (all its threads and tasks)")
    print(f"{'part':16} {'p50':>8} {'p95':>8} {'mean':>8}  (ms)")
    for name, s in result["parts_ms"].items():
        print(f"{name:16} {s['p50']:8.2f} {s['p95']:8.2f} {s['mean']:8.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
