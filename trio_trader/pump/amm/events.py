"""PumpSwap events: ``BuyEvent``, ``SellEvent``, ``CreatePoolEvent`` (docs/protocol-pumpswap.md §5).

Same framing as the pump program's events, and the same codec and invoke-stack log scanner
(:mod:`trio_trader.pump._events`): 8-byte ``sha256("event:<Name>")`` discriminator then
borsh fields, emitted both as a ``Program data:`` log line and as an Anchor event self-CPI
(``e445a52e51cb9a1d`` tag).
Every AMM upgrade appended fields, so :func:`decode_amm_event` reads field by field and
stops where the bytes stop (unread fields ``None``); :func:`encode_amm_event` writes up to
the first ``None`` so ``decode(encode(e)) == e``.

The reserves in Buy/Sell events are the pool's token-account balances *before* the trade.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import attrs
from solders.pubkey import Pubkey

from .. import _layout as L
from .._events import EventCodec, parse_program_events
from ..addresses import PUMP_AMM_PROGRAM_ID

__all__ = [
    "AmmEvent",
    "BuyEvent",
    "CreatePoolEvent",
    "SellEvent",
    "decode_amm_event",
    "encode_amm_event",
    "parse_amm_logs",
]

log = logging.getLogger(__name__)

_BUY_FIELDS: tuple[L.Field, ...] = (
    ("timestamp", L.I64),
    ("base_amount_out", L.U64),
    ("max_quote_amount_in", L.U64),
    ("user_base_token_reserves", L.U64),
    ("user_quote_token_reserves", L.U64),
    ("pool_base_token_reserves", L.U64),
    ("pool_quote_token_reserves", L.U64),
    ("quote_amount_in", L.U64),
    ("lp_fee_basis_points", L.U64),
    ("lp_fee", L.U64),
    ("protocol_fee_basis_points", L.U64),
    ("protocol_fee", L.U64),
    ("quote_amount_in_with_lp_fee", L.U64),
    ("user_quote_amount_in", L.U64),
    ("pool", L.PUBKEY),
    ("user", L.PUBKEY),
    ("user_base_token_account", L.PUBKEY),
    ("user_quote_token_account", L.PUBKEY),
    ("protocol_fee_recipient", L.PUBKEY),
    ("protocol_fee_recipient_token_account", L.PUBKEY),  # 2025-04 events end here
    ("coin_creator", L.PUBKEY),
    ("coin_creator_fee_basis_points", L.U64),
    ("coin_creator_fee", L.U64),  # 2025-05
    ("track_volume", L.BOOL),
    ("total_unclaimed_tokens", L.U64),
    ("total_claimed_tokens", L.U64),
    ("current_sol_volume", L.U64),
    ("last_update_timestamp", L.I64),  # 2025-08
    ("min_base_amount_out", L.U64),
    ("ix_name", L.STRING),  # 2025-10: "buy" | "buy_exact_quote_in"
    ("cashback_fee_basis_points", L.U64),
    ("cashback", L.U64),  # 2026-02
    ("buyback_fee_basis_points", L.U64),
    ("buyback_fee", L.U64),  # 2026-05
    ("virtual_quote_reserves", L.I128),
    ("can_boost", L.BOOL),
    ("base_supply", L.U64),  # SDK 1.20.0
    ("holder_rewards_bps", L.U64),
    ("holder_rewards", L.U64),  # pump-sdk 2.0.0 IDL
)

_SELL_FIELDS: tuple[L.Field, ...] = (
    ("timestamp", L.I64),
    ("base_amount_in", L.U64),
    ("min_quote_amount_out", L.U64),
    ("user_base_token_reserves", L.U64),
    ("user_quote_token_reserves", L.U64),
    ("pool_base_token_reserves", L.U64),
    ("pool_quote_token_reserves", L.U64),
    ("quote_amount_out", L.U64),
    ("lp_fee_basis_points", L.U64),
    ("lp_fee", L.U64),
    ("protocol_fee_basis_points", L.U64),
    ("protocol_fee", L.U64),
    ("quote_amount_out_without_lp_fee", L.U64),
    ("user_quote_amount_out", L.U64),
    ("pool", L.PUBKEY),
    ("user", L.PUBKEY),
    ("user_base_token_account", L.PUBKEY),
    ("user_quote_token_account", L.PUBKEY),
    ("protocol_fee_recipient", L.PUBKEY),
    ("protocol_fee_recipient_token_account", L.PUBKEY),  # 2025-04 events end here
    ("coin_creator", L.PUBKEY),
    ("coin_creator_fee_basis_points", L.U64),
    ("coin_creator_fee", L.U64),  # 2025-05
    ("cashback_fee_basis_points", L.U64),
    ("cashback", L.U64),  # 2026-02
    ("buyback_fee_basis_points", L.U64),
    ("buyback_fee", L.U64),  # 2026-05
    ("virtual_quote_reserves", L.I128),
    ("can_boost", L.BOOL),
    ("base_supply", L.U64),  # SDK 1.20.0
    ("holder_rewards_bps", L.U64),
    ("holder_rewards", L.U64),  # pump-sdk 2.0.0 IDL
)

_CREATE_POOL_FIELDS: tuple[L.Field, ...] = (
    ("timestamp", L.I64),
    ("index", L.U16),
    ("creator", L.PUBKEY),
    ("base_mint", L.PUBKEY),
    ("quote_mint", L.PUBKEY),
    ("base_mint_decimals", L.U8),
    ("quote_mint_decimals", L.U8),
    ("base_amount_in", L.U64),
    ("quote_amount_in", L.U64),
    ("pool_base_amount", L.U64),
    ("pool_quote_amount", L.U64),
    ("minimum_liquidity", L.U64),
    ("initial_liquidity", L.U64),
    ("lp_token_amount_out", L.U64),
    ("pool_bump", L.U8),
    ("pool", L.PUBKEY),
    ("lp_mint", L.PUBKEY),
    ("user_base_token_account", L.PUBKEY),
    ("user_quote_token_account", L.PUBKEY),  # 2025-04 events end here
    ("coin_creator", L.PUBKEY),  # 2025-05
    ("is_mayhem_mode", L.BOOL),  # 2025-11
    ("creator_fee_bps", L.U64),
    ("can_edit_creator_fee", L.BOOL),  # SDK 1.20.0
    ("is_holder_reward", L.BOOL),  # pump-sdk 2.0.0 IDL
)


@attrs.frozen
class BuyEvent:
    """A PumpSwap buy. ``quote_amount_in`` is the curve amount before fees;
    ``user_quote_amount_in`` what left the user; reserves are the pool's before the trade."""

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("67f4521f2cf57777")
    REQUIRED: ClassVar[int] = 20

    timestamp: int
    base_amount_out: int
    max_quote_amount_in: int
    user_base_token_reserves: int
    user_quote_token_reserves: int
    pool_base_token_reserves: int
    pool_quote_token_reserves: int
    quote_amount_in: int
    lp_fee_basis_points: int
    lp_fee: int
    protocol_fee_basis_points: int
    protocol_fee: int
    quote_amount_in_with_lp_fee: int
    user_quote_amount_in: int
    pool: Pubkey
    user: Pubkey
    user_base_token_account: Pubkey
    user_quote_token_account: Pubkey
    protocol_fee_recipient: Pubkey
    protocol_fee_recipient_token_account: Pubkey
    coin_creator: Pubkey | None = None
    coin_creator_fee_basis_points: int | None = None
    coin_creator_fee: int | None = None
    track_volume: bool | None = None
    total_unclaimed_tokens: int | None = None
    total_claimed_tokens: int | None = None
    current_sol_volume: int | None = None
    last_update_timestamp: int | None = None
    min_base_amount_out: int | None = None
    ix_name: str | None = None
    cashback_fee_basis_points: int | None = None
    cashback: int | None = None
    buyback_fee_basis_points: int | None = None
    buyback_fee: int | None = None
    virtual_quote_reserves: int | None = None
    can_boost: bool | None = None
    base_supply: int | None = None
    holder_rewards_bps: int | None = None
    holder_rewards: int | None = None


@attrs.frozen
class SellEvent:
    """A PumpSwap sell. ``quote_amount_out`` is the constant-product output before fees;
    ``user_quote_amount_out`` what reached the user; reserves are the pool's before it."""

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("3e2f370aa503dc2a")
    REQUIRED: ClassVar[int] = 20

    timestamp: int
    base_amount_in: int
    min_quote_amount_out: int
    user_base_token_reserves: int
    user_quote_token_reserves: int
    pool_base_token_reserves: int
    pool_quote_token_reserves: int
    quote_amount_out: int
    lp_fee_basis_points: int
    lp_fee: int
    protocol_fee_basis_points: int
    protocol_fee: int
    quote_amount_out_without_lp_fee: int
    user_quote_amount_out: int
    pool: Pubkey
    user: Pubkey
    user_base_token_account: Pubkey
    user_quote_token_account: Pubkey
    protocol_fee_recipient: Pubkey
    protocol_fee_recipient_token_account: Pubkey
    coin_creator: Pubkey | None = None
    coin_creator_fee_basis_points: int | None = None
    coin_creator_fee: int | None = None
    cashback_fee_basis_points: int | None = None
    cashback: int | None = None
    buyback_fee_basis_points: int | None = None
    buyback_fee: int | None = None
    virtual_quote_reserves: int | None = None
    can_boost: bool | None = None
    base_supply: int | None = None
    holder_rewards_bps: int | None = None
    holder_rewards: int | None = None


@attrs.frozen
class CreatePoolEvent:
    """A new pool (``create_pool``, or pump's ``migrate`` via CPI)."""

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("b1310cd2a076a774")
    REQUIRED: ClassVar[int] = 19

    timestamp: int
    index: int
    creator: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    base_mint_decimals: int
    quote_mint_decimals: int
    base_amount_in: int
    quote_amount_in: int
    pool_base_amount: int
    pool_quote_amount: int
    minimum_liquidity: int
    initial_liquidity: int
    lp_token_amount_out: int
    pool_bump: int
    pool: Pubkey
    lp_mint: Pubkey
    user_base_token_account: Pubkey
    user_quote_token_account: Pubkey
    coin_creator: Pubkey | None = None
    is_mayhem_mode: bool | None = None
    creator_fee_bps: int | None = None
    can_edit_creator_fee: bool | None = None
    is_holder_reward: bool | None = None


AmmEvent = BuyEvent | SellEvent | CreatePoolEvent

_CODEC: EventCodec[AmmEvent] = EventCodec(
    [
        (BuyEvent, _BUY_FIELDS),
        (SellEvent, _SELL_FIELDS),
        (CreatePoolEvent, _CREATE_POOL_FIELDS),
    ],
    "PumpSwap Buy/Sell/CreatePool",
)


def decode_amm_event(data: bytes) -> AmmEvent:
    """Decode ``disc ‖ payload`` or ``e445a52e51cb9a1d ‖ disc ‖ payload``.

    Bytes after the newest known field are ignored (a later upgrade appends fields).

    Raises:
        DecodeError: unknown discriminator, or shorter than the oldest layout, or a field
            cut in half.
    """
    return _CODEC.decode(data)


def encode_amm_event(event: AmmEvent) -> bytes:
    """``disc ‖ borsh`` of every field up to the first ``None`` (what the program logs)."""
    return _CODEC.encode(event)


_AMM = str(PUMP_AMM_PROGRAM_ID)


def parse_amm_logs(logs: Sequence[str]) -> list[AmmEvent]:
    """PumpSwap Buy/Sell/CreatePool events in a transaction's log, in order.

    Only ``Program data:`` lines printed while the AMM is on top of the invoke stack count
    (pump's ``migrate`` CPIs the AMM, whose CreatePoolEvent is then attributed correctly;
    another program's same-named event is not). A line that does not decode is logged
    and skipped.
    """
    return parse_program_events(logs, _AMM, _CODEC, log=log, what="PumpSwap")
