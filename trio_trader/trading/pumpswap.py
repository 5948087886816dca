"""Selling a graduated coin on PumpSwap: the pool read, the quote and the instruction list.

A coin whose bonding curve completed is migrated into its canonical PumpSwap pool (index
0, creator ``["pool-authority", mint]``, quote WSOL for SOL curves); from then on the pump
program refuses every trade of it (6005 ``BondingCurveComplete`` / 6081 already migrated)
and the tokens can only be sold on the pool. This module is the seller's AMM path: pure
builders plus one read (:func:`read_pool`), facts in docs/protocol-pumpswap.md.

The instruction list of a SELL on a WSOL pool follows the swap SDK's ``withWsolAccount``:
create the wallet's WSOL account (idempotent), ``sell`` (the proceeds land there), close
the base token account (optional, its rent comes back), then close the WSOL account to the
wallet, which unwraps the proceeds *and* returns the WSOL account's rent in the same
transaction: the wallet's SOL change is the net proceeds minus the transaction fee, the
same shape as a bonding-curve SELL. Other quote mints (USDC, custom tokens) are neither
wrapped nor closed.
"""

from __future__ import annotations

import attrs
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.types import AccountInfo
from trio_trader.pump import addresses, instructions
from trio_trader.pump.accounts import DecodeError, FeeConfig
from trio_trader.pump.amm import (
    AmmSellQuote,
    GlobalConfig,
    Pool,
    PoolReserves,
    amm_extend_account,
    amm_fee_rates,
    amm_sell,
    pool_needs_extend,
    quote_amm_sell,
)
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.trading.token_info import TokenInfo

#: SPL token account: the amount is the u64 at 64; a mint's supply is the u64 at 36
_TOKEN_AMOUNT_OFFSET = 64
_MINT_SUPPLY_OFFSET = 36


#: PumpSwap error names by code (pump_amm.json IDL of @pump-fun/pump-sdk 2.0.0): a pool
#: SELL's failure is named from these, not from the pump program's table
AMM_ERROR_NAMES: dict[int, str] = {
    6000: "FeeBasisPointsExceedsMaximum",
    6001: "ZeroBaseAmount",
    6002: "ZeroQuoteAmount",
    6003: "TooLittlePoolTokenLiquidity",
    6004: "ExceededSlippage",
    6005: "InvalidAdmin",
    6006: "UnsupportedBaseMint",
    6007: "UnsupportedQuoteMint",
    6008: "InvalidBaseMint",
    6009: "InvalidQuoteMint",
    6010: "InvalidLpMint",
    6011: "AllProtocolFeeRecipientsShouldBeNonZero",
    6012: "UnsortedNotUniqueProtocolFeeRecipients",
    6013: "InvalidProtocolFeeRecipient",
    6014: "InvalidPoolBaseTokenAccount",
    6015: "InvalidPoolQuoteTokenAccount",
    6016: "BuyMoreBaseAmountThanPoolReserves",
    6017: "DisabledCreatePool",
    6018: "DisabledDeposit",
    6019: "DisabledWithdraw",
    6020: "DisabledBuy",
    6021: "DisabledSell",
    6022: "SameMint",
    6023: "Overflow",
    6024: "Truncation",
    6025: "DivisionByZero",
    6026: "NewSizeLessThanCurrentSize",
    6027: "AccountTypeNotSupported",
    6028: "OnlyCanonicalPumpPoolsCanHaveCoinCreator",
    6029: "InvalidAdminSetCoinCreatorAuthority",
    6030: "StartTimeInThePast",
    6031: "EndTimeInThePast",
    6032: "EndTimeBeforeStartTime",
    6033: "TimeRangeTooLarge",
    6034: "EndTimeBeforeCurrentDay",
    6035: "SupplyUpdateForFinishedRange",
    6036: "DayIndexAfterEndIndex",
    6037: "DayInActiveRange",
    6038: "InvalidIncentiveMint",
    6039: "BuyNotEnoughQuoteTokensToCoverFees",
    6040: "BuySlippageBelowMinBaseAmountOut",
    6041: "MayhemModeDisabled",
    6042: "OnlyPumpPoolsMayhemMode",
    6043: "MayhemModeInDesiredState",
    6044: "NotEnoughRemainingAccounts",
    6045: "InvalidSharingConfigBaseMint",
    6046: "InvalidSharingConfigCoinCreator",
    6047: "CoinCreatorMigratedToSharingConfig",
    6048: "CreatorVaultMigratedToSharingConfig",
    6049: "CashbackNotEnabled",
    6050: "OnlyPumpPoolsCashback",
    6051: "CashbackNotInDesiredState",
    6052: "TokensInVaultLessThanCashbackEarned",
    6053: "BuybackFeeRecipientNotAuthorized",
    6054: "AllBuybackFeeRecipientsShouldBeNonZero",
    6055: "NotUniqueBuybackFeeRecipients",
    6056: "BuybackBasisPointsOutOfRange",
    6057: "WrongBuybackFeeRecipientsCount",
    6058: "BuybackFeeRecipientMissing",
    6059: "MissingCashbackAccounts",
    6060: "InvalidCashbackAccumulator",
    6061: "InvalidCashbackAccumulatorAta",
    6062: "InvalidPoolV2",
    6063: "InsufficientRealQuoteReserves",
    6064: "BoostPoolLiquidityUnsupported",
    6065: "PoolCannotBoost",
    6066: "BoostDisabled",
    6067: "SeedLockViolation",
    6068: "CreatorFeeNotConfigurable",
    6069: "CreatorFeeBpsOutOfRange",
    6070: "CreatorFeeNotEditable",
    6071: "CreatorFeeNotAllowedForCashbackCoin",
    6072: "SharingConfigNotActive",
    6073: "NotAuthorized",
    6074: "HolderRewardCreatorImmutable",
    6075: "CtoNotAllowedForMayhemPool",
    6076: "InvalidHolderRewardCoinCreator",
    6077: "CreatorFeeNotConfigurableForQuote",
}


class PoolNotReady(Exception):
    """The curve is complete but its pool cannot be traded yet (not migrated, or unreadable).

    Migration is a separate, permissionless transaction that usually follows completion
    within seconds: the seller's caller waits and tries again rather than giving up.
    """


@attrs.frozen(kw_only=True)
class PoolState:
    """One read of a canonical pool: what a SELL's quote and accounts need."""

    address: Pubkey
    pool: Pool
    reserves: PoolReserves
    base_supply: int
    quote_token_program: Pubkey
    #: the pool account is shorter than the 300 bytes a trade needs (extend it first)
    needs_extend: bool = False


def _u64_at(data: bytes, offset: int, what: str) -> int:
    if len(data) < offset + 8:
        raise PoolNotReady(f"{what}: {len(data)} bytes, too short for a token account/mint")
    return int.from_bytes(data[offset : offset + 8], "little")


async def read_pool(rpc: RpcClient, token_info: TokenInfo) -> PoolState:
    """The token's canonical pool now: two ``getMultipleAccounts`` round trips.

    Raises:
        PoolNotReady: the pool does not exist (yet) or a reply is malformed.
        RpcError: the node could not be asked.
    """
    address = canonical_pool_pda(token_info.mint, token_info.quote_mint)
    (info,) = await rpc.get_multiple_accounts([address])
    if info is None:
        raise PoolNotReady(f"{token_info.display_name}: pool {address} not found (not migrated)")
    try:
        pool = Pool.decode(info.data)
    except DecodeError as exc:
        raise PoolNotReady(f"{token_info.display_name}: unreadable pool: {exc}") from None
    wanted = [
        (pool.pool_base_token_account, "pool base vault"),
        (pool.pool_quote_token_account, "pool quote vault"),
        (pool.base_mint, "base mint"),
        (pool.quote_mint, "quote mint"),
    ]
    infos = await rpc.get_multiple_accounts([key for key, _ in wanted])
    found: list[AccountInfo] = []
    for account, (key, what) in zip(infos, wanted, strict=True):
        if account is None:
            raise PoolNotReady(f"{token_info.display_name}: {what} {key} not found")
        found.append(account)
    base, quote, mint, quote_mint = found
    reserves = PoolReserves(
        base=_u64_at(base.data, _TOKEN_AMOUNT_OFFSET, "pool base vault"),
        quote=_u64_at(quote.data, _TOKEN_AMOUNT_OFFSET, "pool quote vault"),
        virtual_quote=pool.virtual_quote_reserves or 0,
    )
    if reserves.base <= 0 or reserves.quote <= 0:
        raise PoolNotReady(f"{token_info.display_name}: pool {address} is empty")
    return PoolState(
        address=address,
        pool=pool,
        reserves=reserves,
        base_supply=_u64_at(mint.data, _MINT_SUPPLY_OFFSET, "base mint"),
        quote_token_program=quote_mint.owner,
        needs_extend=pool_needs_extend(len(info.data)),
    )


def quote_pool_sell(
    amount: int,
    state: PoolState,
    global_config: GlobalConfig,
    fee_config: FeeConfig | None,
) -> AmmSellQuote:
    """The SELL of ``amount`` tokens at the pool's current balances, its fees deducted.

    Raises:
        PoolNotReady: the pool cannot pay this sell (the quote raised).
    """
    fees = amm_fee_rates(
        state.pool,
        global_config,
        fee_config,
        reserves=state.reserves,
        base_mint_supply=state.base_supply,
    )
    try:
        return quote_amm_sell(amount, state.reserves, fees)
    except ValueError as exc:
        raise PoolNotReady(f"pool {state.address}: {exc}") from None


def pick(choices: tuple[Pubkey, ...], salt: int) -> Pubkey:
    """One of ``choices``, varied by ``salt`` (spreads write locks, stays deterministic)."""
    if not choices:
        raise ValueError("no recipient to choose from")
    return choices[salt % len(choices)]


def is_wsol(mint: Pubkey) -> bool:
    return mint == addresses.WSOL_MINT


@attrs.frozen(kw_only=True)
class AmmSellPlan:
    """The program instructions of one AMM SELL and where the base close sits in them."""

    instructions: list[Instruction]
    #: index of the base token account's close among the program instructions, or None
    close_index: int | None


def amm_sell_instructions(
    *,
    wallet: Pubkey,
    token_info: TokenInfo,
    state: PoolState,
    protocol_fee_recipient: Pubkey,
    buyback_fee_recipient: Pubkey,
    amount: int,
    min_quote_out: int,
    close_token_account: bool,
) -> AmmSellPlan:
    """Program instructions (no compute budget) of a SELL of ``amount`` tokens on the pool.

    Order: [extend the pool if short] · create the quote account (idempotent) · ``sell`` ·
    [close the base token account] · [close the WSOL account: unwrap]. See the module doc.
    """
    pool = state.pool
    quote_tp = state.quote_token_program
    ixs: list[Instruction] = []
    if state.needs_extend:
        ixs.append(amm_extend_account(account=state.address, user=wallet))
    ixs.append(
        instructions.create_associated_token_account_idempotent(
            payer=wallet, owner=wallet, mint=pool.quote_mint, token_program=quote_tp
        )
    )
    ixs.append(
        amm_sell(
            pool_address=state.address,
            pool=pool,
            user=wallet,
            base_token_program=token_info.token_program,
            quote_token_program=quote_tp,
            protocol_fee_recipient=protocol_fee_recipient,
            base_amount_in=amount,
            min_quote_amount_out=min_quote_out,
            buyback_fee_recipient=buyback_fee_recipient,
        )
    )
    close_index = None
    if close_token_account:
        close_index = len(ixs)
        ixs.append(
            instructions.close_account(
                account=addresses.associated_token_address(
                    wallet, token_info.mint, token_info.token_program
                ),
                destination=wallet,
                owner=wallet,
                token_program=token_info.token_program,
            )
        )
    if is_wsol(pool.quote_mint):
        ixs.append(
            instructions.close_account(
                account=addresses.associated_token_address(wallet, pool.quote_mint, quote_tp),
                destination=wallet,
                owner=wallet,
                token_program=quote_tp,
            )
        )
    return AmmSellPlan(instructions=ixs, close_index=close_index)
