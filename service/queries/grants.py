"""Cypher behind grants (`/v1/entities/{id}/grants`) and disseminations (`/v1/disseminations`).

A grant gives one agency full visibility of one entity node. It is kept twice, on purpose:
as the agency's code in the entity's `grantees` list, which the visibility fragments read on
every query, and as a `(:Grant)` node, the record of who granted what, when, why, and when it
was revoked. Both are written in the same transaction. Relationships keep their own sharing:
a grant on a person does not reveal the person's restricted links.
"""

from __future__ import annotations

from service.access.visibility import add_grantees, agency_addressee, grantees, node_known, remove_grantee

# Takes the entity's write lock first (the SET, which adds no grantee), so concurrent grants and
# revocations of the same entity are serialised and the Grant nodes stay consistent with `grantees`.
LOCK_ENTITY = f"""
MATCH (e:Entity {{id: $id}})
WHERE {node_known("e")}
SET {add_grantees("e", "[]")}
RETURN e.owner_agency AS owner_agency, {grantees("e")} AS grantees, coalesce(e.handling, 'H0') AS handling,
       coalesce(e.minor, false) AS minor
"""

ENTITY_FOR_LIST = f"""
MATCH (e:Entity {{id: $id}})
WHERE {node_known("e")}
RETURN e.owner_agency AS owner_agency
"""

ACTIVE_GRANT = """
MATCH (g:Grant {entity_id: $id, agency: $agency})
WHERE g.revoked_at IS NULL
RETURN g {.*} AS grant
ORDER BY g.at
LIMIT 1
"""

CREATE_GRANT = f"""
MATCH (e:Node:Entity {{id: $id}})
SET {add_grantees("e", "[$agency]")}
CREATE (g:Grant {{id: $grant_id, entity_id: $id, agency: $agency, reason: $reason,
                 granted_by_agency: $by_agency, granted_by_sub: $by_sub, granted_by_unit: $by_unit,
                 at: $now, dissemination_id: $dissemination_id}})
RETURN g {{.*}} AS grant
"""

REVOKE_GRANT = f"""
MATCH (e:Node:Entity {{id: $id}})
SET {remove_grantee("e", "$agency")}
WITH e
MATCH (g:Grant {{entity_id: $id, agency: $agency}})
WHERE g.revoked_at IS NULL
SET g.revoked_at = $now, g.revoked_by_agency = $by_agency, g.revoked_by_sub = $by_sub,
    g.revoke_reason = $reason
RETURN g {{.*}} AS grant
ORDER BY g.at
"""

LIST_GRANTS = """
MATCH (g:Grant {entity_id: $id})
RETURN g {.*} AS grant
ORDER BY g.at DESC, g.id DESC
"""

# Disseminations are made by the central agency, which knows every entity but other agencies'
# minors (those do not exist for it). The handling code decides whether it may disseminate (H2).
EXISTING_ENTITIES = f"""
UNWIND $ids AS eid
MATCH (e:Node:Entity {{id: eid}})
WHERE {node_known("e")}
RETURN e.id AS id, e.owner_agency AS owner_agency, coalesce(e.handling, 'H0') AS handling
"""

# One statement: the Dissemination record, then a Grant for every (entity, agency) pair that is
# neither the entity's owner nor already a grantee.
DISSEMINATE = f"""
CREATE (d:Dissemination {{id: $id, note: $note, at: $now, by_agency: $by_agency, by_sub: $by_sub,
                         by_unit: $by_unit, entity_ids: $entity_ids, agencies: $agencies}})
WITH d
CALL (d) {{
  MATCH (e:Entity) WHERE e.id IN $entity_ids
  WITH e, [a IN $agencies WHERE a <> e.owner_agency AND NOT a IN {grantees("e")}] AS new
  SET {add_grantees("e", "new")}
  WITH e, new
  UNWIND new AS agency
  CREATE (g:Grant {{id: randomUUID(), entity_id: e.id, agency: agency, reason: $note,
                   granted_by_agency: $by_agency, granted_by_sub: $by_sub, granted_by_unit: $by_unit,
                   at: $now, dissemination_id: d.id}})
  RETURN count(g) AS created
}}
RETURN d {{.*}} AS dissemination, created
"""

# What was disseminated to the caller's agency (everything, for the central agency), newest
# first, keyset-paginated on (at, id). Entity ids the caller may not know of (a confidential
# entity whose grant was since revoked) are left out of each record.
LIST_DISSEMINATIONS = f"""
MATCH (d:Dissemination)
WHERE {agency_addressee("d.agencies")}
  AND ($after_at IS NULL OR d.at < $after_at OR (d.at = $after_at AND d.id < $after_id))
WITH d ORDER BY d.at DESC, d.id DESC LIMIT $limit
RETURN d {{.id, .note, .at, .by_sub, .by_agency, .agencies,
          entity_ids: [eid IN d.entity_ids WHERE EXISTS {{
              MATCH (e:Entity {{id: eid}}) WHERE {node_known("e")} }}]}} AS dissemination
ORDER BY d.at DESC, d.id DESC
"""
