"""Exit rules: pure functions of (rules, state, price, now)."""

from __future__ import annotations

from fractions import Fraction

import attrs
import pytest

from trio_trader.trading.exits import (
    ExitReason,
    ExitRules,
    ExitState,
    Price,
    check_exit,
    entry_price,
)

ENTRY = Price(30, 1_000_000)  # 30 lamports for 1e6 base units


def times(price: Price, num: int, den: int = 1) -> Price:
    """``price × num / den``, exactly (the denominator scales: never divided)."""
    return Price(price.lamports * num, price.tokens * den)


def state(**kw: object) -> ExitState:
    return ExitState(opened_at=100.0, entry_price=ENTRY, **kw)  # type: ignore[arg-type]


def test_take_profit_fires_at_threshold_not_below() -> None:
    rules = ExitRules.from_pct(take_profit_pct=50)
    assert check_exit(rules, state(), times(ENTRY, 149, 100), 101.0) is None
    assert check_exit(rules, state(), times(ENTRY, 150, 100), 101.0) is ExitReason.TAKE_PROFIT


def test_stop_loss_fires_and_wins_over_take_profit_ordering() -> None:
    rules = ExitRules.from_pct(stop_loss_pct=20, take_profit_pct=10)
    assert check_exit(rules, state(), times(ENTRY, 81, 100), 101.0) is None
    assert check_exit(rules, state(), times(ENTRY, 80, 100), 101.0) is ExitReason.STOP_LOSS


def test_trailing_stop_follows_the_peak() -> None:
    rules = ExitRules.from_pct(trailing_stop_pct=10)
    s = state().with_price(times(ENTRY, 2))
    assert check_exit(rules, s, times(ENTRY, 181, 100), 101.0) is None
    assert check_exit(rules, s, times(ENTRY, 180, 100), 101.0) is ExitReason.TRAILING_STOP
    # a lower price does not lower the peak
    assert s.with_price(ENTRY).peak_price == times(ENTRY, 2)


def test_a_new_peak_keeps_every_other_field_of_the_state() -> None:
    # with_price builds the state field by field (cheaper than attrs.evolve): a field
    # added to ExitState and not carried over would be lost on the first new high
    full = ExitState(
        opened_at=7.0, entry_price=ENTRY, peak_price=ENTRY, take_profit_entry=times(ENTRY, 3)
    )
    higher = times(ENTRY, 2)
    after = full.with_price(higher)
    assert after == attrs.evolve(full, peak_price=higher)
    assert {f.name for f in attrs.fields(ExitState)} == {
        "opened_at", "entry_price", "peak_price", "take_profit_entry"
    }  # fmt: skip


def test_trailing_stop_starts_at_entry_without_a_peak() -> None:
    rules = ExitRules.from_pct(trailing_stop_pct=10)
    assert check_exit(rules, state(), times(ENTRY, 90, 100), 101.0) is ExitReason.TRAILING_STOP


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
    assert check_exit(rules, state(), times(ENTRY, 1, 100), 10_000.0) is None
    assert rules.next_deadline(0.0) is None


def test_price_rules_wait_for_an_entry_price() -> None:
    rules = ExitRules.from_pct(stop_loss_pct=10)
    assert check_exit(rules, ExitState(opened_at=0.0), times(ENTRY, 1, 10), 1.0) is None


def test_next_deadline_is_the_earliest_time_rule() -> None:
    rules = ExitRules(max_hold_time=60.0, sell_after=5.0)
    assert rules.next_deadline(10.0) == 15.0
    assert ExitRules().next_deadline(10.0) is None


def test_entry_price_is_exact_and_none_when_unknown() -> None:
    assert Price.paid(3_000, 1_000) == Price(3_000, 1_000)
    assert entry_price(3_000, 1_000) == Fraction(3)  # the dashboard's display form
    assert Price.paid(None, 1_000) is None
    assert entry_price(5, 0) is None


def test_a_price_without_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match="positive token amount"):
        Price(1, 0)


def test_thresholds_compare_across_different_denominators() -> None:
    """Entry and price need not share a token amount: 3/1e6 vs 6/2e6 is the same price."""
    rules = ExitRules(take_profit_bps=0, stop_loss_bps=0)
    s = ExitState(opened_at=0.0, entry_price=Price(3, 1_000_000))
    assert check_exit(rules, s, Price(6, 2_000_000), 1.0) is ExitReason.STOP_LOSS  # <= 0 %
    tp_only = ExitRules(take_profit_bps=0)
    assert check_exit(tp_only, s, Price(6, 2_000_000), 1.0) is ExitReason.TAKE_PROFIT
    assert check_exit(tp_only, s, Price(5, 2_000_000), 1.0) is None


def test_take_profit_uses_its_own_entry_and_stop_loss_the_quote() -> None:
    """Before the BUY confirms, take profit is judged against the worst fill (+15 % here)."""
    rules = ExitRules.from_pct(take_profit_pct=20, stop_loss_pct=20)
    worst = times(ENTRY, 115, 100)
    s = state(take_profit_entry=worst)
    assert check_exit(rules, s, times(ENTRY, 130, 100), 101.0) is None  # +30 % of quote
    assert check_exit(rules, s, times(worst, 120, 100), 101.0) is ExitReason.TAKE_PROFIT
    assert check_exit(rules, s, times(ENTRY, 80, 100), 101.0) is ExitReason.STOP_LOSS
    assert s.with_entry(ENTRY).take_profit_entry is None  # confirmed: one entry for all
