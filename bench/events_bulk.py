"""The phone-records store of `bench.events reads`, built with `neo4j-admin database import full`.

    python -m bench.events reads --events 10000000 --bulk
    python -m bench.events_bulk build [--events N]
    python -m bench.events_bulk check [--events 20000]

The raw writer stores about 2,000 events/s: ten million take more than an hour. This writes the
same store as import files instead and loads them offline (`service.domain.ingest.bulk.admin`):
the generated calls (`bench.events_data.batches`, batches of `BATCH` as the raw writer's `load`
sends them) go through the API's own planner (`build_plan`, in worker processes) for ids,
normalised values, content hashes and every stored property; the lines hold what the API's
statements store (`service.queries.events_write`, `service.queries.ingest.upsert_identifiers`):

- `(:Event:Call)`: the planner's `p` (ids of the parties and the place, `at` a DATETIME in UTC,
  sharing, codes, content hash) and the owner, dates, version 1, source system and batch id;
- `(:Node:Identifier:Phone|Handset)`: value, search text, the normaliser's derived properties,
  `event_agencies` / `event_agencies_known` in the order the agencies first named them;
- `(:Node:Entity:Location)`: the cell sites, as the first batch naming one creates it (sharing the
  most open of that batch's events on it), with their review date;
- `[:CALLED]`: one per (agency, caller, callee, sharing and codes), its count, first and last time
  and version (the batches that touched it), aggregated outside memory: each call goes to one of
  `BUCKETS` files by its link id, each file is then summed alone.

Nothing holds the events: only the identifiers and cell sites (a few hundred thousand) stay in
memory. Then the server starts, the project's migrations make constraints and indexes, and the
build waits until every index is online. The instance is the bench's own local one (the settings'
Bolt port: `bench-<port>`): its database is REPLACED.

`check` proves the shape on one instance: the raw writer's store of N calls, then the bulk build in
its place, compared (counts per label set and relationship type, property keys, every node's and
CALLED link's values); it exits 1 on a difference. The keys the API sets and the raw writer leaves
out (`API_ONLY`) are the only ones allowed on the bulk side alone. Not a test: two stores of 20,000
calls take minutes (an import, a server start, index population).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import neo4j

from bench import events_data
from bench.process import migrate_schema
from graph_schema import get_schema
from service.access.policy import Policy, policy_from_file
from service.core import clock, ids
from service.core.settings import Settings, get_settings
from service.domain.events.models import build_plan, utc_text
from service.domain.events.write import CODES, aggregate_id
from service.domain.ingest.bulk.admin import run_import
from service.domain.ingest.bulk.files import ADMIN_ARRAY_DELIMITER, _cell
from service.domain.ingest.models import content_hash
from service.domain.lifecycle.retention import review_dates
from service.neo4j_local.connection import connection_params
from service.neo4j_local.manager import LocalNeo4j, from_settings

BATCH = 10_000  # as `bench.events.load` sends them: the batch decides a cell site's sharing
BUCKETS = 64
UNIT = "bench"
SOURCE = "bench"
_TYPES = {bool: "boolean", int: "long", float: "double", str: "", list: "string[]", dt.datetime: "datetime"}


def batch_id(number: int) -> str:
    """The id of the n-th batch: stable, so the same build twice stores the same values."""
    return ids.uuid5(f"bench-events-bulk\x1f{number}")


@dataclass
class Planned:
    """What one batch adds: event lines and their column types, the identifiers, places and
    holders it names, its calls by bucket."""

    number: int
    agency: str
    events: str
    types: dict[str, str]
    identifiers: dict[str, dict[str, Any]]
    places: list[dict[str, Any]]
    holders: list[tuple[str, str]]
    calls: dict[int, str]


@dataclass
class _Context:
    policy: Policy
    now: str


_CTX: _Context | None = None


def _init(policy_file: str, now: str) -> None:
    global _CTX
    _CTX = _Context(policy_from_file(Path(policy_file)), now)


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return '"' + utc_text(value) + '"'
    return _cell(value)


def plan_batch(job: tuple[int, str, bytes]) -> Planned:
    """One batch through the API's planner, as lines and summaries (in a worker process)."""
    number, agency, body = job
    assert _CTX is not None
    schema = get_schema()
    plan = build_plan(body, schema, _CTX.policy, agency)
    if plan.errors:
        raise ValueError(f"the generator made invalid events: {plan.errors[:3]}")
    bid = batch_id(number)
    stamp = {"owner_agency": agency, "owner_unit": UNIT, "created_at": _CTX.now, "updated_at": _CTX.now,
             "version": 1, "source_system": SOURCE, "batch_id": bid}
    lines: list[str] = []
    types: dict[str, str] = {}
    calls: dict[int, list[str]] = {}
    seen: set[str] = set()
    for row in plan.events:
        if row.id in seen:  # a repeat in the batch is the same event
            continue
        seen.add(row.id)
        values = {"id": row.id, **row.p, **stamp}
        for name, value in values.items():
            if value is not None and name not in types:
                types[name] = _TYPES[type(value)]
        lines.append(",".join(_text(values.get(c)) for c in event_columns()))
        aggregate = schema.events[row.kind].aggregate
        if aggregate is None or "from" not in row.parties or "to" not in row.parties:
            continue
        src, dst = row.parties["from"][1], row.parties["to"][1]
        owned = (row.p["sharing"], *(row.p[c] for c in CODES))
        key = aggregate_id(agency, aggregate, src, dst, owned)
        # A sortable time beside the stored text: the text's fraction digits vary.
        sortable = row.at.strftime("%Y-%m-%dT%H:%M:%S.%f")
        calls.setdefault(zlib.crc32(key.encode()) % BUCKETS, []).append(
            "\t".join((key, src, dst, json.dumps(owned), sortable, utc_text(row.at), str(number), agency)))
    holders = sorted({(ident, row.p["sharing"]) for row in plan.events for _, ident in row.parties.values()})
    places = [{"id": p.id, "ref": p.ref, "kind": p.kind, "props": p.props, "sharing": p.sharing}
              for _, p in sorted(plan.places.items())]
    return Planned(number, agency, "".join(line + "\n" for line in lines), types, plan.identifiers, places,
                   holders, {b: "".join(line + "\n" for line in rows) for b, rows in calls.items()})


_EVENT_COLUMNS: tuple[str, ...] = ()


def event_columns() -> tuple[str, ...]:
    """An event line's columns: id, the planner's `p` (probed once, before the workers fork), the stamp."""
    global _EVENT_COLUMNS
    if not _EVENT_COLUMNS:
        assert _CTX is not None
        probe = next(events_data.batches(1, 1))[1]
        plan = build_plan(json.dumps(probe).encode(), get_schema(), _CTX.policy, events_data.AGENCIES[0])
        _EVENT_COLUMNS = ("id", *plan.events[0].p, "owner_agency", "owner_unit", "created_at", "updated_at",
                          "version", "source_system", "batch_id")
    return _EVENT_COLUMNS


@dataclass
class Files:
    """The import files being written; identifiers and places kept until the end (a few hundred
    thousand), the calls in bucket files."""

    folder: Path
    policy: Policy
    now: str
    identifiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    places: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_types: dict[str, str] = field(default_factory=dict)
    events: int = 0
    _handles: dict[str, IO[str]] = field(default_factory=dict)

    def handle(self, name: str) -> IO[str]:
        fh = self._handles.get(name)
        if fh is None:
            fh = self._handles[name] = open(self.folder / name, "w", encoding="utf-8",  # noqa: SIM115
                                            buffering=1 << 20)
        return fh

    def add(self, part: Planned) -> None:
        self.handle("Call.csv").write(part.events)
        self.events += part.events.count("\n")
        for name, kind in part.types.items():
            self.event_types.setdefault(name, kind)
        for ident, found in part.identifiers.items():
            if ident not in self.identifiers:
                self.identifiers[ident] = {**found, "batch": batch_id(part.number), "agencies": [], "known": []}
        for ident, sharing in part.holders:
            kept = self.identifiers[ident]
            if part.agency not in kept["agencies"]:
                kept["agencies"].append(part.agency)
            if sharing != "confidential" and part.agency not in kept["known"]:
                kept["known"].append(part.agency)
        for place in part.places:
            self.places.setdefault(place["id"], {**place, "agency": part.agency, "batch": batch_id(part.number)})
        for bucket, text in part.calls.items():
            self.handle(f"calls-{bucket:02d}.tsv").write(text)

    def close(self) -> list[str]:
        """Write what was kept and the CALLED links; the admin tool's arguments."""
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()
        args = [f"--array-delimiter={ADMIN_ARRAY_DELIMITER}"]
        header = [f"{c}:{self.event_types[c]}" if self.event_types.get(c) else c for c in event_columns()]
        args.append(self._file("Call", ",".join(header), None, "Event:Call"))
        args += self._identifiers()
        args.append(self._places())
        args.append(self._called())
        return args

    def _file(self, stem: str, header: str, lines: Iterator[str] | None, target: str, kind: str = "nodes") -> str:
        (self.folder / f"{stem}.header.csv").write_text(header + "\n", encoding="utf-8")
        if lines is not None:
            with open(self.folder / f"{stem}.csv", "w", encoding="utf-8", buffering=1 << 20) as fh:
                fh.writelines(line + "\n" for line in lines)
        return f"--{kind}={target}={self.folder / f'{stem}.header.csv'},{self.folder / f'{stem}.csv'}"

    def _identifiers(self) -> list[str]:
        by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for ident, found in sorted(self.identifiers.items()):
            by_type.setdefault(found["type"], []).append((ident, found))
        args = []
        for type_name, rows in sorted(by_type.items()):
            derived = sorted({k for _, f in rows for k in f["props"]})
            columns = ["id:ID", "type", "value", "search_text", *derived, "created_at", "updated_at", "batch_id",
                       "event_agencies:string[]", "event_agencies_known:string[]"]

            def lines(rows: list[tuple[str, dict[str, Any]]] = rows, derived: list[str] = derived) -> Iterator[str]:
                for ident, f in rows:
                    yield ",".join([_cell(ident), _cell(f["type"]), _cell(f["value"]), _cell(f["value"]),
                                    *(_cell(f["props"].get(k)) for k in derived), _cell(self.now), _cell(self.now),
                                    _cell(f["batch"]), _cell(f["agencies"] or None), _cell(f["known"] or None)])

            args.append(self._file(type_name, ",".join(columns), lines(), f"Node:Identifier:{type_name}"))
        return args

    def _places(self) -> str:
        """Cell sites as `UPSERT_PLACES` creates them, with the review date `set_review_dates` gives."""
        policy = self.policy
        codes = dict(zip(CODES, (policy.default_reliability, policy.default_accuracy, policy.default_handling,
                                 None), strict=True))
        given_keys = sorted({k for p in self.places.values() for k in p["props"]})
        kinds = {k: _TYPES[type(v)] for p in self.places.values() for k, v in p["props"].items()}
        due = review_dates(policy.lifecycle)["due"]
        columns = ["id:ID", "type", "ref", "kind", *(f"{k}:{kinds[k]}" if kinds[k] else k for k in given_keys),
                   "sharing", "search_text", *CODES, "content_hash", "owner_agency", "owner_unit", "created_at",
                   "updated_at", "version:long", "source_system", "batch_id", "review_due"]

        def lines() -> Iterator[str]:
            for place_id, p in sorted(self.places.items()):
                given = {"kind": p["kind"], **p["props"]}
                yield ",".join([_cell(place_id), _cell("Location"), _cell(p["ref"]), _cell(p["kind"]),
                                *(_cell(p["props"].get(k)) for k in given_keys), _cell(p["sharing"]), _cell(""),
                                *(_cell(codes[c]) for c in CODES), _cell(content_hash(p["sharing"], given, codes)),
                                _cell(p["agency"]), _cell(UNIT), _cell(self.now), _cell(self.now), "1",
                                _cell(SOURCE), _cell(p["batch"]), _cell(due)])

        return self._file("Location", ",".join(columns), lines(), "Node:Entity:Location")

    def _called(self) -> str:
        """Each bucket's calls summed by link, as `merge_aggregates` counts them batch after batch."""
        columns = [":START_ID", ":END_ID", "id", "sharing", *CODES, "derived:boolean", "count:long",
                   "first", "last", "owner_agency", "owner_unit", "created_at", "updated_at", "version:long",
                   "source_system", "batch_id"]

        def lines() -> Iterator[str]:
            for bucket in range(BUCKETS):
                path = self.folder / f"calls-{bucket:02d}.tsv"
                if not path.exists():
                    continue
                links: dict[str, list[Any]] = {}
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        key, src, dst, owned, sortable, text, number, agency = line.rstrip("\n").split("\t")
                        link = links.get(key)
                        if link is None:
                            links[key] = [src, dst, owned, 1, sortable, text, sortable, text, {number}, number,
                                          agency]
                            continue
                        link[3] += 1
                        if sortable < link[4]:
                            link[4], link[5] = sortable, text
                        if sortable > link[6]:
                            link[6], link[7] = sortable, text
                        link[8].add(number)
                        if int(number) > int(link[9]):
                            link[9] = number
                path.unlink()
                for key in sorted(links):
                    src, dst, owned, count, _, first, _, last, batches, last_batch, agency = links[key]
                    yield ",".join([_cell(src), _cell(dst), _cell(key), *(_cell(v) for v in json.loads(owned)),
                                    "true", str(count), _cell(first), _cell(last), _cell(agency), _cell(UNIT),
                                    _cell(self.now), _cell(self.now), str(len(batches)), _cell(SOURCE),
                                    _cell(batch_id(int(last_batch)))])

        return self._file("CALLED", ",".join(columns), lines(), "CALLED", kind="relationships")


def write_files(folder: Path, events: int, policy: Policy, policy_file: str, now: str, seed: int = 5,
                workers: int | None = None, say: Any = None) -> list[str]:
    """The import files of `events` generated calls under `folder`; the admin tool's arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    files = Files(folder, policy, now)
    _init(policy_file, now)
    event_columns()
    jobs = ((n, agency, json.dumps(body).encode())
            for n, (agency, body) in enumerate(events_data.batches(events, BATCH, seed)))
    started = time.perf_counter()
    workers = workers if workers is not None else max(1, min(2, (os.cpu_count() or 1)))
    if workers <= 1 or events <= 4 * BATCH:
        parts: Iterator[Planned] = map(plan_batch, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers, _init, (policy_file, now))
        parts = pool.imap(plan_batch, jobs, chunksize=1)
    try:
        for part in parts:
            files.add(part)
            if say and part.number % 20 == 19:
                rate = files.events / (time.perf_counter() - started)
                say(f"\r  planned {files.events:,} events ({rate:,.0f}/s)")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if say:
        say("\n  writing identifiers, cell sites and CALLED links…\n")
    return files.close()


def await_indexes(uri: str, auth: tuple[str, str], database: str, timeout: float = 3600.0) -> None:
    """Until every index is online (migrate waits 300 s, not always enough at ten million)."""
    deadline = time.monotonic() + timeout
    with neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:
        while True:
            records = driver.execute_query("SHOW INDEXES YIELD name, state WHERE state <> 'ONLINE' "
                                           "RETURN name, state", database_=database).records
            if not records:
                return
            if any(r["state"] == "FAILED" for r in records) or time.monotonic() > deadline:
                raise RuntimeError(f"indexes not online: {[r.data() for r in records]}")
            time.sleep(2.0)


def server_of(settings: Settings) -> LocalNeo4j:
    """The bench's local instance the settings point at (`bench-<port>`, `test-<port>` or `dev`)."""
    uri = connection_params(settings)[0]
    port = int(uri.rsplit(":", 1)[1])
    for name in (f"bench-{port}", f"test-{port}", f"events-bulk-{port}"):
        if (settings.state_dir / name).exists():
            return LocalNeo4j(settings.state_dir, settings.neo4j_version, name, port, settings.local_heap,
                              settings.local_pagecache)
    return from_settings(f"bench-{port}", port)


def build(events: int, settings: Settings, seed: int = 5, server: LocalNeo4j | None = None,
          import_heap: str = "2g", off_heap: str = "4g") -> dict[str, Any]:
    """Replace the instance's database with `events` generated calls; seconds of each phase."""
    server = server or server_of(settings)
    policy = policy_from_file(settings.policy_file)
    say = lambda msg: print(msg, end="", file=sys.stderr, flush=True)  # noqa: E731
    scratch = Path(tempfile.mkdtemp(prefix="bench-events-bulk-", dir=settings.state_dir))
    seconds: dict[str, float] = {}
    try:
        started = time.monotonic()
        args = write_files(scratch / "in", events, policy, str(settings.policy_file), clock.iso_now(), seed,
                           say=say)
        seconds["files"] = round(time.monotonic() - started, 1)
        size = sum(p.stat().st_size for p in (scratch / "in").iterdir())
        say(f"  import files: {size / 2**20:,.0f} MiB in {seconds['files']}s; neo4j-admin import…\n")
        started = time.monotonic()
        server.stop()
        for folder in (server.home / "data" / "databases" / settings.neo4j_database,
                       server.home / "data" / "transactions" / settings.neo4j_database):
            shutil.rmtree(folder, ignore_errors=True)  # the bench's own instance: replaced
        run_import(server, settings.neo4j_database, args, scratch / "import.report", heap=import_heap,
                   off_heap=off_heap, log=scratch / "import.log")
        seconds["import"] = round(time.monotonic() - started, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    started = time.monotonic()
    server.start()
    auth = (server.user, server.password())
    say("  migrations and indexes…\n")
    migrate_schema(server.uri, auth, settings.neo4j_database)
    await_indexes(server.uri, auth, settings.neo4j_database)
    with neo4j.GraphDatabase.driver(server.uri, auth=auth, notifications_min_severity="OFF") as driver:
        # As `bench.process.wipe` leaves a store: the audit chain's head.
        driver.execute_query("MERGE (h:AuditHead {id: 'head'}) SET h.seq = 0, h.hash = ''",
                             database_=settings.neo4j_database)
    seconds["indexes"] = round(time.monotonic() - started, 1)
    say(f"  built in {seconds}\n")
    return seconds


# --- check: the bulk store against the raw writer's ------------------------------------------------

# What the API's statements store and the raw writer (`bench.events.raw_statements`) leaves out
# (service.queries.events_write, service.queries.ingest.upsert_identifiers / owned_upsert, the
# review date `set_review_dates` gives a new place), by label set or relationship type.
API_ONLY = {
    "Call:Event": {"updated_at", "source_system", "batch_id"},
    "Handset:Identifier:Node": {"created_at", "updated_at", "batch_id", "event_agencies_known"},
    "Identifier:Node:Phone": {"created_at", "updated_at", "batch_id", "event_agencies_known"},
    "Entity:Location:Node": {"owner_unit", "updated_at", "version", "source_system", "batch_id", "search_text",
                             "reliability", "accuracy", "handling", "content_hash", "review_due"},
    "CALLED": {"reliability", "accuracy", "handling", "owner_unit", "created_at", "updated_at", "version",
               "source_system", "batch_id"},
}
VOLATILE = {"created_at"}  # the time of the write


def _plain(value: Any) -> Any:
    if isinstance(value, neo4j.time.DateTime):
        return "datetime " + value.to_native().astimezone(dt.UTC).isoformat()  # a string never reads so
    if isinstance(value, list):
        return sorted(value)  # the agencies: batches in flight may commit in another order
    return value


def dump(uri: str, auth: tuple[str, str], database: str) -> dict[str, Any]:
    """Counts by label set and relationship type, property keys, every event's, identifier's,
    cell site's and CALLED link's properties (types normalised): for a small store."""
    with neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:
        def rows(query: str) -> list[dict[str, Any]]:
            return [r.data() for r in driver.execute_query(query, database_=database,
                                                           routing_=neo4j.RoutingControl.READ).records]

        def props(p: dict[str, Any]) -> dict[str, Any]:
            return {k: _plain(v) for k, v in p.items()}

        keys = {":".join(sorted(r["l"])): set(r["k"]) for r in rows(
            "MATCH (n) UNWIND keys(n) AS k RETURN labels(n) AS l, collect(DISTINCT k) AS k")}
        keys |= {r["t"]: set(r["k"]) for r in rows(
            "MATCH ()-[l]->() UNWIND keys(l) AS k RETURN type(l) AS t, collect(DISTINCT k) AS k")}
        return {
            "labels": {":".join(sorted(r["l"])): r["n"]
                       for r in rows("MATCH (n) RETURN labels(n) AS l, count(*) AS n")},
            "relationships": {r["t"]: r["n"] for r in rows("MATCH ()-[l]->() RETURN type(l) AS t, count(*) AS n")},
            "keys": keys,
            "nodes": {r["id"]: props(r["p"]) for r in rows(
                "MATCH (n) WHERE n:Identifier OR n:Location OR n:Event RETURN n.id AS id, properties(n) AS p")},
            "links": {r["id"]: {**props(r["p"]), "src": r["src"], "dst": r["dst"]} for r in rows(
                "MATCH (a)-[l:CALLED]->(b) RETURN l.id AS id, a.id AS src, b.id AS dst, properties(l) AS p")},
        }


def differences(raw: dict[str, Any], bulk: dict[str, Any]) -> list[str]:
    """What the bulk store holds otherwise than the raw writer's (beyond `API_ONLY`): empty if alike."""
    out = []
    for part in ("labels", "relationships"):
        if raw[part] != bulk[part]:
            out.append(f"{part}: raw {raw[part]} bulk {bulk[part]}")
    for key in sorted(raw["keys"].keys() | bulk["keys"].keys()):
        have, want = bulk["keys"].get(key, set()), raw["keys"].get(key, set())
        if have - want != API_ONLY.get(key, set()) or not want <= have:
            out.append(f"keys of {key}: only raw {sorted(want - have)}, only bulk {sorted(have - want)}")
    for part in ("nodes", "links"):
        if raw[part].keys() != bulk[part].keys():
            out.append(f"{part}: {len(raw[part].keys() - bulk[part].keys())} only raw, "
                       f"{len(bulk[part].keys() - raw[part].keys())} only bulk")
        wrong = 0
        for id_, item in raw[part].items():
            shared = {k: v for k, v in item.items() if k not in VOLATILE}
            other = {k: bulk[part].get(id_, {}).get(k) for k in shared}
            if other != shared:
                wrong += 1
                if wrong <= 3:
                    out.append(f"{part} {id_}: raw {shared} bulk {other}")
        if wrong:
            out.append(f"{part}: {wrong} of {len(raw[part])} differ")
    return out


def check(events: int, settings: Settings) -> dict[str, Any]:
    """The raw writer's store of `events` calls (`bench.events.load`, one batch at a time so the first
    batch naming a cell site creates it), then the bulk build of the same calls in its place: compared."""
    from bench.events import raw_statements, raw_write, store_counts
    from bench.process import wipe

    server = server_of(settings)
    server.start()
    uri, user, password = connection_params(settings)
    database = settings.neo4j_database
    policy = policy_from_file(settings.policy_file)
    migrate_schema(uri, (user, password), database)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        wipe(driver, database)
    prepared = [raw_statements(agency, body, policy) for agency, body in events_data.batches(events, BATCH)]
    raw_seconds, _ = asyncio.run(raw_write(uri, (user, password), database, prepared, 1))
    raw = dump(uri, (user, password), database)
    seconds = build(events, settings, server=server, import_heap="1g", off_heap="1g")
    bulk = dump(uri, (user, password), database)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        counts = store_counts(driver, database)
    found = differences(raw, bulk)
    return {"events": events, "alike": not found, "differences": found, "store": counts,
            "labels": bulk["labels"], "relationships": bulk["relationships"],
            "compared": {"nodes": len(raw["nodes"]), "links": len(raw["links"])},
            "api_only_keys": {k: sorted(v) for k, v in API_ONLY.items()},
            "raw_seconds": round(raw_seconds, 1), "bulk_seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events_bulk", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("check", "build"))
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.what == "check":
        result = check(args.events, settings)
        print(json.dumps(result, indent=2))
        if not result["alike"]:
            sys.exit(1)
    else:
        print(json.dumps(build(args.events, settings), indent=2))


if __name__ == "__main__":
    main()
