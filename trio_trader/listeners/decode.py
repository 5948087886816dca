"""Turn one transaction's log lines into :class:`NewToken` and :class:`PriceUpdate` values.

Shared by both listeners. Failed transactions are ignored (their events never happened);
a line that does not decode is logged and skipped, never raised: one odd transaction must
not stop detection.

Notifications are untrusted JSON (up to 1024 levels deep): the readers below check each
field they use and raise `Malformed` naming it, and log lines show an item only through
`untrusted.preview` (a plain `repr` of a deep one raises `RecursionError`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from trio_trader.pump.events import CreateEvent, TradeEvent, parse_logs
from trio_trader.trading.token_info import TokenInfo

from .types import NewToken, PriceUpdate, creator_buy_lamports

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
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise Malformed("logs are not a list of strings")
    return value


def context_slot(item: dict[str, Any]) -> int | None:
    """`item["context"]["slot"]`, None when absent or not a slot."""
    context = item.get("context")
    return optional_slot(context.get("slot")) if isinstance(context, dict) else None


def decode_transaction(
    logs: Sequence[str], *, signature: str, slot: int | None, seen_at: float
) -> tuple[list[NewToken], list[PriceUpdate]]:
    """The new tokens and price updates carried by one successful transaction's logs."""
    try:
        events: list[object] = list(parse_logs(logs))
    except Exception as exc:  # a decoder bug or hostile data: skip this tx, keep running
        log.warning("skipping undecodable logs of %s: %s", signature, exc)
        return [], []
    tokens: list[NewToken] = []
    prices: list[PriceUpdate] = []
    for ev in events:
        if isinstance(ev, CreateEvent):
            try:
                info = _with_latest_reserves(
                    TokenInfo.from_create_event(ev, signature=signature), events
                )
            except Exception as exc:
                log.warning("skipping malformed CreateEvent in %s: %s", signature, exc)
                continue
            tokens.append(
                NewToken(
                    token_info=info,
                    creator_buy_lamports=creator_buy_lamports(ev, events),
                    signature=signature,
                    slot=slot,
                    seen_at=seen_at,
                )
            )
        elif isinstance(ev, TradeEvent):
            prices.append(
                PriceUpdate.from_event(ev, signature=signature, slot=slot, seen_at=seen_at)
            )
    return tokens, prices


def _with_latest_reserves(info: TokenInfo, events: list[object]) -> TokenInfo:
    """The token's reserves after its create transaction.

    A create is usually followed by the creator's buy in the same transaction; the
    ``CreateEvent`` carries the reserves *before* it. The buyer quotes from the token's
    reserves without a read in extreme fast mode, so give it the state after the last
    trade of this mint in the transaction.
    """
    last = None
    for ev in events:
        if isinstance(ev, TradeEvent) and ev.mint == info.mint:
            last = ev
    if last is None:
        return info
    return attrs.evolve(
        info,
        virtual_sol_reserves=last.virtual_sol_reserves,
        virtual_token_reserves=last.virtual_token_reserves,
        real_token_reserves=last.real_token_reserves,
    )
