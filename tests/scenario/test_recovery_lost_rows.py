"""A crash before a sent order's row reaches the disk loses nothing.

The store commits in its writer thread, off the send path, so a crash may come after an
order was sent and before its row was committed. Here that instant is made exact: the
writer is held (``repo.writer.hold()``) just before the send, the order goes out, ``Crash``
unwinds the bot, and the writer is abandoned (its queue dropped, as ``kill -9`` drops it).

* A killed **process**: the trading run's journal (``store/_journal.py``), appended before
  each write is queued, survives in the page cache; the next run replays it and goes on
  at once, as if every row had been written.
* A crashed **machine** (``lose_power``): the journal's tail is gone too and the boot id
  changed. The order is held back by the simulator (``SEND_DELAY``) so it lands only
  AFTER the next run started: that run waits until everything the dead run could have
  sent has landed or expired (``trading/horizon.py``), and start-up reconciliation books
  it from the wallet's history.

Either way the books match the ledger to the lamport, no tokens are left, and no mint is
bought (or sold) twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from solders.signature import Signature

from tests.scenario.harness import (
    RECOVERY_CONFIG,
    Crash,
    Harness,
    HookedSeller,
    crash_first_run,
    running_bot,
)
from tests.store.factories import on_disk
from trio_trader.app import Bot, build_bot
from trio_trader.config import parse_config
from trio_trader.store import Repository, _journal, open_repository
from trio_trader.store._journal import Journal, journal_path, read_log
from trio_trader.trading.orders import BuyOrder, Order, OrderState
from trio_trader.trading.position import Position
from trio_trader.trading.reconcile import ReconcileReport

FAST_SLOT = 0.01
#: seconds the simulator holds the lost order back: it lands after the restart
SEND_DELAY = 0.6
CONFIG = RECOVERY_CONFIG


def lose_power(h: Harness, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine died: the queue and the journal's unsynced tail are gone, and the next
    run boots with another boot id."""
    h.repo.writer.abandon()
    journal_path(str(db)).write_bytes(b"")
    monkeypatch.setattr(_journal, "boot_id", lambda: "the-next-boot")


def delay_sends(h: Harness, seconds: float) -> None:
    h.sim.faults.latency_min = h.sim.faults.latency_max = seconds


@asynccontextmanager
async def next_run(h: Harness, db: Path, config: dict[str, Any] = CONFIG) -> AsyncIterator[Bot]:
    """The bot's next life: a new repository (its own writer) on the same file and wallet,
    started (reconciliation done), stopped when the block ends."""
    async with open_repository(db) as repo:
        bot = await next_bot(h, repo, config)
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.trader.run)
            yield bot
            nursery.cancel_scope.cancel()


async def next_bot(h: Harness, repo: Repository, config: dict[str, Any] = CONFIG) -> Bot:
    """A fresh production bot on ``repo`` and the harness's wallet (not started)."""
    delay_sends(h, 0.0)
    h.repo = repo
    return await build_bot(
        parse_config(config, env={}), rpc=h.rpc, keypair=h.wallet, repo=repo,
        ws_url=h.sim.ws_url,
    )  # fmt: skip


def first_life(tmp_path: Path, config: dict[str, Any] = CONFIG) -> Any:
    """The harness on ``tmp_path / "bot.db"``, its bot not started (``crash_first_run``)."""
    return running_bot(
        tmp_path, config=config, db=tmp_path / "bot.db", start=False, slot_time=FAST_SLOT
    )


@attrs.define
class CrashAt:
    """Arms the harness's hooks: hold the writer just before a send (the rows queued from
    then on stay off disk), hold the order back ``delay`` s, crash right after the send."""

    h: Harness
    delay: float = SEND_DELAY
    sent: list[Any] = attrs.field(factory=list)

    def buy(self, *, crash: bool = True, delay: bool = True) -> CrashAt:
        self.h.buyer.before = self._hold if delay else self.h.repo.writer.hold
        self.h.buyer.after = self._die if crash else self.sent.append
        return self

    def sell(self, *, hold: bool = True) -> CrashAt:
        self.h.seller.before = self._flush_and_hold if hold else self._delay
        self.h.seller.after = self._die_async
        return self

    def _hold(self) -> None:
        self.h.repo.writer.hold()
        delay_sends(self.h, self.delay)

    async def _flush_and_hold(self, _attempt: int) -> None:
        await self.h.repo.flush()  # what came before (the BUY's rows) is on disk
        self._hold()

    async def _delay(self, _attempt: int) -> None:
        delay_sends(self.h, self.delay)

    def _die(self, order: Any) -> None:
        self.sent.append(order)
        raise Crash

    async def _die_async(self, order: Any) -> None:
        self._die(order)


def reconciled(bot: Bot, *, waited: bool) -> ReconcileReport:
    """The next run's reconciliation report: it ``waited`` for the ledger (rows may have
    been lost), or it did not, and then found nothing the database did not know."""
    report = bot.trader.reconciliation
    assert report is not None
    assert (report.waited_for_height is not None) is waited
    if not waited:
        assert report.unknown_transactions == 0
    return report


def landed(h: Harness, signature: str | None) -> bool:
    assert signature is not None
    executed = h.sim.node.transaction(Signature.from_string(signature))
    return executed is not None and executed.err is None


async def lost_buy_booked(h: Harness, bot: Bot, signature: str | None) -> None:
    """The next run waited for the ledger, adopted the BUY no row named, and sold it:
    the books match to the lamport, nothing is left."""
    report = reconciled(bot, waited=True)
    assert report.adopted_buys == 1
    await h.wait_until(lambda: h.settled(1))
    (position,) = await h.assert_books_balance()
    assert position.status == "closed"
    assert position.buy_order is not None
    assert position.buy_order.signature == signature  # named: not lost
    buys = await h.trades(position.id, "buy")
    assert [(t.state, t.signature) for t in buys] == [("confirmed", signature)]
    sells = await h.trades(position.id, "sell")
    assert [t.state for t in sells] == ["confirmed"]
    assert h.token_balance(position.mint) == 0


async def lost_sell_booked(h: Harness, bot: Bot, signature: str | None) -> None:
    """The next run waited for the ledger and booked the SELL no row named, once: the
    position is closed, no second SELL was ever sent, nothing is left."""
    report = reconciled(bot, waited=True)
    assert report.adopted_sells == 1
    await h.wait_until(lambda: h.settled(1))
    (position,) = await h.assert_books_balance()
    assert position.status == "closed"
    sells = await h.trades(position.id, "sell")
    assert [(t.state, t.signature) for t in sells] == [("confirmed", signature)]
    assert h.token_balance(position.mint) == 0


async def test_machine_crash_after_the_buy_was_sent_before_its_row_was_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            sent = CrashAt(h).buy().sent
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            assert on_disk(db, "SELECT id FROM positions") == []
            assert not landed(h, sent[0].signature)  # still in flight as the next run starts

            async with next_run(h, db) as bot:
                await lost_buy_booked(h, bot, sent[0].signature)


async def test_machine_crash_after_the_sell_was_sent_before_its_row_was_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On disk the position still holds its tokens (BUY confirmed, no SELL): the next run
    must book the SELL that landed and close the position, not SELL again into an empty
    token account."""
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            sent = CrashAt(h).sell().sent
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            rows = on_disk(db, "SELECT id, status, sell_order FROM positions")
            assert rows == [(1, "active", None)]
            assert not landed(h, sent[0].signature)

            async with next_run(h, db) as bot:
                await lost_sell_booked(h, bot, sent[0].signature)


async def test_machine_crash_after_a_buy_and_its_sell_were_sent_with_neither_row_on_disk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer is held from before the BUY: neither the position, nor its BUY, nor the
    SELL that followed is on disk. The next run adopts the BUY and the SELL from the
    wallet's history into one closed position."""
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            sent = CrashAt(h).buy(crash=False, delay=False).sell(hold=False).sent
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            assert on_disk(db, "SELECT id FROM positions") == []
            buy, sell = sent
            assert landed(h, buy.signature)
            assert not landed(h, sell.signature)

            async with next_run(h, db) as bot:
                report = bot.trader.reconciliation
                assert report is not None
                assert (report.adopted_buys, report.adopted_sells) == (1, 1)
                await h.wait_until(lambda: h.settled(1))
                (position,) = await h.assert_books_balance()
                assert position.status == "closed"
                buys = await h.trades(position.id, "buy")
                sells = await h.trades(position.id, "sell")
                assert [t.signature for t in buys] == [buy.signature]
                assert [(t.state, t.signature) for t in sells] == [("confirmed", sell.signature)]
                assert h.token_balance(position.mint) == 0


async def test_a_clean_stop_leaves_no_wait_for_the_next_run(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            async with next_run(h, db) as bot:
                await h.launch()
                await h.wait_until(lambda: h.settled(1))
                assert bot.trader.reconciliation is not None
            async with next_run(h, db) as bot:
                reconciled(bot, waited=False)
                (position,) = await h.assert_books_balance()
                assert position.status == "closed"
                assert [t.state for t in await h.trades(position.id, "buy")] == ["confirmed"]


def set_disk_failing(db: Path, failing: bool) -> None:
    """Every position update fails from now on (``failing``), as on a disk gone bad."""
    conn = sqlite3.connect(db)
    with conn:
        if failing:
            conn.execute(
                "CREATE TRIGGER boom BEFORE UPDATE ON positions "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
            )
        else:
            conn.execute("DROP TRIGGER boom")
    conn.close()


async def test_a_failed_database_stops_new_buys_and_the_open_position_still_sells(
    tmp_path: Path,
) -> None:
    """The first BUY's row is inserted, then every write fails: the repository is failed,
    the next token is not bought, yet the open position is sold (its tokens are not
    stranded). The next run, on a working disk, replays what was dropped (the journal)."""
    db = tmp_path / "bot.db"

    def fail_disk(_order: BuyOrder) -> None:
        set_disk_failing(db, True)

    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            trader = h.bot.trader
            async with trio.open_nursery() as first:
                await first.start(trader.run)
                h.buyer.after = fail_disk
                bought = await h.launch()
                with trio.fail_after(20):
                    while trader.stats.buys_sent == 0 or trader.position_tasks:
                        await trio.sleep(0.05)  # BUY, then SELL, its rows all refused
                assert h.token_balance(bought) == 0
                assert h.repo.failed is not None
                h.buyer.after = None
                skipped = await h.launch("Second Coin")
                with trio.fail_after(20):
                    while trader.stats.buys_not_sent == 0:
                        await trio.sleep(0.05)
                assert trader.stats.buys_sent == 1
                assert h.token_balance(skipped) == 0
                first.cancel_scope.cancel()
            assert on_disk(db, "SELECT id, status FROM positions") == [(1, "pending")]

            set_disk_failing(db, False)  # the disk is fixed; the bot restarts
            async with next_run(h, db) as bot:
                # the journal held every write the failed repository dropped: replayed
                reconciled(bot, waited=False)
                await h.wait_until(lambda: h.settled(1))
                (position,) = await h.assert_books_balance()
                assert position.mint == bought
                assert position.status == "closed"
                assert [t.state for t in await h.trades(position.id, "sell")] == ["confirmed"]


async def test_a_killed_process_loses_no_row_the_journal_replays_them(tmp_path: Path) -> None:
    """kill -9 right after the BUY's send and again right after the SELL's, each time with
    the rows still queued: the journal (in the page cache) holds them, so each next run
    replays them and goes on from the rows at once, as if they had been committed."""
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            crash = CrashAt(h, delay=0.0).buy()
            await crash_first_run(h)
            h.repo.writer.abandon()
            assert on_disk(db, "SELECT id FROM positions") == []
            async with open_repository(db) as second:
                bot = await next_bot(h, second)
                production = bot.trader.seller
                h.seller = bot.trader.seller = HookedSeller(
                    chain=production.chain, slippage_bps=production.slippage_bps,
                    close_token_account=production.close_token_account,
                )  # fmt: skip
                crash.sell()
                try:
                    async with trio.open_nursery() as nursery:
                        await nursery.start(bot.trader.run)
                        report = bot.trader.reconciliation
                        assert report is not None
                        assert report.waited_for_height is None  # nothing can be missing
                        assert bot.trader.stats.positions_recovered == 1  # from the replay
                        await trio.sleep_forever()
                except* Crash:
                    pass
                second.writer.abandon()
            async with next_run(h, db) as bot:
                reconciled(bot, waited=False)
                await h.wait_until(lambda: h.settled(1))
                (position,) = await h.assert_books_balance()
                buy, sell = crash.sent
                assert position.status == "closed"
                assert position.buy_order is not None
                assert position.buy_order.signature == buy.signature
                buys = await h.trades(position.id, "buy")
                sells = await h.trades(position.id, "sell")
                assert [(t.state, t.signature) for t in buys] == [("confirmed", buy.signature)]
                assert [(t.state, t.signature) for t in sells] == [("confirmed", sell.signature)]
                assert h.token_balance(position.mint) == 0


async def test_a_stop_while_the_next_run_waits_still_sells_what_it_recovers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A graceful stop that arrives while start-up recovery waits out the dead run's
    blockhashes lets recovery finish, then sells the BUY it adopted."""
    db = tmp_path / "bot.db"
    caplog.set_level(logging.WARNING, logger="trio_trader.trading.horizon")
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            CrashAt(h).buy()
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            async with open_repository(db) as repo:
                bot = await next_bot(h, repo)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(bot.trader.run)
                    # recovery waits for the block height: its warning says so (waited for,
                    # not assumed 0.1 s after the start, which a loaded machine can outlast)
                    while "waiting until block height" not in caplog.text:
                        await trio.sleep(0.01)
                    assert bot.trader.reconciliation is not None
                    assert bot.trader.reconciliation.waited_for_height is None  # still waits
                    assert not bot.trader.position_tasks
                    with trio.fail_after(30):
                        await bot.trader.liquidate()
                    nursery.cancel_scope.cancel()
                (position,) = await h.assert_books_balance()
                assert position.status == "closed"
                assert h.token_balance(position.mint) == 0


async def test_a_lost_buy_that_failed_on_chain_is_booked_for_its_fee(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The BUY whose row was lost lands and fails (the wallet was emptied meanwhile): it
    traded nothing, but its fee is the wallet's, so the next run books it as a position
    whose BUY failed; the books still match the ledger to the lamport."""
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            sent = CrashAt(h).buy().sent
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            delay_sends(h, 0.0)
            await h.drain_wallet(leave=20_000_000)  # lands before the BUY: it fails
            async with next_run(h, db) as bot:
                report = bot.trader.reconciliation
                assert report is not None
                assert report.adopted_failed == 1
                (position,) = await h.assert_books_balance()
                assert position.status == "failed"
                assert position.buy_order is not None
                assert position.buy_order.signature == sent[0].signature
                assert position.realized_pnl_lamports is not None
                assert position.realized_pnl_lamports < 0  # the fee
                (trade,) = await h.trades(position.id, "buy")
                assert (trade.state, trade.signature) == ("failed", sent[0].signature)
                assert not landed(h, sent[0].signature)  # it landed, as a failure


async def test_a_lost_sell_that_failed_on_chain_is_booked_and_sold_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SELL whose rows were lost lands after a dump and fails on its slippage floor:
    the next run books that attempt (its fee) on the position, which still holds its
    tokens, and sells them with a new SELL."""
    db = tmp_path / "bot.db"
    tight = {**CONFIG, "trade": {**CONFIG["trade"], "sell_slippage_bps": 100}}
    with trio.fail_after(60):
        async with first_life(tmp_path, tight) as h:
            sent = CrashAt(h).sell().sent
            await crash_first_run(h)
            lose_power(h, db, monkeypatch)
            mint = sent[0].token_info.mint
            delay_sends(h, 0.0)
            await h.creator_sell(mint, 0.9)  # lands first: the SELL's floor is not met
            h.seller.before = h.seller.after = None
            async with next_run(h, db, tight) as bot:
                report = bot.trader.reconciliation
                assert report is not None
                assert report.adopted_failed == 1
                await h.wait_until(lambda: h.settled(1))
                (position,) = await h.assert_books_balance()
                assert position.status == "closed"
                sells = await h.trades(position.id, "sell")
                assert (sells[0].state, sells[0].signature) == ("failed", sent[0].signature)
                assert sells[-1].state == "confirmed"
                assert h.token_balance(mint) == 0


# ------------------------------------------------------------- the send marker (no row)


@attrs.define
class DieBeforeRow:
    """Kills the bot (``Crash``) right after an order's request is written, before its
    row: the journal holds the order's send marker alone (``Repository.mark_sending``).
    The order is held back ``SEND_DELAY`` s by the simulator: it lands after the restart."""

    h: Harness
    side: str
    sent: list[Order] = attrs.field(factory=list)

    def arm(self) -> list[Order]:
        repo = self.h.repo
        insert, update = repo.insert_position_nowait, repo.update_position_nowait

        def insert_nowait(position: Position) -> int:
            self._die_at_the_row_of_a_sent_order(position)
            return insert(position)

        def update_nowait(position: Position, **kwargs: Any) -> None:
            self._die_at_the_row_of_a_sent_order(position)
            update(position, **kwargs)

        repo.insert_position_nowait = insert_nowait  # type: ignore[method-assign]
        repo.update_position_nowait = update_nowait  # type: ignore[method-assign]
        if self.side == "buy":
            self.h.buyer.before = lambda: delay_sends(self.h, SEND_DELAY)
        else:
            self.h.seller.before = CrashAt(self.h)._delay
        return self.sent

    def _die_at_the_row_of_a_sent_order(self, position: Position) -> None:
        order = position.buy_order if self.side == "buy" else position.sell_order
        # PENDING at a row write: the row right after the request (SENT comes with the reply)
        if order is not None and order.state is OrderState.PENDING and not self.sent:
            self.sent.append(order)
            raise Crash


def journal_names_only_the_marker(db: Path, order: Order) -> None:
    writes, markers, _ = read_log(journal_path(str(db)))
    assert [(m.side, m.signature) for m in markers if m.signature == order.signature] == [
        (order.side, order.signature)
    ]
    assert not any(order.signature in repr(statements) for _, statements in writes)


@pytest.mark.parametrize("side", ["buy", "sell"])
async def test_a_kill_between_the_request_and_its_row_is_booked_from_the_ledger(
    tmp_path: Path, side: str
) -> None:
    """Same machine, same boot: only the order's marker is in the journal, and the order
    lands after the next start. That start waits for the ledger (the marker names an
    order no row knows) and books it: a BUY is adopted and sold; a SELL closes the
    position whose rows still held its tokens, with no second SELL sent into the emptied
    token account. The books match to the lamport, nothing is left."""
    db = tmp_path / "bot.db"
    with trio.fail_after(60):
        async with first_life(tmp_path) as h:
            sent = DieBeforeRow(h, side).arm()
            await crash_first_run(h)
            h.repo.writer.abandon()
            journal_names_only_the_marker(db, sent[0])
            assert not landed(h, sent[0].signature)  # still in flight as the next run starts

            async with next_run(h, db) as bot:
                booked = lost_buy_booked if side == "buy" else lost_sell_booked
                await booked(h, bot, sent[0].signature)


async def test_the_row_is_journaled_after_the_request_is_written_and_the_marker_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For the BUY and the SELL alike: the marker line, then the request's bytes on the
    socket, then the row that names the order (the cost of the row is off the way to
    the wire; the marker is on disk before the bytes leave)."""
    events: list[tuple[str, bytes]] = []
    send_all, mark, append = trio.SocketStream.send_all, Journal.mark, Journal.append

    async def recorded_send_all(self: trio.SocketStream, data: Any) -> None:
        await send_all(self, data)
        if b'"sendTransaction"' in bytes(data):
            events.append(("request", bytes(data)))

    def recorded_mark(self: Journal, side: str, position_id: int, mint: str, sig: str) -> None:
        mark(self, side, position_id, mint, sig)
        events.append(("marker", sig.encode()))

    def recorded_append(self: Journal, statements: Any, settles: Any = ()) -> int:
        seq = append(self, statements, settles)
        events.extend(("row", s.encode()) for s in settles if s is not None)
        return seq

    monkeypatch.setattr(trio.SocketStream, "send_all", recorded_send_all)
    monkeypatch.setattr(Journal, "mark", recorded_mark)
    monkeypatch.setattr(Journal, "append", recorded_append)
    with trio.fail_after(60):
        async with first_life(tmp_path) as h, next_run(h, tmp_path / "bot.db"):
            await h.launch()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
    assert position.buy_order is not None
    assert position.sell_order is not None
    for order in (position.buy_order, position.sell_order):
        signature, raw = (order.signature or "").encode(), order.raw_base64().encode()
        seen = [kind for kind, data in events if data == signature or raw in data]
        # every request of it (rebroadcasts too) after the marker; the first row after
        # the first request
        assert seen[:3] == ["marker", "request", "row"], (order.side, seen)
