"""Cypher behind `GET /v1/audit`: the trail, newest first, keyset-paginated on `seq`.

An auditor of the central agency reads every record; an auditor of another agency reads the
records of its own agency's users only, since a record names what was looked at and why.
"""

from __future__ import annotations

from service.access.visibility import agency_record

LIST_EVENTS = f"""
MATCH (a:AuditEvent)
WHERE {agency_record("a")}
  AND ($before IS NULL OR a.seq < $before)
  AND ($subject IS NULL OR a.subject = $subject)
  AND ($agency IS NULL OR a.agency = $agency)
  AND ($action IS NULL OR a.action = $action)
  AND ($since IS NULL OR a.at >= $since)
  AND ($until IS NULL OR a.at < $until)
RETURN a {{.seq, .at, .subject, .agency, .unit, .action, .purpose, .request_id, .target_ids,
          .result_count}} AS event
ORDER BY a.seq DESC
LIMIT $limit
"""
