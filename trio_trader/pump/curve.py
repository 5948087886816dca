"""Bonding-curve and fee arithmetic, in integers, exactly as the program does it.

The curve is a constant product on the *virtual* reserves (PROTOCOL.md §7). The program
computes with u128 intermediates and floors every division, then adds 1 lamport to a buy
so the product never shrinks; fees are ``ceil(amount · bps / 10 000)`` per recipient on
the curve's SOL amount (§8). Python ints do not overflow, so each function checks its
inputs instead and raises :class:`ValueError` where the program would fail - callers
that emulate the program (the simulator) map those cases to error codes themselves.

Nothing here is a float except :func:`price_lamports_per_token`, which is for display.
"""

from __future__ import annotations

from typing import Self

import attrs

from .accounts import BondingCurve, FeeConfig, Fees, Global
from .addresses import USDC_MINT, WSOL_MINT, ZERO_KEY

__all__ = [
    "BPS",
    "DEFAULT_CREATOR_FEE_BPS",
    "DEFAULT_PROTOCOL_FEE_BPS",
    "INITIAL_RESERVES",
    "TOKEN_TOTAL_SUPPLY",
    "BuyQuote",
    "FeeRates",
    "Reserves",
    "SellQuote",
    "apply_buy",
    "apply_sell",
    "buy_cost",
    "fee",
    "fee_rates",
    "market_cap_lamports",
    "max_sol_cost",
    "min_sol_output",
    "price_lamports_per_token",
    "quote_buy",
    "quote_buy_exact_sol_in",
    "quote_buy_for_sol",
    "quote_sell",
    "sell_proceeds",
    "tokens_for_sol",
]

BPS = 10_000
TOKEN_TOTAL_SUPPLY = 10**15
DEFAULT_PROTOCOL_FEE_BPS = 95
DEFAULT_CREATOR_FEE_BPS = 30


@attrs.frozen
class Reserves:
    """A curve's four reserves (lamports / token base units)."""

    virtual_sol: int
    virtual_token: int
    real_sol: int
    real_token: int

    @classmethod
    def of(cls, curve: BondingCurve) -> Self:
        """The reserves of a decoded :class:`BondingCurve`."""
        return cls(
            curve.virtual_sol_reserves,
            curve.virtual_token_reserves,
            curve.real_sol_reserves,
            curve.real_token_reserves,
        )


# A fresh curve made from the default Global (1,073,000,000 virtual tokens, 30 virtual SOL).
INITIAL_RESERVES = Reserves(30_000_000_000, 1_073_000_000_000_000, 0, 793_100_000_000_000)


@attrs.frozen
class FeeRates:
    """Basis points charged on top of (buy) or taken from (sell) the curve's SOL amount."""

    protocol_bps: int
    creator_bps: int

    @property
    def total_bps(self) -> int:
        return self.protocol_bps + self.creator_bps


@attrs.frozen
class BuyQuote:
    """A buy of exactly ``amount`` tokens: ``total`` is what leaves the buyer's wallet."""

    amount: int
    sol_cost: int  # what enters the curve (TradeEvent.sol_amount)
    protocol_fee: int
    creator_fee: int
    total: int


@attrs.frozen
class SellQuote:
    """A sell of exactly ``amount`` tokens: ``net`` is what reaches the seller's wallet."""

    amount: int
    sol_out: int  # what leaves the curve (TradeEvent.sol_amount)
    protocol_fee: int
    creator_fee: int
    net: int


def fee(amount: int, bps: int, *, round_up: bool = True) -> int:
    """``amount · bps / 10 000``, rounded up (since Sept 2025) or down (2024)."""
    if amount < 0 or bps < 0:
        raise ValueError(f"fee of negative values: amount={amount} bps={bps}")
    if round_up:
        return -(-amount * bps // BPS)
    return amount * bps // BPS


def _check_reserves(reserves: Reserves) -> None:
    if reserves.virtual_sol <= 0 or reserves.virtual_token <= 0:
        raise ValueError(f"curve has no virtual reserves (migrated?): {reserves}")


def buy_cost(amount: int, reserves: Reserves) -> int:
    """Lamports into the curve for exactly ``amount`` tokens: ``floor(a·vs/(vt−a)) + 1``.

    Raises:
        ValueError: ``amount`` ≤ 0 or not below the virtual token reserves.
    """
    _check_reserves(reserves)
    if amount <= 0 or amount >= reserves.virtual_token:
        raise ValueError(f"cannot buy {amount} tokens from {reserves.virtual_token} virtual")
    return amount * reserves.virtual_sol // (reserves.virtual_token - amount) + 1


def sell_proceeds(amount: int, reserves: Reserves) -> int:
    """Lamports out of the curve for ``amount`` tokens, before fees: ``floor(a·vs/(vt+a))``."""
    _check_reserves(reserves)
    if amount < 0:
        raise ValueError(f"cannot sell {amount} tokens")
    return amount * reserves.virtual_sol // (reserves.virtual_token + amount)


def tokens_for_sol(net_sol: int, reserves: Reserves) -> int:
    """Tokens a net SOL amount buys (SDK quote): ``floor(s·vt/(vs+s))``."""
    _check_reserves(reserves)
    if net_sol < 0:
        raise ValueError(f"negative SOL amount {net_sol}")
    return net_sol * reserves.virtual_token // (reserves.virtual_sol + net_sol)


def quote_buy(amount: int, reserves: Reserves, rates: FeeRates) -> BuyQuote:
    """Cost of buying exactly ``amount`` tokens, fees included (``buy`` instruction)."""
    cost = buy_cost(amount, reserves)
    protocol = fee(cost, rates.protocol_bps)
    creator = fee(cost, rates.creator_bps)
    return BuyQuote(amount, cost, protocol, creator, cost + protocol + creator)


def quote_buy_for_sol(total_sol_budget: int, reserves: Reserves, rates: FeeRates) -> BuyQuote:
    """The most tokens (capped at ``real_token``) whose total cost fits ``total_sol_budget``.

    A search over ``quote_buy`` (cost grows with amount), so the result is exact under
    the same rounding the program uses; ``amount == 0`` when the budget buys nothing. It
    starts from the closed-form amount (:func:`_estimate_buy`) and gallops to bracket the
    answer: 3 quotes where a plain bisection of the supply took ~50 (~200 µs on a BUY
    without extreme fast mode).
    """
    _check_reserves(reserves)
    lo, hi = _bracket_buy(total_sol_budget, reserves, rates)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote_buy(mid, reserves, rates).total <= total_sol_budget:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return BuyQuote(0, 0, 0, 0, 0)
    return quote_buy(lo, reserves, rates)


def _estimate_buy(total_sol_budget: int, reserves: Reserves, rates: FeeRates) -> int:
    """The answer of :func:`quote_buy_for_sol` in closed form (checked there, not trusted).

    The largest curve cost ``C`` whose fees, rounded up, keep the total within budget is
    at most ``budget·BPS/(BPS+fees)`` and a few lamports below it; the largest amount
    with ``floor(a·vs/(vt−a)) + 1 ≤ C`` is ``a < C·vt/(vs+C)``, i.e. ``(C·vt−1)//(vs+C)``.
    """
    protocol, creator = rates.protocol_bps, rates.creator_bps
    cost = total_sol_budget * BPS // (BPS + protocol + creator)
    while cost > 0 and cost + fee(cost, protocol) + fee(cost, creator) > total_sol_budget:
        cost -= 1
    if cost <= 0:
        return 0
    return (cost * reserves.virtual_token - 1) // (reserves.virtual_sol + cost)


def _bracket_buy(total_sol_budget: int, reserves: Reserves, rates: FeeRates) -> tuple[int, int]:
    """``(lo, hi)`` with the answer of :func:`quote_buy_for_sol` in between: ``lo`` fits the
    budget (0 always does), nothing above ``hi`` does. Gallops from the estimate, so a
    wrong estimate costs quotes, never the exact answer (left to the bisection)."""
    top = min(reserves.real_token, reserves.virtual_token - 1)

    def fits(amount: int) -> bool:
        return amount == 0 or quote_buy(amount, reserves, rates).total <= total_sol_budget

    guess = max(0, min(top, _estimate_buy(total_sol_budget, reserves, rates)))
    step = 1
    if fits(guess):
        lo = guess
        while lo < top:
            probe = min(top, lo + step)
            if not fits(probe):
                return lo, probe - 1
            lo, step = probe, step * 2
        return lo, top
    hi = guess - 1
    while True:
        probe = hi + 1 - step
        if probe <= 0:
            return 0, hi
        if fits(probe):
            return probe, hi
        hi, step = probe - 1, step * 2


def quote_buy_exact_sol_in(spendable: int, reserves: Reserves, rates: FeeRates) -> BuyQuote:
    """What ``buy_exact_sol_in(spendable, …)`` buys (formula of its IDL doc, PROTOCOL §7).

    The fees are taken out of ``spendable`` first, the rest buys ``floor((net−1)·vt /
    (vs+net−1))`` tokens (capped at ``real_token``); the quote's ``sol_cost`` and fees are
    then those of :func:`quote_buy` for that amount, which never exceed ``spendable``.
    """
    _check_reserves(reserves)
    if spendable < 0:
        raise ValueError(f"negative spendable {spendable}")
    net = spendable * BPS // (BPS + rates.total_bps)
    fees = fee(net, rates.protocol_bps) + fee(net, rates.creator_bps)
    if net + fees > spendable:
        net -= net + fees - spendable
    if net <= 1:
        return BuyQuote(0, 0, 0, 0, 0)
    tokens = (net - 1) * reserves.virtual_token // (reserves.virtual_sol + net - 1)
    tokens = min(tokens, reserves.real_token)
    if tokens <= 0:
        return BuyQuote(0, 0, 0, 0, 0)
    return quote_buy(tokens, reserves, rates)


def quote_sell(amount: int, reserves: Reserves, rates: FeeRates) -> SellQuote:
    """Proceeds of selling exactly ``amount`` tokens; ``net`` is clamped at 0 for dust."""
    out = sell_proceeds(amount, reserves)
    protocol = fee(out, rates.protocol_bps)
    creator = fee(out, rates.creator_bps)
    return SellQuote(amount, out, protocol, creator, max(0, out - protocol - creator))


def apply_buy(reserves: Reserves, q: BuyQuote) -> Reserves:
    """Reserves after a buy: the curve gains ``sol_cost`` and loses ``amount`` tokens."""
    if q.amount > reserves.real_token:
        raise ValueError(f"buy of {q.amount} exceeds real token reserves {reserves.real_token}")
    return Reserves(
        reserves.virtual_sol + q.sol_cost,
        reserves.virtual_token - q.amount,
        reserves.real_sol + q.sol_cost,
        reserves.real_token - q.amount,
    )


def apply_sell(reserves: Reserves, q: SellQuote) -> Reserves:
    """Reserves after a sell: the curve pays ``sol_out`` and takes ``amount`` tokens back."""
    if q.sol_out > reserves.real_sol:
        raise ValueError(f"sell pays {q.sol_out} but real SOL reserves are {reserves.real_sol}")
    return Reserves(
        reserves.virtual_sol - q.sol_out,
        reserves.virtual_token + q.amount,
        reserves.real_sol - q.sol_out,
        reserves.real_token + q.amount,
    )


def max_sol_cost(total: int, slippage_bps: int) -> int:
    """``max_sol_cost`` argument of a buy: ``total`` plus ``slippage_bps`` of it (floored)."""
    if total < 0 or slippage_bps < 0:
        raise ValueError("total and slippage must be >= 0")
    return total + total * slippage_bps // BPS


def min_sol_output(net: int, slippage_bps: int) -> int:
    """``min_sol_output`` argument of a sell: ``net`` less ``slippage_bps`` of it (rounded up)."""
    if net < 0 or not 0 <= slippage_bps <= BPS:
        raise ValueError("net must be >= 0 and slippage within 0..10000 bps")
    return net - fee(net, slippage_bps)


def price_lamports_per_token(reserves: Reserves, decimals: int = 6) -> float:
    """Lamports per whole token (``10**decimals`` base units), for display only."""
    if reserves.virtual_token <= 0:
        return 0.0
    return float(reserves.virtual_sol * 10**decimals / reserves.virtual_token)


def market_cap_lamports(reserves: Reserves, supply: int = TOKEN_TOTAL_SUPPLY) -> int:
    """``floor(v_sol · supply / v_tok)``, the figure the fee tiers are chosen by."""
    if reserves.virtual_token <= 0:
        return 0
    return reserves.virtual_sol * supply // reserves.virtual_token


def _is_zero(key: object) -> bool:
    return key is None or key == ZERO_KEY


def fee_rates(
    curve: BondingCurve, global_: Global | None, fee_config: FeeConfig | None
) -> FeeRates:
    """The protocol and creator rates for the next trade on ``curve`` (PROTOCOL §8).

    With a FeeConfig: its tier for the curve's market cap (SOL and wrapped SOL quotes use
    ``fee_tiers``, USDC ``stable_fee_tiers``, any other quote ``exotic_flat_fees`` or
    ``flat_fees`` while that is unset). Without one: ``Global.fee_basis_points`` /
    ``creator_fee_basis_points``. Without either: 95 + 30 bps, the 2025-2026 schedule.
    A coin's own non-zero ``creator_fee_bps`` wins while Global allows configurable fees,
    and the creator rate is 0 when the curve has no creator (zero key or 2024 layout).
    """
    if fee_config is not None:
        supply = curve.token_total_supply if curve.is_mayhem_mode else TOKEN_TOTAL_SUPPLY
        cap = market_cap_lamports(Reserves.of(curve), supply)
        quote = curve.quote_mint
        if _is_zero(quote) or quote == WSOL_MINT:
            fees = fee_config.rates_for(cap)
        elif quote == USDC_MINT:
            fees = fee_config.rates_for(cap, tiers="stable_fee_tiers")
        else:
            exotic = fee_config.exotic_flat_fees
            fees = (
                exotic if exotic is not None and exotic != Fees(0, 0, 0) else fee_config.flat_fees
            )
        protocol, creator = fees.protocol_fee_bps, fees.creator_fee_bps
    elif global_ is not None:
        protocol = global_.fee_basis_points
        creator = global_.creator_fee_basis_points or 0
    else:
        protocol, creator = DEFAULT_PROTOCOL_FEE_BPS, DEFAULT_CREATOR_FEE_BPS
    if curve.creator_fee_bps and global_ is not None and global_.creator_fee_configurable:
        creator = curve.creator_fee_bps
    if _is_zero(curve.creator):
        creator = 0
    return FeeRates(protocol, creator)
