"""``[latency] rehearse_ms``: keep the BUY's path in the CPU's caches (opt-in, off by default).

Why: between two new tokens the bot's process sleeps, other processes run on its core,
and the code and data of the detect → BUY path leave the caches. A BUY then costs 3–5×
what the same steps cost run back to back (decoding the create, deriving the PDAs,
compiling and signing the message). Measured on a 2-core VM, quiet: the create's decode
0.30–0.37 → 0.23–0.26 ms and the BUY's build + sign −0.05 to −0.1 ms with a rehearsal every
2 ms; detect → BUY −0.1 ms in the bot, −0.15 to −0.5 ms at the wire (``docs/benchmarks.md``,
"Rehearsal and spin").

What: every ``period`` seconds, the last create the listener decoded is decoded again and
a BUY of that token is built and signed exactly as the real one would be, except that it
names and is signed by a throwaway key made at start (``ChainAccess.stand_in``): the bytes
are a transaction no wallet of the user's could pay for, and they are dropped on the spot.
Nothing is sent, stored, logged or counted anywhere but :class:`RehearsalStats`.

Cost: the path's CPU every period (27 % of a core at 2 ms, 19 % at 5 ms on that VM: a
rehearsal every 2 ms still runs half cold), and a real notification that arrives
mid-rehearsal waits for the step under way (the decode and the BUY are two steps, a
checkpoint between them; a turn that finds a real BUY on its way is skipped). Worth it only
on a machine with CPU to spare; off by default.

A rehearsal that raises (a blockhash not fetched yet, a token whose BUY would cost more
than ``max_buy_sol`` allows) is skipped and counted; the first failure after a whole
rehearsal is logged as a WARNING with its traceback: it never costs the bot more than its
CPU. Never under :class:`trio.testing.MockClock` (a timer every few ms would make
autojumping tests crawl through simulated time): a WARNING is logged and nothing runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import attrs
import trio
import trio.testing

from trio_trader.chain.transactions import SignedTransaction
from trio_trader.trading.token_info import TokenInfo

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the task's name (tests and task dumps find it by it)
TASK_NAME = "trio_trader.rehearsal"


@attrs.define(eq=False)
class RehearsalStats:
    """What the rehearsal did (the dashboard and tests read it)."""

    decoded: int = 0
    signed: int = 0
    failed: int = 0
    #: turns not taken because a real BUY was on its way
    skipped: int = 0
    #: bytes of the last rehearsed BUY (0 before the first): proof that it was signed
    last_size: int = 0


@attrs.define(eq=False)
class Rehearsal:
    """Re-run the detect → BUY path, unsent, every ``period`` seconds.

    ``replay``: the last create decoded again (None until the listener saw one);
    ``rehearse_buy``: a BUY of that token built and signed by the stand-in key (None for a
    token the bot would not buy); only its size is kept. ``busy``: a real BUY is on its way
    (taken in, not yet sent): the rehearsal skips its turn rather than run before it.
    """

    period: float
    replay: Callable[[], TokenInfo | None]
    rehearse_buy: Callable[[TokenInfo], SignedTransaction | None]
    busy: Callable[[], bool] = attrs.field(default=lambda: False)
    stats: RehearsalStats = attrs.field(factory=RehearsalStats)
    _failing: int = attrs.field(default=0, init=False)  # failures since the last whole one

    async def run(self) -> None:
        """Rehearse until cancelled."""
        while True:
            await trio.sleep(self.period)
            # A new token's BUY task may sit in the same scheduler batch as this one (Trio
            # runs a batch in any order): a rehearsal then would delay the real BUY.
            if self.busy():
                self.stats.skipped += 1
                continue
            token_info = self._attempt(self.replay)
            if token_info is None:
                continue  # no create seen yet (or the step failed)
            self.stats.decoded += 1
            await trio.lowlevel.checkpoint()  # a notification read meanwhile need not wait for both
            if self.busy():
                self.stats.skipped += 1
                continue
            signed = self._attempt(partial(self.rehearse_buy, token_info))
            if signed is not None:
                self.stats.signed += 1
                self.stats.last_size = len(signed.raw)
                self._failing = 0  # a whole rehearsal went through: a streak ends

    def _attempt(self, step: Callable[[], T | None]) -> T | None:
        """``step()``, or None if it raised (counted; the first failure since the last
        whole rehearsal logged)."""
        try:
            result = step()
        except Exception:
            # A rehearsal is never worth a crash: the bot trades on without this one.
            self.stats.failed += 1
            self._failing += 1
            if self._failing == 1:
                log.warning("latency.rehearse_ms: a rehearsal failed", exc_info=True)
            return None
        return result


def start_rehearsing(nursery: trio.Nursery, rehearsal: Rehearsal) -> bool:
    """Start ``rehearsal`` in ``nursery`` (it ends with it); False, with a WARNING, under a
    :class:`~trio.testing.MockClock`, where nothing is started."""
    if isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        log.warning("latency.rehearse_ms: not rehearsing under MockClock")
        return False
    log.info(
        "latency.rehearse_ms: the last create and a BUY of it (never sent) re-run every %.1f ms",
        rehearsal.period * 1e3,
    )
    nursery.start_soon(rehearsal.run, name=TASK_NAME)
    return True
