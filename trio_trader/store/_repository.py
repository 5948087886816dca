"""The async SQLite repository of positions, trades, tokens and counters.

SQLite is synchronous, so one writer thread (``_writer.py``) owns the connection and runs
every call in the order the Trio thread made them. Writes leave the critical path:

* **Writes** (``insert_position``, ``update_position``, ``record_trade``,
  ``upsert_token_info``) snapshot their rows on the Trio thread, take their ids there
  (the next id of ``positions`` and ``trades`` is kept in memory, seeded at open from
  the table and ``sqlite_sequence``), queue one prepared statement set
  (``_statements.py``) and return WITHOUT waiting for the commit, and without yielding
  to another task: a cancelled caller's write is made all the same (the monitor's
  ``save`` relies on it), and nothing runs between it and a send that follows. Writes
  that pile up behind a commit are committed together (one fsync for many).
* **Sends** do not wait for a row either: before the send, ``mark_sending`` takes a new
  position's id and journals a marker of the order (a few dozen bytes); the row is
  written right after the request's bytes are written to the socket, from the send
  path's ``after_write`` hook (``insert_position_nowait`` / ``update_position_nowait``:
  the same writes, synchronous). A kill between the two leaves a marker no row settles:
  the next start (``begin_session``) treats it like a machine crash.
* **Reads and answered writes** (everything else) queue behind the writes before them,
  so they see every earlier write (read-your-writes), and once one returns, those
  writes are on disk. ``flush()`` is that barrier alone: shutdown, tests, and whoever
  must know the data is durable before telling someone else.
* Closing the repository commits everything queued.

WAL mode, ``synchronous = FULL``: a commit is fsync'd, so the database after a crash is
the state as of some write (each write is one savepoint, never half written). Writes still
queued at a crash are not lost with the process: the trading run (``begin_session``)
appends every write to a journal before queueing it (``_journal.py``: the page cache
survives ``kill -9``) and the next run replays it. Only a machine crash can lose the
journal's tail; ``begin_session`` then says so (the boot id changed) and start-up
reconciliation waits for the ledger (``trading/reconcile.py``, ``trading/horizon.py``).

A write that fails in the writer is logged at ERROR (naming the position), the repository
is marked failed (``failed``), and from then on: ``insert_position`` and every call that
needs an answer raise :class:`RepositoryFailed` (the trader stops buying), while
``update_position`` / ``record_trade`` are dropped with an ERROR line, so open positions
keep selling; they stay in the journal, replayed by the next start.

Public API::

    async with open_repository(path, now=time.time) as repo:
        await repo.insert_position(position) -> int        (sets position.id, created_at; queued)
        await repo.update_position(position, resolved=None) (all columns, both orders; queued)
        repo.mark_sending(position, order)   (before a send: id of a new position + marker)
        repo.insert_position_nowait(position) -> int / repo.update_position_nowait(position,
            resolved=None)                   (the same writes, sync: the after-write hook)
        await repo.get_position(id) -> Position             (PositionNotFound, CorruptRowError)
        await repo.get_active_positions() -> list[Position]     (is_active, not closed)
        await repo.get_open_positions() -> list[Position]       (not closed)
        await repo.get_unresolved_positions() -> list[Position] (an order SENT, or PENDING+signed)
        await repo.list_positions(status=None, limit=None) -> list[Position] (newest first)
        await repo.record_trade(position_id, order) -> int  (resolved; bumps counters; queued)
        await repo.list_trades(position_id=None) -> list[TradeRecord]
        await repo.increment_counter(name, by=1) -> int
        await repo.get_counters() -> dict[str, int]
        await repo.get_meta() -> dict[str, str]
        await repo.claim_identity(wallet=, genesis_hash=)   (first run writes; IdentityMismatch)
        await repo.claim_mode(mode)        ("live" / "dry-run"; first run writes; ModeMismatch)
        await repo.upsert_token_info(token_info)
        await repo.get_token_info(mint) -> TokenInfo | None
        repo.read_errors: list[CorruptRowError]     (rows skipped by the list methods)
        await repo.known_signatures() -> set[str]     (every order and trade signature)
        await repo.newest_landed_signature() -> str | None   (highest-slot recorded trade)
        await repo.insert_command(kind, arg) -> int          (a command to the running bot)
        await repo.take_commands(max_age=) -> list[Command]  (pending ones, marked taken)
        await repo.finish_command(id, result)                (done_at + the result line)
        await repo.expire_command(id, result) -> bool        (only if nobody took it)
        await repo.get_command(id) -> Command | None
        await repo.flush()                  (every earlier write on disk; RepositoryFailed)
        await repo.begin_session() -> bool  (the trading run's marker; True: the last one
                                             ended without closing, writes may be lost)
        repo.reconciled()                   (after a True: the ledger reconciliation is done)
        repo.failed: RepositoryFailed | None;  repo.path: str;  repo.writer (test seams)

``record_trade`` keeps these counters in the same transaction: ``buy_confirmed``,
``buy_failed``, ``sell_confirmed``, ``sell_failed``, and for SELLs sent before their
BUY confirmed, ``pre_confirmation_sells`` and ``pre_confirmation_sells_succeeded``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import sqlite_utils
import sqlite_utils.db
import trio

from trio_trader.store import _convert, _journal
from trio_trader.store import _statements as sql
from trio_trader.store._convert import CorruptRowError, Row
from trio_trader.store._journal import Statement
from trio_trader.store._migrations import prepare_database
from trio_trader.store._writer import RepositoryFailed, Writer
from trio_trader.trading.orders import Order, OrderState, SellOrder
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

logger = logging.getLogger(__name__)

PRE_CONFIRMATION_SELLS = "pre_confirmation_sells"
PRE_CONFIRMATION_SELLS_SUCCEEDED = "pre_confirmation_sells_succeeded"
#: ``meta`` keys of the database's identity
WALLET_KEY = "wallet"
GENESIS_HASH_KEY = "genesis_hash"
#: ``meta`` key of what the database books: real trades or a dry run's paper ones
MODE_KEY = "mode"
MODE_LIVE = "live"
MODE_DRY_RUN = "dry-run"
#: result of a command nobody took in time (the bot was not running)
EXPIRED_RESULT = "expired: no running bot took it"
#: ``meta`` key of the trading run writing the database (deleted when it closes cleanly)
SESSION_KEY = "session"

_T = TypeVar("_T")


class PositionNotFound(KeyError):
    """No position row with that id."""


class ModeMismatch(RuntimeError):
    """A dry run on a database of real trades, or a live run on a dry run's paper books."""

    def __init__(self, stored: str, wanted: str) -> None:
        self.stored = stored
        self.wanted = wanted
        kind = {MODE_LIVE: "live trades", MODE_DRY_RUN: "a dry run's paper trades"}
        super().__init__(f"it holds {kind.get(stored, stored)}, so a {wanted} run may not use it")


class IdentityMismatch(RuntimeError):
    """The database belongs to another wallet or cluster than this run's."""

    def __init__(self, stored: dict[str, str], wanted: dict[str, str]) -> None:
        self.stored = stored
        self.wanted = wanted
        super().__init__(
            f"it belongs to wallet {stored.get(WALLET_KEY)} on the cluster with genesis hash "
            f"{stored.get(GENESIS_HASH_KEY)}, not to wallet {wanted[WALLET_KEY]} on genesis "
            f"hash {wanted[GENESIS_HASH_KEY]}"
        )


@attrs.frozen(kw_only=True)
class TradeRecord:
    """One row of ``trades``: a resolved BUY or SELL attempt."""

    id: int
    position_id: int | None
    mint: str
    side: str
    attempt: int
    state: str | None
    success: bool
    signature: str | None
    token_amount: int | None
    sol_amount: int | None
    sol_limit: int | None
    sol_change: int | None
    token_change: int | None
    fee_lamports: int | None
    slot: int | None
    error: Any
    error_code: int | None
    error_name: str | None
    error_message: str | None
    sent_at: float | None
    recorded_at: float
    sent_before_buy_confirmed: bool
    venue: str = "pump"


@attrs.frozen(kw_only=True)
class Command:
    """One row of ``commands``: a request from the CLI to the running bot."""

    id: int
    kind: str
    arg: str | None
    created_at: float
    taken_at: float | None
    done_at: float | None
    result: str | None


class Repository:
    """See the module docstring; build it with ``open_repository``."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        now: Callable[[], float],
        path: str = ":memory:",
        next_ids: dict[str, int] | None = None,
    ) -> None:
        self._db = db
        self._now = now
        self.path = path
        self.writer = Writer(db.conn)
        self._next_id = dict(next_ids or {"positions": 1, "trades": 1})
        self._session: str | None = None
        #: position ids taken by ``mark_sending`` whose row is not written yet
        self._reserved: set[int] = set()
        self.read_errors: list[CorruptRowError] = []

    @property
    def failed(self) -> RepositoryFailed | None:
        """Why the repository stopped writing, or None while it works."""
        return self.writer.failed

    async def _run(self, fn: Callable[[], _T], what: str = "read") -> _T:
        """Run ``fn`` in the writer behind every earlier write and wait for its result."""
        return await self.writer.call(lambda _conn: fn(), what)

    def _take_id(self, table: str) -> int:
        new_id = self._next_id[table]
        self._next_id[table] = new_id + 1
        return new_id

    async def flush(self) -> None:
        """Return once every write made before is committed and fsync'd.

        Raises:
            RepositoryFailed: a write failed (it was logged): not everything is on disk.
        """
        await self.writer.flush()

    async def begin_session(self) -> bool:
        """Start the trading run's session; True when writes of the last run may be lost.

        The trading run (it holds the database's lock) calls this once, first. It replays
        the last run's journal (``_journal.py``): every write that run queued, including
        those its writer never committed. Then it marks the database as this run's
        (``meta`` ``session`` = token and boot id, on disk when this returns) and journals
        every write from now on. A clean close removes the mark.

        Returns:
            True when the last run ended without closing (its mark is there) AND the
            machine restarted since (its boot id differs, or is unknown), or its journal
            could not be replayed, or it holds a send marker whose order no row names
            (the run died between a send and its row, ``mark_sending``), or a start
            before it owed a reconciliation and died before ``reconciled``: orders it
            sent may be missing from the database, and reconciliation must wait for the
            ledger. A killed process otherwise loses nothing: False.
        """
        token, boot = secrets.token_hex(8), _journal.boot_id()
        path = None if self.path == ":memory:" else _journal.journal_path(self.path)

        def start() -> tuple[str | None, int, int, list[_journal.Marker], bool]:
            conn = self._db.conn
            found = conn.execute("SELECT value FROM meta WHERE key = ?", [SESSION_KEY]).fetchone()
            replayed, top, unknown, owed = 0, _journal.applied_seq(conn), [], False
            if path is not None and found is None and path.exists():
                # no run left its mark here (a clean close, or a new database beside an old
                # log): nothing of that log belongs to this database's last run
                path.write_bytes(b"")
            elif path is not None:
                try:
                    replayed, top, log = _journal.replay(conn, path)
                    unknown, owed = _journal.unknown_markers(conn, log.markers), log.owed
                except _journal.ReplayError as exc:
                    logger.error("the last run's queued writes cannot be replayed (%s); "
                                 "reconciling with the ledger instead", exc)  # fmt: skip
                    top = max([top, *(seq for seq, _ in _journal.read_lines(path))])
                    found = ("replay-failed unknown",)
                    path.write_bytes(b"")
            with _write_transaction(self._db.conn):
                conn.execute(_journal.SET_APPLIED, [str(top)])
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [SESSION_KEY, f"{token} {boot}"])  # fmt: skip
            for table in self._next_id:
                self._next_id[table] = max(
                    self._next_id[table], int(conn.execute(sql.next_id_sql(table)).fetchone()[0])
                )
            return (None if found is None else str(found[0])), replayed, top, unknown, owed

        mark, replayed, top, unknown, owed = await self._run(start, "begin session")
        if replayed:
            logger.warning("replayed %d writes the last run had queued but not committed",
                           replayed)  # fmt: skip
        for marker in unknown:
            logger.warning("the last run died after sending %s %s of position %d (%s) and "
                           "before writing its row: reconciling with the ledger",
                           marker.side.upper(), marker.signature, marker.position_id,
                           marker.mint)  # fmt: skip
        if path is not None:
            self.writer.journal = _journal.Journal(path, next_seq=top + 1)
        previous, self._session = self._session, token
        if mark is None:
            return False
        last_token, _, last_boot = mark.partition(" ")
        if last_token == previous:  # this repository's own mark: nothing was lost
            return False
        lost = bool(unknown) or owed or path is None or last_boot != boot or boot == "unknown"
        if lost and self.writer.journal is not None:
            self.writer.journal.owe_reconciliation()  # until ``reconciled``: a kill keeps it
        return lost

    def reconciled(self) -> None:
        """Start-up reconciliation after ``begin_session`` returned True is done (it waited
        out the dead run's orders and read the wallet's history): the next start need not
        wait for the ledger again."""
        if self.writer.journal is not None:
            self.writer.journal.reconciled()

    async def close(self) -> None:
        """Commit every queued write, clear this run's session mark, close the connection.

        A send marker still waiting for its row (a bug or a failure kept the row from
        being written) keeps the mark and the journal: the next start must find it.
        """
        journal = self.writer.journal
        if journal is not None and journal.unsettled:
            logger.error("%d sent orders with no row or a reconciliation owed: the next "
                         "start reconciles with the ledger", journal.unsettled)  # fmt: skip
        elif self._session is not None and self.failed is None and not self.writer.abandoned:
            end = "DELETE FROM meta WHERE key = ? AND value LIKE ?"
            self.writer.submit([(end, (SESSION_KEY, f"{self._session} %"), False)], "end session")
        await self.writer.close()

    # ------------------------------------------------------------------ positions

    def mark_sending(self, position: Position, order: Order) -> None:
        """Before ``order``'s send: a new position takes its id (and ``created_at``), and
        the journal logs a marker of the order (``_journal.Journal.mark``: a few dozen
        bytes, no row). The row follows the send (``insert_position_nowait`` for a new
        position, ``update_position_nowait``), right after the request is written.

        Raises:
            RepositoryFailed: a new position while the repository is failed (no BUY may
                start then); never for a position that exists (its SELL must go out).
            ValueError: the order is not signed.
        """
        if order.signature is None:
            raise ValueError(f"mark_sending of an unsigned {order.side}")
        if position.id is None:
            if self.failed is not None:
                raise self.failed
            if position.created_at is None:
                position.created_at = self._now()
            position.id = self._take_id("positions")
            self._reserved.add(position.id)
        journal = self.writer.journal
        if journal is not None:
            journal.mark(order.side, position.id, str(position.mint), order.signature)

    async def insert_position(self, position: Position) -> int:
        """Insert a new position row (and its token's info); returns and sets its id."""
        return self.insert_position_nowait(position)

    def insert_position_nowait(self, position: Position) -> int:
        """``insert_position``, synchronous (the send path's ``after_write`` hook).

        A position whose id ``mark_sending`` took is inserted with it, even when the
        repository failed meanwhile: its order may be out, so its row must be journaled.
        """
        reserved = position.id is not None
        if reserved and position.id not in self._reserved:
            raise ValueError(f"position {position.id} is already in the database")
        if not reserved and self.failed is not None:
            raise self.failed
        now = self._now()
        created_at = position.created_at if position.created_at is not None else now
        token_row = _convert.token_info_to_row(position.token_info)
        row = _convert.position_to_row(position)
        position_id = position.id if position.id is not None else self._take_id("positions")
        row.update(created_at=created_at, updated_at=now, id=position_id)
        statements: list[Statement] = [
            (
                sql.upsert_sql("token_info", tuple(token_row), "mint"),
                tuple(token_row.values()),
                False,
            ),
            (sql.insert_sql("positions", tuple(row)), tuple(row.values()), True),
        ]
        what = f"insert position {position_id} ({row['mint']})"
        self.writer.submit(statements, what, _signatures(position))
        self._reserved.discard(position_id)
        position.id = position_id
        position.created_at = created_at
        return position_id

    async def update_position(self, position: Position, *, resolved: Order | None = None) -> None:
        """Overwrite every column of the position's row, both orders included.

        With ``resolved``, that order's attempt is recorded too (as ``record_trade`` does)
        in the same transaction: a crash then keeps both or neither, so recovery never
        confirms an order again and never records its trade twice.
        """
        self.update_position_nowait(position, resolved=resolved)

    def update_position_nowait(self, position: Position, *, resolved: Order | None = None) -> None:
        """``update_position``, synchronous (the send path's ``after_write`` hook).

        A position ``mark_sending`` gave an id whose row is not written yet (its insert
        was kept from running: an exception, a cancellation) is inserted whole instead.
        """
        position_id = position.id
        if position_id is None:
            raise ValueError("update_position of a position that was never inserted")
        if position_id in self._reserved:
            self.insert_position_nowait(position)
            if resolved is None:
                return
        elif position_id >= self._next_id["positions"]:
            raise PositionNotFound(position_id)  # no insert of this repository made it
        record = self._trade_statements(position_id, resolved)[1] if resolved is not None else []
        now = self._now()
        closed_at = position.closed_at
        if position.is_closed and closed_at is None:
            closed_at = now
        row = _convert.position_to_row(position)
        row.update(closed_at=closed_at, updated_at=now)
        update = sql.update_sql("positions", tuple(row))
        statements: list[Statement] = [(update, (*row.values(), position_id), True), *record]
        what = f"update position {position_id} ({row['status']})"
        if resolved is not None:
            what += f" with its {resolved.side} {resolved.state.value}"
        self.writer.submit(statements, what, _signatures(position))
        position.closed_at = closed_at

    async def get_position(self, position_id: int) -> Position:
        """The position with that id; ``PositionNotFound`` or ``CorruptRowError``."""

        def read() -> Position:
            rows = list(self._db.query("SELECT * FROM positions WHERE id = ?", [position_id]))
            if not rows:
                raise PositionNotFound(position_id)
            return _convert.position_from_row(rows[0], self._token_info(rows[0]["mint"]))

        return await self._run(read)

    async def get_active_positions(self) -> list[Position]:
        """Positions holding tokens: BUY confirmed and not closed."""
        return await self._select("WHERE is_active = 1 AND is_closed = 0 ORDER BY id")

    async def get_open_positions(self) -> list[Position]:
        """Positions not yet closed, whatever their orders' state."""
        return await self._select("WHERE is_closed = 0 ORDER BY id")

    async def get_unresolved_positions(self) -> list[Position]:
        """Positions with an order whose outcome is unknown — restart recovery's input.

        That is an order SENT, or PENDING but already signed: a crash between writing
        the signature and ``sendTransaction`` returning may or may not have sent it.
        Closed positions count too: a SELL's confirmation can close a position before
        its BUY's own confirmation is processed, and only resolving that BUY gives the
        position its real cost and PnL.

        SQL narrows the scan to open rows and rows whose order JSON holds an unresolved
        state (the exact text ``order_to_json`` writes); the Python check decides.
        """
        markers = [_convert.state_marker(s) for s in (OrderState.SENT, OrderState.PENDING)]
        tests = [(col, m) for col in ("buy_order", "sell_order") for m in markers]
        found = " OR ".join(f"instr({col}, ?) > 0" for col, _ in tests)
        clause = f"WHERE is_closed = 0 OR {found} ORDER BY id"
        candidates = await self._select(clause, [m for _, m in tests])
        return [p for p in candidates if _has_unresolved_order(p)]

    async def list_positions(
        self, *, status: str | None = None, limit: int | None = None
    ) -> list[Position]:
        """Positions newest first, optionally of one ``status``; unreadable rows skipped."""
        params: list[Any] = []
        clause = ""
        if status is not None:
            clause, params = "WHERE status = ?", [status]
        clause += " ORDER BY id DESC"
        if limit is not None:
            clause += " LIMIT ?"
            params.append(limit)
        return await self._select(clause, params)

    async def _select(self, clause: str, params: list[Any] | None = None) -> list[Position]:
        def read() -> tuple[list[Position], list[CorruptRowError]]:
            rows = list(self._db.query(f"SELECT * FROM positions {clause}", params or []))
            infos = self._token_infos({row["mint"] for row in rows})
            positions, errors = [], []
            for row in rows:
                try:
                    positions.append(_convert.position_from_row(row, infos.get(row["mint"])))
                except CorruptRowError as exc:
                    errors.append(exc)
            return positions, errors

        positions, errors = await self._run(read)
        for error in errors:
            logger.error("skipping unreadable row: %s", error)
        self.read_errors.extend(errors)
        return positions

    # ------------------------------------------------------------------ reconciliation

    async def known_signatures(self) -> set[str]:
        """Every transaction signature the database names: both orders of every position
        (open or closed, resolved or not) and every recorded trade (old-schema rows too).

        Start-up reconciliation treats any other signature of the wallet as unknown.
        """
        sql = (
            "SELECT json_extract(buy_order, '$.signature') FROM positions "
            "WHERE json_valid(buy_order) "
            "UNION SELECT json_extract(sell_order, '$.signature') FROM positions "
            "WHERE json_valid(sell_order) "
            "UNION SELECT signature FROM trades"
        )

        def read() -> set[str]:
            return {row[0] for row in self._db.execute(sql).fetchall() if isinstance(row[0], str)}

        return await self._run(read)

    async def newest_landed_signature(self) -> str | None:
        """The recorded trade that landed in the highest slot (``None`` if none did).

        Only a transaction that landed is in the wallet's history, so only such a
        signature can bound ``getSignaturesForAddress(until=…)``.
        """
        sql = (
            "SELECT signature FROM trades WHERE signature IS NOT NULL AND slot IS NOT NULL "
            "ORDER BY slot DESC, id DESC LIMIT 1"
        )

        def read() -> str | None:
            row = self._db.execute(sql).fetchone()
            return None if row is None else str(row[0])

        return await self._run(read)

    # ------------------------------------------------------------------ tokens

    async def upsert_token_info(self, token_info: TokenInfo) -> None:
        """Insert or replace the token's row."""
        row = _convert.token_info_to_row(token_info)
        upsert = sql.upsert_sql("token_info", tuple(row), "mint")
        self.writer.submit([(upsert, tuple(row.values()), False)], f"token {row['mint']}")

    async def get_token_info(self, mint: str | object) -> TokenInfo | None:
        """The stored info of ``mint`` (base58 or Pubkey), or ``None``."""
        return await self._run(lambda: self._token_info(str(mint)))

    def _token_info(self, mint: str) -> TokenInfo | None:
        return self._token_infos({mint}).get(mint)

    def _token_infos(self, mints: set[str]) -> dict[str, TokenInfo | None]:
        if not mints:
            return {}
        marks = ", ".join("?" for _ in mints)
        rows = self._db.query(f"SELECT * FROM token_info WHERE mint IN ({marks})", list(mints))
        found: dict[str, TokenInfo | None] = {}
        for row in rows:
            try:
                found[row["mint"]] = _convert.token_info_from_row(row)
            except CorruptRowError as exc:
                logger.error("unreadable token_info: %s", exc)
        return found

    # ------------------------------------------------------------------ identity

    async def get_meta(self) -> dict[str, str]:
        """Every ``meta`` row (the database's identity)."""

        def read() -> dict[str, str]:
            rows = self._db.query(
                "SELECT * FROM meta WHERE key NOT IN (?, ?)", [SESSION_KEY, _journal.APPLIED_KEY]
            )
            return {row["key"]: row["value"] for row in rows}

        return await self._run(read)

    async def claim_identity(self, *, wallet: str, genesis_hash: str) -> None:
        """Bind the database to ``wallet`` on the cluster of ``genesis_hash``, or check it.

        The first call writes both; later calls must name the same ones. Both happen in
        one transaction, so two first runs cannot both write.

        Raises:
            IdentityMismatch: the database belongs to another wallet or cluster.
        """
        wanted = {WALLET_KEY: wallet, GENESIS_HASH_KEY: genesis_hash}

        def claim() -> None:
            with _write_transaction(self._db.conn):
                stored = {r["key"]: r["value"] for r in self._db.query("SELECT * FROM meta")}
                if any(stored.get(k, v) != v for k, v in wanted.items()):
                    raise IdentityMismatch(stored, wanted)
                for key, value in wanted.items():
                    if key not in stored:
                        self._db.execute(
                            "INSERT INTO meta (key, value) VALUES (?, ?)", [key, value]
                        )

        await self._run(claim)

    async def claim_mode(self, mode: str) -> None:
        """Mark the database ``live`` or ``dry-run`` on first use, or check the mark.

        Paper PnL must never mix with real PnL. A database from before the mark existed
        is live when it holds any position (only live runs wrote those), and is marked
        by its first run when empty.

        Raises:
            ModeMismatch: the database was marked for the other mode.
            ValueError: ``mode`` is neither.
        """
        if mode not in (MODE_LIVE, MODE_DRY_RUN):
            raise ValueError(f"unknown database mode {mode!r}")

        def claim() -> None:
            with _write_transaction(self._db.conn):
                rows = self._db.query("SELECT value FROM meta WHERE key = ?", [MODE_KEY])
                stored = next((r["value"] for r in rows), None)
                if stored is None:
                    used = next(iter(self._db.query("SELECT 1 FROM positions LIMIT 1")), None)
                    stored = MODE_LIVE if used is not None else mode
                    self._db.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?)", [MODE_KEY, stored]
                    )
                if stored != mode:
                    raise ModeMismatch(stored, mode)

        await self._run(claim)

    # ------------------------------------------------------------------ trades, counters

    async def record_trade(self, position_id: int | None, order: Order) -> int:
        """Record one resolved attempt and bump its counters, in one transaction.

        Raises:
            ValueError: the order is not CONFIRMED or FAILED yet.
        """
        trade_id, statements = self._trade_statements(position_id, order)
        self.writer.submit(statements, f"trade of position {position_id}: {order.side}")
        return trade_id

    def _trade_statements(
        self, position_id: int | None, order: Order
    ) -> tuple[int, list[Statement]]:
        """The trade row (its id taken here) and counter bumps of one resolved order."""
        if not order.is_resolved:
            raise ValueError(f"record_trade of a {order.state} {order.side} order")
        row = _trade_row(position_id, order, recorded_at=self._now())
        counters = [f"{order.side}_{order.state.value}"]
        if isinstance(order, SellOrder) and order.sent_before_buy_confirmed:
            counters.append(PRE_CONFIRMATION_SELLS)
            if order.state is OrderState.CONFIRMED:
                counters.append(PRE_CONFIRMATION_SELLS_SUCCEEDED)
        trade_id = self._take_id("trades")
        row = {"id": trade_id, **row}
        statements: list[Statement] = [
            (sql.insert_sql("trades", tuple(row)), tuple(row.values()), True)
        ]
        statements += [(sql.ADD_TO_COUNTER, (name, 1), False) for name in counters]
        return trade_id, statements

    async def list_trades(self, position_id: int | None = None) -> list[TradeRecord]:
        """Recorded attempts in order, optionally of one position."""
        where, params = "", []
        if position_id is not None:  # 0 is a valid filter, not "all"
            where, params = "WHERE position_id = ?", [position_id]

        def read() -> list[Row]:
            return list(self._db.query(f"SELECT * FROM trades {where} ORDER BY id", params))

        return [_trade_record(row) for row in await self._run(read)]

    async def increment_counter(self, name: str, by: int = 1) -> int:
        """Add ``by`` to a named counter (created at 0); returns the new value."""

        def write() -> int:
            with _write_transaction(self._db.conn):
                return _bump(self._db.conn, name, by)

        return await self._run(write, f"counter {name}")

    async def get_counters(self) -> dict[str, int]:
        """Every counter by name."""

        def read() -> dict[str, int]:
            return {row["name"]: row["value"] for row in self._db.query("SELECT * FROM counters")}

        return await self._run(read)

    # ------------------------------------------------------------------ commands

    async def insert_command(self, kind: str, arg: str | None) -> int:
        """Queue a command for the running bot; returns its id."""
        row = {"kind": kind, "arg": arg, "created_at": self._now()}

        def write() -> int:
            with _write_transaction(self._db.conn):
                return _last_pk(self._db.table("commands").insert(row))

        return await self._run(write)

    async def take_commands(self, *, max_age: float) -> list[Command]:
        """The commands nobody took yet, oldest first, marked taken in one transaction.

        A command older than ``max_age`` seconds is not returned but closed as expired:
        its CLI has given up waiting and told the user the bot did not answer, so acting
        on it now (``sell --all`` issued while the bot was down) would surprise them.
        """
        now = self._now()
        pending = "SELECT * FROM commands WHERE taken_at IS NULL AND done_at IS NULL ORDER BY id"
        take = "UPDATE commands SET taken_at = ? WHERE id = ?"
        expire = "UPDATE commands SET taken_at = ?, done_at = ?, result = ? WHERE id = ?"

        def write() -> list[Command]:
            taken = []
            with _write_transaction(self._db.conn):
                for row in list(self._db.query(pending)):
                    if now - row["created_at"] > max_age:
                        self._db.execute(expire, [now, now, EXPIRED_RESULT, row["id"]])
                        continue
                    self._db.execute(take, [now, row["id"]])
                    taken.append(_command({**row, "taken_at": now}))
            return taken

        return await self._run(write)

    async def finish_command(self, command_id: int, result: str) -> None:
        """Mark a taken command done with its one-line result."""

        def write() -> None:
            with _write_transaction(self._db.conn):
                self._db.execute(
                    "UPDATE commands SET done_at = ?, result = ? WHERE id = ?",
                    [self._now(), result, command_id],
                )

        await self._run(write)

    async def expire_command(self, command_id: int, result: str = "") -> bool:
        """Close a command nobody took (the CLI gave up); False if the bot took it first."""
        sql = (
            "UPDATE commands SET done_at = ?, result = ? "
            "WHERE id = ? AND taken_at IS NULL AND done_at IS NULL"
        )

        def write() -> bool:
            with _write_transaction(self._db.conn):
                params = [self._now(), result or EXPIRED_RESULT, command_id]
                return self._db.execute(sql, params).rowcount == 1

        return await self._run(write)

    async def get_command(self, command_id: int) -> Command | None:
        """The command with that id, or None."""

        def read() -> Command | None:
            rows = list(self._db.query("SELECT * FROM commands WHERE id = ?", [command_id]))
            return _command(rows[0]) if rows else None

        return await self._run(read)


def _bump(conn: sqlite3.Connection, name: str, by: int) -> int:
    return int(conn.execute(sql.BUMP_COUNTER, [name, by]).fetchall()[0][0])


def _command(row: Row) -> Command:
    return Command(**{a.name: row[a.name] for a in attrs.fields(Command)})


def _last_pk(table: sqlite_utils.db.Table) -> int:
    if not isinstance(table.last_pk, int):
        raise RuntimeError(f"insert into {table.name} returned no row id")
    return table.last_pk


def _signatures(position: Position) -> tuple[str | None, str | None]:
    """The signatures a position's row names (its send markers are settled by it)."""
    buy, sell = position.buy_order, position.sell_order
    return (None if buy is None else buy.signature, None if sell is None else sell.signature)


def _has_unresolved_order(position: Position) -> bool:
    for order in (position.buy_order, position.sell_order):
        if order is None:
            continue
        if order.state is OrderState.SENT:
            return True
        if order.state is OrderState.PENDING and order.signature is not None:
            return True
    return False


def _trade_row(position_id: int | None, order: Order, *, recorded_at: float) -> Row:
    return {
        "position_id": position_id,
        "mint": order.mint,
        "side": order.side,
        "attempt": order.attempt,
        "state": order.state.value,
        "success": order.state is OrderState.CONFIRMED,
        "signature": order.signature,
        "token_amount": order.token_amount,
        "sol_amount": order.sol_amount,
        "sol_limit": order.sol_limit,
        "sol_change": order.sol_change,
        "token_change": order.token_change,
        "fee_lamports": order.fee_lamports,
        "slot": order.confirmed_slot,
        "error": None if order.error is None else json.dumps(order.error, default=str),
        "error_code": order.error_code,
        "error_name": order.error_name,
        "error_message": order.error_message,
        "sent_at": order.sent_at_wall,
        "recorded_at": recorded_at,
        "sent_before_buy_confirmed": isinstance(order, SellOrder)
        and order.sent_before_buy_confirmed,
        "venue": order.venue,
    }


def _trade_record(row: Row) -> TradeRecord:
    values = {a.name: row[a.name] for a in attrs.fields(TradeRecord)}
    values["success"] = bool(values["success"])
    values["sent_before_buy_confirmed"] = bool(values["sent_before_buy_confirmed"])
    values["error"] = None if row["error"] is None else json.loads(row["error"])
    return TradeRecord(**values)


@contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any error): the write lock first.

    Another process uses the same database (the bot and a ``pause`` / ``sell`` from another
    terminal). In WAL mode a plain ``BEGIN`` that reads (sqlite-utils reads the table's
    columns before an insert) and then writes fails at once with "database is locked" if
    the other process committed in between: its snapshot is stale, and SQLite does not wait
    for that (``busy_timeout`` never applies). Taking the write lock first waits instead.
    """
    if conn.in_transaction:  # inside the caller's transaction: a savepoint of it
        conn.execute("SAVEPOINT call")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
            raise
        conn.execute("RELEASE call")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def _create_private(path: str) -> None:
    """Create a missing database file readable by its owner only (0600).

    The commands table steers the running bot, so the file is the control channel:
    nobody else may write it (SQLite gives its -wal and -shm files the same mode).
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _connect(path: str) -> sqlite_utils.Database:
    _create_private(path)
    # autocommit mode: every transaction is an explicit BEGIN … COMMIT (the writer's batches)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        return sqlite_utils.Database(conn, execute_plugins=False)
    except BaseException:
        conn.close()
        raise


@asynccontextmanager
async def open_repository(
    path: str | Path, *, now: Callable[[], float] = time.time
) -> AsyncIterator[Repository]:
    """Open (creating or migrating) the database at ``path`` for the block's duration.

    Args:
        path: the database file (``":memory:"`` works for throwaway use).
        now: the wall clock for ``created_at`` / ``updated_at`` / ``recorded_at``
            (unix seconds); tests inject a fixed one.
    """
    db = await trio.to_thread.run_sync(_connect, str(path))
    try:
        next_ids = await trio.to_thread.run_sync(_prepare, db, now)
    except BaseException:
        db.close()
        raise
    repo = Repository(db, now=now, path=str(path), next_ids=next_ids)
    try:
        yield repo
    finally:
        with trio.CancelScope(shield=True):
            await repo.close()


def _prepare(db: sqlite_utils.Database, now: Callable[[], float]) -> dict[str, int]:
    """Create or migrate the schema; the next ids the Trio thread hands out."""
    prepare_database(db.conn, now=now)
    tables = ("positions", "trades")
    return {t: int(db.conn.execute(sql.next_id_sql(t)).fetchone()[0]) for t in tables}
