"""Cypher of review dates and retention: the review queue, confirmations, expired-item deletion.

Every owned entity carries `review_due` (ISO date, `YYYY-MM-DD`, so string order is date order),
set at ingest when it is created or changed and moved on by a confirmation; `review_confirmed_at`
and `review_confirmed_by` record the last confirmation. Indexes: `(owner_agency, review_due)` for
an agency's queue, `review_due` for retention (migration 10).
"""

from __future__ import annotations


def review_due(var: str) -> str:
    """The review date entity `var` gets when created, changed or confirmed today: `$minor_due` for a
    minor (a shorter period), `$due` otherwise (`service.domain.lifecycle.retention.review_dates`)."""
    return f"CASE WHEN coalesce({var}.minor, false) THEN $minor_due ELSE $due END"

# Ingest: the entities the batch created or changed get a new review date (shorter for minors).
SET_REVIEW_DUE = f"""
UNWIND $ids AS id
MATCH (n:Node {{id: id}})
WHERE n:Entity
SET n.review_due = {review_due('n')}
"""

# Retention run: entities stored before review dates existed get one — their last update plus the
# period, but never before today (so they enter the queue, and the grace period, from now on).
BACKFILL = """
MATCH (n:Entity) WHERE n.review_due IS NULL
WITH n LIMIT $limit
WITH n, toString(date(datetime(coalesce(n.updated_at, n.created_at, $now)))
                 + duration({months: CASE WHEN coalesce(n.minor, false) THEN $minor_months ELSE $months END})) AS due
SET n.review_due = CASE WHEN due < $today THEN $today ELSE due END
RETURN count(n) AS n
"""

MISSING = "MATCH (n:Entity) WHERE n.review_due IS NULL RETURN count(n) AS n"

_QUEUE_FILTER = "n.owner_agency = $agency AND n.review_due <= $due_before"

QUEUE_COUNT = f"MATCH (n:Entity) WHERE {_QUEUE_FILTER} RETURN count(n) AS total"

QUEUE_PAGE = f"""
MATCH (n:Entity) WHERE {_QUEUE_FILTER}
RETURN n {{.id, .type, .ref, .owner_unit, .sharing, .review_due, .review_confirmed_at, .updated_at,
          minor: coalesce(n.minor, false)}} AS item
ORDER BY n.review_due, n.id
SKIP $offset LIMIT $limit
"""

# What the caller may learn about an item it wants to confirm or delete: nothing beyond "known".

CONFIRM = f"""
MATCH (n:Node:Entity {{id: $id}})
WHERE n.owner_agency = $agency
SET n.review_due = {review_due('n')},
    n.review_confirmed_at = $now, n.review_confirmed_by = $sub
RETURN n {{.id, .type, .ref, .owner_unit, .sharing, .review_due, .review_confirmed_at, .updated_at,
          minor: coalesce(n.minor, false)}} AS item
"""

# Retention: every expired entity (review date before the cutoff = today - grace), oldest first.
EXPIRED = """
MATCH (n:Entity) WHERE n.review_due < $cutoff
RETURN n.id AS id ORDER BY n.review_due, n.id
"""

# An identifier goes with the expired entities when nothing else links to it: all its neighbours
# are expired entities (a workflow node — an objective targeting it — keeps it, as any link does).
_ORPHANED_WITH = "NOT EXISTS { MATCH (i)--(m) WHERE NOT (m:Entity AND m.review_due < $cutoff) }"

PREVIEW = f"""
UNWIND $ids AS id
MATCH (n:Node {{id: id}})
WHERE n:Entity AND n.review_due < $cutoff
OPTIONAL MATCH (n)--(i:Identifier)
WITH n, [x IN collect(DISTINCT i) WHERE x IS NOT NULL] AS idents
RETURN n {{.id, .type, .owner_agency, .owner_unit, .review_due}} AS entity,
       [i IN idents WHERE {_ORPHANED_WITH} | i.id] AS identifiers
"""

# Deletes the given entities that are still expired (one confirmed meanwhile stays) with their
# links; returns each with the identifiers it was linked to.
_DELETE_WITH_IDENTIFIERS = """
OPTIONAL MATCH (n)--(i:Identifier)
WITH n, collect(DISTINCT i.id) AS idents
WITH n, idents, n {.id, .type, .owner_agency, .owner_unit, .review_due} AS entity
DETACH DELETE n
RETURN entity, idents
"""

DELETE_EXPIRED = """
UNWIND $ids AS id
MATCH (n:Node {id: id})
WHERE n:Entity AND n.review_due < $cutoff
""" + _DELETE_WITH_IDENTIFIERS

# One entity of the caller's agency, deleted from the review queue: same shape as DELETE_EXPIRED.
DELETE_OWNED = """
MATCH (n:Node:Entity {id: $id})
WHERE n.owner_agency = $agency
""" + _DELETE_WITH_IDENTIFIERS

# Identifiers nothing links to any more are deleted (they were merge keys of deleted data only).
DELETE_ORPHANS = """
UNWIND $ids AS id
MATCH (i:Node {id: id})
WHERE i:Identifier AND NOT EXISTS { (i)--() }
WITH i, i.id AS id
DELETE i
RETURN id
"""
