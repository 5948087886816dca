"""The cyclic collector's young passes moved to the moments the Trio loop is idle.

CPython starts a young pass from an allocation: when the tracked objects allocated since
the last pass, net of those freed, exceed the gen-0 threshold (700). On the bot that is
exactly while it works (a notification being decoded, an order being signed), so a pass
of 1–5 ms of CPU lands inside a detect → BUY or exit → SELL path and makes its p99.

:func:`collect_when_idle` turns automatic collection off and installs an
:class:`IdleCollector`, a ``trio.abc.Instrument`` whose ``before_io_wait`` runs a young
pass when nothing is runnable, once a quarter of CPython's gen-0 threshold is counted
(shorter passes, as often as needed: :data:`IDLE_FRACTION`); which generation follows
CPython's own thresholds. A pass started at idle can still delay an event that arrives
during it, and "nothing runnable" includes a path waiting for its row write's thread or an
RPC reply, where a pass still lands on the path; measured, that is a quarter as often as
before (``docs/benchmarks.md``), and a short pass delays it less.

The safety net: when the loop does not idle (a busy burst, or a task that never sleeps),
the pass runs anyway once the count reaches CPython's own threshold, on the loop's next
pass (between task steps, never inside one): the passes CPython would have run, no longer.
Not later: a pass walks everything allocated since the last one, so letting the count run
to 4 × the threshold made the busy in-process benchmarks' passes 3–4 × longer (middle
passes of 15–31 ms against 6–9). Memory stays bounded. A spinning task keeps the loop from
ever idling and should call :func:`collect_if_due` on each of its passes (one
``gc.get_count()`` compare while nothing is due).

The full (gen-2) pass walks every object the bot keeps (its positions, their tasks): it
follows CPython's rule, count *and* growth: due when ten middle passes have run since the
last one *and* the heap has grown by a quarter since then. CPython counts the objects
promoted into gen 2 for the growth, which Python cannot read; here it is pymalloc's
allocated blocks (``sys.getallocatedblocks``, a few µs), read only when the count says a
full pass is due. Start-up's objects are frozen (:mod:`trio_trader.gctune`), so a full pass
walks only what the bot built since.

An instrument that raises is removed by Trio, which would leave the collector off for good:
every error is caught, logged once, and automatic collection turned back on.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import attrs
import trio

__all__ = [
    "IDLE_FRACTION",
    "IdleCollector",
    "collect_if_due",
    "collect_when_idle",
    "due_generation",
]

log = logging.getLogger(__name__)

#: at idle a young pass runs once the count reaches this fraction of CPython's gen-0
#: threshold: small and often. The count is allocations net of frees, while what a pass
#: walks is every object allocated since and still alive (a new price replacing an old one
#: adds nothing to the count but one object to walk): at 700 the feed bench's idle passes
#: walked up to ~2,700 objects, 0.3 ms CPU p50 and up to 1.3–1.9 ms each; at a quarter,
#: 0.09 ms p50 and up to 0.6–0.9 ms, the same CPU in total (more, shorter passes)
IDLE_FRACTION = 4
#: CPython's rule for a full pass: the long-lived heap has grown by this fraction since
#: the last one (``long_lived_pending > long_lived_total / 4`` in ``gcmodule.c``)
FULL_PASS_GROWTH = 0.25

#: the collector of the running block, for :func:`collect_if_due`
_active: IdleCollector | None = None


def due_generation(
    counts: tuple[int, int, int],
    thresholds: tuple[int, int, int],
    *,
    heap_grew: bool,
) -> int:
    """The generation CPython would collect for these counts (its ``collect_generations``).

    The oldest whose count exceeds its threshold; gen 2 only when ``heap_grew`` too, else
    gen 1 (its count is over its threshold whenever gen 2's is counted up). Called once a
    pass is due at all (the gen-0 count over the collector's ``idle_at``): at least gen 0.
    """
    if counts[2] > thresholds[2] and heap_grew:
        return 2
    if counts[1] > thresholds[1]:
        return 1
    return 0


@attrs.define(eq=False)
class IdleCollector(trio.abc.Instrument):
    """Runs the due collector pass when the loop idles; a safety net when it does not.

    ``idle_at``: a pass is due above this gen-0 count; ``busy_at``: above this one a pass
    runs even with tasks runnable. Which generation it collects follows CPython's
    thresholds (:func:`due_generation`).
    """

    idle_at: int
    busy_at: int
    #: pymalloc blocks after the last full pass (or at the start): the growth's base
    heap_base: int = attrs.field(factory=sys.getallocatedblocks)
    passes: list[int] = attrs.field(factory=lambda: [0, 0, 0])
    failed: bool = False

    @classmethod
    def from_thresholds(cls) -> IdleCollector:
        """Due at idle at :data:`IDLE_FRACTION` of CPython's gen-0 threshold, the safety net
        at the threshold itself."""
        threshold = gc.get_threshold()[0]
        return cls(idle_at=threshold // IDLE_FRACTION, busy_at=threshold)

    def before_io_wait(self, timeout: float) -> None:
        # A zero timeout: a task is runnable or a deadline has passed (and, in tests, a
        # MockClock's autojump or wait_all_tasks_blocked: only the safety net runs there;
        # asking the runner whether anything is runnable costs ~5 µs a loop pass).
        if timeout > 0 or gc.get_count()[0] > self.busy_at:
            self.collect_if_due()

    def collect_if_due(self) -> bool:
        """Collect if a pass is due (the gen-0 count over ``idle_at``); whether one ran."""
        if gc.get_count()[0] <= self.idle_at or self.failed:
            return False
        self.collect()
        return True

    def collect(self) -> None:
        """Run the pass due now (:func:`due_generation`); never raises."""
        try:
            counts = gc.get_count()
            thresholds = gc.get_threshold()
            grew = counts[2] > thresholds[2] and self._heap_grew()
            generation = due_generation(counts, thresholds, heap_grew=grew)
            gc.collect(generation)
            self.passes[generation] += 1
            if generation == 2:
                self.heap_base = sys.getallocatedblocks()
        except Exception:
            self.failed = True
            gc.enable()
            log.exception("gc: a pass at idle failed; automatic collection is back on")

    def _heap_grew(self) -> bool:
        return sys.getallocatedblocks() > self.heap_base * (1 + FULL_PASS_GROWTH)


def collect_if_due() -> bool:
    """For a task that keeps the loop from idling (a spin): collect if a pass is due.

    A no-op (False) outside :func:`collect_when_idle`; while nothing is due, one
    ``gc.get_count()`` compare.
    """
    collector = _active
    return collector is not None and collector.collect_if_due()


@contextmanager
def collect_when_idle() -> Iterator[IdleCollector | None]:
    """Automatic collection off, young passes at idle, for the block (inside a Trio run).

    Yields the collector, or None when automatic collection was already off (the caller's
    choice, left as it is). On exit the instrument is removed and collection turned back on.

    Raises:
        RuntimeError: outside a Trio run.
    """
    global _active
    if not gc.isenabled():
        log.debug("gc: automatic collection already off; no collection at idle")
        yield None
        return
    collector = IdleCollector.from_thresholds()
    trio.lowlevel.add_instrument(collector)
    gc.disable()
    previous, _active = _active, collector
    try:
        yield collector
    finally:
        _active = previous
        with suppress(KeyError):  # already gone only if Trio dropped it (never raises)
            trio.lowlevel.remove_instrument(collector)
        gc.enable()
        log.debug("gc: passes at idle or safety net per generation %s", collector.passes)
