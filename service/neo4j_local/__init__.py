"""A real Neo4j Community server for development, tests and CI, run from Maven Central jars."""

from service.neo4j_local.manager import LocalNeo4j, Neo4jStartError

__all__ = ["LocalNeo4j", "Neo4jStartError"]
