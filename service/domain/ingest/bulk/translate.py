"""Partner files into import files, through the API's own batch translation.

The importers' readers (`importers.csv_import`, `jsonl_import`, `ftm`) hand items to a
`BulkWriter` instead of an HTTP client; it cuts them into chunks, and each chunk goes through
`build_plan` — the translation `POST /v1/ingest` uses (ids, normalised identifiers, codes,
content hash, search text, minor flag) — in worker processes, which format the lines. The
parent applies the results in input order, as a sequence of pushes would land:

- an item seen for the first time becomes a line of its file;
- an item seen again with the same content is `unchanged`; with other content (an identifier
  with properties it did not have) it is a correction, replayed through the API's write path
  once the import is done (`service.domain.ingest.bulk.after`), so its version and hooks are
  the API's;
- a link whose own end has not been seen waits for the end of the agency's input, then is
  written or refused (`no such entity of yours`), as the API would refuse it;
- an item the translation refuses is reported with its file and line and left out (the API
  would refuse the request it is in; the importer leaves it out the same way).

The parent keeps one small record per item id (its content hash) to tell these apart; lines,
corrections and patches go to files as they come.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import IO, Any, cast

from graph_schema import Schema, get_schema
from importers.client import IngestClient
from importers.loader import BatchWriter, Checker, ImportSummary
from service.access.policy import Policy
from service.domain.ingest.bulk.files import (
    ImportFiles,
    Layout,
    Stamp,
    entity_values,
    format_line,
    identifier_values,
    layouts,
    link_values,
)
from service.domain.ingest.models import EntityRow, LinkRow, Plan, build_plan

CHUNK_ITEMS = 2000
MULTI = "\x00several"  # an identifier linked by entities of more than one agency

# (index, kind, id, type, state, line, patch): kind "e" owned entity (state: content hash),
# "i" identifier (state: its properties, None when it has none), "x" identifier named only as a link end.
NodeOut = tuple[int, str, str, str, Any, str, dict[str, Any] | None]
# (index, id, type, content hash, own end ids, line, patch, identifier linked to an own entity or None)
LinkOut = tuple[int, str, str, str, tuple[str, ...], str, dict[str, Any] | None, str | None]
ErrorOut = tuple[str, int, list[str]]


@dataclass
class ChunkOut:
    nodes: list[NodeOut]
    links: list[LinkOut]
    errors: list[ErrorOut]


class _Context:
    """What translating a chunk needs, once per process."""

    def __init__(self, policy: Policy, schema: Schema | None = None) -> None:
        self.policy = policy
        self.schema = schema or get_schema()
        self.layouts = layouts(self.schema)
        self._suffixes: dict[tuple[str, str, bool], str] = {}

    def suffix(self, layout: Layout, stamp: Stamp, minor: bool = False) -> str:
        key = (stamp.batch, layout.key, minor)
        text = self._suffixes.get(key)
        if text is None:
            text = self._suffixes[key] = layout.suffix(stamp, minor)
        return text


_context: _Context | None = None


def _init_worker(policy: Policy) -> None:
    global _context
    _context = _Context(policy)


def _worker_chunk(agency: str, stamp: Stamp, entities: list[Any], links: list[Any]) -> ChunkOut:
    assert _context is not None
    return translate_chunk(_context, agency, stamp, entities, links)


def _plan_errors(plan: Plan) -> list[dict[str, Any]]:
    errors = list(plan.errors)
    for row in plan.entities:  # the API's ownership step checks a given id the same way
        if row.explicit_id is not None and row.explicit_id != row.id:
            errors.append({"section": "entities", "index": row.index, "field": "id",
                           "message": "does not match type and ref: ids are computed by the service"})
    return errors


def translate_chunk(ctx: _Context, agency: str, stamp: Stamp, entities: list[Any], links: list[Any]) -> ChunkOut:
    """The lines of one chunk. A chunk with an invalid item is translated item by item, so only
    that item is left out (and an entity named twice is two mentions, not a refused batch)."""
    plan = build_plan({"entities": entities, "links": links}, ctx.schema, ctx.policy, agency)
    if not _plan_errors(plan):
        return _lines(ctx, stamp, [plan])
    plans: list[Plan] = []
    errors: list[ErrorOut] = []
    for section, items in (("entities", entities), ("links", links)):
        for index, item in enumerate(items):
            one = build_plan({section: [item]}, ctx.schema, ctx.policy, agency)
            problems = _plan_errors(one)
            if problems:
                errors.append((section, index, [f"{p['field']}: {p['message']}" if p.get("field") else p["message"]
                                                for p in problems]))
                continue
            for row in one.entities:
                row.index = index
            for link in one.links:
                link.index = index
            plans.append(one)
    out = _lines(ctx, stamp, plans)
    out.errors = errors
    return out


def _lines(ctx: _Context, stamp: Stamp, plans: list[Plan]) -> ChunkOut:
    nodes: list[NodeOut] = []
    links: list[LinkOut] = []
    for plan in plans:
        for row in plan.entities:
            nodes.append(_node(ctx, row, stamp, "i" if row.identifier else "e"))
        for row in plan.extra_identifiers.values():
            nodes.append(_node(ctx, row, stamp, "x"))
    for plan in plans:
        for link in plan.links:
            links.append(_link(ctx, link, stamp))
    return ChunkOut(nodes, links, [])


def _node(ctx: _Context, row: EntityRow, stamp: Stamp, kind: str) -> NodeOut:
    layout = ctx.layouts[row.type]
    if row.identifier:
        line, patch = format_line(layout, identifier_values(row))
        return (row.index, kind, row.id, row.type, row.props or None, line + ctx.suffix(layout, stamp), patch)
    line, patch = format_line(layout, entity_values(row, ctx.schema.nodes[row.type].properties))
    return (row.index, kind, row.id, row.type, row.hash, line + ctx.suffix(layout, stamp, bool(row.minor)), patch)


def _link(ctx: _Context, link: LinkRow, stamp: Stamp) -> LinkOut:
    layout = ctx.layouts[link.type]
    line, patch = format_line(layout, link_values(link, ctx.schema.relationships[link.type].properties))
    line = f'"{link.src}","{link.dst}",{line}{ctx.suffix(layout, stamp)}'
    nodes = ctx.schema.nodes
    src_ident, dst_ident = nodes[link.src_type].is_identifier, nodes[link.dst_type].is_identifier
    identifier = (link.src if src_ident else link.dst) if src_ident != dst_ident else None
    return (link.index, link.id, link.type, link.hash, tuple(end for _, end in link.owned_ends), line, patch,
            identifier)


# --- the parent -----------------------------------------------------------------------------


@dataclass
class Totals:
    """What the translation found, for the summary."""

    summary: ImportSummary = field(default_factory=ImportSummary)  # created/unchanged/updated, problems
    nodes: Counter[str] = field(default_factory=Counter)  # lines by node type
    links: Counter[str] = field(default_factory=Counter)  # lines by relationship type
    items: int = 0  # entities, links and events read
    events: int = 0  # set aside for the events' write path (`after.replay_events`)
    corrections: int = 0
    patches: int = 0


class _Spill:
    """JSON lines appended to a file as they come (corrections, patches): never held in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None

    def add(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def read(self) -> Iterable[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)


@dataclass
class _Chunk:
    agency: str
    entities: list[Any] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)
    entity_where: list[str] = field(default_factory=list)
    link_where: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entities) + len(self.links)


class Translator:
    """Applies chunk results in input order (see the module docstring); `workers` processes
    translate chunks meanwhile (0: in this process)."""

    def __init__(self, folder: Path, policy: Policy, workers: int) -> None:
        self.ctx = _Context(policy)
        self.files = ImportFiles(folder / "import", self.ctx.layouts)
        self.corrections = _Spill(folder / "corrections.jsonl")
        self.patches = _Spill(folder / "patches.jsonl")
        self.events = _Spill(folder / "events.jsonl")
        self.totals = Totals()
        self.nodes: dict[str, Any] = {}  # id -> hash(content hash) | identifier properties | None
        self.links: dict[str, int] = {}  # id -> hash(content hash)
        self.identifier_agency: dict[str, str] = {}  # identifier id -> agency linking it, or MULTI
        self.persons: dict[str, list[str]] = {}  # agency -> its persons' ids
        self.entity_count: Counter[str] = Counter()  # agency -> entities written
        self._pending: list[tuple[LinkOut, Any, str]] = []
        self._inflight: deque[tuple[_Chunk, AsyncResult[ChunkOut]]] = deque()
        self._pool: Pool | None = None
        if workers > 0:
            self._pool = multiprocessing.get_context("forkserver").Pool(workers, _init_worker, (policy,))
        self._max_inflight = 2 * max(workers, 1)
        self.agency = ""
        self.stamp: Stamp | None = None

    # -- per agency ---------------------------------------------------------------------------

    def begin(self, agency: str, stamp: Stamp) -> None:
        self.agency, self.stamp = agency, stamp
        self.persons.setdefault(agency, [])

    def submit(self, chunk: _Chunk) -> None:
        assert self.stamp is not None
        self.totals.items += len(chunk)
        if self._pool is None:
            self._apply(chunk, translate_chunk(self.ctx, chunk.agency, self.stamp, chunk.entities, chunk.links))
            return
        result = self._pool.apply_async(_worker_chunk, (chunk.agency, self.stamp, chunk.entities, chunk.links))
        self._inflight.append((chunk, result))
        while len(self._inflight) > self._max_inflight:
            self._collect()

    def _collect(self) -> None:
        chunk, result = self._inflight.popleft()
        self._apply(chunk, result.get())

    def end(self) -> None:
        """The agency's input is read: apply what is in flight, then the links that waited."""
        while self._inflight:
            self._collect()
        pending, self._pending = self._pending, []
        written: dict[str, list[str]] = {}
        for link, item, where in pending:
            if all(end in self.nodes for end in link[4]):
                self._link(link, item, written)
            else:
                self.totals.summary.problem(f"{where}: {item.get('type')} link: an end is no such entity of yours, "
                                            "neither in the input nor stored")
        self._write(written)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
        self.files.close()
        self.corrections.close()
        self.patches.close()
        self.events.close()

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        self.close()

    def add_event(self, agency: str, event: dict[str, Any]) -> None:
        self.totals.items += 1
        self.totals.events += 1
        self.events.add({"agency": agency, "event": event})

    # -- applying a chunk's result, in input order ----------------------------------------------

    def _apply(self, chunk: _Chunk, out: ChunkOut) -> None:
        summary = self.totals.summary
        for section, index, messages in out.errors:
            items, wheres = ((chunk.entities, chunk.entity_where) if section == "entities"
                             else (chunk.links, chunk.link_where))
            item = items[index]
            label = f"{item.get('type')} {item.get('ref')!r}" if isinstance(item, dict) and "ref" in item \
                else str(item.get("type") if isinstance(item, dict) else "item")
            summary.problem(f"{wheres[index]}: {label}: {'; '.join(messages)}")
        written: dict[str, list[str]] = {}
        nodes = self.nodes
        for node in out.nodes:
            index, kind, id_, type_, state, line, patch = node
            known = nodes.get(id_, _UNSEEN)
            if known is _UNSEEN:
                nodes[id_] = hash(state) if kind == "e" else state
                written.setdefault(type_, []).append(line)
                if patch:
                    self.patches.add({"kind": "node", "type": type_, "id": id_, "p": patch})
                if kind == "e":
                    self.entity_count[self.agency] += 1
                    if type_ == "Person":
                        self.persons[self.agency].append(id_)
                if kind != "x":
                    summary.entities["created"] += 1
                continue
            if kind == "x":
                continue
            if kind == "e":
                changed = known != hash(state)
                if changed:
                    nodes[id_] = hash(state)
            else:
                merged = {**(known or {}), **(state or {})}
                changed = merged != (known or {})
                if changed:
                    nodes[id_] = merged
            if changed:
                self._correct("entity", id_, chunk.entities[index])
            summary.entities["updated" if changed else "unchanged"] += 1
        for link in out.links:
            if all(end in nodes for end in link[4]):
                self._link(link, chunk.links[link[0]], written)
            else:
                self._pending.append((link, chunk.links[link[0]], chunk.link_where[link[0]]))
        self._write(written)

    def _link(self, link: LinkOut, item: Any, written: dict[str, list[str]]) -> None:
        _, id_, type_, content_hash, _, line, patch, identifier = link
        summary = self.totals.summary
        known = self.links.get(id_)
        if known is None:
            self.links[id_] = hash(content_hash)
            written.setdefault(type_, []).append(line)
            if patch:
                self.patches.add({"kind": "link", "type": type_, "id": id_, "p": patch})
            if identifier is not None:
                seen = self.identifier_agency.get(identifier)
                if seen is None:
                    self.identifier_agency[identifier] = self.agency
                elif seen != self.agency:
                    self.identifier_agency[identifier] = MULTI
            summary.links["created"] += 1
        elif known != hash(content_hash):
            self.links[id_] = hash(content_hash)
            self._correct("link", id_, item)
            summary.links["updated"] += 1
        else:
            summary.links["unchanged"] += 1

    def _correct(self, kind: str, id_: str, item: Any) -> None:
        self.corrections.add({"agency": self.agency, "kind": kind, "id": id_, "item": item})

    def _write(self, written: dict[str, list[str]]) -> None:
        for key, lines in written.items():
            self.files.write(key, lines)
            if self.ctx.layouts[key].relationship:
                self.totals.links[key] += len(lines)
            else:
                self.totals.nodes[key] += len(lines)

    def shared_identifiers(self) -> list[str]:
        """Identifiers linked by entities of more than one agency: the shared-identifier alerts' candidates."""
        return sorted(i for i, a in self.identifier_agency.items() if a is MULTI)


_UNSEEN = object()


class BulkWriter(BatchWriter):
    """What the importers' readers write to: chunks for the translator instead of requests.
    The readers' own parsing (CSV cells, JSON lines, FtM mapping) is kept; the checks are
    `build_plan`'s, in the translator."""

    def __init__(self, translator: Translator, agency: str, chunk_items: int = CHUNK_ITEMS,
                 on_items: Callable[[int], None] | None = None) -> None:
        super().__init__(cast(IngestClient, None), translator.totals.summary, chunk_items=chunk_items, check=False)
        self.checker = Checker(translator.ctx.schema)  # the readers ask it for the schema only
        self.translator = translator
        self.agency = agency
        self.on_items = on_items
        self._chunk = _Chunk(agency)

    def add_entity(self, item: Any, where: str = "") -> bool:
        return self._add(self._chunk.entities, self._chunk.entity_where, item, where)

    def add_link(self, item: Any, where: str = "") -> bool:
        return self._add(self._chunk.links, self._chunk.link_where, item, where)

    def add_event(self, event: dict[str, Any], where: str = "") -> bool:
        """Events (an FtM Payment's transfer) have no import file: checked by the events' model now,
        set aside, and written through the events' own write path once the import is done."""
        from importers.events_import import contract_errors

        errors = contract_errors(event)
        if errors:
            self.summary.problem(f"{where}: {event.get('kind')} event {event.get('ref')!r}: {'; '.join(errors)}")
            return False
        self.translator.add_event(self.agency, event)
        if self.on_items is not None:
            self.on_items(1)
        return True

    def _add(self, items: list[Any], wheres: list[str], item: Any, where: str) -> bool:
        items.append(item)
        wheres.append(where)
        if len(self._chunk) >= self.chunk_items:
            self.flush()
        return True

    def flush(self) -> None:
        chunk, self._chunk = self._chunk, _Chunk(self.agency)
        if len(chunk):
            self.translator.submit(chunk)
            if self.on_items is not None:
                self.on_items(len(chunk))
