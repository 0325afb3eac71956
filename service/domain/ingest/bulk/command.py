"""`ofast-graph bulk-load` (registered in service/cli.py): options, progress bar, summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from importers.cli import Format, Sharing

err = Console(stderr=True)


def bulk_load_command(
    folder: Annotated[Path, typer.Argument(exists=True, help="One folder per agency (named by its code), "
                                                                  "or one agency's input with --agency.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="csv (folders), jsonl or ftm (files).")],
    agency: Annotated[str | None, typer.Option(help="FOLDER is this agency's input.")] = None,
    instance: Annotated[str, typer.Option(help="Local Neo4j instance (ofast-graph neo4j) to fill.")] = "dev",
    port: Annotated[int | None, typer.Option(help="Its Bolt port (default: OFAST_GRAPH_LOCAL_BOLT_PORT).")] = None,
    unit: Annotated[str, typer.Option(help="Owner unit of the data, as a token's unit.")] = "",
    source_system: Annotated[str, typer.Option(help="Provenance, as X-Source-System.")] = "ofast-graph-bulk-load",
    sharing: Annotated[Sharing | None, typer.Option(help="Sharing of items that do not say.")] = None,
    workers: Annotated[int | None, typer.Option(min=0, help="Translating processes (default: one per CPU; "
                                                            "0: in this process).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="Transactions at a time after the import.")] = 2,
    work_dir: Annotated[Path | None, typer.Option(help="Where the import files go (kept).")] = None,
    keep_files: Annotated[bool, typer.Option("--keep-files", help="Keep the import files.")] = False,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Fill an EMPTY database from partner files at import speed (neo4j-admin), ending as the
    same files pushed through the API would: ids, normalised identifiers, provenance, codes,
    review dates, shared-identifier alerts, match candidates. Refuses a database holding data.

    Exit status 0 when every item was loaded, 1 when some were refused (listed), 2 when
    nothing was loaded (the input cannot be read, the database is not empty).
    """
    from service.access.policy import policy_from_file
    from service.core.settings import get_settings
    from service.domain.ingest.bulk import BulkLoadError, BulkOptions, Hooks, bulk_load
    from service.neo4j_local.manager import Neo4jStartError, from_settings

    settings = get_settings()
    policy = policy_from_file(settings.policy_file)
    server = from_settings(instance, port)
    options = BulkOptions(folder, format.value, agency, unit, source_system or None,
                          sharing.value if sharing is not None else None, workers, concurrency, work_dir,
                          keep_files, import_heap=settings.local_heap)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                        TextColumn("{task.fields[items]:,} items"), TimeElapsedColumn(), console=err)
    started = time.monotonic()
    with progress:
        task = progress.add_task("bulk-load", total=None, items=0)
        items = 0

        def on_items(n: int) -> None:
            nonlocal items
            items += n
            progress.update(task, items=items)

        def on_phase(name: str) -> None:
            if name == "translating":
                progress.update(task, total=_total_bytes(folder, format.value) or None)
            progress.update(task, description=name)

        hooks = Hooks(on_bytes=lambda n: progress.advance(task, n), on_items=on_items, on_phase=on_phase)
        try:
            report = bulk_load(server, settings, policy, options, hooks)
        except (BulkLoadError, Neo4jStartError) as exc:
            progress.stop()
            err.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(2) from None
    summary = report.as_dict()
    if json_summary:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _print(summary, time.monotonic() - started)
        err.print(f"Neo4j instance {instance!r} is running on {server.uri}")
    if summary["errors"]:
        raise typer.Exit(1)


def _total_bytes(folder: Path, fmt: str) -> int:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) * (2 if fmt == "ftm" else 1)


def _print(summary: dict[str, Any], elapsed: float) -> None:
    table = Table(title=f"bulk load {summary['run_id']} ({', '.join(summary['agencies'])})")
    table.add_column("")
    table.add_column("written", justify="right")
    for name, n in sorted(summary["nodes_by_type"].items()):
        table.add_row(f"node {name}", f"{n:,}")
    for name, n in sorted(summary["links_by_type"].items()):
        table.add_row(f"link {name}", f"{n:,}")
    err.print(table)
    err.print(f"items read: {summary['items']:,}   entities: {summary['entities']}   links: {summary['links']}   "
              f"corrections replayed: {summary['corrections'] or 0}   errors: {summary['errors']:,}")
    err.print(f"events: {summary['events'] or 0}   alerts: {summary['alerts']}   "
              f"match candidates: {summary['match_candidates']:,}")
    err.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))
    rate = summary["items"] / elapsed if elapsed else 0
    err.print(f"{summary['items']:,} items in {elapsed:.1f}s: {rate:,.0f} items/s")
    for problem in summary["problems"][:50]:
        err.print(f"[red]error[/red] {problem}", markup=True, highlight=False)
    if summary["errors"] > min(50, len(summary["problems"])):
        err.print(f"… {summary['errors']:,} items in error in all")
