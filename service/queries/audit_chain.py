"""Cypher of the audit chain: its writer (`service.audit.chain`) and its verifier (`service.audit.verify`)."""

from __future__ import annotations

# Takes the head's write lock, then finds which of the records are in the chain already.
LOCK_HEAD = """
MATCH (h:AuditHead {id: 'head'}) SET h.locked_at = $now
WITH h
OPTIONAL MATCH (a:AuditEvent) WHERE a.id IN $ids
RETURN h.seq AS seq, h.hash AS hash, collect(a.id) AS existing
"""

APPEND = """
UNWIND $records AS r
CREATE (a:AuditEvent) SET a = r
WITH count(a) AS written
MATCH (h:AuditHead {id: 'head'}) SET h.seq = $seq, h.hash = $hash
RETURN written
"""

VERIFY_PAGE = """
MATCH (a:AuditEvent) WHERE a.seq > $after
RETURN a {.*} AS a ORDER BY a.seq LIMIT $limit
"""

HEAD = "MATCH (h:AuditHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash"
