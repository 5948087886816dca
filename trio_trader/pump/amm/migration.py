"""How a completed bonding curve becomes its canonical PumpSwap pool (docs/protocol-pumpswap.md §7).

Pure arithmetic for the simulator's emulation of pump's ``migrate`` / ``migrate_v2``
(permissionless, idempotent; pump-public-docs PUMP_PROGRAM_README.md):

* allowed when ``complete`` and ``real_token_reserves == 0`` (else 6006);
* the pool gets every base token the curve's token account still holds (206.9M tokens
  for a default curve: supply − initial real token reserves) and the curve's
  ``real_sol_reserves`` minus ``Global.pool_migration_fee`` (15,000,001 lamports on
  mainnet; it must be below the real reserves, error 6015);
* the pool is the canonical one: index 0, creator = ``["pool-authority", mint]``, quote =
  WSOL for SOL curves; coin creator, mayhem/cashback flags and the creator-fee settings
  are carried over from the curve;
* the LP supply is ``isqrt(base · quote)`` (**inferred**: Uniswap-v2 style, consistent with
  the 4,193,388,284,800 ``lp_supply`` of the example pool in PUMP_SWAP_README.md); the LP
  tokens are burnt, so they never matter to a trader.
"""

from __future__ import annotations

import math

import attrs
from solders.pubkey import Pubkey

from ..accounts import BondingCurve, Global
from ..addresses import TOKEN_PROGRAM_ID, ZERO_KEY, pool_authority_pda
from .accounts import Pool
from .addresses import (
    CANONICAL_POOL_INDEX,
    canonical_pool_quote_mint,
    lp_mint_pda,
    pool_pda_and_bump,
    pool_token_account,
)

__all__ = ["Migration", "pool_from_completed_curve"]


@attrs.frozen
class Migration:
    """The result of migrating one curve.

    ``base_amount`` / ``quote_amount`` / ``pool_migration_fee`` are the
    CompletePumpAmmMigrationEvent's ``mint_amount`` / ``sol_amount`` /
    ``pool_migration_fee``; ``curve_after`` is the curve with its reserves zeroed (the SDK
    treats ``virtual_token_reserves == 0`` as migrated).
    """

    pool_address: Pubkey
    pool: Pool
    base_amount: int
    quote_amount: int
    pool_migration_fee: int
    curve_after: BondingCurve


def pool_from_completed_curve(
    *,
    mint: Pubkey,
    curve: BondingCurve,
    global_: Global,
    curve_token_balance: int,
    base_token_program: Pubkey,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
) -> Migration:
    """The pool pump's migrate would create from ``curve``.

    Args:
        curve_token_balance: the base balance of the curve's token account
            (``associated_bonding_curve``), all of which moves to the pool.
        base_token_program / quote_token_program: owners of the two mints (the pool's
            vaults are their ATAs of the pool).

    Raises:
        ValueError: the curve is not complete, has tokens left to sell, the migration fee
            is unset or not below the real quote reserves, or the token balance is not
            positive.
    """
    if not curve.complete or curve.real_token_reserves != 0:
        raise ValueError("bonding curve is not complete (6006 BondingCurveNotComplete)")
    fee = global_.pool_migration_fee
    if fee is None:
        raise ValueError("Global has no pool_migration_fee (pre-2025 layout)")
    if fee >= curve.real_sol_reserves:
        raise ValueError(
            f"pool_migration_fee {fee} is not below real reserves {curve.real_sol_reserves} "
            "(6015 PoolMigrationFeeShouldBeLessThanFinalRealSolReserves)"
        )
    if curve_token_balance <= 0:
        raise ValueError(f"curve token balance {curve_token_balance} is not positive")
    quote_amount = curve.real_sol_reserves - fee
    quote_mint = canonical_pool_quote_mint(curve.quote_mint)
    authority = pool_authority_pda(mint)
    address, bump = pool_pda_and_bump(CANONICAL_POOL_INDEX, authority, mint, quote_mint)
    pool = Pool(
        pool_bump=bump,
        index=CANONICAL_POOL_INDEX,
        creator=authority,
        base_mint=mint,
        quote_mint=quote_mint,
        lp_mint=lp_mint_pda(address),
        pool_base_token_account=pool_token_account(address, mint, base_token_program),
        pool_quote_token_account=pool_token_account(address, quote_mint, quote_token_program),
        lp_supply=math.isqrt(curve_token_balance * quote_amount),
        coin_creator=curve.creator or ZERO_KEY,
        is_mayhem_mode=bool(curve.is_mayhem_mode),
        is_cashback_coin=bool(curve.is_cashback_coin),
        virtual_quote_reserves=0,
        creator_fee_bps=curve.creator_fee_bps or 0,
        can_edit_creator_fee=bool(curve.can_edit_creator_fee),
        is_holder_reward=bool(curve.is_holder_reward),
    )
    after = attrs.evolve(
        curve,
        virtual_token_reserves=0,
        virtual_sol_reserves=0,
        real_token_reserves=0,
        real_sol_reserves=0,
    )
    return Migration(address, pool, curve_token_balance, quote_amount, fee, after)
