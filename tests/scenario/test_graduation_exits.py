"""Price rules after graduation: a held coin that completes its curve is followed onto its
PumpSwap pool, and take profit / stop loss fire on the pool's price.

The bot hears the curve's completing buy, subscribes to the logs of the coin's canonical
pool (one ``logsSubscribe`` mentioning it), values the position with the pool's quote for
selling all its tokens (AMM fees included) and sells on the pool when a rule fires. Without
that the pool's moves would be invisible and only a time rule could ever sell. Books are
checked to the lamport against the simulator's ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.scenario.graduation import complete_curve, migrate, pool_trade
from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.app import build_bot
from trio_trader.config import parse_config
from trio_trader.pump.amm import SellEvent, parse_amm_logs
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.sim._ws_subscriptions import LogsSubscription
from trio_trader.trading.exits import ExitReason
from trio_trader.trading.orders import VENUE_AMM, OrderState
from trio_trader.trading.position import Position

# +2000 %: far above the curve's whole run (a coin bought at launch completes at ≈14×),
# so only the pool's price can reach it.
TAKE_PROFIT = {"exits": {"take_profit_pct": 2000.0, "tick_interval": 0.1}}
STOP_LOSS = {"exits": {"stop_loss_pct": 30.0, "tick_interval": 0.1}}


async def active(h: Harness) -> bool:
    positions = await h.positions()
    return bool(positions) and positions[0].status == "active"


def pool_subscriptions(
    h: Harness, pool: Pubkey, *, besides: frozenset[object] = frozenset()
) -> int:
    """``logsSubscribe`` subscriptions mentioning ``pool`` open on the simulator's server
    (on connections other than ``besides``)."""
    return sum(
        1
        for conn in h.sim.ws_server.connections - besides
        for sub in conn.subs.values()
        if isinstance(sub, LogsSubscription) and sub.mentions == pool
    )


async def graduate_while_held(h: Harness) -> tuple[Pubkey, Keypair]:
    """Launch, let the bot buy, complete the curve, migrate; returns (mint, whale) once the
    bot follows the pool."""
    mint = await h.launch()
    await h.wait_until(lambda: active(h))
    whale = await complete_curve(h, mint)
    await migrate(h, mint)
    pool = canonical_pool_pda(mint)
    with trio.fail_after(10):
        while pool_subscriptions(h, pool) != 1:
            await trio.sleep(0.02)
    assert await active(h)  # the curve's run alone fired nothing
    return mint, whale


async def assert_sold_on_the_pool(h: Harness, mint: Pubkey, reason: ExitReason) -> Position:
    await h.wait_until(lambda: h.settled(1))
    (position,) = await h.assert_books_balance()
    sells = await h.trades(position.id, "sell")
    assert position.exit_reason == reason
    assert [(t.venue, t.success) for t in sells] == [(VENUE_AMM, True)]
    sell = position.sell_order
    assert sell is not None
    assert sell.state is OrderState.CONFIRMED
    landed = h.sim.node.transaction(Signature.from_string(sell.signature or ""))
    assert landed is not None
    (event,) = [e for e in parse_amm_logs(landed.logs) if isinstance(e, SellEvent)]
    assert event.user == h.wallet.pubkey()
    assert sell.pump_sol == event.user_quote_amount_out
    assert h.token_balance(mint) == 0
    # the position closed: its pool subscription is gone
    with trio.fail_after(10):
        while pool_subscriptions(h, canonical_pool_pda(mint)):
            await trio.sleep(0.02)
    return position


@pytest.mark.parametrize("reconnect", [False, True])
async def test_a_graduated_coin_pumping_on_its_pool_is_sold_at_take_profit(
    tmp_path: Path, reconnect: bool
) -> None:
    async with running_bot(tmp_path, config=TAKE_PROFIT) as h:
        mint, whale = await graduate_while_held(h)
        if reconnect:  # the node drops the socket: the pool's subscription is made again
            old = frozenset[object](h.sim.ws_server.connections)
            assert h.sim.disconnect_websockets() == 1
            with trio.fail_after(10):
                while pool_subscriptions(h, canonical_pool_pda(mint), besides=old) != 1:
                    await trio.sleep(0.02)
        await pool_trade(h, whale, mint, buy_lamports=40 * SOL)
        position = await assert_sold_on_the_pool(h, mint, ExitReason.TAKE_PROFIT)
    sell, cost = position.sell_order, position.entry_cost
    assert sell is not None
    assert cost is not None
    # like with like: the pool's own quote (AMM fees deducted) was past +2000 % of the cost
    assert sell.sol_output * 10_000 >= cost * (10_000 + 200_000)
    assert sell.pump_sol is not None
    assert sell.pump_sol * 10_000 >= cost * (10_000 + 200_000)


async def test_a_graduated_coin_dumped_on_its_pool_is_sold_at_stop_loss(tmp_path: Path) -> None:
    async with running_bot(tmp_path, config=STOP_LOSS) as h:
        mint, whale = await graduate_while_held(h)
        # the whale sells everything it bought on the curve into the pool
        await pool_trade(
            h, whale, mint, sell_amount=h.sim.ledger.token_balance(whale.pubkey(), mint)
        )
        position = await assert_sold_on_the_pool(h, mint, ExitReason.STOP_LOSS)
    sell, cost = position.sell_order, position.entry_cost
    assert sell is not None
    assert cost is not None
    assert sell.sol_output * 10_000 <= cost * (10_000 - 3_000)
    assert position.realized_pnl_lamports is not None
    assert position.realized_pnl_lamports < 0


async def test_a_coin_that_graduated_while_the_bot_was_down_is_followed_on_its_pool(
    tmp_path: Path,
) -> None:
    # The completing buy happened while no bot listened: the resumed position reads its
    # curve (complete), follows the pool and takes profit there.
    wallet = Keypair()
    async with running_bot(tmp_path, config=TAKE_PROFIT, wallet=wallet, start=False) as h:
        async with trio.open_nursery() as first:
            await first.start(h.bot.trader.run)
            mint = await h.launch()
            await h.wait_until(lambda: active(h))
            first.cancel_scope.cancel()  # the bot stops; the position stays open
        whale = await complete_curve(h, mint)
        await migrate(h, mint)
        h.bot = await build_bot(
            parse_config({"trade": {"buy_amount_sol": "0.1"}, **TAKE_PROFIT}, env={}),
            rpc=h.rpc, keypair=wallet, repo=h.repo, ws_url=h.sim.ws_url,
        )  # fmt: skip
        async with trio.open_nursery() as second:
            await second.start(h.bot.trader.run)
            with trio.fail_after(10):
                while pool_subscriptions(h, canonical_pool_pda(mint)) != 1:
                    await trio.sleep(0.02)
            assert await active(h)
            await pool_trade(h, whale, mint, buy_lamports=40 * SOL)
            await assert_sold_on_the_pool(h, mint, ExitReason.TAKE_PROFIT)
            second.cancel_scope.cancel()
