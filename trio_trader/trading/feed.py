"""The trade-feed router: one stream of price updates, one small channel per position.

Positions ``subscribe(mint)`` on entry and leave in ``finally`` (the context manager does
both). The router owns ``dict[mint, _Slot]`` where a slot holds the memory channel's send
end *and* a receive clone of it, with a buffer of one.

Policy on a slow position (``WouldBlock``): **latest value wins**. The router removes the
stale pending update through its own receive clone and puts the new one in its place, so
a position that wakes up late sees the newest price, never an old one, and the router
never waits. Superseded updates are counted (``stats.superseded``), not queued: exit rules
only care about the current price, and the trailing stop's peak can only be missed for
prices that were never observed in time anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.listeners.types import PriceUpdate

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class FeedStats:
    """Counters: updates seen, delivered to a position, and replaced before delivery."""

    published: int = 0
    delivered: int = 0
    superseded: int = 0


@attrs.define(eq=False)
class _Slot:
    send: trio.MemorySendChannel[PriceUpdate]
    stale: trio.MemoryReceiveChannel[PriceUpdate]


@attrs.define(eq=False)
class TradeFeed:
    """Routes :class:`PriceUpdate` values to the position of their mint without blocking."""

    stats: FeedStats = attrs.field(factory=FeedStats)
    _slots: dict[Pubkey, _Slot] = attrs.field(factory=dict, init=False)
    _latest: dict[Pubkey, PriceUpdate] = attrs.field(factory=dict, init=False)

    def publish(self, update: PriceUpdate) -> None:
        """Deliver ``update`` to its mint's subscriber (if any); never blocks."""
        self.stats.published += 1
        slot = self._slots.get(update.mint)
        if slot is None:
            return
        self._latest[update.mint] = update
        try:
            slot.send.send_nowait(update)
        except trio.WouldBlock:
            try:
                slot.stale.receive_nowait()
                self.stats.superseded += 1
            except trio.WouldBlock:
                pass
            slot.send.send_nowait(update)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        self.stats.delivered += 1

    def latest(self, mint: Pubkey) -> PriceUpdate | None:
        """The newest update routed to ``mint``'s subscriber (even if already consumed)."""
        return self._latest.get(mint)

    @property
    def subscribers(self) -> int:
        """How many positions are subscribed."""
        return len(self._slots)

    @contextmanager
    def subscribe(self, mint: Pubkey) -> Iterator[trio.MemoryReceiveChannel[PriceUpdate]]:
        """Register a position for ``mint``'s updates; unregisters and closes on exit.

        Raises:
            ValueError: the mint already has a subscriber (one position per mint).
        """
        if mint in self._slots:
            raise ValueError(f"{mint} already has a subscriber")
        send, receive = trio.open_memory_channel[PriceUpdate](1)
        slot = _Slot(send=send, stale=receive.clone())
        self._slots[mint] = slot
        try:
            with receive:
                yield receive
        finally:
            del self._slots[mint]
            self._latest.pop(mint, None)
            slot.send.close()
            slot.stale.close()
