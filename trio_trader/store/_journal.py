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

**Send markers.** The row of an order is written right AFTER its request is written to
the socket (``Repository.mark_sending``, then ``insert_position_nowait`` /
``update_position_nowait`` from the send path's ``after_write`` hook), not before: what
goes before the send is a marker of a few dozen bytes, ``["sent", side, position id,
mint, signature]`` (``mark``), never a write. A kill in between leaves a marker whose
signature the database (after the replay) does not name: the dead run may have an order
out that no row knows, so the next start treats it like a machine crash and waits for the
ledger (``unknown_markers``; ``Repository.begin_session``). A marker whose row came after
it costs nothing more. While a marker waits for its row, the log is neither emptied nor
rotated (``unsettled``), so a rotation can never drop it.

**The ledger owed.** A start that must reconcile with the ledger (rows may be lost) logs
``["reconcile"]`` at once, and ``["reconciled"]`` once it has waited out the dead run's
orders and read the wallet's history: every marker before that line is accounted for. A
kill in between leaves the debt in the log, so the next start waits too (the boot id alone
would not say so any more); until it is paid the log is never emptied either.

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
from typing import Any, Final, NamedTuple

from trio_trader.store import _json

logger = logging.getLogger(__name__)

#: one statement of a write: SQL, its parameters, and whether it must change one row
Statement = tuple[str, tuple[Any, ...], bool]
#: the first item of a marker line (a write line starts with its sequence number)
MARKER_TAG: Final = "sent"
#: the lines of a reconciliation with the ledger owed, and of one done
OWED_LINE: Final = b'["reconcile"]\n'
PAID_LINE: Final = b'["reconciled"]\n'
#: stands for the owed reconciliation among the unsettled signatures
_OWED: Final = "(reconciliation owed)"


class Marker(NamedTuple):
    """An order about to be sent, logged before its send; its row follows the send."""

    side: str
    position_id: int
    mint: str
    signature: str


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
        #: signatures marked (``mark``) whose row is not logged yet
        self._unsettled: set[str] = set()
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

    def append(self, statements: list[Statement], settles: tuple[str | None, ...] = ()) -> int:
        """Log one write (Trio thread); returns its sequence number.

        ``settles``: the signatures the write's row names; their markers are settled once
        the line is written (not before: a rotation in between would drop the marker).
        """
        seq = self._next
        self._next += 1
        data = _json.dumps([seq, statements]) + b"\n"
        with self._lock:
            os.write(self._fd, data)
            self._size += len(data)
            self._last = seq
            if self._unsettled:
                self._unsettled.difference_update(settles)
        return seq

    def mark(self, side: str, position_id: int, mint: str, signature: str) -> None:
        """Log that the order ``signature`` is about to be sent (Trio thread, before the
        send): a line of a few dozen bytes, no row; settled by the write of its row."""
        data = _json.dumps([MARKER_TAG, side, position_id, mint, signature]) + b"\n"
        self._line(data, add=signature)

    @property
    def unsettled(self) -> int:
        """Markers whose row is not logged yet, and an owed reconciliation."""
        return len(self._unsettled)

    def owe_reconciliation(self) -> None:
        """Log that this start must reconcile with the ledger (see the module docstring)."""
        self._line(OWED_LINE, add=_OWED)

    def reconciled(self) -> None:
        """Log that the reconciliation is done: the markers before are accounted for."""
        self._line(PAID_LINE, drop=_OWED)

    def _line(self, data: bytes, *, add: str | None = None, drop: str | None = None) -> None:
        with self._lock:
            os.write(self._fd, data)
            self._size += len(data)
            if add is not None:
                self._unsettled.add(add)
            if drop is not None:
                self._unsettled.discard(drop)

    def rotate_if_applied(self, applied: int) -> None:
        """Empty the log when it is large, every write in it is applied and no marker
        waits for its row (writer thread)."""
        if self._size < ROTATE_BYTES:
            return
        with self._lock:
            if self._last == applied and not self._unsettled:
                os.ftruncate(self._fd, 0)
                self._size = 0

    def close(self, *, applied: int | None) -> None:
        """Close the log; empty it first when every write in it is applied and no marker
        waits for its row (one that does is for the next start to find)."""
        with self._lock:
            if applied is not None and self._last <= applied and not self._unsettled:
                os.ftruncate(self._fd, 0)
            os.close(self._fd)


class Log(NamedTuple):
    """What a journal holds (``read_log``)."""

    writes: list[tuple[int, list[Statement]]]
    #: send markers after the last ``["reconciled"]`` line
    markers: list[Marker]
    #: a ``["reconcile"]`` line after the last ``["reconciled"]`` one
    owed: bool


def read_lines(path: Path) -> list[tuple[int, list[Statement]]]:
    """The logged writes in order (markers left out; see ``read_log``)."""
    return read_log(path).writes


def read_log(path: Path) -> Log:
    """The logged writes, the send markers not reconciled yet (each in order), and whether
    a reconciliation is owed; a torn line (a kill mid-write, a machine crash) is left out.

    Split on the bytes ``\n`` that end each line: a raw U+2028 inside a name is text (str
    ``splitlines`` would cut there), and JSON escapes every newline inside a string. A torn
    marker is harmless: its send had not started (the send follows the marker).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Log([], [], False)
    writes: list[tuple[int, list[Statement]]] = []
    markers: list[Marker] = []
    owed = False
    for raw in data.split(b"\n"):
        if not raw:
            continue
        if raw + b"\n" in (OWED_LINE, PAID_LINE):
            owed = raw + b"\n" == OWED_LINE
            if not owed:
                markers.clear()  # accounted for by the reconciliation
            continue
        try:
            line = json.loads(raw)
            if line[0] == MARKER_TAG:
                _, side, position_id, mint, signature = line
                markers.append(Marker(str(side), int(position_id), str(mint), str(signature)))
                continue
            seq, statements = line
            writes.append((int(seq), [(str(s), tuple(p), bool(e)) for s, p, e in statements]))
        except (ValueError, TypeError, IndexError, KeyError):
            logger.error("%s: unreadable line skipped: %.80r", path, raw)
    return Log(writes, markers, owed)


#: does the database name the marked order (its position's row, or a trade of it)? An
#: order column that is not JSON (a corrupt row) names nothing: the start then waits
_NAMED = (
    "SELECT EXISTS (SELECT 1 FROM positions WHERE id = ?1 AND ("
    "CASE WHEN json_valid(buy_order) THEN json_extract(buy_order, '$.signature') END = ?2 OR "
    "CASE WHEN json_valid(sell_order) THEN json_extract(sell_order, '$.signature') END = ?2)) "
    "OR EXISTS (SELECT 1 FROM trades WHERE position_id = ?1 AND signature = ?2)"
)


def unknown_markers(conn: sqlite3.Connection, markers: list[Marker]) -> list[Marker]:
    """The markers whose order no row names: sent (maybe) by a run that died before it
    wrote the row. Their position ids make each look-up one index probe."""
    return [
        m for m in markers if not conn.execute(_NAMED, (m.position_id, m.signature)).fetchone()[0]
    ]


def applied_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [APPLIED_KEY]).fetchone()
    return int(row[0]) if row is not None else 0


def run_statements(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    """Execute one write's statements (inside the caller's transaction)."""
    for sql, params, expect_one in statements:
        if conn.execute(sql, params).rowcount != 1 and expect_one:
            raise NoRowChanged(f"no row changed by: {sql[:60]}")


def replay(conn: sqlite3.Connection, path: Path) -> tuple[int, int, Log]:
    """Apply the logged writes the database has not (one transaction; writer thread).

    Markers are never applied: they are returned with the rest of the log, for
    ``unknown_markers`` to check once the writes are in.

    Returns:
        (lines applied now, the highest sequence number in the log or the database,
        what the log holds).
    Raises:
        ReplayError: a line failed; nothing of this replay is kept.
    """
    done = applied_seq(conn)
    log = read_log(path)
    pending = [(seq, st) for seq, st in log.writes if seq > done]
    if not pending:
        return 0, done, log
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
    return len(pending), pending[-1][0], log
