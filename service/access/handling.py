"""Handling rules: what may leave the agency that holds an item, decided once for every way out.

Grants, disseminations and exports all send data beyond what the reader already sees, so each
asks these functions before it writes or renders anything:

- H2 (handling code): no dissemination without the consent of the owner agency. Only the owner
  may grant, disseminate or export an item coded H2 — the central agency included; anyone else is
  refused as a whole (403 `handling_h2`, naming the items), stubs of such items included.
- minors: a Person flagged `minor` reaches other agencies as hit / no-hit only, so no grant may
  show it to them (422 `minor_record`); the Cypher side of the rule is in `visibility`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.core.errors import ApiError

H2 = "H2"


def h2_blocked(items: Iterable[Mapping[str, Any]], agency: str) -> list[str]:
    """Ids of the items (`{id, owner_agency, handling}`: nodes, edges, stubs or rows) coded H2 that
    `agency` does not own: those it may not pass on."""
    return sorted({str(x["id"]) for x in items if x.get("handling") == H2 and x.get("owner_agency") != agency})


def refuse_h2(items: Iterable[Mapping[str, Any]], agency: str, action: str, remedy: str) -> None:
    """403 `handling_h2` when `action` ("grant", "dissemination", "export") would pass on an item
    coded H2 that `agency` does not own; `remedy` ends the message with what the caller can do."""
    blocked = h2_blocked(items, agency)
    if blocked:
        raise ApiError(403, "handling_h2",
                       f"{action} refused: {len(blocked)} item(s) carry handling code H2 (no dissemination without "
                       f"the owner agency's consent): {', '.join(blocked)}; {remedy}",
                       {"handling": H2, "ids": blocked})


def refuse_minor_grant(entity_id: str, minor: bool) -> None:
    """422 `minor_record` when the entity is a minor's record: a grant would show it to another agency."""
    if minor:
        raise ApiError(422, "minor_record",
                       f"entity {entity_id!r} is a minor's record: other agencies only ever get hit / no-hit on it, "
                       "a grant cannot show it to them")
