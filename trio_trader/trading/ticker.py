"""One scheduler for every position's time-based wake-ups: a heap and a single task.

A position monitor sleeps on its price channel and needs waking at a time only when a
time rule is due (``max_hold_time`` / ``sell_after``) or, past that deadline without a
sale, every ``tick_interval`` (see ``monitor.py``). Instead of a timer per position, each
monitor hands its next time to the :class:`Ticker`; the ticker's task sleeps until the
earliest one, calls the callbacks that are due, and sleeps again. An idle position with no
time rule costs nothing at all; one with a time rule costs one heap entry until it fires.

Entries are cancelled lazily (a flag; the heap is rebuilt when most of it is dead), so a
monitor that leaves or reschedules costs O(1). A callback must be quick and must not
raise: it runs on the ticker's task, between other positions' callbacks (the monitor's is
``PositionMonitor.wake``, which sets a flag and cancels a scope).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable

import attrs
import trio

#: dead entries tolerated before the heap is rebuilt (also at least half of it)
_PRUNE_MIN = 64


@attrs.define(eq=False)
class Wakeup:
    """One scheduled call: ``at`` (Trio time); ``callback`` is None once fired or cancelled."""

    at: float
    callback: Callable[[], None] | None

    @property
    def pending(self) -> bool:
        """Not fired and not cancelled yet."""
        return self.callback is not None


@attrs.define(eq=False)
class Ticker:
    """Calls each scheduled callback once its time has come; see the module docstring."""

    _heap: list[tuple[float, int, Wakeup]] = attrs.field(factory=list, init=False)
    _order: itertools.count[int] = attrs.field(factory=itertools.count, init=False)
    _dead: int = attrs.field(default=0, init=False)
    _sleep: trio.CancelScope | None = attrs.field(default=None, init=False)

    def call_at(self, at: float, callback: Callable[[], None]) -> Wakeup:
        """Call ``callback()`` from the ticker's task once ``trio.current_time() >= at``."""
        wakeup = Wakeup(at, callback)
        heapq.heappush(self._heap, (at, next(self._order), wakeup))
        if self._sleep is not None and at < self._sleep.deadline:
            self._sleep.deadline = at  # the ticker sleeps until the earliest entry
        return wakeup

    def cancel(self, wakeup: Wakeup | None) -> None:
        """Forget ``wakeup`` (no-op if it already fired, was cancelled, or is None)."""
        if wakeup is None or wakeup.callback is None:
            return
        wakeup.callback = None
        self._dead += 1
        if self._dead > _PRUNE_MIN and 2 * self._dead > len(self._heap):
            self._heap[:] = [entry for entry in self._heap if entry[2].pending]  # in place
            heapq.heapify(self._heap)
            self._dead = 0

    @property
    def scheduled(self) -> int:
        """Wake-ups still to fire."""
        return len(self._heap) - self._dead

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Fire wake-ups as they come due, until cancelled."""
        task_status.started()
        while True:
            heap = self._heap
            while heap and not heap[0][2].pending:  # no wake-up for a cancelled entry
                heapq.heappop(heap)
                self._dead -= 1
            deadline = heap[0][0] if heap else math.inf
            with trio.CancelScope(deadline=deadline) as self._sleep:
                await trio.sleep_forever()
            self._sleep = None
            self._fire(trio.current_time())

    def _fire(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            wakeup = heapq.heappop(heap)[2]
            callback, wakeup.callback = wakeup.callback, None
            if callback is None:
                self._dead -= 1  # a cancelled entry leaves the heap
            else:
                callback()
