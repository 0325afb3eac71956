"""Typed view of `schema.yaml`: node and relationship types, their properties and allowed pairs."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

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
MAX_STRING = 10_000
MAX_LIST = 100


class PropertyError(ValueError):
    """A value that does not fit its declared property type."""


@dataclass(frozen=True)
class Property:
    name: str
    type: PropType
    values: tuple[str, ...] = ()
    description: str = ""

    def coerce(self, value: Any) -> Any:
        """Return the value as stored in Neo4j, or raise PropertyError saying what is expected."""
        if value is None:
            return None
        t = self.type
        if t in ("string", "text"):
            if not isinstance(value, str):
                raise PropertyError("expected a string")
            if len(value) > MAX_STRING:
                raise PropertyError(f"string longer than {MAX_STRING} characters")
            return value
        if t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise PropertyError("expected an integer")
            if not -(2**63) <= value < 2**63:
                raise PropertyError("integer out of the 64-bit range")
            return value
        if t == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PropertyError("expected a number")
            if not math.isfinite(value):
                raise PropertyError("expected a finite number")
            return float(value)
        if t == "boolean":
            if not isinstance(value, bool):
                raise PropertyError("expected true or false")
            return value
        if t == "date":
            if not isinstance(value, str):
                raise PropertyError("expected a date as YYYY-MM-DD")
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise PropertyError("expected a date as YYYY-MM-DD") from None
        if t == "datetime":
            if not isinstance(value, str):
                raise PropertyError("expected an ISO 8601 date-time")
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                raise PropertyError("expected an ISO 8601 date-time") from None
            return parsed.isoformat()
        if t == "enum":
            if value not in self.values:
                raise PropertyError(f"expected one of: {', '.join(self.values)}")
            return value
        if t == "list[string]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PropertyError("expected a list of strings")
            if len(value) > MAX_LIST or any(len(v) > MAX_STRING for v in value):
                raise PropertyError(f"at most {MAX_LIST} strings of {MAX_STRING} characters")
            return value
        raise PropertyError(f"unsupported type {t}")  # pragma: no cover - schema load rejects it


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
