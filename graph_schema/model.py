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
    # links the service derives from events (the aggregated CALLED / TRANSFERRED), and the agencies
    # holding events on an identifier: read by lookups and alerts only, never shown (they would
    # name the holder of a confidential event)
    "derived", "event_agencies", "event_agencies_known",
})

# What the service stores on every event besides its declared properties and `<party>_id`s.
EVENT_FIELDS = frozenset({"kind", "at", "date_only", "place_id", "place_ref"})
EventTime = Literal["datetime", "datetime_or_date"]
PartyForm = Literal["end", "value"]

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
    # Date properties that, where given, follow one another (each list in order, equal allowed),
    # and properties of which at most one may be given: rules across an item's properties.
    date_order: tuple[tuple[str, ...], ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()
    # Enum properties whose stored value only moves forward through steps (a step's values are
    # alternatives, final with respect to each other); an absent value reads as the first step's.
    progression: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    @property
    def is_identifier(self) -> bool:
        return self.kind == "identifier"

    def moves_back(self, prop: str, stored: str | None, given: str | None) -> bool:
        """Whether writing `given` over `stored` goes against `prop`'s progression: to an earlier
        step, or to another value of the same step; re-sending the stored value does not."""
        steps = self.progression[prop]
        stored, given = stored or steps[0][0], given or steps[0][0]
        if stored == given:
            return False
        position = {value: i for i, values in enumerate(steps) for value in values}
        return position[given] <= position[stored]


@dataclass(frozen=True)
class RelationshipType:
    name: str
    pairs: frozenset[tuple[str, str]]
    description: str = ""
    properties: dict[str, Property] = field(default_factory=dict)
    # As a node's: date properties that, where given, follow one another (a holding's since, until).
    date_order: tuple[tuple[str, ...], ...] = ()
    exclusive: tuple[tuple[str, ...], ...] = ()

    def allows(self, source: str, target: str) -> bool:
        return (source, target) in self.pairs


@dataclass(frozen=True)
class Party:
    """An identifier an event names: `{type, ref}` (form `end`) or its value alone (form `value`)."""

    name: str
    types: tuple[str, ...]
    form: PartyForm = "end"
    required: bool = False
    description: str = ""

    @property
    def stored_as(self) -> str:
        return f"{self.name}_id"


@dataclass(frozen=True)
class Place:
    """The Location (of the pushing agency, of `kind`) an event happened at: its ref and `properties`."""

    field: str
    kind: str
    properties: tuple[str, ...] = ()
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class EventType:
    name: str  # the event's `kind` in requests
    label: str  # its label beside :Event
    at: EventTime
    parties: dict[str, Party]
    place: Place | None = None
    properties: dict[str, Property] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    aggregate: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Schema:
    nodes: dict[str, NodeType]
    relationships: dict[str, RelationshipType]
    events: dict[str, EventType] = field(default_factory=dict)

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


def _steps(owner: str, prop: str, raw: list[Any], props: dict[str, Property]) -> tuple[tuple[str, ...], ...]:
    """A progression's steps (each a value or a list of alternatives), covering the enum's values once."""
    steps = tuple((step,) if isinstance(step, str) else tuple(step) for step in raw)
    declared = props.get(prop)
    flat = [v for step in steps for v in step]
    if declared is None or declared.type != "enum" or sorted(flat) != sorted(declared.values) or len(steps) < 2:
        raise ValueError(f"{owner}: progression of {prop!r} needs a declared enum and two or more steps "
                         "naming each of its values once")
    return steps


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
        date_order, exclusive = _cross_rules(name, spec, props)
        progression = {prop: _steps(name, prop, steps, props)
                       for prop, steps in (spec.get("progression") or {}).items()}
        nodes[name] = NodeType(name, kind, spec.get("description", ""), props, search, spec.get("normaliser"),
                               date_order, exclusive, progression)
    rels: dict[str, RelationshipType] = {}
    for name, spec in raw["relationships"].items():
        if not REL_RE.match(name):
            raise ValueError(f"invalid relationship type name {name!r}")
        pairs = frozenset((a, b) for a, b in spec["pairs"])
        for a, b in pairs:
            if a not in nodes or b not in nodes:
                raise ValueError(f"{name}: pair ({a}, {b}) names an undeclared node type")
        rel_props = _properties(spec.get("properties"), name)
        rels[name] = RelationshipType(name, pairs, spec.get("description", ""), rel_props,
                                      *_cross_rules(name, spec, rel_props))
    events = {name: _event(name, spec, nodes, rels) for name, spec in (raw.get("events") or {}).items()}
    return Schema(nodes, rels, events)


def _cross_rules(name: str, spec: dict[str, Any], props: dict[str, Property]
                 ) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """A node's or relationship's `date_order` and `exclusive`, checked against its properties."""
    date_order = tuple(tuple(seq) for seq in spec.get("date_order", ()))
    exclusive = tuple(tuple(group) for group in spec.get("exclusive", ()))
    for seq in date_order:
        if len(seq) < 2 or any(q not in props or props[q].type != "date" for q in seq):
            raise ValueError(f"{name}: date_order {list(seq)} needs two or more declared date properties")
    for group in exclusive:
        if len(group) < 2 or any(q not in props for q in group):
            raise ValueError(f"{name}: exclusive {list(group)} needs two or more declared properties")
    return date_order, exclusive


EVENT_RE = re.compile(r"^[a-z][a-z_]*$")


def _event(name: str, spec: dict[str, Any], nodes: dict[str, NodeType],
           rels: dict[str, RelationshipType]) -> EventType:
    """One event kind, checked against the node and relationship types it names."""
    label = spec["label"]
    if not EVENT_RE.match(name) or not NAME_RE.match(label) or label in nodes or label == "Event":
        raise ValueError(f"event {name!r}: invalid kind or label {label!r}")
    at = spec.get("at", "datetime")
    if at not in EventTime.__args__:  # type: ignore[attr-defined]
        raise ValueError(f"event {name}: at must be one of {EventTime.__args__}")  # type: ignore[attr-defined]
    props = _properties(spec.get("properties"), f"event {name}")
    parties: dict[str, Party] = {}
    for party, p in spec["parties"].items():
        types = tuple(p["types"])
        form = p.get("form", "end")
        if any(t not in nodes or not nodes[t].is_identifier for t in types) or not types:
            raise ValueError(f"event {name}.{party}: parties are identifier types, got {types}")
        if form not in PartyForm.__args__ or (form == "value" and len(types) != 1):  # type: ignore[attr-defined]
            raise ValueError(f"event {name}.{party}: form is end, or value with one type")
        parties[party] = Party(party, types, form, bool(p.get("required")), p.get("description", ""))
    place = None
    if spec.get("place"):
        raw_place = spec["place"]
        location = nodes["Location"]
        kind, place_props = raw_place["kind"], tuple(raw_place.get("properties", ()))
        if kind not in location.properties["kind"].values or any(q not in location.properties for q in place_props):
            raise ValueError(f"event {name}: a place is a Location kind with Location properties")
        place = Place(raw_place["field"], kind, place_props, bool(raw_place.get("required")),
                      raw_place.get("description", ""))
    fields = [*props, *(p.stored_as for p in parties.values()), *parties, *([place.field] if place else [])]
    clash = [f for f in fields if f in EVENT_FIELDS or f in RESERVED]
    if clash or len(set(fields)) != len(fields):
        raise ValueError(f"event {name}: field names clash with the stored ones: {clash or fields}")
    required = tuple(spec.get("required", ()))
    if any(r not in props for r in required):
        raise ValueError(f"event {name}: required names undeclared properties")
    aggregate = spec.get("aggregate")
    if aggregate is not None:
        ends = parties.get("from"), parties.get("to")
        if aggregate not in rels or ends[0] is None or ends[1] is None or not all(
                rels[aggregate].allows(a, b) for a in ends[0].types for b in ends[1].types):
            raise ValueError(f"event {name}: aggregate {aggregate!r} must link every from/to pair")
    return EventType(name, label, at, parties, place, props, required, aggregate, spec.get("description", ""))
