"""PumpSwap (pump AMM) ids, fixed accounts and PDAs (docs/protocol-pumpswap.md §1-2).

Seeds come from the ``@pump-fun/pump-swap-sdk`` 1.20.0 ``src/sdk/pda.ts`` and the
``pump_amm.json`` IDL of ``@pump-fun/pump-sdk`` 2.0.0. The fixed addresses are written out
so a test can derive each from its seeds and compare.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from ..addresses import (
    PUMP_AMM_PROGRAM_ID,
    PUMP_FEE_PROGRAM_ID,
    associated_token_address,
    normalize_quote_mint,
    pool_authority_pda,
)
from ..addresses import _pda as _find_pda  # one cached derivation for every program

__all__ = [
    "AMM_EVENT_AUTHORITY",
    "AMM_FEE_CONFIG",
    "AMM_GLOBAL_VOLUME_ACCUMULATOR",
    "CANONICAL_POOL_INDEX",
    "GLOBAL_CONFIG",
    "POOL_MIN_SIZE_FOR_TRADE",
    "amm_event_authority_pda",
    "amm_fee_config_pda",
    "amm_global_volume_accumulator_pda",
    "amm_user_volume_accumulator_pda",
    "canonical_pool_pda",
    "canonical_pool_quote_mint",
    "coin_creator_vault_ata",
    "coin_creator_vault_authority_pda",
    "global_config_pda",
    "is_canonical_pool",
    "lp_mint_pda",
    "pool_pda",
    "pool_pda_and_bump",
    "pool_token_account",
    "pool_v2_pda",
    "quote_ata",
]

_pk = Pubkey.from_string

# ["global_config"] (docs/PUMP_SWAP_README.md names this address).
GLOBAL_CONFIG = _pk("ADyA8hdefvWN2dbGGWFotbzWxrAvLW83WG6QCVXvJKqw")
# ["__event_authority"] under the AMM (seen in the SDK's createPoolGolden.ts).
AMM_EVENT_AUTHORITY = _pk("GS4CU59F31iL7aR2Q8zVS8DRrcRnXX1yjQ66TqNVQnaR")
# ["fee_config", AMM program id] under the fee program (SDK feeConfigMainnetFixture.ts).
AMM_FEE_CONFIG = _pk("5PHirr8joyTMp9JMm6nW7hNDVyEYdkzDqazxPD7RaTjx")
# ["global_volume_accumulator"] under the AMM; checked against its seeds in the tests.
AMM_GLOBAL_VOLUME_ACCUMULATOR = _pk("C2aFPdENg4A2HQsmrd5rTw5TaYBX5Ku887cWjbFKtZpw")

# Pools created by pump's migrate use index 0 (docs/PUMP_SWAP_README.md).
CANONICAL_POOL_INDEX = 0
# A pool shorter than this needs an AMM extend_account before buy/sell
# (docs/PUMP_SWAP_CREATOR_FEE_README.md; SDK POOL_ACCOUNT_NEW_SIZE).
POOL_MIN_SIZE_FOR_TRADE = 300


def _pda(*seeds: bytes) -> Pubkey:
    return _find_pda(PUMP_AMM_PROGRAM_ID, *seeds)


def global_config_pda() -> Pubkey:
    """``["global_config"]``; equals :data:`GLOBAL_CONFIG`."""
    return _pda(b"global_config")


def amm_event_authority_pda() -> Pubkey:
    """``["__event_authority"]`` under the AMM; equals :data:`AMM_EVENT_AUTHORITY`."""
    return _pda(b"__event_authority")


def amm_global_volume_accumulator_pda() -> Pubkey:
    """``["global_volume_accumulator"]`` under the AMM."""
    return _pda(b"global_volume_accumulator")


def amm_user_volume_accumulator_pda(user: Pubkey) -> Pubkey:
    """``["user_volume_accumulator", user]`` under the AMM (not the pump program's)."""
    return _pda(b"user_volume_accumulator", bytes(user))


def amm_fee_config_pda() -> Pubkey:
    """``["fee_config", AMM program id]`` under the fee program; equals :data:`AMM_FEE_CONFIG`."""
    return _find_pda(PUMP_FEE_PROGRAM_ID, b"fee_config", bytes(PUMP_AMM_PROGRAM_ID))


def _pool_seeds(
    index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey
) -> tuple[bytes, ...]:
    if not 0 <= index <= 0xFFFF:
        raise ValueError(f"pool index {index} is not a u16")
    return (
        b"pool",
        index.to_bytes(2, "little"),
        bytes(creator),
        bytes(base_mint),
        bytes(quote_mint),
    )


def pool_pda(index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey) -> Pubkey:
    """``["pool", index u16 LE, creator, base_mint, quote_mint]``.

    Raises:
        ValueError: ``index`` outside u16.
    """
    return _pda(*_pool_seeds(index, creator, base_mint, quote_mint))


def pool_pda_and_bump(
    index: int, creator: Pubkey, base_mint: Pubkey, quote_mint: Pubkey
) -> tuple[Pubkey, int]:
    """:func:`pool_pda` and its bump (``Pool.pool_bump``), for whoever creates the pool.

    Raises:
        ValueError: ``index`` outside u16.
    """
    seeds = _pool_seeds(index, creator, base_mint, quote_mint)
    return Pubkey.find_program_address(list(seeds), PUMP_AMM_PROGRAM_ID)


def canonical_pool_quote_mint(curve_quote_mint: Pubkey | None) -> Pubkey:
    """The quote mint of the pool a curve graduates into: WSOL for SOL curves (zero key).

    The same rule as the v2 instructions' :func:`~trio_trader.pump.addresses.normalize_quote_mint`.
    """
    return normalize_quote_mint(curve_quote_mint)


def canonical_pool_pda(mint: Pubkey, quote_mint: Pubkey | None = None) -> Pubkey:
    """The pool pump's migrate creates: index 0, creator = ``pool_authority_pda(mint)``.

    ``quote_mint`` may be the curve's (zero key for SOL) or the pool's (WSOL): both name the
    same pool (SDK ``canonicalPumpPoolPda``).
    """
    return pool_pda(
        CANONICAL_POOL_INDEX,
        pool_authority_pda(mint),
        mint,
        canonical_pool_quote_mint(quote_mint),
    )


def is_canonical_pool(base_mint: Pubkey, pool_creator: Pubkey) -> bool:
    """A pump pool (fee tiers, coin-creator fee) iff its creator is the pool-authority PDA."""
    return pool_authority_pda(base_mint) == pool_creator


def pool_v2_pda(base_mint: Pubkey) -> Pubkey:
    """``["pool-v2", base_mint]``: a read-only remaining account of buy/sell on pools with a
    coin creator (SDK 1.20.0 ``poolV2Pda``)."""
    return _pda(b"pool-v2", bytes(base_mint))


def lp_mint_pda(pool: Pubkey) -> Pubkey:
    """``["pool_lp_mint", pool]``."""
    return _pda(b"pool_lp_mint", bytes(pool))


def coin_creator_vault_authority_pda(coin_creator: Pubkey) -> Pubkey:
    """``["creator_vault", pool.coin_creator]`` (underscore, unlike pump's "creator-vault")."""
    return _pda(b"creator_vault", bytes(coin_creator))


def quote_ata(owner: Pubkey, quote_mint: Pubkey, quote_token_program: Pubkey) -> Pubkey:
    """ATA(owner, quote_token_program, quote_mint); off-curve owners (PDAs) allowed."""
    return associated_token_address(owner, quote_mint, quote_token_program)


def coin_creator_vault_ata(
    coin_creator: Pubkey, quote_mint: Pubkey, quote_token_program: Pubkey
) -> Pubkey:
    """The coin creator's fee vault: ATA of the vault authority for the quote mint."""
    authority = coin_creator_vault_authority_pda(coin_creator)
    return quote_ata(authority, quote_mint, quote_token_program)


def pool_token_account(pool: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """A pool vault: ATA(pool, token_program, mint) (migrate's account seeds)."""
    return associated_token_address(pool, mint, token_program)
