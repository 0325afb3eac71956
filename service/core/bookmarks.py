"""Read-your-writes across API replicas: Neo4j bookmarks carried by the `X-Neo4j-Bookmark` header.

On a cluster a read may be routed to a secondary that has not applied the latest commits yet:
a partner that pushed through replica A and looks up through replica B could get a false "no hit".
Every write answers with the bookmark of its transaction; a request that sends bookmarks back has
each of its transactions wait until the server it runs on has caught up with them (the driver's
causal chaining; on a single server the wait is immediate).

The header holds one or more tokens, separated by commas (or repeated headers); a token is the
URL-safe base64 (unpadded) of a JSON list of the driver's raw bookmark strings, whose own alphabet
(`:`, `+`, `/`, `=`) is not header- or URL-safe. Clients treat tokens as opaque.

The request's bookmarks live in a context variable set by the HTTP middleware, so the database
layer (`service.core.db`) reads and extends them without the routers passing anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

import neo4j

HEADER = "X-Neo4j-Bookmark"
MAX_TOKENS = 32  # a client keeps one per concurrent writer; more is a malformed or hostile header
MAX_HEADER_BYTES = 16 * 1024


class InvalidBookmark(ValueError):
    """A bookmark header that is not a list of tokens this service issued."""


@dataclass
class Causal:
    """What the request has to see (the caller's bookmarks) and what it wrote (extended by each
    write), shared by every task of the request."""

    seen: frozenset[str] = frozenset()
    written: frozenset[str] = field(default_factory=frozenset)

    def wait_for(self) -> neo4j.Bookmarks | None:
        values = self.seen | self.written
        return neo4j.Bookmarks.from_raw_values(values) if values else None


_causal: ContextVar[Causal | None] = ContextVar("neo4j_bookmarks", default=None)


def current() -> Causal | None:
    """The bookmarks of the request being served (None outside a request: background work waits
    for nothing)."""
    return _causal.get()


def begin(seen: frozenset[str]) -> Token[Causal | None]:
    return _causal.set(Causal(seen=seen))


def end(token: Token[Causal | None]) -> None:
    _causal.reset(token)


def encode(values: frozenset[str]) -> str:
    raw = json.dumps(sorted(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(header_values: list[str]) -> frozenset[str]:
    """The raw bookmarks of the header's values; `InvalidBookmark` names what is wrong."""
    if sum(len(v) for v in header_values) > MAX_HEADER_BYTES:
        raise InvalidBookmark(f"the {HEADER} header is longer than {MAX_HEADER_BYTES} bytes")
    tokens = [t.strip() for v in header_values for t in v.split(",") if t.strip()]
    if len(tokens) > MAX_TOKENS:
        raise InvalidBookmark(f"the {HEADER} header holds more than {MAX_TOKENS} bookmarks")
    out: set[str] = set()
    for i, token in enumerate(tokens):
        try:
            values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise InvalidBookmark(f"bookmark {i} of the {HEADER} header is not one this service issued") from exc
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidBookmark(f"bookmark {i} of the {HEADER} header is not one this service issued")
        out.update(values)
    return frozenset(out)
