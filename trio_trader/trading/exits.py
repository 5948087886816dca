"""Exit rules: when a position should sell. Pure functions of (rules, state, price, now).

Prices are exact fractions (lamports per token base unit, ``Fraction(v_sol, v_tok)`` from
the curve's virtual reserves), so a threshold is compared without float rounding. The
entry price is what the tokens cost per base unit at the curve, pump fees included
(``Position.entry_cost``): never the token-account or volume-accumulator rent nor the
transaction fees, which are not a price (the rent even comes back when the SELL closes
the account). Charging them to the entry would move it up by 20-40 % on a 0.01 SOL buy
and stop positions out with no market move at all.

While the BUY is unconfirmed its fill is unknown within ``[quote, max_sol_cost]``:

* take profit is judged against the worst fill the BUY allows (``max_sol_cost``), so a
  take profit before confirmation is never a loss caused by the entry's own uncertainty;
* stop loss and the trailing stop use the quote (the expected fill): judging them against
  the worst fill would stop a position out on its own slippage allowance.

Once the BUY confirms, all rules use the actual cost read from its TradeEvent.

The monitor keeps an :class:`ExitState` per position (entry price, peak price, when the
position opened) and asks :func:`check_exit` on every price update and every tick. Time
rules fire without any price; price rules wait for the first price.
"""

from __future__ import annotations

import enum
from fractions import Fraction

import attrs


class ExitReason(enum.StrEnum):
    """Why a position sells (stored as the position's ``exit_reason``)."""

    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    MAX_HOLD_TIME = "max_hold_time"
    SELL_AFTER = "sell_after"
    SHUTDOWN = "shutdown"
    MANUAL = "manual"  # ``trio_trader sell`` from the operator


def _bps(pct: float | None) -> int | None:
    return None if pct is None else round(pct * 100)


@attrs.frozen(kw_only=True)
class ExitRules:
    """The exit rules of the trader (``None`` disables a rule).

    Attributes:
        take_profit_bps: sell when the price is this far above entry (1 % = 100 bps).
        stop_loss_bps: sell when the price is this far below entry.
        trailing_stop_bps: sell when the price falls this far below its peak since entry.
        max_hold_time: sell after this many seconds whatever the price.
        sell_after: time-based strategy: sell after N seconds (0 = at once, even before
            the BUY confirms).
        never_sell: manual mode: no rule ever fires (the position stays open).
    """

    take_profit_bps: int | None = None
    stop_loss_bps: int | None = None
    trailing_stop_bps: int | None = None
    max_hold_time: float | None = None
    sell_after: float | None = None
    never_sell: bool = False

    @classmethod
    def from_pct(
        cls,
        *,
        take_profit_pct: float | None = None,
        stop_loss_pct: float | None = None,
        trailing_stop_pct: float | None = None,
        max_hold_time: float | None = None,
        sell_after: float | None = None,
        never_sell: bool = False,
    ) -> ExitRules:
        """Build from percentages as written in the config."""
        return cls(
            take_profit_bps=_bps(take_profit_pct),
            stop_loss_bps=_bps(stop_loss_pct),
            trailing_stop_bps=_bps(trailing_stop_pct),
            max_hold_time=max_hold_time,
            sell_after=sell_after,
            never_sell=never_sell,
        )

    def next_deadline(self, opened_at: float) -> float | None:
        """The Trio time at which a time rule fires next (``None`` without time rules)."""
        if self.never_sell:
            return None
        times = [t for t in (self.max_hold_time, self.sell_after) if t is not None]
        return opened_at + min(times) if times else None


@attrs.frozen(kw_only=True)
class ExitState:
    """What the rules need to know about one position.

    Attributes:
        opened_at: Trio time when the BUY was sent.
        entry_price: lamports per base unit paid (``None`` until known); stop loss and
            trailing stop use it.
        peak_price: the highest price seen since entry (for the trailing stop).
        take_profit_entry: the entry take profit is judged against (the worst fill while
            the BUY is unconfirmed); ``entry_price`` when ``None``.
    """

    opened_at: float
    entry_price: Fraction | None = None
    peak_price: Fraction | None = None
    take_profit_entry: Fraction | None = None

    def with_price(self, price: Fraction) -> ExitState:
        """The state after seeing ``price`` (raises the peak)."""
        if self.peak_price is None or price > self.peak_price:
            return attrs.evolve(self, peak_price=price)
        return self

    def with_entry(
        self, entry_price: Fraction | None, take_profit_entry: Fraction | None = None
    ) -> ExitState:
        """The state with a (new) entry price, e.g. the actual cost once the BUY confirms."""
        return attrs.evolve(self, entry_price=entry_price, take_profit_entry=take_profit_entry)


def entry_price(cost: int | None, token_amount: int | None) -> Fraction | None:
    """Lamports per base unit paid for a position (``cost`` is ``Position.entry_cost``)."""
    if not cost or not token_amount or cost <= 0 or token_amount <= 0:
        return None
    return Fraction(cost, token_amount)


def check_exit(
    rules: ExitRules, state: ExitState, price: Fraction | None, now: float
) -> ExitReason | None:
    """The first rule that fires, or ``None``.

    Order: time rules (they need no price), then stop loss before take profit (when a
    price gaps through both in one update, protecting capital wins), then trailing stop.
    """
    if rules.never_sell:
        return None
    held = now - state.opened_at
    if rules.sell_after is not None and held >= rules.sell_after:
        return ExitReason.SELL_AFTER
    if rules.max_hold_time is not None and held >= rules.max_hold_time:
        return ExitReason.MAX_HOLD_TIME
    if price is None or state.entry_price is None:
        return None
    entry = state.entry_price
    if rules.stop_loss_bps is not None and price <= entry * Fraction(
        10_000 - rules.stop_loss_bps, 10_000
    ):
        return ExitReason.STOP_LOSS
    profit_entry = state.take_profit_entry or entry
    if rules.take_profit_bps is not None and price >= profit_entry * Fraction(
        10_000 + rules.take_profit_bps, 10_000
    ):
        return ExitReason.TAKE_PROFIT
    if rules.trailing_stop_bps is not None:
        # The stop trails the highest price since entry, starting at the entry price.
        top = max(entry, state.peak_price) if state.peak_price is not None else entry
        if price <= top * Fraction(10_000 - rules.trailing_stop_bps, 10_000):
            return ExitReason.TRAILING_STOP
    return None
