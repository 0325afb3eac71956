"""Cypher behind GET /v1/entities/{id}/patrimony and GET /v1/assets/recovery.

A holding chain runs from a holder (a Person, Company or Network — for a Network, also each of
its members, one MEMBER_OF hop that does not count against `max_depth`) over OWNS and CONTROLS
links, in their direction, to an Asset or a Vehicle. Chains are simple paths (no node twice), so
a cycle of cross-ownership ends; the quantifier's upper bound (`max_depth`, 1..6) is spliced as
an int because Cypher takes no parameter there.

Visibility (`service.access.visibility`, `$viewer`): a chain only crosses links the caller may
know exist onto nodes it may know exist (`rel_known`, `node_known`), so confidential items and
other agencies' minors neither appear, nor count, nor connect anything. A chain whose every link
and node (the asset included) the caller sees in full is *shown*; otherwise its asset is only
counted, under the owner agency of the first item along the chain the caller does not see in
full — whom to call. What is counted comes back without an id, a label or a value.

A chain's share is the product of its OWNS shares; a CONTROLS link (control, not ownership), a
missing share or one outside 0..1 makes it unknown (null), never 1; the membership hop of a
Network is 1 (a member's holdings are the network's). Labels and types come from `graph_schema`;
every value is a parameter.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from service.access.visibility import node_full, node_known, node_view, rel_full, rel_known
from service.queries.places import department_of_insee

MAX_DEPTH = 6
HOLDERS = ("Person", "Company", "Network")


def _names() -> dict[str, str]:
    s = get_schema()
    return {"owns": s.relationship("OWNS").name, "controls": s.relationship("CONTROLS").name,
            "member": s.relationship("MEMBER_OF").name, "network": s.node("Network").name,
            "person": s.node("Person").name, "asset": s.node("Asset").name, "vehicle": s.node("Vehicle").name,
            "location": s.node("Location").name, "located": s.relationship("LOCATED_AT").name}


# The entity asked about, as the caller may know it (no row: unknown -> 404).
SUBJECT = f"""
MATCH (e:Node {{id: $id}}) WHERE {node_known('e')}
RETURN e.type AS type, {node_view('e')} AS node
"""


def _chains(depth: int, start: str) -> str:
    """A `CALL ({start}) {{...}}` clause giving, for every holding chain of the holders of `start`
    (a node variable already bound), `a` (the asset or vehicle), `rs` (its links), `ns` (its nodes
    after `start`), `share` and `hidden_by` (the owner agency of its first item not seen in full;
    null when the caller sees it all). At most `$max_chains` chains per `start`."""
    d = int(depth)
    if not 1 <= d <= MAX_DEPTH:
        raise ValueError(f"depth must be in 1..{MAX_DEPTH}")
    n = _names()
    return f"""
CALL ({start}) {{
  CALL ({start}) {{
    RETURN {start} AS root, [] AS head_r, [] AS head_n
    UNION
    MATCH (m:{n['person']})-[h:{n['member']}]->({start}:{n['network']})
    WHERE {rel_known('h')} AND {node_known('m')}
    RETURN m AS root, [h] AS head_r, [m] AS head_n
  }}
  MATCH (root)((:Node)-[r:{n['owns']}|{n['controls']}]->(x:Node)
               WHERE {rel_known('r')} AND {node_known('x')}){{1,{d}}}(a)
  WHERE (a:{n['asset']} OR a:{n['vehicle']})
  WITH a, head_r + r AS rs, head_n + x AS ns
  WITH a, rs, ns, [{start}] + ns AS every
  WHERE all(i IN range(0, size(every) - 2) WHERE NOT every[i] IN every[i + 1..])
  WITH a, rs, ns LIMIT $max_chains
  RETURN a, rs, ns,
         reduce(s = 1.0, l IN rs | CASE
           WHEN s IS NULL THEN null
           WHEN type(l) = '{n['member']}' THEN s
           WHEN type(l) = '{n['owns']}' AND l.share >= 0.0 AND l.share <= 1.0 THEN s * l.share
           ELSE null END) AS share,
         head([i IN range(0, size(rs) - 1) WHERE NOT {rel_full('rs[i]')}
               OR NOT all(y IN [ns[i]] WHERE {node_full('y')}) |
               CASE WHEN {rel_full('rs[i]')} THEN ns[i].owner_agency ELSE rs[i].owner_agency END]) AS hidden_by
}}
"""


@lru_cache
def patrimony(depth: int) -> str:
    """One row per asset or vehicle reached: shown (`shown` true: its node, value, status and the
    chains seen in full, shortest first, each with `via` — the ids from the entity to the asset —
    and `share`), or only counted (`shown` false: the owner agency to contact, nothing else).
    `chains` counts every chain found, for the truncation flag."""
    return f"""
MATCH (e:Node {{id: $id}}) WHERE {node_known('e')}
{_chains(depth, 'e')}
WITH a, size(rs) AS hops, share, hidden_by, [e.id] + [y IN ns | y.id] AS via
ORDER BY hops, via
WITH a, collect(CASE WHEN hidden_by IS NULL THEN {{via: via, share: share}} END) AS shown,
     head(collect(hidden_by)) AS hidden_by, count(*) AS chains
RETURN size(shown) > 0 AS shown, chains,
       CASE WHEN size(shown) > 0 THEN {node_view('a')} END AS asset,
       CASE WHEN size(shown) > 0 THEN a.value_eur END AS value_eur,
       CASE WHEN size(shown) > 0 THEN a.status END AS status,
       shown AS paths,
       CASE WHEN size(shown) = 0 THEN hidden_by END AS owner_agency
"""


_STATUS_DATE = ("CASE coalesce(a.status, 'identified') WHEN 'seized' THEN a.seized_on "
                "WHEN 'confiscated' THEN a.confiscated_on WHEN 'released' THEN a.released_on "
                "ELSE a.identified_on END")


def _valued(groups: str) -> str:
    """The tail of a recovery statement: `a` (an Asset the caller sees in full) with `groups` (a
    list of group keys, none -> [null]) becomes rows (group, status, assets, value_eur)."""
    return f"""
UNWIND CASE WHEN size({groups}) = 0 THEN [null] ELSE {groups} END AS grp
WITH grp, coalesce(a.status, 'identified') AS status, a
RETURN grp AS group, status, count(DISTINCT a) AS assets, sum(coalesce(a.value_eur, 0.0)) AS value_eur
ORDER BY group, status
"""


@lru_cache
def recovery_by_year() -> str:
    """Assets seen in full by status and the year of their current status's date (`identified_on`,
    `seized_on`, `confiscated_on`, `released_on`; null when not given)."""
    n = _names()
    return f"""
MATCH (a:{n['asset']}) WHERE {node_full('a')}
WITH a, {_STATUS_DATE} AS day
WITH a, CASE WHEN day IS NULL THEN [] ELSE [toString(date(day).year)] END AS groups
{_valued('groups')}"""


@lru_cache
def recovery_by_department() -> str:
    """Assets seen in full by status and the département of the places they are LOCATED_AT, when
    the caller sees the link and the place in full (an asset at places of two départements counts
    in both; with none, under null)."""
    n = _names()
    return f"""
MATCH (a:{n['asset']}) WHERE {node_full('a')}
WITH a, COLLECT {{
  MATCH (a)-[l:{n['located']}]->(p:{n['location']})
  WHERE {rel_full('l')} AND {node_full('p')} AND p.insee_code IS NOT NULL
  RETURN DISTINCT {department_of_insee('p.insee_code')}
}} AS groups
{_valued('groups')}"""


@lru_cache
def recovery_by_network(depth: int) -> str:
    """Assets seen in full by status and the networks holding them: the Networks the caller sees
    in full whose patrimony (`_chains`, depth `depth`) reaches the asset by a chain it sees in
    full. An asset of two networks counts in both, one of none under null."""
    n = _names()
    return f"""
CALL () {{
  MATCH (k:{n['network']}) WHERE {node_full('k')}
  {_chains(depth, 'k')}
  WITH k, a WHERE hidden_by IS NULL AND a:{n['asset']}
  RETURN collect(DISTINCT {{asset: a.id, network: k.id}}) AS held
}}
MATCH (a:{n['asset']}) WHERE {node_full('a')}
WITH a, [h IN held WHERE h.asset = a.id | h.network] AS groups
{_valued('groups')}"""


def _withheld_assets() -> str:
    n = _names()
    return f"""
MATCH (a:{n['asset']}) WHERE {node_known('a')} AND NOT {node_full('a')}
RETURN a.owner_agency AS owner_agency, count(a) AS assets
ORDER BY owner_agency
"""


# Another agency's restricted assets: counted per owner agency, never valued nor grouped.
RECOVERY_WITHHELD = _withheld_assets()

# The networks a by-network answer names, each as the caller sees it (always in full there).
NETWORKS = f"""
MATCH (k:Node) WHERE k.id IN $ids AND {node_full('k')}
RETURN k.id AS id, k.name AS name, k.territory AS territory
"""
