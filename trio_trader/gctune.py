"""Keep CPython's cyclic garbage collector's full passes off the latency tail.

A collector pass stops the whole process while it walks the objects of the generations it
collects. A full (gen-2) pass walks every tracked object: after start-up that is the
interpreter's modules, solders, attrs classes, SQLite, Trio and the bot's own state, tens of
thousands of objects that live until exit and would be walked again on every full pass
(one of 125 ms was measured in the detect benchmark, with the simulator in the process)
while a notification or a SELL waits.

:func:`tune`, called once the bot is built (``app.py``; the benchmarks too), runs
``gc.freeze()``: whatever exists then moves to the permanent generation, not walked
again while frozen. Nor freed, which is what start-up objects are for; everything
allocated later (positions, orders, notifications) is collected as usual, so memory stays
bounded by what the bot holds, not by how long it runs. No ``gc.collect()`` first: that
would be one more full pass over the whole heap, delaying the start by as much (hundreds
of milliseconds in a big process), and what start-up left as garbage is small and freed
when :func:`tuned` thaws it.

The thresholds are left as they are, on measurement: the hot path frees nearly everything
by reference counting, but what survives to a young pass is walked by it, so raising the
gen-0 threshold from 700 to 10,000 made the young passes ten times fewer and ten times
longer (up to 8 ms of CPU each against about 1 ms, feed and detect benchmarks), which is
exactly what a p99 must not see.

:func:`tuned` does the same for a block only (a benchmark's bot, which is not the process's
whole life): on exit it thaws what it froze. Inside it the young passes run when the Trio
loop is idle, not when an allocation happens to cross the threshold
(:mod:`trio_trader.gcidle`).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from trio_trader.gcidle import collect_when_idle

__all__ = ["tune", "tuned"]

log = logging.getLogger(__name__)


def tune() -> int:
    """Freeze every tracked object that exists now; returns how many are frozen.

    Calling it again freezes what was built since.
    """
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("gc: %d objects frozen", frozen)
    return frozen


@contextmanager
def tuned() -> Iterator[int]:
    """:func:`tune` for the block (yields the frozen count), with the collector's passes
    at idle (:func:`~trio_trader.gcidle.collect_when_idle`; inside a Trio run); then
    automatic collection is back on and everything frozen is thawed, so what the block
    built is collected as usual afterwards."""
    frozen = tune()
    try:
        with collect_when_idle():
            yield frozen
    finally:
        gc.unfreeze()
