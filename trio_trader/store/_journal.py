"""The queue's redo log: every queued write, appended to ``<db>.queue`` before it is queued.

The writer thread commits off the send path, so a killed bot may die with writes still
queued — rows of orders it sent. Each write is therefore also appended to this file, one
JSON line ``[seq, [[sql, params, expect_one], …]]`` (orjson, UTF-8: ``_json.py``), with a
plain ``os.write`` on the Trio thread (a few µs, no fsync): the kernel keeps what was
written when the *process* dies,
however it dies. Each batch the writer commits also stores the highest ``seq`` it applied
(``meta`` key ``queue_seq``), in the same transaction. The next trading run replays the
lines above that mark (``replay``) before anything else, so after a process crash the
database is exactly what the dead run had queued: nothing is missing, nothing waits.

A crash of the *machine* can lose the file's unsynced tail as well; the session mark
(``Repository.begin_session``) holds the boot id, so the next run knows when that may have
happened and lets start-up reconciliation wait for the ledger instead.

Only the trading run (after it holds the database's lock) writes and replays the log:
reports, the dashboard and the CLI open the database without it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Final

from trio_trader.store import _json

logger = logging.getLogger(__name__)

#: one statement of a write: SQL, its parameters, and whether it must change one row
Statement = tuple[str, tuple[Any, ...], bool]
#: ``meta`` key of the highest journal sequence number the database has applied
APPLIED_KEY: Final = "queue_seq"
SET_APPLIED: Final = "INSERT OR REPLACE INTO meta (key, value) VALUES ('queue_seq', ?)"
#: the log is emptied when the writer is idle and it has grown past this many bytes
ROTATE_BYTES: Final = 1 << 20
BOOT_ID_PATH: Final = Path("/proc/sys/kernel/random/boot_id")


class ReplayError(RuntimeError):
    """A logged write could not be applied again; nothing of the replay is kept."""


class NoRowChanged(LookupError):
    """A statement that must change one row (an UPDATE by id) changed none."""


def journal_path(db_path: str) -> Path:
    return Path(f"{db_path}.queue")


def boot_id() -> str:
    """This machine boot's id (Linux), or ``"unknown"``: a new one means the page cache,
    and with it the log's unsynced tail, may be gone."""
    try:
        return BOOT_ID_PATH.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


class Journal:
    """The open log of one trading run (see the module docstring)."""

    def __init__(self, path: Path, *, next_seq: int) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()
        self._next = next_seq
        self._last = next_seq - 1
        self._size = os.fstat(self._fd).st_size
        self._seal_torn_tail()

    def _seal_torn_tail(self) -> None:
        """End a fragment the last run left (its ``write`` cut by the kill) with a newline.

        SIGKILL can stop a regular file's ``write`` between two pages, so the log may end
        mid-line. That write's order was never sent (the send follows the write), so the
        fragment is skipped as unreadable; but a line appended right after it would be glued
        onto it and skipped too — a sent order's row lost at the next kill.
        """
        if self._size == 0:
            return
        with open(self.path, "rb") as log:
            log.seek(-1, os.SEEK_END)
            if log.read(1) == b"\n":
                return
        os.write(self._fd, b"\n")
        self._size += 1

    def append(self, statements: list[Statement]) -> int:
        """Log one write (Trio thread); returns its sequence number."""
        seq = self._next
        self._next += 1
        data = _json.dumps([seq, statements]) + b"\n"
        with self._lock:
            os.write(self._fd, data)
            self._size += len(data)
            self._last = seq
        return seq

    def rotate_if_applied(self, applied: int) -> None:
        """Empty the log when it is large and every line in it is applied (writer thread)."""
        if self._size < ROTATE_BYTES:
            return
        with self._lock:
            if self._last == applied:
                os.ftruncate(self._fd, 0)
                self._size = 0

    def close(self, *, applied: int | None) -> None:
        """Close the log; empty it first when every line in it is applied."""
        with self._lock:
            if applied is not None and self._last <= applied:
                os.ftruncate(self._fd, 0)
            os.close(self._fd)


def read_lines(path: Path) -> list[tuple[int, list[Statement]]]:
    """The logged writes in order; a torn line (a kill mid-write, a machine crash) is left out.

    Split on the bytes ``\n`` that end each line: a raw U+2028 inside a name is text (str
    ``splitlines`` would cut there), and JSON escapes every newline inside a string.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = []
    for raw in data.split(b"\n"):
        if not raw:
            continue
        try:
            seq, statements = json.loads(raw)
            lines.append((int(seq), [(str(s), tuple(p), bool(e)) for s, p, e in statements]))
        except (ValueError, TypeError):
            logger.error("%s: unreadable line skipped: %.80r", path, raw)
    return lines


def applied_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [APPLIED_KEY]).fetchone()
    return int(row[0]) if row is not None else 0


def run_statements(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    """Execute one write's statements (inside the caller's transaction)."""
    for sql, params, expect_one in statements:
        if conn.execute(sql, params).rowcount != 1 and expect_one:
            raise NoRowChanged(f"no row changed by: {sql[:60]}")


def replay(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """Apply the logged writes the database has not (one transaction; writer thread).

    Returns:
        (lines applied now, the highest sequence number in the log or the database).
    Raises:
        ReplayError: a line failed; nothing of this replay is kept.
    """
    done = applied_seq(conn)
    pending = [(seq, st) for seq, st in read_lines(path) if seq > done]
    if not pending:
        return 0, done
    conn.execute("BEGIN IMMEDIATE")
    try:
        for seq, statements in pending:
            try:
                run_statements(conn, statements)
            except (sqlite3.Error, NoRowChanged) as exc:
                raise ReplayError(f"{path} line {seq}: {exc}") from exc
        conn.execute(SET_APPLIED, [str(pending[-1][0])])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return len(pending), pending[-1][0]
