"""PumpSwap constant-product quotes and fee selection, integers only (docs/protocol-pumpswap.md §6).

Mirrors ``@pump-fun/pump-swap-sdk`` 1.20.0 ``sell.ts`` / ``buy.ts`` / ``fees.ts`` /
``util.ts`` (the SDK names its Rust references ``pump-amm compute_fees()``,
``pump-fees FeeConfig::fees_for_quote_mint()``, ``calculate_fee_tier()``):

* sell ``b`` base: ``out = floor(Q·b / (B + b))`` with ``Q`` = quote reserve +
  ``Pool.virtual_quote_reserves``; each fee ``ceil(out·bps / 10 000)`` (lp, protocol,
  coin creator); the user receives ``out − fees``; the pool's quote vault pays
  ``out − lp_fee`` (the LP fee stays in the pool).
* buy ``b`` base: ``raw = ceil(Q·b / (B − b))``; the user pays ``raw + fees`` (fees on
  ``raw``, rounded up); the pool's quote vault receives ``raw + lp_fee``.
* the creator fee is 0 on a pool whose ``coin_creator`` is the zero key.

Functions raise :class:`ValueError` where the SDK throws (or the program would fail).
"""

from __future__ import annotations

import attrs
from solders.pubkey import Pubkey

from ..accounts import FeeConfig, Fees, FeeTier, pick_fee_tier
from ..addresses import USDC_MINT, WSOL_MINT, ZERO_KEY
from .accounts import GlobalConfig, Pool
from .addresses import is_canonical_pool
from .events import BuyEvent, SellEvent

__all__ = [
    "NATIVE_MINT_2022",
    "PUMP_AMM_TOTAL_TOKEN_SUPPLY",
    "AmmBuyQuote",
    "AmmSellQuote",
    "PoolReserves",
    "amm_fee_rates",
    "apply_amm_buy",
    "apply_amm_sell",
    "calculate_fee_tier",
    "event_fees",
    "fees_for_quote_mint",
    "pool_market_cap",
    "quote_amm_buy",
    "quote_amm_buy_exact_quote_in",
    "quote_amm_sell",
    "reserves_after_event",
]

BPS = 10_000
# pump-amm TOTAL_TOKEN_SUPPLY: the market-cap basis of mayhem pools (SDK util.ts).
PUMP_AMM_TOTAL_TOKEN_SUPPLY = 10**15
# The Token-2022 native mint, "SOL-like" for the fee program (spl-token NATIVE_MINT_2022).
NATIVE_MINT_2022 = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")
_SOL_LIKE = (ZERO_KEY, WSOL_MINT, NATIVE_MINT_2022)
_ZERO_FEES = Fees(0, 0, 0)


@attrs.frozen
class PoolReserves:
    """The pool's token-account balances; ``virtual_quote`` is ``Pool.virtual_quote_reserves``
    (0 except boosted pools; added to the quote side of the curve only)."""

    base: int
    quote: int
    virtual_quote: int = 0

    @property
    def effective_quote(self) -> int:
        return self.quote + self.virtual_quote


@attrs.frozen
class AmmSellQuote:
    """A sell of ``base_in``: ``quote_out`` = SellEvent.quote_amount_out, ``net`` =
    SellEvent.user_quote_amount_out."""

    base_in: int
    quote_out: int
    lp_fee: int
    protocol_fee: int
    creator_fee: int
    net: int

    @property
    def pool_quote_paid(self) -> int:
        """What leaves the pool's quote vault (the LP fee stays): SellEvent
        ``quote_amount_out_without_lp_fee``."""
        return self.quote_out - self.lp_fee


@attrs.frozen
class AmmBuyQuote:
    """A buy of ``base_out``: ``quote_in`` = BuyEvent.quote_amount_in, ``total`` =
    BuyEvent.user_quote_amount_in."""

    base_out: int
    quote_in: int
    lp_fee: int
    protocol_fee: int
    creator_fee: int
    total: int

    @property
    def pool_quote_received(self) -> int:
        """What enters the pool's quote vault: BuyEvent ``quote_amount_in_with_lp_fee``."""
        return self.quote_in + self.lp_fee


def _ceil_fee(amount: int, bps: int) -> int:
    return -(-amount * bps // BPS)


def _check(reserves: PoolReserves) -> None:
    if reserves.base <= 0 or reserves.quote <= 0:
        raise ValueError(f"pool reserves must be positive: {reserves}")
    if reserves.effective_quote <= 0:
        raise ValueError(f"effective quote reserve is not positive: {reserves}")


def pool_market_cap(
    reserves: PoolReserves, base_mint_supply: int, *, is_mayhem_mode: bool = False
) -> int:
    """``floor(Q · supply / B)`` with ``Q`` the effective quote reserve; mayhem pools use
    10^15 as supply, others the base mint's live supply (SDK ``poolMarketCap``)."""
    if reserves.base <= 0:
        raise ValueError("pool base reserve is zero")
    supply = PUMP_AMM_TOTAL_TOKEN_SUPPLY if is_mayhem_mode else base_mint_supply
    return reserves.effective_quote * supply // reserves.base


def calculate_fee_tier(tiers: tuple[FeeTier, ...], market_cap: int) -> Fees:
    """Below the first threshold the first tier, else the last tier whose threshold is
    <= ``market_cap`` (SDK ``calculateFeeTier``).

    Raises:
        ValueError: no tiers.
    """
    if not tiers:
        raise ValueError("fee tiers cannot be empty")
    return pick_fee_tier(tiers, market_cap)


def fees_for_quote_mint(
    fee_config: FeeConfig, *, is_pump_pool: bool, market_cap: int, quote_mint: Pubkey
) -> Fees:
    """Non-pump pools pay ``flat_fees``; canonical pump pools pay ``fee_tiers`` for SOL-like
    quotes, ``stable_fee_tiers`` for USDC (``fee_tiers`` while empty), else
    ``exotic_flat_fees`` or ``flat_fees`` while that is unset/all-zero."""
    if not is_pump_pool:
        return fee_config.flat_fees
    if quote_mint in _SOL_LIKE:
        return calculate_fee_tier(fee_config.fee_tiers, market_cap)
    if quote_mint == USDC_MINT:
        tiers = fee_config.stable_fee_tiers or fee_config.fee_tiers
        return calculate_fee_tier(tiers, market_cap)
    exotic = fee_config.exotic_flat_fees
    if exotic is None or exotic == _ZERO_FEES:
        return fee_config.flat_fees
    return exotic


def amm_fee_rates(
    pool: Pool,
    global_config: GlobalConfig,
    fee_config: FeeConfig | None,
    *,
    reserves: PoolReserves,
    base_mint_supply: int,
) -> Fees:
    """The lp / protocol / coin-creator bps of the next trade on ``pool`` (SDK
    ``computeFeesBps``), with the creator rate 0 when the pool has no coin creator.

    With a FeeConfig (the AMM's, PDA ``5PHirr…RaTjx``): the schedule of
    :func:`fees_for_quote_mint` at the pool's market cap; a non-zero
    ``Pool.creator_fee_bps`` replaces the creator rate while
    ``GlobalConfig.creator_fee_configurable`` is on. Without one: GlobalConfig's rates.
    """
    if fee_config is not None:
        cap = pool_market_cap(reserves, base_mint_supply, is_mayhem_mode=bool(pool.is_mayhem_mode))
        fees = fees_for_quote_mint(
            fee_config,
            is_pump_pool=is_canonical_pool(pool.base_mint, pool.creator),
            market_cap=cap,
            quote_mint=pool.quote_mint,
        )
        if global_config.creator_fee_configurable and pool.creator_fee_bps:
            fees = Fees(fees.lp_fee_bps, fees.protocol_fee_bps, pool.creator_fee_bps)
    else:
        fees = Fees(
            global_config.lp_fee_basis_points,
            global_config.protocol_fee_basis_points,
            global_config.coin_creator_fee_basis_points or 0,
        )
    if not pool.has_coin_creator:
        fees = Fees(fees.lp_fee_bps, fees.protocol_fee_bps, 0)
    return fees


def quote_amm_sell(base_in: int, reserves: PoolReserves, fees: Fees) -> AmmSellQuote:
    """Proceeds of selling exactly ``base_in`` (SDK ``sellBaseInput``).

    Raises:
        ValueError: negative amount, empty pool, the real quote reserve cannot pay
            ``out − lp_fee``, or fees exceed the output.
    """
    _check(reserves)
    if base_in < 0:
        raise ValueError(f"cannot sell {base_in} base units")
    out = reserves.effective_quote * base_in // (reserves.base + base_in)
    lp = _ceil_fee(out, fees.lp_fee_bps)
    protocol = _ceil_fee(out, fees.protocol_fee_bps)
    creator = _ceil_fee(out, fees.creator_fee_bps)
    if reserves.quote < out - lp:
        raise ValueError("insufficient real quote reserves to cover the sell output")
    net = out - lp - protocol - creator
    if net < 0:
        raise ValueError(f"fees exceed the sell output {out}")
    return AmmSellQuote(base_in, out, lp, protocol, creator, net)


def quote_amm_buy(base_out: int, reserves: PoolReserves, fees: Fees) -> AmmBuyQuote:
    """Cost of buying exactly ``base_out`` (SDK ``buyBaseInput``).

    Raises:
        ValueError: non-positive amount or not below the pool's base reserve.
    """
    _check(reserves)
    if base_out <= 0 or base_out >= reserves.base:
        raise ValueError(f"cannot buy {base_out} of {reserves.base} base units")
    raw = -(-reserves.effective_quote * base_out // (reserves.base - base_out))
    lp = _ceil_fee(raw, fees.lp_fee_bps)
    protocol = _ceil_fee(raw, fees.protocol_fee_bps)
    creator = _ceil_fee(raw, fees.creator_fee_bps)
    return AmmBuyQuote(base_out, raw, lp, protocol, creator, raw + lp + protocol + creator)


def quote_amm_buy_exact_quote_in(spendable: int, reserves: PoolReserves, fees: Fees) -> int:
    """Base units ``spendable`` quote buys, fees deducted from it (SDK ``buyQuoteInput``):
    ``net = floor(s·10⁴/(10⁴+total_bps))`` lowered until ``net + fees <= s``, then
    ``floor(B·(net−1) / (Q + net − 1))``. Returns 0 when the budget buys nothing (the SDK
    would return a negative number for a dust budget)."""
    _check(reserves)
    if spendable < 0:
        raise ValueError(f"negative spendable {spendable}")
    total_bps = fees.lp_fee_bps + fees.protocol_fee_bps + fees.creator_fee_bps
    net = spendable * BPS // (BPS + total_bps)
    charged = (
        net
        + _ceil_fee(net, fees.lp_fee_bps)
        + _ceil_fee(net, fees.protocol_fee_bps)
        + _ceil_fee(net, fees.creator_fee_bps)
    )
    if charged > spendable:
        net -= charged - spendable
    if net <= 1:
        return 0
    return reserves.base * (net - 1) // (reserves.effective_quote + net - 1)


def apply_amm_sell(reserves: PoolReserves, q: AmmSellQuote) -> PoolReserves:
    """Pool balances after a sell: base += ``base_in``, quote -= ``quote_out − lp_fee``."""
    return PoolReserves(
        reserves.base + q.base_in, reserves.quote - q.pool_quote_paid, reserves.virtual_quote
    )


def apply_amm_buy(reserves: PoolReserves, q: AmmBuyQuote) -> PoolReserves:
    """Pool balances after a buy: base -= ``base_out``, quote += ``quote_in + lp_fee``."""
    return PoolReserves(
        reserves.base - q.base_out, reserves.quote + q.pool_quote_received, reserves.virtual_quote
    )


def reserves_after_event(event: BuyEvent | SellEvent) -> PoolReserves:
    """The pool's balances *after* the trade an event reports (its ``pool_*`` fields are
    the balances before it): a buy moves ``base_amount_out`` out of the base vault and
    ``quote_amount_in_with_lp_fee`` into the quote vault; a sell moves ``base_amount_in``
    in and ``quote_amount_out_without_lp_fee`` out. Protocol, creator and buyback fees
    never touch the pool's vaults. ``virtual_quote`` is the event's (0 on older events).

    Raises:
        ValueError: the balances the event implies are not positive (no tradable pool).
    """
    base, quote = event.pool_base_token_reserves, event.pool_quote_token_reserves
    if isinstance(event, BuyEvent):
        base -= event.base_amount_out
        quote += event.quote_amount_in_with_lp_fee
    else:
        base += event.base_amount_in
        quote -= event.quote_amount_out_without_lp_fee
    after = PoolReserves(base, quote, event.virtual_quote_reserves or 0)
    _check(after)
    return after


def event_fees(event: BuyEvent | SellEvent) -> Fees:
    """The lp / protocol / coin-creator rates the event's trade paid (creator 0 on
    events older than creator fees): the rates of the pool's next trade unless its market
    cap crosses a fee tier (:func:`amm_fee_rates` is the exact rule, with the accounts)."""
    return Fees(
        event.lp_fee_basis_points,
        event.protocol_fee_basis_points,
        event.coin_creator_fee_basis_points or 0,
    )
