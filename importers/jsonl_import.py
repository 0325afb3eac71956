"""JSON lines import, in the ingest format. Each non-empty line is either

- a whole batch: `{"entities": [...], "links": [...]}` (exactly the body of POST /v1/ingest), or
- one item with a `kind`: `{"kind": "entity", "type": "Person", "ref": "P-1", "properties": {...}}`
  or `{"kind": "link", "type": "USES", "from": {...}, "to": {...}}`.

Both may be mixed in one file. Items are regrouped into requests of the client's size, entities
before links, so a link may come before or after its entities as long as both are in the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from importers.loader import BatchWriter, CountingLines, numbered


def _with_sharing(item: dict[str, Any], sharing: str | None) -> dict[str, Any]:
    if sharing and "sharing" not in item:
        return {**item, "sharing": sharing}
    return item


def load_file(path: Path, writer: BatchWriter, *, sharing: str | None = None,
              on_bytes: Callable[[int], None] | None = None) -> None:
    """Read every line into the writer (the caller flushes it)."""
    schema = writer.checker.schema if writer.checker else None
    for line_no, line in numbered(CountingLines(str(path), on_bytes)):
        where = f"{path.name}:{line_no}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            writer.summary.problem(f"{where}: not JSON: {exc}")
            continue
        if not isinstance(data, dict):
            writer.summary.problem(f"{where}: a line is a JSON object (a batch or an item with `kind`)")
            continue
        if "kind" in data:
            kind = data.pop("kind")
            if kind == "entity":
                is_identifier = schema is not None and data.get("type") in schema.nodes \
                    and schema.node(data["type"]).is_identifier
                writer.add_entity(data if is_identifier else _with_sharing(data, sharing), where)
            elif kind == "link":
                writer.add_link(_with_sharing(data, sharing), where)
            else:
                writer.summary.problem(f"{where}: kind {kind!r} is neither 'entity' nor 'link'")
        elif "entities" in data or "links" in data:
            unknown = set(data) - {"entities", "links"}
            if unknown:
                writer.summary.problem(f"{where}: a batch line has only `entities` and `links`, not {sorted(unknown)}")
                continue
            entities = data.get("entities") or []
            links = data.get("links") or []
            if not isinstance(entities, list) or not isinstance(links, list):
                writer.summary.problem(f"{where}: `entities` and `links` are lists")
                continue
            for i, entity in enumerate(entities):
                ident = schema is not None and isinstance(entity, dict) and entity.get("type") in schema.nodes \
                    and schema.node(entity["type"]).is_identifier
                writer.add_entity(entity if ident or not isinstance(entity, dict) else _with_sharing(entity, sharing),
                                  f"{where} entities[{i}]")
            for i, link in enumerate(links):
                writer.add_link(_with_sharing(link, sharing) if isinstance(link, dict) else link,
                                f"{where} links[{i}]")
        else:
            writer.summary.problem(f"{where}: neither a batch (`entities`/`links`) nor an item (`kind`)")
