"""The wallet's spendable SOL: reservations for BUYs in flight, never optimistic."""

from __future__ import annotations

from solders.pubkey import Pubkey

from tests.store.factories import make_buy_order, make_token_info, send
from trio_trader.trading.funds import (
    BUY_RENT_BOUND,
    WalletFunds,
    rent_exempt_minimum,
    worst_buy_cost,
)
from trio_trader.trading.orders import BuyOrder


def _funds(lamports: int | None) -> WalletFunds:
    return WalletFunds(rpc=None, wallet=Pubkey.new_unique(), lamports=lamports)  # type: ignore[arg-type]


def _buy(seed: int) -> BuyOrder:
    order = make_buy_order(make_token_info(seed))
    send(order)
    return order


def test_rent_matches_solanas_rent_exempt_minimum() -> None:
    assert rent_exempt_minimum(165) == 2_039_280  # an SPL token account
    assert rent_exempt_minimum(0) == 890_880
    assert rent_exempt_minimum(165) < BUY_RENT_BOUND


def test_buys_in_flight_are_held_back_until_resolved() -> None:
    one = _buy(1)
    cost = worst_buy_cost(one)
    assert cost > one.max_sol_cost
    funds = _funds(2 * cost + cost // 2)
    assert funds.can_pay(one)
    funds.reserve(one)
    two = _buy(2)
    assert funds.can_pay(two)
    funds.reserve(two)
    three = _buy(3)
    assert not funds.can_pay(three)  # half a BUY left
    one.mark_confirmed(slot=1, fee_lamports=5_000, sol_change=-cost, token_change=1)
    funds.release(one)
    assert funds.reserved == worst_buy_cost(two)
    assert funds.available == 2 * cost + cost // 2 - cost - worst_buy_cost(two)
    assert not funds.can_pay(three)
    funds.release(one)  # released once only
    assert funds.available == 2 * cost + cost // 2 - cost - worst_buy_cost(two)


def test_unknown_balance_does_not_block_and_a_failed_unlanded_buy_costs_nothing() -> None:
    funds = _funds(None)
    buy = _buy(1)
    assert funds.can_pay(buy)
    funds.lamports = worst_buy_cost(buy)
    funds.reserve(buy)
    buy.mark_failed(error="expired", error_name="BlockhashExpired")
    funds.release(buy)
    assert funds.available == worst_buy_cost(buy)
