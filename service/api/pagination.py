"""Offset pages with their total: the list routes' one way to read a page and what it is a page of."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from service.core.db import Database


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
