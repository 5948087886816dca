"""Exit rules: when a position should sell. Pure functions of (rules, state, price, now).

Prices are exact integer pairs (:class:`Price`: ``lamports`` for ``tokens`` base units,
e.g. the curve's virtual reserves), and a threshold in basis points is compared by
cross-multiplying integers (``value·10⁴ ≥ cost·(10⁴ + bps)``): no float rounding, and no
``Fraction`` built on every trade (``tests/trading/test_exits_properties.py`` checks these
decisions against the ``Fraction`` formula they replaced).

The entry price is what the tokens cost per base unit at the curve, pump fees included
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
position opened) and asks :func:`check_exit` on every price update and at the time rules'
deadline (``ExitRules.next_deadline``). Time rules fire without any price; price rules
wait for the first price.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
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


#: 100 % in basis points
_ONE = 10_000


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


@attrs.frozen
class Price:
    """An exact price: ``lamports`` for ``tokens`` base units (``tokens`` > 0).

    Never divided: a rule compares two prices by cross-multiplying their integers (see
    :func:`_versus`), which is exact and costs a few integer products instead of building
    and normalising ``Fraction`` objects on every trade of every position. ``==`` compares
    the pair as written (``Price(1, 2) != Price(2, 4)``), not the value.
    """

    lamports: int
    tokens: int

    def __attrs_post_init__(self) -> None:
        if self.tokens <= 0:  # a zero or negative denominator would flip every comparison
            raise ValueError(f"a price needs a positive token amount, not {self.tokens}")

    @classmethod
    def paid(cls, cost: int | None, token_amount: int | None) -> Price | None:
        """What a position paid per base unit (``cost`` is ``Position.entry_cost``)."""
        if not cost or not token_amount or cost <= 0 or token_amount <= 0:
            return None
        return cls(cost, token_amount)

    @property
    def fraction(self) -> Fraction:
        """The same price as a ``Fraction`` (for display: no rule divides)."""
        return Fraction(self.lamports, self.tokens)


def entry_price(cost: int | None, token_amount: int | None) -> Fraction | None:
    """Lamports per base unit paid, as a ``Fraction``: for display (the dashboard)."""
    paid = Price.paid(cost, token_amount)
    return None if paid is None else paid.fraction


def _versus(price: Price, base: Price, bps: int) -> int:
    """`_quote_versus` of a `Price`."""
    return _quote_versus(price.lamports, price.tokens, base, bps)


def _quote_versus(lamports: int, tokens: int, base: Price, bps: int) -> int:
    """Has the sign of ``lamports / tokens − base × (10_000 + bps) / 10_000``, in integers
    only (no `Price` built: this runs on every trade of a held coin).

    Both token amounts are positive, so multiplying the inequality through by them (and
    by 10_000) keeps its direction: ``a/b ≥ c/d·k/10⁴ ⇔ a·d·10⁴ ≥ c·b·k``.
    """
    return lamports * base.tokens * _ONE - base.lamports * tokens * (_ONE + bps)


@attrs.frozen(kw_only=True)
class ExitState:
    """What the rules need to know about one position.

    Attributes:
        opened_at: Trio time when the BUY was sent.
        entry_price: what was paid per base unit (``None`` until known); stop loss and
            trailing stop use it.
        peak_price: the highest price seen since entry (for the trailing stop).
        take_profit_entry: the entry take profit is judged against (the worst fill while
            the BUY is unconfirmed); ``entry_price`` when ``None``.
    """

    opened_at: float
    entry_price: Price | None = None
    peak_price: Price | None = None
    take_profit_entry: Price | None = None

    def with_price(self, price: Price) -> ExitState:
        """The state after seeing ``price`` (raises the peak)."""
        return self.with_quote(price.lamports, price.tokens, price)

    def with_quote(self, lamports: int, tokens: int, price: Price | None = None) -> ExitState:
        """`with_price` of the price ``lamports / tokens`` (``tokens`` > 0): a `Price` is
        built only for a new peak (``price``, if given, is that same price)."""
        peak = self.peak_price
        if peak is None or _quote_versus(lamports, tokens, peak, 0) > 0:
            # the constructor, not ``attrs.evolve``: this runs on every new high of every
            # held coin, and evolve's field introspection cost ~5 µs of it
            return ExitState(
                opened_at=self.opened_at,
                entry_price=self.entry_price,
                peak_price=Price(lamports, tokens) if price is None else price,
                take_profit_entry=self.take_profit_entry,
            )
        return self

    def with_entry(
        self, entry_price: Price | None, take_profit_entry: Price | None = None
    ) -> ExitState:
        """The state with a (new) entry price, e.g. the actual cost once the BUY confirms."""
        return attrs.evolve(self, entry_price=entry_price, take_profit_entry=take_profit_entry)


def check_exit(
    rules: ExitRules, state: ExitState, price: Price | None, now: float
) -> ExitReason | None:
    """The first rule that fires, or ``None``.

    Order: time rules (they need no price), then stop loss before take profit (when a
    price gaps through both in one update, protecting capital wins), then trailing stop.
    """
    if rules.never_sell:
        return None
    reason = _time_rule(rules, state, now)
    if reason is not None or price is None:
        return reason
    return _price_rule(rules, state, price.lamports, price.tokens)


def check_quote(
    rules: ExitRules,
    state: ExitState,
    quote: tuple[int, int] | None,
    clock: Callable[[], float],
) -> ExitReason | None:
    """`check_exit` on every trade of a held coin: the price as its integers
    (``lamports, tokens``, ``tokens`` > 0; no `Price` built), and the time read from
    ``clock`` only when a time rule needs it."""
    if rules.never_sell:
        return None
    if rules.sell_after is not None or rules.max_hold_time is not None:
        reason = _time_rule(rules, state, clock())
        if reason is not None:
            return reason
    return None if quote is None else _price_rule(rules, state, *quote)


def _time_rule(rules: ExitRules, state: ExitState, now: float) -> ExitReason | None:
    held = now - state.opened_at
    if rules.sell_after is not None and held >= rules.sell_after:
        return ExitReason.SELL_AFTER
    if rules.max_hold_time is not None and held >= rules.max_hold_time:
        return ExitReason.MAX_HOLD_TIME
    return None


def _price_rule(
    rules: ExitRules, state: ExitState, lamports: int, tokens: int
) -> ExitReason | None:
    entry = state.entry_price
    if entry is None:
        return None
    stop_loss = rules.stop_loss_bps
    if stop_loss is not None and _quote_versus(lamports, tokens, entry, -stop_loss) <= 0:
        return ExitReason.STOP_LOSS
    profit_entry = entry if state.take_profit_entry is None else state.take_profit_entry
    take_profit = rules.take_profit_bps
    if take_profit is not None and _quote_versus(lamports, tokens, profit_entry, take_profit) >= 0:
        return ExitReason.TAKE_PROFIT
    if rules.trailing_stop_bps is not None:
        # The stop trails the highest price since entry, starting at the entry price.
        peak = state.peak_price
        top = peak if peak is not None and _versus(peak, entry, 0) > 0 else entry
        if _quote_versus(lamports, tokens, top, -rules.trailing_stop_bps) <= 0:
            return ExitReason.TRAILING_STOP
    return None
