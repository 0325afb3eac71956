"""The repository explains itself: the generated schema page is current. No Neo4j needed."""

from __future__ import annotations

from pathlib import Path

from graph_schema.docs import render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_schema_page_is_current() -> None:
    committed = (ROOT / "docs" / "schema.md").read_text()
    assert committed == render_markdown(), (
        "docs/schema.md is stale: run `ofast-graph schema-docs` after changing graph_schema/schema.yaml")
