"""The import files of `neo4j-admin database import full`: one node file per label set, one
relationship file per type, each with a typed header, holding the properties the API's upserts
store (`service.queries.ingest`: `upsert_entities`, `upsert_identifiers`, `upsert_links`, and
the `p` map `service.domain.ingest.write` builds for them).

Every string is quoted (a quoted empty string stays an empty string, an empty cell is no
property), lists are joined with `ARRAY_DELIMITER`. What a cell cannot carry — an empty list,
a list element that is empty or holds the delimiter — is left out of the line and returned as a
patch, set by Cypher once the import is done. A line holding a line break goes to the file's
multi-line twin, the only files the importer parses in its slower multi-line mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_schema import Property, Schema
from service.domain.ingest.models import EntityRow, LinkRow

ARRAY_DELIMITER = "\x1f"  # the ASCII unit separator: never in a name, a number or a date
ADMIN_ARRAY_DELIMITER = "U+001F"  # the same, spelt for the admin tool's option
_HEADER_TYPES = {"integer": "long", "float": "double", "boolean": "boolean", "list[string]": "string[]"}

# What the upserts set besides the declared properties, in file order: first what differs from
# item to item, then what every item of one agency's load shares (`Stamp`), written once per file.
ENTITY_COLUMNS = ("id", "ref", "sharing", "content_hash", "search_text", "reliability", "accuracy", "handling",
                  "handling_note")
ENTITY_STAMP = ("type", "owner_agency", "owner_unit", "created_at", "updated_at", "version", "source_system",
                "batch_id", "review_due")
IDENTIFIER_COLUMNS = ("id", "value", "search_text")
IDENTIFIER_STAMP = ("type", "created_at", "updated_at", "batch_id")
LINK_COLUMNS = ("id", "sharing", "content_hash", "reliability", "accuracy", "handling", "handling_note")
LINK_STAMP = ("owner_agency", "owner_unit", "created_at", "updated_at", "version", "source_system", "batch_id")
_TYPED = {"id": "id:ID", "version": "version:long", "minor": "minor:boolean"}


def _header_name(name: str, prop: Property | None, relationship: bool) -> str:
    if prop is None:
        return name if relationship and name == "id" else _TYPED.get(name, name)
    kind = _HEADER_TYPES.get(prop.type)
    return f"{name}:{kind}" if kind else name


@dataclass(frozen=True)
class Stamp:
    """What every line of one agency's load shares: owner, provenance, time, review dates."""

    agency: str
    unit: str
    source: str | None
    batch: str
    now: str
    review_due: str
    minor_review_due: str

    def values(self, type_: str, minor: bool) -> dict[str, Any]:
        """The stamp columns' values, as the upserts and the review-date hook set them."""
        return {"type": type_, "owner_agency": self.agency, "owner_unit": self.unit, "created_at": self.now,
                "updated_at": self.now, "version": 1, "source_system": self.source, "batch_id": self.batch,
                "review_due": self.minor_review_due if minor else self.review_due}


@dataclass(frozen=True)
class Layout:
    """The columns of one import file: a node label set or a relationship type."""

    key: str  # file stem: the node or relationship type
    target: str  # `Node:Entity:Person` (labels) or `USES` (relationship type)
    relationship: bool
    columns: tuple[str, ...]  # per item
    stamp: tuple[str, ...]  # per agency
    lists: frozenset[str]
    header: str

    @classmethod
    def make(cls, key: str, target: str, fixed: tuple[str, ...], declared: dict[str, Property],
             stamp: tuple[str, ...], relationship: bool = False) -> Layout:
        columns = (*fixed, *declared)
        names = [_header_name(c, declared.get(c), relationship) for c in (*columns, *stamp)]
        if relationship:
            names = [":START_ID", ":END_ID", *names]
        lists = frozenset(n for n, p in declared.items() if p.type == "list[string]")
        return cls(key, target, relationship, columns, stamp, lists, ",".join(names))

    def suffix(self, stamp: Stamp, minor: bool = False) -> str:
        """The stamp cells of this file's lines, with their leading comma."""
        values = stamp.values(self.key, minor)
        return "".join("," + _cell(values[c]) for c in self.stamp)


def layouts(schema: Schema) -> dict[str, Layout]:
    """Every file's layout, by node or relationship type name (the schema has no name twice)."""
    out: dict[str, Layout] = {}
    for name, node in schema.nodes.items():
        if node.is_identifier:
            out[name] = Layout.make(name, f"Node:Identifier:{name}", IDENTIFIER_COLUMNS, node.properties,
                                    IDENTIFIER_STAMP)
        else:
            fixed = (*ENTITY_COLUMNS, "minor") if name == "Person" else ENTITY_COLUMNS
            out[name] = Layout.make(name, f"Node:Entity:{name}", fixed, node.properties, ENTITY_STAMP)
    for name, rel in schema.relationships.items():
        out[name] = Layout.make(name, name, LINK_COLUMNS, rel.properties, LINK_STAMP, relationship=True)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"' if '"' in value else '"' + value + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = ARRAY_DELIMITER.join(value)
    return '"' + text.replace('"', '""') + '"'


def _unrepresentable(value: Any) -> bool:
    return not value or any(not v or ARRAY_DELIMITER in v for v in value)


def format_line(layout: Layout, values: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(the per-item cells of a line, without the stamp's; the properties they could not carry or None)."""
    patch: dict[str, Any] | None = None
    for name in layout.lists:
        value = values.get(name)
        if value is not None and _unrepresentable(value):
            patch = patch or {}
            patch[name] = value
            values[name] = None
    # Strings, most cells, without a call each.
    cells = [("" if v is None else _cell(v)) if type(v) is not str else
             ('"' + v + '"' if '"' not in v else _cell(v)) for v in map(values.get, layout.columns)]
    return ",".join(cells), patch


def entity_values(row: EntityRow, declared: dict[str, Property]) -> dict[str, Any]:
    """An owned entity's per-item properties, as `upsert_entities` sets them (`p`, id, ref, minor)."""
    values: dict[str, Any] = dict.fromkeys(declared)
    values.update(row.props, sharing=row.sharing, content_hash=row.hash, search_text=row.search, **row.codes)
    values.update(id=row.id, ref=row.ref)
    if row.type == "Person":
        values["minor"] = row.minor
    return values


def identifier_values(row: EntityRow) -> dict[str, Any]:
    """An identifier's per-item properties, as `upsert_identifiers` sets them."""
    return {**row.props, "id": row.id, "value": row.ref, "search_text": row.ref}


def link_values(link: LinkRow, declared: dict[str, Property]) -> dict[str, Any]:
    """A link's per-item properties, as `upsert_links` sets them (the ends are the line's first two cells)."""
    values: dict[str, Any] = dict.fromkeys(declared)
    values.update(link.props, sharing=link.sharing, content_hash=link.hash, **link.codes)
    values["id"] = link.id
    return values


class ImportFiles:
    """The data files under `folder`, written as lines come; headers apart, so each data file
    is plain lines. `arguments()` names them for the admin tool."""

    def __init__(self, folder: Path, layouts: dict[str, Layout]) -> None:
        self.folder = folder
        self.layouts = layouts
        self._open: dict[tuple[str, bool], Any] = {}
        self.lines: dict[str, int] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str, multiline: bool) -> Path:
        return self.folder / f"{key}{'.multiline' if multiline else ''}.csv"

    def write(self, key: str, lines: list[str]) -> None:
        """Lines of one file, each without its end; those with a line break go to the twin."""
        plain = [line for line in lines if "\n" not in line and "\r" not in line]
        if len(plain) < len(lines):
            self._file(key, True).write("".join(line + "\n" for line in lines if "\n" in line or "\r" in line))
        if plain:
            self._file(key, False).write("\n".join(plain) + "\n")
        self.lines[key] = self.lines.get(key, 0) + len(lines)

    def _file(self, key: str, multiline: bool) -> Any:
        fh = self._open.get((key, multiline))
        if fh is None:
            fh = self._open[(key, multiline)] = open(self.path(key, multiline), "w", encoding="utf-8",  # noqa: SIM115
                                                     buffering=1 << 20)
        return fh

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()
        self._open.clear()

    def files(self) -> Iterator[tuple[Layout, Path, bool]]:
        for key in self.layouts:
            for multiline in (False, True):
                if self.path(key, multiline).exists():
                    yield self.layouts[key], self.path(key, multiline), multiline

    def arguments(self) -> list[str]:
        """`--nodes=…` / `--relationships=…` for every file written, `--multiline-fields` for the twins."""
        args = [f"--array-delimiter={ADMIN_ARRAY_DELIMITER}"]
        multiline: list[str] = []
        for layout, path, is_multiline in self.files():
            header = self.folder / f"{layout.key}.header.csv"
            header.write_text(layout.header + "\n", encoding="utf-8")
            kind = "relationships" if layout.relationship else "nodes"
            args.append(f"--{kind}={layout.target}={header},{path}")
            if is_multiline:
                multiline.append(str(path))
        if multiline:
            args += [f"--multiline-fields={','.join(multiline)}", "--multiline-fields-format=v2"]
        return args
