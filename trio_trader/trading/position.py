"""A position: one token bought (or being bought) and later sold, with its two orders.

The seed plan creates the position *before* the BUY is sent and lets the SELL leave
before the BUY is confirmed, so every number here may still be unknown (``None``)
or only expected. The rules, in the order things can happen::

    create_from_token_info(ti)        status "pending", is_active False, no orders
    update_from_buy_order(buy)        expected token_amount / sol_spent / entry_price
    apply_buy_result(ok)              actual amounts, is_active True → "active"
    update_from_sell_order(sell)      "closing"; flags a pre-confirmation sell
    apply_sell_result(ok)             sol_received, realised PnL → "closed"

Failure orderings (the point of the design):

* BUY FAILED and no SELL sent → closed at once, reason ``"buy_failed"``, status
  ``"failed"``: nothing was bought, nothing must be sold.
* BUY FAILED while a SELL is in flight → stays open; that SELL must fail on chain
  (no tokens), and its result closes the position (``"failed"``).
* SELL FAILED → the position stays open. If the BUY is CONFIRMED the tokens are held
  and ``needs_sell_resend`` is True (a SELL that overtook its BUY, or a slippage
  failure); if the BUY is still in flight, ``awaiting_buy_result`` is True and the
  re-send waits for it; if the BUY FAILED the position closes.

A position ends only when its tokens are sold or its BUY failed.

Money (all ``int`` lamports, wallet deltas read from the transactions):

* ``sol_spent`` = −(BUY's wallet SOL change): curve cost + pump protocol and creator
  fees + transaction base and priority fees + the rent of the token account the BUY
  created. Until the BUY is confirmed it holds the *expected* ``BuyOrder.sol_cost``.
  A FAILED BUY that landed spent only its transaction fee; one that never landed, 0.
* ``sol_received`` = Σ over every SELL attempt of its wallet SOL change: curve
  proceeds − pump fees − transaction fees (+ the rent back if the SELL closed the token
  account). A failed SELL attempt adds its (negative) fee. ``None`` until a SELL
  attempt is resolved.
* ``realized_pnl_lamports`` = ``sol_received − sol_spent`` (missing terms are 0), set
  when the position closes with its BUY resolved. It is the exact change of the
  wallet's SOL caused by this position.

A coin quoted in a token (USDC, ``quote_mint`` set) is paid and sold in that token, so
its money is kept apart, in the token's base units, and never added to SOL:

* ``quote_spent`` = −(BUY's wallet change of the quote token) (the quote until the BUY
  confirms), ``quote_received`` = Σ SELL attempts' quote changes, ``realized_pnl_quote``
  = ``quote_received − quote_spent``: the trading PnL in USDC, to the base unit.
* ``sol_spent`` / ``sol_received`` / ``realized_pnl_lamports`` keep their meaning, the
  wallet's SOL deltas: for such a coin they are only its transaction fees and the rent
  paid or got back, so its ``realized_pnl_lamports`` is ≤ 0 (the SOL it cost to trade).

Public API (imported directly: ``from trio_trader.trading.position import Position``)::

    Position.create_from_token_info(token_info, *, created_at=None) -> Position
    position.update_from_buy_order(buy_order)
    position.update_from_sell_order(sell_order, *, exit_reason=None)
    position.apply_buy_result(result)        # TradeResult of the BUY
    position.apply_sell_result(result)       # TradeResult of a SELL attempt
    position.close(reason, *, at=None)
    position.status                           "pending"|"active"|"closing"|"closed"|"failed"
    position.is_open, .awaiting_buy_result, .needs_sell_resend
    position.sellable_token_amount, .next_sell_attempt
    position.unrealized_pnl_lamports(price), .pnl_pct(price), .price_change_pct(price)

Exit decisions (take profit, stop loss, …) are not here: they live with the monitor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs
from solders.pubkey import Pubkey

from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder, TradeResult
from trio_trader.trading.token_info import USDC_DECIMALS, TokenInfo

logger = logging.getLogger(__name__)

#: exit reason of a position closed because its BUY failed
BUY_FAILED = "buy_failed"
#: exit reason of a position whose SELL confirmed without a stated reason
SOLD = "sold"

_IN_FLIGHT = frozenset({OrderState.PENDING, OrderState.SENT})


@attrs.define(eq=False, kw_only=True)
class Position:
    """One token's trade, from detection to sale; see the module docstring.

    Attributes:
        id: the database row id (``None`` until inserted).
        mint, token_info: the token.
        is_active: True while tokens are known to be held (BUY confirmed, not closed).
        is_closed: True once the position is over (sold, or its BUY failed).
        buy_order, sell_order: the current orders (``sell_order`` is the latest
            attempt; earlier attempts are in the ``trades`` table).
        token_amount: tokens bought (expected until the BUY confirms, then actual).
        entry_price: lamports per whole token, display only.
        sol_spent, sol_received, realized_pnl_lamports: see the module docstring.
        exit_reason: why the position is being, or was, exited.
        created_at, closed_at: unix seconds (filled by the store when left ``None``).
        sell_attempts: SELL transactions sent so far.
    """

    mint: Pubkey
    token_info: TokenInfo
    id: int | None = None
    is_active: bool = False
    is_closed: bool = False
    buy_order: BuyOrder | None = None
    sell_order: SellOrder | None = None
    token_amount: int | None = None
    entry_price: float | None = None
    sol_spent: int | None = None
    sol_received: int | None = None
    exit_reason: str | None = None
    created_at: float | None = None
    closed_at: float | None = None
    sell_attempts: int = 0
    realized_pnl_lamports: int | None = None
    quote_spent: int | None = None
    quote_received: int | None = None
    realized_pnl_quote: int | None = None

    @property
    def quote_mint(self) -> Pubkey | None:
        """The token this coin is quoted in (USDC…), ``None`` for SOL (see module doc)."""
        return self.token_info.quote_token

    # ------------------------------------------------------------------ building

    @classmethod
    def create_from_token_info(
        cls, token_info: TokenInfo, *, created_at: float | None = None
    ) -> Position:
        """A pending position, inserted in the database before the BUY is sent."""
        return cls(mint=token_info.mint, token_info=token_info, created_at=created_at)

    def update_from_buy_order(self, buy_order: BuyOrder) -> None:
        """Attach the (sent) BUY and take its *expected* amounts.

        The token amount is fixed in the pump ``buy`` instruction, so it is already the
        amount the SELL will sell; ``sol_spent`` is the quote until the BUY confirms.
        """
        self._check_mint(buy_order.token_info)
        self.buy_order = buy_order
        self.token_amount = buy_order.token_amount
        if self.quote_mint is None:
            self.sol_spent = buy_order.sol_cost
        else:
            self.quote_spent = buy_order.sol_cost  # in the quote's units (orders module)
        self.entry_price = self._price(buy_order.sol_cost, buy_order.token_amount)

    def update_from_sell_order(
        self, sell_order: SellOrder, *, exit_reason: str | None = None
    ) -> None:
        """Attach a (sent) SELL attempt; flags it if the BUY is not yet CONFIRMED.

        Raises:
            ValueError: the SELL is for another mint or sells more than the position
                bought (the pump BUY fixes the amount, so they must match).
        """
        self._check_mint(sell_order.token_info)
        # Against what the BUY ordered too: a BUY that failed while this SELL was being
        # signed has already set ``token_amount`` to 0, and that race is not a bug.
        ordered = self.buy_order.token_amount if self.buy_order is not None else None
        bought = max(self.token_amount or 0, ordered or 0)
        if self.token_amount is not None and sell_order.token_amount > bought:
            raise ValueError(
                f"SELL of {sell_order.token_amount} exceeds the {bought} tokens "
                f"of position {self.id} ({self.mint})"
            )
        if self.buy_order is None or self.buy_order.state is not OrderState.CONFIRMED:
            if not sell_order.sent_before_buy_confirmed:
                # DEBUG: this runs before the SELL's send; the monitor logs it at INFO after
                logger.debug("SELL of %s sent before its BUY confirmed", self.mint)
            sell_order.sent_before_buy_confirmed = True
        if sell_order is not self.sell_order:
            self.sell_attempts += 1
        self.sell_order = sell_order
        if exit_reason is not None:
            self.exit_reason = exit_reason

    # ------------------------------------------------------------------ results

    def apply_buy_result(self, result: TradeResult) -> None:
        """Take the BUY's on-chain outcome (the buyer already resolved ``buy_order``)."""
        if self.buy_order is None:
            raise ValueError(f"position {self.id} ({self.mint}) has no BUY order")
        if result.success:
            if result.token_change is not None:
                if result.token_change != self.buy_order.token_amount:
                    logger.warning(
                        "BUY of %s received %d tokens, ordered %d",
                        self.mint, result.token_change, self.buy_order.token_amount,
                    )  # fmt: skip
                self.token_amount = result.token_change
            if result.sol_change is not None:
                self.sol_spent = -result.sol_change
            if self.quote_mint is not None and result.quote_change is not None:
                self.quote_spent = -result.quote_change
            self.entry_price = self._price(self._spent, self.token_amount)
            if self.is_closed:
                self._settle()  # the SELL result came first; amounts are now actual
                self._log_settled_late()
            else:
                self.is_active = True
            return
        self.is_active = False
        self.token_amount = 0
        self.sol_spent = -result.sol_change if result.sol_change is not None else 0
        if self.quote_mint is not None:
            self.quote_spent = -result.quote_change if result.quote_change is not None else 0
        self.entry_price = None
        if self.is_closed:
            self._settle()
            self._log_settled_late()
        elif self.sell_order is None or self.sell_order.state not in _IN_FLIGHT:
            self.close(BUY_FAILED)
        else:
            logger.info("BUY of %s failed while its SELL is in flight", self.mint)

    def apply_sell_result(self, result: TradeResult) -> None:
        """Take one SELL attempt's outcome: close when sold, stay open when not."""
        if self.sell_order is None:
            raise ValueError(f"position {self.id} ({self.mint}) has no SELL order")
        if result.sol_change is not None:
            self.sol_received = (self.sol_received or 0) + result.sol_change
        elif self.sol_received is None and result.success:
            self.sol_received = 0
        if self.quote_mint is not None and (result.quote_change is not None or result.success):
            self.quote_received = (self.quote_received or 0) + (result.quote_change or 0)
        if result.success:
            self.close(self.exit_reason or SOLD)
        elif self.buy_order is not None and self.buy_order.state is OrderState.FAILED:
            self.close(BUY_FAILED)
        elif not self.is_closed:
            logger.info(
                "SELL of %s attempt %d failed (%s); position stays open",
                self.mint, self.sell_order.attempt, result.error_name,
            )  # fmt: skip

    def close(self, reason: str | None = None, *, at: float | None = None) -> None:
        """End the position; computes the realised PnL if the BUY is resolved."""
        self.is_closed = True
        self.is_active = False
        if reason is not None:
            self.exit_reason = reason
        if at is not None:
            self.closed_at = at
        self._settle()

    def _log_settled_late(self) -> None:
        """The close was logged with an unknown PnL (its BUY unresolved): say it now."""
        if self.realized_pnl_lamports is None:
            return
        logger.info(
            "%s: position %s closed before its BUY resolved: PnL %s",
            self.mint, self.id, self.pnl_text(),
            extra={"mint": str(self.mint), "position_id": self.id, "state": self.status},
        )  # fmt: skip

    def pnl_text(self) -> str:
        """``"+0.012000000 SOL (+24.0 %)"``, for a USDC coin ``"+1.250000 USDC (+12.5 %)
        and -0.000010000 SOL fees/rent"``: the realised PnL as a share of the BUY's quote
        (display only: the ints are in the database)."""
        pnl, base = self.realized_pnl, self.pnl_base
        if pnl is None:
            return "unknown until the BUY is resolved"
        share = f" ({100 * pnl / base:+.1f} %)" if base else ""
        sol = f"{(self.realized_pnl_lamports or 0) / 1_000_000_000:+.9f} SOL"
        if self.quote_mint is None:
            return f"{sol}{share}"
        units = 10**USDC_DECIMALS
        return f"{pnl / units:+.6f} {self.token_info.quote_symbol}{share} and {sol} fees/rent"

    def _settle(self) -> None:
        if self.buy_order is not None and not self.buy_order.is_resolved:
            self.realized_pnl_lamports = None
            self.realized_pnl_quote = None
            return
        self.realized_pnl_lamports = (self.sol_received or 0) - (self.sol_spent or 0)
        if self.quote_mint is not None:
            self.realized_pnl_quote = (self.quote_received or 0) - (self.quote_spent or 0)

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        """``pending`` → ``active`` → ``closing`` → ``closed`` | ``failed``.

        ``closing`` means a SELL is in flight; after a failed SELL the status goes
        back to ``active`` (or ``pending`` while the BUY is unconfirmed). ``failed``
        is a closed position whose BUY failed.
        """
        if self.is_closed:
            buy_failed = self.buy_order is not None and self.buy_order.state is OrderState.FAILED
            return "failed" if buy_failed else "closed"
        if self.sell_order is not None and self.sell_order.state in _IN_FLIGHT:
            return "closing"
        if self.is_active:
            return "active"
        return "pending"

    @property
    def is_open(self) -> bool:
        return not self.is_closed

    @property
    def awaiting_buy_result(self) -> bool:
        """The BUY was built or sent and its result is not known yet."""
        return self.buy_order is not None and self.buy_order.state in _IN_FLIGHT

    @property
    def needs_sell_resend(self) -> bool:
        """The last SELL failed while the tokens are held: send a new SELL.

        This covers the SELL that overtook its BUY (token account missing or empty)
        once the BUY has landed, and an ordinary SELL failure such as slippage.
        """
        return (
            not self.is_closed
            and self.sell_order is not None
            and self.sell_order.state is OrderState.FAILED
            and self.buy_order is not None
            and self.buy_order.state is OrderState.CONFIRMED
        )

    @property
    def sellable_token_amount(self) -> int | None:
        """Tokens a SELL must sell: all of them (``None`` before any BUY order)."""
        return self.token_amount

    @property
    def next_sell_attempt(self) -> int:
        """The ``attempt`` number for the next ``SellOrder``."""
        return self.sell_attempts + 1

    # ------------------------------------------------------------------ entry and PnL

    @property
    def entry_cost(self) -> int | None:
        """Lamports paid for the tokens: pump's cost plus pump fees, nothing else.

        The BUY's TradeEvent once it confirmed; its quote (``sol_cost``) before, or when
        the landed transaction could not be read. Token-account and volume-accumulator
        rent and transaction fees are not a price: they are left to ``sol_spent`` (net
        PnL), so exit rules never fire on rent.
        """
        buy = self.buy_order
        if buy is None:
            return None
        if buy.state is OrderState.CONFIRMED and buy.pump_sol is not None:
            return buy.pump_sol
        return buy.sol_cost

    @property
    def _spent(self) -> int | None:
        """What the tokens cost the wallet in the coin's quote units (SOL: rent included)."""
        return self.sol_spent if self.quote_mint is None else self.quote_spent

    @property
    def realized_pnl(self) -> int | None:
        """The realised PnL in the coin's quote units: ``realized_pnl_lamports`` for a SOL
        coin, ``realized_pnl_quote`` for one quoted in a token (its SOL side is apart)."""
        if self.quote_mint is None:
            return self.realized_pnl_lamports
        return self.realized_pnl_quote if self.realized_pnl_lamports is not None else None

    @property
    def pnl_base(self) -> int | None:
        """What a PnL percentage is a share of: what the BUY was meant to cost (its quote).

        Not ``sol_spent``: a BUY that failed spent only its fee, and a loss of that fee would
        read as -100 % or worse.
        """
        return self.buy_order.sol_cost if self.buy_order is not None else self._spent

    @property
    def worst_entry_cost(self) -> int | None:
        """What the tokens may cost at worst: ``max_sol_cost`` while the BUY is in
        flight (a take profit before it confirms is judged against this), else
        ``entry_cost``."""
        buy = self.buy_order
        if buy is not None and buy.state in _IN_FLIGHT:
            return buy.max_sol_cost
        return self.entry_cost

    @property
    def trading_pnl_lamports(self) -> int | None:
        """Proceeds minus cost at the curve (pump fees in, rent and tx fees out), in
        lamports: ``None`` for a coin quoted in a token (``trading_pnl_quote``)."""
        return self.trading_pnl if self.quote_mint is None else None

    @property
    def trading_pnl_quote(self) -> int | None:
        """``trading_pnl`` of a coin quoted in a token (its base units), else ``None``."""
        return None if self.quote_mint is None else self.trading_pnl

    @property
    def trading_pnl(self) -> int | None:
        """Proceeds minus cost at the curve (pump fees in, rent and tx fees out), in the
        coin's quote units.

        Set once the position is closed with both sides known; a position closed because
        its BUY failed traded nothing (0).
        """
        if not self.is_closed or self.buy_order is None:
            return None
        if self.buy_order.state is OrderState.FAILED:
            return 0
        sell = self.sell_order
        if self.buy_order.state is not OrderState.CONFIRMED or sell is None:
            return None
        if sell.state is not OrderState.CONFIRMED:
            return None
        cost, proceeds = self.entry_cost, sell.pump_sol
        if proceeds is None:
            proceeds = sell.sol_output
        return None if cost is None else proceeds - cost

    # ------------------------------------------------------------------ PnL helpers

    def unrealized_pnl_lamports(self, current_price: float) -> int | None:
        """Value of the tokens at ``current_price`` (quote units per whole token: lamports
        for a SOL coin) minus what they cost in that quote (``sol_spent`` / ``quote_spent``);
        sell fees are not deducted. ``None`` while unknown."""
        spent = self._spent
        if self.token_amount is None or spent is None or self.is_closed:
            return None
        value = self.token_amount * current_price / 10**self.token_info.decimals
        return int(value) - spent

    def pnl_pct(self, current_price: float) -> float | None:
        """Unrealised PnL as a percentage of the cost (display only)."""
        pnl = self.unrealized_pnl_lamports(current_price)
        spent = self._spent
        if pnl is None or not spent:
            return None
        return 100.0 * pnl / spent

    def price_change_pct(self, current_price: float) -> float | None:
        """Price move since entry in percent; ``None`` without an entry price."""
        if not self.entry_price:
            return None
        return 100.0 * (current_price - self.entry_price) / self.entry_price

    def _price(self, sol: int | None, tokens: int | None) -> float | None:
        if sol is None or not tokens:
            return None
        return float(sol * 10**self.token_info.decimals / tokens)

    def _check_mint(self, token_info: TokenInfo) -> None:
        if token_info.mint != self.mint:
            raise ValueError(f"order for {token_info.mint} given to position of {self.mint}")


def pnl_by_quote(positions: Iterable[Position]) -> dict[str, dict[str, int]]:
    """Closed positions of coins quoted in a token, per quote mint (base58), in that
    token's base units: ``{"positions", "realized_pnl_units", "trading_pnl_units"}``.

    SOL coins are not in it (their PnL is ``realized_pnl_lamports``), and neither sum is
    ever added to a SOL amount: a USDC coin's SOL side (fees, rent) is in its
    ``realized_pnl_lamports``, counted with SOL.
    """
    out: dict[str, dict[str, int]] = {}
    for p in positions:
        if not p.is_closed or p.quote_mint is None:
            continue
        entry = out.setdefault(
            str(p.quote_mint), {"positions": 0, "realized_pnl_units": 0, "trading_pnl_units": 0}
        )
        entry["positions"] += 1
        entry["realized_pnl_units"] += p.realized_pnl_quote or 0
        entry["trading_pnl_units"] += p.trading_pnl_quote or 0
    return out
