"""Valuing a position at the last price: the curve's spot price, or on a graduated coin's
pool the pool's quote for selling all its tokens (AMM fees and price impact included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import pytest
import trio
import trio.testing
from solders.pubkey import Pubkey

from tests.trading.test_monitor import (
    TOKENS,
    ScriptedSeller,
    make_monitor,
    open_position,
    resolve_buy,
)
from trio_trader.listeners.types import PoolPrice, PriceUpdate
from trio_trader.pump.accounts import Fees
from trio_trader.pump.amm.quote import PoolReserves, quote_amm_sell
from trio_trader.store import Repository, open_repository
from trio_trader.trading.exits import ExitReason, ExitRules, Price
from trio_trader.trading.feed import PriceInbox
from trio_trader.trading.monitor import PositionMonitor
from trio_trader.trading.position import Position
from trio_trader.trading.valuation import pool_sell_value, position_price


@pytest.fixture
def autojump() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.05)  # the monitor tests' clock


@pytest.fixture
async def books(tmp_path: Path) -> AsyncIterator[Repository]:
    async with open_repository(tmp_path / "v.db") as repo:
        yield repo


FEES = Fees(lp_fee_bps=2, protocol_fee_bps=93, creator_fee_bps=30)  # a fresh pool's tier
POOL = Pubkey.new_unique()


def pool_update(mint: Pubkey, base: int, quote: int) -> PriceUpdate:
    reserves = PoolReserves(base, quote)
    return PriceUpdate(
        mint=mint, virtual_sol_reserves=quote, virtual_token_reserves=base,
        real_sol_reserves=quote, real_token_reserves=base, is_buy=True, user=Pubkey.default(),
        sol_amount=1, token_amount=1, signature="s", slot=1, seen_at=0.0,
        pool=PoolPrice(address=POOL, reserves=reserves, fees=FEES),
    )  # fmt: skip


def test_a_pool_update_is_valued_by_the_sell_quote_of_the_whole_position() -> None:
    update = pool_update(Pubkey.new_unique(), base=10 * TOKENS, quote=1_300)
    assert update.pool is not None
    net = quote_amm_sell(TOKENS, update.pool.reserves, FEES).net
    assert pool_sell_value(update.pool, TOKENS) == net == 114  # 118 out, fees 1 + 2 + 1
    assert position_price(update, TOKENS).fraction == Fraction(114, TOKENS)
    # the spot price ignores the fees and the position's own price impact
    assert update.price == Fraction(130, TOKENS)
    # amount unknown: the pool's spot price; a sell the pool cannot pay is worth nothing
    spot = Price(update.virtual_sol_reserves, update.virtual_token_reserves)
    assert position_price(update, None) == position_price(update, 0) == spot
    assert spot.fraction == update.price
    dust = pool_update(update.mint, base=10**15, quote=1)
    assert dust.pool is not None
    assert pool_sell_value(dust.pool, 10) == 0


def test_a_curve_update_keeps_the_spot_price() -> None:
    update = pool_update(Pubkey.new_unique(), base=10 * TOKENS, quote=1_300)
    curve = PriceUpdate(**{**{a: getattr(update, a) for a in ("mint", "is_buy", "user",
        "sol_amount", "token_amount", "signature", "slot", "seen_at")},
        "virtual_sol_reserves": 30, "virtual_token_reserves": 7, "real_sol_reserves": 1,
        "real_token_reserves": 1})  # fmt: skip
    assert position_price(curve, TOKENS) == Price(30, 7)


async def held(
    repo: Repository, rules: ExitRules
) -> tuple[Position, ScriptedSeller, PositionMonitor, PriceInbox]:
    """A monitored position whose BUY confirmed: 100 lamports for ``TOKENS`` units."""
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[None])
    monitor, prices = make_monitor(position, seller, repo, rules)
    resolve_buy(position, buy, monitor, ok=True)
    return position, seller, monitor, prices


async def test_take_profit_on_a_pool_fires_on_the_quote_not_the_spot_price(
    books: Repository, autojump: trio.testing.MockClock
) -> None:
    position, seller, monitor, prices = await held(books, ExitRules(take_profit_bps=1_000))
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            # spot +22.5 %, but selling the position brings 107 (+7 %): hold
            prices.deliver(pool_update(position.mint, base=10 * TOKENS, quote=1_225))
            await trio.sleep(5)
            assert seller.orders == []
            prices.deliver(pool_update(position.mint, base=10 * TOKENS, quote=1_300))  # 114
    assert position.exit_reason == ExitReason.TAKE_PROFIT
    # the SELL is not quoted from a pool's numbers as if they were the curve's
    assert seller.kwargs[0]["reserves"] is None


async def test_stop_loss_on_a_pool_counts_the_fees(
    books: Repository, autojump: trio.testing.MockClock
) -> None:
    position, _, monitor, prices = await held(books, ExitRules(stop_loss_bps=1_000))
    seen: list[PriceUpdate] = []
    monitor.on_price = seen.append
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            # spot 98 % of the entry; selling the position (a sixth of the pool after it)
            # brings 78: -22 %
            prices.deliver(pool_update(position.mint, base=5 * TOKENS, quote=490))
    assert position.exit_reason == ExitReason.STOP_LOSS
    assert len(seen) == 1  # the trader's graduation watch sees every update
