"""The store's one writer thread: it owns the SQLite connection and runs every job in order.

Jobs are queued from the Trio thread and run here one after another, so the connection is
never used by two threads and every job sees every earlier one (read-your-writes). Two
kinds:

* a **write** (``submit``): its SQL statements, built and snapshotted by the caller, who
  does not wait. With a journal (``_journal.py``, the trading run's), the write is
  appended to it first, so a killed process loses nothing that was queued. The thread
  is handed the write only once the Trio thread next yields, by a Trio system task
  (woken by a plain reschedule: no syscall), not inside ``submit``: a row written
  around a send (after its request since session 6; the reply is read next) would
  otherwise wake the thread, which then competes for the GIL (and the second core)
  with the sending task. Nothing can overtake it:
  every ``call`` and ``close`` hands over what waits first.
  Consecutive writes that piled up while the previous commit was syncing run in ONE
  transaction: one fsync for many. Each write runs inside its own savepoint, so a write
  that fails (a constraint, a trigger) is rolled back alone and the writes before it
  still commit.
* a **call** (``call``): a read, or a write whose answer the caller needs. The writes
  queued before it are committed first (a call is also a barrier: once it returns,
  every earlier write is on disk), then it runs and its outcome is handed back to the
  waiting Trio task. A cancelled caller keeps waiting: the job runs anyway.

A write that fails is never silent: it is logged at ERROR with what it was (the position
id), the writer is marked failed, every write after it is dropped (logged) instead of
written — the database keeps the exact state as of the write before — and every later
``call`` raises :class:`RepositoryFailed`. The dropped writes are still in the journal:
the next start replays them (``docs/internals.md``, store section).

``hold`` / ``abandon`` are fault-injection seams for tests: a held writer runs nothing, so
queued rows are not on disk yet; abandoning it drops them as a ``kill -9`` would.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, TypeVar

import outcome
import trio

from trio_trader.store._journal import SET_APPLIED, Journal, Statement, run_statements

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
#: most writes committed in one transaction
MAX_BATCH: Final = 512


class RepositoryFailed(RuntimeError):
    """A database write failed; this repository takes no more writes until the bot restarts."""


class _Job:
    """One unit of work; ``what`` names it in logs. A write carries its ``statements``
    (and its journal ``seq``); a call carries ``run(conn)``, the waiting task and its
    Trio token."""

    __slots__ = ("run", "seq", "statements", "task", "token", "what")

    def __init__(
        self,
        what: str,
        *,
        statements: list[Statement] | None = None,
        seq: int | None = None,
        run: Callable[[sqlite3.Connection], Any] | None = None,
        task: trio.lowlevel.Task | None = None,
        token: trio.lowlevel.TrioToken | None = None,
    ) -> None:
        self.what = what
        self.statements = statements
        self.seq = seq
        self.run = run
        self.task = task
        self.token = token

    def reply(self, result: outcome.Outcome[Any]) -> None:
        """Wake the waiting task with ``result`` (from the writer thread)."""
        if self.task is None or self.token is None:
            return
        with contextlib.suppress(trio.RunFinishedError):  # the caller's run ended first
            self.token.run_sync_soon(trio.lowlevel.reschedule, self.task, result)


_STOP: Final = _Job("stop")


class Writer:
    """The thread and its queue (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection, *, name: str = "trio-trader-db") -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._gate = threading.Event()
        self._gate.set()
        self._abandoned = False
        self._closing = False
        #: writes submitted on the Trio thread and not yet handed to this thread, in order
        self._waiting: deque[_Job] = deque()
        #: where the hand-over task waits (created with it, on the first write)
        self._hand_over_lot: trio.lowlevel.ParkingLot | None = None
        self.failed: RepositoryFailed | None = None
        #: the trading run's redo log (set by ``Repository.begin_session``)
        self.journal: Journal | None = None
        #: the highest journal sequence number committed
        self.applied: int | None = None
        #: writes committed and transactions used (for tests and the benchmark)
        self.writes_committed = 0
        self.commits = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ Trio side

    def submit(
        self, statements: list[Statement], what: str, settles: tuple[str | None, ...] = ()
    ) -> None:
        """Log and queue a write; returns at once (the commit happens in the thread).

        ``settles``: the order signatures its row names (their send markers are settled).
        """
        if self._closing:
            logger.error("not written, the repository is closed: %s", what)
            return
        journal = self.journal
        seq = journal.append(statements, settles) if journal is not None else None
        self._waiting.append(_Job(what, statements=statements, seq=seq))
        if len(self._waiting) > 1:
            return  # the hand-over task is woken already
        lot = self._hand_over_lot
        if lot is not None:
            lot.unpark()  # runs once this task yields
            return
        try:
            trio.lowlevel.spawn_system_task(
                self._hand_over_task, name=f"{self._thread.name} hand-over"
            )
        except RuntimeError:  # no Trio run: nothing to wait for
            self._hand_over()
            return
        self._hand_over_lot = trio.lowlevel.ParkingLot()

    async def _hand_over_task(self) -> None:
        """Hand the waiting writes over each time it is woken, until the writer closes.

        It hands over before it parks and never yields in between: it is either about to
        hand over or parked, so an ``unpark`` is never lost.
        """
        while not self._closing:
            self._hand_over()
            assert self._hand_over_lot is not None
            await self._hand_over_lot.park()

    def _hand_over(self) -> None:
        """Queue the waiting writes for the thread, in order (Trio thread)."""
        waiting = self._waiting
        while waiting:
            self._queue.put(waiting.popleft())

    @property
    def waiting(self) -> int:
        """Writes submitted but not yet handed to the thread (they are journaled)."""
        return len(self._waiting)

    async def call(self, run: Callable[[sqlite3.Connection], _T], what: str) -> _T:
        """Queue ``run`` behind every earlier job and wait for its result."""
        if self.failed is not None:
            raise self.failed
        if self._closing:
            raise RepositoryFailed(f"{what}: the repository is closed")
        self._hand_over()  # behind every earlier write
        job = _Job(
            what,
            run=run,
            task=trio.lowlevel.current_task(),
            token=trio.lowlevel.current_trio_token(),
        )
        self._queue.put(job)
        result: _T = await trio.lowlevel.wait_task_rescheduled(
            lambda _raise_cancel: trio.lowlevel.Abort.FAILED
        )
        return result

    async def flush(self) -> None:
        """Return once every write queued before is committed (on disk: ``synchronous = FULL``)."""
        await self.call(lambda conn: None, "flush")

    async def close(self) -> None:
        """Commit everything queued, close the connection and end the thread."""
        if not self._closing:
            self._closing = True
            self._hand_over()
            self._end_hand_over()
            self._queue.put(_STOP)
            self._gate.set()
        await trio.to_thread.run_sync(self._thread.join)
        if self.journal is not None:
            self.journal.close(applied=None if self._abandoned else self.applied)
            self.journal = None

    def hold(self) -> None:
        """Test seam: run nothing more until ``release`` (queued rows stay off disk)."""
        self._gate.clear()

    def release(self) -> None:
        """Test seam: let a held writer go on."""
        self._gate.set()

    def abandon(self) -> None:
        """Test seam: drop every queued job unwritten, as a ``kill -9`` of the process would."""
        self._abandoned = self._closing = True
        self._waiting.clear()
        self._end_hand_over()
        self._queue.put(_STOP)
        self._gate.set()

    def _end_hand_over(self) -> None:
        if self._hand_over_lot is not None:
            self._hand_over_lot.unpark()  # it sees ``_closing`` and returns

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    # ------------------------------------------------------------------ writer thread

    def _loop(self) -> None:
        job: _Job | None = None
        try:
            while True:
                job = self._queue.get()
                self._gate.wait()
                if self._abandoned:
                    break
                writes: list[_Job] = []
                while job is not None and job.task is None and job is not _STOP:
                    writes.append(job)
                    job = None
                    if len(writes) < MAX_BATCH:  # a full batch leaves the rest queued
                        with contextlib.suppress(queue.Empty):
                            job = self._queue.get_nowait()
                if writes:
                    self._commit(writes)
                if job is _STOP:
                    job = None
                    break
                if job is not None:
                    self._answer(job)
                    job = None
        finally:
            self._drop_queued([] if job is None or job is _STOP else [job])
            if self._conn.in_transaction:
                self._conn.rollback()
            self._conn.close()

    def _commit(self, writes: list[_Job]) -> None:
        """Run ``writes`` in one transaction, each in its own savepoint."""
        if self.failed is not None or self._abandoned:
            self._drop(writes)
            return
        conn = self._conn
        done = 0
        applied = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in writes:
                conn.execute("SAVEPOINT w")
                try:
                    run_statements(conn, job.statements or [])
                except Exception as exc:
                    if not conn.in_transaction:  # it took the transaction with it (disk full)
                        raise
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    self._fail(job, exc)
                    break
                conn.execute("RELEASE w")
                done += 1
                applied = job.seq if job.seq is not None else applied
            if applied is not None:
                conn.execute(SET_APPLIED, [str(applied)])
            conn.execute("COMMIT")
        except Exception as exc:  # nothing of this batch is on disk
            if conn.in_transaction:
                conn.rollback()
            lost = writes[: done + 1]
            self._fail(lost[-1], exc, lost=lost)
            self._drop(writes[done + 1 :])
            return
        self.writes_committed += done
        self.commits += 1
        self._drop(writes[done + 1 :])
        if applied is not None:
            self.applied = applied
            journal = self.journal
            if journal is not None and self._queue.empty():
                journal.rotate_if_applied(applied)

    def _answer(self, job: _Job) -> None:
        if self.failed is not None or self._abandoned:
            job.reply(outcome.Error(self.failed or RepositoryFailed("the repository is closed")))
            return
        assert job.run is not None
        result = outcome.capture(job.run, self._conn)
        if self._conn.in_transaction:  # a call must leave no transaction open
            self._conn.rollback()  # pragma: no cover (every call commits or rolls back)
        job.reply(result)

    def _fail(self, job: _Job, exc: Exception, lost: list[_Job] | None = None) -> None:
        """``job`` failed with ``exc``; ``lost`` are every write it took down with it."""
        if self.failed is not None:  # the first failure was reported already
            self._drop(lost or [job])
            return
        names = ", ".join(j.what for j in (lost or [job]))
        logger.error("database write failed (%s): %s: %s; no more writes are made, new "
                     "BUYs stop, open positions keep selling; the next start replays the "
                     "journal", names, type(exc).__name__, exc)  # fmt: skip
        self.failed = RepositoryFailed(f"database write failed ({job.what}): {exc}")
        self.failed.__cause__ = exc

    def _drop(self, jobs: list[_Job]) -> None:
        for job in jobs:
            if job.task is not None:
                job.reply(outcome.Error(self.failed or RepositoryFailed("closed")))
            elif not self._abandoned:
                logger.error("not written, the repository failed: %s", job.what)

    def _drop_queued(self, left: list[_Job]) -> None:
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._drop([job for job in left if job is not _STOP])
