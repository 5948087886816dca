"""Exit rules: pure functions of (rules, state, price, now)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from trio_trader.trading.exits import (
    ExitReason,
    ExitRules,
    ExitState,
    check_exit,
    entry_price,
)

ENTRY = Fraction(30, 1_000_000)  # lamports per base unit


def state(**kw: object) -> ExitState:
    return ExitState(opened_at=100.0, entry_price=ENTRY, **kw)  # type: ignore[arg-type]


def test_take_profit_fires_at_threshold_not_below() -> None:
    rules = ExitRules.from_pct(take_profit_pct=50)
    assert check_exit(rules, state(), ENTRY * Fraction(149, 100), 101.0) is None
    assert check_exit(rules, state(), ENTRY * Fraction(150, 100), 101.0) is ExitReason.TAKE_PROFIT


def test_stop_loss_fires_and_wins_over_take_profit_ordering() -> None:
    rules = ExitRules.from_pct(stop_loss_pct=20, take_profit_pct=10)
    assert check_exit(rules, state(), ENTRY * Fraction(81, 100), 101.0) is None
    assert check_exit(rules, state(), ENTRY * Fraction(80, 100), 101.0) is ExitReason.STOP_LOSS


def test_trailing_stop_follows_the_peak() -> None:
    rules = ExitRules.from_pct(trailing_stop_pct=10)
    s = state().with_price(ENTRY * 2)
    assert check_exit(rules, s, ENTRY * Fraction(181, 100), 101.0) is None
    assert check_exit(rules, s, ENTRY * Fraction(180, 100), 101.0) is ExitReason.TRAILING_STOP
    # a lower price does not lower the peak
    assert s.with_price(ENTRY).peak_price == ENTRY * 2


def test_trailing_stop_starts_at_entry_without_a_peak() -> None:
    rules = ExitRules.from_pct(trailing_stop_pct=10)
    assert check_exit(rules, state(), ENTRY * Fraction(90, 100), 101.0) is ExitReason.TRAILING_STOP


def test_max_hold_time_fires_without_any_price() -> None:
    rules = ExitRules(max_hold_time=30.0)
    s = ExitState(opened_at=100.0)
    assert check_exit(rules, s, None, 129.9) is None
    assert check_exit(rules, s, None, 130.0) is ExitReason.MAX_HOLD_TIME


@pytest.mark.parametrize("after", [0.0, 5.0])
def test_sell_after_n_seconds_including_zero(after: float) -> None:
    rules = ExitRules(sell_after=after)
    s = ExitState(opened_at=100.0)
    assert check_exit(rules, s, None, 100.0 + after) is ExitReason.SELL_AFTER
    if after:
        assert check_exit(rules, s, None, 100.0 + after - 0.01) is None


def test_never_sell_ignores_every_rule() -> None:
    rules = ExitRules(never_sell=True, sell_after=0.0, stop_loss_bps=1)
    assert check_exit(rules, state(), ENTRY / 100, 10_000.0) is None
    assert rules.next_deadline(0.0) is None


def test_price_rules_wait_for_an_entry_price() -> None:
    rules = ExitRules.from_pct(stop_loss_pct=10)
    assert check_exit(rules, ExitState(opened_at=0.0), ENTRY / 10, 1.0) is None


def test_next_deadline_is_the_earliest_time_rule() -> None:
    rules = ExitRules(max_hold_time=60.0, sell_after=5.0)
    assert rules.next_deadline(10.0) == 15.0
    assert ExitRules().next_deadline(10.0) is None


def test_entry_price_is_exact_and_none_when_unknown() -> None:
    assert entry_price(3_000, 1_000) == Fraction(3)
    assert entry_price(None, 1_000) is None
    assert entry_price(5, 0) is None


def test_take_profit_uses_its_own_entry_and_stop_loss_the_quote() -> None:
    """Before the BUY confirms, take profit is judged against the worst fill (+15 % here)."""
    rules = ExitRules.from_pct(take_profit_pct=20, stop_loss_pct=20)
    worst = ENTRY * Fraction(115, 100)
    s = state(take_profit_entry=worst)
    assert check_exit(rules, s, ENTRY * Fraction(130, 100), 101.0) is None  # +30 % of quote
    assert check_exit(rules, s, worst * Fraction(120, 100), 101.0) is ExitReason.TAKE_PROFIT
    assert check_exit(rules, s, ENTRY * Fraction(80, 100), 101.0) is ExitReason.STOP_LOSS
    assert s.with_entry(ENTRY).take_profit_entry is None  # confirmed: one entry for all
