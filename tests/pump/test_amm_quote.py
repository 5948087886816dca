"""PumpSwap quotes and fee selection: against the pump-swap-sdk 1.20.0 math on the live
mainnet AMM FeeConfig (captured 2026-09-08), plus properties (monotonic, no free money)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import mainnet_amm_fee_config_bytes, pk, vectors
from trio_trader.pump import addresses as a
from trio_trader.pump.accounts import FeeConfig, Fees
from trio_trader.pump.amm import quote as q
from trio_trader.pump.amm.accounts import GlobalConfig, Pool
from trio_trader.pump.amm.addresses import canonical_pool_pda

FAST = settings(max_examples=80, deadline=None)
SUPPLY = 10**15


def _fee_config() -> FeeConfig:
    return FeeConfig.decode(mainnet_amm_fee_config_bytes())


def _global(**kw: Any) -> GlobalConfig:
    values: dict[str, Any] = {
        "admin": Pubkey.new_unique(),
        "lp_fee_basis_points": 20,
        "protocol_fee_basis_points": 5,
        "disable_flags": 0,
        "protocol_fee_recipients": (Pubkey.new_unique(),) * 8,
        "coin_creator_fee_basis_points": 5,
        "creator_fee_configurable": False,
    }
    return GlobalConfig(**(values | kw))


def _pool(mint: Pubkey, coin_creator: Pubkey, quote_mint: Pubkey = a.WSOL_MINT, **kw: Any) -> Pool:
    values: dict[str, Any] = {
        "pool_bump": 255,
        "index": 0,
        "creator": a.pool_authority_pda(mint),
        "base_mint": mint,
        "quote_mint": quote_mint,
        "lp_mint": Pubkey.new_unique(),
        "pool_base_token_account": Pubkey.new_unique(),
        "pool_quote_token_account": Pubkey.new_unique(),
        "lp_supply": 0,
        "coin_creator": coin_creator,
        "is_mayhem_mode": False,
        "is_cashback_coin": False,
        "virtual_quote_reserves": 0,
        "creator_fee_bps": 0,
    }
    return Pool(**(values | kw))


def test_mainnet_fee_config_decodes_as_the_sdk_reads_it() -> None:
    fc = _fee_config()
    assert fc.admin == pk("FFWtrEQ4B4PKQoVuHYzZq8FabGkVatYzDpEVHsK5rrhF")
    assert fc.flat_fees == Fees(25, 5, 0)
    assert len(fc.fee_tiers) == 25
    assert len(fc.stable_fee_tiers) == 25
    assert fc.fee_tiers[0].fees == Fees(2, 93, 30)
    assert fc.fee_tiers[1].market_cap_lamports_threshold == 420_000_000_000
    assert fc.fee_tiers[-1].fees == Fees(20, 5, 5)
    assert fc.exotic_flat_fees in (None, Fees(0, 0, 0))


@pytest.mark.parametrize("row", range(len(vectors()["quotes"])))
def test_quotes_match_the_sdk(row: int) -> None:
    v = vectors()["quotes"][row]
    mint = pk(vectors()["pdas"][0]["mint"])
    pool = _pool(mint, pk(v["coin_creator"]))
    reserves = q.PoolReserves(int(v["base_reserve"]), int(v["quote_reserve"]))
    fees = q.amm_fee_rates(
        pool, _global(), _fee_config(), reserves=reserves, base_mint_supply=SUPPLY
    )
    sdk_fees = Fees(*(int(f) for f in v["fees"]))
    if pool.has_coin_creator:
        assert fees == sdk_fees
    else:  # the SDK zeroes the creator fee in the quote, we in the rates
        assert fees == Fees(sdk_fees.lp_fee_bps, sdk_fees.protocol_fee_bps, 0)
    amount = int(v["amount"])
    sell = q.quote_amm_sell(amount, reserves, fees)
    assert (sell.quote_out, sell.net) == (int(v["sell"]["raw"]), int(v["sell"]["ui_quote"]))
    if "error" in v["buy"]:
        with pytest.raises(ValueError, match="cannot buy"):
            q.quote_amm_buy(amount, reserves, fees)
    else:
        buy = q.quote_amm_buy(amount, reserves, fees)
        assert (buy.quote_in, buy.total) == (int(v["buy"]["raw"]), int(v["buy"]["ui_quote"]))
    sdk_base = int(v["buy_quote_in"]["base"])
    assert q.quote_amm_buy_exact_quote_in(amount, reserves, fees) == max(sdk_base, 0)


def test_fee_tiers_by_market_cap_and_quote_mint() -> None:
    fc, gc = _fee_config(), _global()
    mint, creator = Pubkey.new_unique(), Pubkey.new_unique()
    pool = _pool(mint, creator)

    def rates(p: Pool, base: int, quote: int, supply: int = SUPPLY) -> Fees:
        reserves = q.PoolReserves(base, quote)
        return q.amm_fee_rates(p, gc, fc, reserves=reserves, base_mint_supply=supply)

    # right after migration: ≈ 411 SOL market cap, first tier (1.25 % like the curve)
    assert rates(pool, 206_900_000_000_000, 84_990_359_454) == Fees(2, 93, 30)
    # exactly at the second threshold (420 SOL): the second tier
    assert rates(pool, 10**15, 420_000_000_000) == Fees(20, 5, 95)
    assert rates(pool, 10**15, 419_999_999_999) == Fees(2, 93, 30)
    assert rates(pool, 10**12, 10**12) == Fees(20, 5, 5)  # far above the last threshold
    # a mayhem pool uses 10^15 as supply whatever the mint says
    mayhem = attrs.evolve(pool, is_mayhem_mode=True)
    assert rates(mayhem, 10**15, 420_000_000_000, supply=1) == Fees(20, 5, 95)
    assert rates(pool, 10**15, 420_000_000_000, supply=1) == Fees(2, 93, 30)
    # not created by pump's migrate: flat fees
    other = attrs.evolve(pool, creator=Pubkey.new_unique())
    assert rates(other, 206_900_000_000_000, 84_990_359_454) == Fees(25, 5, 0)
    # USDC pools use the stable tiers (thresholds in USDC units), exotic quotes the flat fees
    usdc = attrs.evolve(pool, quote_mint=a.USDC_MINT)
    assert rates(usdc, 10**15, 59_000_000_000) == Fees(20, 5, 95)
    assert rates(usdc, 10**15, 58_999_999_999) == Fees(2, 93, 30)
    exotic = attrs.evolve(pool, quote_mint=Pubkey.new_unique())
    assert rates(exotic, 10**15, 10**12) == Fees(25, 5, 0)
    # a configured per-pool creator fee replaces the tier's while Global allows it
    custom = attrs.evolve(pool, creator_fee_bps=77)
    assert rates(custom, 10**12, 10**12) == Fees(20, 5, 5)
    on = q.amm_fee_rates(
        custom,
        _global(creator_fee_configurable=True),
        fc,
        reserves=q.PoolReserves(10**12, 10**12),
        base_mint_supply=SUPPLY,
    )
    assert on == Fees(20, 5, 77)
    # no FeeConfig: GlobalConfig's rates; no coin creator: no creator fee
    fallback = q.amm_fee_rates(
        pool, gc, None, reserves=q.PoolReserves(1, 1), base_mint_supply=SUPPLY
    )
    assert fallback == Fees(20, 5, 5)
    no_creator = attrs.evolve(pool, coin_creator=a.ZERO_KEY)
    assert rates(no_creator, 10**12, 10**12) == Fees(20, 5, 0)


def test_empty_tiers_and_bad_reserves_raise() -> None:
    with pytest.raises(ValueError, match="empty"):
        q.calculate_fee_tier((), 1)
    fees = Fees(2, 93, 30)
    with pytest.raises(ValueError, match="positive"):
        q.quote_amm_sell(1, q.PoolReserves(0, 5), fees)
    with pytest.raises(ValueError, match="cannot sell"):
        q.quote_amm_sell(-1, q.PoolReserves(5, 5), fees)
    with pytest.raises(ValueError, match="cannot buy"):
        q.quote_amm_buy(5, q.PoolReserves(5, 5), fees)
    with pytest.raises(ValueError, match="cannot buy"):
        q.quote_amm_buy(0, q.PoolReserves(5, 5), fees)
    with pytest.raises(ValueError, match="fees exceed"):
        q.quote_amm_sell(10, q.PoolReserves(10, 10**6), Fees(5_000, 5_000, 1))
    with pytest.raises(ValueError, match="real quote"):  # virtual reserves cannot be paid out
        q.quote_amm_sell(10**6, q.PoolReserves(10, 5, virtual_quote=10**9), Fees(0, 0, 0))


def test_sell_books_balance() -> None:
    """Every lamport of the output goes somewhere: user + protocol + creator + LP (kept)."""
    reserves = q.PoolReserves(206_900_000_000_000, 84_990_359_454)
    s = q.quote_amm_sell(10**12, reserves, Fees(2, 93, 30))
    assert s.net + s.protocol_fee + s.creator_fee + s.lp_fee == s.quote_out
    after = q.apply_amm_sell(reserves, s)
    assert reserves.quote - after.quote == s.net + s.protocol_fee + s.creator_fee
    assert after.base - reserves.base == 10**12
    b = q.quote_amm_buy(10**12, after, Fees(2, 93, 30))
    back = q.apply_amm_buy(after, b)
    assert back.quote - after.quote == b.total - b.protocol_fee - b.creator_fee
    assert b.total > s.net  # selling then buying back the same amount costs money


def _sell_or_none(amount: int, reserves: q.PoolReserves, fees: Fees) -> q.AmmSellQuote | None:
    """A dust sell whose output cannot cover the rounded-up fees raises (as the SDK throws)."""
    out = reserves.quote * amount // (reserves.base + amount)
    fee_sum = sum(-(-out * bps // 10_000) for bps in attrs.astuple(fees))
    if fee_sum > out:
        with pytest.raises(ValueError, match="fees exceed"):
            q.quote_amm_sell(amount, reserves, fees)
        return None
    return q.quote_amm_sell(amount, reserves, fees)


RESERVE = st.integers(10**6, 10**18)
BPS = st.integers(0, 300)
FEES = st.builds(Fees, BPS, BPS, BPS)


@FAST
@given(base=RESERVE, quote=RESERVE, fees=FEES, a1=st.integers(0, 10**16), a2=st.integers(0, 10**16))
def test_sell_is_monotonic_and_never_pays_more_than_the_curve(
    base: int, quote: int, fees: Fees, a1: int, a2: int
) -> None:
    reserves = q.PoolReserves(base, quote)
    lo, hi = sorted((a1, a2))
    s_lo, s_hi = _sell_or_none(lo, reserves, fees), _sell_or_none(hi, reserves, fees)
    if s_lo is None or s_hi is None:
        return
    assert s_lo.net <= s_hi.net
    assert s_lo.quote_out <= s_hi.quote_out
    # constant product never shrinks, and the seller gets at most the fee-free output
    after = q.apply_amm_sell(reserves, s_hi)
    assert after.base * after.quote >= base * quote
    assert s_hi.net <= quote * hi // (base + hi)


@FAST
@given(base=RESERVE, quote=RESERVE, fees=FEES, amount=st.integers(1, 10**16))
def test_no_free_money_round_trip(base: int, quote: int, fees: Fees, amount: int) -> None:
    reserves = q.PoolReserves(base, quote)
    if amount >= base:
        with pytest.raises(ValueError, match="cannot buy"):
            q.quote_amm_buy(amount, reserves, fees)
        return
    buy = q.quote_amm_buy(amount, reserves, fees)
    after = q.apply_amm_buy(reserves, buy)
    assert after.base * after.quote >= base * quote
    sell = _sell_or_none(amount, after, fees)
    assert (
        sell is None or sell.net <= buy.total
    )  # buying then selling the same tokens never profits
    # a budget buy never spends more than the budget for what it gets
    got = q.quote_amm_buy_exact_quote_in(buy.total, reserves, fees)
    assert got <= amount
    if got:
        assert q.quote_amm_buy(got, reserves, fees).total <= buy.total


@FAST
@given(base=RESERVE, quote=RESERVE, fees=FEES, a1=st.integers(1, 10**15), a2=st.integers(1, 10**15))
def test_buy_cost_grows_with_amount(base: int, quote: int, fees: Fees, a1: int, a2: int) -> None:
    lo, hi = sorted((a1, a2))
    if hi >= base:
        return
    reserves = q.PoolReserves(base, quote)
    assert q.quote_amm_buy(lo, reserves, fees).total <= q.quote_amm_buy(hi, reserves, fees).total


def test_pool_market_cap() -> None:
    r = q.PoolReserves(206_900_000_000_000, 84_990_359_454)
    assert q.pool_market_cap(r, SUPPLY) == 84_990_359_454 * SUPPLY // 206_900_000_000_000
    assert q.pool_market_cap(q.PoolReserves(10, 10, virtual_quote=10), 100) == 200
    with pytest.raises(ValueError, match="zero"):
        q.pool_market_cap(q.PoolReserves(0, 1), SUPPLY)


def test_canonical_pool_pays_tiers() -> None:
    mint = Pubkey.new_unique()
    assert canonical_pool_pda(mint) != canonical_pool_pda(mint, a.USDC_MINT)
