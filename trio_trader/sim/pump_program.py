"""The pump bonding-curve program (``6EF8rr…F6P``), emulated in Python for the ledger.

Instructions: ``create`` (SPL Token mint + Metaplex metadata account), ``create_v2``
(Token-2022 mint with in-mint metadata; optionally quoted in a whitelisted SPL token),
``buy``, ``buy_exact_sol_in``, ``sell``, ``buy_v2``, ``buy_exact_quote_in_v2``,
``sell_v2`` (accounts: :mod:`._pump_accounts`), ``migrate`` (:mod:`._pump_migrate`,
which CPIs PumpSwap's ``create_pool``) and ``migrate_v2`` for token-quoted curves
(:mod:`._pump_migrate_v2`). Anything else fails like Anchor does for an
unknown discriminator (101 InstructionFallbackNotFound).

What is real and what is Python:

* Token moves, mint creation, ATA creation, ``MintTo``, ``SetAuthority`` and SOL paid by
  the (system-owned) user are **real CPIs** into the SPL Token / Token-2022 / ATA / System
  programs, run through LiteSVM with the pump PDA marked as signer (LiteSVM's sigverify
  is off). So their checks, errors (``custom program error: 0x1`` for too few tokens) and
  log lines are the programs' own, re-numbered one level deeper.
* SOL leaving the bonding curve (a sell) is debited directly, as the program owns the
  curve; the BondingCurve / user volume accumulator bytes are written with
  :mod:`trio_trader.pump.accounts` layouts; events are ``encode_event`` bytes, logged as
  ``Program data:`` and emitted as the Anchor self-CPI (``e445a52e51cb9a1d`` ‖ event).
* Account checks follow Anchor (see :mod:`._pump_checks`), then the handler's own checks
  in this order: trailing accounts (6062 missing, 6074 wrong ``bonding_curve_v2``, 6057
  unknown buyback recipient), fee recipient (6000), migrated (6081) or complete (6005),
  zero amount (6020/6022), too much (6021), slippage (6002/6003/6042).
* The v2 instructions use the same curve math, fee-program CPI and fee split as the
  legacy ones. A SOL curve's v2 trade moves native SOL exactly like legacy; a curve
  quoted in a token moves that token: the user's quote ATA pays the curve's quote ATA, the
  fee / buyback recipients' quote ATAs and the creator vault's quote ATA (created
  idempotently, the trader paying its rent, when it does not exist yet — inferred), and a
  sell pays out of the curve's quote ATA (the curve PDA signing). ``ix_name`` in their
  TradeEvent is the instruction's name (``"buy_v2"`` …; inferred).

Choices where the real program is not documented:

* Selling more tokens than the user holds fails in the token program's ``Transfer``
  (``{"Custom": 1}``, "Error: insufficient funds") — what mainnet sells show — not 6023.
  A sell whose ``associated_user`` does not exist yet (its buy has not landed) fails with
  3012 AccountNotInitialized on ``associated_user``.
* The buyback fee (``Global.buyback_basis_points``, 0 at genesis) is carved out of the
  protocol fee, and a new creator vault's rent is paid by the trader.
* Compute units of the program's own work are fixed per instruction (see ``_CU``,
  calibrated on mainnet: legacy on real trades, v2 on mainnet simulations); CPIs add what
  the real programs consumed.

The 2026-10 program (PROTOCOL.md §0), which this emulates:

* ``buy`` / ``sell`` first CPI the fee program's ``GetFeesWithQuoteMint`` for their rates
  (:mod:`._fee_program`: the log lines, inner instruction and 3,360 CU of real trades).
  Without a FeeConfig account the emulation skips the CPI and falls back to Global.
* A BondingCurve shorter than :attr:`BondingCurve.SIZE` (166 bytes; a coin created before
  the 2026-10-08 deploy has 151) grows to 166 bytes on its first trade, the trader paying
  the rent difference ``rent_exempt(166) − rent_exempt(old length)`` by a System transfer
  into the curve. Mainnet charged 76,200 lamports for 151 → 166 (15 bytes × 5,080
  lamports/byte, mainnet's 2026 rent rate), and so does the simulator, whose Rent sysvar
  is mainnet's (:mod:`trio_trader.sim.rent`). New coins
  are created at 166 bytes. Mainnet grew a buy's curve; that a sell grows it too is
  inferred (no real sell on an old curve was captured).
"""

from __future__ import annotations

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump._borsh import DecodeError, anchor_discriminator
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Global
from trio_trader.pump.events import CompleteEvent, TradeEvent
from trio_trader.pump.instructions import (
    BUY_DISCRIMINATOR,
    BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR,
    BUY_EXACT_SOL_IN_DISCRIMINATOR,
    BUY_V2_DISCRIMINATOR,
    CREATE_DISCRIMINATOR,
    CREATE_V2_DISCRIMINATOR,
    SELL_DISCRIMINATOR,
    SELL_V2_DISCRIMINATOR,
    BuyArgs,
    BuyExactQuoteInV2Args,
    BuyExactSolInArgs,
    BuyV2Args,
    CreateArgs,
    CreateV2Args,
    SellArgs,
    SellV2Args,
    decode_pump_instruction,
)

from ._fee_program import get_fees_cpi
from ._invoke import InvokeContext
from ._pump_accounts import Trade, legacy_trade, v2_trade
from ._pump_checks import anchor_error, thrown
from ._pump_common import create_ata, create_pda, emit, system_transfer, token_transfer
from ._pump_create import create
from ._pump_migrate import MIGRATE_DISCRIMINATOR, migrate
from ._pump_migrate_v2 import MIGRATE_V2_DISCRIMINATOR, migrate_v2

__all__ = ["process"]

# The program's own work, CPIs excluded: real 2026-10-05 trades consumed 74,110 (buy) and
# 54,733 (sell) CU in total, of which the fee, token, System and event CPIs took 8,686 and
# 7,966 (t48e fixtures of aquecerandroi-oss/project-hunter). The v2 ones cost more: mainnet
# simulations (chainstacklabs/pumpfun-bonkfun-bot 02343b7, 2026-07-28) measured ~125k for a
# Token-2022 buy_v2 transaction that also creates the token account, i.e. a frame of ~107k,
# and ~85k for a sell_v2 frame; buy_exact_quote_in_v2 is assumed 2,000 above buy_v2, as
# legacy buy_exact_sol_in is above buy. migrate costs like a create.
_CU = {
    "buy": 65_000,
    "buy_exact_sol_in": 67_000,
    "sell": 46_500,
    "buy_v2": 99_000,
    "buy_exact_quote_in_v2": 101_000,
    "sell_v2": 77_000,
    "create": 60_000,
    "create_v2": 70_000,
    "migrate": 70_000,
    "migrate_v2": 70_000,
}
_LOG_NAME = {
    "buy": "Buy",
    "buy_exact_sol_in": "BuyExactSolIn",
    "sell": "Sell",
    "buy_v2": "BuyV2",
    "buy_exact_quote_in_v2": "BuyExactQuoteInV2",
    "sell_v2": "SellV2",
    "create": "Create",
    "create_v2": "CreateV2",
    "migrate": "Migrate",
    "migrate_v2": "MigrateV2",
}
_BY_DISCRIMINATOR = {
    BUY_DISCRIMINATOR: "buy",
    BUY_EXACT_SOL_IN_DISCRIMINATOR: "buy_exact_sol_in",
    SELL_DISCRIMINATOR: "sell",
    BUY_V2_DISCRIMINATOR: "buy_v2",
    BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR: "buy_exact_quote_in_v2",
    SELL_V2_DISCRIMINATOR: "sell_v2",
    CREATE_DISCRIMINATOR: "create",
    CREATE_V2_DISCRIMINATOR: "create_v2",
    MIGRATE_DISCRIMINATOR: "migrate",
    MIGRATE_V2_DISCRIMINATOR: "migrate_v2",
}
USER_VOLUME_ACCUMULATOR_DISCRIMINATOR = anchor_discriminator("account", "UserVolumeAccumulator")
USER_VOLUME_ACCUMULATOR_SIZE = 8 + 32 + 1 + 8 * 4 + 1 + 8 * 4  # IDL struct, 106 bytes
BuyLike = BuyArgs | BuyExactSolInArgs | BuyV2Args | BuyExactQuoteInV2Args


def process(ctx: InvokeContext) -> None:
    """Run one pump instruction. Raises ``ProgramFailure`` (already logged)."""
    if len(ctx.data) < 8:
        raise anchor_error(ctx, 100)  # InstructionMissing
    name = _BY_DISCRIMINATOR.get(ctx.data[:8])
    if name is None:
        raise anchor_error(ctx, 101)  # InstructionFallbackNotFound
    ctx.log(f"Program log: Instruction: {_LOG_NAME[name]}")
    if name in ("migrate", "migrate_v2"):
        ctx.charge(_CU[name])
        (migrate if name == "migrate" else migrate_v2)(ctx)
        return
    try:
        _, args = decode_pump_instruction(ctx.data)
    except DecodeError:
        raise anchor_error(ctx, 102) from None  # InstructionDidNotDeserialize
    ctx.charge(_CU[name])
    if isinstance(args, BuyLike):
        validate = v2_trade if name.endswith("_v2") else legacy_trade
        trade, global_, curve = validate(ctx, name, is_buy=True)
        _buy(ctx, args, trade, global_, curve)
    elif isinstance(args, SellArgs | SellV2Args):
        validate = v2_trade if name == "sell_v2" else legacy_trade
        trade, global_, curve = validate(ctx, name, is_buy=False)
        _sell(ctx, args, trade, global_, curve)
    else:
        assert isinstance(args, CreateArgs | CreateV2Args)
        create(ctx, name, args)


# -- shared reads ----------------------------------------------------------------------


def _read_fee_config(ctx: InvokeContext) -> FeeConfig | None:
    acct = ctx.get(A.FEE_CONFIG)
    return None if acct is None else FeeConfig.decode(bytes(acct.data))


def _write_curve(ctx: InvokeContext, key: Pubkey, curve: BondingCurve) -> None:
    ctx.write(key, curve.encode(), A.PUMP_PROGRAM_ID)


def _rates(ctx: InvokeContext, curve: BondingCurve, global_: Global) -> C.FeeRates:
    """The trade's rates: the fee program's answer (by CPI, as mainnet) or Global's."""
    fee_config = _read_fee_config(ctx)
    if fee_config is not None:
        get_fees_cpi(ctx, curve, fee_config)
    return C.fee_rates(curve, global_, fee_config)


def _grow_curve(ctx: InvokeContext, key: Pubkey, payer: Pubkey) -> None:
    """Grow a pre-2026-10-08 curve to today's size; the trader pays the extra rent."""
    acct = ctx.get(key)
    assert acct is not None  # read by the account checks
    size = len(bytes(acct.data))
    if size < BondingCurve.SIZE:
        rent = ctx.rent_exempt(BondingCurve.SIZE) - ctx.rent_exempt(size)
        system_transfer(ctx, payer, key, rent)


# -- quote movements -------------------------------------------------------------------


#: role → the field naming its account, the same on ``Trade`` (SOL) and ``QuoteAccounts``
_ROLE_FIELD = {
    "curve": "curve",
    "user": "user",
    "fee": "fee_recipient",
    "buyback": "buyback_recipient",
    "vault": "creator_vault",
}


def _holder(trade: Trade, role: str) -> Pubkey:
    """Where ``role`` holds the quote: the wallet / PDA itself for SOL, else its token account."""
    accounts = trade if trade.quote is None else trade.quote
    key: Pubkey = getattr(accounts, _ROLE_FIELD[role])
    return key


def _pay(ctx: InvokeContext, trade: Trade, payer: str, role: str, amount: int) -> None:
    """``payer`` ("user" or "curve") pays ``amount`` of the quote to ``role``'s account:
    lamports (the curve, a program-owned PDA, moves its own), or a quote-token transfer
    that ``payer`` signs for."""
    q, dst = trade.quote, _holder(trade, role)
    from_curve = payer == "curve"
    authority = trade.curve if from_curve else trade.user
    if q is None and from_curve:
        ctx.move_lamports(authority, dst, amount)
    elif q is None:
        system_transfer(ctx, authority, dst, amount)
    elif amount > 0:
        token_transfer(
            ctx,
            token_program=q.token_program,
            source=_holder(trade, payer),
            mint=q.mint,
            destination=dst,
            authority=authority,
            amount=amount,
        )


def _move_tokens(ctx: InvokeContext, trade: Trade, amount: int) -> None:
    """The traded coin: curve → user on a buy, user → curve on a sell; the giver signs."""
    if trade.is_buy:
        source, destination, authority = trade.curve_ata, trade.user_ata, trade.curve
    else:
        source, destination, authority = trade.user_ata, trade.curve_ata, trade.user
    token_transfer(
        ctx,
        token_program=trade.token_program,
        source=source,
        mint=trade.mint,
        destination=destination,
        authority=authority,
        amount=amount,
    )


def _prepare_creator_vault(ctx: InvokeContext, trade: Trade, fee: int) -> None:
    """Make the creator vault able to take ``fee``: rent for a new (SOL) vault, paid by
    the trader; for a token quote, its quote ATA created idempotently (trader pays)."""
    q = trade.quote
    if q is None:
        system_transfer(ctx, trade.user, trade.creator_vault, _vault_rent(ctx, trade, fee))
    elif fee > 0 and ctx.get(q.creator_vault) is None:
        create_ata(
            ctx,
            payer=trade.user,
            owner=trade.creator_vault,
            mint=q.mint,
            token_program=q.token_program,
        )


def _split_protocol_fee(global_: Global, protocol_fee: int) -> tuple[int, int, int]:
    """(to fee recipient, to buyback recipient, buyback bps): buyback is a share."""
    bps = global_.buyback_basis_points or 0
    buyback = C.fee(protocol_fee, bps, round_up=False)
    return protocol_fee - buyback, buyback, bps


def _vault_rent(ctx: InvokeContext, trade: Trade, fee: int) -> int:
    """Rent the trader adds so a fee can land in a still-empty creator vault."""
    return ctx.rent_exempt(0) if fee > 0 and ctx.lamports(trade.creator_vault) == 0 else 0


# -- buy ------------------------------------------------------------------------------


def _quote_for_buy(
    ctx: InvokeContext, args: BuyLike, curve: BondingCurve, rates: C.FeeRates
) -> C.BuyQuote:
    reserves = C.Reserves.of(curve)
    if isinstance(args, BuyArgs | BuyV2Args):
        if args.amount == 0:
            raise thrown(ctx, 6020)
        if args.amount > curve.real_token_reserves:
            raise thrown(ctx, 6021)
        quote = C.quote_buy(args.amount, reserves, rates)
        if quote.total > args.max_sol_cost:
            raise thrown(ctx, 6002)
        return quote
    spendable = (
        args.spendable_sol_in if isinstance(args, BuyExactSolInArgs) else args.spendable_quote_in
    )
    quote = C.quote_buy_exact_sol_in(spendable, reserves, rates)
    if quote.amount == 0:
        raise thrown(ctx, 6020)
    if quote.amount < args.min_tokens_out:
        raise thrown(ctx, 6042)
    return quote


def _buy(
    ctx: InvokeContext, args: BuyLike, trade: Trade, global_: Global, curve: BondingCurve
) -> None:
    rates = _rates(ctx, curve, global_)
    quote = _quote_for_buy(ctx, args, curve, rates)
    track = bool(getattr(args, "track_volume", False))
    _grow_curve(ctx, trade.curve, trade.user)
    uva = _ensure_user_volume_accumulator(ctx, trade.user)
    _move_tokens(ctx, trade, quote.amount)
    to_recipient, buyback, buyback_bps = _split_protocol_fee(global_, quote.protocol_fee)
    _pay(ctx, trade, "user", "curve", quote.sol_cost)
    _pay(ctx, trade, "user", "fee", to_recipient)
    _pay(ctx, trade, "user", "buyback", buyback)
    if trade.quote is None:
        vault_rent = _vault_rent(ctx, trade, quote.creator_fee)
        system_transfer(ctx, trade.user, trade.creator_vault, quote.creator_fee + vault_rent)
    else:
        _prepare_creator_vault(ctx, trade, quote.creator_fee)
        _pay(ctx, trade, "user", "vault", quote.creator_fee)
    after = C.apply_buy(C.Reserves.of(curve), quote)
    complete = after.real_token == 0
    _write_curve(ctx, trade.curve, _with_reserves(curve, after, complete=complete))
    volume = _record_volume(ctx, uva, quote.sol_cost, track=track)
    fees = _Fees(rates, quote.protocol_fee, quote.creator_fee, buyback, buyback_bps)
    emit(
        ctx,
        _trade_event(ctx, trade, curve, after, quote.sol_cost, quote.amount, fees, volume, track),
    )
    if complete:
        emit(
            ctx,
            CompleteEvent(
                user=trade.user,
                mint=trade.mint,
                bonding_curve=trade.curve,
                timestamp=ctx.blocktime,
                quote_mint=curve.quote_mint,
            ),
        )


# -- sell ------------------------------------------------------------------------------


def _sell(
    ctx: InvokeContext,
    args: SellArgs | SellV2Args,
    trade: Trade,
    global_: Global,
    curve: BondingCurve,
) -> None:
    if args.amount == 0:
        raise thrown(ctx, 6022)
    rates = _rates(ctx, curve, global_)
    reserves = C.Reserves.of(curve)
    quote = C.quote_sell(args.amount, reserves, rates)
    if quote.net < args.min_sol_output:
        raise thrown(ctx, 6003)
    _grow_curve(ctx, trade.curve, trade.user)
    # Too few tokens fails here, in the token program ("insufficient funds", 0x1).
    _move_tokens(ctx, trade, args.amount)
    if quote.sol_out > curve.real_sol_reserves:
        raise thrown(ctx, 6024)
    to_recipient, buyback, buyback_bps = _split_protocol_fee(global_, quote.protocol_fee)
    _prepare_creator_vault(ctx, trade, quote.creator_fee)
    _pay(ctx, trade, "curve", "user", quote.net)
    _pay(ctx, trade, "curve", "fee", to_recipient)
    _pay(ctx, trade, "curve", "buyback", buyback)
    _pay(ctx, trade, "curve", "vault", quote.creator_fee)
    after = C.apply_sell(reserves, quote)
    _write_curve(ctx, trade.curve, _with_reserves(curve, after, complete=False))
    volume = _read_volume(ctx, trade.user_volume_accumulator)
    fees = _Fees(rates, quote.protocol_fee, quote.creator_fee, buyback, buyback_bps)
    emit(
        ctx,
        _trade_event(ctx, trade, curve, after, quote.sol_out, args.amount, fees, volume, False),
    )


# -- helpers ---------------------------------------------------------------------------


def _with_reserves(curve: BondingCurve, r: C.Reserves, *, complete: bool) -> BondingCurve:
    return attrs.evolve(
        curve,
        virtual_sol_reserves=r.virtual_sol,
        virtual_token_reserves=r.virtual_token,
        real_sol_reserves=r.real_sol,
        real_token_reserves=r.real_token,
        complete=complete,
    )


@attrs.frozen
class _Volume:
    total_unclaimed_tokens: int = 0
    total_claimed_tokens: int = 0
    current_sol_volume: int = 0
    last_update_timestamp: int = 0


def _ensure_user_volume_accumulator(ctx: InvokeContext, user: Pubkey) -> Pubkey:
    """``init_if_needed``: the user pays the rent of a missing accumulator."""
    key = A.user_volume_accumulator_pda(user)
    if ctx.get(key) is None:
        size = USER_VOLUME_ACCUMULATOR_SIZE
        create_pda(ctx, user, key, size, A.PUMP_PROGRAM_ID)
        data = (USER_VOLUME_ACCUMULATOR_DISCRIMINATOR + bytes(user)).ljust(size, b"\0")
        ctx.write(key, data, A.PUMP_PROGRAM_ID)
    return key


def _read_volume(ctx: InvokeContext, key: Pubkey | None) -> _Volume:
    acct = None if key is None else ctx.get(key)
    if acct is None or len(bytes(acct.data)) < 73:
        return _Volume()
    d = bytes(acct.data)

    def u64(off: int) -> int:
        return int.from_bytes(d[off : off + 8], "little")

    return _Volume(u64(41), u64(49), u64(57), int.from_bytes(d[65:73], "little", signed=True))


def _record_volume(ctx: InvokeContext, key: Pubkey, sol: int, *, track: bool) -> _Volume:
    vol = _read_volume(ctx, key)
    if not track:
        return vol
    vol = attrs.evolve(
        vol, current_sol_volume=vol.current_sol_volume + sol, last_update_timestamp=ctx.blocktime
    )
    acct = ctx.get(key)
    assert acct is not None
    d = bytearray(bytes(acct.data))
    d[57:65] = vol.current_sol_volume.to_bytes(8, "little")
    d[65:73] = vol.last_update_timestamp.to_bytes(8, "little", signed=True)
    ctx.write(key, bytes(d), acct.owner)
    return vol


@attrs.frozen
class _Fees:
    rates: C.FeeRates
    protocol_fee: int
    creator_fee: int
    buyback_fee: int
    buyback_bps: int


def _trade_event(
    ctx: InvokeContext,
    trade: Trade,
    curve: BondingCurve,
    after: C.Reserves,
    sol_amount: int,
    token_amount: int,
    fees: _Fees,
    volume: _Volume,
    track: bool,
) -> TradeEvent:
    return TradeEvent(
        mint=trade.mint,
        sol_amount=sol_amount,
        token_amount=token_amount,
        is_buy=trade.is_buy,
        user=trade.user,
        timestamp=ctx.blocktime,
        virtual_sol_reserves=after.virtual_sol,
        virtual_token_reserves=after.virtual_token,
        real_sol_reserves=after.real_sol,
        real_token_reserves=after.real_token,
        fee_recipient=trade.fee_recipient,
        fee_basis_points=fees.rates.protocol_bps,
        fee=fees.protocol_fee,
        creator=curve.creator or A.ZERO_KEY,
        creator_fee_basis_points=fees.rates.creator_bps,
        creator_fee=fees.creator_fee,
        track_volume=track,
        total_unclaimed_tokens=volume.total_unclaimed_tokens,
        total_claimed_tokens=volume.total_claimed_tokens,
        current_sol_volume=volume.current_sol_volume,
        last_update_timestamp=volume.last_update_timestamp,
        ix_name=trade.ix_name,
        mayhem_mode=bool(curve.is_mayhem_mode),
        cashback_fee_basis_points=0,
        cashback=0,
        buyback_fee_basis_points=fees.buyback_bps,
        buyback_fee=fees.buyback_fee,
        shareholders=(),
        quote_mint=curve.quote_mint or A.ZERO_KEY,
        quote_amount=sol_amount,
        virtual_quote_reserves=after.virtual_sol,
        real_quote_reserves=after.real_sol,
        holder_rewards_bps=0,
        holder_rewards=0,
        unknown_u64_0=curve.unknown_u64_0 or 0,  # mirrors the curve's u64 at 125 (mainnet)
    )
