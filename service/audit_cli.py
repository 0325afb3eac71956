"""`ofast-graph audit ...`: checks on the audit trail from the command line."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from service.audit import verify_chain
from service.db import Database, make_driver
from service.settings import get_settings

audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


async def _verify() -> tuple[bool, int, str]:
    settings = get_settings()
    db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
    try:
        return await verify_chain(db)
    finally:
        await db.close()


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Walk the whole chain; exit 0 when intact, 1 at the first break (which is printed)."""
    ok, checked, message = asyncio.run(_verify())
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checked": checked, "message": message}))
    else:
        typer.echo(("OK: " if ok else "BROKEN: ") + message)
    if not ok:
        raise typer.Exit(1)
