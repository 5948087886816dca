"""cProfile of the bot's own work during a benchmark, without the simulator's.

The simulator shares the bot's process and Trio loop, so a plain profile of a bot
benchmark is mostly the simulator (ledger, LiteSVM, its HTTP and WebSocket servers) and the idle
``epoll.poll``. :class:`BotTaskProfiler` is a Trio instrument that switches the profiler
on only while a task of the bot runs a step — a task that descends from
``UniversalTrader.run`` (listener, intake, positions, pubsub, blockhash refresh) — so the
profile holds exactly the bot's CPU time on the loop. Work the bot sends to a thread (the
SQLite writes) is not on the loop and not in it; the benchmark times those separately.

A window narrows it further: ``detect_to_buy_sent(..., window=profiler)`` opens it when
a launch's notification is about to be written to the bot's socket and closes it when the BUY's
request leaves, so only the detection → BUY path is profiled (launches are 100 ms apart
and that path takes ~2 ms, so little else of the bot runs inside a window).

cProfile adds roughly a microsecond per function call, so deep call stacks (httpx,
httpcore, anyio) weigh more in the profile than in the unprofiled timings: read it for
where the calls go, and the benchmark's own figures for how long things take.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import trio

#: the name Trio gives the trader's root task (module + qualified name of the function)
BOT_ROOT = "trio_trader.trading.trader.UniversalTrader.run"
#: tasks (and their subtasks) of the bot that are not on the detection → BUY path: the
#: confirmation and monitoring of earlier positions, the background refreshes
OFF_DETECT_PATH = (
    "UniversalTrader._confirm_buy",
    "PositionMonitor.monitor",
    "BlockhashCache.run",
    "PriorityFee.run",
)

#: the same for the BUY → SELL path of a zero-hold position (the monitor is on it)
OFF_BUY_TO_SELL_PATH = ("UniversalTrader._confirm_buy", "BlockhashCache.run", "PriorityFee.run")


class BotTaskProfiler(trio.abc.Instrument):
    """Profiles the steps of the bot's tasks only (see the module docstring)."""

    def __init__(self, profiler: cProfile.Profile, root: str = BOT_ROOT) -> None:
        self.profiler = profiler
        self.root = root
        self.exclude: tuple[str, ...] = ()
        self.steps = 0
        self.windows = 0
        self.open = True
        self._is_bot: weakref.WeakKeyDictionary[trio.lowlevel.Task, bool] = (
            weakref.WeakKeyDictionary()
        )

    def _bot(self, task: trio.lowlevel.Task) -> bool:
        known = self._is_bot.get(task)
        if known is None:
            parent = task.parent_nursery
            known = not task.name.endswith(self.exclude) and (
                task.name == self.root or (parent is not None and self._bot(parent.parent_task))
            )
            self._is_bot[task] = known
        return known

    def open_window(self) -> None:
        """Profile from now on (``windowed`` starts closed)."""
        if not self.open:
            self.windows += 1
        self.open = True

    def close_window(self) -> None:
        self.open = False

    def windowed(self, exclude: tuple[str, ...] = OFF_DETECT_PATH) -> BotTaskProfiler:
        """Close the window until :meth:`open_window`, leave out ``exclude``; returns self."""
        self.open = False
        self.exclude = exclude
        self._is_bot.clear()
        return self

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if self.open and self._bot(task):
            self.steps += 1
            self.profiler.enable()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self.profiler.disable()


class BotTaskClock(BotTaskProfiler):
    """The bot's CPU time (``time.thread_time``) in its task steps, without cProfile.

    The same windows and task selection as :class:`BotTaskProfiler`; ``per_window`` holds
    the thread's CPU seconds over the steps that began inside each window. CPU time is not
    stretched by the other processes of a shared machine as wall time is, so before/after
    comparisons hold on a busy machine (cache misses after an idle gap still count).
    """

    def __init__(self, root: str = BOT_ROOT) -> None:
        super().__init__(cProfile.Profile(), root)  # its profiler is never enabled
        self.per_window: list[float] = []
        self._step_started: float | None = None

    def open_window(self) -> None:
        if not self.open:
            self.per_window.append(0.0)
        super().open_window()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if self.open and self.per_window and self._bot(task):
            self.steps += 1
            self._step_started = time.thread_time()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self._step_started is not None:
            self.per_window[-1] += time.thread_time() - self._step_started
            self._step_started = None


def clock_bot(
    run: Callable[[BotTaskProfiler], Awaitable[Any]], *, skip: int = 5
) -> dict[str, float]:
    """Run ``run(clock)`` under Trio with a :class:`BotTaskClock`: the bot's CPU µs per
    window (p50, mean, p90), the first ``skip`` windows (warm-up) left out."""
    clock = BotTaskClock()
    trio.run(run, clock, instruments=[clock])
    cpu = sorted(us * 1e6 for us in clock.per_window[skip:])
    if not cpu:
        return {"windows": 0}
    return {
        "windows": len(cpu),
        "p50_us": round(cpu[len(cpu) // 2], 1),
        "mean_us": round(sum(cpu) / len(cpu), 1),
        "p90_us": round(cpu[int(len(cpu) * 0.9)], 1),
    }


def profile_bot(
    run: Callable[[BotTaskProfiler], Awaitable[Any]],
    *,
    per: Callable[[Any], int],
    top: int = 30,
) -> str:
    """Run ``run(instrument)`` under Trio with a :class:`BotTaskProfiler`; the top functions.

    ``per`` turns the run's result into the number of operations (e.g. BUYs sent) the
    totals are divided by.
    """
    profiler = cProfile.Profile()
    instrument = BotTaskProfiler(profiler)
    result = trio.run(run, instrument, instruments=[instrument])
    count = max(per(result), 1)
    stats = pstats.Stats(profiler, stream=(out := io.StringIO()))
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(
        f"bot CPU on the loop, profiled: {total * 1e3:.1f} ms in {instrument.steps} task "
        f"steps ({instrument.windows} windows); {count} operations → "
        f"{total / count * 1e6:.0f} µs each (with cProfile's own overhead)\n"
    )
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"trio_trader", top)
    return out.getvalue()
