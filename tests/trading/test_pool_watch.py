"""When a position's coin counts as graduated (its pool's prices are then followed)."""

from __future__ import annotations

import attrs
from solders.pubkey import Pubkey

from tests.trading.test_monitor import open_position, sent
from tests.trading.test_valuation import books, pool_update  # noqa: F401  (books: a fixture)
from trio_trader.listeners.types import PriceUpdate
from trio_trader.store import Repository
from trio_trader.trading.orders import VENUE_AMM, SellOrder
from trio_trader.trading.pool_watch import PoolWatch, sold_as_graduated
from trio_trader.trading.position import Position


def curve_update(mint: Pubkey, *, is_buy: bool, real_token: int) -> PriceUpdate:
    return PriceUpdate(
        mint=mint, virtual_sol_reserves=115 * 10**9, virtual_token_reserves=279 * 10**12,
        real_sol_reserves=85 * 10**9, real_token_reserves=real_token, is_buy=is_buy,
        user=Pubkey.default(), sol_amount=1, token_amount=1, signature="s", slot=1, seen_at=0.0,
    )  # fmt: skip


def watch(position: Position) -> PoolWatch:
    return PoolWatch(position=position, pubsub=None, publish=lambda _: None)  # type: ignore[arg-type]


def failed_sell(position: Position, code: int, venue: str = "pump") -> SellOrder:
    order = SellOrder(
        token_info=position.token_info, token_amount=1, min_sol_output=1, sol_output=2,
        attempt=position.next_sell_attempt, venue=venue,
    )  # fmt: skip
    sent(order)
    order.mark_failed(error_code=code, slot=1, fee_lamports=5_000, sol_change=-5_000)
    return order


async def test_only_the_buy_that_takes_the_last_real_token_graduates(books: Repository) -> None:  # noqa: F811
    position, _ = await open_position(books)
    w = watch(position)
    mint = position.mint
    w.see(curve_update(mint, is_buy=True, real_token=1))
    w.see(curve_update(mint, is_buy=False, real_token=0))  # no sell completes a curve
    w.see(attrs.evolve(pool_update(mint, base=1, quote=1), real_token_reserves=0))
    assert not w.graduated.is_set()
    w.see(curve_update(mint, is_buy=True, real_token=0))
    assert w.graduated.is_set()


async def test_a_position_whose_sells_met_the_graduation_is_graduated(books: Repository) -> None:  # noqa: F811
    position, _ = await open_position(books)
    assert not sold_as_graduated(position)
    position.update_from_sell_order(failed_sell(position, 6003))
    assert not sold_as_graduated(position)  # slippage on the curve
    # refused by a complete / migrated curve, or already sent to the pool
    for code, venue in ((6005, "pump"), (6081, "pump_v2"), (6004, VENUE_AMM)):
        position.update_from_sell_order(failed_sell(position, code, venue))
        assert sold_as_graduated(position)
