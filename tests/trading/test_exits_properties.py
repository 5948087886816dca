"""The integer exit check decides exactly as the ``Fraction`` formula it replaced.

``fraction_check_exit`` below is that formula, verbatim from ``exits.py`` before prices
became integer pairs (kept here as the reference). Hypothesis draws reserves, costs,
token amounts, peaks and rule thresholds (tiny, huge, and exactly on a threshold) and the
two must agree on every input.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from trio_trader.trading.exits import (
    ExitReason,
    ExitRules,
    ExitState,
    Price,
    check_exit,
    check_quote,
)

amounts = st.integers(min_value=1, max_value=2**64)  # u64 reserves, lamports, base units
bps = st.none() | st.integers(min_value=0, max_value=50_000)
stop_bps = st.none() | st.integers(min_value=0, max_value=9_999)  # config: below 100 %


def fraction_check_exit(
    rules: ExitRules,
    entry: Fraction | None,
    take_profit_entry: Fraction | None,
    peak: Fraction | None,
    price: Fraction | None,
) -> ExitReason | None:
    """The price rules of ``check_exit`` as they were, on ``Fraction`` prices."""
    if rules.never_sell or price is None or entry is None:
        return None
    if rules.stop_loss_bps is not None and price <= entry * Fraction(
        10_000 - rules.stop_loss_bps, 10_000
    ):
        return ExitReason.STOP_LOSS
    profit_entry = take_profit_entry or entry
    if rules.take_profit_bps is not None and price >= profit_entry * Fraction(
        10_000 + rules.take_profit_bps, 10_000
    ):
        return ExitReason.TAKE_PROFIT
    if rules.trailing_stop_bps is not None:
        top = max(entry, peak) if peak is not None else entry
        if price <= top * Fraction(10_000 - rules.trailing_stop_bps, 10_000):
            return ExitReason.TRAILING_STOP
    return None


@st.composite
def prices(draw: st.DrawFn) -> Price:
    return Price(draw(amounts), draw(amounts))


@st.composite
def near(draw: st.DrawFn, base: Price, bps: int | None) -> Price:
    """A price exactly on ``base``'s threshold (when it is an integer pair), or beside it."""
    factor = 10_000 + (bps or 0) * draw(st.sampled_from([1, -1]))
    scale = draw(st.integers(min_value=1, max_value=10**6))
    nudge = draw(st.sampled_from([-1, 0, 0, 1]))
    lamports = base.lamports * factor * scale + nudge
    return Price(max(lamports, 0), base.tokens * 10_000 * scale)


@settings(max_examples=600, deadline=None)
@given(
    tp=bps,
    sl=stop_bps,
    trail=stop_bps,
    entry=st.none() | prices(),
    worst=st.none() | prices(),
    seen=st.lists(prices(), max_size=4),
    price=st.none() | prices(),
    data=st.data(),
)
@example(tp=2000, sl=None, trail=None, entry=Price(100, 10**9), worst=None, seen=[],
         price=Price(120, 10**9), data=None)  # fmt: skip
def test_integer_check_decides_as_the_fraction_formula(
    tp: int | None,
    sl: int | None,
    trail: int | None,
    entry: Price | None,
    worst: Price | None,
    seen: list[Price],
    price: Price | None,
    data: st.DataObject | None,
) -> None:
    rules = ExitRules(take_profit_bps=tp, stop_loss_bps=sl, trailing_stop_bps=trail)
    if data is not None and entry is not None and data.draw(st.booleans()):
        # half the time, a price on (or one lamport beside) one of the thresholds
        threshold = data.draw(st.sampled_from([tp, -(sl or 0), -(trail or 0)]))
        price = data.draw(near(entry, threshold))
    state = ExitState(opened_at=0.0).with_entry(entry, worst)
    for one in [*seen, *([price] if price is not None else [])]:
        state = state.with_price(one)

    def fraction(p: Price | None) -> Fraction | None:
        return None if p is None else p.fraction

    peak = max((p.fraction for p in [*seen, *([price] if price else [])]), default=None)
    assert fraction(state.peak_price) == peak
    expected = fraction_check_exit(rules, fraction(entry), fraction(worst), peak, fraction(price))
    assert check_exit(rules, state, price, 1.0) == expected
    # the monitor's form: the price as integers, the peak raised from them too
    quoted = ExitState(opened_at=0.0).with_entry(entry, worst)
    for one in [*seen, *([price] if price is not None else [])]:
        quoted = quoted.with_quote(one.lamports, one.tokens)
    assert quoted == state
    quote = None if price is None else (price.lamports, price.tokens)
    assert check_quote(rules, quoted, quote, _no_clock) == expected


def _no_clock() -> float:
    raise AssertionError("the time was read without a time rule")


@settings(max_examples=300, deadline=None)
@given(
    sell_after=st.none() | st.floats(0, 10),
    max_hold=st.none() | st.floats(0, 10),
    never=st.booleans(),
    now=st.floats(0, 20),
    entry=st.none() | prices(),
    price=st.none() | prices(),
)
def test_the_quote_check_decides_as_check_exit_with_time_rules(
    sell_after: float | None,
    max_hold: float | None,
    never: bool,
    now: float,
    entry: Price | None,
    price: Price | None,
) -> None:
    rules = ExitRules(
        take_profit_bps=500, stop_loss_bps=500, max_hold_time=max_hold, sell_after=sell_after,
        never_sell=never,
    )  # fmt: skip
    state = ExitState(opened_at=1.0).with_entry(entry)
    quote = None if price is None else (price.lamports, price.tokens)
    assert check_quote(rules, state, quote, lambda: now) == check_exit(rules, state, price, now)


@given(cost=st.integers(min_value=-5, max_value=2**64), amount=st.integers(-5, 2**64))
def test_paid_is_the_entry_fraction_or_none(cost: int, amount: int) -> None:
    paid = Price.paid(cost, amount)
    if cost <= 0 or amount <= 0:
        assert paid is None
    else:
        assert paid is not None
        assert paid.fraction == Fraction(cost, amount)


@given(a=prices(), b=prices())
def test_the_peak_is_the_larger_price_whatever_their_denominators(a: Price, b: Price) -> None:
    assume(a.fraction != b.fraction)
    state = ExitState(opened_at=0.0).with_price(a).with_price(b)
    assert state.peak_price is not None
    assert state.peak_price.fraction == max(a.fraction, b.fraction)
