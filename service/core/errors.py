"""Every error leaves the service as JSON `{"error": {"code", "message", "details"}}`.

Callers' mistakes are 4xx with a message that says what to change; an unreachable Neo4j is a
503 with `Retry-After`; anything unexpected — a query Neo4j refuses or fails to run included — is
a logged 500 whose body carries the request id (to find the log line) and no stack trace.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from neo4j.exceptions import (
    ConnectionPoolError,
    DatabaseUnavailable,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.context import current_request_id
from service.core.metrics import ERRORS, NEO4J_UNAVAILABLE

log = structlog.get_logger(__name__)

# Raised by the driver when Neo4j is down, restarting, overloaded, or lost mid-transaction
# (ServiceUnavailable covers IncompleteCommit: the outcome is unknown, and a retry of an
# idempotent write converges); TransientError once the driver's own retries ran out. Not
# DatabaseError nor ClientError: those are the same answer on every retry (a query the planner
# cannot run, a bad parameter), a bug to log and fix, and a 503 would tell callers to resend it.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    ServiceUnavailable,
    SessionExpired,
    DatabaseUnavailable,
    TransientError,
    ConnectionPoolError,
    ConnectionError,
)


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Unavailable(ApiError):
    def __init__(self, retry_after: int, message: str = "Neo4j is unavailable; retry later") -> None:
        super().__init__(503, "neo4j_unavailable", message, headers={"Retry-After": str(retry_after)})


def unavailable(exc: Exception, retry_after: int) -> Unavailable:
    """The one mapping of a driver error (one of UNAVAILABLE_ERRORS) to a 503: counted, and logged
    with Neo4j's own code."""
    NEO4J_UNAVAILABLE.inc()
    log.warning("neo4j_unavailable", error=type(exc).__name__, code=getattr(exc, "code", None),
                detail=str(exc)[:300])
    return Unavailable(retry_after)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} with id {ident!r}")


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _response(status: int, code: str, message: str, details: Any = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
    ERRORS.labels(str(status), code).inc()
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 412: "precondition_failed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "too_many_requests",
}


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        # The JSON decoder's own errors mean the body is not JSON at all.
        if any(d["type"] == "json_invalid" for d in details):
            return _response(400, "invalid_json", "the request body is not valid JSON", details)
        return _response(422, "validation_error", "the request does not match the expected shape", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _response(exc.status_code, code, str(exc.detail), None, dict(exc.headers or {}))

    for error_type in UNAVAILABLE_ERRORS:
        @app.exception_handler(error_type)
        async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
            # A driver error that escaped `Database` (which maps its own): the same 503.
            mapped = unavailable(exc, retry_after)
            return _response(mapped.status, mapped.code, mapped.message, None, mapped.headers)

    # Bodies parsed by hand (json.loads) fail with these; they are the caller's mistakes.
    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return _response(400, "too_deeply_nested", "the request body is nested too deeply")

    @app.exception_handler(UnicodeDecodeError)
    async def _encoding(request: Request, exc: UnicodeDecodeError) -> JSONResponse:
        return _response(400, "invalid_encoding", "the request body is not valid UTF-8")

    @app.exception_handler(json.JSONDecodeError)
    async def _bad_json(request: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return _response(400, "invalid_json", f"the request body is not valid JSON: {exc.msg} at position {exc.pos}")

    @app.exception_handler(Neo4jError)
    async def _query_error(request: Request, exc: Neo4jError) -> JSONResponse:
        # A deterministic failure of one of our queries (TransientError is mapped above, its
        # handler is the more specific one): Neo4j's code and message go to the log only.
        log.error("neo4j_query_error", error=type(exc).__name__, code=exc.code, detail=str(exc)[:500],
                  path=request.url.path)
        return internal_error(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=type(exc).__name__, path=request.url.path,
                      request_id=getattr(request.state, "request_id", ""))
        return internal_error(request)


def internal_error(request: Request) -> JSONResponse:
    """The 500 of a bug: the request id in the body is what finds the log line that says more."""
    request_id = current_request_id() or getattr(request.state, "request_id", "")
    return _response(500, "internal_error",
                     f"an unexpected error occurred; it has been logged under request id {request_id}",
                     {"request_id": request_id})
