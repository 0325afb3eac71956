"""Sharing beyond the sharing level: grants on one entity, and the central agency's disseminations.

A grant lets one agency see one entity node in full, as if it were `open` to that agency; it
covers the node only, the entity's relationships keep their own sharing. A dissemination is the
central agency sending entities to agencies with a note (measure 3): a grant per (entity,
recipient) and a record each recipient can list. Who may do what is decided by `service.access`
(`ownership`: who manages grants, who disseminates; `handling`: H2 and minors); the Cypher is in
`service.queries.grants`. Each workflow runs in one transaction and returns what the router shows.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from neo4j import AsyncManagedTransaction, Record

from service.access import handling
from service.access.auth import Principal
from service.access.ownership import require_central, require_grant_manager
from service.access.policy import Policy
from service.access.visibility import full_without_grant, viewer_params
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import grants as q

H2_REMEDY = "only their owner may share them"


def check_agency(policy: Policy, agency: str) -> None:
    if agency not in policy.agencies:
        raise ApiError(422, "unknown_agency", f"agency {agency!r} is not in the access policy",
                       {"known_agencies": sorted(policy.agencies)})


async def _managed_entity(tx: AsyncManagedTransaction, query: str, entity_id: str, principal: Principal) -> Record:
    """The entity's row from `query` (`LOCK_ENTITY`, `ENTITY_FOR_LIST`): 404 unless the caller may
    know it exists, 403 unless the caller manages its grants."""
    row = await (await tx.run(query, id=entity_id, viewer=viewer_params(principal))).single()
    if row is None:
        raise ApiError(404, "not_found", f"no entity with id {entity_id!r}")
    require_grant_manager(principal, row["owner_agency"], entity_id)
    return row


async def create_grant(db: Database, principal: Principal, policy: Policy, entity_id: str, agency: str,
                       reason: str) -> tuple[dict[str, Any], bool]:
    """The grant of `agency` on the entity, and whether this call created it (False: it held one)."""
    check_agency(policy, agency)

    async def work(tx: AsyncManagedTransaction) -> tuple[dict[str, Any], bool]:
        row = await _managed_entity(tx, q.LOCK_ENTITY, entity_id, principal)
        handling.refuse_h2([{"id": entity_id, **row.data()}], principal.agency, "grant", H2_REMEDY)
        handling.refuse_minor_grant(entity_id, row["minor"])
        if full_without_grant(policy, agency, row["owner_agency"]):
            raise ApiError(422, "nothing_to_grant",
                           f"agency {agency!r} already sees entity {entity_id!r} in full (owner or central agency)")
        existing = await (await tx.run(q.ACTIVE_GRANT, id=entity_id, agency=agency)).single()
        if existing is not None:
            return dict(existing["grant"]), False
        created = await (await tx.run(
            q.CREATE_GRANT, id=entity_id, agency=agency, reason=reason, grant_id=str(uuid.uuid4()),
            by_agency=principal.agency, by_sub=principal.sub, by_unit=principal.unit, now=clock.iso_now(),
            dissemination_id=None,
        )).single()
        assert created is not None  # the entity is locked by this transaction: it is still there
        return dict(created["grant"]), True

    return await db.write(work)


async def revoke_grant(db: Database, principal: Principal, policy: Policy, entity_id: str, agency: str,
                       reason: str) -> list[dict[str, Any]]:
    """The grants of `agency` on the entity marked revoked; 404 when it holds none."""
    check_agency(policy, agency)

    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        row = await _managed_entity(tx, q.LOCK_ENTITY, entity_id, principal)
        result = await tx.run(q.REVOKE_GRANT, id=entity_id, agency=agency, now=clock.iso_now(),
                              by_agency=principal.agency, by_sub=principal.sub, reason=reason)
        revoked = [dict(r["grant"]) async for r in result]
        if not revoked and agency not in (row["grantees"] or []):
            raise ApiError(404, "grant_not_found", f"agency {agency!r} holds no grant on entity {entity_id!r}")
        return revoked

    return await db.write(work)


async def list_grants(db: Database, principal: Principal, entity_id: str) -> list[dict[str, Any]]:
    """Every grant on the entity, active and revoked, newest first."""
    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        await _managed_entity(tx, q.ENTITY_FOR_LIST, entity_id, principal)
        return [dict(r["grant"]) async for r in await tx.run(q.LIST_GRANTS, id=entity_id)]

    return await db.read(work)


async def disseminate(db: Database, principal: Principal, policy: Policy, entity_ids: list[str],
                      agencies: list[str], note: str) -> tuple[dict[str, Any], list[str], int]:
    """The dissemination record, the entity ids sent (duplicates dropped) and how many grants it
    created. Nothing is written when an entity is unknown (422) or another agency's H2 item (403)."""
    require_central(principal, "disseminates")
    for agency in agencies:
        check_agency(policy, agency)
    if any(policy.is_central(a) for a in agencies):
        raise ApiError(422, "nothing_to_grant", "the central agency already sees everything; do not list it")
    entity_ids = list(dict.fromkeys(entity_ids))
    recipients = list(dict.fromkeys(agencies))
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> tuple[dict[str, Any], int]:
        found = {r["id"]: r.data() async for r in await tx.run(q.EXISTING_ENTITIES, ids=entity_ids, viewer=viewer)}
        missing = [e for e in entity_ids if e not in found]
        if missing:
            raise ApiError(422, "unknown_entities", f"{len(missing)} entity ids are unknown", {"missing": missing})
        handling.refuse_h2(found.values(), principal.agency, "dissemination", H2_REMEDY)
        row = await (await tx.run(
            q.DISSEMINATE, id=str(uuid.uuid4()), note=note, now=clock.iso_now(), by_agency=principal.agency,
            by_sub=principal.sub, by_unit=principal.unit, entity_ids=entity_ids, agencies=recipients,
        )).single()
        assert row is not None
        return dict(row["dissemination"]), int(row["created"])

    record, created = await db.write(work)
    return record, entity_ids, created


def _encode_cursor(at: str, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{at}|{ident}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        at, sep, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (binascii.Error, UnicodeError, ValueError):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this service returned") from None
    if not sep or not at or not ident:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this service returned")
    return at, ident


async def list_disseminations(db: Database, principal: Principal, limit: int,
                              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the disseminations the caller's agency may read, newest first, and the cursor
    of the next page (None on the last)."""
    after_at, after_id = _decode_cursor(cursor) if cursor else (None, None)
    rows = await db.read_records(q.LIST_DISSEMINATIONS, viewer=viewer_params(principal), after_at=after_at,
                                 after_id=after_id, limit=limit + 1)
    items = [dict(r["dissemination"]) for r in rows[:limit]]
    nxt = _encode_cursor(items[-1]["at"], items[-1]["id"]) if len(rows) > limit else None
    return items, nxt
