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
        "MERGE (h:AuditHead {id: 'head'}) ON CREATE SET h.seq = 0, h.hash = ''",
    ]


MIGRATIONS: list[Migration] = [
    Migration(1, "node identity and lookup indexes", _core),
    Migration(2, "relationship id indexes", _relationship_ids),
    Migration(3, "full-text search index", _fulltext),
    Migration(4, "audit trail", _audit),
]

LATEST_VERSION = MIGRATIONS[-1].version


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
