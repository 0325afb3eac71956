"""The analyses of events: an entity's timeline and the analytics investigators run on phone
records, plate reads and transfers (`service.domain.events.analyses`).

Every answer follows the link rules: events seen in full are shown; another agency's restricted
events only count, per owner agency and with whom to contact, in `withheld` — never their time,
their other party or their place; confidential ones of other agencies are not there at all.
`since` / `until` (ISO 8601, both included) bound every analysis; hours and weekdays are local
time in Europe/Paris, times are returned in UTC with `Z`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.analyses import AnalysisShape, audit_read
from service.api.deps import OptionalPurpose, TimeWindow, comma_list, get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import node_out
from service.core.db import Database
from service.core.errors import not_found
from service.domain.events import analyses as a

router = APIRouter(prefix="/v1", tags=["events"])

Node = dict[str, Any]
ERRORS = errors({404: "No node with this id is known to the caller",
                 422: "Invalid parameter (since, until, kinds, limit, a node of the wrong type…): the error names it"})


class Withheld(BaseModel):
    owner_agency: str
    contact: str = Field(description="Whom to contact at the owner agency")
    count: int = Field(description="Events of that agency known to exist but not yours to see")


class Answer(BaseModel):
    withheld: list[Withheld] = Field(description="Another agency's events you may know exist, counted per agency")


class EventOut(BaseModel):
    """An event seen in full: its parties (`from`, `to`, `handset`, `vehicle`) and place (`cell`,
    `reader`) as nodes, its properties, codes and provenance."""

    model_config = ConfigDict(extra="allow")
    id: str
    kind: str
    at: str
    owner_agency: str


class Timeline(Answer):
    items: list[EventOut] = Field(description="Newest first")
    total: int = Field(description="Events seen in full in the window")


class Contact(BaseModel):
    phone: Node
    calls: int
    duration_s: int
    first: str
    last: str
    by_hour: list[int] = Field(description="Calls by local hour (Europe/Paris), 0 to 23")


class Contacts(Answer):
    phone: Node
    contacts: list[Contact] = Field(description="Most calls first")


class Activity(Answer):
    node: Node
    time_zone: str
    weekdays: list[str]
    by_weekday_hour: list[list[int]] = Field(description="7 rows (Monday first) of 24 local hours")
    total: int


class CommonContact(BaseModel):
    phone: Node
    calls: dict[str, int] = Field(description="Calls with each given phone, by its id")


class CommonContacts(Answer):
    contacts: list[CommonContact] = Field(description="Most calls in total first")


class CoLocated(BaseModel):
    other: Node
    place: Node | None = Field(description="The cell site or reader (null when not yours to know)")
    at: str = Field(description="When the given phone or vehicle was there")
    other_at: str = Field(description="When the other was there")


class CoLocation(Answer):
    items: list[CoLocated] = Field(description="Most recent first")
    total: int = Field(description="Co-locations found (items holds at most `limit`)")


class HandsetUse(BaseModel):
    phone: Node
    handset: Node
    first: str
    last: str
    calls: int


class HandsetSwaps(Answer):
    items: list[HandsetUse] = Field(description="In order of first use")


def _window(win: a.Window | None) -> a.Window:
    return win or a.Window()


@router.get("/entities/{entity_id}/timeline", responses={200: {"model": Timeline}, **ERRORS})
async def timeline(
    request: Request, entity_id: str, win: TimeWindow, purpose: OptionalPurpose,
    kinds: str | None = Query(None, max_length=200, description="Event kinds, comma-separated: call, plate_read, "
                                                                "transfer (default: all)"),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10_000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The events of an identifier — or of an entity (a Person…): those of the phones, vehicles,
    accounts and handsets it is linked to by links you may know exist — newest first.

    `total` counts the events you see in full; another agency's restricted events count in
    `withheld`. An entity you may not know exists is a 404, as for GET /v1/entities/{id}."""
    found = await a.timeline(db, viewer_params(principal), entity_id, _window(win), a.kinds(comma_list(kinds)),
                             limit, offset)
    if found is None:
        await audit_read(request, principal, "events.timeline", [entity_id], 0, purpose)
        raise not_found("entity", entity_id)
    shape = AnalysisShape(found, policy)
    items = [shape.event(e) for e in found["events"]]
    await audit_read(request, principal, "events.timeline", [entity_id, *(e["id"] for e in items)], len(items), purpose)
    return JSONResponse({"items": items, "total": found["total"], "withheld": shape.withheld(found["withheld"])})


@router.get("/analytics/contacts", responses={200: {"model": Contacts}, **ERRORS})
async def contacts(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    phone: str = Query(..., min_length=1, max_length=200, description="Id of the phone"),
    limit: int = Query(50, ge=1, le=1000, description="Most correspondents returned"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The correspondents of a phone over its calls you see in full, most calls first: calls,
    total duration, first and last call, calls by local hour (Europe/Paris)."""
    found = await a.contacts(db, viewer_params(principal), phone, _window(win), limit)
    shape = AnalysisShape(found, policy)
    items = [{**c, "phone": shape.node(c["phone"])} for c in found["contacts"]]
    await audit_read(request, principal, "analytics.contacts", [phone, *(c["phone"] for c in found["contacts"])],
                     len(items), purpose)
    return JSONResponse({"phone": node_out(found["phone"], policy), "contacts": items,
                         "withheld": shape.withheld(found["withheld"])})


@router.get("/analytics/activity", responses={200: {"model": Activity}, **ERRORS})
async def activity(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    id: str = Query(..., min_length=1, max_length=200, description="Id of an identifier or an entity"),
    kinds: str | None = Query(None, max_length=200, description="Event kinds, comma-separated (default: all)"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """When a phone, vehicle, account or handset — or the identifiers of an entity, as in its
    timeline — is active: its events you see in full by weekday (Monday first) and local hour
    (Europe/Paris, summer time included)."""
    found = await a.activity(db, viewer_params(principal), id, _window(win), a.kinds(comma_list(kinds)))
    await audit_read(request, principal, "analytics.activity", [id], found["total"] if found else 0, purpose)
    if found is None:
        raise not_found("entity", id)
    return JSONResponse({"node": node_out(found["node"], policy), "time_zone": a.TIME_ZONE,
                         "weekdays": list(a.WEEKDAYS), "by_weekday_hour": found["by_weekday_hour"],
                         "total": found["total"], "withheld": AnalysisShape(found, policy).withheld(found["withheld"])})


@router.get("/analytics/common-contacts", responses={200: {"model": CommonContacts}, **ERRORS})
async def common_contacts(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    phones: str = Query(..., min_length=1, max_length=2000, description=f"2 to {a.MAX_PHONES} phone ids, "
                                                                        "comma-separated"),
    limit: int = Query(50, ge=1, le=1000, description="Most correspondents returned"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The correspondents all the given phones called or were called by, with each phone's
    number of calls, over the calls you see in full; most calls in total first."""
    ids = comma_list(phones)
    found = await a.common_contacts(db, viewer_params(principal), ids, _window(win), limit)
    shape = AnalysisShape(found, policy)
    items = [{"phone": shape.node(c["phone"]), "calls": c["calls"]} for c in found["contacts"]]
    await audit_read(request, principal, "analytics.common_contacts", [*ids, *(c["phone"] for c in found["contacts"])],
                     len(items), purpose)
    return JSONResponse({"contacts": items, "withheld": shape.withheld(found["withheld"])})


@router.get("/analytics/co-location", responses={200: {"model": CoLocation}, **ERRORS})
async def co_location(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    id: str = Query(..., min_length=1, max_length=200, description="Id of a phone or a vehicle"),
    window_minutes: int = Query(30, ge=1, le=1440, description="Most minutes between the two, both ends included"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """Phones (by their calls' cell) and vehicles (by their plate reads) seen at the same cell
    site or plate reader as the given phone or vehicle, at most `window_minutes` apart; the same
    mast pushed by two agencies is one place (its normalised ref)."""
    found = await a.co_location(db, viewer_params(principal), id, window_minutes, _window(win), limit)
    shape = AnalysisShape(found, policy)
    items = [{**i, "other": shape.node(i["other"]), "place": shape.node(i["place"])} for i in found["items"]]
    await audit_read(request, principal, "analytics.co_location", [id, *(i["other"] for i in found["items"])],
                     len(items), purpose)
    return JSONResponse({"items": items, "total": found["total"], "withheld": shape.withheld(found["withheld"])})


@router.get("/analytics/handset-swaps", responses={200: {"model": HandsetSwaps}, **ERRORS})
async def handset_swaps(
    request: Request, win: TimeWindow, purpose: OptionalPurpose,
    id: str = Query(..., min_length=1, max_length=200, description="Id of a phone or a handset"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """Every SIM used in a handset and every handset used with a SIM: for a phone, its handsets
    and the other phones used in them; for a handset, its phones; each pair with its first and
    last call and number of calls (a call's handset is the caller's)."""
    found = await a.handset_swaps(db, viewer_params(principal), id, _window(win))
    shape = AnalysisShape(found, policy)
    items = [{**i, "phone": shape.node(i["phone"]), "handset": shape.node(i["handset"])} for i in found["items"]]
    await audit_read(request, principal, "analytics.handset_swaps",
                     [id, *(x for i in found["items"] for x in (i["phone"], i["handset"]))], len(items), purpose)
    return JSONResponse({"items": items, "withheld": shape.withheld(found["withheld"])})
