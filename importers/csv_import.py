"""CSV import: a folder with one file per type (see docs/importers.md for the columns).

    persons.csv     ref,sharing,first_name,last_name,aliases,birth_date,nationality
    phones.csv      ref                       (the phone number itself)
    links.csv       type,from_type,from_ref,to_type,to_ref,sharing,<link properties>
    member_of.csv   from_type,from_ref,to_type,to_ref,sharing,role   (a file per link type also works)

Empty cells are absent properties; `list[string]` cells are split on `;`; numbers, booleans are
converted per the schema. Entity files are loaded before link files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph_schema import Property, Schema, get_schema
from importers.loader import BatchWriter, CountingLines

CODE_COLUMNS = ("reliability", "accuracy", "handling", "handling_note")  # optional, per row
LINK_COLUMNS = ("type", "from_type", "from_ref", "to_type", "to_ref", "sharing", "ref", *CODE_COLUMNS)
LIST_SEPARATOR = ";"
TRUE = frozenset({"true", "1", "yes", "oui", "y"})
FALSE = frozenset({"false", "0", "no", "non", "n"})


class CsvFormatError(ValueError):
    """A file or column the importer cannot place: nothing is pushed until it is fixed."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def file_names(schema: Schema) -> dict[str, tuple[str, str]]:
    """File stem (lower-case) -> ("entity" | "link", type name)."""
    names: dict[str, tuple[str, str]] = {}
    for name in schema.nodes:
        snake = _snake(name)
        for stem in {snake, _plural(snake), name.lower(), _plural(name.lower())}:
            names[stem] = ("entity", name)
    names["persons"] = names["people"] = ("entity", "Person")
    for rel in schema.relationships:
        names[rel.lower()] = ("link", rel)
    names["links"] = ("link", "")
    return names


@dataclass(frozen=True)
class CsvFile:
    path: Path
    kind: str  # "entity" or "link"
    type: str  # "" for links.csv (the type is a column)


def plan(folder: Path, schema: Schema | None = None) -> list[CsvFile]:
    """The files to load, entities first, or CsvFormatError naming every file it cannot place."""
    schema = schema or get_schema()
    names = file_names(schema)
    files: list[CsvFile] = []
    unknown: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        placed = names.get(path.stem.lower())
        if placed is None:
            unknown.append(path.name)
        else:
            files.append(CsvFile(path, *placed))
    if unknown:
        known = ", ".join(sorted(f"{n}.csv" for n in names))
        raise CsvFormatError(f"cannot tell the type of {', '.join(unknown)}; file names: {known}")
    if not files:
        raise CsvFormatError(f"no .csv files in {folder}")
    return sorted(files, key=lambda f: (f.kind != "entity", f.path.name))


def coerce_cell(prop: Property, raw: str) -> Any:
    """A CSV cell as the schema type wants it; unconvertible text is left for the checker to
    report with the property's expectation."""
    text = raw.strip()
    if prop.type == "list[string]":
        return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]
    if prop.type == "integer":
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text.replace(",", "."))
            except ValueError:
                return text
            return int(as_float) if as_float.is_integer() else text
    if prop.type == "float":
        try:
            return float(text.replace(",", ".")) if "," in text and "." not in text else float(text)
        except ValueError:
            return text
    if prop.type == "boolean":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        return text
    return text


def _check_header(file: CsvFile, header: list[str], schema: Schema) -> None:
    if file.kind == "entity":
        declared = schema.node(file.type).properties
        required = ["ref"]
        fixed: tuple[str, ...] = ("ref", "sharing", *CODE_COLUMNS)
    else:
        declared = {}
        if file.type:
            declared = schema.relationship(file.type).properties
        required = ["from_type", "from_ref", "to_type", "to_ref"] + ([] if file.type else ["type"])
        fixed = LINK_COLUMNS
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in fixed and c not in declared
               and not (file.kind == "link" and not file.type and _any_link_property(schema, c))]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if unknown:
            parts.append(f"unknown columns {unknown} (allowed: {[*fixed, *declared]})")
        raise CsvFormatError(f"{file.path.name}: {'; '.join(parts)}")


def _any_link_property(schema: Schema, column: str) -> bool:
    return any(column in rel.properties for rel in schema.relationships.values())


def _rows(file: CsvFile, on_bytes: Callable[[int], None] | None) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(CountingLines(str(file.path), on_bytes))
    for row in reader:
        yield reader.line_num, {k.strip(): (v or "") for k, v in row.items() if k is not None}


def headers(files: list[CsvFile], schema: Schema) -> None:
    """Check every file's header before anything is pushed."""
    for file in files:
        with open(file.path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
        if header is None:
            raise CsvFormatError(f"{file.path.name}: empty file (a header line is required)")
        _check_header(file, [h.strip() for h in header], schema)


def load_folder(folder: Path, writer: BatchWriter, *, sharing: str | None = None,
                on_bytes: Callable[[int], None] | None = None) -> None:
    """Read every file of the folder into the writer (the caller flushes it)."""
    schema = writer.checker.schema if writer.checker else get_schema()
    files = plan(folder, schema)
    headers(files, schema)
    for file in files:
        for line, row in _rows(file, on_bytes):
            where = f"{file.path.name}:{line}"
            if file.kind == "entity":
                writer.add_entity(_entity(file.type, row, schema, sharing), where)
            else:
                writer.add_link(_link(file.type or row.get("type", "").strip(), row, schema, sharing), where)


def _properties(declared: dict[str, Property], row: dict[str, str], fixed: tuple[str, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for column, raw in row.items():
        if column in fixed or not raw.strip():
            continue
        prop = declared.get(column)
        # A column of another link type in a mixed links.csv: kept so the checker names it.
        props[column] = coerce_cell(prop, raw) if prop is not None else raw.strip()
    return props


def _codes(item: dict[str, Any], row: dict[str, str]) -> None:
    for column in CODE_COLUMNS:
        value = (row.get(column) or "").strip()
        if value:
            item[column] = value


def _entity(type_: str, row: dict[str, str], schema: Schema, sharing: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": type_, "ref": row.get("ref", "").strip()}
    node = schema.node(type_)
    share = row.get("sharing", "").strip() or sharing
    if share and not node.is_identifier:
        item["sharing"] = share
    _codes(item, row)
    props = _properties(node.properties, row, ("ref", "sharing", *CODE_COLUMNS))
    if props:
        item["properties"] = props
    return item


def _link(type_: str, row: dict[str, str], schema: Schema, sharing: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": type_,
        "from": {"type": row.get("from_type", "").strip(), "ref": row.get("from_ref", "").strip()},
        "to": {"type": row.get("to_type", "").strip(), "ref": row.get("to_ref", "").strip()},
    }
    share = row.get("sharing", "").strip() or sharing
    if share:
        item["sharing"] = share
    _codes(item, row)
    if row.get("ref", "").strip():
        item["ref"] = row["ref"].strip()  # tells apart several links of one type between the same ends
    rel = schema.relationships.get(type_)
    props = _properties(rel.properties if rel else {}, row, LINK_COLUMNS)
    if props:
        item["properties"] = props
    return item
