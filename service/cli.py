"""The `ofast-graph` command line."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from importers.cli import demo_data_command, import_command
from service.core.settings import Settings, get_settings
from service.domain.ingest.bulk.command import bulk_load_command
from service.neo4j_local.connection import with_local_server
from service.neo4j_local.manager import LocalNeo4j, from_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="ofast-graph: interagency intelligence-sharing graph service.", no_args_is_help=True)
neo4j_app = typer.Typer(help="A local Neo4j Community server for development, tests and CI.",
                        no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(audit_app, name="audit")
app.command("import")(import_command)
app.command("demo-data")(demo_data_command)
app.command("bulk-load")(bulk_load_command)
err = Console(stderr=True)


def _settings() -> Settings:
    """The settings, with the local server of `ofast-graph neo4j` when no Neo4j is configured."""
    return with_local_server(get_settings())


def _local(instance: str, port: int | None) -> LocalNeo4j:

    return from_settings(instance, port)


InstanceOpt = Annotated[str, typer.Option(help="Instance name (its folder under the state dir).")]
PortOpt = Annotated[int | None, typer.Option(help="Bolt port (default: OFAST_GRAPH_LOCAL_BOLT_PORT).")]


@neo4j_app.command("start")
def neo4j_start(instance: InstanceOpt = "dev", port: PortOpt = None,
                timeout: Annotated[float, typer.Option(help="Seconds to wait for Bolt.")] = 180.0) -> None:
    """Start the local Neo4j (fetching it from Maven Central on first use); print its Bolt URI."""
    from service.neo4j_local.manager import Neo4jStartError

    server = _local(instance, port)
    started = time.monotonic()
    try:
        uri = server.start(timeout=timeout)
    except Neo4jStartError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    err.print(f"Neo4j {server.version} ready in {time.monotonic() - started:.1f}s")
    typer.echo(uri)


@neo4j_app.command("stop")
def neo4j_stop(instance: InstanceOpt = "dev", port: PortOpt = None) -> None:
    """Shut the local Neo4j down cleanly (nothing to do if it is not running)."""
    was_running = _local(instance, port).stop()
    err.print("stopped" if was_running else "not running")


@neo4j_app.command("status")
def neo4j_status(instance: InstanceOpt = "dev", port: PortOpt = None) -> None:
    """Print the local Neo4j's state as JSON; exit 1 when it is not answering."""
    status = _local(instance, port).status()
    typer.echo(json.dumps(status, indent=2))
    if not status["bolt"]:
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply the graph schema migrations (idempotent)."""
    from graph_schema import get_schema
    from graph_schema.migrations import LATEST_VERSION
    from graph_schema.migrations import migrate as run_migrations
    from service.core.db import make_driver

    settings = _settings()

    async def run() -> list[int]:
        driver = make_driver(settings)
        try:
            return await run_migrations(driver, settings.neo4j_database, get_schema())
        finally:
            await driver.close()

    applied = asyncio.run(run())
    err.print(f"schema at version {LATEST_VERSION}; newly recorded: {applied or 'none'}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(help="Worker processes.")] = 1) -> None:
    """Run the API under uvicorn (OpenAPI at /openapi.json, docs at /docs)."""
    import uvicorn

    uvicorn.run("service.cli:served_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


def served_app() -> FastAPI:
    """The application `serve` runs (in each worker process)."""
    from service.api.app import create_app

    return create_app(_settings())


@app.command()
def token(
    agency: Annotated[str, typer.Option(help="Agency code from the policy (police, douane…).")],
    role: Annotated[list[str], typer.Option(help="A role; repeat for several.")],
    unit: Annotated[str, typer.Option(help="Unit within the agency.")] = "",
    subject: Annotated[str, typer.Option(help="The `sub` claim (who).")] = "dev",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development token (HS256) and nothing else."""
    from service.access.auth import make_token
    from service.access.policy import policy_from_file

    settings = get_settings()
    policy = policy_from_file(settings.policy_file)
    if agency not in policy.agencies:
        err.print(f"[red]unknown agency {agency!r}; the policy knows {sorted(policy.agencies)}[/red]")
        raise typer.Exit(2)
    unknown = [r for r in role if r not in policy.roles]
    if unknown:
        err.print(f"[red]unknown roles {unknown}; the policy knows {sorted(policy.roles)}[/red]")
        raise typer.Exit(2)
    typer.echo(make_token(settings, agency=agency, roles=role, unit=unit, subject=subject, ttl=ttl))


retention_app = typer.Typer(help="Review dates and retention of owned data (policy section `lifecycle`).",
                            no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run(dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be deleted; "
                                                         "change nothing.")] = False) -> None:
    """Delete every entity whose review date passed by the policy's grace period (with its links
    and the identifiers nothing else links to), each deletion audited; purge expired lookup
    memories. Prints a JSON report."""
    from service.access.policy import policy_from_file
    from service.core.db import Database, make_driver
    from service.domain.lifecycle.retention import run_retention

    settings = _settings()
    policy = policy_from_file(settings.policy_file)

    async def run() -> dict[str, object]:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        try:
            return (await run_retention(db, policy, dry_run=dry_run)).as_dict()
        finally:
            await db.close()

    report = asyncio.run(run())
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    counts = report["counts"]
    err.print(f"{'would delete' if dry_run else 'deleted'}: {counts}")


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Replay journals left by dead API processes, then walk the whole chain; exit 0 when intact,
    1 at the first break (which is printed)."""
    from service.audit.journal import journal_dir
    from service.audit.verify import replay_orphans, verify_chain
    from service.core.db import Database, make_driver

    settings = _settings()

    async def run() -> tuple[bool, int, str, int]:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        try:
            # Journals of API processes that died before moving their records go into the chain first.
            replayed = await replay_orphans(db, journal_dir(settings))
            return (*await verify_chain(db), replayed)
        finally:
            await db.close()

    ok, checked, message, replayed = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checked": checked, "message": message, "replayed": replayed}))
    else:
        if replayed:
            typer.echo(f"replayed {replayed} records from journals of stopped processes")
        typer.echo(("OK: " if ok else "BROKEN: ") + message)
    if not ok:
        raise typer.Exit(1)


hooks_app = typer.Typer(help="The hook queue: ingest hook work past its budget (policy section `lifecycle`).",
                        no_args_is_help=True)
app.add_typer(hooks_app, name="hooks")


@hooks_app.command("run")
def hooks_run(max_tasks: Annotated[int | None, typer.Option("--max-tasks", min=1,
                                                             help="Stop after this many tasks.")] = None) -> None:
    """Work the queued hook tasks until none is claimable (the API processes' workers drain it
    too, safely: each task's work commits once). Exit 1 when a task failed (it stays queued)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from service.access.policy import policy_from_file
    from service.core.db import Database, make_driver
    from service.domain.lifecycle import queue

    settings = _settings()
    policy = policy_from_file(settings.policy_file)

    async def run() -> queue.DrainReport:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        try:
            backlog = (await queue.status(db))["tasks"]
            progress = Progress(TextColumn("[bold]hook tasks"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), console=err)
            with progress:
                bar = progress.add_task("hooks", total=min(backlog, max_tasks or backlog), failed=0)
                failed = 0

                def on_task(one: queue.DrainReport) -> None:
                    nonlocal failed
                    failed += one.failed
                    progress.update(bar, advance=1, failed=failed)

                return await queue.drain(db, policy, queue.worker_id(), max_tasks=max_tasks, on_task=on_task)
        finally:
            await db.close()

    report = asyncio.run(run())
    typer.echo(json.dumps({"done": report.done, "failed": report.failed, "skipped": report.skipped,
                           "alerts": report.alerts}))
    if report.failed:
        raise typer.Exit(1)


webhooks_app = typer.Typer(help="Webhook delivery: alerts pushed to the agencies' receivers.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("run")
def webhooks_run(turns: Annotated[int, typer.Option("--turns", min=1, help="Outbox turns to run.")] = 1) -> None:
    """Fill the webhook outbox and deliver what is due now (safe beside the API's workers: each
    delivery is leased). Prints the deliveries made and failed."""
    from service.core.db import Database, make_driver
    from service.domain.lifecycle.queue import worker_id
    from service.domain.notifications import webhooks

    settings = _settings()

    async def run() -> webhooks.Report:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        total, worker = webhooks.Report(), worker_id()
        try:
            for _ in range(turns):
                one = await webhooks.deliver_due(db, settings, worker)
                total.delivered, total.failed = total.delivered + one.delivered, total.failed + one.failed
            return total
        finally:
            await db.close()

    report = asyncio.run(run())
    typer.echo(json.dumps({"delivered": report.delivered, "failed": report.failed}))


@hooks_app.command("status")
def hooks_status(as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False) -> None:
    """The queue's backlog by kind (tasks, claimed, failing, oldest, most attempts) and the failing
    tasks with their last error."""
    from rich.table import Table

    from service.core.db import Database, make_driver
    from service.domain.lifecycle import queue

    settings = _settings()

    async def run() -> dict[str, object]:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        try:
            return await queue.status(db)
        finally:
            await db.close()

    status = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(status, ensure_ascii=False))
        return
    table = Table(title=f"hook queue: {status['tasks']} task(s)")
    for column in ("kind", "tasks", "claimed", "failing", "oldest", "max_attempts"):
        table.add_column(column)
    for row in status["kinds"]:  # type: ignore[attr-defined]
        table.add_row(*(str(row[c]) for c in ("kind", "tasks", "claimed", "failing", "oldest", "max_attempts")))
    Console().print(table)
    for task in status["failing"]:  # type: ignore[attr-defined]
        err.print(f"[red]failing[/red] {task['kind']} {task['id']} (attempts {task['attempts']}, "
                  f"next try {task['claimed_until']}): {task['last_error']}")


@app.command("schema-docs")
def schema_docs(output: Annotated[str, typer.Option(help="Where to write the Markdown.")] = "docs/schema.md") -> None:
    """Write the schema page of the docs, derived from graph_schema/schema.yaml."""
    from pathlib import Path

    from graph_schema.docs import render_markdown

    Path(output).write_text(render_markdown())
    err.print(f"wrote {output}")


def main() -> None:  # pragma: no cover
    app()
