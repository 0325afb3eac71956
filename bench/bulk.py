"""Bulk onboarding throughput: `ofast-graph bulk-load` of N generated items into an empty instance.

    python -m bench.bulk --items 1000000 [--format jsonl|csv] [--seed 7] [--workers N] [--save]
                         [--instance bench-bulk] [--port 7699] [--heap 2g] [--pagecache 2g]

Writes the partner files first (outside the timer; streamed, one folder per agency): the items
of `bench.ingest` — cells of a network, its cases and persons with their phones, accounts and
plates, a tenth of the phones from a pool shared across agencies — the agency changing every
`--batch` items as there. Then times the whole load: translation, `neo4j-admin database import`,
the server's start, migrations, alerts, matching, audit. Prints items/s over the whole, each
phase's seconds, the store's size on disk and the load average before and after.

The instance is the benchmark's own local one (`service.neo4j_local`): its database is DELETED
first (bulk-load only fills an empty one). Not a test: figures, not assertions.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bench.ingest import AGENCIES, _cell
from service.access.policy import policy_from_file
from service.core.settings import get_settings
from service.domain.ingest.bulk import BulkOptions, Hooks, bulk_load, default_workers
from service.neo4j_local.manager import LocalNeo4j


def items(total: int, batch: int = 5000, seed: int = 7) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(agency, "e" | "l", item): whole cells until `total` items, the agency changing every `batch`."""
    rng = random.Random(seed)
    phone_pool = max(10, total // 100)
    count, cell = 0, 0
    while count < total:
        agency = AGENCIES[(count // batch) % len(AGENCIES)]
        for kind, item in _cell(rng, agency, cell, phone_pool):
            yield agency, kind, item
            count += 1
        cell += 1


def write_jsonl(folder: Path, total: int, seed: int) -> int:
    handles: dict[str, IO[str]] = {}
    count = 0
    try:
        for agency, kind, item in items(total, seed=seed):
            fh = handles.get(agency)
            if fh is None:
                (folder / agency).mkdir(parents=True, exist_ok=True)
                fh = handles[agency] = open(folder / agency / "export.jsonl", "w", encoding="utf-8")  # noqa: SIM115
            fh.write(json.dumps({"kind": "entity" if kind == "e" else "link", **item}, ensure_ascii=False) + "\n")
            count += 1
    finally:
        for fh in handles.values():
            fh.close()
    return count


def write_csv(folder: Path, total: int, seed: int) -> int:
    """Per agency one file per entity type (`ref`, `sharing`, the properties) and `links.csv`."""
    from graph_schema import get_schema

    schema = get_schema()
    link_props = sorted({p for rel in schema.relationships.values() for p in rel.properties})
    writers: dict[tuple[str, str], Any] = {}
    handles: list[IO[str]] = []

    def writer(agency: str, type_: str) -> Any:
        w = writers.get((agency, type_))
        if w is None:
            (folder / agency).mkdir(parents=True, exist_ok=True)
            if type_ == "links":
                columns = ["type", "from_type", "from_ref", "to_type", "to_ref", "sharing", "ref", *link_props]
            else:
                columns = ["ref", "sharing", *schema.node(type_).properties]
            fh = open(folder / agency / f"{type_.lower()}s.csv" if type_ != "links" else  # noqa: SIM115
                      folder / agency / "links.csv", "w", encoding="utf-8", newline="")
            handles.append(fh)
            w = writers[(agency, type_)] = csv.DictWriter(fh, columns)
            w.writeheader()
        return w

    count = 0
    try:
        for agency, kind, item in items(total, seed=seed):
            props = {k: "; ".join(v) if isinstance(v, list) else v for k, v in (item.get("properties") or {}).items()}
            if kind == "e":
                writer(agency, item["type"]).writerow({"ref": item["ref"], "sharing": item.get("sharing", ""),
                                                       **props})
            else:
                writer(agency, "links").writerow({
                    "type": item["type"], "from_type": item["from"]["type"], "from_ref": item["from"]["ref"],
                    "to_type": item["to"]["type"], "to_ref": item["to"]["ref"], "sharing": item.get("sharing", ""),
                    "ref": item.get("ref", ""), **props})
            count += 1
    finally:
        for fh in handles:
            fh.close()
    return count


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(total: int, fmt: str = "jsonl", seed: int = 7, workers: int | None = None, instance: str = "bench-bulk",
        port: int = 7699, heap: str = "2g", pagecache: str = "2g", concurrency: int = 2) -> dict[str, Any]:
    settings = get_settings()
    policy = policy_from_file(settings.policy_file)
    server = LocalNeo4j(settings.state_dir, settings.neo4j_version, instance, port, heap, pagecache)
    server.stop()
    for folder in (server.home / "data" / "databases" / "neo4j", server.home / "data" / "transactions" / "neo4j"):
        shutil.rmtree(folder, ignore_errors=True)  # the benchmark's own instance: emptied
    scratch = Path(tempfile.mkdtemp(prefix="bench-bulk-", dir=settings.state_dir))
    try:
        started = time.monotonic()
        written = (write_jsonl if fmt == "jsonl" else write_csv)(scratch / "in", total, seed)
        generated = time.monotonic() - started
        print(f"generated {written:,} items as {fmt} in {generated:.1f}s ({_size(scratch / 'in') / 2**20:,.0f} MiB)",
              file=sys.stderr)
        load_before = os.getloadavg()
        options = BulkOptions(scratch / "in", fmt, workers=workers, concurrency=concurrency,
                              work_dir=scratch / "work", import_heap=heap)
        started = time.monotonic()
        report = bulk_load(server, settings, policy, options,
                           Hooks(on_phase=lambda name: print(f"  {name}…", file=sys.stderr)))
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        summary = report.as_dict()
        store = _size(server.home / "data" / "databases" / "neo4j")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        server.stop()
    return {"items": summary["items"], "format": fmt, "elapsed_s": round(elapsed, 1),
            "items_per_s": round(summary["items"] / elapsed), "seconds": summary["seconds"],
            "nodes": sum(summary["nodes_by_type"].values()), "relationships": sum(summary["links_by_type"].values()),
            "alerts": summary["alerts"], "match_candidates": summary["match_candidates"],
            "errors": summary["errors"], "store_mib": round(store / 2**20), "heap": heap, "pagecache": pagecache,
            "workers": workers if workers is not None else default_workers(1 << 40), "cores": os.cpu_count(),
            "load_avg_before": load_before, "load_avg_after": load_after}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="translating processes (default: bulk-load's)")
    parser.add_argument("--concurrency", type=int, default=2, help="transactions at a time after the import")
    parser.add_argument("--instance", default="bench-bulk")
    parser.add_argument("--port", type=int, default=7699)
    parser.add_argument("--heap", default="2g", help="Neo4j heap, and the admin tool's")
    parser.add_argument("--pagecache", default="2g")
    parser.add_argument("--save", action="store_true",
                        help="keep the figures in docs/benchmarks/bulk-<N>.json (then `python -m bench --render`)")
    args = parser.parse_args(argv)
    result = run(args.items, args.format, args.seed, args.workers, args.instance, args.port, args.heap,
                 args.pagecache, args.concurrency)
    result["machine"] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count()}
    print(json.dumps(result, indent=2))
    if args.save:
        from bench.__main__ import RESULTS

        (RESULTS / f"bulk-{args.items}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
