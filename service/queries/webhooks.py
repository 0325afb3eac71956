"""Cypher of /v1/webhooks and of the delivery outbox (Webhook and Delivery nodes)."""

from __future__ import annotations

from service.access.visibility import node_full, viewer_of
from service.queries.alerts import STORED as ALERT_FIELDS
from service.queries.alerts import entity_name

HOOK = "w {.id, .agency, .url, .kinds, .created_at}"

# The cursor starts at registration: a new webhook receives the alerts raised from then on.
CREATE = f"""
CREATE (w:Webhook {{id: randomUUID(), agency: $agency, url: $url, secret: $secret, kinds: $kinds,
                    created_at: $now, created_by: $sub, cursor: $now}})
RETURN {HOOK} AS hook
"""

LIST = f"MATCH (w:Webhook {{agency: $agency}}) RETURN {HOOK} AS hook ORDER BY w.created_at, w.id"

DELETE = """
MATCH (w:Webhook {id: $id, agency: $agency})
OPTIONAL MATCH (d:Delivery {webhook_id: w.id})
WITH w, w.id AS id, collect(d) AS ds
FOREACH (d IN ds | DETACH DELETE d)
DETACH DELETE w
RETURN id
"""

DELIVERIES = """
MATCH (w:Webhook {id: $id, agency: $agency})
OPTIONAL MATCH (d:Delivery {webhook_id: w.id})
WITH w, d ORDER BY d.created_at DESC LIMIT $limit
RETURN w.id AS id, collect(d {.alert_id, .state, .attempts, .last_status, .last_error, .next_attempt_at,
                              .delivered_at, .created_at}) AS deliveries
"""

# The outbox is filled by scanning, not by the code that raises alerts: alerts are born in several
# places and this stays durable and decoupled. `>=` on the cursor with MERGE on the key: an alert
# stamped with the cursor's very instant is not missed, nor delivered twice.
FILL = """
MATCH (w:Webhook)
MATCH (a:Alert) WHERE a.agency = w.agency AND a.kind IN w.kinds AND a.created_at >= w.cursor
WITH w, a ORDER BY a.created_at LIMIT $limit
MERGE (d:Delivery {key: w.id + '|' + a.id})
ON CREATE SET d.webhook_id = w.id, d.alert_id = a.id, d.state = 'pending', d.attempts = 0,
              d.created_at = $now, d.next_attempt_at = $now
WITH w, max(a.created_at) AS newest
SET w.cursor = CASE WHEN newest > w.cursor THEN newest ELSE w.cursor END
RETURN count(w) AS hooks
"""

# A lease, as the hook queue's claim: another process skips a delivery leased to a live worker,
# and takes it over once the lease ran out (a crashed worker's delivery is retried).
CLAIM = f"""
MATCH (d:Delivery) WHERE d.state <> 'delivered' AND d.next_attempt_at <= $now
  AND (d.lease_until IS NULL OR d.lease_until < $now)
WITH d ORDER BY d.next_attempt_at LIMIT $limit
SET d.lease_until = $lease_until, d.lease_by = $worker
WITH d
MATCH (w:Webhook {{id: d.webhook_id}})
MATCH (a:Alert {{id: d.alert_id}}) WHERE a.agency = w.agency
OPTIONAL MATCH (e:Node {{id: a.entity_id}})
WITH d, w, a, CASE WHEN e IS NOT NULL AND {node_full("e", viewer_of("w.agency"))} THEN e END AS e
RETURN d.key AS key, d.attempts AS attempts, w.url AS url, w.secret AS secret,
       a {{{ALERT_FIELDS}, entity_name: {entity_name("e")}}} AS alert
"""

RESULT = """
MATCH (d:Delivery {key: $key}) WHERE d.lease_by = $worker
SET d.attempts = d.attempts + 1, d.state = $state, d.last_status = $status, d.last_error = $error,
    d.next_attempt_at = $next_attempt_at, d.delivered_at = $delivered_at, d.lease_until = null, d.lease_by = null
"""
