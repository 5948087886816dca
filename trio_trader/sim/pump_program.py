"""The pump bonding-curve program (``6EF8rr…F6P``), emulated in Python for the ledger.

Instructions: ``create`` (SPL Token mint + Metaplex metadata account), ``create_v2``
(Token-2022 mint with in-mint metadata), ``buy``, ``buy_exact_sol_in``, ``sell``. Anything
else fails like Anchor does for an unknown discriminator (101
InstructionFallbackNotFound).

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
  unknown buyback recipient), fee recipient (6000), complete (6005), zero amount
  (6020/6022), too much (6021), slippage (6002/6003/6042).

Choices where the real program is not documented:

* Selling more tokens than the user holds fails in the token program's ``Transfer``
  (``{"Custom": 1}``, "Error: insufficient funds") — what mainnet sells show — not 6023.
  A sell whose ``associated_user`` does not exist yet (its buy has not landed) fails with
  3012 AccountNotInitialized on ``associated_user``.
* The buyback fee (``Global.buyback_basis_points``, 0 at genesis) is carved out of the
  protocol fee, and a new creator vault's rent is paid by the trader.
* Compute units of the program's own work are fixed per instruction (see ``_CU``); CPIs
  add what the real programs consumed.

The 2026-10 program (PROTOCOL.md §0), which this emulates:

* ``buy`` / ``sell`` first CPI the fee program's ``GetFeesWithQuoteMint`` for their rates
  (:mod:`._fee_program`: the log lines, inner instruction and 3,360 CU of real trades).
  Without a FeeConfig account the emulation skips the CPI and falls back to Global.
* A BondingCurve shorter than :attr:`BondingCurve.SIZE` (166 bytes; a coin created before
  the 2026-10-08 deploy has 151) grows to 166 bytes on its first trade, the trader paying
  the rent difference ``rent_exempt(166) − rent_exempt(old length)`` by a System transfer
  into the curve. Mainnet charged 76,200 lamports for 151 → 166 (15 bytes × 5,080
  lamports/byte, mainnet's 2026 rent rate); the simulator's rent is Solana's default
  6,960 lamports/byte (3,480 × 2 years), so here the same growth costs 104,400. New coins
  are created at 166 bytes. Mainnet grew a buy's curve; that a sell grows it too is
  inferred (no real sell on an old curve was captured).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump._borsh import DecodeError, anchor_discriminator
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Global
from trio_trader.pump.events import CompleteEvent, TradeEvent
from trio_trader.pump.instructions import (
    BUY_DISCRIMINATOR,
    BUY_EXACT_SOL_IN_DISCRIMINATOR,
    CREATE_DISCRIMINATOR,
    CREATE_V2_DISCRIMINATOR,
    SELL_DISCRIMINATOR,
    BuyArgs,
    BuyExactSolInArgs,
    CreateArgs,
    CreateV2Args,
    SellArgs,
    decode_pump_instruction,
)

from ._fee_program import get_fees_cpi
from ._invoke import InvokeContext
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, anchor_error, thrown, validate
from ._pump_common import create_pda, emit, read_global, system_transfer, token_transfer
from ._pump_create import create
from ._tokens import TOKEN_2022_PROGRAM, TOKEN_PROGRAM

__all__ = ["process"]

_TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
# The program's own work, CPIs excluded: real 2026-10-05 trades consumed 74,110 (buy) and
# 54,733 (sell) CU in total, of which the fee, token, System and event CPIs took 8,686 and
# 7,966 (t48e fixtures of aquecerandroi-oss/project-hunter).
_CU = {
    "buy": 65_000,
    "buy_exact_sol_in": 67_000,
    "sell": 46_500,
    "create": 60_000,
    "create_v2": 70_000,
}
_LOG_NAME = {
    "buy": "Buy",
    "buy_exact_sol_in": "BuyExactSolIn",
    "sell": "Sell",
    "create": "Create",
    "create_v2": "CreateV2",
}
_BY_DISCRIMINATOR = {
    BUY_DISCRIMINATOR: "buy",
    BUY_EXACT_SOL_IN_DISCRIMINATOR: "buy_exact_sol_in",
    SELL_DISCRIMINATOR: "sell",
    CREATE_DISCRIMINATOR: "create",
    CREATE_V2_DISCRIMINATOR: "create_v2",
}
USER_VOLUME_ACCUMULATOR_DISCRIMINATOR = anchor_discriminator("account", "UserVolumeAccumulator")
USER_VOLUME_ACCUMULATOR_SIZE = 8 + 32 + 1 + 8 * 4 + 1 + 8 * 4  # IDL struct, 106 bytes


def process(ctx: InvokeContext) -> None:
    """Run one pump instruction. Raises ``ProgramFailure`` (already logged)."""
    if len(ctx.data) < 8:
        raise anchor_error(ctx, 100)  # InstructionMissing
    name = _BY_DISCRIMINATOR.get(ctx.data[:8])
    if name is None:
        raise anchor_error(ctx, 101)  # InstructionFallbackNotFound
    ctx.log(f"Program log: Instruction: {_LOG_NAME[name]}")
    try:
        _, args = decode_pump_instruction(ctx.data)
    except DecodeError:
        raise anchor_error(ctx, 102) from None  # InstructionDidNotDeserialize
    ctx.charge(_CU[name])
    if isinstance(args, BuyArgs | BuyExactSolInArgs):
        _buy(ctx, name, args)
    elif isinstance(args, SellArgs):
        _sell(ctx, args)
    else:
        assert isinstance(args, CreateArgs | CreateV2Args)
        create(ctx, name, args)


# -- shared reads ----------------------------------------------------------------------


def _read_curve(ctx: InvokeContext, key: Pubkey) -> BondingCurve:
    acct = ctx.get(key)
    if acct is None:
        raise anchor_error(ctx, 3012, account="bonding_curve")
    try:
        return BondingCurve.decode(bytes(acct.data))
    except DecodeError:
        raise anchor_error(ctx, 3002, account="bonding_curve") from None


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
    assert acct is not None  # read by _validate_trade
    size = len(bytes(acct.data))
    if size < BondingCurve.SIZE:
        rent = ctx.rent_exempt(BondingCurve.SIZE) - ctx.rent_exempt(size)
        system_transfer(ctx, payer, key, rent)


# -- account specs -----------------------------------------------------------------------


def _fixed(name: str, address: Pubkey, owner: Pubkey) -> Acc:
    return Acc(name, ACCOUNT, owners=(owner,), seeds=lambda _k: address)


def _trade_spec(ctx: InvokeContext, *, is_buy: bool) -> list[Acc]:
    tp = 8 if is_buy else 9  # token_program's index (creator_vault is the other one)

    def creator_vault(keys: Sequence[Pubkey]) -> Pubkey:
        creator = _read_curve(ctx, keys[3]).creator or A.ZERO_KEY
        return A.creator_vault_pda(creator)

    head = [
        _fixed("global", A.GLOBAL, A.PUMP_PROGRAM_ID),
        Acc("fee_recipient", mut=True),
        Acc("mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        Acc(
            "bonding_curve",
            ACCOUNT,
            mut=True,
            owners=(A.PUMP_PROGRAM_ID,),
            seeds=lambda k: A.bonding_curve_pda(k[2]),
        ),
        Acc(
            "associated_bonding_curve",
            ACCOUNT,
            mut=True,
            owners=_TOKEN_PROGRAMS,
            seeds=lambda k: A.associated_bonding_curve(k[2], k[tp]),
        ),
        Acc("associated_user", ACCOUNT, mut=True, owners=_TOKEN_PROGRAMS),
        Acc("user", SIGNER, mut=True),
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
    ]
    token_program = Acc("token_program", PROGRAM, address=_TOKEN_PROGRAMS)
    vault = Acc("creator_vault", mut=True, seeds=creator_vault)
    tail = [
        Acc("event_authority", seeds=lambda _k: A.EVENT_AUTHORITY),
        Acc("program", PROGRAM, address=(A.PUMP_PROGRAM_ID,)),
    ]
    fees = [
        _fixed("fee_config", A.FEE_CONFIG, A.PUMP_FEE_PROGRAM_ID),
        Acc("fee_program", PROGRAM, address=(A.PUMP_FEE_PROGRAM_ID,)),
    ]
    if not is_buy:
        return [*head, vault, token_program, *tail, *fees]
    volume = [
        _fixed("global_volume_accumulator", A.GLOBAL_VOLUME_ACCUMULATOR, A.PUMP_PROGRAM_ID),
        Acc(
            "user_volume_accumulator", mut=True, seeds=lambda k: A.user_volume_accumulator_pda(k[6])
        ),
    ]
    return [*head, token_program, vault, *tail, *volume, *fees]


@attrs.frozen
class _Trade:
    """The validated accounts of a buy or sell, by IDL name."""

    keys: list[Pubkey]
    is_buy: bool
    buyback_recipient: Pubkey
    user_volume_accumulator: Pubkey | None

    @property
    def fee_recipient(self) -> Pubkey:
        return self.keys[1]

    @property
    def mint(self) -> Pubkey:
        return self.keys[2]

    @property
    def curve(self) -> Pubkey:
        return self.keys[3]

    @property
    def curve_ata(self) -> Pubkey:
        return self.keys[4]

    @property
    def user_ata(self) -> Pubkey:
        return self.keys[5]

    @property
    def user(self) -> Pubkey:
        return self.keys[6]

    @property
    def token_program(self) -> Pubkey:
        return self.keys[8 if self.is_buy else 9]

    @property
    def creator_vault(self) -> Pubkey:
        return self.keys[9 if self.is_buy else 8]


def _validate_trade(ctx: InvokeContext, *, is_buy: bool) -> tuple[_Trade, Global, BondingCurve]:
    spec = _trade_spec(ctx, is_buy=is_buy)
    keys = validate(ctx, spec, accounts=ctx.metas)
    global_ = read_global(ctx)
    curve = _read_curve(ctx, keys[3])
    remaining = [m.pubkey for m in ctx.metas[len(spec) :]]
    uva: Pubkey | None = A.user_volume_accumulator_pda(keys[6]) if is_buy else None
    if not is_buy and curve.is_cashback_coin and len(remaining) >= 3:
        uva, remaining = remaining[0], remaining[1:]
    if len(remaining) < 2:
        raise thrown(ctx, 6062)
    if remaining[0] != A.bonding_curve_v2_pda(keys[2]):
        raise thrown(ctx, 6074)
    if remaining[1] not in (global_.buyback_fee_recipients or ()):
        raise thrown(ctx, 6057)
    allowed = (
        global_.all_reserved_fee_recipients()
        if curve.is_mayhem_mode
        else global_.all_fee_recipients()
    )
    if keys[1] not in allowed:
        raise thrown(ctx, 6000)
    if curve.complete:
        raise thrown(ctx, 6005)
    trade = _Trade(
        keys=keys, is_buy=is_buy, buyback_recipient=remaining[1], user_volume_accumulator=uva
    )
    return trade, global_, curve


def _split_protocol_fee(global_: Global, protocol_fee: int) -> tuple[int, int, int]:
    """(to fee recipient, to buyback recipient, buyback bps): buyback is a share."""
    bps = global_.buyback_basis_points or 0
    buyback = C.fee(protocol_fee, bps, round_up=False)
    return protocol_fee - buyback, buyback, bps


def _vault_rent(ctx: InvokeContext, vault: Pubkey, fee: int) -> int:
    """Rent the trader adds so a fee can land in a still-empty creator vault."""
    return ctx.rent_exempt(0) if fee > 0 and ctx.lamports(vault) == 0 else 0


# -- buy -------------------------------------------------------------------------------


def _buy(ctx: InvokeContext, name: str, args: BuyArgs | BuyExactSolInArgs) -> None:
    trade, global_, curve = _validate_trade(ctx, is_buy=True)
    rates = _rates(ctx, curve, global_)
    reserves = C.Reserves.of(curve)
    if isinstance(args, BuyArgs):
        if args.amount == 0:
            raise thrown(ctx, 6020)
        if args.amount > curve.real_token_reserves:
            raise thrown(ctx, 6021)
        quote = C.quote_buy(args.amount, reserves, rates)
        if quote.total > args.max_sol_cost:
            raise thrown(ctx, 6002)
    else:
        quote = C.quote_buy_exact_sol_in(args.spendable_sol_in, reserves, rates)
        if quote.amount == 0:
            raise thrown(ctx, 6020)
        if quote.amount < args.min_tokens_out:
            raise thrown(ctx, 6042)
    _grow_curve(ctx, trade.curve, trade.user)
    uva = _ensure_user_volume_accumulator(ctx, trade.user)
    token_transfer(
        ctx,
        token_program=trade.token_program,
        source=trade.curve_ata,
        mint=trade.mint,
        destination=trade.user_ata,
        authority=trade.curve,
        amount=quote.amount,
    )
    to_recipient, buyback, buyback_bps = _split_protocol_fee(global_, quote.protocol_fee)
    system_transfer(ctx, trade.user, trade.curve, quote.sol_cost)
    system_transfer(ctx, trade.user, trade.fee_recipient, to_recipient)
    system_transfer(ctx, trade.user, trade.buyback_recipient, buyback)
    vault_rent = _vault_rent(ctx, trade.creator_vault, quote.creator_fee)
    system_transfer(ctx, trade.user, trade.creator_vault, quote.creator_fee + vault_rent)
    after = C.apply_buy(reserves, quote)
    complete = after.real_token == 0
    _write_curve(ctx, trade.curve, _with_reserves(curve, after, complete=complete))
    volume = _record_volume(ctx, uva, quote.sol_cost, track=args.track_volume)
    emit(
        ctx,
        _trade_event(
            ctx,
            trade,
            curve,
            after,
            quote.sol_cost,
            quote.amount,
            rates,
            quote.protocol_fee,
            quote.creator_fee,
            buyback,
            buyback_bps,
            name,
            volume,
            track=args.track_volume,
        ),
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


def _sell(ctx: InvokeContext, args: SellArgs) -> None:
    trade, global_, curve = _validate_trade(ctx, is_buy=False)
    if args.amount == 0:
        raise thrown(ctx, 6022)
    rates = _rates(ctx, curve, global_)
    reserves = C.Reserves.of(curve)
    quote = C.quote_sell(args.amount, reserves, rates)
    if quote.net < args.min_sol_output:
        raise thrown(ctx, 6003)
    _grow_curve(ctx, trade.curve, trade.user)
    # Too few tokens fails here, in the token program ("insufficient funds", 0x1).
    token_transfer(
        ctx,
        token_program=trade.token_program,
        source=trade.user_ata,
        mint=trade.mint,
        destination=trade.curve_ata,
        authority=trade.user,
        amount=args.amount,
    )
    if quote.sol_out > curve.real_sol_reserves:
        raise thrown(ctx, 6024)
    to_recipient, buyback, buyback_bps = _split_protocol_fee(global_, quote.protocol_fee)
    vault_rent = _vault_rent(ctx, trade.creator_vault, quote.creator_fee)
    system_transfer(ctx, trade.user, trade.creator_vault, vault_rent)
    ctx.move_lamports(trade.curve, trade.user, quote.net)
    ctx.move_lamports(trade.curve, trade.fee_recipient, to_recipient)
    ctx.move_lamports(trade.curve, trade.buyback_recipient, buyback)
    ctx.move_lamports(trade.curve, trade.creator_vault, quote.creator_fee)
    after = C.apply_sell(reserves, quote)
    _write_curve(ctx, trade.curve, _with_reserves(curve, after, complete=False))
    volume = _read_volume(ctx, trade.user_volume_accumulator)
    emit(
        ctx,
        _trade_event(
            ctx,
            trade,
            curve,
            after,
            quote.sol_out,
            args.amount,
            rates,
            quote.protocol_fee,
            quote.creator_fee,
            buyback,
            buyback_bps,
            "sell",
            volume,
            track=False,
        ),
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


def _trade_event(
    ctx: InvokeContext,
    trade: _Trade,
    curve: BondingCurve,
    after: C.Reserves,
    sol_amount: int,
    token_amount: int,
    rates: C.FeeRates,
    protocol_fee: int,
    creator_fee: int,
    buyback_fee: int,
    buyback_bps: int,
    ix_name: str,
    volume: _Volume,
    *,
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
        fee_basis_points=rates.protocol_bps,
        fee=protocol_fee,
        creator=curve.creator or A.ZERO_KEY,
        creator_fee_basis_points=rates.creator_bps,
        creator_fee=creator_fee,
        track_volume=track,
        total_unclaimed_tokens=volume.total_unclaimed_tokens,
        total_claimed_tokens=volume.total_claimed_tokens,
        current_sol_volume=volume.current_sol_volume,
        last_update_timestamp=volume.last_update_timestamp,
        ix_name=ix_name,
        mayhem_mode=bool(curve.is_mayhem_mode),
        cashback_fee_basis_points=0,
        cashback=0,
        buyback_fee_basis_points=buyback_bps,
        buyback_fee=buyback_fee,
        shareholders=(),
        quote_mint=curve.quote_mint or A.ZERO_KEY,
        quote_amount=sol_amount,
        virtual_quote_reserves=after.virtual_sol,
        real_quote_reserves=after.real_sol,
        holder_rewards_bps=0,
        holder_rewards=0,
        unknown_u64_0=curve.unknown_u64_0 or 0,  # mirrors the curve's u64 at 125 (mainnet)
    )
