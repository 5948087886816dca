"""The accounts a fresh simulated chain starts with.

A client reading the simulator should see what it would see on mainnet: the pump Global
account in its newest 1088-byte layout (fee recipients, buyback recipients, the default
initial reserves), the fee program's FeeConfig with the 2025-2026 bonding-curve schedule
(95 bps protocol + 30 bps creator at every market cap), executable program accounts for
the pump, fee, mayhem and Metaplex programs (their code is emulated or absent, but
``getAccountInfo`` finds them), the global volume accumulator, and every fee / buyback
recipient funded at its rent-exempt minimum (a fee smaller than that minimum sent to an
empty account would otherwise break the runtime's rent rule), as is Global's withdraw
authority (it receives what is left of each migration fee). The WSOL native mint, and
PumpSwap's accounts, the USDC mint and the recipients' quote accounts
(:mod:`._amm_genesis`) complete it. Global whitelists USDC as a quote mint.
"""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump._borsh import anchor_discriminator
from trio_trader.pump.accounts import FeeConfig, Fees, FeeTier, Global
from trio_trader.pump.amm.accounts import GlobalConfig

from ._amm_genesis import genesis_global_config, install_amm_genesis, mint_bytes
from ._svm import SvmRunner

__all__ = [
    "GENESIS_CREATOR_FEE_BPS",
    "GENESIS_PROTOCOL_FEE_BPS",
    "UPGRADEABLE_LOADER",
    "genesis_fee_config",
    "genesis_global",
    "install_genesis",
]

UPGRADEABLE_LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
GENESIS_PROTOCOL_FEE_BPS = C.DEFAULT_PROTOCOL_FEE_BPS
GENESIS_CREATOR_FEE_BPS = C.DEFAULT_CREATOR_FEE_BPS
# The sim's stand-in for pump's admin keys (no one holds their secret).
_AUTHORITY = Pubkey.create_with_seed(
    A.SYSTEM_PROGRAM_ID, "trio-trader-sim-admin", A.SYSTEM_PROGRAM_ID
)
_GLOBAL_VOLUME_ACCUMULATOR_SIZE = 8 + 8 * 3 + 32 + 8 * 30 * 2


def genesis_global() -> Global:
    """Global as mainnet had it in 2026, mayhem and cashback coins disabled."""
    return Global(
        initialized=True,
        authority=_AUTHORITY,
        fee_recipient=A.FEE_RECIPIENTS[0],
        initial_virtual_token_reserves=C.INITIAL_RESERVES.virtual_token,
        initial_virtual_sol_reserves=C.INITIAL_RESERVES.virtual_sol,
        initial_real_token_reserves=C.INITIAL_RESERVES.real_token,
        token_total_supply=C.TOKEN_TOTAL_SUPPLY,
        fee_basis_points=GENESIS_PROTOCOL_FEE_BPS,
        withdraw_authority=_AUTHORITY,
        enable_migrate=True,
        pool_migration_fee=15_000_001,
        creator_fee_basis_points=GENESIS_CREATOR_FEE_BPS,
        fee_recipients=tuple(A.FEE_RECIPIENTS[1:8]),
        set_creator_authority=_AUTHORITY,
        admin_set_creator_authority=_AUTHORITY,
        create_v2_enabled=True,
        whitelist_pda=A.ZERO_KEY,
        reserved_fee_recipient=A.RESERVED_FEE_RECIPIENTS[0],
        mayhem_mode_enabled=False,
        reserved_fee_recipients=tuple(A.RESERVED_FEE_RECIPIENTS[1:8]),
        is_cashback_enabled=False,
        buyback_fee_recipients=tuple(A.BUYBACK_FEE_RECIPIENTS[:8]),
        buyback_basis_points=0,
        initial_virtual_quote_reserves=C.INITIAL_RESERVES.virtual_sol,
        whitelisted_quote_mints=(A.USDC_MINT,),  # USDC is whitelisted on mainnet (2026-07)
        creator_fee_configurable=False,
        max_configurable_creator_fee_bps=0,
        holder_reward_claim_authority=A.ZERO_KEY,
        is_holder_reward_enabled=False,
    )


def genesis_fee_config() -> FeeConfig:
    """One flat tier: 0 lp + 95 protocol + 30 creator bps, whatever the market cap."""
    fees = Fees(
        lp_fee_bps=0,
        protocol_fee_bps=GENESIS_PROTOCOL_FEE_BPS,
        creator_fee_bps=GENESIS_CREATOR_FEE_BPS,
    )
    _, bump = Pubkey.find_program_address(
        [b"fee_config", bytes(A.PUMP_PROGRAM_ID)], A.PUMP_FEE_PROGRAM_ID
    )
    return FeeConfig(
        bump=bump,
        admin=_AUTHORITY,
        flat_fees=fees,
        fee_tiers=(FeeTier(market_cap_lamports_threshold=0, fees=fees),),
        stable_fee_tiers=(FeeTier(market_cap_lamports_threshold=0, fees=fees),),
        exotic_flat_fees=fees,
    )


def _program_account(svm: SvmRunner, program: Pubkey) -> Account:
    """An upgradeable-loader ``Program`` account pointing at its programdata PDA."""
    programdata, _ = Pubkey.find_program_address([bytes(program)], UPGRADEABLE_LOADER)
    data = (2).to_bytes(4, "little") + bytes(programdata)
    return Account(
        lamports=svm.rent_exempt(len(data)), data=data, owner=UPGRADEABLE_LOADER, executable=True
    )


def _data_account(svm: SvmRunner, data: bytes, owner: Pubkey) -> Account:
    return Account(lamports=svm.rent_exempt(len(data)), data=data, owner=owner)


def install_genesis(
    svm: SvmRunner,
    global_: Global,
    fee_config: FeeConfig,
    global_config: GlobalConfig | None = None,
) -> None:
    """Write the genesis accounts into ``svm`` (PumpSwap's too: :mod:`._amm_genesis`)."""
    if svm.get(A.WSOL_MINT) is None:  # the native mint exists on every cluster
        native = mint_bytes(None, 0, 9)
        svm.put(A.WSOL_MINT, _data_account(svm, native, A.TOKEN_PROGRAM_ID))
    install_amm_genesis(
        svm,
        global_,
        global_config if global_config is not None else genesis_global_config(),
        _program_account(svm, A.PUMP_AMM_PROGRAM_ID),
    )
    for program in (
        A.PUMP_PROGRAM_ID,
        A.PUMP_FEE_PROGRAM_ID,
        A.MAYHEM_PROGRAM_ID,
        A.METAPLEX_PROGRAM_ID,
    ):
        svm.put(program, _program_account(svm, program))
    svm.put(A.GLOBAL, _data_account(svm, global_.encode(), A.PUMP_PROGRAM_ID))
    svm.put(A.FEE_CONFIG, _data_account(svm, fee_config.encode(), A.PUMP_FEE_PROGRAM_ID))
    gva = anchor_discriminator("account", "GlobalVolumeAccumulator").ljust(
        _GLOBAL_VOLUME_ACCUMULATOR_SIZE, b"\0"
    )
    svm.put(A.GLOBAL_VOLUME_ACCUMULATOR, _data_account(svm, gva, A.PUMP_PROGRAM_ID))
    funded = {
        global_.fee_recipient,
        *(global_.fee_recipients or ()),
        *(r for r in (global_.reserved_fee_recipient,) if r is not None),
        *(global_.reserved_fee_recipients or ()),
        *(global_.buyback_fee_recipients or ()),
        *(r for r in (global_.withdraw_authority,) if r is not None),  # receives migrations'
    }
    for key in sorted(funded, key=bytes):
        if key != A.ZERO_KEY and svm.get(key) is None:
            svm.put(key, Account(lamports=svm.rent_exempt(0), data=b"", owner=A.SYSTEM_PROGRAM_ID))
