"""The access rules as Cypher fragments, so every read path applies them inside its query.

Every query that uses these takes one parameter, `$viewer` = `viewer_params(principal)`:
`{agency: str, central: bool}`. Never filter results in Python instead: what the database
does not return cannot leak.

- full(x):  the caller sees x in full — x is an identifier, or open, or the caller's agency owns
  it, is the central agency, or holds a grant.
- known(x): the caller may learn that x exists — full, or not confidential. A restricted item
  that is known but not full is shown as a stub.
"""

from __future__ import annotations

from typing import Any

from service.auth import Principal


def viewer_params(principal: Principal) -> dict[str, Any]:
    return {"agency": principal.agency, "central": principal.is_central}


def _owned_full(var: str) -> str:
    return (f"($viewer.central OR {var}.sharing = 'open' OR {var}.owner_agency = $viewer.agency "
            f"OR $viewer.agency IN coalesce({var}.grantees, []))")


def node_full(var: str) -> str:
    return f"({var}:Identifier OR {_owned_full(var)})"


def node_known(var: str) -> str:
    return f"({var}:Identifier OR {var}.sharing <> 'confidential' OR {_owned_full(var)})"


def rel_full(var: str) -> str:
    return _owned_full(var)


def rel_known(var: str) -> str:
    return f"({var}.sharing <> 'confidential' OR {_owned_full(var)})"


def node_view(var: str) -> str:
    """A map for `service.views.node_out`: all stored properties when full, a stub otherwise."""
    return (f"CASE WHEN {node_full(var)} THEN properties({var}) "
            f"ELSE {{id: {var}.id, type: {var}.type, owner_agency: {var}.owner_agency, redacted: true}} END")


def rel_view(var: str) -> str:
    """A map for `service.views.edge_out`: `{props, type, source, target}`; props as in node_view."""
    return (f"{{props: CASE WHEN {rel_full(var)} THEN properties({var}) "
            f"ELSE {{id: {var}.id, owner_agency: {var}.owner_agency, redacted: true}} END, "
            f"type: type({var}), source: startNode({var}).id, target: endNode({var}).id}}")


def path_known(var: str) -> str:
    """Every node and relationship of path `var` is known: a path never crosses what the
    caller may not know exists."""
    return (f"(all(_n IN nodes({var}) WHERE {node_known('_n')}) "
            f"AND all(_r IN relationships({var}) WHERE {rel_known('_r')}))")
