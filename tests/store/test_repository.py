"""The repository: positions through every state, trades, counters, concurrency, bad rows."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from tests.store.factories import (
    SOL_COST,
    TOKENS,
    make_buy_order,
    make_sell_order,
    make_token_info,
    on_disk,
    send,
)
from trio_trader.store import (
    PRE_CONFIRMATION_SELLS,
    PRE_CONFIRMATION_SELLS_SUCCEEDED,
    CorruptRowError,
    PositionNotFound,
    Repository,
    RepositoryFailed,
    open_repository,
)
from trio_trader.trading.orders import Order, OrderState
from trio_trader.trading.position import Position

T0 = 1_780_000_000.0


def ticking_clock() -> Callable[[], float]:
    counter = itertools.count()
    return lambda: T0 + next(counter)


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    async with open_repository(tmp_path / "bot.db", now=ticking_clock()) as repository:
        yield repository


def order_fields(order: Order | None) -> dict[str, Any] | None:
    return None if order is None else attrs.asdict(order, recurse=False)


def position_fields(position: Position) -> dict[str, Any]:
    fields = attrs.asdict(position, recurse=False)
    fields["buy_order"] = order_fields(position.buy_order)
    fields["sell_order"] = order_fields(position.sell_order)
    return fields


async def assert_round_trip(repo: Repository, position: Position) -> Position:
    await repo.update_position(position)
    assert position.id is not None
    loaded = await repo.get_position(position.id)
    assert position_fields(loaded) == position_fields(position)
    assert type(loaded.buy_order) is type(position.buy_order)
    assert type(loaded.sell_order) is type(position.sell_order)
    if loaded.buy_order is not None:
        assert loaded.buy_order.token_info is loaded.token_info
    assert loaded.status == position.status
    return loaded


async def test_position_round_trips_through_every_state(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=4)
        position = Position.create_from_token_info(ti)
        position_id = await repo.insert_position(position)
        assert position.id == position_id
        assert position.created_at is not None
        assert position.created_at >= T0
        await assert_round_trip(repo, position)  # pending, no orders

        buy = make_buy_order(ti)
        buy.attach_transaction(
            signature="sig-b", raw_transaction=b"\x00\xffraw", blockhash="bh",
            last_valid_block_height=777,
        )  # fmt: skip
        position.update_from_buy_order(buy)
        loaded = await assert_round_trip(repo, position)  # PENDING but signed
        assert loaded.buy_order is not None
        assert loaded.buy_order.raw_bytes() == b"\x00\xffraw"
        assert [p.id for p in await repo.get_unresolved_positions()] == [position_id]

        buy.mark_sent(sent_at=12.5, sent_at_wall=T0 + 0.25)
        await assert_round_trip(repo, position)  # buy SENT

        sell = make_sell_order(ti, attempt=position.next_sell_attempt)
        send(sell)
        position.update_from_sell_order(sell, exit_reason="take_profit")
        loaded = await assert_round_trip(repo, position)  # sell SENT before buy confirmed
        assert loaded.sell_order is not None
        assert loaded.sell_order.sent_before_buy_confirmed
        assert loaded.status == "closing"

        position.apply_buy_result(
            buy.mark_confirmed(slot=50, fee_lamports=10_000, sol_change=-(SOL_COST + 10_000),
                               token_change=TOKENS)
        )  # fmt: skip
        await assert_round_trip(repo, position)  # buy CONFIRMED, sell still SENT
        assert [p.id for p in await repo.get_unresolved_positions()] == [position_id]

        position.apply_sell_result(
            sell.mark_failed(error={"InstructionError": [2, {"Custom": 6003}]}, error_code=6003,
                             error_name="TooLittleSolReceived", slot=51, fee_lamports=5_000,
                             sol_change=-5_000, token_change=0)
        )  # fmt: skip
        loaded = await assert_round_trip(repo, position)  # sell FAILED, needs re-send
        assert loaded.needs_sell_resend
        assert loaded.sell_order is not None
        assert loaded.sell_order.error == {"InstructionError": [2, {"Custom": 6003}]}
        assert await repo.get_unresolved_positions() == []
        assert [p.id for p in await repo.get_active_positions()] == [position_id]

        resend = make_sell_order(ti, attempt=position.next_sell_attempt)
        send(resend, 2)
        position.update_from_sell_order(resend)
        position.apply_sell_result(
            resend.mark_confirmed(slot=60, fee_lamports=5_000, sol_change=1_100_000_000,
                                  token_change=-TOKENS)
        )  # fmt: skip
        loaded = await assert_round_trip(repo, position)  # closed
        assert (loaded.status, loaded.sell_attempts, loaded.is_closed) == ("closed", 2, True)
        assert loaded.closed_at is not None
        assert loaded.closed_at > T0
        assert loaded.realized_pnl_lamports == 1_100_000_000 - 5_000 - (SOL_COST + 10_000)
        assert await repo.get_active_positions() == []
        assert await repo.get_open_positions() == []
        assert [p.id for p in await repo.list_positions(status="closed")] == [position_id]


async def test_position_with_failed_buy_round_trips_as_failed(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=6)
        position = Position.create_from_token_info(ti)
        await repo.insert_position(position)
        buy = make_buy_order(ti)
        send(buy)
        position.update_from_buy_order(buy)
        position.apply_buy_result(buy.mark_failed(error="expired", error_name="Expired"))
        loaded = await assert_round_trip(repo, position)
        assert (loaded.status, loaded.exit_reason) == ("failed", "buy_failed")
        assert loaded.buy_order is not None
        assert loaded.buy_order.state is OrderState.FAILED


async def test_trades_and_pre_confirmation_counters(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=7)
        position = Position.create_from_token_info(ti)
        pid = await repo.insert_position(position)
        buy = make_buy_order(ti)
        send(buy)
        position.update_from_buy_order(buy)
        with pytest.raises(ValueError, match="record_trade of a sent"):
            await repo.record_trade(pid, buy)
        early = make_sell_order(ti)
        send(early)
        position.update_from_sell_order(early)
        early.mark_failed(error={"InstructionError": [3, {"Custom": 3012}]}, error_code=3012,
                          error_name="AccountNotInitialized", sol_change=-5_000)  # fmt: skip
        buy.mark_confirmed(slot=9, fee_lamports=5_000, sol_change=-SOL_COST, token_change=TOKENS)
        late = make_sell_order(ti, attempt=2)
        send(late, 2)
        position.update_from_sell_order(late)
        late.mark_confirmed(slot=10, fee_lamports=5_000, sol_change=10, token_change=-TOKENS)
        for order in (early, buy, late):
            await repo.record_trade(pid, order)
        second_early = make_sell_order(ti, sent_before_buy_confirmed=True)
        send(second_early, 3)
        second_early.mark_confirmed(slot=11, fee_lamports=1, sol_change=1, token_change=-1)
        await repo.record_trade(pid, second_early)

        trades = await repo.list_trades(pid)
        assert [(t.side, t.attempt, t.state, t.sent_before_buy_confirmed) for t in trades] == [
            ("sell", 1, "failed", True),
            ("buy", 1, "confirmed", False),
            ("sell", 2, "confirmed", False),
            ("sell", 1, "confirmed", True),
        ]
        first = trades[0]
        assert (first.error_code, first.error_name, first.sol_change) == (
            3012, "AccountNotInitialized", -5_000,
        )  # fmt: skip
        assert first.error == {"InstructionError": [3, {"Custom": 3012}]}
        assert first.signature == early.signature
        assert first.sent_at == early.sent_at_wall
        assert (trades[1].sol_amount, trades[1].sol_limit, trades[1].slot) == (
            buy.sol_cost, buy.max_sol_cost, 9,
        )  # fmt: skip
        counters = await repo.get_counters()
        assert counters[PRE_CONFIRMATION_SELLS] == 2
        assert counters[PRE_CONFIRMATION_SELLS_SUCCEEDED] == 1
        assert (counters["sell_failed"], counters["sell_confirmed"], counters["buy_confirmed"]) == (
            1, 2, 1,
        )  # fmt: skip
        assert await repo.increment_counter("sells_resent") == 1
        assert await repo.increment_counter("sells_resent", by=4) == 5


async def test_two_hundred_concurrent_writers_lose_nothing(repo: Repository) -> None:
    n = 200

    async def one(seed: int) -> None:
        ti = make_token_info(seed=seed)
        position = Position.create_from_token_info(ti)
        pid = await repo.insert_position(position)
        buy = make_buy_order(ti, token_amount=1_000 + seed)
        send(buy, seed)
        position.update_from_buy_order(buy)
        await repo.update_position(position)
        position.apply_buy_result(
            buy.mark_confirmed(slot=seed, fee_lamports=5_000, sol_change=-seed,
                               token_change=1_000 + seed)
        )  # fmt: skip
        await repo.update_position(position)
        await repo.record_trade(pid, buy)
        await repo.increment_counter("writers")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for seed in range(1, n + 1):
                nursery.start_soon(one, seed)
        positions = await repo.list_positions()
    assert len(positions) == n
    assert repo.read_errors == []
    assert sorted(p.token_amount or 0 for p in positions) == [1_000 + s for s in range(1, n + 1)]
    assert all(p.status == "active" for p in positions)
    assert all(p.sol_spent == (p.token_amount or 0) - 1_000 for p in positions)
    assert all(
        p.buy_order is not None and p.buy_order.state is OrderState.CONFIRMED for p in positions
    )
    assert len(await repo.list_trades()) == n
    counters = await repo.get_counters()
    assert (counters["writers"], counters["buy_confirmed"]) == (n, n)


async def test_malformed_order_column_names_the_row_and_spares_the_list(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path, now=ticking_clock()) as repo:
            ids = []
            for seed in (1, 2, 3):
                ti = make_token_info(seed=seed)
                position = Position.create_from_token_info(ti)
                ids.append(await repo.insert_position(position))
                position.update_from_buy_order(make_buy_order(ti))
                await repo.update_position(position)
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE positions SET buy_order = '{not json' WHERE id = ?", [ids[1]])
            conn.execute(
                'UPDATE positions SET sell_order = \'{"token_amount": "lots"}\' WHERE id = ?',
                [ids[2]],
            )
        conn.close()
        async with open_repository(path, now=ticking_clock()) as repo:
            listed = await repo.list_positions()
            assert [p.id for p in listed] == [ids[0]]
            errors = {(e.table, e.row_id, e.column) for e in repo.read_errors}
            assert errors == {
                ("positions", ids[1], "buy_order"),
                ("positions", ids[2], "sell_order"),
            }
            with pytest.raises(CorruptRowError, match=f"positions row {ids[1]}, column buy_order"):
                await repo.get_position(ids[1])
            assert (await repo.get_position(ids[0])).buy_order is not None


def add_boom_trigger(path: Path, event: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            f"CREATE TRIGGER boom BEFORE {event} ON positions WHEN NEW.exit_reason = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    conn.close()


async def test_each_write_is_atomic_and_a_failed_one_fails_the_repository(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A write that fails in the writer leaves nothing half-written (its token_info upsert
    is rolled back with it), is logged at ERROR with the position id, and fails the
    repository: answers raise RepositoryFailed, new positions are refused, and updates of
    known ones are dropped (logged) instead of raising, so a monitor keeps selling."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path, now=ticking_clock()) as repo:
            kept = Position.create_from_token_info(make_token_info(seed=8))
            assert await repo.insert_position(kept) == 1
            add_boom_trigger(path, "INSERT")
            position = Position.create_from_token_info(make_token_info(seed=9))
            position.exit_reason = "boom"
            assert await repo.insert_position(position) == 2  # queued: returns at once
            later = Position.create_from_token_info(make_token_info(seed=10))
            assert await repo.insert_position(later) == 3  # queued behind the failing one
            with pytest.raises(RepositoryFailed, match=r"insert position 2 .*boom"):
                await repo.flush()
            assert isinstance(repo.failed, RepositoryFailed)
            with pytest.raises(RepositoryFailed):
                await repo.get_open_positions()
            with pytest.raises(RepositoryFailed):
                await repo.insert_position(Position.create_from_token_info(make_token_info()))
            kept.exit_reason = "still selling"
            await repo.update_position(kept)  # dropped, logged: never raises
            # on disk: the state as of the write before the failing one, nothing of it
            assert on_disk(path, "SELECT id, exit_reason FROM positions") == [(1, None)]
            assert on_disk(path, "SELECT mint FROM token_info") == [(str(kept.mint),)]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("insert position 2" in e and "boom" in e for e in errors)
    assert any("not written" in e and "insert position 3" in e for e in errors)
    assert any("not written" in e and "update position 1" in e for e in errors)


async def test_update_and_get_of_unknown_positions(repo: Repository) -> None:
    with trio.fail_after(30):
        position = Position.create_from_token_info(make_token_info())
        with pytest.raises(ValueError, match="never inserted"):
            await repo.update_position(position)
        await repo.insert_position(position)
        with pytest.raises(ValueError, match="already in the database"):
            await repo.insert_position(position)
        with pytest.raises(PositionNotFound):
            await repo.get_position(999)
        position.id = 999
        with pytest.raises(PositionNotFound):
            await repo.update_position(position)


async def test_token_info_upsert_replaces_and_round_trips(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=12, created_at=None, virtual_sol_reserves=None)
        await repo.upsert_token_info(ti)
        assert await repo.get_token_info(ti.mint) == ti
        changed = attrs.evolve(ti, name="Renamed", is_mayhem_mode=True)
        await repo.upsert_token_info(changed)
        assert await repo.get_token_info(str(ti.mint)) == changed


async def test_timestamps_come_from_the_injected_clock(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with open_repository(tmp_path / "t.db", now=lambda: 42.0) as repo:
            position = Position.create_from_token_info(make_token_info())
            await repo.insert_position(position)
            position.close("manual")
            await repo.update_position(position)
            loaded = await repo.get_position(position.id or 0)
            assert (loaded.created_at, loaded.closed_at) == (42.0, 42.0)


async def test_update_overwrites_both_order_columns_every_call(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=21)
        position = Position.create_from_token_info(ti)
        await repo.insert_position(position)
        position.update_from_buy_order(make_buy_order(ti))
        position.update_from_sell_order(make_sell_order(ti))
        await repo.update_position(position)
        loaded = await repo.get_position(position.id or 0)
        assert loaded.buy_order is not None
        assert loaded.sell_order is not None
        position.buy_order, position.sell_order = None, None
        await repo.update_position(position)
        loaded = await repo.get_position(position.id or 0)
        assert loaded.buy_order is None
        assert loaded.sell_order is None


async def test_in_memory_database_works_for_throwaway_runs() -> None:
    with trio.fail_after(30):
        async with open_repository(":memory:") as repo:
            position = Position.create_from_token_info(make_token_info(seed=30))
            assert await repo.insert_position(position) == 1
            assert [p.id for p in await repo.get_open_positions()] == [1]


async def test_database_work_runs_off_the_trio_thread_one_call_at_a_time(tmp_path: Path) -> None:
    """A SQL function called by a trigger sees which thread runs each write, and how many
    run at once: never the Trio thread, never two together, although 20 tasks write."""
    trio_thread = threading.get_ident()
    threads: set[int] = set()
    inside = [0, 0]  # now, most ever

    def probe() -> int:
        threads.add(threading.get_ident())
        inside[0] += 1
        inside[1] = max(inside)
        time.sleep(0.001)  # widen the window in which an overlap would show
        inside[0] -= 1
        return 0

    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path, now=ticking_clock()) as repo:
            repo._db.conn.create_function("probe", 0, probe)
            repo._db.execute(
                "CREATE TEMP TRIGGER watch AFTER INSERT ON positions BEGIN SELECT probe(); END"
            )
            async with trio.open_nursery() as nursery:
                for seed in range(1, 21):
                    ti = make_token_info(seed=seed)
                    nursery.start_soon(repo.insert_position, Position.create_from_token_info(ti))
            assert len(await repo.list_positions()) == 20
    assert threads
    assert trio_thread not in threads
    assert inside[1] == 1
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


async def test_list_trades_filters_by_position(repo: Repository) -> None:
    with trio.fail_after(30):
        ids = []
        for seed in (40, 41):
            ti = make_token_info(seed=seed)
            position = Position.create_from_token_info(ti)
            ids.append(await repo.insert_position(position))
            buy = make_buy_order(ti)
            send(buy, seed)
            buy.mark_failed(error="expired", error_name="BlockhashExpired")
            await repo.record_trade(position.id, buy)
        assert [t.position_id for t in await repo.list_trades()] == ids
        assert [t.position_id for t in await repo.list_trades(ids[1])] == [ids[1]]
        assert await repo.list_trades(12345) == []


async def test_an_error_that_is_not_json_is_stored_as_text(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=50)
        position = Position.create_from_token_info(ti)
        pid = await repo.insert_position(position)
        buy = make_buy_order(ti)
        send(buy)
        position.update_from_buy_order(buy)
        position.apply_buy_result(buy.mark_failed(error=TimeoutError("node went away")))
        await repo.update_position(position)
        await repo.record_trade(pid, buy)
        loaded = await repo.get_position(pid)
        assert loaded.buy_order is not None
        assert loaded.buy_order.error == "node went away"
        assert loaded.status == "failed"
        (trade,) = await repo.list_trades(pid)
        assert trade.error == "node went away"


async def test_unresolved_positions_include_one_closed_before_its_buy_result(
    repo: Repository,
) -> None:
    """The SELL's confirmation closed the position while its BUY was still SENT; after a
    restart only resolving that BUY gives the position its cost and PnL."""
    with trio.fail_after(30):
        positions = {}
        for seed, kind in ((60, "closed-buy-sent"), (61, "closed-resolved"), (62, "open-sent")):
            ti = make_token_info(seed=seed)
            position = Position.create_from_token_info(ti)
            await repo.insert_position(position)
            buy = make_buy_order(ti)
            send(buy, seed)
            position.update_from_buy_order(buy)
            if kind != "open-sent":
                sell = make_sell_order(ti)
                send(sell, seed + 100)
                position.update_from_sell_order(sell)
                if kind == "closed-resolved":
                    position.apply_buy_result(
                        buy.mark_confirmed(slot=1, fee_lamports=5_000, sol_change=-SOL_COST,
                                           token_change=TOKENS)
                    )  # fmt: skip
                position.apply_sell_result(
                    sell.mark_confirmed(slot=2, fee_lamports=5_000, sol_change=SOL_COST,
                                        token_change=-TOKENS)
                )  # fmt: skip
            await repo.update_position(position)
            positions[kind] = position
        assert positions["closed-buy-sent"].is_closed
        assert positions["closed-buy-sent"].realized_pnl_lamports is None
        unresolved = await repo.get_unresolved_positions()
        assert [p.id for p in unresolved] == [
            positions["closed-buy-sent"].id,
            positions["open-sent"].id,
        ]
        assert unresolved[0].buy_order is not None
        assert unresolved[0].buy_order.state is OrderState.SENT
        assert [p.id for p in await repo.get_open_positions()] == [positions["open-sent"].id]


async def test_position_update_and_its_trade_row_commit_together(tmp_path: Path) -> None:
    """A resolved order's trade row and counters and the position row that carries the order
    are one write: if the position write fails, no trade row or counter is left behind
    (a restart would otherwise confirm that order again and count it twice)."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path, now=ticking_clock()) as repo:
            ti = make_token_info(seed=60)
            position = Position.create_from_token_info(ti)
            pid = await repo.insert_position(position)
            await repo.flush()
            add_boom_trigger(path, "UPDATE")
            buy = make_buy_order(ti)
            send(buy)
            position.update_from_buy_order(buy)
            position.apply_buy_result(buy.mark_failed(error="expired"))
            position.exit_reason = "boom"
            await repo.update_position(position, resolved=buy)
            with pytest.raises(RepositoryFailed, match="boom"):
                await repo.flush()
    assert on_disk(path, "SELECT * FROM trades") == []
    assert on_disk(path, "SELECT * FROM counters") == []
    assert on_disk(path, f"SELECT status FROM positions WHERE id = {pid}") == [("pending",)]


async def test_the_resolved_order_and_its_trade_row_land_together(repo: Repository) -> None:
    with trio.fail_after(30):
        ti = make_token_info(seed=61)
        position = Position.create_from_token_info(ti)
        pid = await repo.insert_position(position)
        buy = make_buy_order(ti)
        send(buy)
        position.update_from_buy_order(buy)
        position.apply_buy_result(buy.mark_failed(error="expired"))
        await repo.update_position(position, resolved=buy)
        (trade,) = await repo.list_trades(pid)
        assert trade.state == "failed"
        assert (await repo.get_counters())["buy_failed"] == 1
        assert (await repo.get_position(pid)).status == "failed"
