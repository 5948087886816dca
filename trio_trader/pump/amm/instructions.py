"""PumpSwap ``buy`` / ``buy_exact_quote_in`` / ``sell`` / ``extend_account`` builders and
their decoders (docs/protocol-pumpswap.md §4).

Fixed accounts follow the ``pump_amm.json`` IDL of ``@pump-fun/pump-sdk`` 2.0.0; the
remaining accounts follow ``@pump-fun/pump-swap-sdk`` 1.20.0 (``offlinePumpAmm.ts``
``buyInstructionsNoPool`` / ``sellInstructionsNoPool``) and pump-public-docs
``BREAKING_FEE_RECIPIENT.md``, in this order:

1. cashback pools only: the AMM user-volume-accumulator's quote ATA (buy and sell), then
   the accumulator itself (sell only);
2. pools with a coin creator only: ``pool_v2`` (read-only);
3. always: one buyback fee recipient (read-only) and its quote ATA (writable).

The AMM's ``buy``/``sell`` discriminators equal the pump program's, so callers must
dispatch on the program id before decoding.
"""

from __future__ import annotations

import attrs
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from .._account_meta import buyback_or_first
from .._account_meta import r as _r
from .._account_meta import w as _w
from .._account_meta import ws as _ws
from .._borsh import DecodeError, Reader, Writer, anchor_discriminator
from ..addresses import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    PUMP_AMM_PROGRAM_ID,
    PUMP_FEE_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    ZERO_KEY,
    associated_token_address,
)
from .accounts import Pool
from .addresses import (
    AMM_EVENT_AUTHORITY,
    AMM_FEE_CONFIG,
    AMM_GLOBAL_VOLUME_ACCUMULATOR,
    GLOBAL_CONFIG,
    POOL_MIN_SIZE_FOR_TRADE,
    amm_user_volume_accumulator_pda,
    coin_creator_vault_authority_pda,
    pool_v2_pda,
    quote_ata,
)

__all__ = [
    "AMM_BUY_DISCRIMINATOR",
    "AMM_BUY_EXACT_QUOTE_IN_DISCRIMINATOR",
    "AMM_EXTEND_ACCOUNT_DISCRIMINATOR",
    "AMM_SELL_DISCRIMINATOR",
    "AmmArgs",
    "AmmBuyArgs",
    "AmmBuyExactQuoteInArgs",
    "AmmExtendAccountArgs",
    "AmmSellArgs",
    "amm_buy",
    "amm_buy_exact_quote_in",
    "amm_extend_account",
    "amm_sell",
    "decode_amm_instruction",
    "pool_needs_extend",
]

AMM_BUY_DISCRIMINATOR = anchor_discriminator("global", "buy")
AMM_SELL_DISCRIMINATOR = anchor_discriminator("global", "sell")
AMM_BUY_EXACT_QUOTE_IN_DISCRIMINATOR = anchor_discriminator("global", "buy_exact_quote_in")
AMM_EXTEND_ACCOUNT_DISCRIMINATOR = anchor_discriminator("global", "extend_account")


@attrs.frozen
class AmmBuyArgs:
    base_amount_out: int
    max_quote_amount_in: int
    track_volume: bool = False


@attrs.frozen
class AmmBuyExactQuoteInArgs:
    spendable_quote_in: int
    min_base_amount_out: int
    track_volume: bool = False


@attrs.frozen
class AmmSellArgs:
    base_amount_in: int
    min_quote_amount_out: int


@attrs.frozen
class AmmExtendAccountArgs:
    """``extend_account`` has no arguments."""


AmmArgs = AmmBuyArgs | AmmBuyExactQuoteInArgs | AmmSellArgs | AmmExtendAccountArgs


def pool_needs_extend(pool_data_len: int) -> bool:
    """Whether a trade must be preceded by :func:`amm_extend_account` (pool < 300 bytes)."""
    return pool_data_len < POOL_MIN_SIZE_FOR_TRADE


def _coin_creator(pool: Pool) -> Pubkey:
    return pool.coin_creator if pool.coin_creator is not None else ZERO_KEY


def _swap_head(
    *,
    pool_address: Pubkey,
    pool: Pool,
    user: Pubkey,
    base_token_program: Pubkey,
    quote_token_program: Pubkey,
    protocol_fee_recipient: Pubkey,
) -> list[AccountMeta]:
    """Accounts 0-18, shared by buy, buy_exact_quote_in and sell."""
    vault_authority = coin_creator_vault_authority_pda(_coin_creator(pool))
    return [
        _w(pool_address),
        _ws(user),
        _r(GLOBAL_CONFIG),
        _r(pool.base_mint),
        _r(pool.quote_mint),
        _w(associated_token_address(user, pool.base_mint, base_token_program)),
        _w(quote_ata(user, pool.quote_mint, quote_token_program)),
        _w(pool.pool_base_token_account),
        _w(pool.pool_quote_token_account),
        _r(protocol_fee_recipient),
        _w(quote_ata(protocol_fee_recipient, pool.quote_mint, quote_token_program)),
        _r(base_token_program),
        _r(quote_token_program),
        _r(SYSTEM_PROGRAM_ID),
        _r(ASSOCIATED_TOKEN_PROGRAM_ID),
        _r(AMM_EVENT_AUTHORITY),
        _r(PUMP_AMM_PROGRAM_ID),
        _w(quote_ata(vault_authority, pool.quote_mint, quote_token_program)),
        _r(vault_authority),
    ]


def _tail(pool: Pool, quote_token_program: Pubkey, buyback: Pubkey | None) -> list[AccountMeta]:
    """``pool_v2`` (pools with a coin creator), the buyback recipient and its quote ATA."""
    recipient = buyback_or_first(buyback)
    tail = [_r(pool_v2_pda(pool.base_mint))] if pool.has_coin_creator else []
    tail += [_r(recipient), _w(quote_ata(recipient, pool.quote_mint, quote_token_program))]
    return tail


def _buy_accounts(
    pool_address: Pubkey,
    pool: Pool,
    user: Pubkey,
    base_token_program: Pubkey,
    quote_token_program: Pubkey,
    protocol_fee_recipient: Pubkey,
    buyback_fee_recipient: Pubkey | None,
) -> list[AccountMeta]:
    uva = amm_user_volume_accumulator_pda(user)
    accounts = _swap_head(
        pool_address=pool_address,
        pool=pool,
        user=user,
        base_token_program=base_token_program,
        quote_token_program=quote_token_program,
        protocol_fee_recipient=protocol_fee_recipient,
    )
    accounts += [
        _r(AMM_GLOBAL_VOLUME_ACCUMULATOR),
        _w(uva),
        _r(AMM_FEE_CONFIG),
        _r(PUMP_FEE_PROGRAM_ID),
    ]
    if pool.is_cashback_coin:
        accounts.append(_w(quote_ata(uva, pool.quote_mint, quote_token_program)))
    return accounts + _tail(pool, quote_token_program, buyback_fee_recipient)


def amm_buy(
    *,
    pool_address: Pubkey,
    pool: Pool,
    user: Pubkey,
    base_token_program: Pubkey,
    quote_token_program: Pubkey,
    protocol_fee_recipient: Pubkey,
    base_amount_out: int,
    max_quote_amount_in: int,
    track_volume: bool = False,
    buyback_fee_recipient: Pubkey | None = None,
) -> Instruction:
    """PumpSwap ``buy``: exactly ``base_amount_out`` tokens for at most
    ``max_quote_amount_in`` quote units, fees included.

    Args:
        pool: the decoded pool at ``pool_address`` (mints, vaults, coin creator, cashback).
        base_token_program / quote_token_program: the owners of the two mints.
        protocol_fee_recipient: from :meth:`GlobalConfig.fee_recipients_for`.
        buyback_fee_recipient: one of ``GlobalConfig.buyback_fee_recipients``; default the
            first of the documented list.

    Returns:
        23 IDL accounts + remaining: 26 for a pool with a coin creator, 27 if it is also a
        cashback pool, 25 for a pool without a coin creator.
    """
    data = Writer(AMM_BUY_DISCRIMINATOR).u64(base_amount_out).u64(max_quote_amount_in)
    data.bool(track_volume)
    accounts = _buy_accounts(
        pool_address,
        pool,
        user,
        base_token_program,
        quote_token_program,
        protocol_fee_recipient,
        buyback_fee_recipient,
    )
    return Instruction(PUMP_AMM_PROGRAM_ID, data.to_bytes(), accounts)


def amm_buy_exact_quote_in(
    *,
    pool_address: Pubkey,
    pool: Pool,
    user: Pubkey,
    base_token_program: Pubkey,
    quote_token_program: Pubkey,
    protocol_fee_recipient: Pubkey,
    spendable_quote_in: int,
    min_base_amount_out: int,
    track_volume: bool = False,
    buyback_fee_recipient: Pubkey | None = None,
) -> Instruction:
    """PumpSwap ``buy_exact_quote_in``: spend ``spendable_quote_in`` (fees deducted from it);
    same accounts as :func:`amm_buy` (the IDL lists the same 23; remaining accounts
    assumed identical - the SDK 1.20.0 has no builder for it)."""
    data = Writer(AMM_BUY_EXACT_QUOTE_IN_DISCRIMINATOR).u64(spendable_quote_in)
    data.u64(min_base_amount_out).bool(track_volume)
    accounts = _buy_accounts(
        pool_address,
        pool,
        user,
        base_token_program,
        quote_token_program,
        protocol_fee_recipient,
        buyback_fee_recipient,
    )
    return Instruction(PUMP_AMM_PROGRAM_ID, data.to_bytes(), accounts)


def amm_sell(
    *,
    pool_address: Pubkey,
    pool: Pool,
    user: Pubkey,
    base_token_program: Pubkey,
    quote_token_program: Pubkey,
    protocol_fee_recipient: Pubkey,
    base_amount_in: int,
    min_quote_amount_out: int,
    buyback_fee_recipient: Pubkey | None = None,
) -> Instruction:
    """PumpSwap ``sell``: exactly ``base_amount_in`` tokens for at least
    ``min_quote_amount_out`` quote units after fees.

    For a WSOL pool the proceeds land in the user's WSOL ATA (which must exist: create it
    idempotently first) and are unwrapped by closing it afterwards, as the SDK does.

    Returns:
        21 IDL accounts + remaining: 24 for a pool with a coin creator, 26 if it is also a
        cashback pool, 23 for a pool without a coin creator.
    """
    data = Writer(AMM_SELL_DISCRIMINATOR).u64(base_amount_in).u64(min_quote_amount_out)
    accounts = _swap_head(
        pool_address=pool_address,
        pool=pool,
        user=user,
        base_token_program=base_token_program,
        quote_token_program=quote_token_program,
        protocol_fee_recipient=protocol_fee_recipient,
    )
    accounts += [_r(AMM_FEE_CONFIG), _r(PUMP_FEE_PROGRAM_ID)]
    if pool.is_cashback_coin:
        uva = amm_user_volume_accumulator_pda(user)
        accounts += [_w(quote_ata(uva, pool.quote_mint, quote_token_program)), _w(uva)]
    accounts += _tail(pool, quote_token_program, buyback_fee_recipient)
    return Instruction(PUMP_AMM_PROGRAM_ID, data.to_bytes(), accounts)


def amm_extend_account(*, account: Pubkey, user: Pubkey) -> Instruction:
    """AMM ``extend_account`` (5 accounts): grows a pool to 300 bytes; ``user`` pays rent."""
    accounts = [
        _w(account),
        _ws(user),
        _r(SYSTEM_PROGRAM_ID),
        _r(AMM_EVENT_AUTHORITY),
        _r(PUMP_AMM_PROGRAM_ID),
    ]
    return Instruction(PUMP_AMM_PROGRAM_ID, AMM_EXTEND_ACCOUNT_DISCRIMINATOR, accounts)


def decode_amm_instruction(data: bytes) -> tuple[str, AmmArgs]:
    """``("buy", …)``, ``("buy_exact_quote_in", …)``, ``("sell", …)`` or
    ``("extend_account", …)`` from PumpSwap instruction data.

    Bytes after the arguments are ignored, as Anchor does; a missing trailing
    ``track_volume`` reads false.

    Raises:
        DecodeError: another instruction, or arguments cut short.
    """
    data = bytes(data)
    if len(data) < 8:
        raise DecodeError(f"instruction data of {len(data)} bytes has no discriminator")
    disc, r = data[:8], Reader(data, 8)
    if disc == AMM_BUY_DISCRIMINATOR:
        base_out, max_in = r.u64("base_amount_out"), r.u64("max_quote_amount_in")
        track = r.trailing_bool("track_volume")
        return ("buy", AmmBuyArgs(base_out, max_in, track))
    if disc == AMM_BUY_EXACT_QUOTE_IN_DISCRIMINATOR:
        spend, min_out = r.u64("spendable_quote_in"), r.u64("min_base_amount_out")
        track = r.trailing_bool("track_volume")
        return ("buy_exact_quote_in", AmmBuyExactQuoteInArgs(spend, min_out, track))
    if disc == AMM_SELL_DISCRIMINATOR:
        args = AmmSellArgs(r.u64("base_amount_in"), r.u64("min_quote_amount_out"))
        return ("sell", args)
    if disc == AMM_EXTEND_ACCOUNT_DISCRIMINATOR:
        return ("extend_account", AmmExtendAccountArgs())
    raise DecodeError(f"not a PumpSwap buy/sell/extend instruction: discriminator {disc.hex()}")
