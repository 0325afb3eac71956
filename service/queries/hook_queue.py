"""Cypher of the hook queue: ingest hook work deferred past its budget, and the workers that finish it.

`(:HookTask {id, kind, payload, created_at, attempts, claimed_by?, claimed_until?, last_error?,
failed_at?})` — a workflow node (not `:Node`): no read path reaches it. `payload` is JSON text
(the ids the hook needs and the batch's time). Tasks are written in the batch's transaction and
deleted in the transaction that does their work, so a task's work commits exactly once.
Timestamps are ISO 8601 UTC strings of the service clock: they compare as strings.
"""

from __future__ import annotations

from service.queries import FIRST_PLAN

# What the hooks would walk, measured before they run: matching's identifier block walks every
# link of each identifier of the batch's persons (identifier degrees: `COUNT` reads a node's
# relationship count, it does not walk them); late hits walk the links of each identifier the
# batch linked that an unexpired memory of another agency remembers, once per memory and link
# (`$idents`: each identifier with the number of links the batch wrote to it). The same statement
# says what the hooks would find nothing to do for: `remembered`, the identifiers such a memory
# names (late hits look only at those), and `watched`, whether any live watch of another agency
# exists (the watch hooks run only then) — read after the batch's writes, as the hooks read.
BUDGET = FIRST_PLAN + """
CALL () {
  UNWIND $persons AS pid
  MATCH (p:Node {id: pid})--(i:Identifier)
  WITH COUNT { (i)--() } AS links WHERE links <= $hub_links  // matching skips hubs (queries.matches)
  RETURN sum(links) AS match_walk
}
CALL () {
  UNWIND $idents AS row
  MATCH (m:LookupMemory {identifier_id: row.identifier})
  WHERE m.expires_at > $now AND m.agency <> $agency
  MATCH (i:Node {id: row.identifier})
  RETURN sum(row.links * COUNT { (i)--() }) AS late_walk, collect(DISTINCT i.id) AS remembered
}
RETURN match_walk, late_walk, remembered,
       EXISTS { MATCH (w:Watch) WHERE w.expires_at > $now AND w.agency <> $agency } AS watched
"""

ENQUEUE = FIRST_PLAN + """
UNWIND $tasks AS t
CREATE (:HookTask {id: t.id, kind: t.kind, payload: t.payload, created_at: $now, attempts: 0})
"""

# Oldest first. Two workers may claim the same task when their claims overlap (the second
# overwrites `claimed_by`): the work transaction (LOCK) is what makes the work happen once.
CLAIM = """
MATCH (t:HookTask)
WHERE t.claimed_until IS NULL OR t.claimed_until <= $now OR t.claimed_by = $worker
WITH t ORDER BY t.created_at, t.id LIMIT $limit
SET t.claimed_by = $worker, t.claimed_until = $until, t.attempts = t.attempts + 1
RETURN elementId(t) AS eid, t.id AS id, t.kind AS kind, t.attempts AS attempts
"""

# First statement of a task's work transaction: the task's write lock, then its fields read under
# it (fresh: what another transaction committed meanwhile). A task another worker finished is gone
# (`id` null); one another worker claimed since names that worker.
LOCK = """
MATCH (t:HookTask) WHERE elementId(t) = $eid
SET t.worked_at = $now
RETURN t.id AS id, t.payload AS payload, t.claimed_by AS claimed_by
"""

DONE = "MATCH (t:HookTask) WHERE elementId(t) = $eid AND t.id = $id DELETE t"

# A failed attempt stays in the queue, visible, and is tried again after `retry_at`.
FAIL = """
MATCH (t:HookTask) WHERE elementId(t) = $eid AND t.id = $id AND t.claimed_by = $worker
SET t.claimed_by = null, t.claimed_until = $retry_at, t.last_error = $error, t.failed_at = $now
"""

STATUS = """
MATCH (t:HookTask)
RETURN t.kind AS kind, count(t) AS tasks,
       count(CASE WHEN t.claimed_until > $now AND t.claimed_by IS NOT NULL THEN 1 END) AS claimed,
       count(CASE WHEN t.last_error IS NOT NULL THEN 1 END) AS failing,
       min(t.created_at) AS oldest, max(t.attempts) AS max_attempts
ORDER BY kind
"""

FAILING = """
MATCH (t:HookTask) WHERE t.last_error IS NOT NULL
RETURN t {.id, .kind, .attempts, .created_at, .failed_at, .last_error, .claimed_until} AS task
ORDER BY t.created_at, t.id LIMIT $limit
"""
