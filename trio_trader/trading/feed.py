"""The trade-feed router: one stream of price updates, one inbox per position.

Positions ``subscribe(mint)`` on entry and leave in ``finally`` (the context manager does
both). The router owns ``dict[mint, PriceInbox]`` and hands each update to its mint's inbox
without blocking and without a task switch.

An inbox calls its listener (the position monitor's price intake) **synchronously, for every
update, in order**: the monitor folds each price into its exit state and checks its rules
right there (a few integer products), and its task is woken only when a rule fires. So no
price is ever skipped — a trailing stop sees every peak and a stop loss every trough, even
when many trades of one coin come in one read — and a burst of trades costs no wake-ups.
The alternative, a channel per position with one task switch per price, cost ~30 µs per
event at 500 positions and had to drop prices for a slow task ("latest wins"), which could
hide a peak that fell back before the task ran.

Before a listener attaches (the BUY is still being sent) the inbox keeps only the newest
update and hands it over on :meth:`PriceInbox.listen`: the rules start from the price the
position opens at. A listener must be quick and must not block; one that raises is logged
and the update skipped for that position only (the router serves every position).

The listener learns the mints the router wants before it decodes a trade
(:meth:`TradeFeed.holds`): on mainnet most trades are of coins no position holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import attrs
from solders.pubkey import Pubkey

from trio_trader.listeners.types import PriceUpdate

log = logging.getLogger(__name__)

#: a position's price intake; it returns True when the update woke its task to act (an exit
#: rule fired), which the listener lets run before its next notification
PriceListener = Callable[[PriceUpdate], bool | None]


@attrs.define(eq=False)
class FeedStats:
    """Counters: updates seen, delivered to a position's inbox, and replaced in an inbox
    before its listener attached."""

    published: int = 0
    delivered: int = 0
    superseded: int = 0


@attrs.define(eq=False)
class PriceInbox:
    """One position's prices: each handed to its listener at once (see the module docstring).

    ``latest`` is the newest update delivered (taken or not).
    """

    mint: Pubkey
    latest: PriceUpdate | None = None
    _listener: PriceListener | None = attrs.field(default=None, init=False)
    _untaken: bool = attrs.field(default=False, init=False)  # latest waits for a listener
    _stats: FeedStats = attrs.field(factory=FeedStats, kw_only=True)

    def listen(self, listener: PriceListener | None) -> None:
        """Hand every update from now on to ``listener`` (None: keep only the newest).

        The newest update not taken yet goes to ``listener`` at once.
        """
        self._listener = listener
        if listener is not None and self._untaken and self.latest is not None:
            self._untaken = False
            self._hand(listener, self.latest)

    def deliver(self, update: PriceUpdate) -> bool:
        """Pass ``update`` to the listener, or keep it as the newest untaken one; True when
        the listener says it woke its task to act."""
        self.latest = update
        self._stats.delivered += 1
        listener = self._listener
        if listener is None:
            if self._untaken:
                self._stats.superseded += 1
            self._untaken = True
            return False
        return self._hand(listener, update)

    def _hand(self, listener: PriceListener, update: PriceUpdate) -> bool:
        try:
            return bool(listener(update))
        except Exception:  # one position's bug must not stop the others' prices
            log.exception("%s: the price intake failed on %s", self.mint, update.signature)
            return False


@attrs.define(eq=False)
class TradeFeed:
    """Routes :class:`PriceUpdate` values to the inbox of their mint without blocking."""

    stats: FeedStats = attrs.field(factory=FeedStats)
    #: by the mint's 32 bytes: the decoder's updates carry them (no `Pubkey` built or hashed)
    _inboxes: dict[bytes, PriceInbox] = attrs.field(factory=dict, init=False)

    def publish(self, update: PriceUpdate) -> bool:
        """Deliver ``update`` to its mint's inbox (if any); never blocks. True when it woke
        its position to act (the listener then lets that task go first)."""
        self.stats.published += 1
        inbox = self._inboxes.get(update.mint_key)
        return inbox is not None and inbox.deliver(update)

    def holds(self, mint: bytes) -> bool:
        """Whether a position is subscribed to ``mint`` (its 32 bytes): a listener skips
        the trades of every other coin before decoding them."""
        return mint in self._inboxes

    def latest(self, mint: Pubkey) -> PriceUpdate | None:
        """The newest update routed to ``mint``'s subscriber (even if already consumed)."""
        inbox = self._inboxes.get(bytes(mint))
        return None if inbox is None else inbox.latest

    @property
    def subscribers(self) -> int:
        """How many positions are subscribed."""
        return len(self._inboxes)

    @contextmanager
    def subscribe(self, mint: Pubkey) -> Iterator[PriceInbox]:
        """Register a position for ``mint``'s updates; unregisters on exit.

        Raises:
            ValueError: the mint already has a subscriber (one position per mint).
        """
        key = bytes(mint)
        if key in self._inboxes:
            raise ValueError(f"{mint} already has a subscriber")
        inbox = PriceInbox(mint, stats=self.stats)
        self._inboxes[key] = inbox
        try:
            yield inbox
        finally:
            del self._inboxes[key]
            inbox.listen(None)
