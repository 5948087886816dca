"""The extreme fast BUY written from the listener's own task, on the real simulator.

In extreme fast mode the BUY reads nothing before it is sent, so the listener's sink hands
it back as urgent work (``UniversalTrader._buy_now``): the pubsub reader quotes, signs,
checks the funds, journals the marker and writes the request before it reads again, and
the position task, started then, reads the reply. These tests check that order on the
sockets and in the journal, that the books still balance to the lamport, and every way
the new path can end: refused, unclear, crashed on either side of the write, cancelled,
two creates in one turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from solders.signature import Signature

from tests.scenario.harness import SOL, Harness, crash_first_run, running_bot
from tests.scenario.test_recovery_lost_rows import (
    DieBeforeRow,
    first_life,
    journal_names_only_the_marker,
    landed,
    lost_buy_booked,
    next_run,
)
from trio_trader.chain import RpcClient, untrusted, websocket
from trio_trader.chain.sender import H11Sender
from trio_trader.listeners.types import NewToken
from trio_trader.store._journal import Journal
from trio_trader.trading.orders import BuyOrder, OrderState
from trio_trader.trading.platform_aware import BuyStart
from trio_trader.trading.position import Position
from trio_trader.trading.trader import UniversalTrader

FAST: dict[str, Any] = {
    "trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000},
    "exits": {"sell_after": 0.2, "tick_interval": 0.1},
}


async def warm(h: Harness) -> None:
    """A kept-alive connection to the node, as ``keep_warm`` opens in a live run (the
    early write needs one: opening it is a round trip, left to the position task)."""
    sender = h.rpc.sender
    assert sender is not None
    await sender.post(h.sim.rpc_url, untrusted.dumps({"jsonrpc": "2.0", "id": 0,
                                                      "method": "getHealth"}))  # fmt: skip
    assert sender.idle_connections(h.sim.rpc_url) >= 1


def record_the_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The detection path's events, in order: the listener's reads, the token taken in,
    the BUY's marker, its request's bytes on the socket, its row, its position task."""
    events: list[str] = []
    receive, on_token, task = (
        websocket.ClientWebSocket.receive_messages, UniversalTrader._on_token,
        UniversalTrader._position_task,
    )  # fmt: skip
    send_all, mark, append = trio.SocketStream.send_all, Journal.mark, Journal.append

    async def recorded_receive(self: websocket.ClientWebSocket) -> list[bytes]:
        messages = await receive(self)
        events.append("read")
        return messages

    def recorded_on_token(self: UniversalTrader, token: NewToken) -> Any:
        events.append("token")
        return on_token(self, token)

    async def recorded_task(self: UniversalTrader, *args: Any) -> None:
        events.append("task")
        await task(self, *args)

    async def recorded_send_all(self: trio.SocketStream, data: Any) -> None:
        await send_all(self, data)
        if b'"sendTransaction"' in bytes(data):
            events.append("request")

    def recorded_mark(self: Journal, side: str, *args: Any) -> None:
        mark(self, side, *args)
        events.append(f"{side} marker")

    def recorded_append(self: Journal, statements: Any, settles: Any = ()) -> int:
        seq = append(self, statements, settles)
        events.extend("row" for s in settles if s is not None)
        return seq

    monkeypatch.setattr(websocket.ClientWebSocket, "receive_messages", recorded_receive)
    monkeypatch.setattr(UniversalTrader, "_on_token", recorded_on_token)
    monkeypatch.setattr(UniversalTrader, "_position_task", recorded_task)
    monkeypatch.setattr(trio.SocketStream, "send_all", recorded_send_all)
    monkeypatch.setattr(Journal, "mark", recorded_mark)
    monkeypatch.setattr(Journal, "append", recorded_append)
    return events


on_token = UniversalTrader._on_token


def record_tokens(monkeypatch: pytest.MonkeyPatch, seen: list[NewToken]) -> None:
    """Every token the listener hands the trader's sink, in ``seen``."""

    def recording(self: UniversalTrader, token: NewToken) -> Any:
        seen.append(token)
        return on_token(self, token)

    monkeypatch.setattr(UniversalTrader, "_on_token", recording)


async def taken_in_paused(
    h: Harness, monkeypatch: pytest.MonkeyPatch, *names: str
) -> list[NewToken]:
    """The trader started paused and the coins launched: the tokens its sink was handed
    (none bought, as when both come in one turn); the trader is unpaused on return, for
    the test to hand them to the sink itself."""
    seen: list[NewToken] = []
    trader = h.bot.trader
    trader.paused = True
    record_tokens(monkeypatch, seen)
    await h.background.start(trader.run)
    await warm(h)
    for name in names:
        await h.launch(name)

    async def all_seen() -> bool:
        return len(seen) == len(names)

    await h.wait_until(all_seen)
    trader.paused = False
    return seen[: len(names)]


def buy_path(events: list[str]) -> list[str]:
    """The events from the token taken in to its BUY's position task (reads kept)."""
    start = events.index("token")
    return events[start : events.index("task", start) + 1]


async def test_the_buy_is_written_before_the_listener_reads_again_and_before_its_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm: the marker, the request's bytes and the row come in the listener's step that
    decoded the create (no read, no task in between), then the position task. Cold (no
    kept-alive connection): the marker still comes in that step, and the position task
    opens a connection and sends. Both positions bought once, sold, books to the
    lamport."""
    events = record_the_path(monkeypatch)
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST) as h:
            with monkeypatch.context() as cold:  # the BUY finds no kept-alive connection
                cold.setattr(H11Sender, "idle_connections", lambda _self, _url: 0)
                await h.launch("Cold")
                await h.wait_until(lambda: h.all_closed(1))
            # signed and journaled in the listener's step; written by the position task
            assert buy_path(events) == ["token", "buy marker", "task"]
            assert "request" in events[events.index("task") :]
            del events[:]
            await warm(h)
            await h.launch("Warm")
            await h.wait_until(lambda: h.all_closed(2))
            assert buy_path(events) == ["token", "buy marker", "request", "row", "task"]
            positions = await h.assert_books_balance()
            assert [p.status for p in positions] == ["closed", "closed"]
            for position in positions:
                buys = await h.trades(position.id, "buy")
                assert [t.state for t in buys] == ["confirmed"]
                assert h.token_balance(position.mint) == 0


@pytest.mark.parametrize(
    ("limit", "skipped"),
    [({"max_active_mints": 1}, "skipped_capacity"), ({"max_buys": 1}, "skipped_max_buys")],
)
async def test_two_creates_in_one_turn_take_one_place_with_the_early_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: dict[str, int], skipped: str
) -> None:
    """Both tokens are taken in (their sink calls) before either BUY's urgent work runs:
    the mint registered by the intake keeps ``max_active_mints`` exact, and
    ``max_buys`` counts the BUY in progress."""
    settings = {**FAST, "trade": {**FAST["trade"], **limit}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=settings, start=False) as h:
            trader = h.bot.trader
            a, b = await taken_in_paused(h, monkeypatch, "First", "Second")
            first, second = a.token_info.mint, b.token_info.mint
            # what the listener does with two creates in one notification
            urgent = [on_token(trader, a), on_token(trader, b)]
            assert urgent[1] is None
            assert urgent[0] is not None
            assert list(trader.position_tasks) == [first]
            assert getattr(trader.stats, skipped) == 1
            await urgent[0]()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.mint == first != second
            assert trader.buy_count == 1


async def test_a_listener_cancelled_mid_buy_hands_it_to_its_position_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The urgent work meets a cancellation (a reconnect) at its write, after the marker:
    the position task sends the very order, once; it lands and is sold."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST, start=False) as h:
            trader = h.bot.trader
            seen = await taken_in_paused(h, monkeypatch, "Cancelled")
            urgent = on_token(trader, seen[0])
            assert urgent is not None
            with trio.CancelScope() as scope:
                scope.cancel()
                await urgent()
            position = trader.position_tasks[seen[0].token_info.mint]
            assert position is not None
            assert position.buy_order is not None
            signed = position.buy_order.signature
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            buys = await h.trades(position.id, "buy")
            assert [(t.state, t.signature) for t in buys] == [("confirmed", signed)]
            assert h.token_balance(position.mint) == 0


async def test_an_unclear_reply_after_the_early_write_sends_again_and_books_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node answers 503 to the request the listener wrote: the position task sends
    the same bytes again (they land once at most) and the position is booked once."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST) as h:
            await warm(h)
            faults = h.sim.faults
            h.buyer.before = lambda: setattr(faults, "rpc_5xx_rate", 1.0)
            sent: list[BuyOrder] = []

            def after(order: BuyOrder) -> None:
                sent.append(order)
                faults.rpc_5xx_rate = 0.0

            original = RpcClient.finish_transaction

            async def finish(self: RpcClient, *args: Any, **kwargs: Any) -> Signature:
                faults.rpc_5xx_rate = 0.0  # the early request had its 503: the next passes
                return await original(self, *args, **kwargs)

            monkeypatch.setattr(RpcClient, "finish_transaction", finish)
            h.buyer.after = after
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert h.rpc.stats.retries >= 1
            buys = await h.trades(position.id, "buy")
            assert [(t.state, t.signature) for t in buys] == [("confirmed", sent[0].signature)]


async def test_a_marker_refused_in_the_listeners_step_sends_nothing(tmp_path: Path) -> None:
    """The journal refuses the marker (a disk error) in the urgent work: nothing is
    written to the node, no row, nothing spent; the position task gives the BUY up."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST) as h:
            await warm(h)
            trader = h.bot.trader
            refused: list[str] = []

            def mark_sending(position: Position, order: BuyOrder) -> None:
                assert order.state is OrderState.PENDING
                refused.append(order.signature or "")
                raise OSError(5, "Input/output error")

            trader.repo.mark_sending = mark_sending  # type: ignore[method-assign]
            await h.launch()

            async def given_up() -> bool:
                return bool(refused) and not trader.position_tasks

            await h.wait_until(given_up)
            assert await h.positions() == []
            assert h.sim.node.signature_status(Signature.from_string(refused[0])) is None
            assert h.wallet_sol_change() == 0
            assert trader.stats.position_errors == 1


async def test_a_kill_between_the_early_write_and_its_row_is_booked_from_the_ledger(
    tmp_path: Path,
) -> None:
    """The process dies in the listener's step, right after the request is written and
    before its row: the journal holds the marker alone; the next start books the BUY
    from the ledger once it lands, and sells it. Nothing lost, nothing bought twice."""
    db = tmp_path / "bot.db"
    config = {**FAST, "exits": {"sell_after": 0.5, "tick_interval": 0.1},
              "trade": {**FAST["trade"], "rebroadcast_interval": 0.2}}  # fmt: skip
    with trio.fail_after(60):
        async with first_life(tmp_path, config) as h:
            sent = DieBeforeRow(h, "buy").arm()

            async def launch() -> Any:
                await warm(h)
                return await h.launch()

            await crash_first_run(h, launch)
            h.repo.writer.abandon()
            journal_names_only_the_marker(db, sent[0])
            assert not landed(h, sent[0].signature)

            async with next_run(h, db, config) as bot:
                await lost_buy_booked(h, bot, sent[0].signature)


async def test_a_buy_start_interrupted_before_its_order_is_made_whole_by_its_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_buy_now`` starts the position task whatever happens; one handed an empty
    ``BuyStart`` (interrupted before any order) makes the whole BUY itself, funds check
    and marker first, as ``prepare_and_send_order`` always did."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST, start=False) as h:
            trader = h.bot.trader
            (token,) = await taken_in_paused(h, monkeypatch, "Interrupted")
            info = token.token_info
            trader.position_tasks[info.mint] = None  # as the intake registers it
            trader._buys_in_progress += 1
            assert trader._positions is not None
            trader._positions.start_soon(trader._position_task, info, None, BuyStart())
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            buys = await h.trades(position.id, "buy")
            assert [t.state for t in buys] == ["confirmed"]
            assert trader.buy_count == 1
            assert h.token_balance(position.mint) == 0


async def test_a_buy_the_wallet_cannot_pay_is_refused_in_the_listeners_step(
    tmp_path: Path,
) -> None:
    """The funds check runs before the marker and the write in the listener's step too:
    a BUY the wallet cannot pay is never written; the position task counts it."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=FAST, funding=SOL // 100) as h:
            await warm(h)
            trader = h.bot.trader
            await h.launch()

            async def given_up() -> bool:
                return trader.stats.buys_not_sent == 1 and not trader.position_tasks

            await h.wait_until(given_up)
            assert trader.stats.skipped_funds == 1
            assert await h.positions() == []
            assert h.wallet_sol_change() == 0
            assert await h.rpc.get_signatures_for_address(h.wallet.pubkey()) == []
