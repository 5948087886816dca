"""Turn one transaction's log lines into :class:`NewToken` and :class:`PriceUpdate` values.

Shared by both listeners. Failed transactions are ignored (their events never happened);
a line that does not decode is logged and skipped, never raised: one odd transaction must
not stop detection.

Notifications are untrusted JSON (up to 1024 levels deep): the readers below check each
field they use and raise `Malformed` naming it, and log lines show an item only through
`untrusted.preview` (a plain `repr` of a deep one raises `RecursionError`).

Decode only what matters: nearly every notification is one trade, and a price needs the
`TradeEvent`'s first ten fields, the ones every layout since 2024 starts with (121 bytes, one
`struct`), plus the curve's `creator` at its fixed offset (the exit's SELL names it without
reading the curve). So a transaction without a `CreateEvent` has its pump `TradeEvent`s read
that far and no further (`price_from_event_bytes`): the fields after them are neither read nor
checked, so a trade whose tail a future upgrade changes still prices. A transaction with a
`CreateEvent` (about one in a hundred) has its CreateEvents decoded whole, from the lines
already picked, and its trades' first fields read for the token's facts (the creator's buy,
the reserves after it); the token is handed on before the trades' `PriceUpdate` values are
built (`read_transaction`, `TxEvents.prices`): the BUY waits for nothing else. Either way
only the lines the pump program printed while on top of the invoke stack count
(`pump.events.parse_logs`' rule).

Skip what nobody holds: given `wants` (the trade feed's held mints), a transaction is read
only if one of its ``Program data:`` lines may be a `CreateEvent` or a `TradeEvent` of a
wanted mint, judged from the line's first 42 bytes (discriminator and mint, at fixed
offsets) before the invoke stack is scanned or anything else decoded (`_may_matter`). On
mainnet most trades are of coins the bot does not hold.
"""

from __future__ import annotations

import base64
import binascii
import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from trio_trader.pump import DecodeError
from trio_trader.pump._events import PROGRAM_DATA, program_data_lines
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.pump.curve import Reserves
from trio_trader.pump.events import CreateEvent, TradeEvent, decode_create_event
from trio_trader.trading.token_info import TokenInfo

from .types import NewToken, PriceUpdate

log = logging.getLogger(__name__)

T = TypeVar("T")


class Malformed(ValueError):
    """A notification lacks a field we use, or has it in the wrong shape."""


def field(obj: object, key: str, kind: type[T]) -> T:
    """`obj[key]`, which must exist and be a `kind`."""
    if not isinstance(obj, dict):
        raise Malformed(f"not an object where {key!r} should be")
    value = obj.get(key)
    if not isinstance(value, kind):
        raise Malformed(f"{key!r} is {type(value).__name__}, not {kind.__name__}")
    return value


def optional_slot(value: object) -> int | None:
    """A slot if `value` is one (a non-negative int), else None: the slot is only a label."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def log_lines(value: object) -> list[str]:
    """A transaction's log messages: a list of strings (null or absent: none)."""
    return joined_log(value)[0]


def joined_log(value: object) -> tuple[list[str], str]:
    """`log_lines`, and the lines joined by newlines: the check is the join, and the text is
    what `read_transaction` searches first (pass it on as ``text``)."""
    if value is None:
        return [], ""
    if not isinstance(value, list):
        raise Malformed("logs are not a list of strings")
    try:
        text = "\n".join(value)  # in C: a TypeError at the first item that is not a str
    except TypeError:
        raise Malformed("logs are not a list of strings") from None
    return value, text


def context_slot(item: dict[str, Any]) -> int | None:
    """`item["context"]["slot"]`, None when absent or not a slot."""
    context = item.get("context")
    return optional_slot(context.get("slot")) if isinstance(context, dict) else None


_PUMP = str(PUMP_PROGRAM_ID)
_TRADE = TradeEvent.DISCRIMINATOR
_CREATE = CreateEvent.DISCRIMINATOR
#: mint, sol_amount, token_amount, is_buy, user, timestamp, the four reserves
_PRICE_FIELDS = struct.Struct("<32sQQB32sqQQQQ")
#: ``creator`` follows fee_recipient, fee_basis_points and fee (May-2025 events and later)
_CREATOR_AT = 8 + _PRICE_FIELDS.size + 32 + 8 + 8
_CREATOR_END = _CREATOR_AT + 32
#: base64 characters of an event line's first 42 bytes: its discriminator and (a trade's) mint
_HEAD_CHARS = 56
#: a trade line's first characters (its discriminator's first 60 bits, whole characters only)
#: and where its ``Program data:`` line ends being read: the characters of the bytes up to
#: ``creator`` (a price's fields, in groups of 4 characters = 3 bytes)
_TRADE_B64 = base64.b64encode(_TRADE).decode()[:10]
_TRADE_LINE_READ = len(PROGRAM_DATA) + -(-_CREATOR_END // 3) * 4
_TRADE_B64_AT = slice(len(PROGRAM_DATA), len(PROGRAM_DATA) + len(_TRADE_B64))

#: which mints' trades matter (32 bytes each), e.g. ``TradeFeed.holds``
MintFilter = Callable[[bytes], bool]


class TxEvents:
    """One transaction's new tokens, and its pump trades, priced on demand (`prices`).

    A create transaction's token is handed on before its trades are priced: the BUY does
    not wait for the `PriceUpdate` values, whose facts the token already holds.
    """

    __slots__ = ("_at", "_trades", "tokens")

    def __init__(
        self, tokens: list[NewToken], trades: list[bytes], at: tuple[str, int | None, float]
    ) -> None:
        self.tokens = tokens
        self._trades = trades  # pump TradeEvent bytes, in order
        self._at = at  # signature, slot, seen_at

    def prices(self) -> list[PriceUpdate]:
        """The trades' price updates, in order; a malformed trade is logged and skipped."""
        signature, slot, seen_at = self._at
        prices: list[PriceUpdate] = []
        for data in self._trades:
            price = _price(data, signature, slot, seen_at)
            if price is None:
                log.warning("skipping malformed pump TradeEvent in %s", signature)
            else:
                prices.append(price)
        return prices


def decode_transaction(
    logs: Sequence[str],
    *,
    signature: str,
    slot: int | None,
    seen_at: float,
    wants: MintFilter | None = None,
) -> tuple[list[NewToken], list[PriceUpdate]]:
    """The new tokens and price updates carried by one successful transaction's logs.

    With ``wants``, a transaction without a `CreateEvent` or a trade of a wanted mint is
    not read at all (``[], []``); one with either is read whole, as without ``wants``.
    """
    events = read_transaction(logs, signature=signature, slot=slot, seen_at=seen_at, wants=wants)
    return events.tokens, events.prices()


def read_transaction(
    logs: Sequence[str],
    *,
    signature: str,
    slot: int | None,
    seen_at: float,
    wants: MintFilter | None = None,
    text: str | None = None,
) -> TxEvents:
    """`decode_transaction` with the trades not yet priced (``TxEvents.prices``).

    ``text``: ``"\\n".join(logs)`` if the caller has it already (`joined_log`).
    """
    at = (signature, slot, seen_at)
    if wants is not None and not _may_matter("\n".join(logs) if text is None else text, wants):
        return TxEvents([], [], at)
    try:
        payloads = _pump_payloads(logs, signature)
        trades = [data for data in payloads if data[:8] == _TRADE]
        tokens: list[NewToken] = []
        if len(trades) < len(payloads) and any(data[:8] == _CREATE for data in payloads):
            tokens = _decode_whole(payloads, signature=signature, slot=slot, seen_at=seen_at)
    except Exception as exc:  # a decoder bug or hostile data: skip this tx, keep running
        log.warning("skipping undecodable logs of %s: %s", signature, exc)
        return TxEvents([], [], at)
    return TxEvents(tokens, trades, at)


def _may_matter(text: str, wants: MintFilter) -> bool:
    """Whether a ``Program data:`` line of ``text`` (a log's lines joined, in one C-level
    search instead of a Python loop over the lines) may be a `CreateEvent` or a `TradeEvent`
    of a mint ``wants``.

    Every occurrence of the marker counts, whoever printed it and wherever it stands: the
    invoke-stack scan only ever drops lines, so a transaction none of whose candidates
    passes here yields nothing there either. A candidate whose first 56 characters are not
    strict base64 (a short, cut or malformed line) is left to the full read, which logs what
    it cannot decode; a trade of a coin nobody holds is skipped unread, tail and all.
    """
    # From the end: the order does not matter, and an event line comes late in its log (a
    # trade's is ~90 % of the way down), so a held coin's trade is found after a short search
    at = text.rfind(PROGRAM_DATA)
    while at >= 0:
        start = at + len(PROGRAM_DATA)
        try:
            head = binascii.a2b_base64(text[start : start + _HEAD_CHARS], strict_mode=True)
        except (binascii.Error, ValueError):
            return True
        kind = head[:8]
        if kind == _CREATE or (kind == _TRADE and (len(head) < 40 or wants(head[8:40]))):
            return True
        at = text.rfind(PROGRAM_DATA, 0, at)
    return False


def _pump_payloads(logs: Sequence[str], signature: str) -> list[bytes]:
    """The bytes of every ``Program data:`` line the pump program printed on top of the stack.

    A ``TradeEvent``'s are read as far as a price needs (its first 210 bytes, up to and
    with ``creator``: `price_from_event_bytes`, `_trade_heads`), like its fields: its tail,
    ~40 % of the line's characters, is neither decoded nor checked, so a trade whose tail a
    future upgrade changes, or a node garbles, still prices. Every other line is read whole.
    """
    payloads: list[bytes] = []
    cut, start, disc = _TRADE_LINE_READ, len(PROGRAM_DATA), _TRADE_B64_AT
    for line in program_data_lines(logs, _PUMP):
        # a trade's head (strict base64 of whole 4-character groups: the same bytes); the
        # rest whole, stripped, as b64decode(validate=True) without its regex over the line
        trade = len(line) > cut and line[disc] == _TRADE_B64
        body = line[start:cut] if trade else line[start:].strip()
        try:
            payloads.append(binascii.a2b_base64(body, strict_mode=True))
        except (binascii.Error, ValueError):
            log.warning("undecodable base64 in a pump log line of %s: %.80s", signature, line)
    return payloads


def price_from_event_bytes(
    data: bytes, *, signature: str, slot: int | None, seen_at: float
) -> PriceUpdate | None:
    """The price in ``TradeEvent`` bytes (``disc ‖ borsh``), from its first ten fields
    and ``creator``.

    None when the bytes end before those ten fields or ``is_buy`` is not 0 or 1 (what the
    full decoder rejects there too). ``creator`` is read at its fixed offset when the
    bytes reach it (a 2024 event does not: ``None``); nothing else after the ten is read.
    """
    return _price(data, signature, slot, seen_at)


def _price(data: bytes, signature: str, slot: int | None, seen_at: float) -> PriceUpdate | None:
    """`price_from_event_bytes`, called positionally: once per trade of a held coin."""
    if len(data) < 8 + _PRICE_FIELDS.size:
        return None
    mint, sol, tokens, is_buy, user, _, v_sol, v_tokens, r_sol, r_tokens = (
        _PRICE_FIELDS.unpack_from(data, 8)
    )
    if is_buy > 1:
        return None
    creator = data[_CREATOR_AT:_CREATOR_END] if len(data) >= _CREATOR_END else None
    # positional: once per trade, and keywords cost as much as the object (`PriceUpdate`);
    # the addresses stay bytes until someone reads them (`PriceUpdate.mint`)
    return PriceUpdate(
        mint, v_sol, v_tokens, r_sol, r_tokens, is_buy == 1,
        user, sol, tokens, signature, slot, seen_at, None, creator,
    )  # fmt: skip


def _decode_whole(
    payloads: Sequence[bytes], *, signature: str, slot: int | None, seen_at: float
) -> list[NewToken]:
    """A create transaction's tokens: its pump CreateEvents decoded whole.

    ``payloads`` are the lines `_pump_payloads` already picked (the invoke stack is not
    scanned a second time, as ``parse_logs`` would). The token's facts from the trades
    (the creator's buy, the reserves after the last trade of the mint) are among a
    ``TradeEvent``'s first ten fields, read here with one ``struct`` each (`_trade_heads`),
    without building the `PriceUpdate` values: the BUY waits for nothing else.
    """
    heads = _trade_heads(payloads)
    tokens: list[NewToken] = []
    for data in payloads:
        if data[:8] != _CREATE:
            continue
        ev = _create_event(data, signature)
        if ev is None:
            continue
        try:
            creator_buy, reserves = _creator_facts(ev, heads)
            info = TokenInfo.from_create_event(ev, signature=signature, reserves=reserves)
        except Exception as exc:
            log.warning("skipping malformed CreateEvent in %s: %s", signature, exc)
            continue
        tokens.append(
            NewToken(
                token_info=info,
                creator_buy_lamports=creator_buy,
                signature=signature,
                slot=slot,
                seen_at=seen_at,
            )
        )
    return tokens


#: a TradeEvent's first ten fields (`_PRICE_FIELDS`), as unpacked
_Head = tuple[bytes, int, int, int, bytes, int, int, int, int, int]


def _trade_heads(payloads: Sequence[bytes]) -> list[_Head]:
    """The first ten fields of each well-formed pump TradeEvent, in order.

    Well-formed as `price_from_event_bytes` judges (long enough, ``is_buy`` 0 or 1): the
    others are skipped here as they are there, where they are logged.
    """
    heads: list[_Head] = []
    for data in payloads:
        if data[:8] == _TRADE and len(data) >= 8 + _PRICE_FIELDS.size:
            head: _Head = _PRICE_FIELDS.unpack_from(data, 8)
            if head[3] <= 1:
                heads.append(head)
    return heads


def _creator_facts(ev: CreateEvent, heads: list[_Head]) -> tuple[int, Reserves | None]:
    """What the create transaction's trades say of ``ev``'s coin: the creator's buy (the
    first buy of the mint by ``user`` or ``creator``, the rule the token filters read; 0
    without one) and the reserves after the last trade of the mint (None: no trade).

    A create is usually followed by the creator's buy in the same transaction; the
    ``CreateEvent`` carries the reserves *before* it. The buyer quotes from the token's
    reserves without a read in extreme fast mode, so it gets the state after the last
    trade of this mint in the transaction.
    """
    mint = bytes(ev.mint)
    buyers = (bytes(ev.user), bytes(ev.user if ev.creator is None else ev.creator))
    creator_buy: int | None = None
    last: _Head | None = None
    for head in heads:
        if head[0] != mint:
            continue
        last = head
        if creator_buy is None and head[3] == 1 and head[4] in buyers:
            creator_buy = head[1]
    reserves = None if last is None else Reserves(last[6], last[7], last[8], last[9])
    return creator_buy or 0, reserves


def _create_event(data: bytes, signature: str) -> CreateEvent | None:
    """A ``CreateEvent`` decoded whole, a malformed one logged (None)."""
    try:
        return decode_create_event(data)
    except DecodeError as exc:
        log.warning("skipping malformed pump event in %s: %s", signature, exc)
        return None
