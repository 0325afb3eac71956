"""What the process knows of the request it is serving: its id, and how many are in flight.

Set by the HTTP middleware (`service.api.middleware`), read by code below the API — the audit
writer stamps each record with the request id and syncs its journal on the event loop only when
no other request waits — so that code never depends on the API layer.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_in_flight = 0


def current_request_id() -> str:
    """The id of the request being served ("" outside a request)."""
    return _request_id.get()


def requests_in_flight() -> int:
    """HTTP requests this process has started and not finished."""
    return _in_flight


def request_started(request_id: str) -> Token[str]:
    global _in_flight
    _in_flight += 1
    return _request_id.set(request_id)


def request_finished(token: Token[str]) -> None:
    global _in_flight
    _in_flight -= 1
    _request_id.reset(token)
