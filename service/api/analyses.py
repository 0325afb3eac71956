"""What the analysis routers (`timeline`, `money`) share: how an analysis's answer is laid out
(node ids to nodes, events, withheld counts with whom to contact) and the audit record of a read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.api.views import PROVENANCE, codes, node_out
from service.domain.events import analyses as a

Node = dict[str, Any]


class AnalysisShape:
    """Lays an analysis out: node ids to nodes (full, stub, or null), withheld counts with contacts."""

    def __init__(self, result: dict[str, Any], policy: Policy) -> None:
        self.nodes, self.policy = result["nodes"], policy
        # Laid out once per answer: a timeline page names its subject (and often one handset, one
        # cell) in nearly every event, and laying a node out costs more than the rest of the event.
        self._laid_out: dict[str, Node | None] = {}

    def node(self, node_id: str | None) -> Node | None:
        if not node_id:
            return None
        if node_id not in self._laid_out:
            raw = self.nodes.get(node_id)
            self._laid_out[node_id] = node_out(raw, self.policy) if raw else None
        return self._laid_out[node_id]

    def withheld(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "contact": self.policy.contact(r["owner_agency"])} for r in rows]

    def event(self, props: dict[str, Any]) -> dict[str, Any]:
        kind = get_schema().events[props["kind"]]
        out: dict[str, Any] = {"id": props["id"], "kind": kind.name, "at": a.utc(props["at"]),
                               "owner_agency": props["owner_agency"], "sharing": props.get("sharing"),
                               "redacted": False, "ref": props.get("ref"), "date_only": bool(props.get("date_only"))}
        out |= {party.name: self.node(props.get(party.stored_as)) for party in kind.parties.values()}
        if kind.place is not None:
            out[kind.place.field] = self.node(props.get("place_id"))
        out |= {name: props.get(name) for name in kind.properties}
        return out | codes(props) | {"provenance": {k: props.get(k) for k in PROVENANCE}}


async def audit_read(request: Request, principal: Principal, action: str, ids: list[str | None], count: int,
                     purpose: str | None) -> None:
    """The audit record of a read, naming each node it returned once."""
    await request.app.state.audit.record(principal, action, target_ids=list(dict.fromkeys(i for i in ids if i)),
                                         result_count=count, purpose=purpose)
