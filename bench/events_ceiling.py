"""What the store allows for events, whatever the writer: call nodes alone, written by a bare driver.

    python -m bench.events_ceiling [--batches 8] [--batch 5000]

Writes `batches` batches of `batch` call nodes, one `UNWIND … CREATE` per batch, 1, 2 and 4 in
flight, three ways: with every property `POST /v1/events` stores on a call and the event indexes
the analyses seek (migration 13's, as `Call`); with 7 properties and the same indexes; with 7
properties under a scratch label that has no index. No identifier, place, derived link, alert or
HTTP: the figure is the ceiling any writer of this model meets on this machine, the one to set
the events goals against. The scratch label (`BenchCeiling`) exists only inside this run.

Uses the Neo4j the settings name and deletes every event it wrote (and the store's other events:
run it on a benchmark instance). Results go to docs/benchmarks/ceiling-events.json and
docs/benchmarks.md. Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j

from bench.events import RESULTS
from bench.process import migrate_schema
from service.core.settings import get_settings
from service.neo4j_local.connection import connection_params

SCRATCH = "BenchCeiling"


def rows(n: int, full: bool, rng: random.Random, phones: list[str]) -> list[dict[str, Any]]:
    """`n` calls' properties: every field the API stores on a call (`full`), or 7 of them."""
    out = []
    for i in range(n):
        p: dict[str, Any] = {"from_id": rng.choice(phones), "to_id": rng.choice(phones), "owner_agency": "police",
                             "sharing": "open", "duration_s": rng.randint(1, 600),
                             "at": f"2026-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:41:01Z"}
        if full:
            p |= {"handset_id": rng.choice(phones), "place_id": rng.choice(phones),
                  "place_ref": f"208-10-{rng.randint(0, 6000)}", "batch_id": "b", "source_system": "bench",
                  "kind": "call", "reliability": "X", "owner_unit": "bench", "accuracy": "4",
                  "created_at": "2026-12-03T17:48:38+00:00", "updated_at": "2026-12-03T17:48:38+00:00",
                  "version": 1, "mode": "voice", "ref": f"REQ/{i}", "handling": "H0", "content_hash": "0" * 64}
        out.append({"id": str(uuid.uuid4()), "p": p})
    return out


def run(batches: int = 8, batch: int = 5000, seed: int = 11) -> dict[str, Any]:
    settings = get_settings()
    uri, user, password = connection_params(settings)
    rng = random.Random(seed)
    phones = [str(uuid.uuid4()) for _ in range(2500)]
    cases = [("every stored property, event indexes", "Event:Call", True),
             ("7 properties, event indexes", "Event:Call", False),
             ("7 properties, no index", SCRATCH, False)]
    load_start = os.getloadavg()[0]
    out = []
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        migrate_schema(uri, (user, password), settings.neo4j_database)
        for case, labels, full in cases:
            query = f"UNWIND $rows AS r CREATE (e:{labels}) SET e = r.p, e.id = r.id, e.at = datetime(r.p.at)"
            for concurrency in (1, 2, 4):
                prepared = [rows(batch, full, rng, phones) for _ in range(batches)]

                def one(b: list[dict[str, Any]], query: str = query) -> None:
                    with driver.session(database=settings.neo4j_database) as session:
                        session.execute_write(lambda tx: tx.run(query, rows=b).consume())

                started = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(one, prepared))
                seconds = time.perf_counter() - started
                out.append({"case": case, "concurrency": concurrency, "events_per_s": round(batches * batch / seconds)})
                print(out[-1], flush=True)
                with driver.session(database=settings.neo4j_database) as session:
                    for label in ("Event", SCRATCH):  # an implicit transaction: CALL … IN TRANSACTIONS needs one
                        session.run(f"MATCH (e:{label}) CALL (e) {{ DELETE e }} IN TRANSACTIONS OF 10000 ROWS"
                                    ).consume()
    return {"batches": batches, "batch_size": batch, "rows": out, "load_avg_start": load_start,
            "load_avg_end": os.getloadavg()[0],
            "machine": {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events_ceiling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args(argv)
    result = run(args.batches, args.batch)
    (RESULTS / "ceiling-events.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
