"""The local durable journal: where an audit record is safe before it reaches the Neo4j chain.

Every process appends its records to its own files under `<state_dir>/audit-journal/<key of the
Neo4j URI and database>/` (JSON lines, `fdatasync`'d). A process holds an exclusive `flock` on
each file it writes; a journal file nobody holds belongs to a process that is gone (crashed or
killed) and is replayed into the chain by the next one to look (`service.audit.verify`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from service.core.settings import Settings

log = structlog.get_logger(__name__)

JOURNAL_SUFFIX = ".journal"
SEGMENT_BYTES = 16 * 2**20  # a journal file that grows past this is sealed and a new one started
TRUNCATE_BYTES = 2**20  # a journal file whose records are all in Neo4j is emptied past this size


def journal_dir(settings: Settings) -> Path:
    """The journals of the processes writing to this Neo4j database: one folder per (URI, database),
    so a journal is only ever replayed into the chain it was meant for."""
    key = hashlib.sha256(f"{settings.neo4j_uri}|{settings.neo4j_database}".encode()).hexdigest()[:16]
    return settings.state_dir / "audit-journal" / key


def encode(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in records)


def write_synced(fd: int, data: bytes) -> None:
    """Append `data` to the file and return once it is on disk."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fdatasync(fd)


def read_records(fd: int) -> list[dict[str, Any]]:
    """The records of a journal file; a torn last line (a crash mid-write) is skipped."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    records = []
    for line in b"".join(chunks).split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            log.warning("audit_journal_torn_line", bytes=len(line))
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            records.append(record)
    return records


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Segment:
    """One journal file of this process, locked for as long as the process has it open."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = directory / f"{name}.tmp"
        self.path = directory / f"{name}{JOURNAL_SUFFIX}"
        self.fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        # Locked before it gets the name recovery looks for: no other process takes it for orphaned.
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(tmp, self.path)
        _fsync_dir(directory)
        self.size = 0
        self.written = 0  # records durable in the file
        self.moved = 0  # of those, records in the Neo4j chain
        self.sealed = False
        self.closed = False

    def reclaim(self) -> None:
        """Everything in the file is in Neo4j: empty it, or delete it once sealed."""
        if self.closed or self.moved < self.written:
            return
        if self.sealed:
            self.close(delete=True)
        elif self.size >= TRUNCATE_BYTES:  # not at every move: an ext4 truncate costs milliseconds
            os.ftruncate(self.fd, 0)  # no sync needed: records coming back would be moved once
            self.size = self.written = self.moved = 0

    def close(self, delete: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if delete:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self.fd)  # releases the lock


def journals(directory: Path) -> list[Path]:
    """Every journal file of the folder, oldest first (a live process's own among them)."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"*{JOURNAL_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))


@contextlib.contextmanager
def claim_orphan(path: Path) -> Iterator[int | None]:
    """The journal at `path` opened and locked when no live process holds it, else None."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # a live process owns it
            return
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        yield fd if same else None  # else replayed and deleted by another process meanwhile
    finally:
        os.close(fd)


def remove_unnamed(directory: Path) -> None:
    """Delete the files created but never named a journal (a crash in between): they hold no record."""
    for tmp in directory.glob("*.tmp") if directory.is_dir() else []:
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tmp.unlink(missing_ok=True)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
