"""Shapes of entities, identifiers, stubs and edges in API responses.

The Cypher decides what the caller may see (`service.access.visibility`); these functions only lay the
returned maps out: system fields at the top and under `provenance`, schema properties under
`properties`, and a stub's `contact` from the policy.
"""

from __future__ import annotations

from typing import Any

from graph_schema import RESERVED
from service.access.policy import Policy

PROVENANCE = ("owner_unit", "source_system", "created_at", "updated_at", "batch_id")

# What each handling code asks of whoever reads the item (shown with the code on every view).
HANDLING_NOTICES = {
    "H0": "H0: for crime prevention and repression only",
    "H1": "H1: not to be used in judicial proceedings without the consent of the owner agency ({owner})",
    "H2": "H2: no dissemination without the consent of the owner agency ({owner})",
    "H3": "H3: restricted by the owner agency ({owner}); see handling_note",
}
H3_STUB_NOTICE = "H3: restrictions set by the owner agency ({owner}) apply; ask its contact"


def handling(props: dict[str, Any], stub: bool = False) -> dict[str, Any]:
    """`handling` and `handling_notice` of an owned item (data stored before the codes reads as H0)."""
    code = props.get("handling") or "H0"
    owner = props.get("owner_agency") or ""
    template = H3_STUB_NOTICE if stub and code == "H3" else HANDLING_NOTICES.get(code, "{owner}")
    return {"handling": code, "handling_notice": template.format(owner=owner)}


def codes(props: dict[str, Any]) -> dict[str, Any]:
    """Evaluation and handling codes of an owned item seen in full."""
    return {"reliability": props.get("reliability") or "X", "accuracy": str(props.get("accuracy") or "4"),
            **handling(props), "handling_note": props.get("handling_note")}


def _domain(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in RESERVED}


def node_out(props: dict[str, Any], policy: Policy) -> dict[str, Any]:
    if props.get("redacted"):
        return {"id": props["id"], "type": props["type"], "owner_agency": props.get("owner_agency"),
                "contact": policy.contact(props.get("owner_agency") or ""), "redacted": True,
                **handling(props, stub=True)}
    if "owner_agency" not in props:  # an identifier: no owner, its value is its name
        return {"id": props["id"], "type": props["type"], "value": props.get("value"), "redacted": False,
                "properties": _domain(props)}
    return {
        "id": props["id"], "type": props["type"], "ref": props.get("ref"),
        "owner_agency": props["owner_agency"], "sharing": props.get("sharing"), "redacted": False,
        "version": props.get("version"), **codes(props), "properties": _domain(props),
        "provenance": {k: props.get(k) for k in PROVENANCE},
    }


def review_out(props: dict[str, Any], viewer_agency: str) -> dict[str, Any]:
    """The review date of an owned entity (`service.domain.lifecycle.retention`), for its owner agency only."""
    if props.get("redacted") or "owner_agency" not in props or props["owner_agency"] != viewer_agency:
        return {}
    return {"review_due": props.get("review_due"), "review_confirmed_at": props.get("review_confirmed_at")}


def edge_out(edge: dict[str, Any]) -> dict[str, Any]:
    props = edge["props"]
    redacted = bool(props.get("redacted"))
    return {
        "id": props.get("id"), "type": edge["type"], "source": edge["source"], "target": edge["target"],
        "owner_agency": props.get("owner_agency"), "redacted": redacted,
        "sharing": None if redacted else props.get("sharing"),
        **(handling(props, stub=True) if redacted else codes(props)),
        "properties": {} if redacted else _domain(props),
    }
