"""Cypher behind GET /v1/search and GET /v1/lookup.

Search reads the full-text index `node_search` (analyzer `standard-folding`: accent- and
case-insensitive) and keeps only entities the caller sees in full — `node_full` is in the WHERE
of the page and of the total alike, so neither a stub nor a confidential item of another agency
is counted or returned. Identifiers are not searchable: whether anyone holds data on one is
learnt through the lookup (hit / no-hit), which only reveals holders the caller may know of.

The lookup finds the identifier by its id (UUID5 of type and normalised value, unique
constraint) and lists the agencies holding data on it: owners of the relationships attached to
it and of the entities at their other end, counting only relationships and nodes the caller may
know exist. Restricted holders are named (that is the point of deconfliction); another agency's
confidential link or entity is not. A minor (a Person under 18 when pushed) is known to no other
agency, yet its owner is named here (`node_hit`): hit / no-hit is all others ever learn of it.
Agencies holding events that name the identifier (calls, plate reads, transfers) are named as
the events' rules allow (`event_holders`: not another agency's confidential ones), from the
lists the event writer keeps on the identifier, without reading an event.
"""

from __future__ import annotations

from graph_schema.migrations import FULLTEXT_INDEX
from service.access.visibility import event_holders, node_full, node_hit, rel_known

# One pass over the index: the hits the caller sees in full, ranked, counted and paged at once
# (running the fuzzy Lucene query a second time for the total would cost more than sorting the
# hits). Every collected node passed `node_full`, so its properties are what the caller may see.
# `$min_reliability` / `$min_accuracy` (X and "4" when the caller does not filter: everything
# passes) keep the hits whose evaluation codes are at least those; codes are strings ordered best
# first, and items stored before the codes existed read as X and 4.
SEARCH = f"""
CALL db.index.fulltext.queryNodes('{FULLTEXT_INDEX}', $lucene) YIELD node, score
WHERE node:Entity AND node.type IN $types AND {node_full('node')}
  AND coalesce(node.reliability, 'X') <= $min_reliability AND coalesce(node.accuracy, '4') <= $min_accuracy
WITH node, score ORDER BY score DESC, node.id
WITH collect({{n: node, s: score}}) AS hits
RETURN size(hits) AS total, [h IN hits[$offset..($offset + $limit)] | {{node: properties(h.n), score: h.s}}] AS page
"""

LOOKUP = f"""
OPTIONAL MATCH (i:Node {{id: $id}})
WHERE i:Identifier
OPTIONAL MATCH (i)-[r]-(o:Node)
WHERE {rel_known('r')} AND {node_hit('o')}
WITH i, collect(DISTINCT r.owner_agency) + collect(DISTINCT o.owner_agency) AS owners
WITH i, owners + coalesce({event_holders('i')}, []) AS owners
RETURN i.id AS id, [a IN owners WHERE a IS NOT NULL] AS owners
"""
