"""The money math of a position, on the real simulator, with the books checked to the lamport.

* Exit rules measure the price paid for the tokens (pump's cost + pump fees), never the
  rent or transaction fees of the BUY.
* Before the BUY confirms, take profit is judged against the worst fill the BUY allows
  (``max_sol_cost``) and stop loss against the quote.
* A landed BUY whose transaction cannot be read is never booked as 0 SOL / 0 tokens.
* A BUY dropped until its blockhash expires ends the position at no cost.
* The wallet pays every BUY it sends: no BUY is sent that it cannot pay.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import trio
from solders.signature import Signature

from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.pump.curve import Reserves
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder
from trio_trader.trading.position import Position

#: config.example.toml's exit rules, on a small buy
EXAMPLE_EXITS = {"take_profit_pct": 30.0, "stop_loss_pct": 20.0}


async def only_position(h: Harness) -> Position:
    (position,) = await h.positions()
    return position


def spot(h: Harness, position: Position) -> Fraction:
    curve = h.sim.ledger.bonding_curve(position.mint)
    assert curve is not None
    r = Reserves.of(curve)
    return Fraction(r.virtual_sol, r.virtual_token)


async def pump_to(h: Harness, position: Position, price: Fraction) -> None:
    """The creator buys until the curve's spot price is about ``price``."""
    curve = h.sim.ledger.bonding_curve(position.mint)
    assert curve is not None
    r = Reserves.of(curve)
    # spot = v_sol² / k after adding Δ SOL to a constant-product curve k = v_sol · v_tok
    net = math.isqrt(int(price * r.virtual_sol * r.virtual_token)) - r.virtual_sol
    assert net > 0, "the price is already there"
    await h.creator_buy(position.mint, net * 1.0126 / SOL)  # pump fees on top
    with trio.fail_after(5):
        while spot(h, position) < price * Fraction(99, 100):
            await trio.sleep(0.01)


def hold_buy_confirmation(h: Harness) -> trio.Event:
    """The BUY lands as usual, but the bot learns its result only after the event is set."""
    release = trio.Event()

    async def gate(_order: BuyOrder) -> None:
        await release.wait()

    h.buyer.confirm_gate = gate
    return release


async def bought_on_chain(h: Harness) -> Position:
    """Wait until the bot's BUY has landed (the bot may not know it yet)."""

    async def landed() -> bool:
        ps = await h.positions()
        return bool(ps) and h.token_balance(ps[0].mint) > 0

    await h.wait_until(landed)
    return await only_position(h)


# 1. exit rules never fire on rent -----------------------------------------------------


async def test_exit_rules_do_not_fire_on_rent_or_fees(tmp_path: Path) -> None:
    """A wallet's first 0.01 SOL BUY pays about 0.0033 SOL of rent: charged to the entry it
    looked like a 37 % loss and the example stop loss sold at once, with no market move."""
    config: dict[str, Any] = {
        "trade": {"buy_amount_sol": "0.01"},
        "exits": {**EXAMPLE_EXITS, "max_hold_time": 1.5},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            await h.launch()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            assert position.exit_reason == "max_hold_time"
            buy, sell = position.buy_order, position.sell_order
            assert buy is not None
            assert sell is not None
            assert buy.state is OrderState.CONFIRMED
            assert sell.state is OrderState.CONFIRMED
            # nothing traded between the quote and the BUY: the curve took exactly the quote
            assert buy.pump_sol == buy.sol_cost == position.entry_cost
            # the wallet paid more than the tokens cost: fee and rent, not price
            assert buy.sol_change is not None
            assert buy.fee_lamports is not None
            rent = -buy.sol_change - buy.pump_sol - buy.fee_lamports
            assert rent > 2_000_000  # token account + volume accumulator
            assert sell.pump_sol is not None
            assert sell.sol_change is not None
            # the SELL closed the token account: its rent came back to the wallet
            assert sell.sol_change > sell.pump_sol - (sell.fee_lamports or 0)
            assert position.trading_pnl_lamports == sell.pump_sol - buy.pump_sol
            assert position.trading_pnl_lamports < 0  # round trip: pump fees and impact
            # net PnL keeps every lamport (the books balance above); the volume
            # accumulator's rent is the one cost that does not come back
            assert position.realized_pnl_lamports is not None
            assert position.realized_pnl_lamports < position.trading_pnl_lamports


# 2. exits while the BUY is unconfirmed ------------------------------------------------


async def test_take_profit_before_buy_confirms_is_judged_against_the_worst_fill(
    tmp_path: Path,
) -> None:
    """+29 % over the quote is a take profit of 20 % for a BUY filled at its quote, but not
    for one filled at its 15 % slippage bound: before the BUY confirms, nothing sells; past
    the bound's +20 %, the SELL leaves before the BUY's confirmation."""
    config: dict[str, Any] = {
        "trade": {"buy_slippage_bps": 1500},
        "exits": {"take_profit_pct": 20.0, "stop_loss_pct": 50.0},
    }
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config) as h:
            release = hold_buy_confirmation(h)
            await h.launch()
            position = await bought_on_chain(h)
            buy = position.buy_order
            assert buy is not None
            assert not buy.is_resolved  # the bot does not know it landed
            quote = Fraction(buy.sol_cost, buy.token_amount)
            worst = Fraction(buy.max_sol_cost, buy.token_amount)
            assert quote * Fraction(129, 100) < worst * Fraction(120, 100)
            await pump_to(h, position, quote * Fraction(129, 100))
            await trio.sleep(0.5)  # many ticks and the pump's price update
            assert (await only_position(h)).sell_order is None
            await pump_to(h, position, worst * Fraction(126, 100))

            async def sell_sent() -> bool:
                return (await only_position(h)).sell_order is not None

            await h.wait_until(sell_sent)
            release.set()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            assert position.exit_reason == "take_profit"
            sell = position.sell_order
            assert sell is not None
            assert sell.state is OrderState.CONFIRMED
            assert sell.sent_before_buy_confirmed
            assert position.realized_pnl_lamports is not None
            assert position.realized_pnl_lamports > 0
            # signed from the message compiled while the position waited (chain/templates)
            templates = h.seller.chain.sell_templates
            assert (templates.hits, templates.misses) == (1, 0)
            # the price that fired it woke the position: its SELL went before queued items
            assert h.bot.trader.listener.stats.woke == 1


async def test_stop_loss_before_buy_confirms_sells_against_the_quote(tmp_path: Path) -> None:
    config: dict[str, Any] = {"exits": EXAMPLE_EXITS}
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config) as h:
            release = hold_buy_confirmation(h)
            mint = await h.launch(creator_buy_sol=10.0)
            position = await bought_on_chain(h)
            assert position.buy_order is not None
            assert not position.buy_order.is_resolved  # the bot does not know it landed
            await h.creator_sell(mint, 1.0)  # the creator dumps everything: about −40 %

            async def sell_sent() -> bool:
                return (await only_position(h)).sell_order is not None

            await h.wait_until(sell_sent)
            release.set()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            assert position.exit_reason == "stop_loss"
            sell = position.sell_order
            assert sell is not None
            assert sell.state is OrderState.CONFIRMED
            assert sell.sent_before_buy_confirmed
            assert position.realized_pnl_lamports is not None
            assert position.realized_pnl_lamports < 0


# 3. a landed BUY whose transaction cannot be read ---------------------------------------


async def test_landed_buy_whose_transaction_cannot_be_read_is_still_sold(tmp_path: Path) -> None:
    """The node reports the BUY confirmed but answers null to getTransaction for it, forever.
    Booked as 0 tokens, the SELL had nothing to sell and the tokens stayed in the wallet.
    (The classic flow: the SELL is built from the BUY's booked result.)"""
    config: dict[str, Any] = {
        "trade": {"pre_confirmation_sells": False},
        "exits": {"sell_after": 0.0},
    }
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config) as h:
            hidden: set[Signature] = set()
            real = h.sim.node.transaction

            def lagging(sig: Signature) -> Any:
                return None if sig in hidden else real(sig)

            h.sim.node.transaction = lagging  # type: ignore[method-assign]
            h.buyer.chain.fetch_patience = 0.5
            h.buyer.chain.confirmer.fetch_attempts = 2  # the node will never have it

            def hide(order: BuyOrder) -> None:
                hidden.add(Signature.from_string(order.signature or ""))

            h.buyer.after = hide
            mint = await h.launch()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.positions()
            assert position.status == "closed"
            assert h.token_balance(mint) == 0  # never stranded
            buy = position.buy_order
            assert buy is not None
            assert buy.state is OrderState.CONFIRMED
            assert buy.balances_estimated
            assert buy.token_change == buy.token_amount  # pump's buy moves exactly this
            sell = position.sell_order
            assert sell is not None
            assert sell.state is OrderState.CONFIRMED
            assert sell.token_change == -buy.token_amount
            # the estimate misses only the BUY's rent (and the quote is exact here)
            assert position.realized_pnl_lamports is not None
            missed = position.realized_pnl_lamports - h.wallet_sol_change()
            assert 0 < missed < 4_000_000


# 4. a BUY that never lands --------------------------------------------------------------


async def test_buy_dropped_until_its_blockhash_expires_costs_nothing(tmp_path: Path) -> None:
    # 150 blocks of validity at 0.02 s a slot: the BUY expires after about 3 s.
    with trio.fail_after(40):
        async with running_bot(
            tmp_path, slot_time=0.02, config={"exits": {"sell_after": 30.0}}
        ) as h:
            # from the BUY's send on, every submission is lost: the BUY and its rebroadcasts
            h.buyer.before = lambda: setattr(h.sim.faults, "drop_probability", 1.0)
            mint = await h.launch()
            await h.wait_until(lambda: h.settled(1), timeout=30)
            h.sim.faults.drop_probability = 0.0
            (position,) = await h.assert_books_balance()
            assert position.status == "failed"
            buy = position.buy_order
            assert buy is not None
            assert buy.state is OrderState.FAILED
            assert buy.error_name == "BlockhashExpired"
            assert buy.fee_lamports is None
            assert position.sell_order is None
            assert position.realized_pnl_lamports == 0
            assert h.wallet_sol_change() == 0
            assert h.token_balance(mint) == 0


async def test_buy_dropped_until_expiry_after_its_sell_left_closes_clean(tmp_path: Path) -> None:
    """The pre-confirmation SELL lands and fails (no token account); the BUY never lands."""
    with trio.fail_after(40):
        async with running_bot(
            tmp_path, slot_time=0.02, config={"exits": {"sell_after": 0.0}}
        ) as h:

            def drop_buy() -> None:
                h.sim.faults.drop_probability = 1.0

            async def let_sells_through(_attempt: int) -> None:
                h.sim.faults.drop_probability = 0.0

            async def drop_again(_order: SellOrder) -> None:
                h.sim.faults.drop_probability = 1.0  # the BUY's rebroadcasts

            h.buyer.before = drop_buy
            h.seller.before, h.seller.after = let_sells_through, drop_again
            await h.launch()
            await h.wait_until(lambda: h.settled(1), timeout=30)
            h.sim.faults.drop_probability = 0.0
            (position,) = await h.assert_books_balance()
            assert position.status == "failed"
            assert position.buy_order is not None
            assert position.buy_order.error_name == "BlockhashExpired"
            sells = await h.trades(position.id, "sell")
            assert [t.state for t in sells] == ["failed"]
            assert position.realized_pnl_lamports == -(sells[0].fee_lamports or 0)


# 5. funds ----------------------------------------------------------------------------


async def test_no_buy_is_sent_that_the_wallet_cannot_pay(tmp_path: Path) -> None:
    """0.25 SOL pays two 0.1 SOL BUYs at their worst (slippage, fee, rent), not three: the
    third token is skipped, where it used to land, fail and burn its fee."""
    config: dict[str, Any] = {"exits": {"sell_after": 30.0}}
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config, funding=SOL // 4) as h:
            for i in range(4):
                await h.launch(f"Coin {i}")
                await trio.sleep(0.3)

            stats = h.bot.trader.stats

            async def settled() -> bool:  # every launch decided, every BUY sent resolved
                ps = await h.positions()
                return stats.buys_sent + stats.buys_not_sent == 4 and all(
                    p.buy_order is not None and p.buy_order.is_resolved for p in ps
                )

            await h.wait_until(settled)  # not a fixed 0.5 s more for the last two launches
            positions = await h.positions()
            assert len(positions) == 2
            assert all(p.is_active for p in positions)
            assert stats.skipped_funds == 2
            trades = await h.repo.list_trades()
            assert [t.state for t in trades if t.side == "buy"] == ["confirmed", "confirmed"]
            await h.bot.trader.liquidate()
            await h.assert_books_balance()


async def test_extreme_fast_buy_over_max_buy_sol_is_never_sent(tmp_path: Path) -> None:
    """Extreme fast mode sizes its BUY in tokens: 200 M tokens cost ~10 SOL on a new curve,
    far over ``max_buy_sol`` = 0.5, so the BUY is refused before it is signed."""
    config: dict[str, Any] = {
        "trade": {
            "extreme_fast_mode": True,
            "extreme_fast_token_amount": 200_000_000_000_000,
            "max_buy_sol": "0.5",
        },
        "exits": {"sell_after": 0.0},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            await h.launch()

            async def refused() -> bool:
                return h.bot.trader.stats.buys_not_sent == 1

            await h.wait_until(refused)
            assert await h.positions() == []
            assert h.wallet_sol_change() == 0
            assert h.sim.node.stats.submitted == 1  # the launch only
