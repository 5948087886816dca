"""Token detection and trade prices from ``logsSubscribe`` on the pump program (the default).

One subscription carries every pump transaction's logs: ``CreateEvent`` (legacy ``create``
and ``create_v2``) become :class:`NewToken`, ``TradeEvent`` become :class:`PriceUpdate`.
The pubsub client reconnects and re-subscribes by itself, so this loop never sees a
disconnect. A malformed notification is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.chain.pubsub import (
    PubsubClient,
    Subscription,
    Urgent,
    let_others_go_first,
    run_urgent,
    urgent_all,
)
from trio_trader.chain.untrusted import preview
from trio_trader.pump.addresses import PUMP_PROGRAM_ID

from .decode import (
    Malformed,
    MintFilter,
    TxEvents,
    context_slot,
    field,
    joined_log,
    read_transaction,
)
from .replay import CreateReplay
from .types import NewToken, PriceUpdate

log = logging.getLogger(__name__)

#: may return urgent work: the BUY up to its request, awaited by the listener's task before
#: it handles anything else (``chain.pubsub``: ``Urgent``)
TokenSink = Callable[[NewToken], Urgent | None]
#: returns True when the price woke a task to act (e.g. a position's exit: ``TradeFeed.publish``)
PriceSink = Callable[[PriceUpdate], bool | None]


@attrs.define(eq=False)
class ListenerStats:
    """Counters for the dashboard and the run summary."""

    notifications: int = 0
    malformed: int = 0
    failed_txs: int = 0
    tokens: int = 0
    prices: int = 0
    woke: int = 0  # prices that woke a task to act (an exit rule fired)


@attrs.define(eq=False)
class LogsListener:
    """``logsSubscribe(mentions=[pump program])`` → new tokens and price updates.

    ``wants`` (e.g. ``TradeFeed.holds``) names the mints whose trades matter: a transaction
    with neither a new token nor such a trade is skipped unread (``read_transaction``).
    """

    pubsub: PubsubClient
    program: Pubkey = PUMP_PROGRAM_ID
    commitment: str = "processed"
    stats: ListenerStats = attrs.field(factory=ListenerStats)
    wants: MintFilter | None = None
    #: keep ``last_create`` (``[latency] rehearse_ms`` decodes it again); off, a create
    #: costs nothing more on its way to the BUY
    keeps_last_create: bool = False
    last_create: CreateReplay | None = None

    def subscription(self) -> AbstractAsyncContextManager[Subscription]:
        return self.pubsub.logs_subscribe(self.program, commitment=self.commitment)

    async def run(
        self,
        on_token: TokenSink,
        on_price: PriceSink,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Subscribe and hand every event to the sinks (which must not block) until cancelled."""
        await run_listener(self, on_token, on_price, task_status=task_status)

    def handle(self, item: Any, on_token: TokenSink, on_price: PriceSink) -> Urgent | None:
        """Process one notification (``{"context": {"slot"}, "value": {...}}``); the token
        sink's urgent work, if any, for the caller to await next."""
        self.stats.notifications += 1
        try:
            value, signature, logs, text = _logs_value(item)
            err = value.get("err")
            slot = context_slot(item)
        except Malformed as exc:
            self.stats.malformed += 1
            log.warning("skipping malformed logs notification (%s): %s", exc, preview(item))
            return None
        if err is not None:
            self.stats.failed_txs += 1
            return None
        events = read_transaction(
            logs,
            signature=signature,
            slot=slot,
            seen_at=trio.current_time(),
            wants=self.wants,
            text=text,
        )
        urgent = _dispatch(self.stats, events, on_token, on_price)
        if events.tokens and self.keeps_last_create:
            self.last_create = CreateReplay(logs, signature, slot, text)
        return urgent


def _logs_value(item: Any) -> tuple[dict[str, Any], str, list[str], str]:
    """``item["value"]``, its signature, its logs and those joined by newlines.

    The shape orjson gives is checked inline (a call per field cost ~1.5 k instructions
    a trade); anything else goes through `field` and `joined_log`, which accept the same
    and name what is wrong.

    Raises:
        Malformed: a field is missing or of the wrong type.
    """
    value = item.get("value") if type(item) is dict else None
    if type(value) is dict:
        signature, logs = value.get("signature"), value.get("logs")
        if type(signature) is str and type(logs) is list:
            try:
                return value, signature, logs, "\n".join(logs)
            except TypeError:
                pass  # not all strings: named below
    value = field(item, "value", dict)
    signature = field(value, "signature", str)
    logs, text = joined_log(field(value, "logs", list))
    return value, signature, logs, text


class _Listener(Protocol):
    @property
    def stats(self) -> ListenerStats: ...

    def subscription(self) -> AbstractAsyncContextManager[Subscription]: ...
    def handle(self, item: Any, on_token: TokenSink, on_price: PriceSink) -> Urgent | None: ...


async def run_listener(
    listener: _Listener,
    on_token: TokenSink,
    on_price: PriceSink,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The loop both listeners share: subscribe, report started, handle every item.

    A pubsub subscription hands its items to ``handle`` inline, in the pubsub reader's own
    task (`Subscription.handle_inline`): no channel and no task switch between the socket
    and the decoder, none dropped. Any other async iterator of items (tests feed plain
    generators) is iterated here. Either way, after an item that started a task (a new
    token's BUY) or woke one (the SELL of a fired exit), that task runs before the next
    item is handled (`chain.pubsub.let_others_go_first`).

    ``handle`` already skips the malformed shapes it knows; anything else one notification
    provokes (a decoder bug, data nobody foresaw) is logged and skipped here too, because
    this loop is the bot's only source of tokens and prices: it must outlive any one item.
    """
    stats = listener.stats
    handle = listener.handle

    def on_item(item: Any) -> bool | Urgent:
        before = stats.tokens + stats.woke
        try:
            urgent = handle(item, on_token, on_price)
        except Exception:
            log.exception("skipping a notification that could not be handled: %s", preview(item))
            urgent = None
        return urgent or stats.tokens + stats.woke != before

    async with listener.subscription() as sub:
        task_status.started()
        if isinstance(sub, Subscription):
            await sub.handle_inline(on_item)
            return
        async for item in sub:
            answer = on_item(item)
            if answer is not False:
                if answer is not True:
                    await run_urgent(answer)
                await let_others_go_first()


def _dispatch(
    stats: ListenerStats, events: TxEvents, on_token: TokenSink, on_price: PriceSink
) -> Urgent | None:
    """Tokens first, then the transaction's trades, priced only now; the token sink's
    urgent work (every token's, in order) is returned, for the caller to await next.

    The token sink only takes the token in (its BUY is written by the urgent work, or its
    task, after this call), and the token already holds what its create transaction's
    trades say (the creator's buy, the reserves after it), so the trades' `PriceUpdate`
    values are built after it: the price sink sees them before the BUY, or anything else,
    runs.
    """
    urgent: list[Urgent] = []
    for token in events.tokens:
        stats.tokens += 1
        work = on_token(token)  # first: the sink takes the token in (the BUY's start)
        if work is not None:
            urgent.append(work)
        if log.isEnabledFor(logging.DEBUG):  # its arguments cost the BUY time even unlogged
            log.debug("new token %s in %s", token.token_info.display_name, token.signature)
    for price in events.prices():
        stats.prices += 1
        if on_price(price):
            stats.woke += 1
    return urgent_all(urgent) if urgent else None
