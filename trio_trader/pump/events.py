"""The pump program's events: CreateEvent, TradeEvent, CompleteEvent (PROTOCOL.md §6).

An event is ``sha256("event:<Name>")[:8]`` followed by borsh fields. The program emits
each one twice: as a ``Program data: <base64>`` log line inside its own invoke frame, and
as a self-CPI whose instruction data is the Anchor event-CPI tag ``e445a52e51cb9a1d``
followed by the same bytes. :func:`decode_event` takes either form.

Every upgrade appended fields, and ``ix_name`` / ``shareholders`` are variable length,
so the decoder reads field by field and stops where the bytes stop: a 2024 TradeEvent
(129 bytes) has ``fee_recipient`` and everything after it ``None``. :func:`encode_event`
writes the fields up to the first ``None``, which makes ``decode(encode(e)) == e``.

:func:`parse_logs` attributes each ``Program data:`` line to the program on top of the
invoke stack, because the TradeEvent discriminator is shared by every Anchor program
with an event of that name and any program can print such a line.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import ClassVar

import attrs
from solders.pubkey import Pubkey

from . import _layout as L
from ._borsh import DecodeError, Reader, Writer
from ._events import EVENT_CPI_TAG, EventCodec, fixed_run, parse_program_events
from .addresses import PUMP_PROGRAM_ID

__all__ = [
    "EVENT_CPI_TAG",
    "CompleteEvent",
    "CreateEvent",
    "DecodeError",
    "Event",
    "Shareholder",
    "TradeEvent",
    "decode_create_event",
    "decode_event",
    "encode_event",
    "parse_logs",
]

log = logging.getLogger(__name__)


@attrs.frozen
class Shareholder:
    """One entry of ``TradeEvent.shareholders`` (creator-fee sharing, 2026-05)."""

    address: Pubkey
    share_bps: int


def _read_shareholders(r: Reader) -> tuple[Shareholder, ...]:
    count = r.vec_len(34, "shareholders")
    return tuple(Shareholder(r.pubkey("address"), r.u16("share_bps")) for _ in range(count))


def _write_shareholders(w: Writer, items: Sequence[Shareholder]) -> None:
    w.u32(len(items))
    for item in items:
        w.pubkey(item.address).u16(item.share_bps)


_SHAREHOLDERS = L.Kind(_read_shareholders, _write_shareholders, None, ())

_TRADE_FIELDS: tuple[L.Field, ...] = (
    ("mint", L.PUBKEY),
    ("sol_amount", L.U64),
    ("token_amount", L.U64),
    ("is_buy", L.BOOL),
    ("user", L.PUBKEY),
    ("timestamp", L.I64),
    ("virtual_sol_reserves", L.U64),
    ("virtual_token_reserves", L.U64),
    ("real_sol_reserves", L.U64),
    ("real_token_reserves", L.U64),  # 2024 events end here
    ("fee_recipient", L.PUBKEY),
    ("fee_basis_points", L.U64),
    ("fee", L.U64),
    ("creator", L.PUBKEY),
    ("creator_fee_basis_points", L.U64),
    ("creator_fee", L.U64),  # May-2025 events end here
    ("track_volume", L.BOOL),
    ("total_unclaimed_tokens", L.U64),
    ("total_claimed_tokens", L.U64),
    ("current_sol_volume", L.U64),
    ("last_update_timestamp", L.I64),
    ("ix_name", L.STRING),
    ("mayhem_mode", L.BOOL),  # Feb-2026 events end here
    ("cashback_fee_basis_points", L.U64),
    ("cashback", L.U64),
    ("buyback_fee_basis_points", L.U64),
    ("buyback_fee", L.U64),
    ("shareholders", _SHAREHOLDERS),
    ("quote_mint", L.PUBKEY),
    ("quote_amount", L.U64),
    ("virtual_quote_reserves", L.U64),
    ("real_quote_reserves", L.U64),
    ("holder_rewards_bps", L.U64),
    ("holder_rewards", L.U64),  # 2026-09-12 events end here (374 B buy / 375 B sell)
    ("unknown_u64_0", L.U64),  # 2026-10-02: 382 B buy / 383 B sell; see TradeEvent
)


@attrs.frozen
class TradeEvent:
    """One buy or sell. ``sol_amount`` is the curve's side, fees excluded; the reserves
    are the ones *after* the trade.

    ``unknown_u64_0`` is the u64 the program appends since its 2026-10-02 deploy (slot
    ≈452,654,932); no IDL names it (SDK 2.0.0 is the newest). On real events it equals
    the u64 at offset 125 of the coin's BondingCurve (``BondingCurve.unknown_u64_0``),
    lamports the curve holds outside its reserves; values seen 0 … 39,743,440 (public
    fixtures of aquecerandroi-oss/project-hunter, t48e/t48g). Not a money input.
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("bddb7fd34ee661ee")
    REQUIRED: ClassVar[int] = 10

    mint: Pubkey
    sol_amount: int
    token_amount: int
    is_buy: bool
    user: Pubkey
    timestamp: int
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    fee_recipient: Pubkey | None = None
    fee_basis_points: int | None = None
    fee: int | None = None
    creator: Pubkey | None = None
    creator_fee_basis_points: int | None = None
    creator_fee: int | None = None
    track_volume: bool | None = None
    total_unclaimed_tokens: int | None = None
    total_claimed_tokens: int | None = None
    current_sol_volume: int | None = None
    last_update_timestamp: int | None = None
    ix_name: str | None = None
    mayhem_mode: bool | None = None
    cashback_fee_basis_points: int | None = None
    cashback: int | None = None
    buyback_fee_basis_points: int | None = None
    buyback_fee: int | None = None
    shareholders: tuple[Shareholder, ...] | None = None
    quote_mint: Pubkey | None = None
    quote_amount: int | None = None
    virtual_quote_reserves: int | None = None
    real_quote_reserves: int | None = None
    holder_rewards_bps: int | None = None
    holder_rewards: int | None = None
    unknown_u64_0: int | None = None


_CREATE_FIELDS: tuple[L.Field, ...] = (
    ("name", L.STRING),
    ("symbol", L.STRING),
    ("uri", L.STRING),
    ("mint", L.PUBKEY),
    ("bonding_curve", L.PUBKEY),
    ("user", L.PUBKEY),  # 2024 events end here
    ("creator", L.PUBKEY),
    ("timestamp", L.I64),
    ("virtual_token_reserves", L.U64),
    ("virtual_sol_reserves", L.U64),
    ("real_token_reserves", L.U64),
    ("token_total_supply", L.U64),  # May-2025 events end here
    ("token_program", L.PUBKEY),
    ("is_mayhem_mode", L.BOOL),  # Nov-2025 (create_v2) events end here
    ("is_cashback_enabled", L.BOOL),
    ("quote_mint", L.PUBKEY),
    ("virtual_quote_reserves", L.U64),
    ("creator_fee_bps", L.U64),
    ("is_holder_reward", L.BOOL),
)


@attrs.frozen
class CreateEvent:
    """A new coin (legacy ``create`` or ``create_v2``); ``user`` paid, ``creator`` earns."""

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("1b72a94ddeeb6376")
    REQUIRED: ClassVar[int] = 6

    name: str
    symbol: str
    uri: str
    mint: Pubkey
    bonding_curve: Pubkey
    user: Pubkey
    creator: Pubkey | None = None
    timestamp: int | None = None
    virtual_token_reserves: int | None = None
    virtual_sol_reserves: int | None = None
    real_token_reserves: int | None = None
    token_total_supply: int | None = None
    token_program: Pubkey | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_enabled: bool | None = None
    quote_mint: Pubkey | None = None
    virtual_quote_reserves: int | None = None
    creator_fee_bps: int | None = None
    is_holder_reward: bool | None = None


_COMPLETE_FIELDS: tuple[L.Field, ...] = (
    ("user", L.PUBKEY),
    ("mint", L.PUBKEY),
    ("bonding_curve", L.PUBKEY),
    ("timestamp", L.I64),
    ("quote_mint", L.PUBKEY),
)


@attrs.frozen
class CompleteEvent:
    """The curve sold its last token (``user`` made that buy); trading moves to PumpSwap."""

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("5f72619cd42e9808")
    REQUIRED: ClassVar[int] = 4

    user: Pubkey
    mint: Pubkey
    bonding_curve: Pubkey
    timestamp: int
    quote_mint: Pubkey | None = None


Event = CreateEvent | TradeEvent | CompleteEvent

_CODEC: EventCodec[Event] = EventCodec(
    [
        (TradeEvent, _TRADE_FIELDS),
        (CreateEvent, _CREATE_FIELDS),
        (CompleteEvent, _COMPLETE_FIELDS),
    ],
    "pump Create/Trade/Complete",
)


def decode_event(data: bytes) -> Event:
    """Decode one event from ``disc ‖ payload`` or ``e445a52e51cb9a1d ‖ disc ‖ payload``.

    Bytes after the newest known field are ignored (a future upgrade appends fields).

    Raises:
        DecodeError: unknown discriminator, or the payload is shorter than the oldest
            layout or ends inside a field.
    """
    return _CODEC.decode(data)


_U32 = struct.Struct("<I")
_CREATE_DISC = CreateEvent.DISCRIMINATOR
_CREATE_STRINGS = 3  # name, symbol, uri; every other field is fixed-size (`_CREATE_TAIL`)
_CREATE_TAIL = fixed_run(_CREATE_FIELDS[_CREATE_STRINGS:])


def decode_create_event(data: bytes) -> CreateEvent:
    """``decode_event`` for a ``CreateEvent``, faster on the usual bytes: the event that
    starts a BUY.

    Bytes that start with the discriminator and hold the three strings (UTF-8) and every
    field after them are read with one ``struct``; anything else (an older or cut layout,
    the self-CPI form, a bool byte other than 0/1) goes to ``decode_event``, so results
    and errors are exactly ``decode_event``'s (``tests/listeners/test_fast_decode.py``).

    Raises:
        DecodeError: as ``decode_event``, or the bytes are another event.
    """
    data = bytes(data)
    strings: list[str] = []
    pos, end = 8, len(data)
    if data[:8] == _CREATE_DISC:
        while len(strings) < _CREATE_STRINGS and pos + 4 <= end:
            stop = pos + 4 + _U32.unpack_from(data, pos)[0]
            if stop > end:
                break
            try:
                strings.append(data[pos + 4 : stop].decode("utf-8"))
            except UnicodeDecodeError:
                break
            pos = stop
    if len(strings) == _CREATE_STRINGS and pos + _CREATE_TAIL.layout.size <= end:
        row = _CREATE_TAIL.read(data, pos)
        if row is not None:
            name, symbol, uri = strings
            return CreateEvent(name, symbol, uri, *row)
    event = _CODEC.decode(data)
    if not isinstance(event, CreateEvent):
        raise DecodeError(f"not a CreateEvent: {type(event).__name__}")
    return event


def encode_event(event: Event) -> bytes:
    """``disc ‖ borsh`` of every field up to the first ``None`` (what the program logs)."""
    return _CODEC.encode(event)


_PUMP = str(PUMP_PROGRAM_ID)


def parse_logs(logs: Sequence[str]) -> list[Event]:
    """The pump program's Create/Trade/Complete events in a transaction's log, in order.

    Only ``Program data:`` lines printed while the pump program is on top of the invoke
    stack count, so a router that wraps pump still yields pump's events and another
    program's same-named event does not. Other pump events (``ExtendAccountEvent`` …)
    are skipped; a pump line that does not decode is logged and skipped, so one bad line
    never costs the caller the rest of the transaction.
    """
    return parse_program_events(logs, _PUMP, _CODEC, log=log, what="pump")
