"""Cypher behind the national priority target list (`/v1/priority-targets`, measure 17).

Storage (docs/architecture.md, workflow nodes):

    (:PriorityTarget {id, entity_id, entity_type, tier, proposed_tier, status, justification,
                      lead_agency, lead_unit, proposed_by_agency, proposed_by_unit, proposed_by_sub,
                      review_due, last_reviewed_at, version, created_at, updated_at,
                      neutralised_at?, neutralised_case_ref?})
        -[:DESIGNATES]->(:Person|:Network)
        -[:HAS_VERSION]->(:PriorityTargetVersion {target_id, version, at, by_sub, by_agency, by_unit,
                                                  kind, reason, transition_from, transition_to,
                                                  values, previous})

`DESIGNATES` and `HAS_VERSION` are workflow relationships, not schema types: the data-graph
queries (neighbourhood, paths) traverse only schema types and never reach a target entry.

Every read applies the access rules inside its Cypher (`$viewer`):
- an entry in `proposed` or `rejected` status exists only for the central agency and the
  proposer's agency (`VISIBLE`);
- the designated entity is laid out with `node_view` (a stub when known but not full); when the
  entity is unknown to the viewer (confidential, another agency, no grant) the entry keeps its
  workflow fields but its entity, entity id and justification are null (`entity_hidden`).
Labels and relationship types come from `graph_schema` (checked at import); values are parameters.
"""

from __future__ import annotations

from graph_schema import get_schema
from service.access.visibility import agency_record, node_full, node_known, node_view, rel_full, rel_known, rel_view

_SCHEMA = get_schema()


def _label(name: str) -> str:
    _SCHEMA.node(name)  # whitelist: KeyError at import if the schema loses the type
    return name


def _rel(name: str) -> str:
    _SCHEMA.relationship(name)
    return name


PERSON, NETWORK, CASE, SEIZURE, ASSET, COMPANY = (
    _label(n) for n in ("Person", "Network", "Case", "Seizure", "Asset", "Company"))
INVOLVED_IN, MEMBER_OF, SEIZED_FROM, SEIZED_IN, OWNS, CONTROLS = (
    _rel(n) for n in ("INVOLVED_IN", "MEMBER_OF", "SEIZED_FROM", "SEIZED_IN", "OWNS", "CONTROLS"))
DESIGNABLE = (PERSON, NETWORK)

# Statuses every agency sees; `proposed` and `rejected` are for the central agency and the proposer.
PUBLIC_STATUSES = ["active", "suspended", "neutralised", "archived"]

# The central agency and the proposer's agency: they see a proposal, its justification and who made it.
_PROPOSER = agency_record("t", "proposed_by_agency")

VISIBLE = f"(t.status IN $public_statuses OR {_PROPOSER})"

# From `t` in scope to `t, territories, item`: the entry as the viewer may see it.
_ENTRY = f"""
OPTIONAL MATCH (t)-[:DESIGNATES]->(e:Entity)
WITH t, e, (e IS NOT NULL AND {node_known("e")}) AS known, (e IS NOT NULL AND {node_full("e")}) AS full
WITH t, e, known, full,
     known AND (full OR {_PROPOSER}) AS detail,
     CASE WHEN e:{NETWORK} AND full AND e.territory IS NOT NULL THEN [e.territory] ELSE [] END +
     CASE WHEN e:{PERSON} AND known THEN COLLECT {{
         MATCH (e)-[m:{MEMBER_OF}]->(n:{NETWORK})
         WHERE {rel_known("m")} AND {node_full("n")} AND n.territory IS NOT NULL
         RETURN DISTINCT n.territory
     }} ELSE [] END AS territories
WITH t, territories, {{
  id: t.id, status: t.status, tier: t.tier, proposed_tier: t.proposed_tier,
  justification: CASE WHEN detail THEN t.justification END,
  entity_id: CASE WHEN known THEN t.entity_id END,
  entity_type: CASE WHEN known THEN t.entity_type END,
  entity: CASE WHEN known THEN {node_view("e")} END,
  entity_hidden: NOT known,
  lead_agency: t.lead_agency, lead_unit: t.lead_unit,
  proposed_by_agency: t.proposed_by_agency, proposed_by_unit: t.proposed_by_unit,
  proposed_by_sub: CASE WHEN {_PROPOSER} THEN t.proposed_by_sub END,
  review_due: t.review_due, last_reviewed_at: t.last_reviewed_at,
  neutralised_at: t.neutralised_at, neutralised_case_ref: t.neutralised_case_ref,
  version: t.version, created_at: t.created_at, updated_at: t.updated_at,
  territories: territories
}} AS item
"""

GET_ENTRY = f"""
MATCH (t:PriorityTarget {{id: $id}})
WHERE {VISIBLE}
{_ENTRY}
RETURN item
"""

# `sort` keys map onto fixed ORDER BY clauses (a whitelist: the caller's string never reaches Cypher).
SORTS: dict[str, str] = {
    "tier": "t.tier ASC, t.review_due ASC, t.id ASC",
    "-tier": "t.tier DESC, t.review_due ASC, t.id ASC",
    "review_due": "t.review_due ASC, t.tier ASC, t.id ASC",
    "-review_due": "t.review_due DESC, t.tier ASC, t.id ASC",
    "updated_at": "t.updated_at ASC, t.id ASC",
    "-updated_at": "t.updated_at DESC, t.id ASC",
}


def list_entries(sort: str) -> str:
    """The filtered, sorted list; `total` counts every match, `items` is the page."""
    order = SORTS[sort]
    return f"""
MATCH (t:PriorityTarget)
WHERE {VISIBLE}
  AND ($status IS NULL OR t.status = $status)
  AND ($tier IS NULL OR t.tier = $tier)
  AND ($lead_agency IS NULL OR t.lead_agency = $lead_agency)
  AND ($overdue IS NULL
       OR ($overdue AND t.review_due IS NOT NULL AND t.review_due < $today)
       OR (NOT $overdue AND (t.review_due IS NULL OR t.review_due >= $today)))
{_ENTRY}
WITH t, item
WHERE $territory IS NULL OR any(x IN item.territories WHERE toLower(x) = toLower($territory))
WITH t, item ORDER BY {order}
WITH collect(item) AS entries
RETURN size(entries) AS total, entries[$offset..($offset + $limit)] AS items
"""


# --- proposals ---------------------------------------------------------------------------------

PROPOSAL_ENTITY = f"""
MATCH (e:Node {{id: $entity_id}})
WHERE e:Entity AND {node_known("e")}
RETURN e.type AS type
"""

# The entity's entry in a live status, other than `$except_id` (null on a proposal: any entry).
LIVE_DESIGNATION = """
MATCH (t:PriorityTarget {entity_id: $entity_id})
WHERE t.status IN ['active', 'suspended'] AND ($except_id IS NULL OR t.id <> $except_id)
RETURN t.id AS id, t.status AS status
LIMIT 1
"""

# From `t` in scope: `$version` becomes its next immutable version.
_ADD_VERSION = """
CREATE (v:PriorityTargetVersion)
SET v = $version
CREATE (t)-[:HAS_VERSION]->(v)
"""

CREATE_ENTRY = f"""
MATCH (e:Node {{id: $entity_id}})
CREATE (t:PriorityTarget)
SET t = $props
CREATE (t)-[:DESIGNATES]->(e)
{_ADD_VERSION}
RETURN t.id AS id
"""

# --- transitions and reviews -------------------------------------------------------------------

# The write lock first (the SET), then the read in a second statement of the same transaction:
# a concurrent manager waits here until the first commits, then reads the new version and gets
# its 412. Reading before locking would let both pass the version check (a lost update).
LOCK_ENTRY = """
MATCH (t:PriorityTarget {id: $id})
SET t.locked_at = $now
RETURN t.id AS id
"""

READ_ENTRY = """
MATCH (t:PriorityTarget {id: $id})
RETURN properties(t) AS props
"""

# `$changes` null values remove properties (a terminal status clears review_due). The version
# guard is a second line of defence: under the lock it always holds.
APPLY_CHANGE = f"""
MATCH (t:PriorityTarget {{id: $id}})
WHERE t.version = $expected
SET t += $changes
{_ADD_VERSION}
RETURN t.version AS version
"""

# --- history -----------------------------------------------------------------------------------

HISTORY = f"""
MATCH (t:PriorityTarget {{id: $id}})
WHERE {VISIBLE}
OPTIONAL MATCH (t)-[:DESIGNATES]->(e:Entity)
WITH t, (e IS NOT NULL AND {node_known("e")}
         AND ({node_full("e")} OR {_PROPOSER})) AS detail
MATCH (t)-[:HAS_VERSION]->(v:PriorityTargetVersion)
WITH detail, v ORDER BY v.version ASC
RETURN collect(v {{
  .target_id, .version, .at, .by_sub, .by_agency, .by_unit, .kind, .transition_from, .transition_to,
  reason: CASE WHEN detail THEN v.reason END,
  values: CASE WHEN detail THEN v.values END,
  previous: CASE WHEN detail THEN v.previous END,
  redacted: NOT detail
}}) AS versions
"""

# --- evidence panel ----------------------------------------------------------------------------

EVIDENCE_ENTRY = f"""
MATCH (t:PriorityTarget {{id: $id}})
WHERE {VISIBLE}
OPTIONAL MATCH (t)-[:DESIGNATES]->(e:Entity)
WITH t, e, (e IS NOT NULL AND {node_known("e")}) AS known
RETURN t.id AS id, t.status AS status, known,
       CASE WHEN known THEN e.id END AS entity_id, CASE WHEN known THEN e.type END AS entity_type,
       coalesce(t.last_reviewed_at, t.created_at) AS since
"""

# The entity and, for a network, its members. With `$count_all` (policy statistics_count_all)
# every member counts; otherwise only those the viewer may know of.
_SCOPE = f"""
MATCH (e:Node {{id: $entity_id}})
WITH e, [e] + CASE WHEN e:{NETWORK} THEN COLLECT {{
    MATCH (p:{PERSON})-[m:{MEMBER_OF}]->(e)
    WHERE $count_all OR ({rel_known("m")} AND {node_known("p")})
    RETURN DISTINCT p
}} ELSE [] END AS scope
"""

EVIDENCE_CASES = f"""
{_SCOPE}
UNWIND scope AS s
CALL (s) {{
  MATCH (s)-[r:{INVOLVED_IN}]->(c:{CASE})
  WHERE $count_all OR ({rel_known("r")} AND {node_known("c")})
  RETURN c
  UNION
  MATCH (s)<-[r1:{SEIZED_FROM}]-(z:{SEIZURE})-[r2:{SEIZED_IN}]->(c:{CASE})
  WHERE $count_all OR ({rel_known("r1")} AND {node_known("z")} AND {rel_known("r2")} AND {node_known("c")})
  RETURN c
}}
WITH DISTINCT c
RETURN c.owner_agency AS agency, count(c) AS cases
ORDER BY agency
"""

# Without `$count_all`, a stub (known, not full) counts but its drug and quantity stay hidden.
EVIDENCE_SEIZURES = f"""
{_SCOPE}
UNWIND scope AS s
MATCH (s)<-[r:{SEIZED_FROM}]-(z:{SEIZURE})
WHERE $count_all OR ({rel_known("r")} AND {node_known("z")})
WITH DISTINCT z, ($count_all OR {node_full("z")}) AS open_values
WITH CASE WHEN open_values THEN coalesce(z.drug, 'unspecified') ELSE 'undisclosed' END AS drug,
     CASE WHEN open_values THEN z.unit END AS unit,
     CASE WHEN open_values THEN coalesce(z.quantity, 0.0) ELSE 0.0 END AS quantity
RETURN drug, unit, count(*) AS seizures, sum(quantity) AS quantity
ORDER BY drug, unit
"""

EVIDENCE_ASSETS = f"""
{_SCOPE}
UNWIND scope AS s
CALL (s) {{
  MATCH (s)-[r:{OWNS}]->(a:{ASSET})
  WHERE $count_all OR ({rel_known("r")} AND {node_known("a")})
  RETURN a
  UNION
  MATCH (s)-[r1:{OWNS}|{CONTROLS}]->(co:{COMPANY})-[r2:{OWNS}]->(a:{ASSET})
  WHERE $count_all OR ({rel_known("r1")} AND {node_known("co")} AND {rel_known("r2")} AND {node_known("a")})
  RETURN a
}}
WITH DISTINCT a, ($count_all OR {node_full("a")}) AS open_values
WITH CASE WHEN open_values THEN coalesce(a.status, 'unspecified') ELSE 'undisclosed' END AS status,
     CASE WHEN open_values THEN coalesce(a.value_eur, 0.0) ELSE 0.0 END AS value
RETURN status, count(*) AS assets, sum(value) AS value_eur
ORDER BY status
"""

# A network: its members. A person: the networks it belongs to and their distinct members.
EVIDENCE_NETWORK = f"""
MATCH (e:Node {{id: $entity_id}})
CALL (e) {{
  WITH e WHERE e:{NETWORK}
  RETURN 1 AS networks, COUNT {{
    MATCH (p:{PERSON})-[m:{MEMBER_OF}]->(e)
    WHERE $count_all OR ({rel_known("m")} AND {node_known("p")})
  }} AS members
  UNION
  WITH e WHERE e:{PERSON}
  OPTIONAL MATCH (e)-[m:{MEMBER_OF}]->(n:{NETWORK})
  WHERE $count_all OR ({rel_known("m")} AND {node_known("n")})
  WITH collect(DISTINCT n) AS nets
  RETURN size(nets) AS networks, COUNT {{
    MATCH (p:{PERSON})-[m2:{MEMBER_OF}]->(n2:{NETWORK})
    WHERE n2 IN nets AND ($count_all OR ({rel_known("m2")} AND {node_known("p")}))
    RETURN DISTINCT p
  }} AS members
}}
RETURN networks, members
"""


def _schema_rels() -> str:
    return _SCHEMA.relationship_pattern()


# Relationships of the scope created after the last review (or activation). The count follows
# `$count_all`; the list is always what the viewer may know: a link and both its ends.
EVIDENCE_NEW_LINKS_COUNT = f"""
{_SCOPE}
UNWIND scope AS s
MATCH (s)-[r:{_schema_rels()}]-(o:Node)
WHERE r.created_at IS NOT NULL AND datetime(r.created_at) > datetime($since)
  AND ($count_all OR ({rel_known("r")} AND {node_known("o")}))
RETURN count(DISTINCT r) AS links
"""

EVIDENCE_NEW_LINKS = f"""
MATCH (e:Node {{id: $entity_id}})
WITH e, [e] + CASE WHEN e:{NETWORK} THEN COLLECT {{
    MATCH (p:{PERSON})-[m:{MEMBER_OF}]->(e)
    WHERE {rel_known("m")} AND {node_known("p")}
    RETURN DISTINCT p
}} ELSE [] END AS scope
UNWIND scope AS s
MATCH (s)-[r:{_schema_rels()}]-(o:Node)
WHERE r.created_at IS NOT NULL AND datetime(r.created_at) > datetime($since)
  AND {rel_known("r")} AND {node_known("o")}
WITH DISTINCT r
WITH r, startNode(r) AS a, endNode(r) AS b
ORDER BY r.created_at DESC, r.id
LIMIT $limit
RETURN {rel_view("r")} AS edge, {node_view("a")} AS source, {node_view("b")} AS target,
       CASE WHEN {rel_full("r")} THEN r.created_at END AS created_at
"""
