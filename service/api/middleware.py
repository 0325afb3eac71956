"""ASGI middleware: request ids, Neo4j bookmarks, body-size limit, request logs."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import bookmarks
from service.core.context import request_finished, request_started
from service.core.errors import error_body
from service.core.metrics import REQUEST_LATENCY

log = structlog.get_logger("ofast_graph.access")


async def send_error(send: Send, status: int, code: str, message: str, details: object = None) -> None:
    """An error response sent from middleware, before any router runs."""
    import json

    body = json.dumps(error_body(code, message, details)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` if sane), echoes it, logs the request
    and records its latency by route template (ids in raw paths would explode the label set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        token = request_started(rid)
        # Kept in the scope too: the 500 handler runs outside this middleware, after the reset.
        scope.setdefault("state", {})["request_id"] = rid
        structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUEST_LATENCY.labels(scope.get("method", ""), route, str(status)).observe(elapsed)
            log.info("request", method=scope.get("method"), path=scope.get("path"), status=status,
                     ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("request_id")
            request_finished(token)


class BookmarkMiddleware:
    """Read-your-writes across replicas (`service.core.bookmarks`): the caller's `X-Neo4j-Bookmark`
    values are what every transaction of the request waits for; a request that wrote answers with
    the bookmark of its last write in the same header. A header that does not decode is a 400."""

    _name = bookmarks.HEADER.lower().encode("latin-1")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for n, v in scope.get("headers", []) if n == self._name]
        try:
            seen = bookmarks.decode(values) if values else frozenset()
        except bookmarks.InvalidBookmark as exc:
            await send_error(send, 400, "invalid_bookmark", str(exc),
                             {"header": bookmarks.HEADER,
                              "expected": "values this service returned in that header, comma-separated"})
            return
        token = bookmarks.begin(seen)
        causal = bookmarks.current()

        async def send_with_bookmark(message: Message) -> None:
            if message["type"] == "http.response.start" and causal is not None and causal.written:
                message["headers"] = [*message.get("headers", []),
                                      (self._name, bookmarks.encode(causal.written).encode("ascii"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_bookmark)
        finally:
            bookmarks.end(token)


class BodyLimitMiddleware:
    """Rejects bodies over `max_bytes` with 413 before they are read whole into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        await send_error(send, 413, "payload_too_large",
                         f"the request body is larger than the limit of {self.max_bytes} bytes",
                         {"limit_bytes": self.max_bytes})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)


class _TooLarge(Exception):
    pass


class JsonBodyMiddleware:
    """Refuses request bodies that are not declared JSON with 415: the API speaks only JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in headers
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if has_body and not (media == b"application/json" or media.endswith(b"+json")):
            await send_error(send, 415, "unsupported_media_type",
                             f"send the body as JSON with Content-Type: application/json "
                             f"(got {media.decode('latin-1')!r})")
            return
        await self.app(scope, receive, send)
