"""Validation of an ingest batch and its translation into per-type write rows.

The hot path works on the decoded JSON directly (no per-item pydantic model): a batch of ten
thousand items is checked field by field against `graph_schema`, every error is collected with
its section, index and field, and valid batches come out as rows grouped by label or
relationship type, ready for one `UNWIND` each. The pydantic models below only document the
contract in the OpenAPI schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from graph_schema import Property, PropertyError, Schema
from graph_schema.normalise import IdentifierError, normalise
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
ENTITY_KEYS = frozenset({"type", "ref", "sharing", "properties", "id"}) | CODE_KEYS
LINK_KEYS = frozenset({"type", "from", "to", "sharing", "properties", "ref"}) | CODE_KEYS
# What an item without codes holds (and what data stored before the codes existed reads as):
# left out of the content hash, so such items keep the hash they always had.
NO_CODES = {"reliability": "X", "accuracy": "4", "handling": "H0", "handling_note": None}
END_KEYS = frozenset({"type", "ref"})
# open < restricted < confidential: an agency's `max_sharing` caps how closely it may hold data.
SHARING_RANK = {level: rank for rank, level in enumerate(SHARING_LEVELS)}

Status = Literal["created", "updated", "unchanged"]

_RELIABILITY_DOC = ("Source reliability (Europol): A reliable, B usually reliable, C not usually reliable, "
                    "X cannot be assessed. Default from the policy (X)")
_ACCURACY_DOC = ("Information accuracy (Europol): 1 known true without reservation, 2 known personally to the "
                 "source, 3 not known personally but corroborated, 4 cannot be judged. A string or an integer; "
                 "stored and returned as a string. Default from the policy (4)")
_HANDLING_DOC = ("H0 crime prevention and repression only (default); H1 not to be used in judicial proceedings "
                 "without the owner's consent; H2 no dissemination (grants, disseminations, exports) without "
                 "the owner's consent; H3 other restriction, stated in `handling_note`")


# --- documentation models (OpenAPI) ------------------------------------------------------------


class EntityIn(BaseModel):
    type: str = Field(description="A node type of the schema (Person, Case…, or an identifier type: Phone…)")
    ref: str = Field(description="The agency's own reference; for an identifier, its value (normalised here)")
    sharing: Sharing | None = Field(
        None, description="Default from the policy (restricted); ignored for identifiers, which have no owner")
    properties: dict[str, Any] = Field(default_factory=dict, description="Schema properties of the type")
    id: str | None = Field(None, description="Optional: the id the service gave this item (checked, never chosen)")
    reliability: Reliability | None = Field(None, description=_RELIABILITY_DOC + "; entities only")
    accuracy: Accuracy | int | None = Field(None, description=_ACCURACY_DOC + "; entities only")
    handling: Handling | None = Field(None, description=_HANDLING_DOC + "; entities only")
    handling_note: str | None = Field(None, description="The restriction of an H3 item (required with H3, only then)")


class EndIn(BaseModel):
    type: str
    ref: str


class LinkIn(BaseModel):
    type: str = Field(description="A relationship type of the schema (USES, MEMBER_OF…)")
    from_: EndIn = Field(alias="from", description="Source end: the caller's own entity or an identifier")
    to: EndIn = Field(description="Target end: the caller's own entity or an identifier")
    sharing: Sharing | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    ref: str | None = Field(None, description="Distinguishes several links of one type between the same ends")
    reliability: Reliability | None = Field(None, description=_RELIABILITY_DOC)
    accuracy: Accuracy | int | None = Field(None, description=_ACCURACY_DOC)
    handling: Handling | None = Field(None, description=_HANDLING_DOC)
    handling_note: str | None = Field(None, description="The restriction of an H3 link (required with H3, only then)")


class IngestRequest(BaseModel):
    entities: list[EntityIn] = Field(default_factory=list)
    links: list[LinkIn] = Field(default_factory=list)


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
    entities: list[EntityRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    # identifiers named only as link ends: merged too, not reported among the entities
    extra_identifiers: dict[str, EntityRow] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, section: str, index: int, field_: str, message: str) -> None:
        self.errors.append({"section": section, "index": index, "field": field_, "message": message})


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(sharing: str, props: dict[str, Any], codes: dict[str, Any] | None = None) -> str:
    """Hash of what an ingest replaces: sharing, properties and the evaluation and handling codes.
    Codes equal to NO_CODES are left out, so data pushed before codes existed keeps its hash."""
    canonical = _CANONICAL.encode(props)
    text = f"{sharing}\n{canonical}"
    if codes and codes != NO_CODES:
        text += "\n" + _CANONICAL.encode(codes)
    return hashlib.sha256(text.encode()).hexdigest()


def _codes(plan: Plan, section: str, index: int, item: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The item's evaluation and handling codes, policy defaults for those not given."""
    out: dict[str, Any] = {"reliability": policy.default_reliability, "accuracy": policy.default_accuracy,
                           "handling": policy.default_handling, "handling_note": None}
    raw = item.get("reliability")
    if raw is not None:
        if raw in RELIABILITY_CODES:
            out["reliability"] = raw
        else:
            plan.error(section, index, "reliability",
                       f"expected one of {', '.join(RELIABILITY_CODES)} (source reliability, A best, X cannot be "
                       f"assessed), got {raw!r}")
    raw = item.get("accuracy")
    if raw is not None:
        text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if isinstance(text, str) and text in ACCURACY_CODES:
            out["accuracy"] = text
        else:
            plan.error(section, index, "accuracy",
                       f"expected one of {', '.join(ACCURACY_CODES)} (information accuracy, 1 best, 4 cannot be "
                       f"judged), as a string or an integer, got {raw!r}")
    raw = item.get("handling")
    if raw is not None:
        if raw in HANDLING_CODES:
            out["handling"] = raw
        else:
            plan.error(section, index, "handling", f"expected one of {', '.join(HANDLING_CODES)}, got {raw!r}")
    note = item.get("handling_note")
    if out["handling"] == "H3":
        if not isinstance(note, str) or not note.strip():
            plan.error(section, index, "handling_note", "handling H3 needs a handling_note: the restriction, as text")
        elif len(note) > MAX_HANDLING_NOTE:
            plan.error(section, index, "handling_note", f"at most {MAX_HANDLING_NOTE} characters")
        else:
            out["handling_note"] = note
    elif note is not None:
        plan.error(section, index, "handling_note",
                   f"a handling_note goes with handling H3 only (this item's handling is {out['handling']})")
    return out


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


def _identifier_value(normaliser: str, value: Any) -> str:
    if not isinstance(value, str):
        raise IdentifierError("an identifier value is a non-empty string")
    return _normalised(normaliser, value)


def _coerce_props(
    plan: Plan, section: str, index: int, raw: Any, declared: dict[str, Property], owner: str
) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        plan.error(section, index, "properties", "expected an object of properties")
        return {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        prop = declared.get(name)
        if prop is None:
            known = ", ".join(declared) or "none"
            plan.error(section, index, f"properties.{name}", f"unknown property of {owner} (known: {known})")
            continue
        try:
            coerced = prop.coerce(value)
        except PropertyError as exc:
            plan.error(section, index, f"properties.{name}", str(exc))
            continue
        if coerced is not None:  # null means "no value": absent from the node
            out[name] = coerced
    return out


def _sharing(plan: Plan, section: str, index: int, raw: Any, policy: Policy, agency: str) -> str:
    cap = policy.agencies[agency].max_sharing
    if raw is None:  # the policy's default, within what the agency may push
        default = policy.default_sharing
        return default if SHARING_RANK[default] <= SHARING_RANK[cap] else cap
    if raw not in SHARING_RANK:
        plan.error(section, index, "sharing", f"expected one of: {', '.join(SHARING_LEVELS)}")
        return policy.default_sharing
    if SHARING_RANK[raw] > SHARING_RANK[cap]:
        plan.error(section, index, "sharing", f"agency {agency!r} may not push data above {cap!r}")
    return str(raw)


def _ref(plan: Plan, section: str, index: int, field_: str, raw: Any) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        plan.error(section, index, field_, "expected a non-empty string")
        return None
    if len(raw) > MAX_REF:
        plan.error(section, index, field_, f"at most {MAX_REF} characters")
        return None
    return raw


def _search_text(props: dict[str, Any], search: tuple[str, ...]) -> str:
    parts: list[str] = []
    for name in search:
        value = props.get(name)
        if isinstance(value, list):
            parts.extend(v for v in value if v)
        elif value:
            parts.append(str(value))
    return " ".join(parts)


def build_plan(body: Any, schema: Schema, policy: Policy, agency: str) -> Plan:
    """Check the whole batch; return the rows to write and every error found (empty if valid)."""
    plan = Plan()
    if not isinstance(body, dict):
        plan.error("batch", 0, "", 'expected an object {"entities": [...], "links": [...]}')
        return plan
    for key in body:
        if key not in ("entities", "links"):
            plan.error("batch", 0, key, "unknown field; a batch has `entities` and `links`")
    raw_entities = body.get("entities") or []
    raw_links = body.get("links") or []
    if not isinstance(raw_entities, list):
        plan.error("batch", 0, "entities", "expected a list")
        raw_entities = []
    if not isinstance(raw_links, list):
        plan.error("batch", 0, "links", "expected a list")
        raw_links = []

    today = clock.today()
    seen_entities: dict[str, int] = {}
    for i, item in enumerate(raw_entities):
        if not isinstance(item, dict):
            plan.error("entities", i, "", "expected an object")
            continue
        if not ENTITY_KEYS.issuperset(item):
            for key in item:
                if key not in ENTITY_KEYS:
                    plan.error("entities", i, key, f"unknown field (allowed: {', '.join(sorted(ENTITY_KEYS))})")
        type_name = item.get("type")
        node = schema.nodes.get(type_name) if isinstance(type_name, str) else None
        if node is None:
            plan.error("entities", i, "type", f"unknown type {type_name!r} (known: {', '.join(schema.nodes)})")
            continue
        ref = _ref(plan, "entities", i, "ref", item.get("ref"))
        sharing = _sharing(plan, "entities", i, item.get("sharing"), policy, agency)
        props = _coerce_props(plan, "entities", i, item.get("properties"), node.properties, node.name)
        explicit = item.get("id")
        if explicit is not None and not isinstance(explicit, str):
            plan.error("entities", i, "id", "expected a string")
            explicit = None
        codes: dict[str, Any] = {}
        if node.is_identifier:
            for key in sorted(CODE_KEYS.intersection(item)):
                plan.error("entities", i, key, f"{node.name} is an identifier, shared and without owner: "
                                               "evaluation and handling codes go on owned entities and links")
        else:
            codes = _codes(plan, "entities", i, item, policy)
        if ref is None:
            continue
        if node.is_identifier:
            try:
                value = _identifier_value(node.normaliser or "", ref)
            except IdentifierError as exc:
                plan.error("entities", i, "ref", f"not a valid {node.name}: {exc}")
                continue
            # Identifiers have no sharing and need no hash: their statuses come from their props.
            row = EntityRow(i, node.name, value, ids.identifier_id(node.name, value), True, props,
                            "", "", value, explicit)
        else:
            row = EntityRow(i, node.name, ref, ids.entity_id(agency, node.name, ref), False, props,
                            sharing, content_hash(sharing, props, codes), _search_text(props, node.search), explicit,
                            codes, is_minor(props.get("birth_date"), today) if node.name == "Person" else None)
        first = seen_entities.get(row.id)
        if first is not None:
            earlier = plan.entities[first]
            if not row.identifier:
                plan.error("entities", i, "ref", f"duplicate of entities[{earlier.index}] ({node.name} {ref!r})")
                continue
            if earlier.props != row.props:
                plan.error("entities", i, "properties",
                           f"same {node.name} as entities[{earlier.index}] with different properties")
                continue
        else:
            seen_entities[row.id] = len(plan.entities)
        plan.entities.append(row)

    in_batch = {row.id for row in plan.entities}
    seen_links: dict[str, int] = {}
    for i, item in enumerate(raw_links):
        if not isinstance(item, dict):
            plan.error("links", i, "", "expected an object")
            continue
        if not LINK_KEYS.issuperset(item):
            for key in item:
                if key not in LINK_KEYS:
                    plan.error("links", i, key, f"unknown field (allowed: {', '.join(sorted(LINK_KEYS))})")
        type_name = item.get("type")
        rel = schema.relationships.get(type_name) if isinstance(type_name, str) else None
        if rel is None:
            plan.error("links", i, "type",
                       f"unknown relationship type {type_name!r} (known: {', '.join(schema.relationships)})")
        sharing = _sharing(plan, "links", i, item.get("sharing"), policy, agency)
        link_codes = _codes(plan, "links", i, item, policy)
        props = (_coerce_props(plan, "links", i, item.get("properties"), rel.properties, rel.name)
                 if rel is not None else {})
        link_ref = item.get("ref")
        if link_ref is None:
            link_ref = ""
        elif not isinstance(link_ref, str) or len(link_ref) > MAX_REF:
            plan.error("links", i, "ref", f"expected a string of at most {MAX_REF} characters")
            link_ref = ""
        ends: list[tuple[str, str] | None] = []
        owned: list[tuple[str, str]] = []
        for end_name in ("from", "to"):
            end = item.get(end_name)
            if not isinstance(end, dict):
                plan.error("links", i, end_name, 'expected an object {"type", "ref"}')
                ends.append(None)
                continue
            if not END_KEYS.issuperset(end):
                for key in end:
                    if key not in END_KEYS:
                        plan.error("links", i, f"{end_name}.{key}", "unknown field (allowed: ref, type)")
            end_type = end.get("type")
            end_node = schema.nodes.get(end_type) if isinstance(end_type, str) else None
            if end_node is None:
                plan.error("links", i, f"{end_name}.type", f"unknown type {end_type!r}")
                ends.append(None)
                continue
            end_ref = _ref(plan, "links", i, f"{end_name}.ref", end.get("ref"))
            if end_ref is None:
                ends.append(None)
                continue
            if end_node.is_identifier:
                try:
                    value = _identifier_value(end_node.normaliser or "", end_ref)
                except IdentifierError as exc:
                    plan.error("links", i, f"{end_name}.ref", f"not a valid {end_node.name}: {exc}")
                    ends.append(None)
                    continue
                end_id = ids.identifier_id(end_node.name, value)
                if end_id not in in_batch and end_id not in plan.extra_identifiers:
                    plan.extra_identifiers[end_id] = EntityRow(-1, end_node.name, value, end_id, True, {}, "", "",
                                                               value)
            else:
                end_id = ids.entity_id(agency, end_node.name, end_ref)
                if end_id not in in_batch:
                    owned.append((f"{end_name}.ref", end_id))
            ends.append((end_node.name, end_id))
        src, dst = ends
        if rel is None or src is None or dst is None:
            continue
        if not rel.allows(src[0], dst[0]):
            allowed = ", ".join(f"{a}->{b}" for a, b in sorted(rel.pairs))
            plan.error("links", i, "type", f"{rel.name} does not link {src[0]} to {dst[0]} (allowed: {allowed})")
            continue
        link_id = ids.link_id(agency, rel.name, src[1], dst[1], link_ref)
        first = seen_links.get(link_id)
        if first is not None:
            plan.error("links", i, "", f"duplicate of links[{plan.links[first].index}]")
            continue
        seen_links[link_id] = len(plan.links)
        plan.links.append(LinkRow(i, rel.name, link_id, src[1], dst[1], src[0], dst[0], props, sharing,
                                  content_hash(sharing, props, link_codes), owned, link_codes))
    return plan


def count_items(body: Any) -> int:
    """Items in a decoded batch, before validation (for the size limit)."""
    if not isinstance(body, dict):
        return 0
    total = 0
    for key in ("entities", "links"):
        section = body.get(key)
        if isinstance(section, list):
            total += len(section)
    return total
