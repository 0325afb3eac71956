"""The process's one async Neo4j driver, and the only way routers reach the database.

Reads go through `execute_read` (one query: `execute_query` with read routing), writes through
`execute_write`, so the same code runs against a single server or a routed cluster (`neo4j://`).
Every transaction waits for the request's bookmarks and a write records its own
(`service.core.bookmarks`): read-your-writes across replicas of a cluster.

Driver errors that mean "Neo4j is not there right now" surface as `Unavailable` (HTTP 503 with
Retry-After), through `service.core.errors.unavailable`, the one place that maps them; any other
driver error (a query Neo4j refuses) propagates, to leave as a logged 500.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import ClientError, TransientError
from neo4j.graph import Node, Path, Relationship

from service.core import bookmarks
from service.core.errors import UNAVAILABLE_ERRORS, ApiError, unavailable
from service.core.metrics import NEO4J_LATENCY
from service.core.settings import Settings

T = TypeVar("T")
Work = Callable[[AsyncManagedTransaction], Awaitable[T]]

DEADLOCK = "Neo.TransientError.Transaction.DeadlockDetected"
DEADLOCK_BUDGET = 90.0  # seconds a write may keep retrying deadlocks (below clients' usual 120 s timeouts)
DEADLOCK_BACKOFF = 0.05  # first pause's upper bound, doubled at each attempt …
DEADLOCK_BACKOFF_CAP = 2.0  # … up to this


def make_driver(settings: Settings) -> AsyncDriver:
    """The driver of the configured Neo4j. Development entry points fill in the local server of
    `ofast-graph neo4j` first (`service.neo4j_local.connection.with_local_server`)."""
    if not settings.neo4j_uri:
        raise ValueError("no Neo4j configured: set OFAST_GRAPH_NEO4J_URI and OFAST_GRAPH_NEO4J_PASSWORD "
                         "(`ofast-graph serve` falls back to the local server of `ofast-graph neo4j`)")
    return AsyncGraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_user, settings.neo4j_password),
        max_connection_pool_size=settings.neo4j_pool_size,
        connection_timeout=settings.neo4j_connection_timeout,
        connection_acquisition_timeout=settings.neo4j_acquisition_timeout,
        # Fail fast while Neo4j is down: the caller gets a 503 and retries; we do not hold
        # its request open for the driver's default 30 s of retries.
        max_transaction_retry_time=2.0,
        liveness_check_timeout=30.0,
        notifications_min_severity="OFF",
    )


_GRAPH_TYPES = (Node, Relationship, Path)
_INVALID_BOOKMARK = ("Neo.ClientError.Transaction.InvalidBookmark",
                     "Neo.ClientError.Transaction.InvalidBookmarkMixture")


def _refuse_bad_bookmark(exc: ClientError) -> None:
    """Neo4j refusing the caller's bookmarks is the caller's mistake (400); any other client error
    is a query of ours Neo4j refuses, left to propagate (a logged 500)."""
    if exc.code in _INVALID_BOOKMARK:
        raise ApiError(400, "invalid_bookmark",
                       f"the {bookmarks.HEADER} header holds a bookmark Neo4j does not know; send back only "
                       f"the values this service returned in that header") from exc


def plain(record: neo4j.Record) -> dict[str, Any]:
    """A record as a dict. The queries return maps, lists and scalars (`properties(n)`, map
    projections), never nodes, so the values are kept as the driver built them: `record.data()`
    would copy every nested map again, a sizeable share of a neighbourhood query's own time. A node
    or relationship returned whole still gets `data()`'s conversion."""
    out = dict(record)
    if any(isinstance(v, _GRAPH_TYPES) for v in out.values()):
        return record.data()
    return out


def _records(query: str, params: dict[str, Any]) -> Work[list[dict[str, Any]]]:
    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        result = await tx.run(query, params)
        return [plain(record) async for record in result]

    return work


class Database:
    """Holds the driver and the database name; runs units of work in managed transactions."""

    def __init__(self, driver: AsyncDriver, database: str, retry_after: int) -> None:
        self.driver = driver
        self.database = database
        self.retry_after = retry_after

    async def read(self, work: Work[T]) -> T:
        started = time.perf_counter()
        causal = bookmarks.current()
        try:
            async with self.driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS,
                                           bookmarks=causal.wait_for() if causal else None) as session:
                return await session.execute_read(work)
        except ClientError as exc:
            _refuse_bad_bookmark(exc)
            raise
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(exc, self.retry_after) from exc
        finally:
            NEO4J_LATENCY.labels("read").observe(time.perf_counter() - started)

    async def write(self, work: Work[T]) -> T:
        started = time.perf_counter()
        try:
            causal = bookmarks.current()
            for attempt in itertools.count():
                try:
                    async with self.driver.session(database=self.database,
                                                   bookmarks=causal.wait_for() if causal else None) as session:
                        result = await session.execute_write(work)
                        if causal is not None:
                            # Started after everything the request saw and wrote, so its bookmark
                            # stands for all of it.
                            causal.written = frozenset((await session.last_bookmarks()).raw_values)
                        return result
                except ClientError as exc:
                    _refuse_bad_bookmark(exc)
                    raise
                except TransientError as exc:
                    # A deadlock is two writers of the same data, not Neo4j away: the driver's
                    # short retry budget (sized for an outage) is spent; back off with jitter so
                    # the writers fall out of step, and converge within DEADLOCK_BUDGET.
                    pause = random.uniform(0, min(DEADLOCK_BACKOFF_CAP, DEADLOCK_BACKOFF * 2 ** attempt))
                    if (exc.code != DEADLOCK or
                            time.perf_counter() + pause - started > DEADLOCK_BUDGET):
                        raise
                    await asyncio.sleep(pause)
            raise AssertionError("unreachable")
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(exc, self.retry_after) from exc
        finally:
            NEO4J_LATENCY.labels("write").observe(time.perf_counter() - started)

    async def read_records(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read query in its own read transaction and return its records as dicts.

        Through `driver.execute_query`, which sends BEGIN together with the query instead of
        waiting for BEGIN's answer first: one round trip to Neo4j fewer than `read()`, same
        retries. No bookmark manager, as with the sessions of `read()` / `write()`: the driver's
        default one would chain every `execute_query` call after the previous ones.
        """
        if (causal := bookmarks.current()) is not None and causal.wait_for() is not None:
            return await self.read(_records(query, params))  # execute_query takes no bookmarks of its own
        started = time.perf_counter()
        try:
            result = await self.driver.execute_query(query, params, database_=self.database,
                                                     routing_=neo4j.RoutingControl.READ, bookmark_manager_=None)
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(exc, self.retry_after) from exc
        finally:
            NEO4J_LATENCY.labels("read").observe(time.perf_counter() - started)
        return [plain(record) for record in result.records]

    async def write_records(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run one write query in its own transaction and return its records as dicts."""
        return await self.write(_records(query, params))

    async def close(self) -> None:
        await self.driver.close()
