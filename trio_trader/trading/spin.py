"""``[latency] spin``: keep Trio's run loop polling instead of sleeping (opt-in, off by default).

Why it is faster: when no task is runnable, Trio sleeps in ``epoll_wait`` and a
notification costs the process a kernel wake-up (a Trio task awaiting a socket read wakes
~300 µs after the peer's write, a blocking thread ~140 µs). A task that does nothing but
checkpoint keeps a task runnable at every pass, so the run loop polls epoll with a zero
timeout instead, and the read is picked up by a process that is already running (~143 µs).
It costs a whole core while the bot runs: worth it only on a machine with a core to spare.

Why it naps: the store's writer thread and ``trio.to_thread`` workers need the GIL. CPython
gives a waiting thread the GIL only if it wins the race when the holder drops it, or once
its switch interval (5 ms) passes without a drop; a spinner drops the GIL at every epoll
call (restarting that wait) and takes it back microseconds later, before the woken thread
runs. Measured (``docs/benchmarks.md``, "spin"): a ``to_thread`` round trip went from p99
0.8 ms to 16–31 ms (max 59 ms) under a bare spinner. So after every :data:`SLICE` of
spinning the spinner sleeps briefly with the GIL released (:data:`NAP`; the kernel's timer
slack makes it ~50–60 µs): long enough for a woken thread to take the GIL. With the naps
the round trip's p99 is back to ~1 ms and the wake-up keeps most of its gain.

Never under :class:`trio.testing.MockClock`: autojump fires only when the run loop is idle,
and a spinner never lets it be, so the clock would never jump (a test would hang). A
WARNING is logged and nothing spins.
"""

from __future__ import annotations

import logging
import os
import time

import trio
import trio.testing

from trio_trader.gcidle import collect_if_due

log = logging.getLogger(__name__)

#: seconds of spinning between two naps (~16 passes of an idle loop)
SLICE = 0.000_2
#: the nap asked of the kernel, in seconds; its timer slack stretches it to ~50–60 µs
NAP = 0.000_001
#: the spinning task's name (tests and task dumps find it by it)
TASK_NAME = "trio_trader.spin"


async def spin() -> None:
    """Checkpoint in a loop, napping every :data:`SLICE` (module docstring), until cancelled.

    ``checkpoint``, not ``cancel_shielded_checkpoint``: the spinner must end when the run
    is cancelled (the shutdown waits for every task).
    """
    checkpoint = trio.lowlevel.checkpoint
    nap_at = trio.current_time() + SLICE
    while True:
        await checkpoint()
        if trio.current_time() >= nap_at:
            # The loop never idles while this runs, so the collector's young passes
            # (gcidle.py) would only come from its busy safety net: run a due one here,
            # between two polls, where nothing else is waiting.
            collect_if_due()
            time.sleep(NAP)  # noqa: ASYNC251 (blocking on purpose: releases the GIL briefly)
            nap_at = trio.current_time() + SLICE


def start_spinning(nursery: trio.Nursery) -> bool:
    """Start :func:`spin` in ``nursery`` (it ends with it); False, with a WARNING, under a
    :class:`~trio.testing.MockClock`, where nothing is started."""
    if isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        log.warning("latency.spin: not spinning under MockClock (autojump needs an idle loop)")
        return False
    log.info("latency.spin: on, the event loop polls instead of sleeping (a core stays busy)")
    if usable_cores() < 2:
        log.warning(
            "latency.spin: this process may run on one core only: the spinner takes it from "
            "the OS, the node and the bot's own threads (detection gets slower, not faster)"
        )
    nursery.start_soon(spin, name=TASK_NAME)
    return True


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover (not Linux)
