"""Genesis accounts for PumpSwap and quote mints: what a client finds on mainnet.

* the PumpSwap program account, its ``GlobalConfig`` (``ADyA8h…``; fallback rates
  20 lp / 5 protocol / 5 creator bps as the 2025 docs give them, protocol fee recipients =
  pump's eight fee recipients — the 2025-04 PumpSwap doc lists the same ``62qc…``,
  ``7Vtf…`` … keys —, the eight buyback recipients, buyback 0 bps), its global volume
  accumulator and the **real mainnet AMM FeeConfig bytes** (2026-09-08 capture), so a
  fresh pool pays the first tier: lp 2 / protocol 93 / creator 30 bps;
* a USDC mint at USDC's mainnet address (SPL Token, 6 decimals), whose mint authority is a
  sim key (:data:`QUOTE_FAUCET`) so tests and the market can hand out USDC;
* the WSOL and USDC token accounts (ATAs) of every pump fee recipient and buyback
  recipient, which PumpSwap trades and ``*_v2`` trades quoted in USDC pay fees into
  (they exist on mainnet; a transfer into a missing token account would fail).

Token accounts and mints are written as the SPL Token program's own bytes (165 / 82
bytes), exactly what ``InitializeAccount3`` / ``InitializeMint2`` would leave.
"""

from __future__ import annotations

import base64

from solders.account import Account
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump._borsh import anchor_discriminator
from trio_trader.pump.accounts import FeeConfig, Global
from trio_trader.pump.amm import addresses as AA
from trio_trader.pump.amm.accounts import GlobalConfig

from ._amm_fee_config_data import AMM_FEE_CONFIG_MAINNET_2026_09_08_B64
from ._svm import SvmRunner
from ._tokens import MINT_SIZE

__all__ = [
    "QUOTE_FAUCET",
    "QUOTE_MINT_DECIMALS",
    "TOKEN_ACCOUNT_SIZE",
    "amm_fee_config",
    "genesis_global_config",
    "install_amm_genesis",
    "mint_bytes",
    "token_account_bytes",
]

TOKEN_ACCOUNT_SIZE = 165
QUOTE_MINT_DECIMALS = 6  # USDC
#: mint authority of the sim's USDC; nobody holds its secret (the ledger signs for it)
QUOTE_FAUCET = Pubkey.create_with_seed(
    A.SYSTEM_PROGRAM_ID, "trio-trader-sim-quote-faucet", A.SYSTEM_PROGRAM_ID
)
_ADMIN = Pubkey.create_with_seed(A.SYSTEM_PROGRAM_ID, "trio-trader-sim-admin", A.SYSTEM_PROGRAM_ID)
_GLOBAL_VOLUME_ACCUMULATOR_SIZE = 8 + 8 * 3 + 32 + 8 * 30 * 2


def genesis_global_config() -> GlobalConfig:
    """PumpSwap's GlobalConfig in its newest (949-byte) layout, trading enabled."""
    return GlobalConfig(
        admin=_ADMIN,
        lp_fee_basis_points=20,
        protocol_fee_basis_points=5,
        disable_flags=0,
        protocol_fee_recipients=tuple(A.FEE_RECIPIENTS[:8]),
        coin_creator_fee_basis_points=5,
        admin_set_coin_creator_authority=_ADMIN,
        whitelist_pda=A.ZERO_KEY,
        reserved_fee_recipient=A.RESERVED_FEE_RECIPIENTS[0],
        mayhem_mode_enabled=False,
        reserved_fee_recipients=tuple(A.RESERVED_FEE_RECIPIENTS[1:8]),
        is_cashback_enabled=False,
        buyback_fee_recipients=tuple(A.BUYBACK_FEE_RECIPIENTS[:8]),
        buyback_basis_points=0,
        boost_authority=A.ZERO_KEY,
        boost_enabled=False,
        creator_fee_configurable=False,
        max_configurable_creator_fee_bps=0,
    )


def amm_fee_config() -> FeeConfig:
    """The mainnet AMM FeeConfig of 2026-09-08, decoded."""
    return FeeConfig.decode(base64.b64decode(AMM_FEE_CONFIG_MAINNET_2026_09_08_B64))


def mint_bytes(authority: Pubkey | None, supply: int, decimals: int) -> bytes:
    """An initialized SPL mint (82 bytes), no freeze authority."""
    auth = (1).to_bytes(4, "little") + bytes(authority) if authority else bytes(36)
    return auth + supply.to_bytes(8, "little") + bytes([decimals, 1]) + bytes(36)


def token_account_bytes(
    mint: Pubkey, owner: Pubkey, amount: int, *, native_reserve: int | None = None
) -> bytes:
    """An initialized SPL token account (165 bytes); ``native_reserve`` for WSOL."""
    native = (
        bytes(12)
        if native_reserve is None
        else (1).to_bytes(4, "little") + native_reserve.to_bytes(8, "little")
    )
    return (
        bytes(mint)
        + bytes(owner)
        + amount.to_bytes(8, "little")
        + bytes(36)  # no delegate
        + bytes([1])  # AccountState::Initialized
        + native
        + bytes(8)  # delegated_amount
        + bytes(36)  # no close authority
    )


def _put_token_account(svm: SvmRunner, owner: Pubkey, mint: Pubkey) -> None:
    key = A.associated_token_address(owner, mint, A.TOKEN_PROGRAM_ID)
    if svm.get(key) is not None:
        return
    rent = svm.rent_exempt(TOKEN_ACCOUNT_SIZE)
    native = rent if mint == A.WSOL_MINT else None
    data = token_account_bytes(mint, owner, 0, native_reserve=native)
    svm.put(key, Account(lamports=rent, data=data, owner=A.TOKEN_PROGRAM_ID))


def _data_account(svm: SvmRunner, data: bytes, owner: Pubkey) -> Account:
    return Account(lamports=svm.rent_exempt(len(data)), data=data, owner=owner)


def install_amm_genesis(
    svm: SvmRunner, global_: Global, global_config: GlobalConfig, program: Account
) -> None:
    """Write PumpSwap's accounts, the USDC mint and the fee recipients' quote accounts."""
    svm.put(A.PUMP_AMM_PROGRAM_ID, program)
    svm.put(AA.GLOBAL_CONFIG, _data_account(svm, global_config.encode(), A.PUMP_AMM_PROGRAM_ID))
    fee_config = base64.b64decode(AMM_FEE_CONFIG_MAINNET_2026_09_08_B64)
    svm.put(AA.AMM_FEE_CONFIG, _data_account(svm, fee_config, A.PUMP_FEE_PROGRAM_ID))
    gva = anchor_discriminator("account", "GlobalVolumeAccumulator").ljust(
        _GLOBAL_VOLUME_ACCUMULATOR_SIZE, b"\0"
    )
    svm.put(AA.AMM_GLOBAL_VOLUME_ACCUMULATOR, _data_account(svm, gva, A.PUMP_AMM_PROGRAM_ID))
    if svm.get(A.USDC_MINT) is None:
        usdc = mint_bytes(QUOTE_FAUCET, 0, QUOTE_MINT_DECIMALS)
        assert len(usdc) == MINT_SIZE
        svm.put(A.USDC_MINT, _data_account(svm, usdc, A.TOKEN_PROGRAM_ID))
    recipients = {
        global_.fee_recipient,
        *(global_.fee_recipients or ()),
        *(global_.buyback_fee_recipients or ()),
        *global_config.protocol_fee_recipients,
        *(global_config.buyback_fee_recipients or ()),
    }
    for owner in sorted(recipients, key=bytes):
        if owner == A.ZERO_KEY:
            continue
        for mint in (A.WSOL_MINT, A.USDC_MINT):
            _put_token_account(svm, owner, mint)
