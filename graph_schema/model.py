"""Typed view of `schema.yaml`: node and relationship types, their properties and allowed pairs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from graph_schema.values import adapter, message

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")

NodeKind = Literal["entity", "identifier"]
PropType = Literal["string", "text", "integer", "float", "boolean", "date", "datetime", "enum", "list[string]"]

# Names the service keeps on every node or relationship for itself (identity, provenance,
# access control); a schema property may not take one of them.
RESERVED = frozenset({
    "id", "type", "ref", "value", "owner_agency", "owner_unit", "sharing", "grantees",
    "source_system", "created_at", "updated_at", "version", "batch_id", "content_hash",
    "search_text", "redacted", "contact",
    # evaluation and handling codes (docs/architecture.md), and the minor flag of a Person
    "reliability", "accuracy", "handling", "handling_note", "handling_notice", "minor",
    # review dates (retention): shown to the owner agency only
    "review_due", "review_confirmed_at", "review_confirmed_by",
})

NAME_RE = re.compile(r"^[A-Z][A-Za-z]*$")
REL_RE = re.compile(r"^[A-Z][A-Z_]*$")
PROP_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class PropertyError(ValueError):
    """A value that does not fit its declared property type."""


@dataclass(frozen=True)
class Property:
    name: str
    type: PropType
    values: tuple[str, ...] = ()
    description: str = ""

    def coerce(self, value: Any) -> Any:
        """Return the value as stored in Neo4j, or raise PropertyError saying what is expected
        (the check of `graph_schema.values`, the one the ingest models make)."""
        if value is None:
            return None
        try:
            return adapter(self.type, self.values).validate_python(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = f"item {error['loc'][0]}: " if error["loc"] else ""
            raise PropertyError(where + message(error, self.type)) from None


@dataclass(frozen=True)
class NodeType:
    name: str
    kind: NodeKind
    description: str = ""
    properties: dict[str, Property] = field(default_factory=dict)
    search: tuple[str, ...] = ()
    normaliser: str | None = None

    @property
    def is_identifier(self) -> bool:
        return self.kind == "identifier"


@dataclass(frozen=True)
class RelationshipType:
    name: str
    pairs: frozenset[tuple[str, str]]
    description: str = ""
    properties: dict[str, Property] = field(default_factory=dict)

    def allows(self, source: str, target: str) -> bool:
        return (source, target) in self.pairs


@dataclass(frozen=True)
class Schema:
    nodes: dict[str, NodeType]
    relationships: dict[str, RelationshipType]

    @property
    def entity_types(self) -> list[str]:
        return [n for n, t in self.nodes.items() if t.kind == "entity"]

    @property
    def identifier_types(self) -> list[str]:
        return [n for n, t in self.nodes.items() if t.kind == "identifier"]

    def node(self, name: str) -> NodeType:
        return self.nodes[name]

    def relationship(self, name: str) -> RelationshipType:
        return self.relationships[name]

    def relationship_pattern(self, types: list[str] | None = None) -> str:
        """A `A|B|C` relationship-type alternative for Cypher, only ever from the whitelist."""
        names = types if types is not None else list(self.relationships)
        unknown = [n for n in names if n not in self.relationships]
        if unknown:
            raise KeyError(f"unknown relationship types: {unknown}")
        return "|".join(names)


def _properties(raw: dict[str, Any] | None, owner: str) -> dict[str, Property]:
    props: dict[str, Property] = {}
    for name, spec in (raw or {}).items():
        if not PROP_RE.match(name) or name in RESERVED:
            raise ValueError(f"{owner}: invalid or reserved property name {name!r}")
        ptype = spec["type"]
        if ptype not in PropType.__args__:  # type: ignore[attr-defined]
            raise ValueError(f"{owner}.{name}: unknown property type {ptype!r}")
        values = tuple(spec.get("values", ()))
        if ptype == "enum" and not values:
            raise ValueError(f"{owner}.{name}: an enum needs values")
        props[name] = Property(name, ptype, values, spec.get("description", ""))
    return props


def load_schema(path: Path = SCHEMA_FILE) -> Schema:
    """Parse and check the schema file; every inconsistency is an error at load time."""
    raw = yaml.safe_load(path.read_text())
    nodes: dict[str, NodeType] = {}
    for name, spec in raw["nodes"].items():
        if not NAME_RE.match(name):
            raise ValueError(f"invalid node type name {name!r}")
        kind = spec["kind"]
        if kind not in ("entity", "identifier"):
            raise ValueError(f"{name}: kind must be entity or identifier")
        props = _properties(spec.get("properties"), name)
        search = tuple(spec.get("search", ()))
        for s in search:
            if s not in props:
                raise ValueError(f"{name}: search property {s!r} is not declared")
        if kind == "identifier" and not spec.get("normaliser"):
            raise ValueError(f"{name}: an identifier type needs a normaliser")
        nodes[name] = NodeType(name, kind, spec.get("description", ""), props, search, spec.get("normaliser"))
    rels: dict[str, RelationshipType] = {}
    for name, spec in raw["relationships"].items():
        if not REL_RE.match(name):
            raise ValueError(f"invalid relationship type name {name!r}")
        pairs = frozenset((a, b) for a, b in spec["pairs"])
        for a, b in pairs:
            if a not in nodes or b not in nodes:
                raise ValueError(f"{name}: pair ({a}, {b}) names an undeclared node type")
        rels[name] = RelationshipType(name, pairs, spec.get("description", ""),
                                      _properties(spec.get("properties"), name))
    return Schema(nodes, rels)
