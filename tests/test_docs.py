"""The repository explains itself: the generated schema page is current, and the documentation's
links stay inside the repository and lead somewhere. No Neo4j needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph_schema.docs import render_markdown

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s#]*)(?:#([^)\s]*))?(?:\s[^)]*)?\)")  # [text](target#anchor "title")


def test_schema_page_is_current() -> None:
    committed = (ROOT / "docs" / "schema.md").read_text()
    assert committed == render_markdown(), (
        "docs/schema.md is stale: run `ofast-graph schema-docs` after changing graph_schema/schema.yaml")


def _anchors(page: Path) -> set[str]:
    """The heading anchors a Markdown renderer gives the page (lower case, punctuation out, spaces as -)."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository(page: Path) -> None:
    text = page.read_text()
    broken = []
    for target, anchor in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # a URL
            continue
        resolved = (page.parent / target).resolve() if target else page
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}#{anchor}")
    # A path in code quotes that climbs out of the repository is a link in all but name.
    broken += [p for p in re.findall(r"`(\.\./[^`\s]*)`", text)
               if not (page.parent / p).resolve().is_relative_to(ROOT)]
    assert not broken, f"{page.relative_to(ROOT)} points outside the repository or at nothing: {broken}"
