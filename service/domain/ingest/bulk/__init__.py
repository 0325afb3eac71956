"""`ofast-graph bulk-load`: an empty database filled from partner files at import speed, ending
as the same files pushed through the API would leave it (docs/importers.md, "Bulk onboarding").

1. `translate`: the importers' readers, the API's batch translation (`build_plan`), the lines
   of the import files (`files`), items named again set aside as corrections, events (FtM
   Payments) set aside too;
2. `admin`: the server stopped, `neo4j-admin database import full`, the server started;
3. `after`: migrations, patches, shared-identifier alerts, person matching, the corrections
   through the ingest write path, the events through the events' write path, one audit record
   per agency.

It runs on a local instance of `service.neo4j_local` (its folder holds the database files the
admin tool writes); the database must be empty, else nothing is done.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j

from graph_schema import get_schema
from service.access.policy import Policy
from service.core import clock
from service.core.db import Database
from service.core.settings import Settings
from service.domain.ingest.bulk.admin import BulkLoadError, check_empty, run_import
from service.domain.ingest.bulk.after import AfterReport, finish
from service.domain.ingest.bulk.files import Stamp
from service.domain.ingest.bulk.translate import BulkWriter, Totals, Translator
from service.domain.lifecycle.retention import review_dates
from service.neo4j_local.manager import LocalNeo4j

__all__ = ["FORMATS", "BulkLoadError", "BulkOptions", "BulkReport", "Hooks", "bulk_load", "default_workers", "inputs"]

FORMATS = ("csv", "jsonl", "ftm")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
IN_PROCESS_BYTES = 4 << 20  # smaller inputs are translated without worker processes


@dataclass
class BulkOptions:
    folder: Path
    format: str  # csv | jsonl | ftm
    agency: str | None = None  # None: one sub-folder per agency
    unit: str = ""
    source_system: str | None = "ofast-graph-bulk-load"
    sharing: str | None = None
    workers: int | None = None  # None: `default_workers`
    concurrency: int = 2  # transactions at a time after the import
    work_dir: Path | None = None  # default: <state dir>/bulk/<run id>, removed after a successful load
    keep_files: bool = False
    import_heap: str = "1g"
    import_off_heap: str = "2g"


@dataclass
class Hooks:
    """Progress: bytes read, items translated, the phase starting."""

    on_bytes: Callable[[int], None] | None = None
    on_items: Callable[[int], None] | None = None
    on_phase: Callable[[str], None] | None = None


@dataclass
class BulkReport:
    run_id: str
    agencies: list[str]
    totals: Totals
    after: AfterReport = field(default_factory=AfterReport)
    seconds: dict[str, float] = field(default_factory=dict)
    ftm: dict[str, Any] | None = None
    work_dir: str = ""

    @property
    def elapsed(self) -> float:
        return round(sum(self.seconds.values()) + sum(self.after.seconds.values()), 3)

    def as_dict(self) -> dict[str, Any]:
        summary = self.totals.summary
        elapsed = self.elapsed
        return {
            "run_id": self.run_id, "agencies": self.agencies, "items": self.totals.items,
            "entities": dict(summary.entities), "links": dict(summary.links),
            "nodes_by_type": dict(self.totals.nodes), "links_by_type": dict(self.totals.links),
            "errors": summary.errors, "problems": summary.problems,
            "corrections": self.after.corrections, "events": self.after.events, "patched": self.after.patched,
            "alerts": self.after.alerts, "match_candidates": self.after.match_candidates,
            "seconds": {**self.seconds, **self.after.seconds}, "elapsed_s": elapsed,
            "items_per_s": round(self.totals.items / elapsed, 1) if elapsed else None,
            **({"ftm": self.ftm} if self.ftm is not None else {}),
            **({"work_dir": self.work_dir} if self.work_dir else {}),
        }


def inputs(folder: Path, fmt: str, agency: str | None, policy: Policy) -> list[tuple[str, list[Path]]]:
    """(agency, its input paths) in load order; BulkLoadError when the layout is not one of the
    two: the agency's own input (`--agency`), or one sub-folder per agency named by its code."""
    if fmt not in FORMATS:
        raise BulkLoadError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if agency is not None:
        if agency not in policy.agencies:
            raise BulkLoadError(f"unknown agency {agency!r}; the policy knows {sorted(policy.agencies)}")
        return [(agency, _paths(folder, fmt))]
    if not folder.is_dir():
        raise BulkLoadError(f"{folder} is not a folder; give --agency A for one agency's input")
    found = sorted(p for p in folder.iterdir() if p.is_dir())
    unknown = [p.name for p in found if p.name not in policy.agencies]
    if unknown or not found:
        raise BulkLoadError(f"{folder} should hold one folder per agency, named by its code "
                            f"({', '.join(sorted(policy.agencies))}), or give --agency A for one agency's input"
                            + (f"; not agencies: {', '.join(unknown)}" if unknown else ""))
    return [(p.name, _paths(p, fmt)) for p in found]


def _paths(path: Path, fmt: str) -> list[Path]:
    if fmt == "csv":
        if not path.is_dir():
            raise BulkLoadError(f"--format csv reads a folder of CSV files; {path} is not a folder")
        from importers import csv_import

        try:
            csv_import.headers(csv_import.plan(path), get_schema())
        except csv_import.CsvFormatError as exc:
            raise BulkLoadError(str(exc)) from None
        return [path]
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in JSON_SUFFIXES) \
        if path.is_dir() else []
    if not files:
        raise BulkLoadError(f"no {'/'.join(JSON_SUFFIXES)} files in {path}")
    return files


def default_workers(input_bytes: int) -> int:
    """Translating processes besides this one: none for a small input, or on two cores or fewer
    (there the processes' pickling costs more than their parallel translation gains), else one
    per core but the one this process reads and writes on."""
    cores = os.cpu_count() or 1
    return 0 if input_bytes < IN_PROCESS_BYTES or cores <= 2 else cores - 1


def _input_bytes(layout: list[tuple[str, list[Path]]], fmt: str) -> int:
    total = 0
    for _, paths in layout:
        for path in paths:
            total += sum(p.stat().st_size for p in path.glob("*.csv")) if path.is_dir() else path.stat().st_size
    return total * (2 if fmt == "ftm" else 1)  # FtM files are read twice


def bulk_load(server: LocalNeo4j, settings: Settings, policy: Policy, options: BulkOptions,
              hooks: Hooks | None = None) -> BulkReport:
    """Load `options.folder` into the instance's empty database (see the module docstring)."""
    hooks = hooks or Hooks()
    layout = inputs(options.folder, options.format, options.agency, policy)
    database = settings.neo4j_database
    run_id = f"bulk-{uuid.uuid4()}"
    work = options.work_dir or settings.state_dir / "bulk" / run_id
    report = BulkReport(run_id, [a for a, _ in layout], Totals())

    def phase(name: str) -> float:
        if hooks.on_phase is not None:
            hooks.on_phase(name)
        return time.monotonic()

    started = phase("checking the database is empty")
    check_empty(server, database)
    report.seconds["check"] = round(time.monotonic() - started, 3)

    started = phase("translating")
    total_bytes = _input_bytes(layout, options.format)
    workers = options.workers if options.workers is not None else default_workers(total_bytes)
    work.mkdir(parents=True, exist_ok=True)
    translator = Translator(work, policy, workers)
    stamps: dict[str, Stamp] = {}
    items_by_agency: Counter[str] = Counter()
    try:
        report.ftm = _translate(translator, layout, options, stamps, items_by_agency, hooks)
        translator.close()
    except BaseException:
        translator.terminate()
        raise
    report.totals = translator.totals
    report.seconds["translate"] = round(time.monotonic() - started, 3)
    if not report.totals.nodes:
        raise BulkLoadError(f"nothing to load: no valid item in {options.folder} "
                            f"({report.totals.summary.errors:,} refused)")

    started = phase("importing (neo4j-admin)")
    run_import(server, database, translator.files.arguments(), work / "import.report",
               heap=options.import_heap, off_heap=options.import_off_heap, log=work / "import.log")
    report.seconds["import"] = round(time.monotonic() - started, 3)
    started = phase("starting Neo4j")
    server.start()
    report.seconds["start"] = round(time.monotonic() - started, 3)

    async def after() -> AfterReport:
        driver = neo4j.AsyncGraphDatabase.driver(server.uri, auth=(server.user, server.password()),
                                                 notifications_min_severity="OFF")
        db = Database(driver, database, settings.retry_after_seconds)
        try:
            return await finish(db, policy, stamps=stamps, identifiers=translator.shared_identifiers(),
                                persons=translator.persons, patches=translator.patches.read(),
                                corrections=translator.corrections.read(), events=translator.events.read(),
                                items=dict(items_by_agency),
                                run_id=run_id, source=str(options.folder), concurrency=options.concurrency,
                                on_phase=hooks.on_phase)
        finally:
            await db.close()

    report.after = asyncio.run(after())
    if options.keep_files or options.work_dir is not None:
        report.work_dir = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _translate(translator: Translator, layout: list[tuple[str, list[Path]]], options: BulkOptions,
               stamps: dict[str, Stamp], items_by_agency: Counter[str], hooks: Hooks) -> dict[str, Any] | None:
    from importers import csv_import, ftm, jsonl_import

    policy = translator.ctx.policy
    dates = review_dates(policy.lifecycle)
    now = clock.iso_now()  # one reading for the whole load, as one batch has one
    stats = ftm.FtmStats() if options.format == "ftm" else None
    for agency, paths in layout:
        stamp = Stamp(agency, options.unit, options.source_system, str(uuid.uuid4()), now, dates["due"],
                      dates["minor_due"])
        stamps[agency] = stamp
        translator.begin(agency, stamp)

        def on_items(n: int, agency: str = agency) -> None:
            items_by_agency[agency] += n
            if hooks.on_items is not None:
                hooks.on_items(n)

        writer = BulkWriter(translator, agency, on_items=on_items)
        for path in paths:
            if options.format == "csv":
                csv_import.load_folder(path, writer, sharing=options.sharing, on_bytes=hooks.on_bytes)
            elif options.format == "jsonl":
                jsonl_import.load_file(path, writer, sharing=options.sharing, on_bytes=hooks.on_bytes)
            else:
                assert stats is not None
                ftm.load_file(path, writer, stats, sharing=options.sharing, on_bytes=hooks.on_bytes)
        writer.flush()
        translator.end()
    return stats.as_dict() if stats is not None else None
