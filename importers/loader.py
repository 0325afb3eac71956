"""What every file importer shares: local checks against the schema, a buffered writer that
pushes entities before the links that use them, and the summary it all adds up to."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graph_schema import Schema, get_schema
from graph_schema.model import PropertyError
from graph_schema.normalise import IdentifierError, normalise
from importers.client import ApiRequestError, IngestClient, IngestResult

SHARING = ("open", "restricted", "confidential")
MAX_REF = 256  # the server's limit on a ref
# Evaluation and handling codes (Europol model): checked by the server, passed through as given.
CODE_KEYS = frozenset({"reliability", "accuracy", "handling", "handling_note"})
ENTITY_KEYS = frozenset({"type", "ref", "sharing", "properties"}) | CODE_KEYS
LINK_KEYS = frozenset({"type", "from", "to", "sharing", "properties", "ref"}) | CODE_KEYS
MAX_PROBLEMS_KEPT = 1000  # the count is exact; only the first messages are kept for the report


@dataclass
class ImportSummary:
    """Counts of what the server did (created / updated / unchanged) and what was refused."""

    entities: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)  # POST /v1/events statuses (FtM Payments)
    errors: int = 0
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    duplicates: int = 0  # items named again in the same request: the last mention was sent

    def problem(self, message: str, items: int = 1) -> None:
        self.errors += items
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(message)

    def add_result(self, result: IngestResult) -> None:
        self.entities.update(result.entity_counts)
        self.links.update(result.link_counts)
        self.requests += result.requests
        self.retries += result.retries

    @property
    def pushed(self) -> int:
        return sum(self.entities.values()) + sum(self.links.values()) + sum(self.events.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "entities": dict(self.entities), "links": dict(self.links), "events": dict(self.events),
            "errors": self.errors,
            "problems": self.problems, "requests": self.requests, "retries": self.retries,
            "duplicates": self.duplicates,
        }


class Checker:
    """The server's rules, applied before sending: a bad row is reported with its file and
    line and left out, instead of making the server refuse a whole request of good ones."""

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema or get_schema()

    def entity(self, item: Any) -> list[str]:
        if not isinstance(item, dict):
            return ["an entity is a JSON object"]
        errors: list[str] = _unknown_keys(item, ENTITY_KEYS)
        type_ = item.get("type")
        if not isinstance(type_, str) or type_ not in self.schema.nodes:
            return [f"unknown entity type {type_!r}; known: {', '.join(self.schema.nodes)}"]
        node = self.schema.node(type_)
        ref = item.get("ref")
        if not isinstance(ref, str) or not ref.strip():
            errors.append("ref must be a non-empty string")
        elif len(ref) > MAX_REF:
            errors.append(f"ref longer than {MAX_REF} characters")
        elif node.is_identifier:
            try:
                normalise(node.normaliser or "", ref)
            except IdentifierError as exc:
                errors.append(f"ref {ref!r}: {exc}")
        errors.extend(self._sharing(item))
        errors.extend(self._properties(type_, node.properties, item.get("properties")))
        return errors

    def link(self, item: Any) -> list[str]:
        if not isinstance(item, dict):
            return ["a link is a JSON object"]
        type_ = item.get("type")
        if not isinstance(type_, str) or type_ not in self.schema.relationships:
            return [f"unknown link type {type_!r}; known: {', '.join(self.schema.relationships)}"]
        rel = self.schema.relationship(type_)
        errors: list[str] = _unknown_keys(item, LINK_KEYS)
        ends: list[str] = []
        for side in ("from", "to"):
            end = item.get(side)
            if not isinstance(end, dict) or not isinstance(end.get("type"), str) \
                    or not isinstance(end.get("ref"), str) or not end["ref"].strip():
                errors.append(f"{side} must be {{type, ref}}")
                continue
            if end["type"] not in self.schema.nodes:
                errors.append(f"{side}: unknown type {end['type']!r}")
                continue
            ends.append(end["type"])
            node = self.schema.node(end["type"])
            if node.is_identifier:
                try:
                    normalise(node.normaliser or "", end["ref"])
                except IdentifierError as exc:
                    errors.append(f"{side} ref {end['ref']!r}: {exc}")
        if len(ends) == 2 and not rel.allows(ends[0], ends[1]):
            allowed = ", ".join(f"{a}->{b}" for a, b in sorted(rel.pairs))
            errors.append(f"{type_} does not link {ends[0]} to {ends[1]} (allowed: {allowed})")
        link_ref = item.get("ref")
        if link_ref is not None and (not isinstance(link_ref, str) or len(link_ref) > MAX_REF):
            errors.append(f"a link ref is a string of at most {MAX_REF} characters")
        errors.extend(self._sharing(item))
        errors.extend(self._properties(type_, rel.properties, item.get("properties")))
        return errors

    @staticmethod
    def _sharing(item: dict[str, Any]) -> list[str]:
        sharing = item.get("sharing")
        if sharing is not None and sharing not in SHARING:
            return [f"sharing {sharing!r} is not one of {', '.join(SHARING)}"]
        return []

    @staticmethod
    def _properties(owner: str, declared: dict[str, Any], props: Any) -> list[str]:
        if props is None:
            return []
        if not isinstance(props, dict):
            return ["properties must be an object"]
        errors: list[str] = []
        for name, value in props.items():
            prop = declared.get(name)
            if prop is None:
                known = ", ".join(declared) or "none"
                errors.append(f"{owner} has no property {name!r} (known: {known})")
                continue
            try:
                prop.coerce(value)
            except PropertyError as exc:
                errors.append(f"{owner}.{name}: {exc}")
        return errors


def _unknown_keys(item: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = sorted(set(item) - allowed)
    return [f"unknown fields {unknown} (allowed: {sorted(allowed)})"] if unknown else []


def end_key(schema: Schema, end: dict[str, Any]) -> tuple[str, str]:
    """How the server will identify a link end: identifiers by normalised value."""
    node = schema.nodes.get(end.get("type", ""))
    ref = end.get("ref", "")
    if node is not None and node.is_identifier:
        try:
            return node.name, normalise(node.normaliser or "", ref)
        except IdentifierError:
            return node.name, ref
    return str(end.get("type")), str(ref)


class BatchWriter:
    """Buffers items and pushes them in requests of `chunk_items`.

    Entities are always flushed before links, so a link whose ends appeared earlier in the
    input, or are still in the buffer, finds them stored. Items the checker refuses are
    reported (`where` says the file and line) and left out, as are links to an entity that
    was left out, since the server would refuse the whole request for them.
    """

    def __init__(self, client: IngestClient, summary: ImportSummary, *, chunk_items: int = 5000,
                 check: bool = True, on_pushed: Callable[[int], None] | None = None) -> None:
        self.client = client
        self.summary = summary
        self.chunk_items = max(1, chunk_items)
        self.checker = Checker() if check else None
        self.on_pushed = on_pushed
        self._entities: list[dict[str, Any]] = []
        self._links: list[dict[str, Any]] = []
        self._rejected: set[tuple[str, str]] = set()
        # Where each item sits in the buffer: the service refuses a request that names the
        # same entity or link twice, so a later mention replaces the earlier one (last wins).
        self._entity_at: dict[tuple[str, str], int] = {}
        self._link_at: dict[tuple[Any, ...], int] = {}
        self._events: list[dict[str, Any]] = []  # POST /v1/events items (FtM Payments), sent after the links
        self._event_at: dict[str, int] = {}

    def add_entity(self, item: Any, where: str = "") -> bool:
        if self.checker is not None:
            errors = self.checker.entity(item)
            if errors:
                self._refuse(item, errors, where)
                if isinstance(item, dict) and isinstance(item.get("type"), str) \
                        and isinstance(item.get("ref"), str):
                    self._rejected.add(end_key(self.checker.schema, item))
                return False
        key = self._entity_key(item)
        at = self._entity_at.get(key)
        node = self._schema().nodes.get(str(item.get("type")))
        if at is not None and node is not None and node.is_identifier:
            # An identifier has no owner: what each mention says about it adds up.
            merged = {**(self._entities[at].get("properties") or {}), **(item.get("properties") or {})}
            item = {**item, "properties": merged} if merged else item
        if self._keep(self._entities, self._entity_at, key, item) and len(self._entities) >= self.chunk_items:
            self._flush_entities()
        return True

    def add_link(self, item: Any, where: str = "") -> bool:
        if self.checker is not None:
            errors = self.checker.link(item)
            if not errors and self._rejected:
                for side in ("from", "to"):
                    if end_key(self.checker.schema, item[side]) in self._rejected:
                        errors.append(f"{side} end {item[side]['type']} {item[side]['ref']!r} was left out")
            if errors:
                self._refuse(item, errors, where)
                return False
        if self._keep(self._links, self._link_at, self._link_key(item), item) and len(self._links) >= self.chunk_items:
            self._flush_entities()
            self._flush_links()
        return True

    def _keep(self, items: list[dict[str, Any]], at: dict[Any, int], key: Any, item: dict[str, Any]) -> bool:
        """Buffer `item`: a later mention of a buffered key replaces it (the service refuses a request
        naming the same item twice; last wins). True when the key is new to the buffer."""
        earlier = at.get(key)
        if earlier is not None:
            items[earlier] = item
            self.summary.duplicates += 1
            return False
        at[key] = len(items)
        items.append(item)
        return True

    def add_event(self, event: dict[str, Any], where: str = "") -> bool:
        """An event for POST /v1/events, checked by the service's own event model (an event names
        identifiers only, so it needs no entity pushed before it)."""
        from importers.events_import import contract_errors, event_key  # it builds on this module

        if self.checker is not None:
            errors = contract_errors(event)
            if errors:
                self._refuse(event, errors, where)
                return False
        if self._keep(self._events, self._event_at, event_key(event), event) \
                and len(self._events) >= self.chunk_items:
            self._flush_events()
        return True

    def flush(self) -> None:
        self._flush_entities()
        self._flush_links()
        self._flush_events()

    def _flush_events(self) -> None:
        items, self._events = self._events, []
        self._event_at.clear()
        if not items:
            return
        try:
            result = self.client.push_events(items)
        except ApiRequestError as exc:
            self.summary.problem(f"server refused {len(items)} events: {exc}", items=len(items))
        else:
            self.summary.events.update(result.counts)
            self.summary.requests += result.requests
            self.summary.retries += result.retries
        if self.on_pushed is not None:
            self.on_pushed(len(items))

    def _refuse(self, item: Any, errors: list[str], where: str) -> None:
        if not isinstance(item, dict):
            label = "item"
        else:
            label = f"{item.get('type')} {item.get('ref')!r}" if "ref" in item else str(item.get("type"))
        self.summary.problem(f"{where}: {label}: {'; '.join(errors)}".lstrip(": "))

    def _schema(self) -> Schema:
        return self.checker.schema if self.checker is not None else get_schema()

    def _entity_key(self, item: dict[str, Any]) -> tuple[str, str]:
        return end_key(self._schema(), item)

    def _link_key(self, item: dict[str, Any]) -> tuple[Any, ...]:
        schema = self._schema()
        return (item.get("type"), end_key(schema, item.get("from") or {}), end_key(schema, item.get("to") or {}),
                item.get("ref") or "")

    def _flush_entities(self) -> None:
        items, self._entities = self._entities, []
        self._entity_at.clear()
        if items:
            self._push({"entities": items, "links": []}, len(items))

    def _flush_links(self) -> None:
        items, self._links = self._links, []
        self._link_at.clear()
        if items:
            self._push({"entities": [], "links": items}, len(items))

    def _push(self, batch: dict[str, Any], size: int) -> None:
        try:
            result = self.client.push(batch)
        except ApiRequestError as exc:
            # The server refused a request whole (atomic): count its items and say why.
            self.summary.problem(f"server refused {size} items: {exc}", items=size)
        else:
            self.summary.add_result(result)
        if self.on_pushed is not None:
            self.on_pushed(size)


class CountingLines:
    """Iterate the decoded lines of a file while counting the bytes read (for progress)."""

    def __init__(self, path: str, on_bytes: Callable[[int], None] | None = None) -> None:
        self.path = path
        self.on_bytes = on_bytes

    def __iter__(self) -> Iterator[str]:
        with open(self.path, "rb") as fh:
            for raw in fh:
                if self.on_bytes is not None:
                    self.on_bytes(len(raw))
                yield raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("utf-8")


def numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    return ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
