"""What open positions cost while nothing happens: the process's CPU, as % of one core.

``idle_cpu_<n>_positions_pct``: the production bot (``bot_harness.running_bot``: the
simulator in the same process by default) buys ``n`` freshly launched tokens
and holds them: BUYs confirmed, no trade moves their price, exit rules that do not fire
(a take profit far above, a stop loss far below, a max hold time of an hour) and the
default 1 s ``tick_interval``. Once every position is open and confirmed, the process CPU
time (``time.process_time()``: every thread, the simulator's too) over ``seconds`` of wall
time, as a percentage of one core. Nothing is subtracted; the same measurement with no
position open (``floor``: the simulator's slots, the bot's blockhash and fee polls) is
reported beside it, so what the positions add can be read off.

``sim_process=True`` (``bench.py --only idle --sim-process``) runs the simulator in its own
process (``sim_process``): the process CPU time is then the bot's alone, as on mainnet,
where the node is another machine.

Opening the positions is the slow part (three fsync'd commits each, on a disk shared with
other work): the bot's database is put on ``/dev/shm`` when there is one. That changes
nothing in the measured window, where no position writes anything.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trio

from trio_trader.trading.orders import OrderState

from .bot_bench import FAST_TOKENS, _wait
from .bot_harness import BotRun, running_bot

#: exit rules that never fire on a quiet coin, a time rule among them (one deadline each)
QUIET_EXITS: dict[str, Any] = {
    "take_profit_pct": 10_000.0,
    "stop_loss_pct": 99.0,
    "max_hold_time": 3600.0,
    "tick_interval": 1.0,
}


@contextlib.contextmanager
def _temporary_files_in_memory() -> Iterator[None]:
    """New temporary directories (the bot's database) on tmpfs while open, if it exists."""
    before = tempfile.tempdir
    if Path("/dev/shm").is_dir():
        tempfile.tempdir = "/dev/shm"
    try:
        yield
    finally:
        tempfile.tempdir = before


#: tokens launched before waiting for the bot to have seen them
BATCH = 50


def _confirmed(run: BotRun) -> int:
    """Open positions whose BUY is confirmed (read from outside the bot)."""
    count = 0
    for position in list(run.bot.trader.position_tasks.values()):
        buy = None if position is None else position.buy_order
        if (
            position is not None
            and buy is not None
            and buy.state is OrderState.CONFIRMED
            and position.is_open
        ):
            count += 1
    return count


async def _open_positions(run: BotRun, target: int, spacing: float, patience: float) -> int:
    """Launch tokens until ``target`` positions exist; wait until their BUYs confirm.

    In batches, each seen by the bot before the next: a burst the bot cannot read in time
    would be dropped by its pubsub client and never become a position.
    """
    stats = run.bot.trader.stats
    while len(run.launched) < target:
        for _ in range(min(BATCH, target - len(run.launched))):
            await run.launch()
            await trio.sleep(spacing)
        await _wait(lambda: stats.tokens_seen >= len(run.launched), patience, poll=0.05)
    await _wait(lambda: _confirmed(run) >= target, patience, poll=0.1)
    return _confirmed(run)


async def _cpu_pct(seconds: float) -> float:
    """The process's CPU time over ``seconds`` of wall time, in % of one core."""
    cpu, wall = time.process_time(), time.perf_counter()
    await trio.sleep(seconds)
    return round(100 * (time.process_time() - cpu) / (time.perf_counter() - wall), 2)


async def idle_cpu(
    counts: tuple[int, ...] = (100, 1000),
    seconds: float = 10.0,
    *,
    spacing: float = 0.01,
    settle: float = 2.0,
    sim_process: bool = False,
) -> dict[str, Any]:
    """The idle CPU at no position, then at each of ``counts`` open positions (ascending).

    ``settle``: seconds after the last BUY confirmed before measuring (the last
    confirmations' writes and subscriptions wind down). ``sim_process``: the simulator
    in its own process, so the figure is the bot's CPU alone.
    """
    trade = {
        "extreme_fast_mode": True,
        "extreme_fast_token_amount": FAST_TOKENS,
        "max_active_mints": max(counts) + 1,
    }
    config = {"trade": trade, "exits": QUIET_EXITS}
    out: dict[str, Any] = {
        "seconds": seconds,
        "tick_interval": QUIET_EXITS["tick_interval"],
        "sim_process": sim_process,
    }
    with _temporary_files_in_memory():
        async with running_bot(config, seed=41, sim_process=sim_process) as run:
            await _measure(run, sorted(counts), seconds, spacing, settle, out)
    return out


async def _measure(
    run: BotRun, counts: list[int], seconds: float, spacing: float, settle: float,
    out: dict[str, Any],
) -> None:  # fmt: skip
    """The floor, then each count's figure, into ``out``."""
    await trio.sleep(settle)
    out["floor_cpu_pct"] = await _cpu_pct(seconds)
    for n in counts:
        held = await _open_positions(run, n, spacing, patience=60 + n * 0.2)
        await trio.sleep(settle)
        out[f"idle_cpu_{n}_positions_pct"] = await _cpu_pct(seconds)
        out[f"positions_open_at_{n}"] = held
        out[f"positions_open_after_{n}"] = _confirmed(run)  # none sold meanwhile
    stats = run.bot.trader.stats
    out["launched"], out["buys_sent"] = len(run.launched), stats.buys_sent
    out["tokens_seen"], out["tokens_dropped"] = stats.tokens_seen, stats.tokens_dropped
    out["buys_not_sent"], out["position_errors"] = stats.buys_not_sent, stats.position_errors
    out["pubsub_dropped"] = run.bot.trader.pubsub.stats.dropped
