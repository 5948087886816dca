"""Position transitions of the pre-confirmation-sell plan, every failure ordering included.

Numbers follow the wallet: a BUY's ``sol_change`` is minus (curve cost + pump fees +
transaction fee + token-account rent); a SELL's is the proceeds net of every fee.
"""

from __future__ import annotations

import pytest

from tests.store.factories import (
    SOL_COST,
    SOL_OUTPUT,
    TOKENS,
    make_buy_order,
    make_sell_order,
    make_token_info,
    send,
)
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder, TradeResult
from trio_trader.trading.position import BUY_FAILED, Position

TX_FEE = 29_000
RENT = 2_039_280
BUY_DELTA = -(SOL_COST + TX_FEE + RENT)
SELL_DELTA = SOL_OUTPUT - 35_000


def confirm_buy(buy: BuyOrder, tokens: int = TOKENS) -> TradeResult:
    return buy.mark_confirmed(
        slot=100, fee_lamports=TX_FEE, sol_change=BUY_DELTA, token_change=tokens
    )


def fail_landed(order: BuyOrder | SellOrder, code: int, name: str) -> TradeResult:
    return order.mark_failed(
        error={"InstructionError": [3, {"Custom": code}]}, error_code=code, error_name=name,
        slot=101, fee_lamports=5_000, sol_change=-5_000, token_change=0,
    )  # fmt: skip


def pending_position() -> tuple[Position, BuyOrder]:
    ti = make_token_info()
    position = Position.create_from_token_info(ti, created_at=1_780_000_000.0)
    buy = make_buy_order(ti)
    send(buy)
    position.update_from_buy_order(buy)
    return position, buy


def sell_for(position: Position, *, reason: str = "take_profit") -> SellOrder:
    amount = position.sellable_token_amount
    assert amount is not None
    sell = make_sell_order(
        position.token_info, token_amount=amount, attempt=position.next_sell_attempt
    )
    send(sell, position.next_sell_attempt)
    position.update_from_sell_order(sell, exit_reason=reason)
    return sell


def test_new_position_is_pending_inactive_and_has_no_numbers() -> None:
    ti = make_token_info()
    position = Position.create_from_token_info(ti)
    assert (position.mint, position.token_info, position.id) == (ti.mint, ti, None)
    assert (position.is_active, position.is_closed, position.status) == (False, False, "pending")
    assert position.buy_order is None
    assert position.sell_order is None
    assert not position.awaiting_buy_result
    assert not position.needs_sell_resend
    # PnL helpers work with every field still None
    assert position.unrealized_pnl_lamports(1234.5) is None
    assert position.pnl_pct(1234.5) is None
    assert position.price_change_pct(1234.5) is None
    assert position.sellable_token_amount is None


def test_sent_buy_gives_expected_amounts_before_confirmation() -> None:
    position, buy = pending_position()
    assert position.buy_order is buy
    assert position.status == "pending"
    assert position.awaiting_buy_result
    assert not position.is_active
    assert (position.token_amount, position.sol_spent) == (TOKENS, SOL_COST)
    entry = position.entry_price
    assert entry == pytest.approx(SOL_COST * 1e6 / TOKENS)
    assert entry is not None
    # expected values are enough to show an unrealised PnL at twice the entry price
    assert position.unrealized_pnl_lamports(2 * entry) == pytest.approx(SOL_COST, abs=1)
    assert position.pnl_pct(2 * entry) == pytest.approx(100.0, abs=1e-6)
    assert position.price_change_pct(entry / 2) == pytest.approx(-50.0)


def test_pending_to_active_to_closed_with_exact_realised_pnl() -> None:
    position, buy = pending_position()
    position.apply_buy_result(confirm_buy(buy))
    assert (position.status, position.is_active) == ("active", True)
    assert (position.token_amount, position.sol_spent) == (TOKENS, -BUY_DELTA)
    assert position.entry_price == pytest.approx(-BUY_DELTA * 1e6 / TOKENS)

    sell = sell_for(position)
    assert position.status == "closing"
    assert position.sell_attempts == 1
    assert sell.sent_before_buy_confirmed is False
    result = sell.mark_confirmed(
        slot=120, fee_lamports=35_000, sol_change=SELL_DELTA, token_change=-TOKENS
    )
    position.apply_sell_result(result)
    assert (position.status, position.is_active, position.is_closed) == ("closed", False, True)
    assert position.exit_reason == "take_profit"
    assert position.sol_received == SELL_DELTA
    assert position.realized_pnl_lamports == SELL_DELTA + BUY_DELTA
    assert position.unrealized_pnl_lamports(1.0) is None


def test_buy_fails_before_sell_sent_closes_without_selling() -> None:
    position, buy = pending_position()
    position.apply_buy_result(fail_landed(buy, 6002, "TooMuchSolRequired"))
    assert position.sell_order is None
    assert (position.status, position.is_closed, position.is_active) == ("failed", True, False)
    assert position.exit_reason == BUY_FAILED
    assert position.token_amount == 0
    assert position.realized_pnl_lamports == -5_000  # only the failed BUY's fee
    assert not position.needs_sell_resend


def test_buy_that_never_landed_costs_nothing() -> None:
    position, buy = pending_position()
    position.apply_buy_result(buy.mark_failed(error="expired", error_name="BlockhashExpired"))
    assert position.status == "failed"
    assert (position.sol_spent, position.realized_pnl_lamports) == (0, 0)


def test_buy_fails_after_sell_sent_then_sell_fails_and_position_closes_holding_nothing() -> None:
    position, buy = pending_position()
    sell = sell_for(position)
    assert sell.sent_before_buy_confirmed is True

    position.apply_buy_result(fail_landed(buy, 6002, "TooMuchSolRequired"))
    assert position.is_open
    assert position.status == "closing"

    position.apply_sell_result(fail_landed(sell, 3012, "AccountNotInitialized"))
    assert (position.status, position.is_closed, position.is_active) == ("failed", True, False)
    assert position.exit_reason == BUY_FAILED
    assert position.token_amount == 0
    assert not position.needs_sell_resend
    assert position.realized_pnl_lamports == -10_000  # two failed transactions' fees


def test_sell_sent_before_buy_confirms_is_flagged_and_later_sells_are_not() -> None:
    position, buy = pending_position()
    early = sell_for(position)
    assert early.sent_before_buy_confirmed is True
    position.apply_buy_result(confirm_buy(buy))
    position.apply_sell_result(fail_landed(early, 6003, "TooLittleSolReceived"))
    late = sell_for(position, reason="stop_loss")
    assert late.sent_before_buy_confirmed is False
    assert late.attempt == 2
    assert position.sell_attempts == 2


def test_sell_that_overtook_its_buy_keeps_position_open_and_needs_resend_once_buy_lands() -> None:
    position, buy = pending_position()
    first = sell_for(position)
    # the SELL reached the leader first: the token account did not exist yet
    position.apply_sell_result(fail_landed(first, 3012, "AccountNotInitialized"))
    assert position.is_open
    assert position.status == "pending"
    assert position.awaiting_buy_result
    assert not position.needs_sell_resend

    position.apply_buy_result(confirm_buy(buy))
    assert position.status == "active"
    assert position.is_active
    assert position.needs_sell_resend  # tokens are held and the last SELL failed

    second = sell_for(position)
    assert (second.attempt, position.sell_order, position.status) == (2, second, "closing")
    assert not position.needs_sell_resend
    position.apply_sell_result(
        second.mark_confirmed(slot=130, fee_lamports=35_000, sol_change=SELL_DELTA,
                              token_change=-TOKENS)
    )  # fmt: skip
    assert position.status == "closed"
    assert position.sol_received == SELL_DELTA - 5_000  # the failed attempt's fee counts
    assert position.realized_pnl_lamports == SELL_DELTA - 5_000 + BUY_DELTA


def test_sell_fails_while_buy_pending_then_buy_fails_closes_the_position() -> None:
    position, buy = pending_position()
    sell = sell_for(position)
    position.apply_sell_result(fail_landed(sell, 3012, "AccountNotInitialized"))
    assert position.is_open
    position.apply_buy_result(fail_landed(buy, 6002, "TooMuchSolRequired"))
    assert position.status == "failed"
    assert position.exit_reason == BUY_FAILED


def test_sell_result_handled_before_buy_result_settles_when_buy_result_arrives() -> None:
    position, buy = pending_position()
    sell = sell_for(position)
    confirm_buy(buy)  # landed first on chain, but the SELL's confirmation was processed first
    position.apply_sell_result(
        sell.mark_confirmed(slot=101, fee_lamports=35_000, sol_change=SELL_DELTA,
                            token_change=-TOKENS)
    )  # fmt: skip
    assert position.status == "closed"
    position.apply_buy_result(buy.to_result())
    assert (position.status, position.is_active) == ("closed", False)
    assert position.realized_pnl_lamports == SELL_DELTA + BUY_DELTA


def test_realised_pnl_unknown_while_buy_unresolved() -> None:
    position, _buy = pending_position()
    position.close("manual", at=1_780_000_500.0)
    assert position.realized_pnl_lamports is None
    assert (position.closed_at, position.exit_reason) == (1_780_000_500.0, "manual")


def test_token_amounts_match_between_buy_and_sell() -> None:
    position, buy = pending_position()
    sell = sell_for(position)
    assert sell.token_amount == buy.token_amount == TOKENS
    position.apply_buy_result(confirm_buy(buy))
    assert position.sellable_token_amount == buy.token_amount


def test_sell_of_more_than_bought_or_of_another_mint_is_refused() -> None:
    position, _buy = pending_position()
    too_many = make_sell_order(position.token_info, token_amount=TOKENS + 1)
    with pytest.raises(ValueError, match="exceeds"):
        position.update_from_sell_order(too_many)
    other = make_sell_order(make_token_info(seed=2))
    with pytest.raises(ValueError, match="given to position"):
        position.update_from_sell_order(other)
    with pytest.raises(ValueError, match="given to position"):
        position.update_from_buy_order(make_buy_order(make_token_info(seed=2)))
    assert position.sell_order is None
    assert position.sell_attempts == 0


def test_same_sell_order_attached_twice_counts_one_attempt() -> None:
    position, _buy = pending_position()
    sell = sell_for(position)
    position.update_from_sell_order(sell)
    assert position.sell_attempts == 1


def test_results_without_orders_are_refused() -> None:
    position = Position.create_from_token_info(make_token_info())
    ok = TradeResult(success=True, state=OrderState.CONFIRMED)
    with pytest.raises(ValueError, match="no BUY"):
        position.apply_buy_result(ok)
    with pytest.raises(ValueError, match="no SELL"):
        position.apply_sell_result(ok)


def test_entry_cost_is_the_price_of_the_tokens_not_rent_or_fees() -> None:
    position, buy = pending_position()
    # in flight: the quote, and the worst fill the BUY allows for take profit
    assert position.entry_cost == buy.sol_cost
    assert position.worst_entry_cost == buy.max_sol_cost
    result = buy.mark_confirmed(
        slot=100, fee_lamports=TX_FEE, sol_change=BUY_DELTA, token_change=TOKENS,
        pump_sol=SOL_COST + 7,
    )  # fmt: skip
    position.apply_buy_result(result)
    assert position.sol_spent == SOL_COST + TX_FEE + RENT  # net PnL keeps every lamport
    assert position.entry_cost == position.worst_entry_cost == SOL_COST + 7
    sell = sell_for(position)
    position.apply_sell_result(
        sell.mark_confirmed(
            slot=101,
            fee_lamports=5_000,
            sol_change=SELL_DELTA,
            token_change=-TOKENS,
            pump_sol=SOL_OUTPUT,
        )
    )
    assert position.trading_pnl_lamports == SOL_OUTPUT - (SOL_COST + 7)
    assert position.realized_pnl_lamports == SELL_DELTA - (SOL_COST + TX_FEE + RENT)


def test_trading_pnl_of_a_failed_buy_is_zero_and_unknown_while_open() -> None:
    position, buy = pending_position()
    assert position.trading_pnl_lamports is None
    position.apply_buy_result(fail_landed(buy, 6002, "TooMuchSolRequired"))
    assert position.trading_pnl_lamports == 0


def test_sell_signed_for_the_ordered_amount_while_the_buy_failed_is_not_an_error() -> None:
    """The race: the SELL is built from the BUY's amount, then the BUY fails (its tokens go
    to 0) before the SELL is attached. That used to raise ValueError in the position task."""
    position, buy = pending_position()
    sell = make_sell_order(position.token_info, token_amount=buy.token_amount)
    position.apply_buy_result(fail_landed(buy, 6002, "TooMuchSolRequired"))
    assert position.token_amount == 0
    send(sell)
    position.update_from_sell_order(sell, exit_reason="take_profit")  # no ValueError
    assert position.sell_order is sell
