"""`neo4j-admin database import full` on a local instance (`service.neo4j_local`), with the
admin tool the instance already runs from its Maven jars (`org.neo4j.cli.AdminTool`, as
`LocalNeo4j` sets the initial password). The server is stopped for the import and started
again after it; the destination is overwritten only once it has been found empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import neo4j

from service.neo4j_local.manager import LocalNeo4j
from service.queries.bulk import STORED_NODES


class BulkLoadError(RuntimeError):
    """The load cannot go on; the message says why and what to do."""


def stored_nodes(server: LocalNeo4j, database: str) -> int:
    """How many nodes the instance's database holds besides the schema's bookkeeping (0: empty).
    A database never created is empty without starting the server."""
    if not (server.home / "data" / "databases" / database).exists():
        return 0
    server.start()
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password()),
                                    notifications_min_severity="OFF") as driver:
        records, _, _ = driver.execute_query(STORED_NODES, database_=database)
    return int(records[0]["n"])


def check_empty(server: LocalNeo4j, database: str) -> None:
    count = stored_nodes(server, database)
    if count:
        raise BulkLoadError(
            f"database {database!r} of instance {server.name!r} (bolt port {server.bolt_port}) holds {count:,} nodes: "
            "bulk-load only fills an empty database (a new site, a legacy file's first load). Push into a "
            "database in use with `ofast-graph import`, or load into a new instance (--instance NAME --port P)")


def run_import(server: LocalNeo4j, database: str, arguments: list[str], report: Path, *,
               heap: str, off_heap: str, log: Path) -> None:
    """Stop the server, import (replacing the empty database), leave the server stopped."""
    server.fetch()
    server.write_conf()
    server._set_initial_password()
    server.stop()
    env = dict(os.environ, NEO4J_HOME=str(server.home), NEO4J_CONF=str(server.home / "conf"))
    cmd = [server._java(), f"-Xmx{heap}", "-cp", f"{server.lib_dir}/*", "org.neo4j.cli.AdminTool",
           "database", "import", "full", *arguments, "--overwrite-destination=true",
           f"--max-off-heap-memory={off_heap}", f"--report-file={report}", database]
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=report.parent)
    if proc.returncode != 0:
        # The admin tool leaves the store half-written; it was empty before, so nothing is lost
        # by removing it: the server creates it anew at its next start.
        for folder in (server.home / "data" / "databases" / database, server.home / "data" / "transactions" / database):
            shutil.rmtree(folder, ignore_errors=True)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BulkLoadError(f"neo4j-admin database import failed (exit {proc.returncode}); the database is left "
                            f"empty; the tool's log, {log}:\n{tail}")
