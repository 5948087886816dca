"""pool_from_completed_curve: what pump's migrate moves into the canonical pool."""

from __future__ import annotations

import math

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import pk, vectors
from trio_trader.pump import addresses as a
from trio_trader.pump import curve as c
from trio_trader.pump.accounts import BondingCurve, Fees, Global
from trio_trader.pump.amm import addresses as x
from trio_trader.pump.amm import quote as q
from trio_trader.pump.amm.accounts import Pool
from trio_trader.pump.amm.migration import pool_from_completed_curve

SUPPLY = 10**15
LEFT_IN_CURVE = SUPPLY - 793_100_000_000_000  # 206.9M tokens never sold by the curve


def _global(fee: int | None = 15_000_001) -> Global:
    return Global(
        initialized=True,
        authority=Pubkey.new_unique(),
        fee_recipient=a.FEE_RECIPIENTS[0],
        initial_virtual_token_reserves=1_073_000_000_000_000,
        initial_virtual_sol_reserves=30_000_000_000,
        initial_real_token_reserves=793_100_000_000_000,
        token_total_supply=SUPPLY,
        fee_basis_points=95,
        withdraw_authority=Pubkey.new_unique(),
        enable_migrate=True,
        pool_migration_fee=fee,
    )


def _completed(real_sol: int, creator: Pubkey, **kw: object) -> BondingCurve:
    values: dict[str, object] = {
        "virtual_token_reserves": 279_900_000_000_000,
        "virtual_sol_reserves": 30_000_000_000 + real_sol,
        "real_token_reserves": 0,
        "real_sol_reserves": real_sol,
        "token_total_supply": SUPPLY,
        "complete": True,
        "creator": creator,
        "is_mayhem_mode": False,
        "is_cashback_coin": False,
        "quote_mint": a.ZERO_KEY,
        "creator_fee_bps": 0,
        "can_edit_creator_fee": False,
        "is_holder_reward": False,
    }
    return BondingCurve(**(values | kw))


def test_sol_curve_migrates_into_the_canonical_wsol_pool() -> None:
    v = vectors()["pdas"][0]
    mint, creator = pk(v["mint"]), Pubkey.new_unique()
    curve = _completed(85_005_359_455, creator)
    m = pool_from_completed_curve(
        mint=mint,
        curve=curve,
        global_=_global(),
        curve_token_balance=LEFT_IN_CURVE,
        base_token_program=a.TOKEN_2022_PROGRAM_ID,
    )
    # the same numbers a 2026 CompletePumpAmmMigrationEvent carried (docs §7)
    assert (m.base_amount, m.quote_amount, m.pool_migration_fee) == (
        206_900_000_000_000,
        84_990_359_454,
        15_000_001,
    )
    assert m.pool_address == pk(v["canonical_pool_wsol"])  # the SDK's derivation
    p = m.pool
    assert p.creator == pk(v["pool_authority"])
    assert (p.index, p.base_mint, p.quote_mint) == (0, mint, a.WSOL_MINT)
    assert p.lp_mint == pk(v["lp_mint"])
    assert p.pool_base_token_account == x.pool_token_account(
        m.pool_address, mint, a.TOKEN_2022_PROGRAM_ID
    )
    assert p.pool_quote_token_account == x.pool_token_account(
        m.pool_address, a.WSOL_MINT, a.TOKEN_PROGRAM_ID
    )
    assert p.coin_creator == creator
    assert p.has_coin_creator
    assert p.lp_supply == math.isqrt(206_900_000_000_000 * 84_990_359_454)
    assert (
        Pubkey.create_program_address(
            [
                b"pool",
                bytes(2),
                bytes(p.creator),
                bytes(mint),
                bytes(a.WSOL_MINT),
                bytes([p.pool_bump]),
            ],
            a.PUMP_AMM_PROGRAM_ID,
        )
        == m.pool_address
    )
    assert Pool.decode(p.encode()) == p
    after = m.curve_after
    assert after.complete
    assert (after.virtual_token_reserves, after.virtual_sol_reserves) == (0, 0)
    assert (after.real_token_reserves, after.real_sol_reserves) == (0, 0)
    assert after.creator == creator


def test_flags_and_quote_mint_carry_over() -> None:
    mint, creator = Pubkey.new_unique(), a.holder_rewards_pda(Pubkey.new_unique())
    curve = _completed(
        1_000_000_000,
        creator,
        quote_mint=a.USDC_MINT,
        is_mayhem_mode=True,
        is_cashback_coin=True,
        creator_fee_bps=50,
        can_edit_creator_fee=True,
        is_holder_reward=True,
    )
    m = pool_from_completed_curve(
        mint=mint,
        curve=curve,
        global_=_global(),
        curve_token_balance=10**14,
        base_token_program=a.TOKEN_2022_PROGRAM_ID,
    )
    assert m.pool_address == x.canonical_pool_pda(mint, a.USDC_MINT)
    assert m.pool.quote_mint == a.USDC_MINT
    assert m.quote_amount == 1_000_000_000 - 15_000_001
    p = m.pool
    assert (p.is_mayhem_mode, p.is_cashback_coin, p.is_holder_reward) == (True, True, True)
    assert (p.creator_fee_bps, p.can_edit_creator_fee) == (50, True)
    assert p.coin_creator == creator


def test_a_bought_out_curve_prices_the_same_on_the_pool() -> None:
    """Buy a fresh curve out with the curve math, migrate, and compare prices."""
    reserves = c.INITIAL_RESERVES
    rates = c.FeeRates(95, 30)
    while reserves.real_token:
        quote = c.quote_buy(min(reserves.real_token, 50_000_000_000_000), reserves, rates)
        reserves = c.apply_buy(reserves, quote)
    curve = _completed(reserves.real_sol, Pubkey.new_unique())
    assert reserves.virtual_token == curve.virtual_token_reserves
    m = pool_from_completed_curve(
        mint=Pubkey.new_unique(),
        curve=curve,
        global_=_global(),
        curve_token_balance=LEFT_IN_CURVE,
        base_token_program=a.TOKEN_PROGRAM_ID,
    )
    pool_price = m.quote_amount / m.base_amount
    curve_price = reserves.virtual_sol / reserves.virtual_token
    assert abs(pool_price / curve_price - 1) < 0.001
    # and a holder can sell there at once: the fee tier is the first one (market cap < 420 SOL)
    pool_reserves = q.PoolReserves(m.base_amount, m.quote_amount)
    assert q.pool_market_cap(pool_reserves, SUPPLY) < 420_000_000_000
    sale = q.quote_amm_sell(10**12, pool_reserves, Fees(2, 93, 30))
    assert sale.net > 0


@pytest.mark.parametrize(
    ("curve_kw", "global_fee", "balance", "match"),
    [
        ({"complete": False}, 15_000_001, LEFT_IN_CURVE, "6006"),
        ({"real_token_reserves": 1}, 15_000_001, LEFT_IN_CURVE, "6006"),
        ({}, 85_005_359_455, LEFT_IN_CURVE, "6015"),
        ({}, None, LEFT_IN_CURVE, "pool_migration_fee"),
        ({}, 15_000_001, 0, "balance"),
    ],
)
def test_refuses_what_the_program_refuses(
    curve_kw: dict[str, object], global_fee: int | None, balance: int, match: str
) -> None:
    curve = attrs.evolve(_completed(85_005_359_455, Pubkey.new_unique()), **curve_kw)
    with pytest.raises(ValueError, match=match):
        pool_from_completed_curve(
            mint=Pubkey.new_unique(),
            curve=curve,
            global_=_global(global_fee),
            curve_token_balance=balance,
            base_token_program=a.TOKEN_PROGRAM_ID,
        )
