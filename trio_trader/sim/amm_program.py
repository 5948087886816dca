"""The PumpSwap AMM program (``pAMMBay6…XEA``), emulated in Python for the ledger.

Instructions: ``buy``, ``buy_exact_quote_in``, ``sell`` (pools are created by pump's
``migrate``, :mod:`._pump_migrate`). Anything else fails with Anchor's 101
InstructionFallbackNotFound.

Accounts are today's lists (docs/protocol-pumpswap.md §4.1): 23 (buy) / 21 (sell) IDL
accounts, then ``pool_v2`` (pools with a coin creator), one buyback recipient and its
quote ATA. Anchor's pass checks kinds, ``mut``, seeds and the pool's ``has_one``
relations (base/quote mint, the two vaults: 2001); then the handler, in this order:
6062 ``InvalidPoolV2`` (missing or wrong ``pool_v2``), 6058 ``BuybackFeeRecipientMissing``,
6053 ``BuybackFeeRecipientNotAuthorized`` (not in ``GlobalConfig``), its ATA (2006
ConstraintSeeds), 6020/6021 buy/sell disabled, 6013 ``InvalidProtocolFeeRecipient``,
6001 ``ZeroBaseAmount`` / 6002 ``ZeroQuoteAmount``, 6016 more base than the pool holds,
6063 ``InsufficientRealQuoteReserves``, 6004 ``ExceededSlippage``, 6040 (a
``buy_exact_quote_in`` below ``min_base_amount_out``). Cashback pools are not emulated
(the simulator never creates one). The order of the handler checks is not public.

What is real: every token movement is a real CPI into SPL Token / Token-2022 (``Transfer``
/ ``TransferChecked``; the pool PDA signs for its vaults), so a user whose WSOL account
holds too little fails in the token program (``0x1``) exactly as on mainnet. The user's
WSOL wrap (ATA create + System transfer + ``SyncNative``) and unwrap (``CloseAccount``)
are the user's own instructions, run by the real programs.

Math (:mod:`trio_trader.pump.amm.quote`, the SDK's): rates from the AMM FeeConfig (the
fee program is CPI'd as for pump trades, ``is_pump_pool`` true for canonical pools —
inferred), reserves = the vaults' balances (+ ``Pool.virtual_quote_reserves``), the LP
fee stays in the pool, the buyback fee (``GlobalConfig.buyback_basis_points``, 0 at
genesis) is carved out of the protocol fee (inferred), the creator fee goes to the coin
creator's vault ATA (created idempotently, the trader paying, if missing). Buy/Sell
events carry the pool's and the user's balances *before* the trade. A buy creates the
user's AMM volume accumulator if missing (``init_if_needed``, the user pays; inferred
from pump's buy).

Compute units of the program's own work are fixed per instruction (not measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump._borsh import DecodeError, anchor_discriminator
from trio_trader.pump.accounts import FeeConfig, Fees
from trio_trader.pump.amm import addresses as AA
from trio_trader.pump.amm import quote as Q
from trio_trader.pump.amm.accounts import GlobalConfig, Pool
from trio_trader.pump.amm.events import AmmEvent, BuyEvent, SellEvent, encode_amm_event
from trio_trader.pump.amm.instructions import (
    AmmBuyArgs,
    AmmBuyExactQuoteInArgs,
    AmmSellArgs,
    decode_amm_instruction,
)

from ._amm_errors import AMM_ERRORS
from ._fee_program import fee_program_cpi
from ._invoke import InvokeContext, ProgramFailure
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, anchor_error, mismatch, validate
from ._pump_common import create_ata, create_pda, emit_payload, token_transfer
from ._tokens import TOKEN_2022_PROGRAM, TOKEN_PROGRAM, parse_token_account

__all__ = ["AMM_USER_VOLUME_ACCUMULATOR_SIZE", "process"]

_TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
#: the program's own work, CPIs excluded, set so a whole frame costs what real trades of
#: 2026-10-08 consumed with their CPIs: sell 85,515 and buy_exact_quote_in 82,924 (t48g
#: fixtures of aquecerandroi-oss/project-hunter). The CPIs' split differs (there the fee
#: program took 6,121 and each SPL transfer ~112; here 3,360 and LiteSVM's SPL Token), the
#: frame's total matches. buy is assumed 2,000 below buy_exact_quote_in, as pump's buy is
#: below buy_exact_sol_in.
_CU = {"buy": 72_500, "buy_exact_quote_in": 74_500, "sell": 77_000}
_LOG_NAME = {"buy": "Buy", "buy_exact_quote_in": "BuyExactQuoteIn", "sell": "Sell"}
_UVA_DISCRIMINATOR = anchor_discriminator("account", "UserVolumeAccumulator")
#: pump_amm.json UserVolumeAccumulator: user, needs_claim, 4×u64/i64, bool, 2×u64
AMM_USER_VOLUME_ACCUMULATOR_SIZE = 8 + 32 + 1 + 8 * 4 + 1 + 8 * 2
AmmArgs = AmmBuyArgs | AmmBuyExactQuoteInArgs | AmmSellArgs


def _fail(ctx: InvokeContext, code: int) -> ProgramFailure:
    return anchor_error(ctx, code, errors=AMM_ERRORS)


def process(ctx: InvokeContext) -> None:
    """Run one PumpSwap instruction. Raises ``ProgramFailure`` (already logged)."""
    if len(ctx.data) < 8:
        raise anchor_error(ctx, 100, errors=AMM_ERRORS)
    try:
        name, args = decode_amm_instruction(ctx.data)
    except DecodeError:
        raise anchor_error(ctx, 101, errors=AMM_ERRORS) from None
    if name not in _CU:  # extend_account: the sim's pools are born at full size
        raise anchor_error(ctx, 101, errors=AMM_ERRORS)
    ctx.log(f"Program log: Instruction: {_LOG_NAME[name]}")
    ctx.charge(_CU[name])
    assert isinstance(args, AmmArgs)
    swap = _validate(ctx, is_buy=name != "sell")
    if isinstance(args, AmmSellArgs):
        _sell(ctx, swap, args)
    else:
        _buy(ctx, swap, args, name)


# -- accounts --------------------------------------------------------------------------


@attrs.frozen
class _Swap:
    """A validated swap's accounts and state, by IDL name."""

    keys: list[Pubkey]
    pool: Pool
    config: GlobalConfig
    buyback: Pubkey
    buyback_ata: Pubkey

    pool_key = property(lambda self: self.keys[0])
    user = property(lambda self: self.keys[1])
    user_base = property(lambda self: self.keys[5])
    user_quote = property(lambda self: self.keys[6])
    pool_base = property(lambda self: self.keys[7])
    pool_quote = property(lambda self: self.keys[8])
    fee_recipient = property(lambda self: self.keys[9])
    fee_ata = property(lambda self: self.keys[10])
    base_tp = property(lambda self: self.keys[11])
    quote_tp = property(lambda self: self.keys[12])
    vault_ata = property(lambda self: self.keys[17])
    vault_authority = property(lambda self: self.keys[18])


def _read_pool(ctx: InvokeContext, key: Pubkey) -> Pool:
    acct = ctx.get(key)
    if acct is None:
        raise anchor_error(ctx, 3012, account="pool", errors=AMM_ERRORS)
    try:
        return Pool.decode(bytes(acct.data))
    except DecodeError:
        raise anchor_error(ctx, 3002, account="pool", errors=AMM_ERRORS) from None


def _spec(ctx: InvokeContext, *, is_buy: bool) -> list[Acc]:
    def pool(keys: Sequence[Pubkey]) -> Pool:
        return _read_pool(ctx, keys[0])

    def ata(owner: int, tp: int, mint: int) -> Acc:
        return Acc(
            "ata", mut=True, seeds=lambda k: A.associated_token_address(k[owner], k[mint], k[tp])
        )

    def named(acc: Acc, name: str) -> Acc:
        return attrs.evolve(acc, name=name)

    def fixed(name: str, address: Pubkey, owner: Pubkey) -> Acc:
        return Acc(name, ACCOUNT, owners=(owner,), seeds=lambda _k: address)

    head = [
        Acc("pool", ACCOUNT, mut=True, owners=(A.PUMP_AMM_PROGRAM_ID,)),
        Acc("user", SIGNER, mut=True),
        fixed("global_config", AA.GLOBAL_CONFIG, A.PUMP_AMM_PROGRAM_ID),
        Acc("base_mint", ACCOUNT, owners=_TOKEN_PROGRAMS, has_one=lambda k: pool(k).base_mint),
        Acc("quote_mint", ACCOUNT, owners=_TOKEN_PROGRAMS, has_one=lambda k: pool(k).quote_mint),
        Acc("user_base_token_account", ACCOUNT, mut=True, owners=_TOKEN_PROGRAMS),
        Acc("user_quote_token_account", ACCOUNT, mut=True, owners=_TOKEN_PROGRAMS),
        Acc(
            "pool_base_token_account",
            ACCOUNT,
            mut=True,
            owners=_TOKEN_PROGRAMS,
            has_one=lambda k: pool(k).pool_base_token_account,
        ),
        Acc(
            "pool_quote_token_account",
            ACCOUNT,
            mut=True,
            owners=_TOKEN_PROGRAMS,
            has_one=lambda k: pool(k).pool_quote_token_account,
        ),
        Acc("protocol_fee_recipient"),
        named(ata(9, 12, 4), "protocol_fee_recipient_token_account"),
        Acc("base_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("quote_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
        Acc("associated_token_program", PROGRAM, address=(A.ASSOCIATED_TOKEN_PROGRAM_ID,)),
        Acc("event_authority", seeds=lambda _k: AA.AMM_EVENT_AUTHORITY),
        Acc("program", PROGRAM, address=(A.PUMP_AMM_PROGRAM_ID,)),
        named(ata(18, 12, 4), "coin_creator_vault_ata"),
        Acc(
            "coin_creator_vault_authority",
            seeds=lambda k: AA.coin_creator_vault_authority_pda(pool(k).coin_creator or A.ZERO_KEY),
        ),
    ]
    fees = [
        fixed("fee_config", AA.AMM_FEE_CONFIG, A.PUMP_FEE_PROGRAM_ID),
        Acc("fee_program", PROGRAM, address=(A.PUMP_FEE_PROGRAM_ID,)),
    ]
    if not is_buy:
        return [*head, *fees]
    volume = [
        fixed("global_volume_accumulator", AA.AMM_GLOBAL_VOLUME_ACCUMULATOR, A.PUMP_AMM_PROGRAM_ID),
        Acc(
            "user_volume_accumulator",
            mut=True,
            seeds=lambda k: AA.amm_user_volume_accumulator_pda(k[1]),
        ),
    ]
    return [*head, *volume, *fees]


def _validate(ctx: InvokeContext, *, is_buy: bool) -> _Swap:
    spec = _spec(ctx, is_buy=is_buy)
    keys = validate(ctx, spec, accounts=ctx.metas)
    pool = _read_pool(ctx, keys[0])
    acct = ctx.get(AA.GLOBAL_CONFIG)
    assert acct is not None  # validated
    config = GlobalConfig.decode(bytes(acct.data))
    remaining = [m.pubkey for m in ctx.metas[len(spec) :]]
    if pool.has_coin_creator:
        if not remaining or remaining[0] != AA.pool_v2_pda(pool.base_mint):
            raise _fail(ctx, 6062)
        remaining = remaining[1:]
    if len(remaining) < 2:
        raise _fail(ctx, 6058)
    buyback, buyback_ata = remaining[0], remaining[1]
    if buyback not in (config.buyback_fee_recipients or ()):
        raise _fail(ctx, 6053)
    expected = A.associated_token_address(buyback, pool.quote_mint, keys[12])
    if buyback_ata != expected:
        raise mismatch(ctx, 2006, "buyback_fee_recipient_token_account", buyback_ata, expected)
    if (config.buy_disabled and is_buy) or (config.sell_disabled and not is_buy):
        raise _fail(ctx, 6020 if is_buy else 6021)
    if keys[9] not in config.fee_recipients_for(bool(pool.is_mayhem_mode)):
        raise _fail(ctx, 6013)
    return _Swap(keys, pool, config, buyback, buyback_ata)


# -- state -----------------------------------------------------------------------------


def _balance(ctx: InvokeContext, key: Pubkey) -> int:
    tok = parse_token_account(ctx.get(key))
    return 0 if tok is None else tok.amount


def _supply(ctx: InvokeContext, mint: Pubkey) -> int:
    acct = ctx.get(mint)
    assert acct is not None  # validated
    return int.from_bytes(bytes(acct.data)[36:44], "little")


@attrs.frozen
class _Before:
    reserves: Q.PoolReserves
    user_base: int
    user_quote: int
    base_supply: int


def _before(ctx: InvokeContext, swap: _Swap) -> _Before:
    reserves = Q.PoolReserves(
        _balance(ctx, swap.pool_base),
        _balance(ctx, swap.pool_quote),
        swap.pool.virtual_quote_reserves or 0,
    )
    return _Before(
        reserves,
        _balance(ctx, swap.user_base),
        _balance(ctx, swap.user_quote),
        _supply(ctx, swap.pool.base_mint),
    )


def _fees(ctx: InvokeContext, swap: _Swap, before: _Before) -> Fees:
    """The trade's rates (SDK ``computeFeesBps``), asked of the fee program by CPI."""
    acct = ctx.get(AA.AMM_FEE_CONFIG)
    fee_config = None if acct is None else FeeConfig.decode(bytes(acct.data))
    if before.reserves.base <= 0 or before.reserves.quote <= 0:
        raise _fail(ctx, 6003)  # TooLittlePoolTokenLiquidity
    fees = Q.amm_fee_rates(
        swap.pool,
        swap.config,
        fee_config,
        reserves=before.reserves,
        base_mint_supply=before.base_supply,
    )
    if fee_config is not None:
        pool = swap.pool
        cap = Q.pool_market_cap(
            before.reserves, before.base_supply, is_mayhem_mode=bool(pool.is_mayhem_mode)
        )
        canonical = AA.is_canonical_pool(pool.base_mint, pool.creator)
        table = Q.fees_for_quote_mint(
            fee_config, is_pump_pool=canonical, market_cap=cap, quote_mint=pool.quote_mint
        )
        fee_program_cpi(
            ctx,
            fee_config_key=AA.AMM_FEE_CONFIG,
            caller=A.PUMP_AMM_PROGRAM_ID,
            is_pump_pool=canonical,
            market_cap=cap,
            quote_mint=pool.quote_mint,
            fees=table,
        )
    return fees


def _split_protocol_fee(config: GlobalConfig, protocol_fee: int) -> tuple[int, int, int]:
    """(to the protocol recipient, to the buyback recipient, buyback bps)."""
    bps = config.buyback_basis_points or 0
    buyback = protocol_fee * bps // 10_000
    return protocol_fee - buyback, buyback, bps


def _transfer(
    ctx: InvokeContext,
    swap: _Swap,
    source: Pubkey,
    authority: Pubkey,
    *moves: tuple[Pubkey, int],
    base: bool = False,
) -> None:
    """Move the pool's quote (or ``base``) token out of ``source`` to each
    ``(destination, amount)`` in order, one CPI each; an amount of 0 makes no CPI."""
    for destination, amount in moves:
        if amount <= 0:
            continue
        token_transfer(
            ctx,
            token_program=swap.base_tp if base else swap.quote_tp,
            source=source,
            mint=swap.pool.base_mint if base else swap.pool.quote_mint,
            destination=destination,
            authority=authority,
            amount=amount,
        )


def _ensure_vault(ctx: InvokeContext, swap: _Swap, fee: int) -> None:
    if fee > 0 and ctx.get(swap.vault_ata) is None:
        create_ata(
            ctx,
            payer=swap.user,
            owner=swap.vault_authority,
            mint=swap.pool.quote_mint,
            token_program=swap.quote_tp,
        )


def _emit(ctx: InvokeContext, event: AmmEvent) -> None:
    emit_payload(ctx, encode_amm_event(event), A.PUMP_AMM_PROGRAM_ID, AA.AMM_EVENT_AUTHORITY)
    ctx.events.append(event)


# -- buy -------------------------------------------------------------------------------


def _buy_quote(
    ctx: InvokeContext, args: AmmBuyArgs | AmmBuyExactQuoteInArgs, before: _Before, fees: Fees
) -> Q.AmmBuyQuote:
    reserves = before.reserves
    if isinstance(args, AmmBuyArgs):
        base_out, limit = args.base_amount_out, args.max_quote_amount_in
        if base_out == 0:
            raise _fail(ctx, 6001)
    else:
        if args.spendable_quote_in == 0:
            raise _fail(ctx, 6002)
        base_out = Q.quote_amm_buy_exact_quote_in(args.spendable_quote_in, reserves, fees)
        limit = args.spendable_quote_in
        if base_out == 0:
            raise _fail(ctx, 6039)  # BuyNotEnoughQuoteTokensToCoverFees
        if base_out < args.min_base_amount_out:
            raise _fail(ctx, 6040)
    if base_out >= reserves.base:
        raise _fail(ctx, 6016)
    quote = Q.quote_amm_buy(base_out, reserves, fees)
    if quote.total > limit:
        raise _fail(ctx, 6004)
    return quote


def _buy(
    ctx: InvokeContext, swap: _Swap, args: AmmBuyArgs | AmmBuyExactQuoteInArgs, name: str
) -> None:
    before = _before(ctx, swap)
    fees = _fees(ctx, swap, before)
    quote = _buy_quote(ctx, args, before, fees)
    uva = _ensure_volume_accumulator(ctx, swap.user)
    to_recipient, buyback, buyback_bps = _split_protocol_fee(swap.config, quote.protocol_fee)
    user, pool_key = swap.user, swap.pool_key
    _transfer(
        ctx,
        swap,
        swap.user_quote,
        user,
        (swap.pool_quote, quote.pool_quote_received),
        (swap.fee_ata, to_recipient),
        (swap.buyback_ata, buyback),
    )
    _ensure_vault(ctx, swap, quote.creator_fee)
    _transfer(ctx, swap, swap.user_quote, user, (swap.vault_ata, quote.creator_fee))
    _transfer(ctx, swap, swap.pool_base, pool_key, (swap.user_base, quote.base_out), base=True)
    track = bool(args.track_volume)
    volume = _record_volume(ctx, uva, quote.quote_in, track=track)
    min_out = args.min_base_amount_out if isinstance(args, AmmBuyExactQuoteInArgs) else 0
    max_in = args.max_quote_amount_in if isinstance(args, AmmBuyArgs) else args.spendable_quote_in
    _emit(
        ctx,
        BuyEvent(
            **_common(ctx, swap, before, fees, quote, buyback=(buyback, buyback_bps)),
            base_amount_out=quote.base_out,
            max_quote_amount_in=max_in,
            quote_amount_in=quote.quote_in,
            quote_amount_in_with_lp_fee=quote.pool_quote_received,
            user_quote_amount_in=quote.total,
            track_volume=track,
            total_unclaimed_tokens=volume[0],
            total_claimed_tokens=volume[1],
            current_sol_volume=volume[2],
            last_update_timestamp=volume[3],
            min_base_amount_out=min_out,
            ix_name=name,
        ),
    )


# -- sell ------------------------------------------------------------------------------


def _sell(ctx: InvokeContext, swap: _Swap, args: AmmSellArgs) -> None:
    before = _before(ctx, swap)
    fees = _fees(ctx, swap, before)
    if args.base_amount_in == 0:
        raise _fail(ctx, 6001)
    try:
        quote = Q.quote_amm_sell(args.base_amount_in, before.reserves, fees)
    except ValueError:
        raise _fail(ctx, 6063) from None
    if quote.net < args.min_quote_amount_out:
        raise _fail(ctx, 6004)
    to_recipient, buyback, buyback_bps = _split_protocol_fee(swap.config, quote.protocol_fee)
    user, pool_key = swap.user, swap.pool_key
    # Too few tokens fails here, in the token program ("insufficient funds", 0x1).
    _transfer(ctx, swap, swap.user_base, user, (swap.pool_base, quote.base_in), base=True)
    _ensure_vault(ctx, swap, quote.creator_fee)
    _transfer(
        ctx,
        swap,
        swap.pool_quote,
        pool_key,
        (swap.user_quote, quote.net),
        (swap.fee_ata, to_recipient),
        (swap.buyback_ata, buyback),
        (swap.vault_ata, quote.creator_fee),
    )
    _emit(
        ctx,
        SellEvent(
            **_common(ctx, swap, before, fees, quote, buyback=(buyback, buyback_bps)),
            base_amount_in=quote.base_in,
            min_quote_amount_out=args.min_quote_amount_out,
            quote_amount_out=quote.quote_out,
            quote_amount_out_without_lp_fee=quote.pool_quote_paid,
            user_quote_amount_out=quote.net,
        ),
    )


def _common(
    ctx: InvokeContext,
    swap: _Swap,
    before: _Before,
    fees: Fees,
    quote: Q.AmmBuyQuote | Q.AmmSellQuote,
    *,
    buyback: tuple[int, int],
) -> dict[str, Any]:
    """The fields Buy and Sell events share (balances *before* the trade);
    ``buyback`` is (fee, basis points)."""
    return {
        "timestamp": ctx.blocktime,
        "user_base_token_reserves": before.user_base,
        "user_quote_token_reserves": before.user_quote,
        "pool_base_token_reserves": before.reserves.base,
        "pool_quote_token_reserves": before.reserves.quote,
        "lp_fee_basis_points": fees.lp_fee_bps,
        "protocol_fee_basis_points": fees.protocol_fee_bps,
        "pool": swap.pool_key,
        "user": swap.user,
        "user_base_token_account": swap.user_base,
        "user_quote_token_account": swap.user_quote,
        "protocol_fee_recipient": swap.fee_recipient,
        "protocol_fee_recipient_token_account": swap.fee_ata,
        "coin_creator": swap.pool.coin_creator or A.ZERO_KEY,
        "coin_creator_fee_basis_points": fees.creator_fee_bps,
        "lp_fee": quote.lp_fee,
        "protocol_fee": quote.protocol_fee,
        "coin_creator_fee": quote.creator_fee,
        "virtual_quote_reserves": before.reserves.virtual_quote,
        "base_supply": before.base_supply,
        "buyback_fee": buyback[0],
        "buyback_fee_basis_points": buyback[1],
        # cashback, boost and holder rewards are not emulated (no such pools here)
        "cashback_fee_basis_points": 0,
        "cashback": 0,
        "can_boost": False,
        "holder_rewards_bps": 0,
        "holder_rewards": 0,
    }


# -- volume accumulator ----------------------------------------------------------------


def _ensure_volume_accumulator(ctx: InvokeContext, user: Pubkey) -> Pubkey:
    key = AA.amm_user_volume_accumulator_pda(user)
    if ctx.get(key) is None:
        size = AMM_USER_VOLUME_ACCUMULATOR_SIZE
        create_pda(ctx, user, key, size, A.PUMP_AMM_PROGRAM_ID)
        data = (_UVA_DISCRIMINATOR + bytes(user)).ljust(size, b"\0")
        ctx.write(key, data, A.PUMP_AMM_PROGRAM_ID)
    return key


def _record_volume(
    ctx: InvokeContext, key: Pubkey, quote: int, *, track: bool
) -> tuple[int, int, int, int]:
    """(unclaimed, claimed, current volume, last update) after this buy."""
    acct = ctx.get(key)
    assert acct is not None
    d = bytearray(bytes(acct.data))

    def u64(off: int) -> int:
        return int.from_bytes(d[off : off + 8], "little")

    volume, last = u64(57), int.from_bytes(d[65:73], "little", signed=True)
    if track:
        volume, last = volume + quote, ctx.blocktime
        d[57:65] = volume.to_bytes(8, "little")
        d[65:73] = last.to_bytes(8, "little", signed=True)
        ctx.write(key, bytes(d), acct.owner)
    return u64(41), u64(49), volume, last
