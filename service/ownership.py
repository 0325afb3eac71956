"""Owner-only actions on an entity (delete, review): one check and one set of errors for all.

Only the owner agency acts on its data — the central agency included, it reads everything but
changes nothing of another agency's. Identifiers are shared merge keys: nobody owns them.
"""

from __future__ import annotations

from neo4j import AsyncManagedTransaction

from service.auth import Principal
from service.errors import ApiError, not_found
from service.queries.entities import OWNER_PROBE
from service.visibility import viewer_params


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
