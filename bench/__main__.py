"""`python -m bench --size N`: every benchmark on a graph of N, beside raw Cypher, into docs/.

Runs, on the Neo4j of the settings (it WIPES that database):
- ingest: API vs raw-driver UNWIND MERGE on the same N items (`bench.ingest`);
- exploration: lookup, neighbourhood depth 2, paths <= 6 hops, search, key players — through the
  API, as the endpoint's own Cypher, and as the same Cypher without the visibility predicate
  (`bench.explore`);
- visibility: neighbourhood and shortest paths with and without the predicate (`bench.visibility`).

Each run's figures are kept in docs/benchmarks/<N>.json — a run with `--only` keeps the other
sections of an earlier run at that size, each with its own date and load; docs/benchmarks.md and
docs/benchmarks.png are rebuilt from every JSON file there, so figures at several sizes sit side
by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import neo4j

from bench.explore import cpu_pressure
from service.core.settings import get_settings
from service.neo4j_local.connection import connection_params

DOCS = Path(__file__).resolve().parent.parent / "docs"
RESULTS = DOCS / "benchmarks"
GOALS = {"lookup": 10.0, "neighbourhood": 50.0, "paths": 100.0}
SECTIONS = ("ingest", "explore", "visibility")




def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    settings = get_settings()
    uri, user, password = connection_params(settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        rec = driver.execute_query("CALL dbms.components() YIELD versions, edition "
                                   "RETURN versions[0] AS v, edition", database_="system").records[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "python": platform.python_version(),
            "neo4j": f"{rec['v']} {rec['edition']}", "load_avg": os.getloadavg()[0], "cpu_pressure": cpu_pressure(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _pressure(m: dict[str, Any]) -> str:
    return "" if m.get("cpu_pressure") is None else f", CPU pressure {m['cpu_pressure']:.0f} %"


def _when(section: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """The date and load of a section measured in another run than the file's latest."""
    m = section.get("machine")
    lines = []
    if m and m.get("date") != run.get("date"):
        lines.append(f"Measured {m['date']}, load average at start {m['load_avg']:.1f}.")
    during = section.get("load_during")
    if during:
        pressure = during.get("cpu_pressure_avg60")
        lines.append(f"Load average (1 min) during the timings: {during['start']:.1f} at start, {during['end']:.1f} "
                     "at end" + (f"; CPU pressure {pressure:.0f} %." if pressure is not None else "."))
    return [*lines, ""] if lines else []


def _onto(ing: dict[str, Any]) -> list[str]:
    """How an ingest measured on a stored graph was made (`python -m bench --reuse`)."""
    stored = ing.get("onto")
    if not stored:
        return []
    return [f"Pushed onto the stored graph of {stored['nodes']:,} nodes and {stored['relationships']:,} relationships "
            f"(`python -m bench --size N --only ingest --reuse --push {ing['items']}`: reloading ten million nodes "
            "takes over an hour here): each round, each side writes its own fresh "
            f"{ing['items']:,} items (entity refs new to the store, a tenth of the phones from the shared pool, "
            "some of them stored already), alternately, so both meet the same store growing by the same amount.", ""]


def _of_logs(section: dict[str, Any]) -> str:
    """How much of a store's size its transaction logs are, when the figures record it."""
    logs = section.get("transaction_log_bytes")
    return f", of which transaction logs {logs / 1e9:.2f} GB" if logs is not None else ", transaction logs included"


def render(results: list[dict[str, Any]]) -> str:
    out = ["# Benchmarks", "",
           "Produced by `python -m bench --size N` (which wipes the configured Neo4j). Every figure",
           "through the API stands beside the same work as raw Cypher, on the same data, in the same run.",
           "Times in milliseconds; `raw` is the endpoint's Cypher without the visibility predicate.",
           "The machine is shared: the load average and CPU pressure (share of the last minute some task",
           "waited for a CPU) say how much other work ran beside each section.", ""]
    for res in sorted(results, key=lambda r: r["size"]):
        m = res["machine"]
        out += [f"## N = {res['size']:,}", "",
                f"{m['date']} — {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Neo4j {m['neo4j']}, "
                f"Python {m['python']}, load average at start {m['load_avg']:.1f}{_pressure(m)}.", ""]
        ing = res.get("ingest")
        if ing:
            out += ["### Ingest", "", *_when(ing, m),
                    "| path | items | seconds (median of rounds) | items/s |", "| --- | --- | --- | --- |",
                    f"| API `POST /v1/ingest` | {ing['items']:,} | {ing['api_seconds']} | {ing['api_items_per_s']:,} |",
                    f"| raw `UNWIND … MERGE` | {ing['items']:,} | {ing['raw_seconds']} | {ing['raw_items_per_s']:,} |",
                    "", f"API / raw throughput: **{ing['ratio']}×** (goal ≥ 0.8×); "
                    + (f"each side added exactly what its data holds that the store did not: {ing['same_graph']}"
                       if ing.get("onto") else f"same final graph: {ing['same_graph']}")
                    + f"; rounds (s) API {ing['api_runs_s']}, raw {ing['raw_runs_s']}.", "",
                    *_onto(ing)]
            out += render_statements(ing.get("statements"))
        exp = res.get("explore")
        if exp:
            size, memory = exp.get("store_bytes"), exp.get("memory") or {}
            out += ["### Reads (viewer: " + exp["viewer"] + f"; graph {exp['graph']})", "", *_when(exp, m),
                    *([f"Store {size / 1e9:.2f} GB on disk (data directory{_of_logs(exp)}); "
                       f"page cache {memory.get('pagecache')}, heap {memory.get('heap')}.", ""] if size else []),
                    "| operation | n | API p50 | API p95 | Cypher p50 | Cypher p95 | raw p50 | raw p95 | "
                    "API/raw p95 | Cypher/raw p95 | API − Cypher p50 | goal p95 |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for row in exp["rows"]:
                if "error" in row:
                    out.append(f"| {row['operation']} | failed: {row['error'][:160]} |" + " |" * 10)
                    continue
                goal = GOALS.get(row["operation"])
                out.append(f"| {row['operation']} | {row['n']} | {row['api_p50']} | {row['api_p95']} | "
                           f"{row['cypher_p50']} | {row['cypher_p95']} | {row['raw_p50']} | {row['raw_p95']} | "
                           f"{row['api_over_raw_p95']} | {row['cypher_over_raw_p95']} | "
                           f"{round(row['api_p50'] - row['cypher_p50'], 2)} | {'≤ ' + str(goal) if goal else '—'} |")
            client = ("`bench.http.LeanClient` (one kept-alive connection)" if exp.get("client") == "lean"
                      else "httpx's AsyncClient (which itself costs ~2 ms per request here)")
            out += ["", "Goals: Cypher/raw p95 ≤ 1.3× for every read (the endpoint's Cypher beside the same "
                    "without the visibility predicate) and API − Cypher p50 ≤ 2 ms (what a request costs beyond "
                    "its Cypher: HTTP, FastAPI, auth, the durable audit record, JSON); `goal p95` is the read's "
                    "own ceiling. The whole-request API/raw ratio is shown, no longer a goal. `http_floor` is "
                    f"`GET /healthz` (no auth, no Neo4j, no audit). API requests through {client}.", ""]
        vis = res.get("visibility")
        if vis:
            out += [f"### Visibility predicate ({vis['nodes']:,} nodes, {vis['relationships']:,} relationships)", "",
                    *_when(vis, m),
                    "| query / viewer | with p50 | with p95 | without p50 | without p95 | ratio p50 | ratio p95 |",
                    "| --- | --- | --- | --- | --- | --- | --- |"]
            for name, v in vis.items():
                if not isinstance(v, dict) or "with_visibility" not in v:
                    continue
                w, wo = v["with_visibility"], v["without_visibility"]
                out.append(f"| {name} | {w['median_ms']} | {w['p95_ms']} | {wo['median_ms']} | {wo['p95_ms']} | "
                           f"{v['ratio_median']} | {v['ratio_p95']} |")
            out += ["", "Goal: ≤ 1.3×.", ""]
    out += render_events()
    out += render_money()
    out += render_bulk()
    out += render_hotspots()
    out += render_profiles()
    out += ["![benchmarks](benchmarks.png)", ""]
    return "\n".join(out)


EVENT_READS = {"timeline": "timeline, one page", "contacts": "contacts of a phone, a month",
               "common_contacts": "common contacts of 3 phones", "co_location": "co-location of a phone, a week"}


def render_statements(profile: dict[str, Any] | None) -> list[str]:
    """Where each side's ingest time went (`bench.ingest --statements`): its costliest statements."""
    if not profile:
        return []
    out = [f"Where the time goes: each side's costliest statements, seconds per round summed over the "
           f"{profile['concurrency']} batches in flight, from `run` until the result is read (lock waits "
           "included); the rest of a side's time is outside Neo4j's statements (commits, HTTP, validation, "
           "planning in Python).", "",
           "| side | statement | runs | seconds |", "| --- | --- | --- | --- |"]
    for side in ("api", "raw"):
        for row in profile[side]:
            text = row["statement"].replace("|", "\\|")
            out.append(f"| {side} | `{text}` | {row['runs']} | {row['seconds']} |")
    return [*out, ""]


def render_events() -> list[str]:
    """The phone-records runs kept by `python -m bench.events` (docs/benchmarks/events-<N>.json)."""
    runs = sorted((json.loads(p.read_text()) for p in RESULTS.glob("events-*.json")), key=lambda r: r["events"])
    if not runs:
        return []
    out = ["## Events (`python -m bench.events`)", "",
           "Phone records (`bench.events_data`: a daily rhythm, hub numbers in 5 % of the calls, three agencies in "
           "turn). `ingest` pushes them through `POST /v1/events` beside a raw `UNWIND` writer that stores the same "
           "rows; `reads --bulk` builds the store with `neo4j-admin` import (`python -m bench.events_bulk check` "
           "proves it equal to the raw writer's) and times each analysis three ways: through the API, the "
           "endpoint's Cypher, the same Cypher without the visibility predicates (raw).", ""]
    ingests = [r for r in runs if "ingest" in r]
    if ingests:
        out += ["### Ingest", "", "| calls | date | batch × in flight | API events/s | raw events/s | API / raw | "
                "first answers | load avg start → end |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in ingests:
            i = r["ingest"]
            out.append(f"| {r['events']:,} | {i['machine']['date']} | {i['batch_size']} × {i['concurrency']} | "
                       f"{i['api_events_per_s']:,} | {i['raw_events_per_s']:,} | {i['ratio']} | "
                       f"{', '.join(f'{n} × {s}' for s, n in i['first_answers'].items())} | "
                       f"{i['load_avg_start']:.1f} → {i['load_avg_end']:.1f} |")
        out += ["", "Goals: ≥ 20,000 events/s through the API and ≥ 0.7× raw.", ""]
        for r in ingests:
            if r["ingest"].get("statements"):
                out += [f"{r['events']:,} calls, {r['ingest']['rounds']} round(s).", "",
                        *render_statements(r["ingest"]["statements"])]
        ceiling = RESULTS / "ceiling-events.json"
        if ceiling.exists():
            out += render_ceiling(json.loads(ceiling.read_text()))
    for r in (r for r in runs if "reads" in r):
        reads = r["reads"]
        size = reads.get("store_bytes")
        out += [f"### Reads, {r['events']:,} calls stored (viewer: police)", "",
                f"{reads['machine']['date']}; load avg {reads['load_avg_start']:.1f} → {reads['load_avg_end']:.1f}; "
                f"store {size / 1e9:.2f} GB on disk (data directory{_of_logs(reads)}); "
                f"page cache {reads['memory'].get('pagecache')}, heap {reads['memory'].get('heap')}; "
                f"loaded by {reads.get('loader', 'raw writer')}.", "",
                "| analysis | n | API p50 | API p95 | Cypher p50 | Cypher p95 | raw p50 | raw p95 | Cypher / raw p95 | "
                "API − Cypher p50 | goal p95 |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in reads["rows"]:
            out.append(f"| {EVENT_READS.get(row['operation'], row['operation'])} | {row['n']} | {row['api_p50']} | "
                       f"{row['api_p95']} | {row['cypher_p50']} | {row['cypher_p95']} | {row['raw_p50']} | "
                       f"{row['raw_p95']} | {row['cypher_over_raw_p95']} | {row['api_minus_cypher_p50']} | "
                       f"{row['goal_p95_ms']} |")
        out.append("")
    return out


def render_ceiling(c: dict[str, Any]) -> list[str]:
    """What the store itself allows (`python -m bench.events_ceiling`): call nodes alone, bare driver."""
    out = [f"What the store allows, whatever the writer (`python -m bench.events_ceiling`, {c['machine']['date']}, "
           f"load avg {c['load_avg_start']:.1f} → {c['load_avg_end']:.1f}): {c['batches']} batches of "
           f"{c['batch_size']:,} event nodes written by a bare driver, nothing else (no identifiers, places, "
           "derived links or API).", "",
           "| event nodes | in flight | events/s |", "| --- | --- | --- |"]
    out += [f"| {row['case']} | {row['concurrency']} | {row['events_per_s']:,} |" for row in c["rows"]]
    return [*out, ""]


MONEY_READS = {"patrimony": "patrimony of a network (max_depth 3)", "money_flows": "money flows of one account "
                                                                             "(≤ 4 hops)"}


def render_money() -> list[str]:
    """The runs kept by `python -m bench.money` (docs/benchmarks/money-<N>.json)."""
    runs = sorted((json.loads(p.read_text()) for p in RESULTS.glob("money-*.json")), key=lambda r: r["nodes"])
    if not runs:
        return []
    out = ["## Money (`python -m bench.money`)", "",
           "The demo scenario (entities by the raw writer, the scenes' transfers through `POST /v1/events`); each "
           "read three ways: the API, the endpoint's domain call with its Cypher, and the same domain code and "
           "statements with every visibility predicate replaced by `true` (raw). Viewer: police.", ""]
    for r in runs:
        m, st = r["machine"], r["store"]
        out += [f"### {r['nodes']:,} nodes ({st['nodes']:,} stored, {st['relationships']:,} relationships, "
                f"{st['transfers']:,} transfers)", "",
                f"{m['date']}; {m['cores']} cores; load avg {m['load_avg_start']:.1f} → {m['load_avg_end']:.1f}.", "",
                "| read | n | API p50 | API p95 | Cypher p50 | Cypher p95 | raw p50 | raw p95 | Cypher / raw p95 | "
                "API − Cypher p50 | goal p95 |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in r["rows"]:
            out.append(f"| {MONEY_READS.get(row['operation'], row['operation'])} | {row['n']} | {row['api_p50']} | "
                       f"{row['api_p95']} | {row['cypher_p50']} | {row['cypher_p95']} | {row['raw_p50']} | "
                       f"{row['raw_p95']} | {row['cypher_over_raw_p95']} | {row['api_minus_cypher_p50']} | "
                       f"{row['goal_p95_ms']} |")
        out.append("")
    return out


def _load1(load: float | list[float]) -> float:
    """The 1-minute load average of `os.getloadavg()` (a triple) or of a single figure."""
    return load[0] if isinstance(load, list) else load


def render_bulk() -> list[str]:
    """The runs kept by `python -m bench.bulk` (docs/benchmarks/bulk-<N>.json)."""
    runs = sorted((json.loads(p.read_text()) for p in RESULTS.glob("bulk-*.json")), key=lambda r: r["items"])
    if not runs:
        return []
    phases = list(dict.fromkeys(name for r in runs for name in r["seconds"]))
    out = ["## Bulk onboarding (`python -m bench.bulk`)", "",
           "`ofast-graph bulk-load` of N generated items (`bench.ingest`'s cells as partner files) into an empty "
           "instance, timed whole: translation, `neo4j-admin database import`, the server's start, migrations, "
           "the alerts and match candidates the same pushes through the API would raise, audit. Goal: "
           "≥ 100,000 items/s on 10M items.", "",
           "| items | date | format | items/s | seconds | " + " | ".join(phases) + " | nodes | relationships | "
           "alerts | store MiB | heap / page cache | load avg before → after |",
           "|" + " --- |" * (11 + len(phases))]
    for r in runs:
        alerts = ", ".join(f"{k} {v:,}" for k, v in sorted(r["alerts"].items()))
        out.append(f"| {r['items']:,} | {r['machine']['date']} | {r['format']} | {r['items_per_s']:,} | "
                   f"{r['elapsed_s']} | " + " | ".join(str(r["seconds"].get(p, "—")) for p in phases) +
                   f" | {r['nodes']:,} | {r['relationships']:,} | {alerts} | {r['store_mib']:,} | "
                   f"{r['heap']} / {r['pagecache']} | {_load1(r['load_avg_before']):.1f} → "
                   f"{_load1(r['load_avg_after']):.1f} |")
    out.append("")
    for r in runs:  # the ceiling a whole load cannot pass here, whatever the stages around it
        if r["seconds"].get("import"):
            costliest = sorted(r["seconds"].items(), key=lambda kv: -kv[1])[:3]
            out.append(f"At {r['items']:,} items, `neo4j-admin database import` alone ran at "
                       f"{r['items'] / r['seconds']['import']:,.0f} items/s; the costliest stages: "
                       + ", ".join(f"{k} {v:.0f} s" for k, v in costliest) + ".")
    return [*out, ""]


def render_hotspots() -> list[str]:
    """The runs kept by `python -m bench.hotspots … --save` (docs/benchmarks/hotspots.json)."""
    path = RESULTS / "hotspots.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    out = ["## Hot spots (`python -m bench.hotspots`)", ""]
    if "ingest" in saved:
        m, r = saved["ingest"]["machine"], saved["ingest"]["result"]
        out += [f"### Ingest on hub phones and a popular birth date ({m['date']}; load avg "
                f"{m['load_avg_start']:.1f} → {m['load_avg_end']:.1f})", "",
                f"{r['items']:,} items in {r['batches']} batches, {r['concurrency']} in flight; every person uses "
                f"one of {r['hubs']} hub phones, 30 % are born on 1 January. The API's batches are sent once, never "
                "resent (goal: every one answers 200); the raw writer resends a deadlocked batch itself.", "",
                "| path | seconds | batches not 200 / resent | batch seconds median / max | alerts |",
                "| --- | --- | --- | --- | --- |",
                f"| API `POST /v1/ingest` | {r['seconds']} | {len(r['not_200'])} | {r['batch_seconds_median']} / "
                f"{r['batch_seconds_max']} | {r['alerts']:,} |",
                f"| raw `UNWIND … MERGE` | {r['raw_seconds']} | {r['raw_resent_batches']} resent | — | — |", "",
                f"API / raw throughput: **{r['ratio']}×**; same final graph: {r['same_graph']} ({r['graph']}).", ""]
    if "matching" in saved:
        m, rows = saved["matching"]["machine"], saved["matching"]["result"]
        out += [f"### Matching's candidate search on a popular birth date ({m['date']})", "",
                "`PROFILE` of `service.queries.matches.CANDIDATES` for a batch of persons born on one date while N "
                "persons of their own agency share it. Goal: db hits do not grow with N.", "",
                "| same agency, same date | batch persons | db hits | ms | index operators |",
                "| --- | --- | --- | --- | --- |"]
        for row in rows:
            out.append(f"| {row['same_agency_same_date']:,} | {row['batch_persons']} | {row['db_hits']:,} | "
                       f"{row['ms']} | {'; '.join(row['index_operators'])[:200]} |")
        out.append("")
    return out


def render_profiles() -> list[str]:
    """The per-request breakdowns kept by `python -m bench.profile --save LABEL`."""
    path = RESULTS / "profile.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    out = ["## Where a request's time goes (`python -m bench.profile`)", "",
           "One request at a time; p50 / p95 in ms. `other` is FastAPI routing, validation, dependencies and "
           "middleware (and waiting for a CPU); `http` is client time minus server time. CPU is the API "
           "process's CPU time per request, every thread and background task included.", "",
           "| profile | op | date | load avg | client | server | auth | neo4j read | neo4j write | audit wait | "
           "JSON | other | http | CPU/request |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in saved:
        parts = p["parts_ms"]

        def cell(name: str, parts: dict[str, Any] = parts) -> str:
            v = parts.get(name)
            return f"{v['p50']} / {v['p95']}" if v else "—"

        out.append(f"| {p['label']} | {p['op']} | {p['date']} | {p['load_avg'][0]:.1f} | {cell('client_total')} | "
                   f"{cell('server_total')} | {cell('auth')} | {cell('neo4j')} | {cell('neo4j_write')} | "
                   f"{cell('audit')} | {cell('json')} | {cell('server_other')} | {cell('http_and_client')} | "
                   f"{p['server_cpu_ms_per_request']} |")
    return [*out, ""]


def chart(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ops: list[str] = []
    for res in sorted(results, key=lambda r: r["size"]):
        for row in (res.get("explore") or {}).get("rows", []):
            if row["operation"] not in ops and "error" not in row:
                ops.append(row["operation"])
    width = 0.8 / max(1, 2 * len(results))
    for i, res in enumerate(sorted(results, key=lambda r: r["size"])):
        rows = {r["operation"]: r for r in (res.get("explore") or {}).get("rows", []) if "error" not in r}
        for j, way in enumerate(("api", "raw")):
            xs = [k + (2 * i + j) * width for k in range(len(ops))]
            ys = [rows[o][f"{way}_p95"] if o in rows else 0 for o in ops]
            axes[0].bar(xs, ys, width, label=f"{way} p95, N={res['size']:,}")
    axes[0].set_xticks([k + 0.4 - width / 2 for k in range(len(ops))], ops, rotation=15)
    axes[0].set_ylabel("ms")
    axes[0].set_title("Reads: API vs raw Cypher (p95)")
    axes[0].legend(fontsize=7)
    sizes = [f"{r['size']:,}" for r in sorted(results, key=lambda r: r["size"]) if r.get("ingest")]
    api = [r["ingest"]["api_items_per_s"] for r in sorted(results, key=lambda r: r["size"]) if r.get("ingest")]
    raw = [r["ingest"]["raw_items_per_s"] for r in sorted(results, key=lambda r: r["size"]) if r.get("ingest")]
    xs = list(range(len(sizes)))
    axes[1].bar([x - 0.2 for x in xs], api, 0.4, label="API")
    axes[1].bar([x + 0.2 for x in xs], raw, 0.4, label="raw UNWIND")
    axes[1].set_xticks(xs, sizes)
    axes[1].set_ylabel("items/s")
    axes[1].set_title("Ingest throughput")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="items to ingest / nodes in the read graph")
    parser.add_argument("--samples", type=int, default=200, help="timed calls per read operation")
    parser.add_argument("--rounds", type=int, default=1, help="ingest rounds (their median)")
    parser.add_argument("--statements", action="store_true",
                        help="also time each ingest side's statements (where the time goes)")
    parser.add_argument("--only", default="ingest,explore,visibility", help="comma-separated subset (or load)")
    parser.add_argument("--reuse", action="store_true",
                        help="explore: keep a loaded graph of about that size instead of wiping and reloading; "
                             "ingest: keep the stored graph and push --push fresh items per side and round onto it")
    parser.add_argument("--push", type=int, default=500_000,
                        help="with --reuse: items each ingest side pushes per round onto the stored graph")
    parser.add_argument("--render", action="store_true",
                        help="only rebuild docs/benchmarks.md and .png from docs/benchmarks/*.json")
    parser.add_argument("--load-seconds", type=float, default=120.0,
                        help="with --only load: 8 pushers and 16 readers for this long (bench/load.py)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.render:
        results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json")) if p.stem.isdigit()]
        (DOCS / "benchmarks.md").write_text(render(results))
        chart(results, DOCS / "benchmarks.png")
        return
    if "load" in only:  # its own figures: docs/benchmarks/load.json and docs/benchmarks-load.md
        from bench import load

        load.main(["--seconds", str(args.load_seconds)])
        if only == {"load"}:
            return
    result: dict[str, Any] = {"size": args.size, "machine": machine()}
    if "ingest" in only:
        from bench import ingest

        result["ingest"] = (ingest.run(items=args.push, rounds=args.rounds, statements=args.statements, onto=True)
                            if args.reuse else
                            ingest.run(items=args.size, rounds=args.rounds, statements=args.statements))
    if "visibility" in only:
        from bench import visibility

        result["visibility"] = visibility.run(nodes=args.size, samples=args.samples)
    if "explore" in only:
        from bench import explore

        result["explore"] = explore.run(nodes=args.size, samples=args.samples, reuse=args.reuse)
    path = RESULTS / f"{args.size}.json"
    if path.exists():  # keep the sections this run did not measure, each with the date and load it had
        previous = json.loads(path.read_text())
        for key in SECTIONS:
            if key not in result and key in previous:
                result[key] = {"machine": previous["machine"], **previous[key]}
    for key in SECTIONS:
        if key in result:
            result[key].setdefault("machine", result["machine"])
    path.write_text(json.dumps(result, indent=2))
    results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json")) if p.stem.isdigit()]
    (DOCS / "benchmarks.md").write_text(render(results))
    chart(results, DOCS / "benchmarks.png")
    print(json.dumps(result, indent=2), file=sys.stdout)


if __name__ == "__main__":
    main()
