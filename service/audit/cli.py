"""`ofast-graph audit ...`: checks on the audit trail from the command line."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from service.audit.trail import journal_dir, replay_orphans, verify_chain
from service.core.db import Database, make_driver
from service.core.settings import get_settings

audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


async def _verify() -> tuple[bool, int, str, int]:
    settings = get_settings()
    db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
    try:
        # Journals of API processes that died before moving their records go into the chain first.
        replayed = await replay_orphans(db, journal_dir(settings))
        return (*await verify_chain(db), replayed)
    finally:
        await db.close()


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Replay journals left by dead API processes, then walk the whole chain; exit 0 when intact,
    1 at the first break (which is printed)."""
    ok, checked, message, replayed = asyncio.run(_verify())
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checked": checked, "message": message, "replayed": replayed}))
    else:
        if replayed:
            typer.echo(f"replayed {replayed} records from journals of stopped processes")
        typer.echo(("OK: " if ok else "BROKEN: ") + message)
    if not ok:
        raise typer.Exit(1)
