"""Every ordering of BUY and SELL ends clean, on the real simulator.

Each test asserts against the simulator's ledger: closed positions hold zero tokens and
the wallet's SOL change equals the sum of the positions' realised PnL in the database,
to the lamport (transaction fees, pump fees and rent included).

Real sockets, so small real time (slot 0.05 s) instead of MockClock; every test runs
under ``trio.fail_after``.
"""

from __future__ import annotations

from pathlib import Path

import trio
from solders.keypair import Keypair
from solders.signature import Signature

from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.store import PRE_CONFIRMATION_SELLS, PRE_CONFIRMATION_SELLS_SUCCEEDED
from trio_trader.trading.orders import OrderState, SellOrder
from trio_trader.trading.token_info import TokenInfo


async def sell_trades(h: Harness, position_id: int | None) -> list[tuple[str, str | None]]:
    trades = await h.repo.list_trades(position_id)
    return [(t.state, t.signature) for t in trades if t.side == "sell"]


def buy_fails_on_chain(h: Harness) -> None:
    """The BUY is held back 0.5 s in flight while the wallet is drained under it: it lands
    and fails for want of lamports (the bot's own funds check passed when it was sent)."""
    sent = trio.Event()
    h.buyer.before = lambda: (
        setattr(h.sim.faults, "latency_min", 0.5) or setattr(h.sim.faults, "latency_max", 0.5)
    )

    def after(_order: object) -> None:
        h.sim.faults.latency_min = h.sim.faults.latency_max = 0.0
        sent.set()

    h.buyer.after = after

    async def drain() -> None:
        await sent.wait()
        await h.drain_wallet(leave=SOL // 20)

    assert h.background is not None
    h.background.start_soon(drain)


def slow_buy(h: Harness, seconds: float) -> None:
    """Hold the BUY's first submission back ``seconds`` (its rebroadcasts are not held)."""

    def before() -> None:
        h.sim.faults.latency_min = h.sim.faults.latency_max = seconds

    def after(_order: object) -> None:
        h.sim.faults.latency_min = h.sim.faults.latency_max = 0.0

    h.buyer.before, h.buyer.after = before, after


# 1 ------------------------------------------------------------------------------------


async def test_buy_fails_before_exit_closes_position_without_selling(tmp_path: Path) -> None:
    with trio.fail_after(30):
        # 0.05 SOL left cannot pay a 0.1 SOL BUY: the BUY lands and fails.
        async with running_bot(tmp_path, config={"exits": {"sell_after": 5.0}}) as h:
            buy_fails_on_chain(h)
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "failed"
            assert position.buy_order is not None
            assert position.buy_order.state is OrderState.FAILED
            assert position.sell_order is None
            assert await sell_trades(h, position.id) == []
            assert position.realized_pnl_lamports == -(position.buy_order.fee_lamports or 0)
            assert position.realized_pnl_lamports < 0  # the failed BUY still paid its fee


# 2 ------------------------------------------------------------------------------------


async def test_buy_fails_after_sell_sent_sell_fails_and_position_closes(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}) as h:
            buy_fails_on_chain(h)
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "failed"
            assert position.sell_order is not None
            assert position.sell_order.sent_before_buy_confirmed
            assert position.sell_order.state is OrderState.FAILED
            assert [state for state, _ in await sell_trades(h, position.id)] == ["failed"]
            assert h.token_balance(position.mint) == 0
            counters = await h.repo.get_counters()
            assert counters.get(PRE_CONFIRMATION_SELLS) == 1
            assert counters.get(PRE_CONFIRMATION_SELLS_SUCCEEDED, 0) == 0


# 3 ------------------------------------------------------------------------------------


async def test_sell_that_overtook_its_buy_is_resent_after_buy_lands(tmp_path: Path) -> None:
    """Forced, not lucky: the BUY's first submission is lost in flight and its rebroadcasts
    are held until the SELL (sent after it) has landed and failed; then the BUY lands."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}) as h:
            sell_landed = trio.Event()
            h.buyer.before = lambda: setattr(h.sim.faults, "drop_probability", 1.0)
            h.buyer.after = lambda _order: setattr(h.sim.faults, "drop_probability", 0.0)

            async def hold_buy(_order: object) -> None:
                await sell_landed.wait()

            async def wait_sell_landed(order: SellOrder) -> None:
                if order.attempt == 1:
                    sig = Signature.from_string(order.signature or "")
                    while h.sim.node.signature_status(sig) is None:
                        await trio.sleep(0.01)
                    sell_landed.set()

            h.buyer.confirm_gate = hold_buy
            h.seller.after = wait_sell_landed
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            buy = position.buy_order
            assert buy is not None
            assert buy.state is OrderState.CONFIRMED
            assert buy.token_change == buy.token_amount
            sells = await h.trades(position.id, "sell")
            assert [t.state for t in sells] == ["failed", "confirmed"]
            first, second = sells
            # the real on-chain failure of a SELL with no token account yet
            assert (first.error_code, first.error_name) == (3012, "AccountNotInitialized")
            assert first.sent_before_buy_confirmed
            assert first.fee_lamports
            assert first.sol_change == -first.fee_lamports
            assert first.token_change == 0
            # landing order on the ledger: failed SELL < BUY <= re-sent SELL
            assert first.slot is not None
            assert buy.confirmed_slot is not None
            assert second.slot is not None
            assert first.slot < buy.confirmed_slot <= second.slot
            assert first.signature != second.signature  # re-sent: a new transaction
            assert second.token_change == -buy.token_amount  # it sold the tokens
            assert h.token_balance(mint) == 0
            assert position.sell_order is not None
            assert position.sell_order.attempt == 2
            counters = await h.repo.get_counters()
            assert counters.get(PRE_CONFIRMATION_SELLS) == 1
            assert counters.get(PRE_CONFIRMATION_SELLS_SUCCEEDED, 0) == 0


async def test_pre_confirmation_sell_succeeds_when_buy_lands_first(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}) as h:
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert position.sell_order is not None
            assert position.sell_order.sent_before_buy_confirmed
            assert position.sell_order.state is OrderState.CONFIRMED
            counters = await h.repo.get_counters()
            assert counters.get(PRE_CONFIRMATION_SELLS_SUCCEEDED) == 1
            assert h.bot.trader.sell_stats.pre_confirmation_succeeded == 1


# 4 ------------------------------------------------------------------------------------


async def test_sell_slippage_failure_is_repriced_and_resent(tmp_path: Path) -> None:
    config = {
        "trade": {"sell_slippage_bps": 0, "sell_reprice_step_bps": 1000},
        "exits": {"sell_after": 0.5},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            mint = await h.launch(creator_buy_sol=2.0)

            # the creator's dump lands between our quote and our first SELL
            h.seller.front_run_with(h, lambda: h.creator_sell(mint, 0.5), attempts={1})
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            trades = await h.trades(position.id, "sell")
            assert [t.state for t in trades] == ["failed", "confirmed"]
            assert trades[0].error_code == 6003
            assert position.sell_order is not None
            assert position.sell_order.slippage_bps == 1000  # widened by one step


async def test_sell_slippage_exhausted_emergency_sell_at_any_price(tmp_path: Path) -> None:
    config = {
        "trade": {"sell_slippage_bps": 0, "sell_reprice_step_bps": 0, "max_sell_attempts": 2},
        "exits": {"sell_after": 0.5},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            mint = await h.launch(creator_buy_sol=2.0)

            h.seller.front_run_with(h, lambda: h.creator_sell(mint, 0.2))
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            sells = await sell_trades(h, position.id)
            assert [state for state, _ in sells] == ["failed", "failed", "confirmed"]
            assert position.sell_order is not None
            assert position.sell_order.min_sol_output == 0


async def test_sell_slippage_exhausted_leave_open_policy_keeps_tokens(tmp_path: Path) -> None:
    config = {
        "trade": {
            "sell_slippage_bps": 0,
            "sell_reprice_step_bps": 0,
            "max_sell_attempts": 2,
            "emergency_policy": "leave_open",
        },
        "exits": {"sell_after": 0.5},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            mint = await h.launch(creator_buy_sol=2.0)

            h.seller.front_run_with(h, lambda: h.creator_sell(mint, 0.2))

            async def gave_up() -> bool:
                return not h.bot.trader.position_tasks and bool(await h.positions())

            await h.wait_until(gave_up)
            (position,) = await h.positions()
            assert position.is_open
            assert position.sell_attempts == 2
            assert h.token_balance(mint) == position.token_amount  # still held, deliberately
            assert [s for s, _ in await sell_trades(h, position.id)] == ["failed", "failed"]


# 5 ------------------------------------------------------------------------------------


async def test_buy_confirms_then_take_profit_sells(tmp_path: Path) -> None:
    config = {"exits": {"take_profit_pct": 20.0, "stop_loss_pct": 50.0}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            mint = await h.launch()

            async def bought() -> bool:
                ps = await h.positions()
                return bool(ps) and ps[0].is_active

            await h.wait_until(bought)
            await trio.sleep(0.3)
            assert not (await h.positions())[0].is_closed  # no rule fired yet
            await h.creator_buy(mint, 10.0)  # pumps the price well past +20 %
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.exit_reason == "take_profit"
            assert position.sell_order is not None
            assert not position.sell_order.sent_before_buy_confirmed
            assert position.realized_pnl_lamports is not None
            assert position.realized_pnl_lamports > 0


async def test_classic_flow_sells_only_after_buy_confirms(tmp_path: Path) -> None:
    config = {"trade": {"pre_confirmation_sells": False}, "exits": {"sell_after": 0.0}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            slow_buy(h, 0.5)
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.sell_order is not None
            assert not position.sell_order.sent_before_buy_confirmed
            assert [s for s, _ in await sell_trades(h, position.id)] == ["confirmed"]
            assert (await h.repo.get_counters()).get(PRE_CONFIRMATION_SELLS, 0) == 0


# 6 ------------------------------------------------------------------------------------


async def test_fifty_concurrent_positions_one_slow_buy_delays_no_other(tmp_path: Path) -> None:
    config = {"trade": {"buy_amount_sol": "0.05"}, "exits": {"sell_after": 0.3}}
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=config, funding=20 * SOL) as h:
            slow_mint = Keypair()
            release = trio.Event()

            async def pause(token_info: TokenInfo) -> None:
                if token_info.mint == slow_mint.pubkey():
                    await release.wait()  # e.g. a hung RPC in this position's hot path

            h.buyer.pause = pause
            mints = [await h.launch("Coin 0", mint=slow_mint)]
            mints += [await h.launch(f"Coin {i}") for i in range(1, 50)]

            async def others_closed() -> bool:
                ps = [p for p in await h.positions() if p.mint != mints[0]]
                return len(ps) == 49 and all(p.is_closed for p in ps)

            await h.wait_until(others_closed)
            # still stuck before its BUY (its row is written with the signed BUY)…
            assert mints[0] in h.bot.trader.position_tasks
            assert not [p for p in await h.positions() if p.mint == mints[0]]
            assert h.bot.trader.stats.skipped_capacity == 0
            release.set()  # …and it finishes normally once unstuck
            await h.wait_until(lambda: h.all_closed(50))
            positions = await h.assert_books_balance()
            assert len(positions) == 50
            assert all(p.status == "closed" for p in positions)
