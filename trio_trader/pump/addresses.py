"""Program ids, fixed accounts and every PDA the pump program uses (PROTOCOL.md §1-2).

The fixed addresses are written out, not derived at import time, so that a test can
derive each one from its seeds and compare: a typo in a seed or an address then fails
a test instead of sending money to the wrong account. PDA helpers are cached because a
buy derives the same five or six addresses every time and ``find_program_address`` may
hash up to 255 times.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from solders.pubkey import Pubkey

__all__ = [
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "BUYBACK_FEE_RECIPIENTS",
    "COMPUTE_BUDGET_PROGRAM_ID",
    "EVENT_AUTHORITY",
    "FEE_CONFIG",
    "FEE_RECIPIENTS",
    "GLOBAL",
    "GLOBAL_VOLUME_ACCUMULATOR",
    "MAYHEM_GLOBAL_PARAMS",
    "MAYHEM_PROGRAM_ID",
    "MAYHEM_SOL_VAULT",
    "METAPLEX_PROGRAM_ID",
    "MINT_AUTHORITY",
    "PUMP_AMM_PROGRAM_ID",
    "PUMP_FEE_PROGRAM_ID",
    "PUMP_PROGRAM_ID",
    "RENT_SYSVAR_ID",
    "RESERVED_FEE_RECIPIENTS",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "USDC_MINT",
    "WSOL_MINT",
    "ZERO_KEY",
    "associated_bonding_curve",
    "associated_token_address",
    "bonding_curve_pda",
    "bonding_curve_v2_pda",
    "creator_vault_pda",
    "event_authority_pda",
    "fee_config_pda",
    "global_pda",
    "global_volume_accumulator_pda",
    "holder_rewards_pda",
    "is_bonding_curve_of",
    "mayhem_global_params_pda",
    "mayhem_sol_vault_pda",
    "mayhem_state_pda",
    "mayhem_token_vault",
    "metadata_pda",
    "mint_authority_pda",
    "normalize_quote_mint",
    "pool_authority_pda",
    "quote_control_pda",
    "sharing_config_pda",
    "user_volume_accumulator_pda",
]

_pk = Pubkey.from_string

PUMP_PROGRAM_ID = _pk("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
PUMP_FEE_PROGRAM_ID = _pk("pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ")
PUMP_AMM_PROGRAM_ID = _pk("pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA")
MAYHEM_PROGRAM_ID = _pk("MAyhSmzXzV1pTf7LsNkrNwkWKTo4ougAJ1PPg47MD4e")
TOKEN_PROGRAM_ID = _pk("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = _pk("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = _pk("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM_ID = _pk("11111111111111111111111111111111")
COMPUTE_BUDGET_PROGRAM_ID = _pk("ComputeBudget111111111111111111111111111111")
RENT_SYSVAR_ID = _pk("SysvarRent111111111111111111111111111111111")
METAPLEX_PROGRAM_ID = _pk("metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s")
WSOL_MINT = _pk("So11111111111111111111111111111111111111112")
USDC_MINT = _pk("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
ZERO_KEY = Pubkey.default()

GLOBAL = _pk("4wTV1YmiEkRvAtNtsSGPtUrqRYQMe5SKy2uB4Jjaxnjf")
EVENT_AUTHORITY = _pk("Ce6TQqeHC9p8KetsN6JsjHK7UTZk7nasjjnr7XxXp9F1")
MINT_AUTHORITY = _pk("TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM")
GLOBAL_VOLUME_ACCUMULATOR = _pk("Hq2wp8uJ9jCPsYgNHex8RtqdvMPfVGoYwjvF1ATiwn2Y")
FEE_CONFIG = _pk("8Wf5TiAheLUqBrKXeYg2JtAFFMWtKdG2BSFgqUcPVwTt")
MAYHEM_GLOBAL_PARAMS = _pk("13ec7XdrjF3h3YcqBTFDSReRcUFwbCnJaAQspM4j6DDJ")
MAYHEM_SOL_VAULT = _pk("BwWK17cbHxwWBKZkUYvzxLcNQ1YVyaFezduWbtm2de6s")

# Global.fee_recipient first, then Global.fee_recipients[7] (docs/FEE_RECIPIENTS.md).
FEE_RECIPIENTS: tuple[Pubkey, ...] = tuple(
    _pk(s)
    for s in (
        "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV",
        "7VtfL8fvgNfhz17qKRMjzQEXgbdpnHHHQRh54R9jP2RJ",
        "7hTckgnGnLQR6sdH7YkqFTAA7VwTfYFaZ6EhEsU3saCX",
        "9rPYyANsfQZw3DnDmKE3YCQF5E8oD89UXoHn9JFEhJUz",
        "AVmoTthdrX6tKt4nDjco2D775W2YK3sDhxPcMmzUAmTY",
        "CebN5WGQ4jvEPvsVU4EoHEpgzq1VV7AbicfhtW4xC9iM",
        "FWsW1xNtWscwNmKv6wVsU1iTzRN6wmmk3MjxRP5tT7hz",
        "G5UZAVbAf46s7cKWoyKu8kYTip9DGTpbLZ2qa9Aq69dP",
    )
)
# Mayhem coins must pay one of these: Global.reserved_fee_recipient + reserved_fee_recipients[7].
RESERVED_FEE_RECIPIENTS: tuple[Pubkey, ...] = tuple(
    _pk(s)
    for s in (
        "GesfTA3X2arioaHp8bbKdjG9vJtskViWACZoYvxp4twS",
        "4budycTjhs9fD6xw62VBducVTNgMgJJ5BgtKq7mAZwn6",
        "8SBKzEQU4nLSzcwF4a74F2iaUDQyTfjGndn6qUWBnrpR",
        "4UQeTP1T39KZ9Sfxzo3WR5skgsaP6NZa87BAkuazLEKH",
        "8sNeir4QsLsJdYpc9RZacohhK1Y5FLU3nC5LXgYB4aa6",
        "Fh9HmeLNUMVCvejxCtCL2DbYaRyBFVJ5xrWkLnMH6fdk",
        "463MEnMeGyJekNZFQSTUABBEbLnvMTALbT6ZmsxAbAdq",
        "6AUH3WEHucYZyC61hqpqYUWVto5qA5hjHuNQ32GNnNxA",
    )
)
# Global.buyback_fee_recipients[8]; the last account of every legacy buy/sell since 2026-04-28.
BUYBACK_FEE_RECIPIENTS: tuple[Pubkey, ...] = tuple(
    _pk(s)
    for s in (
        "5YxQFdt3Tr9zJLvkFccqXVUwhdTWJQc1fFg2YPbxvxeD",
        "9M4giFFMxmFGXtc3feFzRai56WbBqehoSeRE5GK7gf7",
        "GXPFM2caqTtQYC2cJ5yJRi9VDkpsYZXzYdwYpGnLmtDL",
        "3BpXnfJaUTiwXnJNe7Ej1rcbzqTTQUvLShZaWazebsVR",
        "5cjcW9wExnJJiqgLjq7DEG75Pm6JBgE1hNv4B2vHXUW6",
        "EHAAiTxcdDwQ3U4bU6YcMsQGaekdzLS3B5SmYo46kJtL",
        "5eHhjP8JaYkz83CWwvGU2uMUXefd3AazWGx4gpcuEEYD",
        "A7hAgCzFw14fejgCp387JUJRMNyz4j89JKnhtKU8piqW",
    )
)


@lru_cache(maxsize=4096)
def _pda(program: Pubkey, *seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), program)[0]


def bonding_curve_pda(mint: Pubkey) -> Pubkey:
    """The curve account: ``["bonding-curve", mint]``."""
    return _pda(PUMP_PROGRAM_ID, b"bonding-curve", bytes(mint))


def _plain_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (``_sha256``; ``_sha2`` from 3.12), else hashlib's.

    Why not hashlib's: its OpenSSL EVP path (context, provider lookup) is what a cold call
    pays for; measured cold, the curve check with it cost as much as the PDA it replaces,
    with the built-in one about a third less (``docs/benchmarks.md``, "pdasign")."""
    for name in ("_sha256", "_sha2"):
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    return hashlib.sha256


_sha256 = _plain_sha256()

#: what ``create_program_address`` hashes after a curve's seeds: the bump, the program id
#: and the marker, one per bump from 255 down (the order ``find_program_address`` tries)
_CURVE_TAILS = tuple(
    bytes((bump,)) + bytes(PUMP_PROGRAM_ID) + b"ProgramDerivedAddress"
    for bump in range(255, -1, -1)
)


def is_bonding_curve_of(curve: Pubkey, mint: Pubkey) -> bool:
    """``curve`` is ``["bonding-curve", mint]``'s address at some bump (hashes only).

    Checks what a ``CreateEvent`` names without deriving the PDA: ``find_program_address``
    spends ~98 k instructions on its off-curve checks, this ~2 SHA-256s on average (the
    canonical bump is 255 for half of all mints, 254 for a quarter, …; a mismatch costs
    256). Bytes read at a wrong offset, another account or another mint's curve fail. It
    does not tell the canonical bump from a lower one (that needs the off-curve check); no
    account exists at a lower bump's address, and only the pump program writes the event.
    """
    target = bytes(curve)
    prefix = b"bonding-curve" + bytes(mint)
    for tail in _CURVE_TAILS:  # noqa: SIM110 (any()'s generator costs a third more)
        if _sha256(prefix + tail).digest() == target:
            return True
    return False


def bonding_curve_v2_pda(mint: Pubkey) -> Pubkey:
    """``["bonding-curve-v2", mint]``: a read-only remaining account of buy/sell since 2026-04."""
    return _pda(PUMP_PROGRAM_ID, b"bonding-curve-v2", bytes(mint))


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The ATA of ``owner`` for ``mint``; ``token_program`` must be the mint's own program."""
    return _pda(ASSOCIATED_TOKEN_PROGRAM_ID, bytes(owner), bytes(token_program), bytes(mint))


def associated_bonding_curve(mint: Pubkey, token_program: Pubkey) -> Pubkey:
    """The curve's token account: ATA(bonding_curve, token_program, mint)."""
    return associated_token_address(bonding_curve_pda(mint), mint, token_program)


def creator_vault_pda(creator: Pubkey) -> Pubkey:
    """``["creator-vault", bonding_curve.creator]``: where buys and sells pay the creator fee."""
    return _pda(PUMP_PROGRAM_ID, b"creator-vault", bytes(creator))


def user_volume_accumulator_pda(user: Pubkey) -> Pubkey:
    """``["user_volume_accumulator", user]`` under the pump program."""
    return _pda(PUMP_PROGRAM_ID, b"user_volume_accumulator", bytes(user))


def global_pda() -> Pubkey:
    """``["global"]``; equals :data:`GLOBAL`."""
    return _pda(PUMP_PROGRAM_ID, b"global")


def event_authority_pda() -> Pubkey:
    """``["__event_authority"]`` (Anchor ``#[event_cpi]``); equals :data:`EVENT_AUTHORITY`."""
    return _pda(PUMP_PROGRAM_ID, b"__event_authority")


def mint_authority_pda() -> Pubkey:
    """``["mint-authority"]``; equals :data:`MINT_AUTHORITY`."""
    return _pda(PUMP_PROGRAM_ID, b"mint-authority")


def global_volume_accumulator_pda() -> Pubkey:
    """``["global_volume_accumulator"]``; equals :data:`GLOBAL_VOLUME_ACCUMULATOR`."""
    return _pda(PUMP_PROGRAM_ID, b"global_volume_accumulator")


def fee_config_pda() -> Pubkey:
    """``["fee_config", pump program id]`` under the fee program; equals :data:`FEE_CONFIG`."""
    return _pda(PUMP_FEE_PROGRAM_ID, b"fee_config", bytes(PUMP_PROGRAM_ID))


def sharing_config_pda(mint: Pubkey) -> Pubkey:
    """``["sharing-config", mint]`` under the fee program."""
    return _pda(PUMP_FEE_PROGRAM_ID, b"sharing-config", bytes(mint))


def metadata_pda(mint: Pubkey) -> Pubkey:
    """Metaplex metadata of a legacy ``create`` coin: ``["metadata", metaplex id, mint]``."""
    return _pda(METAPLEX_PROGRAM_ID, b"metadata", bytes(METAPLEX_PROGRAM_ID), bytes(mint))


def mayhem_global_params_pda() -> Pubkey:
    """``["global-params"]`` under the mayhem program; equals :data:`MAYHEM_GLOBAL_PARAMS`."""
    return _pda(MAYHEM_PROGRAM_ID, b"global-params")


def mayhem_sol_vault_pda() -> Pubkey:
    """``["sol-vault"]`` under the mayhem program; equals :data:`MAYHEM_SOL_VAULT`."""
    return _pda(MAYHEM_PROGRAM_ID, b"sol-vault")


def mayhem_state_pda(mint: Pubkey) -> Pubkey:
    """``["mayhem-state", mint]`` under the mayhem program (an account of every ``create_v2``)."""
    return _pda(MAYHEM_PROGRAM_ID, b"mayhem-state", bytes(mint))


def mayhem_token_vault(mint: Pubkey) -> Pubkey:
    """ATA(sol_vault, Token-2022, mint)."""
    return associated_token_address(MAYHEM_SOL_VAULT, mint, TOKEN_2022_PROGRAM_ID)


def holder_rewards_pda(mint: Pubkey) -> Pubkey:
    """``["holder-rewards", mint]``: the creator of a holder-reward coin."""
    return _pda(PUMP_PROGRAM_ID, b"holder-rewards", bytes(mint))


def quote_control_pda() -> Pubkey:
    """``["quote-control"]``: whitelisted quote mints for non-SOL curves."""
    return _pda(PUMP_PROGRAM_ID, b"quote-control")


def pool_authority_pda(mint: Pubkey) -> Pubkey:
    """``["pool-authority", mint]``: creator of the coin's canonical PumpSwap pool (migration)."""
    return _pda(PUMP_PROGRAM_ID, b"pool-authority", bytes(mint))


def normalize_quote_mint(quote_mint: Pubkey | None) -> Pubkey:
    """The mint the v2 instructions and the canonical pool use for a curve's ``quote_mint``.

    SOL curves store the zero key (or predate the field: ``None``); the v2 instructions and
    the pool they graduate into name wrapped SOL instead (SDK 2.0.0 ``normalizeQuoteMint``).
    """
    if quote_mint is None or quote_mint == ZERO_KEY:
        return WSOL_MINT
    return quote_mint
