"""The POST /v1/events contract, declared, and a valid batch's translation into write rows.

Like the ingest models (`service.domain.ingest.models`, whose pieces these reuse), the request
models are derived from `graph_schema/schema.yaml`: one per event kind (`events:`), discriminated
on `kind`, strict, unknown keys refused; parties are identifiers normalised by their type's
validator, the place a Location of the caller's agency. pydantic checks the whole batch in one
call; every error comes back as `{section: "events", index, field, message}`.

The plan holds what depends on the caller (sharing within its `max_sharing`, the policy's default
codes), the ids (stable: from the agency, kind and `ref`, else from the event's content, so the same
file twice changes nothing), the content hashes, the identifiers and places to merge, and repeats:
an event named twice identically is one event, answered at each index; the same id with other
content is an error naming both indexes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple, Required, Union

from pydantic import AfterValidator, BaseModel, Field, Strict, TypeAdapter
from pydantic_core import ErrorDetails, PydanticCustomError

from graph_schema import EventType, Party, Schema
from graph_schema.normalise import derived
from graph_schema.values import message, value_type
from service.access.policy import Policy, Sharing
from service.core import ids
from service.domain.ingest.models import (
    _CODE_MESSAGES,
    SHARING_RANK,
    Id,
    IngestModels,
    OwnedItems,
    Ref,
    Status,
    _code_fields,
    _entry,
    _h3_note,
    _identifier_ref,
    _list_of,
    _optional,
    _PlainUnions,
    _shown,
    _tagged,
    _typed_dict,
    content_hash,
    one_per_field,
    validate_sections,
)

SECTION = "events"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACES = re.compile(r"\s+")
_AT_DOC = "ISO 8601 date-time with an offset (Z, +01:00…); stored and returned in UTC"


class EventTime(NamedTuple):
    at: dt.datetime  # in UTC
    date_only: bool  # given as a date (a transfer's value date): 00:00 UTC of that day


def _time_error(date_allowed: bool) -> PydanticCustomError:
    text = "expected an ISO 8601 date-time with an offset, such as 2026-03-14T23:41:07+01:00"
    return PydanticCustomError("event_time", text + (", or a date YYYY-MM-DD" if date_allowed else ""))


def _event_time(date_allowed: bool) -> Any:
    def parse(value: str) -> EventTime:
        try:
            if date_allowed and _DATE.fullmatch(value):
                day = dt.date.fromisoformat(value)
                return EventTime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True)
            parsed = dt.datetime.fromisoformat(value)
            # A time without an offset is ambiguous (local? UTC?): the importer knows, the API does not.
            if parsed.tzinfo is None or len(value) <= 10:
                raise _time_error(date_allowed)
            return EventTime(parsed.astimezone(dt.UTC), False)
        except (ValueError, OverflowError):  # OverflowError: year 1 at a positive offset is year 0 in UTC
            raise _time_error(date_allowed) from None

    return Annotated[str, Strict(), AfterValidator(parse),
                     Field(description=_AT_DOC + ("; or a date YYYY-MM-DD (00:00 UTC)" if date_allowed else ""),
                           json_schema_extra={"format": "date-time"})]


def place_ref(ref: str) -> str:
    """A cell's or reader's ref as events compare it across agencies: upper-case, no spaces."""
    return _SPACES.sub("", ref).upper()


class EventModels:
    """The request models of the schema's event kinds, and the adapters that validate with them."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.keys: dict[str, list[str]] = {}  # the fields of each kind, for "unknown field" messages
        kinds = [self._event(event) for event in schema.events.values()]
        item = Annotated[Union[tuple(kinds)], Field(discriminator="kind")] if len(kinds) > 1 else kinds[0]  # noqa: UP007
        self.request = _typed_dict("EventsRequest", {
            "events": Required[Annotated[_list_of(item), Field(description="Calls, plate reads and transfers")]],
        }, "A batch of events")
        self.batch: TypeAdapter[Any] = TypeAdapter(self.request)
        self.sections: dict[str, TypeAdapter[Any]] = {SECTION: TypeAdapter(_list_of(item))}

    def _party(self, party: Party) -> Any:
        nodes = self.schema.nodes
        if party.form == "value":
            return Annotated[_identifier_ref(nodes[party.types[0]]), Field(description=party.description)]
        return Annotated[_tagged([IngestModels._end(nodes[t]) for t in party.types]),
                         Field(description=party.description)]

    def _event(self, event: EventType) -> Any:
        location = self.schema.nodes["Location"].properties
        fields: dict[str, Any] = {
            "kind": Required[Annotated[Literal[event.name], Field(description="The event's kind")]],
            "ref": _optional(Ref, "Your own reference of the event (its id is derived from it; else from its "
                                  "content)"),
            "id": _optional(Id, "Optional: the id the service gave this event (checked, never chosen)"),
            "at": Required[_event_time(event.at == "datetime_or_date")],
        }
        for party in event.parties.values():
            fields[party.name] = (Required[self._party(party)] if party.required
                                  else _optional(self._party(party), party.description))
        if event.place is not None:
            place = event.place
            place_fields: dict[str, Any] = {"ref": Required[Annotated[Ref, Field(
                description="Its reference (cell id, reader id); compared across agencies upper-case, without "
                            "spaces")]]}
            place_fields |= {name: _optional(value_type(location[name].type, location[name].values),
                                             location[name].description or None) for name in place.properties}
            model = _typed_dict(f"{event.label}Place", place_fields, place.description)
            fields[place.field] = Required[model] if place.required else _optional(model, place.description)
        for name, prop in event.properties.items():
            annotation: Any = Annotated[value_type(prop.type, prop.values),
                                        Field(description=prop.description or None)]
            fields[name] = Required[annotation] if name in event.required else _optional(annotation)
        fields["sharing"] = _optional(Sharing, "Default from the policy (restricted)")
        fields |= _code_fields("")
        self.keys[event.name] = sorted(fields)
        return Annotated[_typed_dict(f"{event.label}In", fields, event.description), AfterValidator(_h3_note)]


_MODELS: dict[int, tuple[Schema, EventModels]] = {}


def event_models(schema: Schema) -> EventModels:
    """The models of `schema`, built once."""
    cached = _MODELS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _MODELS[id(schema)] = (schema, EventModels(schema))
    return cached[1]


def request_schema(schema: Schema) -> dict[str, Any]:
    """The JSON schema of a POST /v1/events body: the models' own."""
    return event_models(schema).batch.json_schema(schema_generator=_PlainUnions)


# --- errors --------------------------------------------------------------------------------------


class _Errors:
    """pydantic's errors of one batch as `{section, index, field, message}`, read against the body."""

    def __init__(self, models: EventModels, body: Any) -> None:
        self.models = models
        self.schema = models.schema
        self.body = body

    def translate(self, errors: list[ErrorDetails]) -> list[dict[str, Any]]:
        entries = one_per_field(self.one(error) for error in errors)
        # A party of a type the kind does not take: its ref was read as the wrong type, say only that.
        wrong = {(e["index"], e["field"].removesuffix(".type")) for e in entries if e["field"].endswith(".type")}
        return [e for e in entries if (e["index"], e["field"].removesuffix(".ref")) not in wrong
                or not e["field"].endswith(".ref")]

    def raw(self, index: int) -> Any:
        try:
            return self.body[SECTION][index]
        except (KeyError, IndexError, TypeError):
            return None

    def one(self, error: ErrorDetails) -> dict[str, Any]:
        loc, kind = error["loc"], error["type"]
        if len(loc) < 2 or not isinstance(loc[1], int):
            if not loc:
                return _entry("batch", 0, "", 'expected an object {"events": [...]}')
            if kind == "extra_forbidden":
                return _entry("batch", 0, str(loc[0]), "unknown field; a batch has `events`")
            return _entry("batch", 0, str(loc[0]), "required" if kind == "missing" else "expected a list")
        index = loc[1]
        item = self.raw(index)
        if len(loc) == 2:  # the item itself: not an object, or no known kind
            if kind in ("union_tag_invalid", "union_tag_not_found"):
                got = item.get("kind") if isinstance(item, dict) else None
                known = ", ".join(self.schema.events)
                text = "required" if got is None else f"unknown kind {_shown(got)}"
                return _entry(SECTION, index, "kind", f"{text} (known: {known})")
            return _entry(SECTION, index, "", "expected an object")
        event = self.schema.events[str(loc[2])]
        # Union members are named by the identifier type they take: not part of the field's name.
        path = [str(part) for part in loc[3:] if str(part) not in self.schema.nodes]
        if not path:  # a rule across the item's fields (an H3 note)
            return _entry(SECTION, index, str((error.get("ctx") or {}).get("field", "")), error["msg"])
        head, name = path[0], ".".join(path)
        party = event.parties.get(head)
        if kind == "extra_forbidden":
            if len(path) == 1:
                allowed = ", ".join(self.models.keys[event.name])
                return _entry(SECTION, index, name, f"unknown field (allowed: {allowed})")
            allowed = "ref, type" if party is not None else ", ".join(["ref", *(event.place.properties
                                                                              if event.place else ())])
            return _entry(SECTION, index, name, f"unknown field (allowed: {allowed})")
        if party is not None and (kind in ("union_tag_invalid", "union_tag_not_found")
                                  or (path[1:] == ["type"] and kind == "literal_error")):
            return _entry(SECTION, index, f"{head}.type", f"expected one of: {', '.join(party.types)}")
        if party is not None and len(path) == 1 and kind in ("dict_type", "model_attributes_type", "typed_dict_type"):
            return _entry(SECTION, index, name, 'expected an object {"type", "ref"}')
        if len(path) == 1 and kind == "literal_error" and head in _CODE_MESSAGES:
            got = item.get(head) if isinstance(item, dict) else None
            return _entry(SECTION, index, name, _CODE_MESSAGES[head].format(got=_shown(got)))
        if kind == "string_pattern_mismatch":  # Ref's only pattern: not blank
            return _entry(SECTION, index, name, "expected a non-empty string")
        return _entry(SECTION, index, name, message(error, self._type_of(event, path)))

    def _type_of(self, event: EventType, path: list[str]) -> str:
        """The declared property type at `path`, for the message ("" when it is not a property)."""
        if len(path) == 1 and path[0] in event.properties:
            return event.properties[path[0]].type
        if event.place is not None and len(path) == 2 and path[0] == event.place.field:
            prop = self.schema.nodes["Location"].properties.get(path[1])
            return prop.type if prop is not None else ""
        return ""


# --- the plan ------------------------------------------------------------------------------------


@dataclass(slots=True)
class EventRow:
    index: int
    kind: str
    id: str
    at: dt.datetime
    p: dict[str, Any]  # what is stored, but for the owner, dates and version (set by the writer)
    parties: dict[str, tuple[str, str]]  # party name -> (identifier type, id)
    explicit_id: str | None = None


@dataclass(slots=True)
class PlaceRow:
    """A cell site or reader of the caller's agency: a Location entity, merged like ingest's."""

    id: str
    ref: str  # normalised (place_ref)
    kind: str
    index: int  # the first event naming it
    props: dict[str, Any]  # the properties given (absent ones are kept when stored)
    sharing: str  # the most open of its events' in this batch: it reveals no more than they do


@dataclass
class EventPlan:
    events: list[EventRow] = field(default_factory=list)  # one per index; a repeat shares its id
    identifiers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {type, value, props}
    places: dict[str, PlaceRow] = field(default_factory=dict)
    items: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, section: str, index: int, field_: str, message_: str) -> None:
        self.errors.append(_entry(section, index, field_, message_))


def utc_text(at: dt.datetime) -> str:
    """A UTC time as the API writes it: ISO 8601 with `Z`."""
    return at.isoformat().replace("+00:00", "Z")


class _Planner(OwnedItems):
    def __init__(self, plan: EventPlan, schema: Schema, policy: Policy, agency: str) -> None:
        super().__init__(plan, policy, agency)
        self.plan: EventPlan = plan
        self.schema = schema

    def identifier(self, type_: str, value: str) -> str:
        ident = ids.identifier_id(type_, value)
        if ident not in self.plan.identifiers:
            self.plan.identifiers[ident] = {"type": type_, "value": value,
                                            "props": derived(self.schema.nodes[type_].normaliser, value)}
        return ident

    def place(self, event: EventType, index: int, given: dict[str, Any], sharing: str) -> PlaceRow | None:
        assert event.place is not None
        ref = place_ref(given["ref"])
        place_id = ids.entity_id(self.agency, "Location", ref)
        props = {k: v for k, v in given.items() if k != "ref" and v is not None}
        row = self.plan.places.get(place_id)
        if row is None:
            row = self.plan.places[place_id] = PlaceRow(place_id, ref, event.place.kind, index, props, sharing)
            return row
        if row.kind != event.place.kind:
            self.plan.error(SECTION, index, f"{event.place.field}.ref",
                            f"{ref!r} is a {row.kind} in events[{row.index}], not a {event.place.kind}")
            return None
        for name, value in props.items():
            if row.props.setdefault(name, value) != value:
                self.plan.error(SECTION, index, f"{event.place.field}.{name}",
                                f"the same {event.place.kind} {ref!r} as events[{row.index}] with another {name}")
                return None
        if SHARING_RANK[sharing] < SHARING_RANK[row.sharing]:  # type: ignore[index]
            row.sharing = sharing
        return row

    def events(self, items: list[tuple[int, Any]]) -> None:
        first: dict[str, EventRow] = {}
        for i, item in items:
            event = self.schema.events[item["kind"]]
            sharing = self.sharing(SECTION, i, item)
            time: EventTime = item["at"]
            parties: dict[str, tuple[str, str]] = {}
            p: dict[str, Any] = {"kind": event.name, "ref": item.get("ref")}
            for party in event.parties.values():
                given = item.get(party.name)
                if given is None:
                    p[party.stored_as] = None
                    continue
                type_, value = (party.types[0], given) if party.form == "value" else (given["type"], given["ref"])
                parties[party.name] = (type_, self.identifier(type_, value))
                p[party.stored_as] = parties[party.name][1]
            place = None
            if event.place is not None and item.get(event.place.field) is not None:
                place = self.place(event, i, item[event.place.field], sharing)
            p["place_id"], p["place_ref"] = (place.id, place.ref) if place else (None, None)
            for name in event.properties:
                p[name] = item.get(name)
            p["date_only"] = True if time.date_only else None
            at = utc_text(time.at)
            codes = self.codes(item)
            if item.get("ref") is not None:
                event_id = ids.uuid5(f"event\x1f{self.agency}\x1f{event.name}\x1fref\x1f{item['ref']}")
            else:  # the content: same file twice, same ids
                content = [at, *(str(p[k]) if p[k] is not None else "" for k in sorted(p) if k != "kind")]
                event_id = ids.uuid5("\x1f".join(["event", self.agency, event.name, *content]))
            p |= {"sharing": sharing, **codes}
            p["content_hash"] = content_hash(sharing, {**p, "at": at}, codes)
            p["at"] = time.at  # a Neo4j DATETIME in UTC
            row = EventRow(i, event.name, event_id, time.at, p, parties, item.get("id"))
            earlier = first.setdefault(event_id, row)
            if earlier is not row and earlier.p["content_hash"] != row.p["content_hash"]:
                self.plan.error(SECTION, i, "ref" if item.get("ref") is not None else "",
                                f"same {event.name} as events[{earlier.index}] with different content")
                continue
            self.plan.events.append(row)


def build_plan(body: Any, schema: Schema, policy: Policy, agency: str) -> EventPlan:
    """Check the whole batch — the request's bytes or a decoded body; return the rows to write and
    every error found (empty if valid). Bytes that are not JSON raise orjson.JSONDecodeError."""
    models = event_models(schema)
    plan = EventPlan()
    valid, errors, plan.items = validate_sections(
        models.batch, models.sections, lambda decoded, found: _Errors(models, decoded).translate(found), body)
    plan.errors.extend(errors)
    _Planner(plan, schema, policy, agency).events(valid[SECTION])
    plan.errors.sort(key=lambda e: (e["section"] != "batch", e["index"]))
    return plan


# --- responses -----------------------------------------------------------------------------------


class EventResult(BaseModel):
    index: int
    id: str
    status: Status


class EventsResponse(BaseModel):
    batch_id: str
    events: list[EventResult]
