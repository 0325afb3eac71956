"""Public reports of deal points (measure 16): what the form accepts, its rate limit, where a report
queues, and the triage by the CROSS of its département (accept → a `Location` deal point owned by
that CROSS; reject; merge into a deal point it already sees).

Nothing about the reporter is kept: the form has no field for a name or a contact (an unknown field
is a 422), the client address only keys the in-memory rate limit (hashed with a per-process salt,
forgotten after the hour) and is never written. Markup is refused, not stripped: a description or
address with `<tag`-like text is a 422 naming the field, so what is stored is what was sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
import time
from collections import deque
from typing import Any

import orjson
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, ConfigDict, Field

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.contributors import cross_of
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.domain.ingest import write
from service.domain.ingest.models import build_plan
from service.domain.reports.places import departement_of_point, departement_of_postcode
from service.queries import public_reports as q

MARKUP = re.compile(r"<\s*[a-zA-Z!/?]|&#?[a-zA-Z0-9]+;")
DEAL_POINT_REF = "public-report:"  # the ref of the deal point an accepted report becomes


class PublicReportIn(BaseModel):
    """A citizen's report of a deal point: a place (a point or an address with its postcode), what
    was seen, and optionally when. No field about the reporter exists."""

    model_config = ConfigDict(extra="forbid")

    lat: float | None = Field(None, ge=-90, le=90, description="Latitude (WGS 84), with `lon`")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude (WGS 84), with `lat`")
    address: str | None = Field(None, description="Address text with its postcode (e.g. `12 rue X, 13003 Marseille`)"
                                                  " when no point is given")
    description: str = Field(description="What was seen; plain text, no markup")
    observed_at: str | None = Field(None, max_length=64, description="When: ISO 8601 date-time or date")


class Receipt(BaseModel):
    receipt: str = Field(description="The report's id: quote it to the CROSS if you call")
    status: str = Field(description="`queued`: waiting for the CROSS of its département")
    received_at: str


class ReportOut(BaseModel):
    id: str
    status: str = Field(description="queued, accepted, rejected or merged")
    departement: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    description: str
    observed_at: str | None = None
    received_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    deal_point_id: str | None = Field(None, description="The deal point it became (accepted) or joined (merged)")
    reason: str | None = None


def _plain(name: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > limit:
        raise ApiError(422, "too_long", f"{name} has at most {limit} characters", {"field": name, "limit": limit})
    if MARKUP.search(text):
        raise ApiError(422, "markup_refused", f"{name} must be plain text: markup (HTML tags, entities) is refused",
                       {"field": name})
    return text or None


def _observed(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, "invalid_time", "observed_at must be an ISO 8601 date-time or date",
                       {"field": "observed_at"}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def checked(report: PublicReportIn, policy: Policy) -> dict[str, Any]:
    """The record to store, or the 422 naming the field: place, plain text, limits."""
    limits = policy.public_reports
    description = _plain("description", report.description, limits.max_description)
    if not description:
        raise ApiError(422, "description_required", "description says what was seen", {"field": "description"})
    address = _plain("address", report.address, limits.max_address)
    if (report.lat is None) != (report.lon is None):
        missing = "lat" if report.lat is None else "lon"
        raise ApiError(422, "invalid_place", "give lat and lon together", {"field": missing})
    if report.lat is not None and report.lon is not None:
        departement = departement_of_point(report.lat, report.lon)
        if departement is None:
            raise ApiError(422, "outside_france", "lat/lon is in no French département", {"field": "lat"})
    elif address:
        departement = departement_of_postcode(address)
        if departement is None:
            raise ApiError(422, "postcode_required", "the address needs its postcode (5 digits)", {"field": "address"})
    else:
        raise ApiError(422, "place_required", "give lat and lon, or an address with its postcode", {"field": "lat"})
    return {"lat": report.lat, "lon": report.lon, "address": address, "description": description,
            "observed_at": _observed(report.observed_at), "departement": departement,
            "cross": cross_of(policy, departement) or policy.central_agency}


class RateLimiter:
    """At most `per_hour` reports per client in any hour, in memory (one count per API process).
    Clients are keyed by a salted hash: the limiter never holds an address in the clear."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._salt = secrets.token_bytes(16)
        self._seen: dict[bytes, deque[float]] = {}

    def check(self, client: str) -> None:
        """Count one report of `client`, or raise 429 with the seconds to wait in `Retry-After`."""
        now = time.monotonic()
        if len(self._seen) > 100_000:  # bounded memory under a flood of addresses
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - 3600}
        key = hashlib.blake2b(client.encode(), key=self._salt, digest_size=16).digest()
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - 3600:
            times.popleft()
        if len(times) >= self.per_hour:
            wait = max(1, math.ceil(times[0] + 3600 - now))
            raise ApiError(429, "rate_limited", f"at most {self.per_hour} reports an hour from one address; "
                                                f"retry in {wait} s", {"retry_after": wait},
                           headers={"Retry-After": str(wait)})
        times.append(now)


async def submit(db: Database, record: dict[str, Any]) -> Receipt:
    receipt = Receipt(receipt=f"rpt_{secrets.token_hex(12)}", status="queued", received_at=clock.iso_now())

    async def work(tx: AsyncManagedTransaction) -> None:
        await tx.run(q.CREATE_REPORT, record | {"id": receipt.receipt, "now": receipt.received_at})

    await db.write(work)
    return receipt


async def queue(db: Database, principal: Principal, status: str | None, limit: int) -> list[ReportOut]:
    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        return [r["report"] async for r in await tx.run(q.QUEUE, agency=principal.agency, status=status,
                                                         limit=limit)]

    return [ReportOut(**r) for r in await db.read(work)]


async def _report(db: Database, principal: Principal, report_id: str) -> dict[str, Any]:
    """The report if the caller's agency triages it: 404 for any other (its queue is not theirs to know)."""
    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        found = await (await tx.run(q.REPORT_FOR, id=report_id, agency=principal.agency)).single()
        return found["report"] if found else None

    found = await db.read(work)
    if found is None:
        raise not_found("public report", report_id)
    if found["status"] != "queued":
        raise ApiError(409, "already_triaged", f"report {report_id} is already {found['status']}",
                       {"status": found["status"], "deal_point_id": found.get("deal_point_id")})
    return found


async def _decide(db: Database, principal: Principal, report_id: str, status: str,
                  deal_point_id: str | None, reason: str | None) -> ReportOut:
    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        found = await (await tx.run(q.DECIDE, id=report_id, agency=principal.agency, status=status,
                                    now=clock.iso_now(), sub=principal.sub, deal_point_id=deal_point_id,
                                    reason=reason)).single()
        return found["report"] if found else None

    decided = await db.write(work)
    if decided is None:  # triaged by someone else meanwhile
        raise ApiError(409, "already_triaged", f"report {report_id} was triaged meanwhile")
    return ReportOut(**decided)


async def accept(db: Database, principal: Principal, policy: Policy, report_id: str, label: str | None,
                 lat: float | None, lon: float | None) -> ReportOut:
    """The report becomes a deal point of the caller's agency (its CROSS), pushed as that agency's
    own ingest would push it (ref `public-report:<id>`, restricted, X/4): a retry after a failure
    between the two writes finds the deal point unchanged and completes the decision."""
    report = await _report(db, principal, report_id)
    lat = lat if lat is not None else report.get("lat")
    lon = lon if lon is not None else report.get("lon")
    if lat is None or lon is None:
        raise ApiError(422, "place_required", "this report has an address only: give lat and lon to place it",
                       {"field": "lat"})
    props = {"kind": "deal_point", "label": label or report["description"][:80], "lat": lat, "lon": lon}
    body = orjson.dumps({"entities": [{"type": "Location", "ref": DEAL_POINT_REF + report_id, "properties": props}],
                         "links": []})
    plan = build_plan(body, get_schema(), policy, principal.agency)
    if plan.errors:
        raise ApiError(422, "invalid_deal_point", "the deal point is not valid", plan.errors)
    out = await write.ingest(db, plan, principal, policy, "public-report")
    return await _decide(db, principal, report_id, "accepted", out["entities"][0]["id"], None)


async def reject(db: Database, principal: Principal, report_id: str, reason: str | None) -> ReportOut:
    await _report(db, principal, report_id)
    return await _decide(db, principal, report_id, "rejected", None, reason)


async def merge(db: Database, principal: Principal, report_id: str, deal_point_id: str) -> ReportOut:
    """The report joins a deal point the caller sees in full (404 for any other id)."""
    await _report(db, principal, report_id)

    async def work(tx: AsyncManagedTransaction) -> bool:
        found = await (await tx.run(q.DEAL_POINT, id=deal_point_id, viewer=viewer_params(principal))).single()
        return found is not None

    if not await db.read(work):
        raise not_found("deal point", deal_point_id)
    return await _decide(db, principal, report_id, "merged", deal_point_id, None)
