"""Cypher of /v1/watches and of the `watch_hit` alerts that writes raise.

A watch is `(:Watch {id, agency, unit, created_by, created_at, expires_at, purpose, kind, target_id,
identifier_type, value, q, terms, anchor, entity_type})`, a workflow node (not `:Node`: no read
path of the graph reaches it): `kind` is `entity` or `identifier` (`target_id` the watched node's
id) or `search` (`terms` the folded words of `q`, all required; `anchor` the longest of them, the
index a write seeks on). An agency reads and deletes only its own: `agency` is in every query.

The hit queries run in the writing transaction, once per batch, and decide with the visibility
fragments, the watcher's agency as viewer, whether it may learn of the written item: a link or an
event it may know exists (`rel_known`, `event_known`) touching the watched node, whose other end
it may know (for an identifier, as a lookup would: `node_hit`); a new entity it sees in full
(`node_full`, as search does). Expired watches and the writer's own agency's are skipped.
"""

from __future__ import annotations

from service.access.visibility import event_known, node_full, node_hit, node_known, rel_known, viewer_of
from service.queries import FIRST_PLAN

WATCH = ("w {.id, .kind, .target_id, .entity_type, .identifier_type, .value, .q, .purpose, .unit, .created_by, "
         ".created_at, .expires_at, expired: w.expires_at <= $now}")

# The node an entity watch names, if the caller may know it exists (404 otherwise).
TARGET = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known("n")}
RETURN n.id AS id, n:Identifier AS identifier, n.type AS type, n.value AS value
"""

CREATE = f"""
CREATE (w:Watch {{id: randomUUID(), agency: $agency, unit: $unit, created_by: $sub, created_at: $now}})
SET w += $props
RETURN {WATCH} AS watch
"""

COUNT = "MATCH (w:Watch) WHERE w.agency = $agency RETURN count(w) AS total"

LIST = f"""
MATCH (w:Watch) WHERE w.agency = $agency
RETURN {WATCH} AS watch
ORDER BY w.created_at DESC, w.id
SKIP $offset LIMIT $limit
"""

DELETE = f"""
MATCH (w:Watch {{id: $id}}) WHERE w.agency = $agency
WITH w, {WATCH} AS watch
DELETE w
RETURN watch
"""

_LIVE = "w.expires_at > $now AND w.agency <> $agency"
# What each hit query returns: the watch, its agency and kind, the node named (`entity`), the item
# written and its owner.
_HIT = "w.id AS watch, w.agency AS agency, w.kind AS kind"

# `$rows`: `{link, end, other}` twice per link the batch wrote, once from each end.
LINK_HITS = FIRST_PLAN + f"""
UNWIND $rows AS row
MATCH (w:Watch {{target_id: row.end}})
WHERE {_LIVE}
MATCH (t:Node {{id: row.end}})
MATCH (o:Node {{id: row.other}})
MATCH (t)-[r]-(o) WHERE r.id = row.link
WITH w, t, o, r, {viewer_of("w.agency")} AS wv
WHERE {rel_known("r", "wv")}
  AND ((t:Identifier AND {node_hit("o", "wv")})
       OR (NOT t:Identifier AND {node_known("t", "wv")} AND {node_known("o", "wv")}))
RETURN DISTINCT {_HIT}, t.id AS entity, r.id AS item, r.owner_agency AS owner
"""

# `$rows`: `{event, ends}`, the ids each written event names (parties, place).
EVENT_HITS = f"""
UNWIND $rows AS row
UNWIND row.ends AS end
MATCH (w:Watch {{target_id: end}})
WHERE {_LIVE}
MATCH (e:Event {{id: row.event}})
MATCH (t:Node {{id: end}})
WITH w, e, t, {viewer_of("w.agency")} AS wv
WHERE {event_known("e", "wv")} AND (t:Identifier OR {node_known("t", "wv")})
RETURN DISTINCT {_HIT}, t.id AS entity, e.id AS item, e.owner_agency AS owner
"""

# `$rows`: `{id, type, words}` for each entity the batch created, `words` its search text's terms.
SEARCH_HITS = FIRST_PLAN + f"""
UNWIND $rows AS row
UNWIND row.words AS word
MATCH (w:Watch {{anchor: word}})
WHERE {_LIVE} AND (w.entity_type IS NULL OR w.entity_type = row.type) AND all(t IN w.terms WHERE t IN row.words)
MATCH (n:Node {{id: row.id}})
WITH DISTINCT w, n, {viewer_of("w.agency")} AS wv
WHERE {node_full("n", "wv")}
RETURN {_HIT}, n.id AS entity, n.id AS item, n.owner_agency AS owner
"""
