"""The wallet's spendable SOL: reservations for BUYs in flight, never optimistic."""

from __future__ import annotations

from solders.pubkey import Pubkey

from tests.store.factories import make_buy_order, make_token_info, send
from trio_trader.budget import BuyRents, one_buy_cost
from trio_trader.trading.funds import WalletFunds, worst_buy_cost
from trio_trader.trading.orders import BuyOrder

RENTS = BuyRents(token_account=2_039_280, volume_accumulator=1_705_200, creator_vault=890_880)


def _funds(lamports: int | None) -> WalletFunds:
    wallet = Pubkey.new_unique()
    return WalletFunds(rpc=None, wallet=wallet, rents=RENTS, lamports=lamports)  # type: ignore[arg-type]


def _buy(seed: int) -> BuyOrder:
    order = make_buy_order(make_token_info(seed))
    send(order)
    return order


def test_a_buys_worst_cost_is_the_start_up_checks_bound() -> None:
    buy = _buy(1)
    assert worst_buy_cost(buy, RENTS) == one_buy_cost(
        buy_lamports=buy.max_sol_cost, slippage_bps=0, rents=RENTS,
        compute_unit_limit=buy.compute_unit_limit, priority_fee_micro_lamports=buy.priority_fee,
    )  # fmt: skip
    assert worst_buy_cost(buy, RENTS) > buy.max_sol_cost + RENTS.total


def test_buys_in_flight_are_held_back_until_resolved() -> None:
    one = _buy(1)
    cost = worst_buy_cost(one, RENTS)
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
    left = 2 * cost + cost // 2 - cost - worst_buy_cost(two, RENTS)
    assert funds.reserved == worst_buy_cost(two, RENTS)
    assert funds.available == left
    assert not funds.can_pay(three)
    funds.release(one)  # released once only
    assert funds.available == left


def test_unknown_balance_does_not_block_and_a_failed_unlanded_buy_costs_nothing() -> None:
    funds = _funds(None)
    buy = _buy(1)
    assert funds.can_pay(buy)
    funds.lamports = worst_buy_cost(buy, RENTS)
    funds.reserve(buy)
    buy.mark_failed(error="expired", error_name="BlockhashExpired")
    funds.release(buy)
    assert funds.available == worst_buy_cost(buy, RENTS)
