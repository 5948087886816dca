"""Instruction builders for today's pump program, plus the few system ones a trade needs.

Account order and flags follow ``pump.json`` (PROTOCOL.md §4.2). Since 2026-04-28 the
legacy ``buy`` / ``buy_exact_sol_in`` / ``sell`` also need two trailing remaining accounts
that no IDL lists - ``bonding_curve_v2`` (read-only) then one of the eight buyback fee
recipients (writable) - or the program fails with 6062 ``BuybackFeeRecipientMissing``.
When the caller does not pick a buyback recipient we use the first: deterministic
transactions are easier to test and to compare with the simulator (the official SDK picks
one at random only to spread write locks).

The decoders at the bottom turn instruction data back into arguments; the simulator uses
them to execute what a client sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, ParamSpec

import attrs
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from ._account_meta import buyback_or_first
from ._account_meta import r as _r
from ._account_meta import rs as _rs
from ._account_meta import w as _w
from ._account_meta import ws as _ws
from ._borsh import DecodeError, Reader, Writer, anchor_discriminator
from .addresses import (
    ASSOCIATED_TOKEN_PROGRAM_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    GLOBAL,
    GLOBAL_VOLUME_ACCUMULATOR,
    MAYHEM_GLOBAL_PARAMS,
    MAYHEM_PROGRAM_ID,
    MAYHEM_SOL_VAULT,
    METAPLEX_PROGRAM_ID,
    MINT_AUTHORITY,
    PUMP_FEE_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    RENT_SYSVAR_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    associated_bonding_curve,
    associated_token_address,
    bonding_curve_pda,
    bonding_curve_v2_pda,
    creator_vault_pda,
    global_volume_accumulator_pda,
    mayhem_state_pda,
    mayhem_token_vault,
    metadata_pda,
    normalize_quote_mint,
    sharing_config_pda,
    user_volume_accumulator_pda,
)

__all__ = [
    "BUY_DISCRIMINATOR",
    "BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR",
    "BUY_EXACT_SOL_IN_DISCRIMINATOR",
    "BUY_V2_DISCRIMINATOR",
    "CREATE_DISCRIMINATOR",
    "CREATE_V2_DISCRIMINATOR",
    "SELL_DISCRIMINATOR",
    "SELL_V2_DISCRIMINATOR",
    "AccountSpec",
    "BuyArgs",
    "BuyExactQuoteInV2Args",
    "BuyExactSolInArgs",
    "BuyV2Args",
    "CreateArgs",
    "CreateV2Args",
    "Curve",
    "InstructionSpec",
    "SellArgs",
    "SellV2Args",
    "buy",
    "buy_exact_quote_in_v2",
    "buy_exact_sol_in",
    "buy_spec",
    "buy_v2",
    "buy_v2_spec",
    "close_account",
    "create",
    "create_associated_token_account_idempotent",
    "create_associated_token_account_idempotent_spec",
    "create_v2",
    "decode_compute_budget",
    "decode_pump_instruction",
    "sell",
    "sell_v2",
    "set_compute_unit_limit",
    "set_compute_unit_limit_spec",
    "set_compute_unit_price",
    "set_compute_unit_price_spec",
]

BUY_DISCRIMINATOR = anchor_discriminator("global", "buy")
BUY_EXACT_SOL_IN_DISCRIMINATOR = anchor_discriminator("global", "buy_exact_sol_in")
SELL_DISCRIMINATOR = anchor_discriminator("global", "sell")
CREATE_DISCRIMINATOR = anchor_discriminator("global", "create")
CREATE_V2_DISCRIMINATOR = anchor_discriminator("global", "create_v2")
BUY_V2_DISCRIMINATOR = anchor_discriminator("global", "buy_v2")
SELL_V2_DISCRIMINATOR = anchor_discriminator("global", "sell_v2")
BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR = anchor_discriminator("global", "buy_exact_quote_in_v2")


@attrs.frozen
class BuyArgs:
    amount: int
    max_sol_cost: int
    track_volume: bool = False


@attrs.frozen
class BuyExactSolInArgs:
    spendable_sol_in: int
    min_tokens_out: int
    track_volume: bool = False


@attrs.frozen
class SellArgs:
    amount: int
    min_sol_output: int


@attrs.frozen
class BuyV2Args:
    """``buy_v2``: exactly ``amount`` tokens for at most ``max_sol_cost`` quote units."""

    amount: int
    max_sol_cost: int


@attrs.frozen
class SellV2Args:
    """``sell_v2``: exactly ``amount`` tokens for at least ``min_sol_output`` quote units."""

    amount: int
    min_sol_output: int


@attrs.frozen
class BuyExactQuoteInV2Args:
    """``buy_exact_quote_in_v2``: spend ``spendable_quote_in``, get >= ``min_tokens_out``."""

    spendable_quote_in: int
    min_tokens_out: int


@attrs.frozen
class CreateArgs:
    name: str
    symbol: str
    uri: str
    creator: Pubkey | None  # None in 2024 instructions, which had no creator argument


@attrs.frozen
class CreateV2Args:
    name: str
    symbol: str
    uri: str
    creator: Pubkey
    is_mayhem_mode: bool = False
    is_cashback_enabled: bool = False
    creator_fee_bps: int = 0
    is_holder_reward: bool = False


#: an account as ``AccountMeta`` holds it, (key, is_signer, is_writable), and an instruction
#: as plain values, (program id, accounts, data): the bot's BUY is compiled from these by
#: ``chain.templates.compile_message`` without building solders objects
AccountSpec = tuple[Pubkey, bool, bool]
InstructionSpec = tuple[Pubkey, Sequence[AccountSpec], bytes]
_P = ParamSpec("_P")


def _ro(pubkey: Pubkey) -> AccountSpec:
    return (pubkey, False, False)


def _wr(pubkey: Pubkey) -> AccountSpec:
    return (pubkey, False, True)


#: account metas that are the same in every SELL, built once: building each anew was a
#: measurable share of the exit path
_EVENT_CPI_R = (_r(EVENT_AUTHORITY), _r(PUMP_PROGRAM_ID))
_FEE_R = (_r(FEE_CONFIG), _r(PUMP_FEE_PROGRAM_ID))


@lru_cache(maxsize=64)
def _fixed_r(pubkey: Pubkey) -> AccountMeta:
    """``_r`` of an account that recurs across trades (a token program): built once."""
    return _r(pubkey)


@lru_cache(maxsize=64)
def _user_volume_w(user: Pubkey) -> AccountMeta:
    """The wallet's volume accumulator, writable: the same in each of its trades."""
    return _w(user_volume_accumulator_pda(user))


#: mints whose account metas are kept (``_legacy_head``, ``_legacy_tail``): far more than
#: the positions open at once, so a position's SELLs find what its BUY built
_TRADED_MINTS = 512


#: a mint's bonding curve and the curve's token account (``TokenInfo.bonding_curve``,
#: ``TokenInfo.associated_bonding_curve``), or ``None`` for the builder to derive them
Curve = tuple[Pubkey, Pubkey] | None


def _curve_accounts(mint: Pubkey, token_program: Pubkey, curve: Curve) -> tuple[Pubkey, Pubkey]:
    """The caller's curve accounts, else derived from ``mint``: the bot passes the token's,
    so its BUY and SELLs derive neither PDA again (the decode took the curve from the
    CreateEvent)."""
    if curve is not None:
        return curve
    return bonding_curve_pda(mint), associated_bonding_curve(mint, token_program)


def _legacy_head_specs(
    user: Pubkey, mint: Pubkey, token_program: Pubkey, fee_recipient: Pubkey, curve: Curve
) -> tuple[AccountSpec, ...]:
    """Accounts 0-7 of the legacy buy, buy_exact_sol_in and sell (the same in all three)."""
    bonding_curve, curve_ata = _curve_accounts(mint, token_program, curve)
    return (
        (GLOBAL, False, False),
        (fee_recipient, False, True),
        (mint, False, False),
        (bonding_curve, False, True),
        (curve_ata, False, True),
        (associated_token_address(user, mint, token_program), False, True),
        (user, True, True),
        (SYSTEM_PROGRAM_ID, False, False),
    )


@lru_cache(maxsize=_TRADED_MINTS)
def _legacy_head(
    user: Pubkey, mint: Pubkey, token_program: Pubkey, fee_recipient: Pubkey, curve: Curve
) -> tuple[AccountMeta, ...]:
    """``_legacy_head_specs`` as metas, cached (``AccountMeta`` is immutable): a position's
    SELLs name the same accounts attempt after attempt."""
    return _metas(_legacy_head_specs(user, mint, token_program, fee_recipient, curve))


def _legacy_tail_specs(
    mint: Pubkey, buyback_fee_recipient: Pubkey | None
) -> tuple[AccountSpec, ...]:
    """The two remaining accounts no IDL lists (since 2026-04-28, see the module doc)."""
    return (
        (bonding_curve_v2_pda(mint), False, False),
        (buyback_or_first(buyback_fee_recipient), False, True),
    )


@lru_cache(maxsize=_TRADED_MINTS)
def _legacy_tail(mint: Pubkey, buyback_fee_recipient: Pubkey | None) -> tuple[AccountMeta, ...]:
    return _metas(_legacy_tail_specs(mint, buyback_fee_recipient))


def _metas(specs: Iterable[AccountSpec]) -> tuple[AccountMeta, ...]:
    return tuple(AccountMeta(*spec) for spec in specs)


@lru_cache(maxsize=_TRADED_MINTS)
def _creator_vault_w(creator: Pubkey) -> AccountMeta:
    """The creator vault, writable: the same in a position's SELLs."""
    return _w(creator_vault_pda(creator))


def _buy_specs(
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    buyback_fee_recipient: Pubkey | None,
    curve: Curve,
) -> list[AccountSpec]:
    return [
        *_legacy_head_specs(user, mint, token_program, fee_recipient, curve),
        (token_program, False, False),
        (creator_vault_pda(creator), False, True),
        (EVENT_AUTHORITY, False, False),
        (PUMP_PROGRAM_ID, False, False),
        (GLOBAL_VOLUME_ACCUMULATOR, False, False),
        (user_volume_accumulator_pda(user), False, True),
        (FEE_CONFIG, False, False),
        (PUMP_FEE_PROGRAM_ID, False, False),
        *_legacy_tail_specs(mint, buyback_fee_recipient),
    ]


def _instruction(spec: InstructionSpec) -> Instruction:
    program_id, accounts, data = spec
    return Instruction(program_id, data, list(_metas(accounts)))


def _as_instruction(build_spec: Callable[_P, InstructionSpec]) -> Callable[_P, Instruction]:
    """The builder of the ``Instruction`` that ``build_spec`` describes (one account list
    serves the bot's BUY, compiled from specs, and everything that wants solders objects)."""

    def build(*args: _P.args, **kwargs: _P.kwargs) -> Instruction:
        return _instruction(build_spec(*args, **kwargs))

    build.__doc__ = build_spec.__doc__
    build.__name__ = build_spec.__name__.removesuffix("_spec")
    return build


def buy_spec(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    amount: int,
    max_sol_cost: int,
    track_volume: bool = False,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> InstructionSpec:
    """Buy exactly ``amount`` tokens paying at most ``max_sol_cost`` lamports incl. fees.

    Args:
        creator: ``BondingCurve.creator`` (the creator vault is derived from it).
        token_program: the mint's owner (legacy SPL Token or Token-2022).
        fee_recipient: from the normal list, or the reserved list for mayhem coins.
        buyback_fee_recipient: one of :data:`BUYBACK_FEE_RECIPIENTS`; default the first.
        curve: (bonding curve, its token account) of the mint, if known (the token's);
            derived from ``mint`` when ``None``.

    Returns:
        18 accounts: the 16 of the IDL, ``bonding_curve_v2`` and the buyback recipient.
    """
    data = Writer(BUY_DISCRIMINATOR).u64(amount).u64(max_sol_cost).bool(track_volume)
    accounts = _buy_specs(
        user, mint, creator, token_program, fee_recipient, buyback_fee_recipient, curve
    )
    return PUMP_PROGRAM_ID, accounts, data.to_bytes()


def buy_exact_sol_in(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    spendable_sol_in: int,
    min_tokens_out: int,
    track_volume: bool = False,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> Instruction:
    """Spend exactly ``spendable_sol_in`` lamports (fees included), same 18 accounts as buy."""
    data = Writer(BUY_EXACT_SOL_IN_DISCRIMINATOR).u64(spendable_sol_in).u64(min_tokens_out)
    data.bool(track_volume)
    accounts = _buy_specs(
        user, mint, creator, token_program, fee_recipient, buyback_fee_recipient, curve
    )
    return _instruction((PUMP_PROGRAM_ID, accounts, data.to_bytes()))


def sell(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    amount: int,
    min_sol_output: int,
    cashback: bool = False,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> Instruction:
    """Sell exactly ``amount`` tokens for at least ``min_sol_output`` lamports after fees.

    Note ``creator_vault`` comes *before* ``token_program`` in sell (after it in buy).
    For a cashback coin (``BondingCurve.is_cashback_coin``) pass ``cashback=True`` so the
    seller's ``user_volume_accumulator`` (index 14) receives the creator-fee cashback.

    Returns:
        16 accounts (17 with ``cashback``).
    """
    data = Writer(SELL_DISCRIMINATOR).u64(amount).u64(min_sol_output).to_bytes()
    accounts = [
        *_legacy_head(user, mint, token_program, fee_recipient, curve),
        _creator_vault_w(creator),
        _fixed_r(token_program),
        *_EVENT_CPI_R,
        *_FEE_R,
    ]
    if cashback:
        accounts.append(_user_volume_w(user))
    accounts += _legacy_tail(mint, buyback_fee_recipient)
    return Instruction(PUMP_PROGRAM_ID, data, accounts)


def _v2_specs(
    *,
    with_global_volume: bool,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    quote_mint: Pubkey | None,
    quote_token_program: Pubkey,
    buyback_fee_recipient: Pubkey | None,
    curve: Curve,
) -> list[AccountSpec]:
    """The fixed account list of ``buy_v2`` / ``buy_exact_quote_in_v2`` (27) or ``sell_v2`` (26).

    Order and flags from pump.json (SDK 2.0.0); every quote-side account is the ATA of its
    owner for the quote mint under ``quote_token_program`` (SDK ``quoteAta``).
    """
    quote = normalize_quote_mint(quote_mint)
    buyback = buyback_or_first(buyback_fee_recipient)
    bonding_curve, curve_ata = _curve_accounts(mint, token_program, curve)
    vault = creator_vault_pda(creator)
    uva = user_volume_accumulator_pda(user)

    def quote_ata(owner: Pubkey) -> Pubkey:
        return associated_token_address(owner, quote, quote_token_program)

    accounts = [
        _ro(GLOBAL),
        _ro(mint),
        _ro(quote),
        _ro(token_program),
        _ro(quote_token_program),
        _ro(ASSOCIATED_TOKEN_PROGRAM_ID),
        _wr(fee_recipient),
        _wr(quote_ata(fee_recipient)),
        _wr(buyback),
        _wr(quote_ata(buyback)),
        _wr(bonding_curve),
        _wr(curve_ata),
        _wr(quote_ata(bonding_curve)),
        (user, True, True),
        _wr(associated_token_address(user, mint, token_program)),
        _wr(quote_ata(user)),
        _wr(vault),
        _wr(quote_ata(vault)),
        _ro(sharing_config_pda(mint)),
    ]
    if with_global_volume:
        accounts.append(_ro(global_volume_accumulator_pda()))
    accounts += [
        _wr(uva),
        _wr(quote_ata(uva)),
        _ro(FEE_CONFIG),
        _ro(PUMP_FEE_PROGRAM_ID),
        _ro(SYSTEM_PROGRAM_ID),
        _ro(EVENT_AUTHORITY),
        _ro(PUMP_PROGRAM_ID),
    ]
    return accounts


def _v2_accounts(**kwargs: Any) -> list[AccountMeta]:
    """:func:`_v2_specs` as metas."""
    return list(_metas(_v2_specs(**kwargs)))


def buy_v2_spec(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    amount: int,
    max_sol_cost: int,
    quote_mint: Pubkey | None = None,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> InstructionSpec:
    """``buy_v2``: exactly ``amount`` tokens for at most ``max_sol_cost`` quote units, fees incl.

    Args:
        creator: ``BondingCurve.creator`` (the holder-rewards PDA for holder-reward coins).
        token_program: the base mint's owner (legacy SPL Token or Token-2022).
        quote_mint: ``BondingCurve.quote_mint``; the zero key or ``None`` (SOL) becomes WSOL.
        quote_token_program: the quote mint's owner (SPL Token for WSOL and USDC).
        buyback_fee_recipient: one of Global's buyback recipients; default the first.
        curve: (bonding curve, its token account), if known; derived when ``None``.

    Returns:
        27 accounts, no remaining accounts (pump.json ``buy_v2``).
    """
    data = Writer(BUY_V2_DISCRIMINATOR).u64(amount).u64(max_sol_cost).to_bytes()
    accounts = _v2_specs(
        with_global_volume=True, user=user, mint=mint, creator=creator,
        token_program=token_program, fee_recipient=fee_recipient, quote_mint=quote_mint,
        quote_token_program=quote_token_program, buyback_fee_recipient=buyback_fee_recipient,
        curve=curve,
    )  # fmt: skip
    return PUMP_PROGRAM_ID, accounts, data


def buy_exact_quote_in_v2(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    spendable_quote_in: int,
    min_tokens_out: int,
    quote_mint: Pubkey | None = None,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> Instruction:
    """``buy_exact_quote_in_v2``: spend ``spendable_quote_in`` (fees incl.); same 27 accounts."""
    data = Writer(BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR).u64(spendable_quote_in)
    data.u64(min_tokens_out)
    accounts = _v2_accounts(
        with_global_volume=True,
        user=user,
        mint=mint,
        creator=creator,
        token_program=token_program,
        fee_recipient=fee_recipient,
        quote_mint=quote_mint,
        quote_token_program=quote_token_program,
        buyback_fee_recipient=buyback_fee_recipient,
        curve=curve,
    )
    return Instruction(PUMP_PROGRAM_ID, data.to_bytes(), accounts)


def sell_v2(
    *,
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    amount: int,
    min_sol_output: int,
    quote_mint: Pubkey | None = None,
    quote_token_program: Pubkey = TOKEN_PROGRAM_ID,
    buyback_fee_recipient: Pubkey | None = None,
    curve: Curve = None,
) -> Instruction:
    """``sell_v2``: exactly ``amount`` tokens for at least ``min_sol_output`` quote units.

    Returns:
        26 accounts: ``buy_v2``'s without ``global_volume_accumulator`` (pump.json).
    """
    data = Writer(SELL_V2_DISCRIMINATOR).u64(amount).u64(min_sol_output).to_bytes()
    accounts = _v2_accounts(
        with_global_volume=False,
        user=user,
        mint=mint,
        creator=creator,
        token_program=token_program,
        fee_recipient=fee_recipient,
        quote_mint=quote_mint,
        quote_token_program=quote_token_program,
        buyback_fee_recipient=buyback_fee_recipient,
        curve=curve,
    )
    return Instruction(PUMP_PROGRAM_ID, data, accounts)


def create(
    *, mint: Pubkey, user: Pubkey, creator: Pubkey, name: str, symbol: str, uri: str
) -> Instruction:
    """Legacy ``create``: an SPL Token mint with Metaplex metadata (14 accounts).

    ``mint`` and ``user`` must both sign the transaction.
    """
    data = Writer(CREATE_DISCRIMINATOR).string(name).string(symbol).string(uri).pubkey(creator)
    accounts = [
        _ws(mint),
        _r(MINT_AUTHORITY),
        _w(bonding_curve_pda(mint)),
        _w(associated_bonding_curve(mint, TOKEN_PROGRAM_ID)),
        _r(GLOBAL),
        _r(METAPLEX_PROGRAM_ID),
        _w(metadata_pda(mint)),
        _ws(user),
        _r(SYSTEM_PROGRAM_ID),
        _r(TOKEN_PROGRAM_ID),
        _r(ASSOCIATED_TOKEN_PROGRAM_ID),
        _r(RENT_SYSVAR_ID),
        _r(EVENT_AUTHORITY),
        _r(PUMP_PROGRAM_ID),
    ]
    return Instruction(PUMP_PROGRAM_ID, data.to_bytes(), accounts)


def create_v2(
    *,
    mint: Pubkey,
    user: Pubkey,
    creator: Pubkey,
    name: str,
    symbol: str,
    uri: str,
    is_mayhem_mode: bool = False,
    is_cashback_enabled: bool = False,
    creator_fee_bps: int = 0,
    is_holder_reward: bool = False,
) -> Instruction:
    """``create_v2``: a Token-2022 mint with metadata in the mint (16 accounts).

    The mayhem accounts are required even when ``is_mayhem_mode`` is false.
    """
    data = Writer(CREATE_V2_DISCRIMINATOR).string(name).string(symbol).string(uri)
    data.pubkey(creator).bool(is_mayhem_mode).bool(is_cashback_enabled)
    data.u64(creator_fee_bps).bool(is_holder_reward)
    accounts = [
        _ws(mint),
        _r(MINT_AUTHORITY),
        _w(bonding_curve_pda(mint)),
        _w(associated_bonding_curve(mint, TOKEN_2022_PROGRAM_ID)),
        _r(GLOBAL),
        _ws(user),
        _r(SYSTEM_PROGRAM_ID),
        _r(TOKEN_2022_PROGRAM_ID),
        _r(ASSOCIATED_TOKEN_PROGRAM_ID),
        _w(MAYHEM_PROGRAM_ID),
        _r(MAYHEM_GLOBAL_PARAMS),
        _w(MAYHEM_SOL_VAULT),
        _w(mayhem_state_pda(mint)),
        _w(mayhem_token_vault(mint)),
        _r(EVENT_AUTHORITY),
        _r(PUMP_PROGRAM_ID),
    ]
    return Instruction(PUMP_PROGRAM_ID, data.to_bytes(), accounts)


def create_associated_token_account_idempotent_spec(
    *, payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: Pubkey
) -> InstructionSpec:
    """ATA program ``CreateIdempotent`` (data ``[1]``): a no-op when the account exists."""
    accounts = (
        (payer, True, True),
        _wr(associated_token_address(owner, mint, token_program)),
        _ro(owner),
        _ro(mint),
        _ro(SYSTEM_PROGRAM_ID),
        _ro(token_program),
    )
    return ASSOCIATED_TOKEN_PROGRAM_ID, accounts, b"\x01"


@lru_cache(maxsize=_TRADED_MINTS)  # immutable: a position's SELLs close the same account
def close_account(
    *, account: Pubkey, destination: Pubkey, owner: Pubkey, token_program: Pubkey
) -> Instruction:
    """Token ``CloseAccount`` (data ``[9]``): rent goes to ``destination``; balance must be 0."""
    accounts = [_w(account), _w(destination), _rs(owner)]
    return Instruction(token_program, bytes([9]), accounts)


@lru_cache(maxsize=256)  # the same few values in trade after trade (never mutated)
def set_compute_unit_limit_spec(units: int) -> InstructionSpec:
    """Compute Budget ``SetComputeUnitLimit``: ``[2] ‖ u32``."""
    return COMPUTE_BUDGET_PROGRAM_ID, (), Writer().u8(2).u32(units).to_bytes()


@lru_cache(maxsize=256)
def set_compute_unit_price_spec(micro_lamports: int) -> InstructionSpec:
    """Compute Budget ``SetComputeUnitPrice`` (priority fee per CU): ``[3] ‖ u64``."""
    return COMPUTE_BUDGET_PROGRAM_ID, (), Writer().u8(3).u64(micro_lamports).to_bytes()


#: the builders of the instructions above as solders ``Instruction`` s (same arguments)
buy = _as_instruction(buy_spec)
buy_v2 = _as_instruction(buy_v2_spec)
create_associated_token_account_idempotent = _as_instruction(
    create_associated_token_account_idempotent_spec
)
set_compute_unit_limit = lru_cache(maxsize=256)(_as_instruction(set_compute_unit_limit_spec))
set_compute_unit_price = lru_cache(maxsize=256)(_as_instruction(set_compute_unit_price_spec))


PumpArgs = (
    BuyArgs
    | BuyExactSolInArgs
    | SellArgs
    | CreateArgs
    | CreateV2Args
    | BuyV2Args
    | SellV2Args
    | BuyExactQuoteInV2Args
)


def decode_pump_instruction(data: bytes) -> tuple[str, PumpArgs]:
    """``("buy", BuyArgs)``, ``("buy_exact_sol_in", …)``, ``("sell", …)``, ``("create", …)``,
    ``("create_v2", …)``, ``("buy_v2", BuyV2Args)``, ``("sell_v2", SellV2Args)`` or
    ``("buy_exact_quote_in_v2", BuyExactQuoteInV2Args)`` from instruction data.

    Bytes after the arguments are ignored, as Anchor does. Trailing arguments added by
    upgrades (``track_volume``, the ``create_v2`` options) decode as false/0 when absent,
    as the program treats them ("EOF-tolerant").

    Raises:
        DecodeError: another instruction, or arguments cut short.
    """
    data = bytes(data)
    disc, r = data[:8], Reader(data, 8)
    if len(disc) < 8:
        raise DecodeError(f"instruction data of {len(data)} bytes has no discriminator")
    if disc == BUY_DISCRIMINATOR:
        buy_args = BuyArgs(r.u64("amount"), r.u64("max_sol_cost"), r.trailing_bool("track_volume"))
        return ("buy", buy_args)
    if disc == BUY_EXACT_SOL_IN_DISCRIMINATOR:
        exact = BuyExactSolInArgs(
            r.u64("spendable_sol_in"), r.u64("min_tokens_out"), r.trailing_bool("track_volume")
        )
        return ("buy_exact_sol_in", exact)
    if disc == SELL_DISCRIMINATOR:
        return ("sell", SellArgs(r.u64("amount"), r.u64("min_sol_output")))
    if disc == BUY_V2_DISCRIMINATOR:
        return ("buy_v2", BuyV2Args(r.u64("amount"), r.u64("max_sol_cost")))
    if disc == SELL_V2_DISCRIMINATOR:
        return ("sell_v2", SellV2Args(r.u64("amount"), r.u64("min_sol_output")))
    if disc == BUY_EXACT_QUOTE_IN_V2_DISCRIMINATOR:
        quote_in = BuyExactQuoteInV2Args(r.u64("spendable_quote_in"), r.u64("min_tokens_out"))
        return ("buy_exact_quote_in_v2", quote_in)
    if disc == CREATE_DISCRIMINATOR:
        name, symbol, uri = r.string("name"), r.string("symbol"), r.string("uri")
        creator = r.pubkey("creator") if r.remaining else None
        return ("create", CreateArgs(name, symbol, uri, creator))
    if disc == CREATE_V2_DISCRIMINATOR:
        name, symbol, uri = r.string("name"), r.string("symbol"), r.string("uri")
        creator = r.pubkey("creator")
        mayhem = r.trailing_bool("is_mayhem_mode")
        cashback = r.trailing_bool("is_cashback_enabled")
        fee_bps = r.u64("creator_fee_bps") if r.remaining else 0
        holder = r.trailing_bool("is_holder_reward")
        args = CreateV2Args(name, symbol, uri, creator, mayhem, cashback, fee_bps, holder)
        return ("create_v2", args)
    raise DecodeError(f"not a pump trade/create instruction: discriminator {disc.hex()}")


def decode_compute_budget(data: bytes) -> tuple[str, int]:
    """``("limit", units)``, ``("price", micro_lamports)``, ``("heap", bytes)`` or
    ``("loaded_accounts_data_size_limit", bytes)`` from Compute Budget instruction data.

    Raises:
        DecodeError: an unknown tag or a short value.
    """
    data = bytes(data)
    if not data:
        raise DecodeError("empty compute budget instruction")
    r = Reader(data, 1)
    tag = data[0]
    if tag == 1:
        return "heap", r.u32("heap frame bytes")
    if tag == 2:
        return "limit", r.u32("compute unit limit")
    if tag == 3:
        return "price", r.u64("compute unit price")
    if tag == 4:
        return "loaded_accounts_data_size_limit", r.u32("loaded accounts data size")
    raise DecodeError(f"unknown compute budget instruction tag {tag}")
