"""The send marker: a few dozen bytes journaled before an order's send, its row after it.

``mark_sending`` takes a new position's id and journals ``["sent", side, id, mint,
signature]``; the row follows once the request is written (``insert_position_nowait`` /
``update_position_nowait``). A kill between the two leaves a marker no row settles: the
next start must say that rows may be lost (reconciliation then waits for the ledger). A
marker followed by its row costs nothing; a marker is never replayed as a write.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from tests.store.factories import make_buy_order, make_sell_order, make_token_info, on_disk
from trio_trader.store import Repository, RepositoryFailed, _journal, open_repository
from trio_trader.store._journal import journal_path, read_log
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder
from trio_trader.trading.position import Position


def signed_buy(seed: int) -> tuple[Position, BuyOrder]:
    """A new position holding its signed, unsent (PENDING) BUY."""
    token_info = make_token_info(seed=seed)
    position = Position.create_from_token_info(token_info)
    buy = make_buy_order(token_info)
    sign(buy, seed)
    position.update_from_buy_order(buy)
    return position, buy


def signed_sell(position: Position, n: int) -> SellOrder:
    sell = make_sell_order(position.token_info)
    sign(sell, n)
    position.update_from_sell_order(sell, exit_reason="stop_loss")
    return sell


def buy_sent(repo: Repository, seed: int) -> tuple[Position, BuyOrder]:
    """As the send path does: the BUY's marker, then (after the write) its row."""
    position, buy = signed_buy(seed)
    repo.mark_sending(position, buy)
    repo.insert_position_nowait(position)
    return position, buy


def sell_sent(repo: Repository, position: Position, n: int) -> SellOrder:
    sell = signed_sell(position, n)
    repo.mark_sending(position, sell)
    repo.update_position_nowait(position)
    return sell


@asynccontextmanager
async def marked_buy(
    path: Path, seed: int = 1
) -> AsyncIterator[tuple[Repository, Position, BuyOrder]]:
    """The database at ``path`` open, its session begun, a signed BUY's marker journaled
    (its row not yet: the send path's state between the two)."""
    async with open_repository(path) as repo:
        await repo.begin_session()
        position, buy = signed_buy(seed)
        repo.mark_sending(position, buy)
        yield repo, position, buy


async def killed_after_a_marker(path: Path) -> tuple[Position, BuyOrder]:
    """A trading run that marks a BUY and is killed before its row."""
    async with marked_buy(path) as (repo, position, buy):
        repo.writer.abandon()
    return position, buy


def sign(order: BuyOrder | SellOrder, n: int) -> None:
    order.attach_transaction(
        signature=f"{order.side}{n}".ljust(88, "x"), raw_transaction=bytes([n]) * 300,
        blockhash="H" * 44, last_valid_block_height=1_000 + n,
    )  # fmt: skip


async def test_a_marker_is_a_short_line_and_its_row_follows_the_send(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with marked_buy(path) as (repo, position, buy):
            assert position.id == 1  # taken before the send, on the loop
            log = journal_path(str(path)).read_bytes()
            assert len(log) < 200  # no row, no SQL: the marker alone
            assert read_log(journal_path(str(path))) == (
                [],
                [_journal.Marker("buy", 1, str(position.mint), buy.signature or "")],
                False,
            )
            assert repo.writer.journal is not None
            assert repo.writer.journal.unsettled == 1
            assert repo.insert_position_nowait(position) == 1  # the row, after the write
            assert repo.writer.journal.unsettled == 0
            await repo.flush()
            assert on_disk(path, "SELECT id, status FROM positions") == [(1, "pending")]


async def test_a_kill_between_the_send_and_its_row_makes_the_next_start_reconcile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The BUY's marker is journaled, the process dies before the row: same machine,
    yet the next start must wait for the ledger (the BUY may be out, no row names it)."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        _, buy = await killed_after_a_marker(path)  # kill -9 right after the request's write
        with caplog.at_level(logging.WARNING, logger="trio_trader.store._repository"):
            async with open_repository(path) as repo:
                assert await repo.begin_session() is True
                assert await repo.get_open_positions() == []  # the marker wrote nothing
        assert on_disk(path, "SELECT COUNT(*) FROM positions") == [(0,)]
        (line,) = [r.getMessage() for r in caplog.records if "before writing its row" in r.message]
        assert f"BUY {buy.signature} of position 1" in line


async def test_a_marker_followed_by_its_row_costs_the_next_start_nothing(tmp_path: Path) -> None:
    """A BUY and then a SELL, each marked and then written; killed with the rows still
    queued: the journal replays the rows, every marker is settled, no wait."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            position, _ = buy_sent(repo, 1)
            sell = sell_sent(repo, position, 2)
            repo.writer.abandon()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            (read,) = await repo.get_unresolved_positions()
            assert read.sell_order is not None
            assert read.sell_order.signature == sell.signature


async def test_a_settled_sell_marker_of_an_earlier_attempt_is_named_by_its_trade(
    tmp_path: Path,
) -> None:
    """A failed SELL attempt's signature leaves the row when the next attempt is written;
    its trade row still names it, so its marker stays settled."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            position, _ = buy_sent(repo, 1)
            first = sell_sent(repo, position, 2)
            first.mark_sent(sent_at=1.0, sent_at_wall=2.0)
            first.mark_failed(error="expired")
            repo.update_position_nowait(position, resolved=first)
            sell_sent(repo, position, 3)
            repo.writer.abandon()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False


async def test_a_marker_is_never_replayed_as_a_write(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            buy_sent(repo, 1)
            other, other_buy = signed_buy(2)
            repo.mark_sending(other, other_buy)  # its row never comes
            repo.writer.abandon()
        writes, markers, _ = read_log(journal_path(str(path)))
        assert [seq for seq, _ in writes] == [1]
        assert [m.position_id for m in markers] == [1, 2]
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True  # position 2's BUY: unknown
            await repo.flush()
            assert on_disk(path, "SELECT id FROM positions") == [(1,)]
            assert on_disk(path, "SELECT value FROM meta WHERE key = 'queue_seq'") == [("1",)]
            # the next id is above the row only: the marker's id was never a row
            nxt, _ = signed_buy(3)
            assert await repo.insert_position(nxt) == 2


async def test_a_torn_marker_is_skipped_and_does_not_swallow_the_next_line(
    tmp_path: Path,
) -> None:
    """A kill inside the marker's own write: its send never started (the send follows
    the marker), so the fragment is skipped like any torn line, and the next run's
    first line is not glued onto it."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        await killed_after_a_marker(path)
        log = journal_path(str(path))
        whole = log.read_bytes()
        log.write_bytes(whole[: len(whole) - 30])  # cut inside the marker
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False  # nothing can be out
            after, _ = buy_sent(repo, 2)
            repo.writer.abandon()
        writes, markers, _ = read_log(log)
        assert [m.position_id for m in markers] == [1]  # the second run's: read whole
        assert len(writes) == 1
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            (read,) = await repo.get_open_positions()
            assert read.mint == after.mint


async def test_a_rotation_never_drops_a_marker_that_waits_for_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer empties a large log once every write in it is committed. A marker
    whose row is not written yet must survive that: emptied, a kill right after would
    leave no trace of an order that may be out."""
    monkeypatch.setattr(_journal, "ROTATE_BYTES", 1)
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with marked_buy(path) as (repo, _, _):
            other, _ = signed_buy(2)
            await repo.insert_position(other)  # another task's write, committed meanwhile
            await repo.flush()
            log = journal_path(str(path))
            assert [m.position_id for m in read_log(log).markers] == [1]  # not rotated away
            repo.writer.abandon()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True


async def test_a_clean_close_with_a_marker_and_no_row_keeps_it_for_the_next_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with marked_buy(path):  # then closed cleanly, with the marker and no row
            assert [m.position_id for m in read_log(journal_path(str(path))).markers] == [1]
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True
            repo.reconciled()
        async with open_repository(path) as repo:  # the last run closed cleanly
            assert await repo.begin_session() is False


async def test_an_update_of_a_position_whose_insert_never_ran_inserts_it(tmp_path: Path) -> None:
    """The row after the send was kept from running (an exception): the position's next
    write inserts the whole row instead of failing the writer on a missing row."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with marked_buy(path) as (repo, position, buy):
            buy.mark_sent(sent_at=1.0, sent_at_wall=2.0)
            buy.mark_failed(error="refused")
            position.apply_buy_result(buy.to_result())
            await repo.update_position(position, resolved=buy)
            await repo.flush()
            assert repo.failed is None
            assert repo.writer.journal is not None
            assert repo.writer.journal.unsettled == 0
            assert on_disk(path, "SELECT id, status FROM positions") == [(1, "failed")]
            assert on_disk(path, "SELECT position_id, state FROM trades") == [(1, "failed")]


async def test_a_failed_repository_refuses_a_new_position_s_marker_not_a_sell_s(
    tmp_path: Path,
) -> None:
    """No BUY may start on a failed repository; a SELL of an open position must (its
    marker and row are journaled for the next start), and a BUY already marked still
    gets its row journaled after the send."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            held, _ = buy_sent(repo, 1)
            marked, marked_buy = signed_buy(2)
            repo.mark_sending(marked, marked_buy)
            await repo.flush()
            repo.writer.failed = RepositoryFailed("disk full")
            refused, refused_buy = signed_buy(3)
            with pytest.raises(RepositoryFailed):
                repo.mark_sending(refused, refused_buy)
            assert refused.id is None
            repo.insert_position_nowait(marked)  # its BUY is out: journaled all the same
            sell = sell_sent(repo, held, 4)
            repo.writer.abandon()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False  # every marker has its row
            positions = {p.id: p for p in await repo.get_open_positions()}
            assert sorted(positions) == [1, 2]
            held_sell = positions[1].sell_order
            assert held_sell is not None
            assert (held_sell.signature, held_sell.state) == (sell.signature, OrderState.PENDING)


async def test_a_reconciliation_owed_survives_a_kill_until_it_is_done(tmp_path: Path) -> None:
    """The start that found a marker with no row owes a reconciliation with the ledger.
    Killed before it is done (say, during its wait), the next start owes it too, though
    that start's journal holds no unknown marker of its own; once done, none is owed."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        await killed_after_a_marker(path)
        for _ in range(2):
            async with open_repository(path) as repo:
                assert await repo.begin_session() is True
                repo.writer.abandon()  # killed while reconciling
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True
            repo.reconciled()
            repo.writer.abandon()  # killed right after: the marker is accounted for
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False  # and after a clean close


async def test_a_clean_close_before_the_reconciliation_is_done_keeps_it_owed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        await killed_after_a_marker(path)
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True
        async with open_repository(path) as repo:  # closed cleanly, still owed
            assert await repo.begin_session() is True


async def test_a_corrupt_order_column_names_no_marker_and_breaks_no_start(tmp_path: Path) -> None:
    """The check reads the marked position's order JSON: one that is not JSON (a
    corrupt row) makes the start wait for the ledger instead of failing it."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            buy_sent(repo, 1)
            await repo.flush()
            repo.writer.abandon()
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE positions SET buy_order = '{not json' WHERE id = 1")
        conn.close()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True
