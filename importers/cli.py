"""`ofast-graph import` and `ofast-graph demo-data`: files and synthetic data, through the API.

Registered in service/cli.py. Heavy imports (followthemoney, the loaders) happen inside the
commands so that `ofast-graph --help` stays fast.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from importers.client import IngestClient
    from importers.ftm import FtmStats
    from importers.loader import ImportSummary

DEFAULT_API_URL = "http://127.0.0.1:8000"
err = Console(stderr=True)


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    ftm = "ftm"
    cdr = "cdr"
    lapi = "lapi"
    transfers = "transfers"


EVENT_FORMATS = frozenset({Format.cdr, Format.lapi, Format.transfers})


class OnError(StrEnum):
    skip = "skip"
    abort = "abort"


class Sharing(StrEnum):
    open = "open"
    restricted = "restricted"
    confidential = "confidential"


ApiUrl = Annotated[str, typer.Option("--api-url", envvar="OFAST_GRAPH_API_URL",
                                     help="Base URL of the ofast-graph API.")]
Timeout = Annotated[float, typer.Option(min=1, help="Seconds to wait for one answer before resending it.")]


def _dev_token(agency: str, roles: list[str], subject: str, ttl: int = 6 * 3600) -> str:
    """A development token signed with this machine's secret (the one `ofast-graph serve` trusts)."""
    from service.access.auth import make_token
    from service.access.policy import policy_from_file
    from service.core.settings import get_settings

    settings = get_settings()
    policy = policy_from_file(settings.policy_file)
    if agency not in policy.agencies:
        err.print(f"[red]unknown agency {agency!r}; the policy knows {sorted(policy.agencies)}[/red]")
        raise typer.Exit(2)
    return make_token(settings, agency=agency, roles=roles, subject=subject, ttl=ttl)


def _client(api_url: str, token: str, source_system: str, chunk_size: int, progress: Progress | None,
            timeout: float = 120.0) -> IngestClient:
    from importers.client import IngestClient

    def on_retry(attempt: int, reason: str, delay: float) -> None:
        message = f"[yellow]retry {attempt} in {delay:.1f}s: {reason}[/yellow]"
        (progress.console if progress is not None else err).print(message)

    return IngestClient(api_url, token, source_system=source_system, max_items=chunk_size, on_retry=on_retry,
                        timeout=timeout)


def _counts_table(title: str, rows: dict[str, Counter[str]]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for status in ("created", "updated", "unchanged"):
        table.add_column(status, justify="right")
    for name, counts in rows.items():
        table.add_row(name, *(f"{counts.get(s, 0):,}" for s in ("created", "updated", "unchanged")))
    return table


def _print_import_summary(summary: ImportSummary, ftm: FtmStats | None, elapsed: float, out: Console) -> None:
    counts = {"entities": summary.entities, "links": summary.links}
    out.print(_counts_table("Import summary", {**counts, **({"events": summary.events} if summary.events else {})}))
    if summary.duplicates:
        out.print(f"items named twice in one request (the last mention was sent): {summary.duplicates:,}")
    out.print(f"errors: {summary.errors:,}   requests: {summary.requests:,}   retries: {summary.retries:,}   "
              f"items/s: {summary.pushed / elapsed if elapsed else 0:,.0f}")
    if ftm is not None:
        table = Table(title="FollowTheMoney entities by schema")
        for column in ("FtM schema", "read", "mapped", "not mapped"):
            table.add_column(column, justify="left" if column == "FtM schema" else "right")
        for name in sorted(ftm.seen):
            table.add_row(name, str(ftm.seen[name]), str(ftm.mapped[name]), str(ftm.unmapped[name]))
        out.print(table)
        if ftm.parts:
            out.print("[bold]mapped as[/bold]: " + "; ".join(f"{k} ×{v}" for k, v in sorted(ftm.parts.items())))
        if ftm.reasons:
            out.print("[bold]not mapped[/bold]:")
            for reason, count in ftm.reasons.most_common():
                out.print(f"  {count:>6} × {reason}")
        if ftm.dropped_properties:
            out.print("[bold]FtM properties with no place in the schema[/bold]: "
                      + ", ".join(f"{k} ×{v}" for k, v in ftm.dropped_properties.most_common()))
    for problem in summary.problems[:50]:
        out.print(f"[red]error[/red] {problem}", markup=True, highlight=False)
    if len(summary.problems) > 50 or summary.errors > len(summary.problems):
        out.print(f"… {summary.errors:,} items in error in all")


def import_command(
    path: Annotated[Path, typer.Argument(exists=True, help="A folder of CSV files, or a .jsonl or event CSV file.")],
    format: Annotated[Format, typer.Option("--format", "-f",
                                           help="csv (a folder), jsonl, ftm; or events: cdr, lapi, transfers.")],
    api_url: ApiUrl = DEFAULT_API_URL,
    token: Annotated[str | None, typer.Option(envvar="OFAST_GRAPH_TOKEN",
                                              help="Bearer token; else one is minted for --agency.")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency for a development token (no --token).")] = None,
    role: Annotated[str, typer.Option(help="Role of the development token.")] = "ingest",
    source_system: Annotated[str, typer.Option(help="Sent as X-Source-System (provenance).")] = "ofast-graph-import",
    sharing: Annotated[Sharing | None, typer.Option(
        help="Sharing of items that do not say (default: the server's, restricted).")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Items per request.")] = 5000,
    timeout: Timeout = 120.0,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    mapping: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="cdr, lapi, transfers: a YAML file describing another layout (importers/mappings/).")] = None,
    on_error: Annotated[OnError | None, typer.Option(
        help="cdr, lapi, transfers: abort (default) sends nothing when any line is bad; skip sends the "
             "good lines.")] = None,
) -> None:
    """Import a CSV folder, JSON lines in the ingest format, or FollowTheMoney entities through the API;
    or time-stamped records (a CSV file) through POST /v1/events.

    Events without --mapping: comma-separated UTF-8 (a BOM is accepted), a header of these
    columns in any order, times ISO 8601 (without an offset: Europe/Paris local time):

    cdr: ref, at, from, to, duration_s, mode, handset, cell_ref, cell_operator, cell_lat, cell_lon,
    cell_azimuth, sharing

    lapi: ref, at, vehicle, reader_ref, reader_lat, reader_lon, sharing

    transfers: ref, at, from, to, amount_eur, reference, from_type, to_type, sharing

    (`at` may be `date` + `time`; required: cdr at, from, to, mode; lapi at, vehicle, reader_ref;
    transfers at (a date will do), from, to, amount_eur. docs/importers.md lists every field.)

    Exit status 0 when every item was accepted, 1 when some were refused or lines are bad (the
    summary lists them with their line numbers; FtM entities without a mapping are reported, not
    errors), 2 when the input cannot be read at all.
    """
    from graph_schema import get_schema
    from importers import csv_import, ftm, jsonl_import
    from importers.client import ApiClientError
    from importers.loader import BatchWriter, ImportSummary

    if token is None:
        if agency is None:
            err.print("[red]give --token (or OFAST_GRAPH_TOKEN), or --agency for a development token[/red]")
            raise typer.Exit(2)
        token = _dev_token(agency, [role], subject="ofast-graph-import")
    if format in EVENT_FORMATS:
        if not path.is_file():
            err.print(f"[red]--format {format.value} reads one file; {path} is not a file[/red]")
            raise typer.Exit(2)
        _import_events(path, format.value, mapping, on_error or OnError.abort, _client(
            api_url, token, source_system, chunk_size, None, timeout), sharing, chunk_size, json_summary)
        return
    if mapping is not None or on_error is not None:
        err.print("[red]--mapping and --on-error are for --format cdr, lapi or transfers[/red]")
        raise typer.Exit(2)
    if format is Format.csv and not path.is_dir():
        err.print(f"[red]--format csv reads a folder of CSV files; {path} is not a folder[/red]")
        raise typer.Exit(2)
    if format is not Format.csv and not path.is_file():
        err.print(f"[red]--format {format.value} reads one file; {path} is not a file[/red]")
        raise typer.Exit(2)

    if format is Format.csv:
        try:  # every file and header is checked before anything is pushed
            csv_import.headers(csv_import.plan(path), get_schema())
        except csv_import.CsvFormatError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None

    share = sharing.value if sharing is not None else None
    summary = ImportSummary()
    stats = ftm.FtmStats() if format is Format.ftm else None
    if format is Format.csv:
        total = sum(p.stat().st_size for p in path.glob("*.csv"))
    else:
        total = path.stat().st_size * (2 if format is Format.ftm else 1)
    started = time.monotonic()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                        TextColumn("{task.fields[pushed]:,} items pushed"), TimeElapsedColumn(), console=err)
    with progress, _client(api_url, token, source_system, chunk_size, progress, timeout) as client:
        task = progress.add_task(f"import {path.name}", total=total or None, pushed=0)
        pushed = 0

        def on_bytes(n: int) -> None:
            progress.advance(task, n)

        def on_pushed(n: int) -> None:
            nonlocal pushed
            pushed += n
            progress.update(task, pushed=pushed)

        writer = BatchWriter(client, summary, chunk_items=chunk_size, on_pushed=on_pushed)
        try:
            if format is Format.csv:
                csv_import.load_folder(path, writer, sharing=share, on_bytes=on_bytes)
            elif format is Format.jsonl:
                jsonl_import.load_file(path, writer, sharing=share, on_bytes=on_bytes)
            else:
                assert stats is not None
                ftm.load_file(path, writer, stats, sharing=share, on_bytes=on_bytes)
            writer.flush()
        except csv_import.CsvFormatError as exc:
            progress.stop()
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        except ApiClientError as exc:
            progress.stop()
            err.print(f"[red]stopped: {exc}[/red]")
            summary.problem(f"stopped: {exc}", items=0)
            _finish(summary, stats, started, json_summary)
            raise typer.Exit(1) from None
    _finish(summary, stats, started, json_summary)
    if summary.errors:
        raise typer.Exit(1)


def _finish(summary: ImportSummary, stats: FtmStats | None, started: float, as_json: bool) -> None:
    elapsed = time.monotonic() - started
    if as_json:
        data = summary.as_dict() | {"elapsed_s": round(elapsed, 3)}
        if stats is not None:
            data["ftm"] = stats.as_dict()
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        _print_import_summary(summary, stats, elapsed, err)


def _import_events(path: Path, fmt: str, mapping_file: Path | None, on_error: OnError, client: IngestClient,
                   sharing: Sharing | None, chunk_size: int, as_json: bool) -> None:
    """Two passes over the file (check every line, then send), so the progress bar counts it twice."""
    from importers.client import ApiClientError
    from importers.events_import import EventFormatError, EventImportSummary, Layout, Mapping, import_file, load_mapping

    with client:
        try:
            mapping = load_mapping(mapping_file) if mapping_file is not None else None
            if sharing is not None:  # for the lines that do not say
                base = mapping or Mapping()
                mapping = base.model_copy(update={"constants": {"sharing": sharing.value, **base.constants}})
            layout = Layout.open(path, fmt, mapping)
        except EventFormatError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        started = time.monotonic()
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                            TextColumn("{task.fields[sent]:,} events sent"), TimeElapsedColumn(), console=err)
        summary = EventImportSummary()
        with progress:
            task = progress.add_task(f"check {path.name}", total=2 * path.stat().st_size or None, sent=0)
            client.on_retry = lambda attempt, reason, delay: progress.console.print(
                f"[yellow]retry {attempt} in {delay:.1f}s: {reason}[/yellow]")
            try:
                import_file(layout, client, summary, on_error=on_error.value, chunk_size=chunk_size,
                            on_bytes=lambda n: progress.advance(task, n),
                            on_sent=lambda n: progress.update(task, sent=summary.sent),
                            on_phase=lambda phase: progress.update(task, description=f"{phase} {path.name}"))
            except ApiClientError as exc:
                summary.problem(f"stopped: {exc}", items=0)
    elapsed = time.monotonic() - started
    if as_json:
        typer.echo(json.dumps(summary.as_dict() | {"elapsed_s": round(elapsed, 3)}, ensure_ascii=False))
    else:
        _print_events_summary(summary, on_error, elapsed)
    if summary.errors:
        raise typer.Exit(1)


def _print_events_summary(summary: Any, on_error: OnError, elapsed: float) -> None:
    table = Table(title="Event import")
    for column in ("read", "bad", "sent", "created", "updated", "unchanged"):
        table.add_column(column, justify="right")
    table.add_row(*(f"{n:,}" for n in (summary.read, summary.bad, summary.sent, summary.events.get("created", 0),
                                       summary.events.get("updated", 0), summary.events.get("unchanged", 0))))
    err.print(table)
    if summary.duplicates:
        err.print(f"lines naming an event already in the same request (the last one was sent): "
                  f"{summary.duplicates:,}")
    err.print(f"requests: {summary.requests:,}   retries: {summary.retries:,}   "
              f"events/s: {summary.sent / elapsed if elapsed else 0:,.0f}")
    for problem in summary.problems[:50]:
        err.print(f"[red]error[/red] {problem}", markup=True, highlight=False)
    if len(summary.problems) > 50:
        err.print(f"… {summary.errors:,} errors in all")
    if summary.bad and not summary.written:
        err.print(f"[red]nothing was sent (--on-error {on_error.value}): fix the {summary.bad:,} bad lines, "
                  "or send the good ones with --on-error skip[/red]")


def demo_data_command(
    size: Annotated[int, typer.Option(min=1, help="About how many nodes to create.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 42,
    api_url: ApiUrl = DEFAULT_API_URL,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Requests in flight.")] = 4,
    batch_items: Annotated[int, typer.Option(min=10, help="Items per request.")] = 2000,
    wait_ready: Annotated[float, typer.Option(help="Seconds to wait for /readyz first.")] = 60.0,
    timeout: Timeout = 120.0,
    json_summary: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    events: Annotated[bool, typer.Option(help="Also push the scenes' phone records, plate reads and transfers "
                                              "(POST /v1/events).")] = True,
) -> None:
    """Push a synthetic scenario through the API: networks across French cities and ports, the
    three agencies with their own cases and overlapping phones, accounts and plates; then the
    events of those scenes (calls, plate reads, transfers).

    Each agency pushes with its own development token (role ingest), signed with this
    machine's secret. Deterministic per seed; memory stays bounded at any size.
    """
    from importers.client import ApiClientError, ApiRequestError, IngestResult
    from importers.demo import AGENCIES, SOURCE_SYSTEM, DemoStats, EventStats, generate, generate_events

    stats = DemoStats()
    event_stats = EventStats()
    clients = {a: _client(api_url, _dev_token(a, ["ingest"], subject="demo-data"), SOURCE_SYSTEM[a],
                          batch_items, None, timeout) for a in AGENCIES}
    results: dict[str, dict[str, Counter[str]]] = {
        a: {"entities": Counter(), "links": Counter(), "events": Counter()} for a in AGENCIES}
    refused: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()
    try:
        first = clients[AGENCIES[0]]
        if wait_ready > 0:
            first.wait_ready(timeout=wait_ready)
        progress = Progress(TextColumn("[bold]demo data"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("nodes · {task.fields[items]:,} items pushed"), TimeElapsedColumn(),
                            console=err)
        with progress, ThreadPoolExecutor(max_workers=concurrency) as pool:
            task = progress.add_task("demo", total=size, items=0)
            items = 0
            in_flight: set[Future[Any]] = set()
            meta: dict[Future[Any], tuple[str, int, int]] = {}

            def collect(done: set[Future[Any]]) -> None:
                nonlocal items
                for future in done:
                    agency, nodes, n_items = meta.pop(future)
                    try:
                        result = future.result()
                    except ApiRequestError as exc:
                        with lock:
                            refused.append(f"{agency}: {exc}")
                        continue
                    if isinstance(result, IngestResult):
                        results[agency]["entities"].update(result.entity_counts)
                        results[agency]["links"].update(result.link_counts)
                    else:
                        results[agency]["events"].update(result.counts)
                    items += n_items
                    progress.update(task, advance=nodes, items=items)

            for agency, batch, nodes in generate(size, seed, batch_items=batch_items, stats=stats):
                # Bounded memory: at most 2 × concurrency batches exist at any time.
                while len(in_flight) >= concurrency * 2:
                    done, in_flight = _wait_first(in_flight)
                    collect(done)
                n_items = len(batch["entities"]) + len(batch["links"])
                future = pool.submit(clients[agency].push, batch)
                meta[future] = (agency, nodes, n_items)
                in_flight.add(future)
            while in_flight:
                done, in_flight = _wait_first(in_flight)
                collect(done)
            # Events after every scene is stored: the identifiers they name are there, so their
            # shared-identifier alerts are raised against the agencies' own links.
            for agency, batch_events in (generate_events(seed, stats.scenes, batch_events=batch_items,
                                                         stats=event_stats) if events else ()):
                while len(in_flight) >= concurrency * 2:
                    done, in_flight = _wait_first(in_flight)
                    collect(done)
                sent = pool.submit(clients[agency].push_events, batch_events)
                meta[sent] = (agency, 0, len(batch_events))
                in_flight.add(sent)
            while in_flight:
                done, in_flight = _wait_first(in_flight)
                collect(done)
    except ApiClientError as exc:
        err.print(f"[red]stopped: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        for client in clients.values():
            client.close()
    elapsed = time.monotonic() - started
    summary: dict[str, Any] = {
        "size": size, "seed": seed, "scenes": stats.scenes, "nodes": stats.nodes + event_stats.nodes,
        "links": stats.links, "events": dict(event_stats.events), "events_by_agency": dict(event_stats.by_agency),
        "owned_entities_by_agency": dict(stats.by_agency), "items_by_type": dict(stats.by_type),
        "multi_agency_scenes": stats.multi_agency_scenes, "identifiers_shared_in_scene": stats.shared_in_scene,
        "results": {a: {k: dict(v) for k, v in r.items()} for a, r in results.items()},
        "refused": refused, "elapsed_s": round(elapsed, 3),
        "items_per_s": round((stats.nodes + stats.links + sum(event_stats.events.values())) / elapsed, 1)
        if elapsed else None,
    }
    if json_summary:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        rows = {f"{a} {kind}": counts for a, r in results.items() for kind, counts in r.items()}
        err.print(_counts_table(f"demo data: {stats.scenes:,} scenes, ~{summary['nodes']:,} nodes, "
                                f"{stats.links:,} links, {sum(event_stats.events.values()):,} events", rows))
        err.print(f"scenes seen by 2+ agencies: {stats.multi_agency_scenes:,}; identifiers named by 2+ agencies "
                  f"in one scene: {stats.shared_in_scene:,} (plus suppliers' phones and accounts across scenes)")
        err.print(f"{elapsed:.1f}s, {summary['items_per_s'] or 0:,.0f} items/s; seed {seed}")
        for line in refused[:20]:
            err.print(f"[red]refused[/red] {line}", highlight=False)
    if refused:
        raise typer.Exit(1)


def _wait_first(futures: set[Future[Any]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    done, pending = wait(futures, return_when=FIRST_COMPLETED)
    return set(done), set(pending)


__all__ = ["demo_data_command", "import_command"]
