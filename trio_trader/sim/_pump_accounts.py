"""The accounts of the emulated pump trades: legacy ``buy``/``sell`` and the ``*_v2`` ones.

Both kinds resolve to one :class:`Trade` (who pays whom, through which accounts) that
:mod:`.pump_program` executes with the same curve math and fee split.

Legacy (PROTOCOL.md §4.2): 16/14 IDL accounts + ``bonding_curve_v2`` and a buyback
recipient as trailing accounts. ``buy_v2`` / ``buy_exact_quote_in_v2`` (27) and
``sell_v2`` (26): order, flags and seeds from pump.json (SDK 2.0.0); no remaining
accounts. Anchor's two passes (:mod:`._pump_checks`) check kinds, ``mut`` and seeds;
then the handler checks, in this order (legacy / v2):

* trailing accounts: 6062 missing, 6074 wrong ``bonding_curve_v2`` (legacy only);
* 6057 buyback recipient not in ``Global.buyback_fee_recipients``;
* 6000 fee recipient not in Global's (reserved, for mayhem coins) list;
* legacy: 6063 ``UnsupportedQuoteMint`` on a curve quoted in a token (PROTOCOL.md: such
  coins "can only be traded with the v2 ones"; the code is inferred);
* v2 only: 6063 ``UnsupportedQuoteMint`` when ``quote_mint`` is not the curve's (WSOL
  standing for SOL curves, SDK ``normalizeQuoteMint``) — inferred code, the program's
  check is undocumented;
* 6081 ``BondingCurveAlreadyMigrated`` when the curve has migrated (complete and its
  reserves zeroed by ``migrate``), else 6005 ``BondingCurveComplete`` when complete —
  inferred split: pump.json names both, the program's order is not public.

How a v2 trade pays (PROTOCOL.md §4.2): a SOL curve (quote WSOL) moves **native** SOL
exactly as legacy does — its quote-side ATAs are only seed-checked and need not exist; a
curve quoted in a token (USDC) moves that token between the quote ATAs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump.accounts import BondingCurve, Global

from ._invoke import InvokeContext
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, thrown, validate
from ._pump_common import read_curve, read_global
from ._tokens import TOKEN_2022_PROGRAM, TOKEN_PROGRAM

__all__ = [
    "QuoteAccounts",
    "Trade",
    "bonding_curve_acc",
    "is_migrated",
    "legacy_trade",
    "v2_trade",
]

_TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)


@attrs.frozen
class QuoteAccounts:
    """The token accounts of a trade quoted in an SPL token (not SOL)."""

    mint: Pubkey
    token_program: Pubkey
    user: Pubkey
    curve: Pubkey
    fee_recipient: Pubkey
    buyback_recipient: Pubkey
    creator_vault: Pubkey


@attrs.frozen
class Trade:
    """One validated buy or sell: every account it moves value between."""

    is_buy: bool
    ix_name: str  # TradeEvent.ix_name
    user: Pubkey
    mint: Pubkey
    curve: Pubkey
    curve_ata: Pubkey
    user_ata: Pubkey
    token_program: Pubkey
    fee_recipient: Pubkey
    creator_vault: Pubkey
    buyback_recipient: Pubkey
    user_volume_accumulator: Pubkey | None
    quote: QuoteAccounts | None = None  # None: the trade moves native SOL


def is_migrated(curve: BondingCurve) -> bool:
    """``migrate`` zeroes a completed curve's reserves (the SDK's "migrated" test)."""
    return bool(curve.complete) and curve.virtual_token_reserves == 0


def _fixed(name: str, address: Pubkey, owner: Pubkey) -> Acc:
    return Acc(name, ACCOUNT, owners=(owner,), seeds=lambda _k: address)


def bonding_curve_acc(mint_index: int) -> Acc:
    """``bonding_curve``: pump's, the PDA of the mint at ``mint_index``."""
    return Acc(
        "bonding_curve",
        ACCOUNT,
        mut=True,
        owners=(A.PUMP_PROGRAM_ID,),
        seeds=lambda k: A.bonding_curve_pda(k[mint_index]),
    )


_EVENT_ACCS = (
    Acc("event_authority", seeds=lambda _k: A.EVENT_AUTHORITY),
    Acc("program", PROGRAM, address=(A.PUMP_PROGRAM_ID,)),
)
_FEE_ACCS = (
    _fixed("fee_config", A.FEE_CONFIG, A.PUMP_FEE_PROGRAM_ID),
    Acc("fee_program", PROGRAM, address=(A.PUMP_FEE_PROGRAM_ID,)),
)


def _ata(owner: int, tp: int, mint: int) -> Callable[[Sequence[Pubkey]], Pubkey]:
    return lambda k: A.associated_token_address(k[owner], k[mint], k[tp])


def _creator_vault(ctx: InvokeContext, curve_index: int) -> Callable[[Sequence[Pubkey]], Pubkey]:
    def derive(keys: Sequence[Pubkey]) -> Pubkey:
        creator = read_curve(ctx, keys[curve_index]).creator or A.ZERO_KEY
        return A.creator_vault_pda(creator)

    return derive


def _handler_checks(
    ctx: InvokeContext, global_: Global, curve: BondingCurve, fee_recipient: Pubkey
) -> None:
    allowed = (
        global_.all_reserved_fee_recipients()
        if curve.is_mayhem_mode
        else global_.all_fee_recipients()
    )
    if fee_recipient not in allowed:
        raise thrown(ctx, 6000)


def _state_checks(ctx: InvokeContext, curve: BondingCurve) -> None:
    if is_migrated(curve):
        raise thrown(ctx, 6081)
    if curve.complete:
        raise thrown(ctx, 6005)


# -- legacy ------------------------------------------------------------------------------


def _legacy_spec(ctx: InvokeContext, *, is_buy: bool) -> list[Acc]:
    tp = 8 if is_buy else 9  # token_program's index (creator_vault is the other one)
    head = [
        _fixed("global", A.GLOBAL, A.PUMP_PROGRAM_ID),
        Acc("fee_recipient", mut=True),
        Acc("mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        bonding_curve_acc(2),
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
    vault = Acc("creator_vault", mut=True, seeds=_creator_vault(ctx, 3))
    if not is_buy:
        return [*head, vault, token_program, *_EVENT_ACCS, *_FEE_ACCS]
    volume = [
        _fixed("global_volume_accumulator", A.GLOBAL_VOLUME_ACCUMULATOR, A.PUMP_PROGRAM_ID),
        Acc(
            "user_volume_accumulator", mut=True, seeds=lambda k: A.user_volume_accumulator_pda(k[6])
        ),
    ]
    return [*head, token_program, vault, *_EVENT_ACCS, *volume, *_FEE_ACCS]


def legacy_trade(
    ctx: InvokeContext, ix_name: str, *, is_buy: bool
) -> tuple[Trade, Global, BondingCurve]:
    """Validate a legacy ``buy`` / ``buy_exact_sol_in`` / ``sell``."""
    spec = _legacy_spec(ctx, is_buy=is_buy)
    keys = validate(ctx, spec, accounts=ctx.metas)
    global_ = read_global(ctx)
    curve = read_curve(ctx, keys[3])
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
    _handler_checks(ctx, global_, curve, keys[1])
    if curve.quote_mint not in (None, A.ZERO_KEY):
        raise thrown(ctx, 6063)  # a token-quoted curve trades only through the v2 ones
    _state_checks(ctx, curve)
    trade = Trade(
        is_buy=is_buy,
        ix_name=ix_name,
        user=keys[6],
        mint=keys[2],
        curve=keys[3],
        curve_ata=keys[4],
        user_ata=keys[5],
        token_program=keys[8 if is_buy else 9],
        fee_recipient=keys[1],
        creator_vault=keys[9 if is_buy else 8],
        buyback_recipient=remaining[1],
        user_volume_accumulator=uva,
    )
    return trade, global_, curve


# -- v2 ----------------------------------------------------------------------------------

# Indices shared by buy_v2 / buy_exact_quote_in_v2 / sell_v2 (pump.json).
_BASE_MINT, _QUOTE_MINT, _BASE_TP, _QUOTE_TP = 1, 2, 3, 4
_FEE, _FEE_ATA, _BUYBACK, _BUYBACK_ATA = 6, 7, 8, 9
_CURVE, _CURVE_BASE, _CURVE_QUOTE = 10, 11, 12
_USER, _USER_BASE, _USER_QUOTE, _VAULT, _VAULT_ATA = 13, 14, 15, 16, 17


def _v2_spec(ctx: InvokeContext, *, is_buy: bool) -> list[Acc]:
    uva = 20 if is_buy else 19
    head = [
        _fixed("global", A.GLOBAL, A.PUMP_PROGRAM_ID),
        Acc("base_mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        Acc("quote_mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        Acc("base_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("quote_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("associated_token_program", PROGRAM, address=(A.ASSOCIATED_TOKEN_PROGRAM_ID,)),
        Acc("fee_recipient", mut=True),
        Acc("associated_quote_fee_recipient", mut=True, seeds=_ata(_FEE, _QUOTE_TP, _QUOTE_MINT)),
        Acc("buyback_fee_recipient", mut=True),
        Acc(
            "associated_quote_buyback_fee_recipient",
            mut=True,
            seeds=_ata(_BUYBACK, _QUOTE_TP, _QUOTE_MINT),
        ),
        bonding_curve_acc(_BASE_MINT),
        Acc(
            "associated_base_bonding_curve",
            ACCOUNT,
            mut=True,
            owners=_TOKEN_PROGRAMS,
            seeds=_ata(_CURVE, _BASE_TP, _BASE_MINT),
        ),
        Acc(
            "associated_quote_bonding_curve",
            mut=True,
            seeds=_ata(_CURVE, _QUOTE_TP, _QUOTE_MINT),
        ),
        Acc("user", SIGNER, mut=True),
        Acc("associated_base_user", ACCOUNT, mut=True, owners=_TOKEN_PROGRAMS),
        Acc("associated_quote_user", mut=True),
        Acc("creator_vault", mut=True, seeds=_creator_vault(ctx, _CURVE)),
        Acc("associated_creator_vault", mut=True, seeds=_ata(_VAULT, _QUOTE_TP, _QUOTE_MINT)),
        Acc("sharing_config", seeds=lambda k: A.sharing_config_pda(k[_BASE_MINT])),
    ]
    volume = [
        Acc(
            "user_volume_accumulator",
            mut=True,
            seeds=lambda k: A.user_volume_accumulator_pda(k[_USER]),
        ),
        Acc(
            "associated_user_volume_accumulator",
            mut=True,
            seeds=_ata(uva, _QUOTE_TP, _QUOTE_MINT),
        ),
    ]
    if is_buy:
        global_volume = _fixed(
            "global_volume_accumulator", A.GLOBAL_VOLUME_ACCUMULATOR, A.PUMP_PROGRAM_ID
        )
        volume.insert(0, global_volume)
    tail = [
        *_FEE_ACCS,
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
        *_EVENT_ACCS,
    ]
    return [*head, *volume, *tail]


def v2_trade(
    ctx: InvokeContext, ix_name: str, *, is_buy: bool
) -> tuple[Trade, Global, BondingCurve]:
    """Validate a ``buy_v2`` / ``buy_exact_quote_in_v2`` / ``sell_v2``."""
    keys = validate(ctx, _v2_spec(ctx, is_buy=is_buy), accounts=ctx.metas)
    global_ = read_global(ctx)
    curve = read_curve(ctx, keys[_CURVE])
    if keys[_BUYBACK] not in (global_.buyback_fee_recipients or ()):
        raise thrown(ctx, 6057)
    _handler_checks(ctx, global_, curve, keys[_FEE])
    curve_quote = curve.quote_mint
    sol_curve = curve_quote is None or curve_quote == A.ZERO_KEY
    if keys[_QUOTE_MINT] != (A.WSOL_MINT if sol_curve else curve_quote):
        raise thrown(ctx, 6063)
    _state_checks(ctx, curve)
    quote = None
    if not sol_curve:
        quote = QuoteAccounts(
            mint=keys[_QUOTE_MINT],
            token_program=keys[_QUOTE_TP],
            user=keys[_USER_QUOTE],
            curve=keys[_CURVE_QUOTE],
            fee_recipient=keys[_FEE_ATA],
            buyback_recipient=keys[_BUYBACK_ATA],
            creator_vault=keys[_VAULT_ATA],
        )
    trade = Trade(
        is_buy=is_buy,
        ix_name=ix_name,
        user=keys[_USER],
        mint=keys[_BASE_MINT],
        curve=keys[_CURVE],
        curve_ata=keys[_CURVE_BASE],
        user_ata=keys[_USER_BASE],
        token_program=keys[_BASE_TP],
        fee_recipient=keys[_FEE],
        creator_vault=keys[_VAULT],
        buyback_recipient=keys[_BUYBACK],
        user_volume_accumulator=keys[20 if is_buy else 19],
        quote=quote,
    )
    return trade, global_, curve
