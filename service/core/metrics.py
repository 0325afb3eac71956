"""Prometheus metrics, served at /metrics (no token: it carries no intelligence, only counts)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REQUEST_LATENCY = Histogram(
    "ofast_graph_request_seconds", "HTTP request latency by route", ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
NEO4J_LATENCY = Histogram(
    "ofast_graph_neo4j_seconds", "Neo4j transaction latency", ["mode"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
NEO4J_UNAVAILABLE = Counter("ofast_graph_neo4j_unavailable_total", "Transactions failed: Neo4j unavailable")
INGEST_ITEMS = Counter("ofast_graph_ingest_items_total", "Ingested items by kind and status", ["kind", "status"])
ALERTS_RAISED = Counter("ofast_graph_alerts_raised_total", "Alerts raised by kind", ["kind"])
ERRORS = Counter("ofast_graph_errors_total", "Error responses by status and code", ["status", "code"])
# The hook queue (`service.domain.lifecycle.queue`): work of ingest hooks past their budget. The
# backlog is the whole queue's, as the process's worker last read it (every process reports it).
HOOK_BACKLOG = Gauge("ofast_graph_hook_queue_tasks", "Hook tasks waiting in the queue, by kind", ["kind"])
HOOK_FAILING = Gauge("ofast_graph_hook_queue_failing_tasks", "Hook tasks whose last attempt failed, by kind", ["kind"])
HOOK_TASKS = Counter("ofast_graph_hook_tasks_total", "Hook tasks worked by this process, by kind and outcome",
                     ["kind", "outcome"])

# Records a process has made durable in its journal but not yet moved into the Neo4j chain: grows
# while Neo4j is away or slow; what a replica killed now would leave for its restart to replay.
AUDIT_UNMOVED = Gauge("ofast_graph_audit_journal_records",
                      "Audit records in this process's journal, not yet in the Neo4j chain")

ALERT_KINDS = ("shared_identifier", "objective_overlap", "possible_match", "late_hit")
for _kind in ALERT_KINDS:  # every kind is a series from the start, so a rate over it never starts blank
    ALERTS_RAISED.labels(_kind)


HOOK_KINDS = ("matching", "late_hits")
for _kind in HOOK_KINDS:
    HOOK_BACKLOG.labels(_kind)
    HOOK_FAILING.labels(_kind)
    for _outcome in ("done", "failed"):
        HOOK_TASKS.labels(_kind, _outcome)


def alert_raised(kind: str, created: int) -> None:
    """Count the alerts of `kind` a transaction created, once it has committed (a retried
    transaction function would otherwise count twice)."""
    if created:
        ALERTS_RAISED.labels(kind).inc(created)


def batch_committed(items: Mapping[tuple[str, str], int], alerts: Mapping[str, int]) -> None:
    """Count a committed batch's items by (kind, status) and its alerts by kind."""
    for (kind, status), n in items.items():
        INGEST_ITEMS.labels(kind, status).inc(n)
    for kind, created in alerts.items():
        alert_raised(kind, created)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
