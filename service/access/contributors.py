"""Write-only sources (measure 15): the one place that says what a contributor's push becomes.

A partner body (municipal police, social landlord, transport operator) holds the policy role
`contributor` and nothing else: its tokens pass the batch endpoints (`POST /v1/ingest`,
`POST /v1/events`) and no read, so it learns nothing but the answer to its own batch. What it
pushes is written as if by the CROSS of its département — owned by that CROSS, `restricted`,
graded `X`/`4` (nobody has assessed the source yet) — with the contributor named in provenance
(`source_system` = `<contributor>` or `<contributor>/<X-Source-System>`, `unit` = the contributor).
Its references are kept apart from the CROSS's own and from other contributors' by a
`<contributor>:` prefix. The CROSS re-grades an item as any owner updates one: it pushes the same
item (type and prefixed `ref`) again through `POST /v1/ingest` with its own codes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from graph_schema import Schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.core.errors import ApiError

# What a contributor's item is stored with, whatever the contributor sent.
CONTRIBUTED_SHARING = "restricted"
CONTRIBUTED_CODES = {"reliability": "X", "accuracy": "4"}


def is_contributor(principal: Principal) -> bool:
    return principal.can("contribute")


def cross_of(policy: Policy, departement: str | None) -> str | None:
    """The CROSS agency of a département, None when the policy declares none there."""
    return next((code for code, a in policy.agencies.items() if a.cross and a.departement == departement), None)


def owner_for(principal: Principal, policy: Policy) -> str:
    """The agency a contributor's items belong to: the CROSS of its département (checked at policy load)."""
    owner = cross_of(policy, policy.agencies[principal.agency].departement)
    if owner is None:  # the policy loader refuses this; kept so a bad file never writes ownerless data
        raise ApiError(403, "forbidden", f"contributor {principal.agency!r} has no CROSS in the policy")
    return owner


def writer(principal: Principal, policy: Policy, source: str | None) -> tuple[Principal, str | None]:
    """Who a batch is written as and the provenance it records: the caller itself, or for a
    contributor the CROSS of its département with the contributor as unit and source."""
    if not is_contributor(principal):
        return principal, source
    cross = replace(principal, agency=owner_for(principal, policy), unit=principal.agency, is_central=False)
    return cross, principal.agency + (f"/{source}" if source else "")


def _prefixed(ref: Any, prefix: str) -> Any:
    return f"{prefix}{ref}" if isinstance(ref, str) else ref


def _own_end(end: Any, schema: Schema, prefix: str) -> None:
    if isinstance(end, dict) and end.get("type") in schema.nodes and end["type"] not in schema.identifier_types:
        end["ref"] = _prefixed(end.get("ref"), prefix)


def contributed(body: bytes, principal: Principal, schema: Schema) -> Any:
    """A contributor's batch as it is written: sharing and codes forced, service ids dropped (a
    contributor may name nothing already stored), its own references prefixed. Anything else is
    left for the batch validation to judge (bytes that are not JSON raise orjson.JSONDecodeError)."""
    decoded = orjson.loads(body)
    if not is_contributor(principal) or not isinstance(decoded, dict):
        return decoded
    prefix = f"{principal.agency}:"
    for section in ("entities", "links", "events"):
        items = decoded.get(section)
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            item.pop("id", None)
            identifier = item.get("type") in schema.identifier_types
            if not identifier:
                item["sharing"] = CONTRIBUTED_SHARING
                item.update(CONTRIBUTED_CODES)
                item.pop("handling", None)
                item.pop("handling_note", None)
            if section == "entities" and not identifier:
                item["ref"] = _prefixed(item.get("ref"), prefix)
            elif section == "links":
                _own_end(item.get("from"), schema, prefix)
                _own_end(item.get("to"), schema, prefix)
            elif section == "events" and "ref" in item:
                item["ref"] = _prefixed(item["ref"], prefix)
    return decoded
