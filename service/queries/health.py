"""Queries behind /readyz."""

SCHEMA_VERSION = "MATCH (m:SchemaMigration) RETURN coalesce(max(m.version), 0) AS version"
