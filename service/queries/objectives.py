"""Cypher behind /v1/objectives: the FNOS file of investigative objectives (measure 21).

An objective is `(:Objective {id, entity_id, agency, unit, case_ref, created_at, created_by,
closed_at})-[:TARGETS]->(entity)`. While it is open it also carries `open_key` (agency, unit,
entity), unique by constraint, so one unit cannot hold two open objectives on one entity.

Declaring one raises `objective_overlap` alerts in the same transaction: every other agency with
an open objective on the same entity, or on an entity linked to it through a shared identifier
(entity-identifier-entity, or directly entity-identifier), is alerted, and so is the declaring
agency — each side only when it may know the other side's entity and the links between them.
"""

from __future__ import annotations

from service.access.visibility import node_known, node_view, rel_known, viewer_of

# Declarations take this lock first, so two agencies declaring at the same time on linked
# entities see each other's objective and the overlap is never missed.
LOCK = "MERGE (l:ObjectiveLock {id: 'objectives'}) SET l.locked_at = $now"

ENTITY = f"""
MATCH (e:Node {{id: $entity_id}})
WHERE {node_known('e')}
RETURN e.id AS id
"""

OPEN_DUPLICATE = "MATCH (o:Objective {open_key: $open_key}) RETURN o.id AS id"

CREATE = """
MATCH (e:Node {id: $entity_id})
CREATE (o:Objective {id: $id, entity_id: $entity_id, agency: $agency, unit: $unit, case_ref: $case_ref,
                     created_at: $now, created_by: $sub, open_key: $open_key})
CREATE (o)-[:TARGETS]->(e)
RETURN o {.*} AS objective
"""


# Open objectives of other agencies on the same entity or one linked through an identifier.
# `we_may_know`: the declaring agency may know their entity and every link between;
# `they_may_know`: the other agency (viewer `them`) may know ours and the links, minors rule
# included (another agency's minor is known to no one but its owner). Each side is alerted only then.
OVERLAPS = f"""
MATCH (e:Node {{id: $entity_id}})
CALL (e) {{
  RETURN e AS other, [] AS hops, [] AS links, null AS via
  UNION
  MATCH p = (e)-[:USES|HOLDS|OWNS]-(other:Node)
  WHERE e:Identifier OR other:Identifier
  RETURN other, nodes(p) AS hops, relationships(p) AS links,
         CASE WHEN e:Identifier THEN e.id ELSE other.id END AS via
  UNION
  MATCH p = (e)-[:USES|HOLDS|OWNS]-(i:Identifier)-[:USES|HOLDS|OWNS]-(other:Node)
  WHERE other <> e
  RETURN other, nodes(p) AS hops, relationships(p) AS links, i.id AS via
}}
MATCH (other)<-[:TARGETS]-(o2:Objective)
WHERE o2.closed_at IS NULL AND o2.agency <> $agency
WITH e, other, o2, hops, links, via, {viewer_of('o2.agency')} AS them
WITH e, other, o2, hops, links, via,
     {node_known('other')} AND all(x IN hops WHERE {node_known('x')})
       AND all(r IN links WHERE {rel_known('r')}) AS we_may_know,
     {node_known('e', 'them')} AND all(x IN hops WHERE {node_known('x', 'them')})
       AND all(r IN links WHERE {rel_known('r', 'them')}) AS they_may_know
WHERE we_may_know OR they_may_know
RETURN o2.agency AS agency, o2.entity_id AS entity_id, min(via) AS via,
       any(x IN collect(we_may_know) WHERE x) AS alert_us,
       any(x IN collect(they_may_know) WHERE x) AS alert_them
"""

# One alert per (recipient, own entity, counterpart agency, counterpart entity): MERGE on the
# unique pair_key, so a second objective on the same pair raises nothing new.
RAISE_ALERTS = """
UNWIND $alerts AS a
MERGE (x:Alert {pair_key: a.pair_key})
ON CREATE SET x.id = randomUUID(), x.agency = a.agency, x.kind = 'objective_overlap', x.created_at = $now,
              x.entity_id = a.entity_id, x.identifier_id = a.identifier_id,
              x.counterpart_agency = a.counterpart_agency, x.counterpart_contact = a.counterpart_contact,
              x.acknowledged = false
RETURN count(x) AS alerts
"""

STATUS_FILTER = """
o.agency = $agency
AND ($status = 'all' OR ($status = 'open' AND o.closed_at IS NULL)
     OR ($status = 'closed' AND o.closed_at IS NOT NULL))
"""

COUNT = f"MATCH (o:Objective) WHERE {STATUS_FILTER} RETURN count(o) AS total"

# The targeted entity is shown as the caller may see it now (its sharing may have changed).
LIST = f"""
MATCH (o:Objective) WHERE {STATUS_FILTER}
WITH o ORDER BY o.created_at DESC, o.id SKIP $offset LIMIT $limit
OPTIONAL MATCH (o)-[:TARGETS]->(e:Node)
WHERE {node_known('e')}
RETURN o {{.*}} AS objective, CASE WHEN e IS NULL THEN null ELSE {node_view('e')} END AS entity
ORDER BY o.created_at DESC, o.id
"""

OWNER = "MATCH (o:Objective {id: $id}) RETURN o.agency AS agency"

CLOSE = """
MATCH (o:Objective {id: $id})
WHERE o.agency = $agency
SET o.closed_at = coalesce(o.closed_at, $now), o.closed_by = coalesce(o.closed_by, $sub)
REMOVE o.open_key
RETURN o {.*} AS objective
"""
