"""Cypher of `ofast-graph bulk-load` (service.domain.ingest.bulk), beside what it reuses from
ingest and matching: the emptiness check, the patches of values an import file cannot carry,
and the owners of the identifiers several agencies link to.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema

# A database holding only these is empty: what migrations and the audit trail's head put there.
STORED_NODES = """
MATCH (n) WHERE NOT n:SchemaMigration AND NOT (n:AuditHead AND coalesce(n.seq, 0) = 0)
RETURN count(n) AS n
"""

# Properties an import file cannot carry (an empty list…), set on the imported node.
PATCH_NODES = """
UNWIND $rows AS r
MATCH (n:Node {id: r.id})
SET n += r.p
"""


@lru_cache
def patch_links(rel_type: str) -> str:
    get_schema().relationship(rel_type)  # whitelist check
    return f"""
UNWIND $rows AS r
MATCH ()-[l:{rel_type} {{id: r.id}}]->()
SET l += r.p
"""


# Per identifier and agency, that agency's smallest entity id linked to it: the (entity,
# identifier) pair an ingest of the agency's links would hand the shared-identifier alert query
# (the alert names the smallest id of each side, and whether a side may know the other's data
# does not depend on which of its own entities is asked about).
IDENTIFIER_OWNERS = """
UNWIND $ids AS id
MATCH (i:Node {id: id})--(e:Entity)
WITH i, e.owner_agency AS agency, min(e.id) AS entity
RETURN agency, entity, i.id AS identifier
"""

COUNT_MATCH_CANDIDATES = "MATCH (c:MatchCandidate) RETURN count(c) AS n"
