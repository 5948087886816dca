"""Keep CPython's cyclic garbage collector off the latency tail.

A collector pass stops the whole process while it walks the objects of the generations it
collects. A full (gen-2) pass walks every tracked object: after start-up that is the
interpreter's modules, solders, attrs classes, SQLite, Trio and the bot's own state, tens of
thousands of objects that live until exit and are walked again every time, a few
milliseconds to tens of milliseconds per pass, while a notification or a SELL waits.

:func:`tune`, called once the bot is built (``app.py``; the benchmarks too):

* ``gc.collect()`` then ``gc.freeze()``: whatever start-up left alive moves to the permanent
  generation, never walked again. It is never freed either, which is what start-up objects
  are for; everything allocated later (positions, orders, notifications) is collected as
  usual, so memory stays bounded by what the bot holds, not by how long it runs.
* the gen-0 threshold from 700 to :data:`GEN0_THRESHOLD` allocations: the hot path frees
  nearly everything it allocates by reference counting (a notification's JSON, its events),
  so a young pass finds little to do but is paid for every 700 container allocations,
  several times per notification burst; fewer passes, each still small.

:func:`tuned` does the same for a block only (a benchmark's bot, which is not the
process's whole life): on exit it thaws what it froze and restores the thresholds.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

__all__ = ["GEN0_THRESHOLD", "GcTuning", "tune", "tuned"]

log = logging.getLogger(__name__)

#: allocations (net of frees) of tracked objects between two young collections
GEN0_THRESHOLD = 10_000


@attrs.frozen
class GcTuning:
    """What :func:`tune` did: objects frozen and the thresholds before and after."""

    frozen: int
    thresholds_before: tuple[int, int, int]
    thresholds: tuple[int, int, int]


def tune(gen0: int = GEN0_THRESHOLD) -> GcTuning:
    """Freeze what exists now and raise the young generation's threshold (see the module
    docstring). Calling it again freezes what was built since and keeps the thresholds."""
    before = gc.get_threshold()
    gc.collect()  # start-up's garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(max(gen0, before[0]), before[1], before[2])
    tuning = GcTuning(gc.get_freeze_count(), before, gc.get_threshold())
    log.debug("gc: %d objects frozen, thresholds %s", tuning.frozen, tuning.thresholds)
    return tuning


@contextmanager
def tuned(gen0: int = GEN0_THRESHOLD) -> Iterator[GcTuning]:
    """:func:`tune` for the block; then everything frozen is thawed and the thresholds are
    restored, so what the block built is collected as usual afterwards."""
    tuning = tune(gen0)
    try:
        yield tuning
    finally:
        gc.unfreeze()
        gc.set_threshold(*tuning.thresholds_before)
