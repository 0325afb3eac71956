"""The ingest contract, declared, and a valid batch's translation into per-type write rows.

The request models are derived from `graph_schema/schema.yaml` (`IngestModels`): one per node type
(its declared properties, typed by `graph_schema.values`), one per relationship type (its ends
limited to the node types its pairs allow), discriminated on `type`, strict, unknown keys refused.
Identifier values are normalised by their type's validator. pydantic checks a whole batch in one
call and reports every error where it is; `build_plan` turns them into the API's
`{section, index, field, message}`, and the valid items into rows grouped by label or relationship
type, ready for one `UNWIND` each. The endpoint's OpenAPI schema is generated from the same models
(`request_schema`): what is documented is what is enforced.

The models also hold the rules that tie two fields of one item (an H3 code and its note; a pair of
end types a relationship does not link). The plan holds what depends on the caller (the agency's
`max_sharing`, the policy's default codes), the ids and content hashes, and items named more than
once in the batch: identical repeats are one item, reported at each index; the same key with other
content is an error naming both indexes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, NotRequired, Protocol, Required, Union

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import ErrorDetails, PydanticCustomError, core_schema
from typing_extensions import TypedDict  # pydantic needs its TypedDict before Python 3.12

from graph_schema import NodeType, Property, RelationshipType, Schema
from graph_schema.normalise import IdentifierError, derived, normalise
from graph_schema.values import message, value_type
from service.access.policy import (
    ACCURACY_CODES,
    HANDLING_CODES,
    RELIABILITY_CODES,
    SHARING_LEVELS,
    Accuracy,
    Handling,
    Policy,
    Reliability,
    Sharing,
)
from service.core import clock, ids

MAX_REF = 256
MAX_HANDLING_NOTE = 2000
CODE_KEYS = frozenset({"reliability", "accuracy", "handling", "handling_note"})
# What an item without codes holds (and what data stored before the codes existed reads as):
# left out of the content hash, so such items keep the hash they always had.
NO_CODES = {"reliability": "X", "accuracy": "4", "handling": "H0", "handling_note": None}
# open < restricted < confidential: an agency's `max_sharing` caps how closely it may hold data.
SHARING_RANK = {level: rank for rank, level in enumerate(SHARING_LEVELS)}
SECTIONS = ("entities", "links")

Status = Literal["created", "updated", "unchanged"]

_RELIABILITY_DOC = ("Source reliability (Europol): A reliable, B usually reliable, C not usually reliable, "
                    "X cannot be assessed. Default from the policy (X)")
_ACCURACY_DOC = ("Information accuracy (Europol): 1 known true without reservation, 2 known personally to the "
                 "source, 3 not known personally but corroborated, 4 cannot be judged. A string or an integer; "
                 "stored and returned as a string. Default from the policy (4)")
_HANDLING_DOC = ("H0 crime prevention and repression only (default); H1 not to be used in judicial proceedings "
                 "without the owner's consent; H2 no dissemination (grants, disseminations, exports) without "
                 "the owner's consent; H3 other restriction, stated in `handling_note`")


# --- value types of an item ---------------------------------------------------------------------

# French numbers as partner systems usually write them ("06 12 34 56 78", "0612345678",
# "+33 6 12 34 56 78"): their E.164 form is known without a full parse, which costs ~100 µs.
# Anything else goes through phonenumbers (tests check both paths agree).
_FR_NATIONAL = re.compile(r"0([1-9](?:[ .\-]?[0-9]{2}){4})")
_FR_E164 = re.compile(r"\+33 ?([1-9](?:[ .\-]?[0-9]{2}){4})")
_NOT_DIGIT = re.compile(r"[^0-9]")


@lru_cache(maxsize=200_000)
def _normalised(normaliser: str, value: str) -> str:
    if normaliser == "phone":
        match = _FR_NATIONAL.fullmatch(value) or _FR_E164.fullmatch(value)
        if match:
            return "+33" + _NOT_DIGIT.sub("", match.group(1))
    return normalise(normaliser, value)


# Not blank as str.strip() sees it: Unicode white space and the separators \x1c-\x1f.
Ref = Annotated[str, Strict(), Field(max_length=MAX_REF, pattern=r"[^\s\x1c-\x1f]")]
LinkRef = Annotated[str, Strict(), Field(max_length=MAX_REF)]
HandlingNote = Annotated[str, Strict(), Field(max_length=MAX_HANDLING_NOTE)]
Id = Annotated[str, Strict()]


def _identifier_ref(node: NodeType) -> Any:
    """A ref of identifier type `node`: its value, normalised (the merge key across agencies)."""
    normaliser = node.normaliser or ""

    def clean(value: str) -> str:
        try:
            return _normalised(normaliser, value)
        except IdentifierError as exc:
            raise PydanticCustomError("identifier", "not a valid {type}: {reason}",
                                      {"type": node.name, "reason": str(exc)}) from None

    return Annotated[Ref, AfterValidator(clean)]


def _accuracy_code(value: Any) -> Any:
    return str(value) if type(value) is int else value  # 1-4 as its code; true is no integer here


AccuracyIn = Annotated[Accuracy | None, BeforeValidator(_accuracy_code, json_schema_input_type=Accuracy | int | None)]


# --- the models -----------------------------------------------------------------------------------


def _typed_dict(name: str, fields: dict[str, Any], doc: str = "") -> Any:
    model = TypedDict(name, fields)  # type: ignore[misc]
    model.__pydantic_config__ = ConfigDict(strict=True, extra="forbid", title=name)  # type: ignore[attr-defined]
    if doc:
        model.__doc__ = doc
    return model


def _optional(annotation: Any, description: str | None = None) -> Any:
    return NotRequired[Annotated[annotation | None, Field(description=description)]]


def _properties(owner: str, declared: dict[str, Property]) -> Any:
    fields = {name: _optional(value_type(p.type, p.values), p.description or None) for name, p in declared.items()}
    return _typed_dict(f"{owner}Properties", fields, f"Properties of a {owner} (null: no value)")


def _rule(field_: str, text: str, **ctx: Any) -> PydanticCustomError:
    """An item-level rule's error; `field` says where it is reported."""
    return PydanticCustomError("item_rule", text, {"field": field_, **ctx})


def _h3_note(item: dict[str, Any]) -> dict[str, Any]:
    note = item.get("handling_note")
    if item.get("handling") == "H3":
        if note is None or not note.strip():
            raise _rule("handling_note", "handling H3 needs a handling_note: the restriction, as text")
    elif note is not None:
        raise _rule("handling_note", "a handling_note goes with handling H3 only (this item's handling is "
                                     "{handling})", handling=item.get("handling") or "the policy's default")
    return item


def _property_rules(node: NodeType | RelationshipType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The schema's rules across a node's or link's properties (`date_order`, `exclusive`) as a
    validator. Dates are ISO text by then, so their order is the text's."""
    def check(item: dict[str, Any]) -> dict[str, Any]:
        props = item.get("properties") or {}
        for group in node.exclusive:
            present = [q for q in group if props.get(q) is not None]
            if len(present) > 1:
                raise _rule(f"properties.{present[1]}", "{a} and {b} exclude each other: give one of them",
                            a=present[0], b=present[1])
        for seq in node.date_order:
            dated = [(q, props[q]) for q in seq if props.get(q) is not None]
            for (a, day_a), (b, day_b) in itertools.pairwise(dated):
                if day_b < day_a:
                    raise _rule(f"properties.{b}", "{b} ({day_b}) is before {a} ({day_a}): the steps go "
                                + " → ".join(seq), a=a, b=b, day_a=day_a, day_b=day_b)
        return item

    return check


def _code_fields(owned: str) -> dict[str, Any]:
    return {
        "reliability": _optional(Reliability, _RELIABILITY_DOC + owned),
        "accuracy": NotRequired[Annotated[AccuracyIn, Field(description=_ACCURACY_DOC + owned)]],
        "handling": _optional(Handling, _HANDLING_DOC + owned),
        "handling_note": _optional(HandlingNote, "The restriction of an H3 item (required with H3, only then)"),
    }


def _list_of(item: Any) -> Any:
    return list[item]


def _tagged(models: list[Any]) -> Any:
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007


def pair_message(rel: RelationshipType, source: Any, target: Any) -> str:
    allowed = ", ".join(f"{a}->{b}" for a, b in sorted(rel.pairs))
    return f"{rel.name} does not link {source} to {target} (allowed: {allowed})"


class IngestModels:
    """The request models of one schema, and the adapters that validate with them."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.keys: dict[str, list[str]] = {}  # the fields of each item model, for "unknown field" messages
        ends = {name: self._end(node) for name, node in schema.nodes.items()}
        entity = _tagged([self._entity(node) for node in schema.nodes.values()])
        link = _tagged([self._link(rel, ends) for rel in schema.relationships.values()])
        self.request = _typed_dict("IngestRequest", {
            "entities": _optional(_list_of(entity), "Owned entities and identifiers"),
            "links": _optional(_list_of(link), "Links between the batch's entities, the caller's stored ones and "
                                           "identifiers"),
        }, "A batch of entities, identifiers and links")
        self.batch: TypeAdapter[Any] = TypeAdapter(self.request)
        self.sections: dict[str, TypeAdapter[Any]] = {"entities": TypeAdapter(_list_of(entity)),
                                                       "links": TypeAdapter(_list_of(link))}

    def _entity(self, node: NodeType) -> Any:
        fields: dict[str, Any] = {
            "type": Required[Annotated[Literal[node.name], Field(description="A node type of the schema")]],
            "ref": Required[Annotated[
                _identifier_ref(node) if node.is_identifier else Ref,
                Field(description="The value, normalised here" if node.is_identifier
                      else "The agency's own reference")]],
            "sharing": _optional(Sharing, "Ignored: an identifier has no owner" if node.is_identifier
                                 else "Default from the policy (restricted)"),
            "properties": _optional(_properties(node.name, node.properties)),
            "id": _optional(Id, "Optional: the id the service gave this item (checked, never chosen)"),
        }
        if node.is_identifier:
            self.keys[node.name] = sorted(fields)
            return _typed_dict(f"{node.name}In", fields, node.description)
        fields |= _code_fields("; entities only")
        self.keys[node.name] = sorted(fields)
        rules = [AfterValidator(_property_rules(node))] if node.date_order or node.exclusive else []
        return Annotated[_typed_dict(f"{node.name}In", fields, node.description), AfterValidator(_h3_note), *rules]

    @staticmethod
    def _end(node: NodeType) -> Any:
        return _typed_dict(f"{node.name}End", {
            "type": Required[Literal[node.name]],
            "ref": Required[_identifier_ref(node) if node.is_identifier else Ref],
        }, f"A {node.name}: " + ("its value" if node.is_identifier else "your own, in this batch or stored"))

    def _link(self, rel: RelationshipType, ends: dict[str, Any]) -> Any:
        sources = sorted({a for a, _ in rel.pairs})
        targets = sorted({b for _, b in rel.pairs})
        fields: dict[str, Any] = {
            "type": Required[Annotated[Literal[rel.name], Field(description="A relationship type of the schema")]],
            "from": Required[_tagged([ends[name] for name in sources])],
            "to": Required[_tagged([ends[name] for name in targets])],
            "sharing": _optional(Sharing, "Default from the policy (restricted)"),
            "properties": _optional(_properties(rel.name, rel.properties)),
            "ref": _optional(LinkRef, "Distinguishes several links of one type between the same ends"),
        } | _code_fields("")
        self.keys[rel.name] = sorted(fields)
        checks: list[Any] = [AfterValidator(_h3_note)]
        if len(rel.pairs) < len(sources) * len(targets):  # the ends' types alone do not say it
            def pair(item: dict[str, Any]) -> dict[str, Any]:
                source, target = item["from"]["type"], item["to"]["type"]
                if not rel.allows(source, target):
                    raise _rule("type", pair_message(rel, source, target).replace("{", "{{").replace("}", "}}"))
                return item
            checks.append(AfterValidator(pair))
        if rel.date_order or rel.exclusive:
            checks.append(AfterValidator(_property_rules(rel)))
        return Annotated[_typed_dict(f"{rel.name}In", fields, rel.description), *checks]


_MODELS: dict[int, tuple[Schema, IngestModels]] = {}


def ingest_models(schema: Schema) -> IngestModels:
    """The models of `schema`, built once (a schema is a frozen value, but not hashable)."""
    cached = _MODELS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = _MODELS[id(schema)] = (schema, IngestModels(schema))
    return cached[1]


class _PlainUnions(GenerateJsonSchema):
    # The router inlines the schema's `$defs`, so a discriminator's mapping (references to them)
    # would dangle; `oneOf` with each member's `type` constant says the same in plain JSON Schema.
    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        out = super().tagged_union_schema(schema)
        out.pop("discriminator", None)
        return out


def request_schema(schema: Schema) -> dict[str, Any]:
    """The JSON schema of an ingest body: the models' own."""
    return ingest_models(schema).batch.json_schema(schema_generator=_PlainUnions)


# --- responses ------------------------------------------------------------------------------------


class EntityResult(BaseModel):
    index: int
    type: str
    ref: str
    id: str
    status: Status


class LinkResult(BaseModel):
    index: int
    id: str
    status: Status


class IngestResponse(BaseModel):
    batch_id: str
    entities: list[EntityResult]
    links: list[LinkResult]


# --- errors: pydantic's, as the API says them --------------------------------------------------


def _entry(section: str, index: int, field_: str, text: str) -> dict[str, Any]:
    return {"section": section, "index": index, "field": field_, "message": text}


def one_per_field(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first error of each (section, index, field): a union reports each member's."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int, str]] = set()
    for entry in entries:
        key = (entry["section"], entry["index"], entry["field"])
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


class _Errors:
    """Pydantic's errors of one batch as `{section, index, field, message}`. The raw body gives
    the values a message quotes (an unknown type, a code out of its list)."""

    def __init__(self, models: IngestModels, body: Any) -> None:
        self.models = models
        self.schema = models.schema
        self.body = body

    def translate(self, errors: Iterable[ErrorDetails]) -> list[dict[str, Any]]:
        return one_per_field(self.one(error) for error in errors)

    def raw(self, section: str, index: int) -> Any:
        try:
            return self.body[section][index]
        except (KeyError, IndexError, TypeError):
            return None

    def one(self, error: ErrorDetails) -> dict[str, Any]:
        loc, kind = error["loc"], error["type"]
        if len(loc) < 2 or not isinstance(loc[1], int):
            return self.batch(error)
        section, index = str(loc[0]), loc[1]
        item = self.raw(section, index)
        if len(loc) == 2:  # the item itself: not an object, or no known type
            if kind == "model_attributes_type":
                return _entry(section, index, "", "expected an object")
            return _entry(section, index, "type", self.unknown_type(section, item))
        owner, rest = str(loc[2]), loc[3:]
        if not rest:  # a rule across the item's fields
            return _entry(section, index, str((error.get("ctx") or {}).get("field", "")), error["msg"])
        head = str(rest[0])
        if section == "links" and head in ("from", "to"):
            return self.end(error, section, index, head, rest[1:], item, owner)
        if head == "properties" and len(rest) > 1:
            return self.property(error, section, index, owner, rest[1:])
        if kind == "extra_forbidden":
            return self.unknown_field(section, index, owner, head)
        got = item.get(head) if isinstance(item, dict) else None
        if kind == "literal_error" and head in _CODE_MESSAGES:
            return _entry(section, index, head, _CODE_MESSAGES[head].format(got=_shown(got)))
        if kind == "string_pattern_mismatch":  # Ref's only pattern: not blank
            return _entry(section, index, head, "expected a non-empty string")
        return _entry(section, index, head, message(error))

    @staticmethod
    def batch(error: ErrorDetails) -> dict[str, Any]:
        loc = error["loc"]
        if not loc:
            return _entry("batch", 0, "", 'expected an object {"entities": [...], "links": [...]}')
        if error["type"] == "extra_forbidden":
            return _entry("batch", 0, str(loc[0]), "unknown field; a batch has `entities` and `links`")
        return _entry("batch", 0, str(loc[0]), "expected a list")

    def unknown_type(self, section: str, item: Any) -> str:
        tag = item.get("type") if isinstance(item, dict) else None
        if section == "entities":
            return f"unknown type {_shown(tag)} (known: {', '.join(self.schema.nodes)})"
        return f"unknown relationship type {_shown(tag)} (known: {', '.join(self.schema.relationships)})"

    def unknown_field(self, section: str, index: int, owner: str, key: str) -> dict[str, Any]:
        node = self.schema.nodes.get(owner)
        if key in CODE_KEYS and node is not None and node.is_identifier:
            return _entry(section, index, key, f"{owner} is an identifier, shared and without owner: evaluation "
                                               "and handling codes go on owned entities and links")
        return _entry(section, index, key, f"unknown field (allowed: {', '.join(self.models.keys[owner])})")

    def declared(self, section: str, owner: str) -> dict[str, Property]:
        return (self.schema.nodes[owner] if section == "entities" else self.schema.relationships[owner]).properties

    def property(self, error: ErrorDetails, section: str, index: int, owner: str,
                 rest: tuple[int | str, ...]) -> dict[str, Any]:
        name = f"properties.{rest[0]}"
        if error["type"] == "extra_forbidden":
            return _entry(section, index, name,
                          f"unknown property of {owner} (known: {', '.join(self.declared(section, owner)) or 'none'})")
        declared_type = self.declared(section, owner)[str(rest[0])].type
        text = message(error, declared_type)
        return _entry(section, index, name, f"item {rest[1]}: {text}" if len(rest) > 1 else text)

    def end(self, error: ErrorDetails, section: str, index: int, side: str, rest: tuple[int | str, ...],
            item: Any, rel_name: str) -> dict[str, Any]:
        kind = error["type"]
        if rest and str(rest[0]) in self.schema.nodes:  # the end's union member
            rest = rest[1:]
        if not rest and kind in ("model_attributes_type", "typed_dict_type", "dict_type", "missing"):
            return _entry(section, index, side, 'expected an object {"type", "ref"}')
        if not rest or (rest == ("type",) and kind == "literal_error"):  # no type this side allows
            end = item.get(side) if isinstance(item, dict) else None
            tag = end.get("type") if isinstance(end, dict) else None
            if not isinstance(tag, str) or tag not in self.schema.nodes:
                return _entry(section, index, f"{side}.type", f"unknown type {_shown(tag)}")
            other = item.get("to" if side == "from" else "from")
            other_type = other.get("type") if isinstance(other, dict) else None
            pair = (tag, other_type) if side == "from" else (other_type, tag)
            return _entry(section, index, "type", pair_message(self.schema.relationships[rel_name], *pair))
        name = f"{side}.{rest[0]}"
        if kind == "extra_forbidden":
            return _entry(section, index, name, "unknown field (allowed: ref, type)")
        if kind == "string_pattern_mismatch":
            return _entry(section, index, name, "expected a non-empty string")
        return _entry(section, index, name, message(error))


_CODE_MESSAGES = {
    "sharing": f"expected one of: {', '.join(SHARING_LEVELS)} (got {{got}})",
    "reliability": f"expected one of {', '.join(RELIABILITY_CODES)} (source reliability, A best, X cannot be "
                   "assessed), got {got}",
    "accuracy": f"expected one of {', '.join(ACCURACY_CODES)} (information accuracy, 1 best, 4 cannot be judged), "
                "as a string or an integer, got {got}",
    "handling": f"expected one of {', '.join(HANDLING_CODES)}, got {{got}}",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


Translate = Callable[[Any, list[ErrorDetails]], list[dict[str, Any]]]


def validate_sections(batch: TypeAdapter[Any], sections: dict[str, TypeAdapter[Any]], translate: Translate,
                      body: Any) -> tuple[dict[str, list[tuple[int, Any]]], list[dict[str, Any]], int]:
    """The valid items of each section of a batch, with their indexes; the errors, as `translate`
    says them from the decoded body and pydantic's errors; and the number of items, valid or not.

    `body` is the request's bytes or an already decoded batch. Bytes are parsed and validated in
    one pass: no decoded copy of the batch for the garbage collector to walk meanwhile. Any
    error there, the JSON's own included, sends the body the decoded way: orjson's parser says
    whether it is JSON at all as it always has (a NaN or a 1e400 is not), and the errors are
    read against the decoded items."""
    names = tuple(sections)
    if isinstance(body, bytes | bytearray):
        try:
            valid = batch.validate_json(body)
        except ValidationError:
            body = orjson.loads(body)  # a body that is no JSON raises orjson.JSONDecodeError
        else:
            return ({name: list(enumerate(valid.get(name) or ())) for name in names}, [],
                    sum(len(valid.get(name) or ()) for name in names))
    items = count_items(body, names)
    try:
        valid = batch.validate_python(body)
    except ValidationError as exc:
        errors = translate(body, exc.errors(include_url=False))
    else:
        return {name: list(enumerate(valid.get(name) or ())) for name in names}, [], items
    # The valid items of an invalid batch are planned too: their own checks (ownership, link
    # ends) are reported with the rest, so one answer lists everything to fix.
    out: dict[str, list[tuple[int, Any]]] = {name: [] for name in names}
    if not isinstance(body, dict):
        return out, errors, items
    broken = {(e["section"], e["index"]) for e in errors}
    for name in names:
        section = body.get(name)
        if not isinstance(section, list):
            continue
        keep = [i for i in range(len(section)) if (name, i) not in broken]
        valid_items = sections[name].validate_python([section[i] for i in keep])
        out[name] = list(zip(keep, valid_items, strict=True))
    return out, errors, items


def _validate(models: IngestModels, body: Any, plan: Plan) -> dict[str, list[tuple[int, Any]]]:
    """The valid items of each section, with their indexes; every error into `plan`."""
    valid, errors, plan.items = validate_sections(
        models.batch, models.sections, lambda decoded, found: _Errors(models, decoded).translate(found), body)
    plan.errors.extend(errors)
    return valid


# --- the plan ---------------------------------------------------------------------------------


@dataclass(slots=True)
class EntityRow:
    index: int
    type: str
    ref: str  # as returned: the caller's ref, or the normalised identifier value
    id: str
    identifier: bool
    props: dict[str, Any]
    sharing: str
    hash: str
    search: str
    explicit_id: str | None = None
    codes: dict[str, Any] = field(default_factory=dict)  # reliability, accuracy, handling, handling_note
    minor: bool | None = None  # Persons: under 18 at this ingest (service.core.clock); None for other types


@dataclass(slots=True)
class LinkRow:
    index: int
    type: str
    id: str
    src: str
    dst: str
    src_type: str
    dst_type: str
    props: dict[str, Any]
    sharing: str
    hash: str
    owned_ends: list[tuple[str, str]]  # (field, entity id) of ends that must be the caller's
    codes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The rows of a batch, one per item and index: an item repeated identically is a row per
    index with the same id (the writer writes each id once)."""

    entities: list[EntityRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    items: int = 0  # in the request, valid or not (for the size limit)
    # identifiers named only as link ends: merged too, not reported among the entities
    extra_identifiers: dict[str, EntityRow] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, section: str, index: int, field_: str, message_: str) -> None:
        self.errors.append(_entry(section, index, field_, message_))


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(sharing: str, props: dict[str, Any], codes: dict[str, Any] | None = None) -> str:
    """Hash of what an ingest replaces: sharing, properties and the evaluation and handling codes.
    Codes equal to NO_CODES are left out, so data pushed before codes existed keeps its hash."""
    canonical = _CANONICAL.encode(props)
    text = f"{sharing}\n{canonical}"
    if codes and codes != NO_CODES:
        text += "\n" + _CANONICAL.encode(codes)
    return hashlib.sha256(text.encode()).hexdigest()


def is_minor(birth_date: Any, today: dt.date) -> bool:
    """Under 18 on `today`: the 18th birthday (1 March for 29 February) is still to come."""
    if not isinstance(birth_date, str):
        return False
    try:
        born = dt.date.fromisoformat(birth_date)
    except ValueError:
        return False
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:  # 29 February
        adult = dt.date(born.year + 18, 3, 1)
    return today < adult


def _search_text(props: dict[str, Any], search: tuple[str, ...]) -> str:
    parts: list[str] = []
    for name in search:
        value = props.get(name)
        if isinstance(value, list):
            parts.extend(v for v in value if v)
        elif value:
            parts.append(str(value))
    return " ".join(parts)


def _values(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Properties as stored: null means "no value", absent from the node."""
    if not raw:
        return {}
    return {name: value for name, value in raw.items() if value is not None}


class ErrorSink(Protocol):
    def error(self, section: str, index: int, field_: str, message_: str) -> None: ...


class OwnedItems:
    """What an owned item (entity, link, event) holds from the caller: its sharing within the
    agency's `max_sharing`, and its evaluation and handling codes with the policy's defaults."""

    def __init__(self, plan: ErrorSink, policy: Policy, agency: str) -> None:
        self.plan = plan
        self.agency = agency
        self.cap = policy.agencies[agency].max_sharing
        # The policy's default, within what the agency may push.
        self.default_sharing = (policy.default_sharing
                                if SHARING_RANK[policy.default_sharing] <= SHARING_RANK[self.cap] else self.cap)
        self.default_codes = (policy.default_reliability, policy.default_accuracy, policy.default_handling)

    def sharing(self, section: str, index: int, item: dict[str, Any]) -> str:
        level: Sharing | None = item.get("sharing")
        if level is None:
            return self.default_sharing
        if SHARING_RANK[level] > SHARING_RANK[self.cap]:
            self.plan.error(section, index, "sharing", f"agency {self.agency!r} may not push data above {self.cap!r}")
        return level

    def codes(self, item: dict[str, Any]) -> dict[str, Any]:
        reliability, accuracy, handling = self.default_codes
        return {"reliability": item.get("reliability") or reliability, "accuracy": item.get("accuracy") or accuracy,
                "handling": item.get("handling") or handling, "handling_note": item.get("handling_note")}


class _Planner(OwnedItems):
    """Rows from validated items: the caller's sharing and codes, ids, hashes, repeats."""

    def __init__(self, plan: Plan, schema: Schema, policy: Policy, agency: str) -> None:
        super().__init__(plan, policy, agency)
        self.plan: Plan = plan
        self.schema = schema
        self.today = clock.today()

    def entities(self, items: list[tuple[int, Any]]) -> None:
        plan, nodes, agency = self.plan, self.schema.nodes, self.agency
        first: dict[str, EntityRow] = {}
        for i, item in items:
            node = nodes[item["type"]]
            ref: str = item["ref"]
            sharing = self.sharing("entities", i, item)
            props = _values(item.get("properties"))
            explicit = item.get("id")
            if node.is_identifier:
                # Identifiers have no sharing and need no hash: their statuses come from their props.
                props.update(derived(node.normaliser, ref))
                row = EntityRow(i, node.name, ref, ids.identifier_id(node.name, ref), True, props, "", "", ref,
                                explicit)
            else:
                codes = self.codes(item)
                row = EntityRow(i, node.name, ref, ids.entity_id(agency, node.name, ref), False, props, sharing,
                                content_hash(sharing, props, codes), _search_text(props, node.search), explicit,
                                codes, is_minor(props.get("birth_date"), self.today) if node.name == "Person" else None)
            earlier = first.setdefault(row.id, row)
            if earlier is not row:  # named again: the same item, or a conflict
                if row.identifier and earlier.props != row.props:
                    plan.error("entities", i, "properties",
                               f"same {node.name} as entities[{earlier.index}] with different properties")
                    continue
                if not row.identifier and earlier.hash != row.hash:
                    plan.error("entities", i, "ref", f"same {node.name} {ref!r} as entities[{earlier.index}] with "
                                                     "different content (sharing, properties or codes)")
                    continue
            plan.entities.append(row)

    def links(self, items: list[tuple[int, Any]]) -> None:
        plan, nodes, agency = self.plan, self.schema.nodes, self.agency
        in_batch = {row.id for row in plan.entities}
        first: dict[str, LinkRow] = {}
        for i, item in items:
            sharing = self.sharing("links", i, item)
            codes = self.codes(item)
            props = _values(item.get("properties"))
            ends: list[tuple[str, str]] = []
            owned: list[tuple[str, str]] = []
            for side in ("from", "to"):
                end = item[side]
                end_node = nodes[end["type"]]
                value = end["ref"]
                if end_node.is_identifier:
                    end_id = ids.identifier_id(end_node.name, value)
                    if end_id not in in_batch and end_id not in plan.extra_identifiers:
                        plan.extra_identifiers[end_id] = EntityRow(-1, end_node.name, value, end_id, True,
                                                                   derived(end_node.normaliser, value), "", "", value)
                else:
                    end_id = ids.entity_id(agency, end_node.name, value)
                    if end_id not in in_batch:
                        owned.append((f"{side}.ref", end_id))
                ends.append((end_node.name, end_id))
            (src_type, src), (dst_type, dst) = ends
            rel = item["type"]
            row = LinkRow(i, rel, ids.link_id(agency, rel, src, dst, item.get("ref") or ""), src, dst, src_type,
                          dst_type, props, sharing, content_hash(sharing, props, codes), owned, codes)
            earlier = first.setdefault(row.id, row)
            if earlier is not row and earlier.hash != row.hash:
                plan.error("links", i, "", f"same {rel} link as links[{earlier.index}] (type, ends and ref) with "
                                           "different content (sharing, properties or codes)")
                continue
            plan.links.append(row)


def build_plan(body: Any, schema: Schema, policy: Policy, agency: str) -> Plan:
    """Check the whole batch — the request's bytes or a decoded body; return the rows to write
    and every error found (empty if valid). Bytes that are not JSON raise orjson.JSONDecodeError."""
    plan = Plan()
    valid = _validate(ingest_models(schema), body, plan)
    planner = _Planner(plan, schema, policy, agency)
    planner.entities(valid["entities"])
    planner.links(valid["links"])
    return plan


def count_items(body: Any, sections: tuple[str, ...] = SECTIONS) -> int:
    """Items in a decoded batch, valid or not."""
    if not isinstance(body, dict):
        return 0
    total = 0
    for key in sections:
        section = body.get(key)
        if isinstance(section, list):
            total += len(section)
    return total
