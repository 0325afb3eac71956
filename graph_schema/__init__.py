"""The declarative graph model of ofast-graph and the migrations derived from it."""

from functools import lru_cache

from graph_schema.model import (
    RESERVED,
    EventType,
    NodeType,
    Party,
    Place,
    Property,
    PropertyError,
    RelationshipType,
    Schema,
    load_schema,
)


@lru_cache
def get_schema() -> Schema:
    """The schema shipped with the service, parsed once per process."""
    return load_schema()


__all__ = [
    "RESERVED",
    "EventType",
    "NodeType",
    "Party",
    "Place",
    "Property",
    "PropertyError",
    "RelationshipType",
    "Schema",
    "get_schema",
    "load_schema",
]
