"""Who may act on an entity: one check and one set of errors per kind of action.

Only the owner agency acts on its data (delete, review) — the central agency included, it reads
everything but changes nothing of another agency's. Identifiers are shared merge keys: nobody owns
them. An owner's delete (`DELETE /v1/entities/{id}`, `DELETE /v1/review-queue/{id}`) also leaves
alone an entity the national priority list designates in a live status. Who sees an entity is
another matter: the grants on it are managed by its owner and by the central agency, and only the
central agency disseminates.
"""

from __future__ import annotations

from neo4j import AsyncManagedTransaction

from service.access.auth import Principal
from service.access.visibility import viewer_params
from service.core.errors import ApiError, not_found
from service.queries.entities import LIVE_DESIGNATIONS, OWNER_PROBE


async def require_owned(tx: AsyncManagedTransaction, entity_id: str, principal: Principal, action: str) -> None:
    """404 unless the caller may know the item exists; 403 unless it is an entity of the caller's
    agency. `action` completes the 403 message ("delete it", "review it")."""
    found = await (await tx.run(OWNER_PROBE, id=entity_id, viewer=viewer_params(principal))).single()
    if found is None:
        raise not_found("entity", entity_id)
    if found["identifier"]:
        raise ApiError(403, "forbidden", f"{found['type']} {entity_id} is an identifier, shared by all agencies: "
                                         f"nobody owns it, nobody may {action}")
    if found["owner"] != principal.agency:
        raise ApiError(403, "forbidden",
                       f"entity {entity_id} belongs to agency {found['owner']!r}: only its owner may {action}",
                       {"id": entity_id, "owner_agency": found["owner"]})


def require_grant_manager(principal: Principal, owner: str, entity_id: str) -> None:
    """403 unless the caller's agency owns the entity or is the central agency: only they manage
    (give, revoke, list) the grants on it."""
    if principal.agency != owner and not principal.is_central:
        raise ApiError(403, "forbidden",
                       f"only the owner agency ({owner}) or the central agency manage the grants of "
                       f"entity {entity_id!r}")


def require_central(principal: Principal, action: str) -> None:
    """403 unless the caller is of the central agency: `action` ("disseminates") is its alone."""
    if not principal.is_central:
        raise ApiError(403, "forbidden", f"only the central agency {action}")


async def refuse_if_designated(tx: AsyncManagedTransaction, entity_id: str) -> None:
    """409 `entity_designated` when a live (active or suspended) priority-list entry designates
    the entity: target managers archive or neutralise the entry first, so the list never points at
    nothing. The retention job does not call this: expired data goes regardless."""
    live = [r.data() async for r in await tx.run(LIVE_DESIGNATIONS, id=entity_id)]
    if live:
        raise ApiError(409, "entity_designated",
                       f"entity {entity_id} is a national priority target ({live[0]['status']}): "
                       "a target manager archives or neutralises the entry before it can be deleted",
                       {"priority_targets": live})
