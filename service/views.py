"""Shapes of entities, identifiers, stubs and edges in API responses.

The Cypher decides what the caller may see (`service.visibility`); these functions only lay the
returned maps out: system fields at the top and under `provenance`, schema properties under
`properties`, and a stub's `contact` from the policy.
"""

from __future__ import annotations

from typing import Any

from graph_schema import RESERVED
from service.policy import Policy

PROVENANCE = ("owner_unit", "source_system", "created_at", "updated_at", "batch_id")


def _domain(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in RESERVED}


def node_out(props: dict[str, Any], policy: Policy) -> dict[str, Any]:
    if props.get("redacted"):
        return {"id": props["id"], "type": props["type"], "owner_agency": props.get("owner_agency"),
                "contact": policy.contact(props.get("owner_agency") or ""), "redacted": True}
    if "owner_agency" not in props:  # an identifier: no owner, its value is its name
        return {"id": props["id"], "type": props["type"], "value": props.get("value"), "redacted": False,
                "properties": _domain(props)}
    return {
        "id": props["id"], "type": props["type"], "ref": props.get("ref"),
        "owner_agency": props["owner_agency"], "sharing": props.get("sharing"), "redacted": False,
        "version": props.get("version"), "properties": _domain(props),
        "provenance": {k: props.get(k) for k in PROVENANCE},
    }


def edge_out(edge: dict[str, Any]) -> dict[str, Any]:
    props = edge["props"]
    redacted = bool(props.get("redacted"))
    return {
        "id": props.get("id"), "type": edge["type"], "source": edge["source"], "target": edge["target"],
        "owner_agency": props.get("owner_agency"), "redacted": redacted,
        "sharing": None if redacted else props.get("sharing"),
        "properties": {} if redacted else _domain(props),
    }
