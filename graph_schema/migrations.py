"""Versioned, idempotent schema migrations, recorded in the graph as `(:SchemaMigration)` nodes.

Each migration is a list of Cypher statements that may run any number of times (`IF NOT
EXISTS`), so a migration interrupted half-way is simply applied again. Statements derived from
`schema.yaml` (one index per relationship type, the full-text index over the declared search
properties) are recomputed at every run, so a new type in the schema gets its indexes from
`ofast-graph migrate` without a hand-written step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from neo4j import AsyncDriver

from graph_schema.model import Schema

FULLTEXT_INDEX = "node_search"
FULLTEXT_ANALYZER = "standard-folding"  # Lucene ASCII folding: accent- and case-insensitive


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[Schema], list[str]]

    def checksum(self, schema: Schema) -> str:
        return hashlib.sha256("\n".join(self.statements(schema)).encode()).hexdigest()[:16]


def _core(schema: Schema) -> list[str]:
    return [
        "CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
        "CREATE INDEX identifier_value IF NOT EXISTS FOR (n:Identifier) ON (n.value)",
        "CREATE INDEX entity_owner IF NOT EXISTS FOR (n:Entity) ON (n.owner_agency)",
        "CREATE CONSTRAINT migration_version IF NOT EXISTS FOR (m:SchemaMigration) REQUIRE m.version IS UNIQUE",
    ]


def _relationship_ids(schema: Schema) -> list[str]:
    return [
        f"CREATE INDEX rel_{name.lower()}_id IF NOT EXISTS FOR ()-[r:{name}]-() ON (r.id)"
        for name in schema.relationships
    ]


def _fulltext(schema: Schema) -> list[str]:
    labels = "|".join(schema.nodes)
    return [
        f"CREATE FULLTEXT INDEX {FULLTEXT_INDEX} IF NOT EXISTS FOR (n:{labels}) ON EACH [n.search_text] "
        f"OPTIONS {{indexConfig: {{`fulltext.analyzer`: '{FULLTEXT_ANALYZER}'}}}}"
    ]


def _audit(schema: Schema) -> list[str]:
    return [
        "CREATE CONSTRAINT audit_seq IF NOT EXISTS FOR (a:AuditEvent) REQUIRE a.seq IS UNIQUE",
        "CREATE INDEX audit_at IF NOT EXISTS FOR (a:AuditEvent) ON (a.at)",
        # Records reach the chain from a local journal, possibly twice after a crash: the mover
        # skips ids already there (an index seek), and the constraint makes a duplicate impossible.
        "CREATE CONSTRAINT audit_id IF NOT EXISTS FOR (a:AuditEvent) REQUIRE a.id IS UNIQUE",
        "MERGE (h:AuditHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = ''",
    ]


def _alerts(schema: Schema) -> list[str]:
    # pair_key (recipient agency, counterpart, cause) is unique: a MERGE on it never alerts twice.
    return [
        "CREATE CONSTRAINT alert_pair_key IF NOT EXISTS FOR (a:Alert) REQUIRE a.pair_key IS UNIQUE",
        "CREATE CONSTRAINT alert_id IF NOT EXISTS FOR (a:Alert) REQUIRE a.id IS UNIQUE",
        "CREATE INDEX alert_agency IF NOT EXISTS FOR (a:Alert) ON (a.agency)",
    ]


def _grants(schema: Schema) -> list[str]:
    # Grants are looked up by entity (list, revoke); the audit trail is filtered by user and action.
    return [
        "CREATE CONSTRAINT grant_id IF NOT EXISTS FOR (g:Grant) REQUIRE g.id IS UNIQUE",
        "CREATE INDEX grant_entity IF NOT EXISTS FOR (g:Grant) ON (g.entity_id)",
        "CREATE CONSTRAINT dissemination_id IF NOT EXISTS FOR (d:Dissemination) REQUIRE d.id IS UNIQUE",
        "CREATE INDEX dissemination_at IF NOT EXISTS FOR (d:Dissemination) ON (d.at)",
        "CREATE INDEX audit_subject IF NOT EXISTS FOR (a:AuditEvent) ON (a.subject)",
        "CREATE INDEX audit_action IF NOT EXISTS FOR (a:AuditEvent) ON (a.action)",
    ]


def _priority_targets(schema: Schema) -> list[str]:
    return [
        "CREATE CONSTRAINT priority_target_id IF NOT EXISTS FOR (t:PriorityTarget) REQUIRE t.id IS UNIQUE",
        # One version node per (target, version): a lost concurrent update would violate it.
        "CREATE CONSTRAINT priority_target_version IF NOT EXISTS "
        "FOR (v:PriorityTargetVersion) REQUIRE (v.target_id, v.version) IS UNIQUE",
        "CREATE INDEX priority_target_status IF NOT EXISTS FOR (t:PriorityTarget) ON (t.status)",
        "CREATE INDEX priority_target_entity IF NOT EXISTS FOR (t:PriorityTarget) ON (t.entity_id)",
        "CREATE INDEX priority_target_review_due IF NOT EXISTS FOR (t:PriorityTarget) ON (t.review_due)",
    ]


def _objectives(schema: Schema) -> list[str]:
    # open_key (agency, unit, entity) is set only while an objective is open: the constraint
    # makes a duplicate open objective impossible even under concurrent declarations.
    return [
        "CREATE CONSTRAINT objective_id IF NOT EXISTS FOR (o:Objective) REQUIRE o.id IS UNIQUE",
        "CREATE CONSTRAINT objective_open_key IF NOT EXISTS FOR (o:Objective) REQUIRE o.open_key IS UNIQUE",
        "CREATE INDEX objective_agency IF NOT EXISTS FOR (o:Objective) ON (o.agency)",
        "CREATE INDEX objective_entity IF NOT EXISTS FOR (o:Objective) ON (o.entity_id)",
        "CREATE CONSTRAINT objective_lock_id IF NOT EXISTS FOR (l:ObjectiveLock) REQUIRE l.id IS UNIQUE",
    ]


def _review_and_late_hits(schema: Schema) -> list[str]:
    # The review queue reads one agency's entities by review date; retention reads every agency's
    # expired ones. A no-hit lookup is remembered once per (agency, unit, identifier): `key` is
    # unique, and ingest finds the memories of an identifier by `identifier_id`.
    return [
        "CREATE INDEX entity_owner_review_due IF NOT EXISTS FOR (n:Entity) ON (n.owner_agency, n.review_due)",
        "CREATE INDEX entity_review_due IF NOT EXISTS FOR (n:Entity) ON (n.review_due)",
        "CREATE CONSTRAINT lookup_memory_key IF NOT EXISTS FOR (m:LookupMemory) REQUIRE m.key IS UNIQUE",
        "CREATE CONSTRAINT lookup_memory_id IF NOT EXISTS FOR (m:LookupMemory) REQUIRE m.id IS UNIQUE",
        "CREATE INDEX lookup_memory_identifier IF NOT EXISTS FOR (m:LookupMemory) ON (m.identifier_id)",
        "CREATE INDEX lookup_memory_expires IF NOT EXISTS FOR (m:LookupMemory) ON (m.expires_at)",
    ]


def _person_matching(schema: Schema) -> list[str]:
    # Candidates are found at ingest by birth date (an index seek, never a scan); a pair of
    # persons is one `(:MatchCandidate)` (unique `pair_key`), judged by `(:MatchJudgement)`s.
    return [
        "CREATE INDEX person_birth_date IF NOT EXISTS FOR (n:Person) ON (n.birth_date)",
        "CREATE CONSTRAINT match_pair_key IF NOT EXISTS FOR (m:MatchCandidate) REQUIRE m.pair_key IS UNIQUE",
        "CREATE CONSTRAINT match_id IF NOT EXISTS FOR (m:MatchCandidate) REQUIRE m.id IS UNIQUE",
        "CREATE CONSTRAINT match_judgement_id IF NOT EXISTS FOR (j:MatchJudgement) REQUIRE j.id IS UNIQUE",
        "CREATE INDEX match_judgement_match IF NOT EXISTS FOR (j:MatchJudgement) ON (j.match_id)",
    ]


def _handling(schema: Schema) -> list[str]:
    # Evaluation and handling codes need no backfill: items stored before them read as X, 4, H0
    # (`coalesce` in the queries and views). Minors do: a Person stored before the `minor` flag
    # existed is flagged when it was under 18 on the day it was first pushed (`created_at`), so the
    # minors rule of service/access/visibility.py covers old data too. Birth dates are stored YYYY-MM-DD.
    return [
        "MATCH (p:Person:Entity) WHERE p.minor IS NULL AND p.birth_date =~ '[0-9]{4}-[0-9]{2}-[0-9]{2}' "
        "SET p.minor = date(p.birth_date) + duration('P18Y') > date(coalesce(datetime(p.created_at), datetime()))",
    ]


def _matching_by_agency(schema: Schema) -> list[str]:
    # The birth-date block seeks (birth date, other agency) for each other agency: its cost is
    # bounded by the candidates it returns, not by the persons of the person's own agency born that day.
    return [
        "CREATE INDEX person_birth_date_owner IF NOT EXISTS FOR (n:Person) ON (n.birth_date, n.owner_agency)",
    ]


def _events(schema: Schema) -> list[str]:
    # Events name their parties by id and have no relationship of their own (docs/architecture.md,
    # "Events"): every read finds them on a composite range index of (party id, time), derived here
    # from each kind's parties; co-location seeks (place_ref, at) across kinds and agencies.
    statements = [
        "CREATE CONSTRAINT event_id IF NOT EXISTS FOR (e:Event) REQUIRE e.id IS UNIQUE",
        "CREATE INDEX event_at IF NOT EXISTS FOR (e:Event) ON (e.at)",
        "CREATE INDEX event_place_at IF NOT EXISTS FOR (e:Event) ON (e.place_ref, e.at)",
    ]
    for event in schema.events.values():
        for party in event.parties.values():
            statements.append(f"CREATE INDEX event_{event.name}_{party.stored_as}_at IF NOT EXISTS "
                              f"FOR (e:{event.label}) ON (e.{party.stored_as}, e.at)")
    return statements


def _notifications(schema: Schema) -> list[str]:
    # One delivery per (webhook, alert): the outbox's MERGE on `key` is exactly-once only with the
    # key unique, when two replicas scan the same alerts at once. The worker seeks due deliveries
    # by (state, next attempt); the CROSS's queue finds public reports by id.
    return [
        "CREATE CONSTRAINT webhook_id IF NOT EXISTS FOR (w:Webhook) REQUIRE w.id IS UNIQUE",
        "CREATE CONSTRAINT delivery_key IF NOT EXISTS FOR (d:Delivery) REQUIRE d.key IS UNIQUE",
        "CREATE INDEX delivery_due IF NOT EXISTS FOR (d:Delivery) ON (d.state, d.next_attempt_at)",
        "CREATE INDEX delivery_webhook IF NOT EXISTS FOR (d:Delivery) ON (d.webhook_id)",
        "CREATE CONSTRAINT public_report_id IF NOT EXISTS FOR (r:PublicReport) REQUIRE r.id IS UNIQUE",
        "CREATE INDEX public_report_cross IF NOT EXISTS FOR (r:PublicReport) ON (r.cross)",
    ]


def _watches(schema: Schema) -> list[str]:
    # A write finds the watches on what it touched by index seeks, never a scan: on the watched
    # entity or identifier id (`target_id`), and for search watches on their rarest word
    # (`anchor`, the longest); an agency's list by `agency`.
    return [
        "CREATE CONSTRAINT watch_id IF NOT EXISTS FOR (w:Watch) REQUIRE w.id IS UNIQUE",
        "CREATE INDEX watch_target IF NOT EXISTS FOR (w:Watch) ON (w.target_id)",
        "CREATE INDEX watch_anchor IF NOT EXISTS FOR (w:Watch) ON (w.anchor)",
        "CREATE INDEX watch_agency IF NOT EXISTS FOR (w:Watch) ON (w.agency, w.created_at)",
    ]


MIGRATIONS: list[Migration] = [
    Migration(1, "node identity and lookup indexes", _core),
    Migration(2, "relationship id indexes", _relationship_ids),
    Migration(3, "full-text search index", _fulltext),
    Migration(4, "audit trail", _audit),
    Migration(5, "alert pair keys", _alerts),
    Migration(6, "grants, disseminations, audit filters", _grants),
    Migration(7, "priority target list", _priority_targets),
    Migration(8, "FNOS objectives", _objectives),
    Migration(9, "minors flagged on persons stored before the flag", _handling),
    Migration(10, "review dates and lookup memories", _review_and_late_hits),
    Migration(11, "person matching", _person_matching),
    Migration(12, "matching candidates by birth date and agency", _matching_by_agency),
    Migration(13, "events: identity and (party, time) indexes", _events),
    Migration(14, "webhook deliveries and public reports", _notifications),
    Migration(15, "watches by target, search word and agency", _watches),
]

LATEST_VERSION = max(m.version for m in MIGRATIONS)


async def current_version(driver: AsyncDriver, database: str) -> int:
    records, _, _ = await driver.execute_query(
        "MATCH (m:SchemaMigration) RETURN coalesce(max(m.version), 0) AS v", database_=database,
        routing_="r",
    )
    return int(records[0]["v"])


async def migrate(driver: AsyncDriver, database: str, schema: Schema) -> list[int]:
    """Apply every migration (idempotently) and record those not yet recorded; return them."""
    applied: list[int] = []
    done = await current_version(driver, database)
    for migration in MIGRATIONS:
        for statement in migration.statements(schema):
            # Schema statements cannot share a transaction with data writes: one each.
            await driver.execute_query(statement, database_=database)
        if migration.version > done:
            await driver.execute_query(
                "MERGE (m:SchemaMigration {version: $version}) "
                "ON CREATE SET m.name = $name, m.applied_at = $at, m.checksum = $checksum",
                version=migration.version, name=migration.name, checksum=migration.checksum(schema),
                at=dt.datetime.now(dt.UTC).isoformat(), database_=database,
            )
            applied.append(migration.version)
    await driver.execute_query("CALL db.awaitIndexes(300)", database_=database)
    return applied
