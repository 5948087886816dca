# ruff: noqa: E501
"""PumpSwap's error codes, from the ``pump_amm.json`` IDL of ``@pump-fun/pump-sdk`` 2.0.0.

An error without a ``msg`` in the IDL is logged with its name as the message, as Anchor
prints a variant that has no ``#[msg]``.
"""

from __future__ import annotations

__all__ = ["AMM_ERRORS"]

AMM_ERRORS: dict[int, tuple[str, str]] = {
    6000: ("FeeBasisPointsExceedsMaximum", "FeeBasisPointsExceedsMaximum"),
    6001: ("ZeroBaseAmount", "ZeroBaseAmount"),
    6002: ("ZeroQuoteAmount", "ZeroQuoteAmount"),
    6003: ("TooLittlePoolTokenLiquidity", "TooLittlePoolTokenLiquidity"),
    6004: ("ExceededSlippage", "ExceededSlippage"),
    6005: ("InvalidAdmin", "InvalidAdmin"),
    6006: ("UnsupportedBaseMint", "UnsupportedBaseMint"),
    6007: ("UnsupportedQuoteMint", "UnsupportedQuoteMint"),
    6008: ("InvalidBaseMint", "InvalidBaseMint"),
    6009: ("InvalidQuoteMint", "InvalidQuoteMint"),
    6010: ("InvalidLpMint", "InvalidLpMint"),
    6011: ("AllProtocolFeeRecipientsShouldBeNonZero", "AllProtocolFeeRecipientsShouldBeNonZero"),
    6012: ("UnsortedNotUniqueProtocolFeeRecipients", "UnsortedNotUniqueProtocolFeeRecipients"),
    6013: ("InvalidProtocolFeeRecipient", "InvalidProtocolFeeRecipient"),
    6014: ("InvalidPoolBaseTokenAccount", "InvalidPoolBaseTokenAccount"),
    6015: ("InvalidPoolQuoteTokenAccount", "InvalidPoolQuoteTokenAccount"),
    6016: ("BuyMoreBaseAmountThanPoolReserves", "BuyMoreBaseAmountThanPoolReserves"),
    6017: ("DisabledCreatePool", "DisabledCreatePool"),
    6018: ("DisabledDeposit", "DisabledDeposit"),
    6019: ("DisabledWithdraw", "DisabledWithdraw"),
    6020: ("DisabledBuy", "DisabledBuy"),
    6021: ("DisabledSell", "DisabledSell"),
    6022: ("SameMint", "SameMint"),
    6023: ("Overflow", "Overflow"),
    6024: ("Truncation", "Truncation"),
    6025: ("DivisionByZero", "DivisionByZero"),
    6026: ("NewSizeLessThanCurrentSize", "NewSizeLessThanCurrentSize"),
    6027: ("AccountTypeNotSupported", "AccountTypeNotSupported"),
    6028: ("OnlyCanonicalPumpPoolsCanHaveCoinCreator", "OnlyCanonicalPumpPoolsCanHaveCoinCreator"),
    6029: ("InvalidAdminSetCoinCreatorAuthority", "InvalidAdminSetCoinCreatorAuthority"),
    6030: ("StartTimeInThePast", "StartTimeInThePast"),
    6031: ("EndTimeInThePast", "EndTimeInThePast"),
    6032: ("EndTimeBeforeStartTime", "EndTimeBeforeStartTime"),
    6033: ("TimeRangeTooLarge", "TimeRangeTooLarge"),
    6034: ("EndTimeBeforeCurrentDay", "EndTimeBeforeCurrentDay"),
    6035: ("SupplyUpdateForFinishedRange", "SupplyUpdateForFinishedRange"),
    6036: ("DayIndexAfterEndIndex", "DayIndexAfterEndIndex"),
    6037: ("DayInActiveRange", "DayInActiveRange"),
    6038: ("InvalidIncentiveMint", "InvalidIncentiveMint"),
    6039: ("BuyNotEnoughQuoteTokensToCoverFees", "buy: Not enough quote tokens to cover for fees."),
    6040: (
        "BuySlippageBelowMinBaseAmountOut",
        "buy: slippage - would buy less tokens than expected min_base_amount_out",
    ),
    6041: ("MayhemModeDisabled", "MayhemModeDisabled"),
    6042: ("OnlyPumpPoolsMayhemMode", "OnlyPumpPoolsMayhemMode"),
    6043: ("MayhemModeInDesiredState", "MayhemModeInDesiredState"),
    6044: ("NotEnoughRemainingAccounts", "NotEnoughRemainingAccounts"),
    6045: ("InvalidSharingConfigBaseMint", "InvalidSharingConfigBaseMint"),
    6046: ("InvalidSharingConfigCoinCreator", "InvalidSharingConfigCoinCreator"),
    6047: (
        "CoinCreatorMigratedToSharingConfig",
        "coin creator has been migrated to sharing config",
    ),
    6048: (
        "CreatorVaultMigratedToSharingConfig",
        "creator_vault has been migrated to sharing config, use pump:distribute_creator_fees instead",
    ),
    6049: ("CashbackNotEnabled", "Cashback is disabled"),
    6050: ("OnlyPumpPoolsCashback", "OnlyPumpPoolsCashback"),
    6051: ("CashbackNotInDesiredState", "CashbackNotInDesiredState"),
    6052: ("TokensInVaultLessThanCashbackEarned", "TokensInVaultLessThanCashbackEarned"),
    6053: ("BuybackFeeRecipientNotAuthorized", "Buyback fee recipient not authorized"),
    6054: ("AllBuybackFeeRecipientsShouldBeNonZero", "AllBuybackFeeRecipientsShouldBeNonZero"),
    6055: ("NotUniqueBuybackFeeRecipients", "NotUniqueBuybackFeeRecipients"),
    6056: ("BuybackBasisPointsOutOfRange", "buyback_basis_points must be <= 10_000"),
    6057: (
        "WrongBuybackFeeRecipientsCount",
        "buyback fee recipients require exactly 8 remaining accounts (or none)",
    ),
    6058: ("BuybackFeeRecipientMissing", "BuybackFeeRecipientMissing"),
    6059: ("MissingCashbackAccounts", "Cashback trade is missing the required remaining accounts"),
    6060: ("InvalidCashbackAccumulator", "Cashback user_volume_accumulator account is invalid"),
    6061: (
        "InvalidCashbackAccumulatorAta",
        "Cashback user_volume_accumulator ATA is missing or invalid",
    ),
    6062: ("InvalidPoolV2", "pool_v2 remaining account is missing or invalid"),
    6063: (
        "InsufficientRealQuoteReserves",
        "BOOST: sell output exceeds the real quote vault. effective = real + virtual is pricing-only; payout is capped at real_vault, so quote min(out, real_vault)",
    ),
    6064: ("BoostPoolLiquidityUnsupported", "BOOST: deposit/withdraw don't apply to boost pools"),
    6065: ("PoolCannotBoost", "BOOST: pool cannot be boosted (no virtual reserves)"),
    6066: ("BoostDisabled", "BOOST: boost is disabled"),
    6067: (
        "SeedLockViolation",
        "BOOST: lp_supply must never drop below the circulating LP mint supply",
    ),
    6068: ("CreatorFeeNotConfigurable", "Configurable creator fee is disabled"),
    6069: (
        "CreatorFeeBpsOutOfRange",
        "Creator fee basis points must be between 1 and the configured maximum",
    ),
    6070: ("CreatorFeeNotEditable", "Creator fee is not editable for this pool"),
    6071: ("CreatorFeeNotAllowedForCashbackCoin", "Cashback coins cannot have a creator fee"),
    6072: ("SharingConfigNotActive", "Sharing config is not active"),
    6073: ("NotAuthorized", "Not authorized"),
    6074: (
        "HolderRewardCreatorImmutable",
        "The coin creator of a holder-reward pool cannot be changed",
    ),
    6075: ("CtoNotAllowedForMayhemPool", "CTO is not allowed on a mayhem-mode pool"),
    6076: (
        "InvalidHolderRewardCoinCreator",
        "A holder-reward pool's coin creator must be the holder-rewards PDA",
    ),
    6077: (
        "CreatorFeeNotConfigurableForQuote",
        "Creator fee is not configurable on a SOL or USDC quote; the fee schedule applies",
    ),
}
