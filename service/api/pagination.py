"""Offset pages with their total: the list routes' one way to ask for a page (`Page`, the
`limit` / `offset` query parameters declared once) and to read it with what it is a page of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from neo4j import AsyncManagedTransaction

from service.core.db import Database

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int

    @property
    def params(self) -> dict[str, int]:
        """As the page queries take them (`$limit`, `$offset`)."""
        return {"limit": self.limit, "offset": self.offset}


async def _page(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="Most items (or groups) returned"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items skipped before the page: 50 asks for the second "
                                                            "page of 50"),
) -> PageParams:
    return PageParams(limit, offset)


# `limit=50&offset=100`: a page of a list route, each bound checked (422 naming the parameter).
Page = Annotated[PageParams, Depends(_page)]


async def count_and_page(db: Database, count_query: str, page_query: str, params: dict[str, Any],
                         column: str | None = None) -> tuple[int, list[Any]]:
    """`(total, rows)`: the count query's `total` and the page query's rows (each row's `column`,
    or the whole row as a dict), read in one transaction so that both see the same graph."""

    async def work(tx: AsyncManagedTransaction) -> tuple[int, list[Any]]:
        counted = await (await tx.run(count_query, params)).single()
        result = await tx.run(page_query, params)
        rows = [r[column] async for r in result] if column else [r.data() async for r in result]
        return (counted["total"] if counted else 0), rows

    return await db.read(work)
