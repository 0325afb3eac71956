"""A typed client for the ofast-graph API, built on httpx.

    with IngestClient("http://127.0.0.1:8000", token, source_system="LRPPN") as client:
        result = client.push({"entities": [...], "links": [...]})
        print(result.counts)

`push` cuts a large batch into requests of at most `max_items` items (entities first, then
links, so every link's ends are stored by the time the link is sent), and resends a request
on 503 (honouring `Retry-After`), on timeouts and on connection errors, with exponential
backoff and jitter. Resending is safe because `POST /v1/ingest` is idempotent: a batch that
was committed before the answer got lost comes back `unchanged`. A 4xx is the caller's
mistake and is raised at once as `ApiRequestError`, carrying the server's error body.

Every request carries the bookmarks of the client's writes (`X-Neo4j-Bookmark`): behind a load
balancer over several replicas and a Neo4j cluster, what the client reads — through any replica —
is at least what it wrote.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

__all__ = [
    "ApiClientError",
    "ApiRequestError",
    "ApiUnavailableError",
    "AsyncIngestClient",
    "BaseIngestClient",
    "EntityResult",
    "EventResult",
    "EventsResult",
    "IngestClient",
    "IngestResult",
    "LinkResult",
    "RetryPolicy",
    "split_batch",
]

#: Read-your-writes across replicas: write answers carry it, every request sends it back.
BOOKMARK_HEADER = "X-Neo4j-Bookmark"

#: Statuses that mean "not now" rather than "not this": the same request may succeed later.
RETRY_STATUSES = frozenset({502, 503, 504})


# uvicorn drops idle connections after 5 s, httpx's default idle expiry: a request could go out on a
# connection the server is closing. Expiring ours first avoids those needless transport retries.
LIMITS = httpx.Limits(keepalive_expiry=2.0)

TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)

class ApiClientError(Exception):
    """Base of every error this client raises."""


class ApiRequestError(ApiClientError):
    """The server refused the request (4xx, or an unexpected 5xx): resending it will not help.

    `status`, `code`, `message` and `details` come from the server's body
    `{"error": {"code", "message", "details"}}`; `body` is the whole decoded body (or text).
    """

    def __init__(self, status: int, body: Any, method: str = "", url: str = "") -> None:
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        self.code: str = str(error.get("code") or f"http_{status}")
        self.message: str = str(error.get("message") or (body if isinstance(body, str) else ""))
        self.details: Any = error.get("details")
        self.method = method
        self.url = url
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.method} {self.url} -> {self.status} {self.code}: {self.message}".strip()
        if isinstance(self.details, list) and self.details:
            shown = "; ".join(str(d) for d in self.details[:5])
            more = f" (+{len(self.details) - 5} more)" if len(self.details) > 5 else ""
            text += f" [{shown}{more}]"
        elif self.details:
            text += f" [{self.details}]"
        return text


class ApiUnavailableError(ApiClientError):
    """The service stayed unavailable (503, timeouts, connection errors) through every retry."""

    def __init__(self, message: str, attempts: int, last_status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_status = last_status


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: `max_attempts` requests in all; between them an exponential
    backoff `base_delay * 2**(n-1)` capped at `max_delay`, with jitter (a random half of it);
    a server's `Retry-After` is a floor (up to `max_retry_after`)."""

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        jittered = rng.uniform(backoff / 2, backoff)
        if retry_after is None:
            return jittered
        # Never earlier than the server asked, and a little later, so that clients that were
        # all told the same second do not come back at once.
        floor = min(retry_after, self.max_retry_after)
        return max(floor + rng.uniform(0, self.base_delay), jittered)


@dataclass(frozen=True)
class EntityResult:
    index: int
    type: str
    ref: str
    id: str
    status: str


@dataclass(frozen=True)
class LinkResult:
    index: int
    id: str
    status: str


@dataclass
class IngestResult:
    """What the server answered for a whole (possibly chunked) batch. Indexes refer to the
    batch given to `push`, not to the requests it was cut into."""

    batch_ids: list[str] = field(default_factory=list)
    entities: list[EntityResult] = field(default_factory=list)
    links: list[LinkResult] = field(default_factory=list)
    requests: int = 0
    retries: int = 0

    @property
    def batch_id(self) -> str:
        """The server's batch id (the first one when the batch was sent in several requests)."""
        return self.batch_ids[0] if self.batch_ids else ""

    @property
    def entity_counts(self) -> Counter[str]:
        return Counter(e.status for e in self.entities)

    @property
    def link_counts(self) -> Counter[str]:
        return Counter(link.status for link in self.links)

    @property
    def counts(self) -> Counter[str]:
        """created / updated / unchanged over entities and links together."""
        return self.entity_counts + self.link_counts

    def ids(self) -> dict[tuple[str, str], str]:
        """(type, ref) as sent -> the server's id."""
        return {(e.type, e.ref): e.id for e in self.entities}

    def merge(self, other: IngestResult, entity_offset: int, link_offset: int) -> None:
        self.batch_ids.extend(other.batch_ids)
        self.entities.extend(EntityResult(e.index + entity_offset, e.type, e.ref, e.id, e.status)
                             for e in other.entities)
        self.links.extend(LinkResult(lk.index + link_offset, lk.id, lk.status) for lk in other.links)
        self.requests += other.requests
        self.retries += other.retries


@dataclass(frozen=True)
class EventResult:
    index: int
    id: str
    status: str


@dataclass
class EventsResult:
    """What the server answered for events sent to POST /v1/events (possibly in several requests);
    indexes refer to the list given to `push_events`."""

    batch_ids: list[str] = field(default_factory=list)
    events: list[EventResult] = field(default_factory=list)
    requests: int = 0
    retries: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(e.status for e in self.events)

    def merge(self, body: Any, offset: int, retries: int) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise ApiClientError(f"unexpected answer from POST /v1/events: {str(body)[:300]}")
        self.batch_ids.append(str(body.get("batch_id", "")))
        self.events.extend(EventResult(int(e["index"]) + offset, str(e["id"]), str(e["status"]))
                           for e in body["events"])
        self.requests += 1
        self.retries += retries


@dataclass(frozen=True)
class Chunk:
    """One request's worth of a batch, with where its items sit in the whole batch."""

    entities: list[dict[str, Any]]
    links: list[dict[str, Any]]
    entity_offset: int
    link_offset: int

    @property
    def size(self) -> int:
        return len(self.entities) + len(self.links)

    def body(self) -> dict[str, Any]:
        return {"entities": self.entities, "links": self.links}


def split_batch(batch: Mapping[str, Any], max_items: int) -> Iterator[Chunk]:
    """Cut a batch into chunks of at most `max_items` items, entities before links.

    Since every entity precedes every link, a link's owned ends were committed by an earlier
    request or travel in the same one."""
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    entities = list(batch.get("entities") or [])
    links = list(batch.get("links") or [])
    if not entities and not links:
        return  # nothing to send: no request at all
    if len(entities) + len(links) <= max_items:
        yield Chunk(entities, links, 0, 0)
        return
    e = lk = 0
    while e < len(entities) or lk < len(links):
        room = max_items
        chunk_entities = entities[e:e + room]
        room -= len(chunk_entities)
        chunk_links = links[lk:lk + room] if room else []
        yield Chunk(chunk_entities, chunk_links, e, lk)
        e += len(chunk_entities)
        lk += len(chunk_links)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from this service; fall back to our own backoff


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _parse_result(body: Any) -> IngestResult:
    if not isinstance(body, dict) or "entities" not in body:
        raise ApiClientError(f"unexpected answer from POST /v1/ingest: {str(body)[:300]}")
    return IngestResult(
        batch_ids=[str(body.get("batch_id", ""))],
        entities=[EntityResult(int(e["index"]), str(e["type"]), str(e["ref"]), str(e["id"]), str(e["status"]))
                  for e in body.get("entities") or []],
        links=[LinkResult(int(lk["index"]), str(lk["id"]), str(lk["status"])) for lk in body.get("links") or []],
        requests=1,
    )


class _Attempts:
    """What follows each attempt of one request — shared by the sync and the async client.

    `after` takes the attempt's outcome (an answer, or the transport error it ended in) and
    returns the answer to keep (2xx) or the delay before the next attempt, or raises:
    `ApiRequestError` for an answer retrying cannot change (4xx, other 5xx),
    `ApiUnavailableError` once the policy's attempts are spent.
    """

    def __init__(self, method: str, base_url: str, path: str, policy: RetryPolicy, rng: random.Random,
                 on_retry: Callable[[int, str, float], None] | None) -> None:
        self.method, self.base_url, self.path = method, base_url, path
        self.policy, self.rng, self.on_retry = policy, rng, on_retry
        self.attempt = 1

    @property
    def retries(self) -> int:
        return self.attempt - 1

    def after(self, outcome: httpx.Response | httpx.TransportError) -> httpx.Response | float:
        if isinstance(outcome, httpx.TransportError):
            # A write may have been committed before the answer was lost: resending an idempotent
            # ingest converges; for reads it is harmless.
            return self._next(f"{type(outcome).__name__}: {outcome}", None, None)
        if outcome.is_success:
            return outcome
        if outcome.status_code not in RETRY_STATUSES:
            raise ApiRequestError(outcome.status_code, _decode(outcome), self.method, str(outcome.url))
        return self._next(f"HTTP {outcome.status_code}", outcome.status_code, _retry_after(outcome))

    def _next(self, reason: str, status: int | None, retry_after: float | None) -> float:
        if self.attempt >= self.policy.max_attempts:
            raise ApiUnavailableError(
                f"{self.method} {self.base_url}{self.path}: still unavailable after {self.attempt} attempts "
                f"({reason})", self.attempt, status)
        delay = self.policy.delay(self.attempt, retry_after, self.rng)
        if self.on_retry is not None:
            self.on_retry(self.attempt, reason, delay)
        self.attempt += 1
        return delay


class BaseIngestClient(Generic[TransportT, HttpT]):
    """What the sync and the async client share, as httpx's `BaseClient` does: the options, the
    request headers, the retry decisions and the reading of answers. The subclasses do the I/O.

    - `token`: a bearer JWT (role `ingest` or `investigator`); ownership comes from it.
    - `source_system`: sent as `X-Source-System`, recorded as provenance.
    - `max_items`: items (entities + links) per request; larger batches are cut.
    - `timeout`: seconds for connect / read / write; a timeout is retried like a 503.
    - `transport`: an httpx transport instead of the default one (proxies, local sockets,
      `httpx.HTTPTransport(...)` options); the default speaks plain HTTP to `base_url`.
    - `on_retry(attempt, reason, delay)`: called before each wait, for logs or progress bars.
    - `bookmarks`: another client's `bookmarks`, to read through this one at least what it wrote.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        source_system: str = "ofast-graph-importers",
        max_items: int = 5000,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: TransportT | None = None,
        on_retry: Callable[[int, str, float], None] | None = None,
        seed: int | None = None,
        bookmarks: Iterable[str] = (),
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.max_items = max_items
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if source_system:
            headers["X-Source-System"] = source_system
        self._http: HttpT = self._open(transport, base_url=self.base_url, headers=headers, limits=LIMITS,
                                       timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        # Bookmarks of this client's writes not yet covered by a later one: sent with every request,
        # so a read through any replica sees at least what this client wrote. A write's answer
        # covers the bookmarks it was sent with; those of writes answered meanwhile (other threads)
        # are kept beside it.
        self._bookmarks: set[str] = set(bookmarks)
        self._bookmarks_lock = threading.Lock()

    @property
    def bookmarks(self) -> frozenset[str]:
        """The `X-Neo4j-Bookmark` values this client sends (opaque)."""
        with self._bookmarks_lock:
            return frozenset(self._bookmarks)

    def _causal_headers(self, headers: Mapping[str, str] | None) -> tuple[dict[str, str], frozenset[str]]:
        sent = self.bookmarks
        out = dict(headers or {})
        if sent:
            out[BOOKMARK_HEADER] = ",".join(sorted(sent))
        return out, sent

    def _remember(self, outcome: httpx.Response | httpx.TransportError, sent: frozenset[str]) -> None:
        if isinstance(outcome, httpx.Response) and (new := outcome.headers.get(BOOKMARK_HEADER)):
            with self._bookmarks_lock:
                self._bookmarks -= sent
                self._bookmarks.add(new)

    def _open(self, transport: TransportT | None, **options: Any) -> HttpT:
        raise NotImplementedError

    def _attempts(self, method: str, path: str) -> _Attempts:
        return _Attempts(method, self.base_url, path, self.retry, self._rng, self.on_retry)

    def _chunks(self, batch: Mapping[str, Any]) -> Iterator[Chunk]:
        return split_batch(batch, self.max_items)

    @staticmethod
    def _ingest_result(response: httpx.Response, retries: int) -> IngestResult:
        result = _parse_result(_decode(response))
        result.retries = retries
        return result

    @staticmethod
    def _entity_request(entity_id: str, purpose: str | None) -> tuple[str, dict[str, str] | None]:
        return f"/v1/entities/{entity_id}", {"X-Purpose": purpose} if purpose else None

    @staticmethod
    def _object(response: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        return body


class IngestClient(BaseIngestClient[httpx.BaseTransport, httpx.Client]):
    """Synchronous client; thread-safe (one httpx connection pool), so a few threads may push
    independent batches through the same client. Options: see `BaseIngestClient`."""

    def _open(self, transport: httpx.BaseTransport | None, **options: Any) -> httpx.Client:
        return httpx.Client(transport=transport, **options)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- transport with retries ------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[httpx.Response, int]:
        """Send one request, retrying while the service is unavailable; return the response
        (2xx) and how many retries it took. 4xx (and other 5xx) raise `ApiRequestError`."""
        attempts = self._attempts(method, path)
        while isinstance(answer := attempts.after(self._send(method, path, json, params, headers)), float):
            time.sleep(answer)
        return answer, attempts.retries

    def _send(self, method: str, path: str, json: Any, params: Mapping[str, Any] | None,
              headers: Mapping[str, str] | None) -> httpx.Response | httpx.TransportError:
        causal, sent = self._causal_headers(headers)
        outcome: httpx.Response | httpx.TransportError
        try:
            outcome = self._http.request(method, path, json=json, params=params, headers=causal)
        except httpx.TransportError as exc:  # timeouts included
            outcome = exc
        self._remember(outcome, sent)
        return outcome

    # -- API -------------------------------------------------------------------------------
    def push(self, batch: Mapping[str, Any]) -> IngestResult:
        """POST a batch to /v1/ingest, in as many requests as `max_items` requires.

        Each request is atomic on the server; when one is refused (`ApiRequestError`), the
        earlier ones stay committed, and pushing the same batch again after fixing it is safe.
        """
        total = IngestResult()
        for chunk in self._chunks(batch):
            total.merge(self.push_chunk(chunk), chunk.entity_offset, chunk.link_offset)
        return total

    def push_chunk(self, chunk: Chunk) -> IngestResult:
        return self._ingest_result(*self.request("POST", "/v1/ingest", json=chunk.body()))

    def push_events(self, events: Sequence[Mapping[str, Any]]) -> EventsResult:
        """POST events to /v1/events, in requests of at most `max_items` (each atomic on the server;
        resending is safe: an event's id is stable, a repeat comes back `unchanged`)."""
        total = EventsResult()
        for start in range(0, len(events), self.max_items):
            body = {"events": list(events[start:start + self.max_items])}
            response, retries = self.request("POST", "/v1/events", json=body)
            total.merge(_decode(response), start, retries)
        return total

    def get_entity(self, entity_id: str, *, purpose: str | None = None) -> dict[str, Any]:
        """GET /v1/entities/{id}: the entity as this caller may see it."""
        path, headers = self._entity_request(entity_id, purpose)
        return self._object(self.request("GET", path, headers=headers)[0])

    def ready(self) -> bool:
        """True when /readyz answers 200 (Neo4j reachable, schema migrated); no retries."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.5) -> None:
        """Block until /readyz is 200, or raise ApiUnavailableError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        attempts = 0
        while True:
            attempts += 1
            if self.ready():
                return
            if time.monotonic() >= deadline:
                raise ApiUnavailableError(f"{self.base_url}/readyz not ready after {timeout:.0f}s", attempts)
            time.sleep(interval)


class AsyncIngestClient(BaseIngestClient[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """The same client for asyncio code (benchmarks, services): `await client.push(batch)`.

    Chunks of one batch go one after the other (a link's ends must be stored first); run
    several `push` calls concurrently for independent batches.
    """

    def _open(self, transport: httpx.AsyncBaseTransport | None, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, **options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncIngestClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None) -> tuple[httpx.Response, int]:
        """As `IngestClient.request`, awaiting between attempts."""
        attempts = self._attempts(method, path)
        while isinstance(answer := attempts.after(await self._send(method, path, json, params, headers)), float):
            await asyncio.sleep(answer)
        return answer, attempts.retries

    async def _send(self, method: str, path: str, json: Any, params: Mapping[str, Any] | None,
                    headers: Mapping[str, str] | None) -> httpx.Response | httpx.TransportError:
        causal, sent = self._causal_headers(headers)
        outcome: httpx.Response | httpx.TransportError
        try:
            outcome = await self._http.request(method, path, json=json, params=params, headers=causal)
        except httpx.TransportError as exc:  # timeouts included
            outcome = exc
        self._remember(outcome, sent)
        return outcome

    async def push(self, batch: Mapping[str, Any]) -> IngestResult:
        """POST a batch to /v1/ingest, in as many requests as `max_items` requires."""
        total = IngestResult()
        for chunk in self._chunks(batch):
            total.merge(await self.push_chunk(chunk), chunk.entity_offset, chunk.link_offset)
        return total

    async def push_chunk(self, chunk: Chunk) -> IngestResult:
        return self._ingest_result(*await self.request("POST", "/v1/ingest", json=chunk.body()))

    async def get_entity(self, entity_id: str, *, purpose: str | None = None) -> dict[str, Any]:
        """GET /v1/entities/{id}: the entity as this caller may see it."""
        path, headers = self._entity_request(entity_id, purpose)
        return self._object((await self.request("GET", path, headers=headers))[0])
