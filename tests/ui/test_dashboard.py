"""The live dashboard, on a bot trading on the simulator: snapshots of its memory, the
rows a person reads (rendered to a recording console), and the run's totals from the DB."""

from __future__ import annotations

import io
import logging
from fractions import Fraction
from pathlib import Path

import trio
from rich.console import Console

from tests.scenario.harness import running_bot
from tests.store.factories import make_buy_order, make_sell_order, make_token_info, send
from trio_trader.store import open_repository
from trio_trader.trading.exits import entry_price
from trio_trader.trading.orders import BuyOrder, SellOrder
from trio_trader.trading.position import Position
from trio_trader.ui import format as fmt
from trio_trader.ui.dashboard import (
    TotalsReader,
    dashboard_beside,
    position_state,
    render,
    snapshot,
)
from trio_trader.ui.tables import short_mint

WIDTH = 240


def _text(renderable: object) -> str:
    console = Console(record=True, width=WIDTH, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _line_with(text: str, *needles: str) -> str:
    lines = [line for line in text.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, (needles, text)
    return lines[0]


async def test_a_sell_sent_before_its_buy_confirmed_is_shown_then_counted(tmp_path: Path) -> None:
    release_buy, sell_sent, release_sell = trio.Event(), trio.Event(), trio.Event()

    async def hold_buy(order: BuyOrder) -> None:
        await release_buy.wait()

    async def hold_sell(order: SellOrder) -> None:
        sell_sent.set()
        await release_sell.wait()

    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}) as h:
            h.buyer.confirm_gate, h.seller.after = hold_buy, hold_sell
            mint = await h.launch()
            await sell_sent.wait()
            state = snapshot(h.bot, mode="paper trading on the simulator")
            (row,) = state.positions
            position = h.bot.trader.position_tasks[mint]
            assert position is not None
            assert position.buy_order is not None
            assert (row.id, row.mint, row.symbol) == (position.id, str(mint), "TST")
            assert row.state == "SELL #1 sent before BUY confirmed"
            assert row.sell_before_buy_confirmed
            assert row.token_amount == position.buy_order.token_amount
            assert row.exits == ("selling: sell_after",)
            assert state.pre_confirmation_success_rate is None
            assert state.buying
            assert not state.paused
            h.bot.trader.paused = True
            paused = snapshot(h.bot, mode="paper trading on the simulator")
            assert "buying PAUSED" in _text(render(paused))
            h.bot.trader.paused = False
            assert state.balance_lamports is not None
            assert state.rpc_requests == h.rpc.stats.requests_sent > 0
            text = _text(render(state))
            line = _line_with(text, f"TST {short_mint(str(mint))}")
            assert "SELL #1 sent before BUY confirmed" in line
            assert fmt.tokens(row.token_amount, 6) in line
            assert f"wallet {h.wallet.pubkey()}" in text

            release_buy.set()
            release_sell.set()
            await h.wait_until(lambda: h.settled(1))
            (closed,) = await h.assert_books_balance()
            async with open_repository(tmp_path / "bot.db") as reader:
                totals = TotalsReader(repo=reader, since=0.0)
                await totals.refresh()
            after = snapshot(h.bot, totals=totals.totals)
    assert after.positions == ()
    assert (after.pre_confirmation_sent, after.pre_confirmation_succeeded) == (1, 1)
    pnl = closed.realized_pnl_lamports
    assert pnl is not None
    assert after.totals is not None
    assert after.totals.realized_pnl_lamports == pnl
    assert (after.totals.closed, after.totals.wins + after.totals.losses) == (1, 1)
    assert after.totals.wins == (1 if pnl > 0 else 0)
    text = _text(render(after))
    assert fmt.sol(pnl, signed=True) in _line_with(text, "realised PnL")
    assert "1 / 0 (100 %)" in _line_with(text, "succeeded / failed")
    assert "none" in _line_with(text, "none")


async def test_a_held_position_shows_its_price_pnl_and_the_distance_to_each_rule(
    tmp_path: Path,
) -> None:
    exits = {"take_profit_pct": 50.0, "stop_loss_pct": 30.0, "max_hold_time": 120.0}
    recorded = Console(record=True, width=WIDTH, file=io.StringIO())
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": exits}) as h:
            mint = await h.launch()

            async def priced() -> bool:
                monitor = h.bot.trader._monitors.get(mint)
                position = h.bot.trader.position_tasks.get(mint)
                return bool(monitor and monitor.last_price and position and position.is_active)

            await h.wait_until(priced)
            monitor = h.bot.trader._monitors[mint]
            assert monitor.last_price is not None
            before = monitor.last_price.price
            await h.creator_buy(mint, 0.5)

            async def moved() -> bool:
                return monitor.last_price is not None and monitor.last_price.price > before

            await h.wait_until(moved)
            async with dashboard_beside(
                h.bot, enabled=True, db_path=tmp_path / "bot.db", since=0.0, mode="test",
                console=recorded,
            ):  # fmt: skip
                logging.getLogger("trio_trader.test").error(
                    "ALERT %s: left open (%s)", mint, "https://x.io/?api-key=SECRETSECRET1234"
                )
                await trio.sleep(0.3)
            state = snapshot(h.bot, now=monitor.opened_at + 10.0)
            position = h.bot.trader.position_tasks[mint]
            assert isinstance(position, Position)
    (row,) = state.positions
    assert row.state == "holding"
    assert monitor.last_price is not None
    last = monitor.last_price.price
    entry = entry_price(position.entry_cost, position.token_amount)
    assert entry is not None
    assert (row.entry_price, row.last_price) == (entry, last)
    assert row.pnl_pct is not None
    assert row.pnl_pct > 0
    assert row.pnl_pct == float(100 * (last - entry) / entry)
    tp = float(100 * (entry * Fraction(15, 10) - last) / last)
    sl = float(100 * (entry * Fraction(7, 10) - last) / last)
    assert row.exits == ("max hold in 1m50s", f"TP {fmt.pct(tp)} away", f"SL {fmt.pct(sl)} away")
    assert sl < 0 < tp
    assert row.age == 10.0
    line = _line_with(_text(render(state)), f"TST {short_mint(str(mint))}")
    for cell in ("holding", fmt.price(entry, 6), fmt.price(last, 6), fmt.pct(row.pnl_pct),
                 "max hold in 1m50s", "10.0s", fmt.tokens(position.token_amount, 6)):  # fmt: skip
        assert cell in line
    # the Live loop drew the bot too (its last picture stays on the console)
    shown = recorded.export_text()
    assert "open positions (1)" in shown
    assert f"TST {short_mint(str(mint))}" in shown
    # with the log in a file, an alert still reaches the terminal (its key masked)
    assert f"ERROR ALERT {mint}: left open (https://x.io/?api-key=***)" in shown
    assert "SECRETSECRET1234" not in shown


def test_the_state_words_follow_both_orders() -> None:
    info = make_token_info()
    position = Position.create_from_token_info(info)
    assert position_state(position) == "preparing BUY"
    buy = make_buy_order(info)
    position.update_from_buy_order(buy)
    assert position_state(position) == "BUY signed"
    send(buy, 1)
    assert position_state(position) == "BUY sent"
    sell = make_sell_order(info)
    send(sell, 2)
    position.update_from_sell_order(sell)
    assert position_state(position) == "SELL #1 sent before BUY confirmed"
    confirmed = buy.mark_confirmed(
        slot=1, fee_lamports=5_000, sol_change=-buy.sol_cost, token_change=buy.token_amount
    )
    position.apply_buy_result(confirmed)
    assert position_state(position) == "SELL #1 sent (sent before BUY confirmed)"
    position.apply_sell_result(sell.mark_failed(error_name="Custom", error_code=6003))
    assert position_state(position) == "SELL failed; re-selling"
