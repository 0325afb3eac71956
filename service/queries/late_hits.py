"""Cypher of late hits: no-hit lookups remembered, and met by data linked to the identifier later.

A lookup that found nothing is remembered as `(:LookupMemory {id, key, agency, unit, identifier_id,
identifier_type, value, purpose, created_at, last_lookup_at, expires_at})`, one per (agency, unit,
identifier) — `key` is unique. Memories are workflow nodes, not `:Node`: no read path reaches them.

Never lost: the memory is written in a transaction that first locks the identifier — its node's
write lock when it exists, else the unique index entry of its id (a `MERGE` that creates a probe
node and deletes it before commit) — then asks the lookup's own question again. Ingest takes the
same locks when it links data to the identifier. So either the memory commits first and the
ingest that links data finds it (and raises the alerts in its transaction), or the data commits
first and the re-asked lookup sees it (and answers a hit).
"""

from __future__ import annotations

from service.access.visibility import node_hit, rel_known, viewer_of
from service.queries import FIRST_PLAN

# Locks the identifier (see the module docstring); `probe` is true when this statement created
# the node only to hold the index lock (PROBE_DELETE removes it before commit).
LOCK_IDENTIFIER = """
MERGE (i:Node {id: $id})
ON CREATE SET i.lookup_probe = true
ON MATCH SET i.value = i.value
RETURN coalesce(i.lookup_probe, false) AS probe
"""

PROBE_DELETE = """
MATCH (i:Node {id: $id})
WHERE i.lookup_probe AND NOT i:Identifier
DELETE i
"""

REMEMBER = """
MERGE (m:LookupMemory {key: $key})
ON CREATE SET m.id = randomUUID(), m.agency = $agency, m.unit = $unit, m.identifier_id = $id,
              m.identifier_type = $type, m.value = $value, m.created_at = $now
SET m.purpose = $purpose, m.last_lookup_at = $now, m.expires_at = $expires_at
"""

# Ingest: `$rows` are `{identifier, link}` for each link this batch wrote with an identifier end.
# A memory of another agency, not expired, is met when its agency may learn of the link and of its
# other end the way a lookup would (`rel_known`, `node_hit`): the late hit is a deferred lookup
# answer, and a confidential link or entity of the holder stays as invisible as it would to a lookup.
FIND = FIRST_PLAN + f"""
UNWIND $rows AS row
MATCH (m:LookupMemory {{identifier_id: row.identifier}})
WHERE m.expires_at > $now AND m.agency <> $agency
MATCH (i:Node {{id: row.identifier}})-[r]-(o:Node)
WHERE r.id = row.link
WITH m, r, o, {viewer_of('m.agency')} AS sv
WHERE {rel_known('r', 'sv')} AND {node_hit('o', 'sv')}
RETURN DISTINCT m.id AS memory, m.agency AS searcher, m.purpose AS purpose, m.identifier_id AS identifier
"""

PURGE_EXPIRED = """
MATCH (m:LookupMemory) WHERE m.expires_at <= $now
WITH m LIMIT $limit
WITH m, m.id AS id, m.agency AS agency
DELETE m
RETURN agency, collect(id) AS ids
"""

COUNT_EXPIRED = """
MATCH (m:LookupMemory) WHERE m.expires_at <= $now
RETURN m.agency AS agency, collect(m.id) AS ids
"""
