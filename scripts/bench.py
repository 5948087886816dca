"""Benchmarks of trio-trader against the simulator on 127.0.0.1 (real sockets, real time).

    python scripts/bench.py            # full run (< 10 min): bench.json + a table
    python scripts/bench.py --quick    # smoke-sized run (< 2 min)
    python scripts/bench.py --only sim,hot_path --out /tmp/b.json
    python scripts/bench.py --profile detect_fast   # cProfile of the bot's tasks, top functions

Every figure is measured, never assumed; latencies are reported as median (p50) and p99
over the samples (``n`` is in bench.json). These machines are shared and noisy: figures
that are compared are measured in the same run, and the ratio is reported. Method and
the latest full run's figures: ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    bot_bench,
    bot_harness,
    db_bench,
    feed_bench,
    hot_path,
    idle_bench,
    report,
    sim_bench,
)
from _bench.profiling import OFF_BUY_TO_SELL_PATH, BotTaskProfiler, profile_bot
from _bench.stats import machine, rss_mb

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("sim", "hot_path", "db", "feed", "memory", "idle", "detect", "exit", "zero_hold")

#: sample counts per group: (quick, full)
SIZES: dict[str, dict[str, int]] = {
    "quick": dict(
        ledger_tx=200, ws_tx=300, ws_subscribers=2, rpc_calls=200, hot_path=200, db=100,
        feed_mints=500, feed_events=3000, feed_paced_s=3, positions=1000,
        detect=30, exit=20, zero_hold=30, idle_positions=200, idle_seconds=3,
    ),
    "full": dict(
        ledger_tx=2000, ws_tx=2000, ws_subscribers=4, rpc_calls=2000, hot_path=1000, db=500,
        feed_mints=500, feed_events=20_000, feed_paced_s=6, positions=1000,
        detect=200, exit=200, zero_hold=200, idle_positions=1000, idle_seconds=10,
    ),
}  # fmt: skip


async def sim_group(size: dict[str, int]) -> dict[str, Any]:
    ledger = sim_bench.ledger_throughput(size["ledger_tx"])
    ws = await sim_bench.ws_throughput(size["ws_tx"], size["ws_subscribers"])
    rpc = await sim_bench.rpc_throughput(size["rpc_calls"])
    return {"sim_throughput": {"ledger": ledger, "websocket": ws, "json_rpc": rpc}}


async def hot_path_group(size: dict[str, int]) -> dict[str, Any]:
    return {"hot_path_breakdown_us": await hot_path.hot_path_breakdown(size["hot_path"])}


async def db_group(size: dict[str, int]) -> dict[str, Any]:
    return {"db_writes_us": await db_bench.db_writes(size["db"])}


async def feed_group(size: dict[str, int]) -> dict[str, Any]:
    rates = (250.0, 1000.0) if size["feed_paced_s"] < 6 else (250.0, 500.0, 1000.0)
    feed = await feed_bench.feed_events_per_s(
        size["feed_mints"], size["feed_events"], rates, size["feed_paced_s"]
    )
    return {"feed_events_per_s": feed}


async def memory_group(size: dict[str, int]) -> dict[str, Any]:
    memory = await trio.to_thread.run_sync(feed_bench.rss_in_fresh_process, size["positions"])
    return {
        f"rss_mb_at_{memory['positions']}_positions": memory["rss_mb_at_positions"],
        "memory_per_position_kib": memory["kib_per_position"],
        "memory": memory,
    }


#: ``--sim-process``: also measure detect, exit, zero_hold and idle with the simulator in
#: its own process
SIM_PROCESS = False


async def idle_group(size: dict[str, int]) -> dict[str, Any]:
    """Idle CPU with open positions, at a tenth of the count and at the count; with
    ``SIM_PROCESS`` also the bot's process alone, the simulator in its own."""
    n = size["idle_positions"]
    name = f"idle_cpu_{n}_positions_pct"
    idle = await idle_bench.idle_cpu((n // 10, n), size["idle_seconds"])
    out = {name: idle[name], "idle_cpu": idle}
    if SIM_PROCESS:
        alone = await idle_bench.idle_cpu((n // 10, n), size["idle_seconds"], sim_process=True)
        out[f"{name}_sim_process"], out["idle_cpu_sim_process"] = alone[name], alone
    return out


async def detect_group(size: dict[str, int]) -> dict[str, Any]:
    """Quiet (ERROR logging, no other traffic) and loaded (INFO, 1,000 trade events/s);
    with ``SIM_PROCESS``, the same again with the simulator in its own process
    (``detect_to_buy_ms_sim_process``) beside the in-process figures."""
    out = {"detect_to_buy_ms": await _detect_runs(size["detect"], sim_process=False)}
    if SIM_PROCESS:
        out["detect_to_buy_ms_sim_process"] = await _detect_runs(size["detect"], sim_process=True)
    return out


async def _detect_runs(n: int, *, sim_process: bool) -> dict[str, Any]:
    fast = await bot_bench.detect_to_buy_sent(n, extreme_fast=True, sim_process=sim_process)
    normal = await bot_bench.detect_to_buy_sent(n, extreme_fast=False, sim_process=sim_process)
    loaded = await bot_bench.detect_to_buy_sent(
        n, extreme_fast=True, loaded=True, sim_process=sim_process
    )
    return {"quiet": {"extreme_fast": fast, "normal": normal}, "loaded": {"extreme_fast": loaded}}


async def exit_group(size: dict[str, int]) -> dict[str, Any]:
    """As ``detect_group``: in-process, and with ``SIM_PROCESS`` the simulator's own."""
    out = {"exit_to_sell_ms": await _exit_runs(size["exit"], sim_process=False)}
    if SIM_PROCESS:
        out["exit_to_sell_ms_sim_process"] = await _exit_runs(size["exit"], sim_process=True)
    return out


async def _exit_runs(n: int, *, sim_process: bool) -> dict[str, Any]:
    quiet = await bot_bench.exit_signal_to_sell_sent(n, sim_process=sim_process)
    loaded = await bot_bench.exit_signal_to_sell_sent(n, loaded=True, sim_process=sim_process)
    return {"quiet": quiet, "loaded": loaded}


#: zero-hold timings measured (``bot_bench.timing_faults``), by the name the results carry
ZERO_HOLD_TIMINGS = {
    "mainnet_confirmation": "mainnet",
    "next_slot_confirmation": "next_slot",
    "mainnet_confirmation_and_landing": "mainnet_landing",
}
#: per-mode figures of a zero-hold run, reported side by side (pre-confirmation; classic)
ZERO_HOLD_FIGURES = (
    "buy_sent_to_sell_sent_ms", "buy_to_sell_wire_ms", "buy_to_sell_node_read_ms",
    "buy_sent_to_sold_sent_ms",
    "buy_to_sell_landing_slots", "buy_landing_to_confirmed_slots", "first_sell_failed",
    "first_sell_overtook_buy", "dropped", "db_update_after_buy_ms", "breakdown_ms",
    "positions", "positions_left_open",
)  # fmt: skip


def zero_hold_block(both: dict[str, Any], timing: str) -> dict[str, Any]:
    """One timing's comparison (``bot_bench.pre_confirmation_comparison``), figure by figure
    with both modes side by side, as ``bench.json`` and the table carry it."""
    on, off = both["pre_confirmation_sells"], both["classic"]
    block: dict[str, Any] = {
        figure: {"pre_confirmation_sells": on[figure], "classic": off[figure]}
        for figure in (*ZERO_HOLD_FIGURES, "rpc")
    }
    block["rpc_requests_per_position"] = block.pop("rpc")
    block["ratio_classic_over_pre_confirmation_p50"] = both[
        "ratio_classic_over_pre_confirmation_p50"
    ]
    block["ratios_classic_over_pre_confirmation"] = both["ratios_classic_over_pre_confirmation"]
    block["faults"] = attrs.asdict(bot_bench.timing_faults(timing))
    return block


async def zero_hold_group(size: dict[str, int]) -> dict[str, Any]:
    """BUY → SELL with ``sell_after = 0``, pre-confirmation sells on and off (classic), under
    each timing: mainnet-like confirmation (the issue's figure), the simulator's old
    next-slot confirmation, and mainnet-like confirmation with send → land delays. With
    ``SIM_PROCESS``, the same again with the simulator in its own process
    (``zero_hold_sim_process``: the honest figures, its landing off the bot's loop)."""
    out = {"zero_hold": await _zero_hold_runs(size["zero_hold"], sim_process=False)}
    if SIM_PROCESS:
        out["zero_hold_sim_process"] = await _zero_hold_runs(size["zero_hold"], sim_process=True)
    return out


async def _zero_hold_runs(n: int, *, sim_process: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, timing in ZERO_HOLD_TIMINGS.items():
        both = await bot_bench.pre_confirmation_comparison(n, timing, sim_process=sim_process)
        out[name] = zero_hold_block(both, timing)
    return out


RUNNERS: dict[str, Callable[[dict[str, int]], Awaitable[dict[str, Any]]]] = {
    "sim": sim_group,
    "hot_path": hot_path_group,
    "db": db_group,
    "feed": feed_group,
    "memory": memory_group,
    "idle": idle_group,
    "detect": detect_group,
    "exit": exit_group,
    "zero_hold": zero_hold_group,
}


async def run_groups(
    groups: tuple[str, ...], size: dict[str, int], *, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the groups in order; the results, merged, with the seconds each took."""
    results: dict[str, Any] = {"seconds": {}}
    for group in groups:
        echo(f"· {group} …")
        start = time.perf_counter()
        results.update(await RUNNERS[group](size))
        results["seconds"][group] = round(time.perf_counter() - start, 1)
    return results


#: groups that run the whole bot: profiled on the bot's tasks only, per operation
ProfiledRun = Callable[[dict[str, int], BotTaskProfiler], Awaitable[Any]]
BOT_PROFILES: dict[str, tuple[ProfiledRun, Callable[[Any], int]]] = {
    "detect_fast": (  # only the windows from a launch's notification to its BUY leaving
        lambda size, prof: bot_bench.detect_to_buy_sent(
            size["detect"], extreme_fast=True, window=prof.windowed(), sim_process=SIM_PROCESS
        ),
        lambda r: r["in_bot_ms"]["n"],  # BUYs sent
    ),
    "zero_hold_pre": (  # only the windows from a BUY request leaving to its SELL leaving
        lambda size, prof: bot_bench.zero_hold(
            size["zero_hold"],
            pre_confirmation=True,
            faults=bot_bench.timing_faults("mainnet"),
            window=prof.windowed(OFF_BUY_TO_SELL_PATH),
            sim_process=SIM_PROCESS,
        ),
        lambda r: r["positions"],  # SELLs sent
    ),
    "detect": (
        lambda size, _: detect_group(size),
        lambda r: sum(
            v["in_bot_ms"]["n"] for load in r["detect_to_buy_ms"].values() for v in load.values()
        ),
    ),
    "exit": (
        lambda size, _: exit_group(size),
        lambda r: sum(v["in_bot_ms"]["n"] for v in r["exit_to_sell_ms"].values()),
    ),
    "zero_hold": (
        lambda size, _: zero_hold_group(size),
        lambda r: sum(
            sum(block["positions"].values())
            for key in ("zero_hold", "zero_hold_sim_process")
            for block in r.get(key, {}).values()
        ),
    ),
}


def profile(group: str, size: dict[str, int]) -> str:
    """cProfile of one group: the functions with the most own time.

    A group that runs the whole bot is profiled on the bot's tasks only (the simulator
    shares the loop; see ``_bench/profiling.py``); the others whole.
    """
    if group in BOT_PROFILES:
        run, per = BOT_PROFILES[group]
        return profile_bot(lambda prof: run(size, prof), per=per)
    profiler = cProfile.Profile()
    profiler.enable()
    trio.run(RUNNERS[group], size)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sample counts (< 2 min)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"groups: {','.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench.json")
    parser.add_argument(
        "--profile",
        choices=(*GROUPS, "detect_fast", "zero_hold_pre"),
        help="cProfile one group instead",
    )
    parser.add_argument(
        "--httpx-send",
        action="store_true",
        help="the bot sends sendTransaction through httpx, as before the direct sender",
    )
    parser.add_argument(
        "--sim-process",
        action="store_true",
        help="detect/exit/zero_hold/idle: also run the simulator in its own process, wire "
        "stamped there (with --profile detect_fast/zero_hold_pre: the profiled run has it "
        "in its own process, detect_fast's windows opened at the bot's read)",
    )
    parser.add_argument(
        "--spin",
        action="store_true",
        help="every bot the run starts (detect, exit, zero_hold, idle, --profile) has "
        "[latency] spin on (trading/spin.py)",
    )
    parser.add_argument(
        "--rehearse",
        type=float,
        default=0.0,
        metavar="MS",
        help="every bot the run starts has [latency] rehearse_ms = MS (trading/rehearsal.py)",
    )
    parser.add_argument(
        "--send-endpoints",
        type=int,
        default=1,
        metavar="N",
        help="with N > 1 every bot the run starts fans its sends out to N send endpoints "
        "(the simulator's RPC server under N URLs: rpc.send_endpoints)",
    )
    args = parser.parse_args(argv)
    bot_harness.SEND_ENDPOINTS = args.send_endpoints
    bot_harness.DIRECT_SEND = not args.httpx_send
    bot_harness.SPIN = args.spin
    bot_harness.REHEARSE_MS = args.rehearse
    global SIM_PROCESS
    SIM_PROCESS = args.sim_process
    logging.basicConfig(level=logging.ERROR)
    size = SIZES["quick" if args.quick else "full"]
    if args.profile:
        print(profile(args.profile, size))
        return 0
    groups = tuple(g.strip() for g in args.only.split(",") if g.strip())
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {sorted(unknown)}")
    info = machine()
    start = time.perf_counter()
    results = trio.run(run_groups, groups, size)
    out = {
        "machine": {**info, "rss_mb_at_end": round(rss_mb(), 1)},
        "mode": "quick" if args.quick else "full",
        "send_path": "httpx" if args.httpx_send else "direct",
        "sim_process": args.sim_process,
        "spin": args.spin,
        "rehearse_ms": args.rehearse,
        "send_endpoints": args.send_endpoints,
        "total_seconds": round(time.perf_counter() - start, 1),
        **results,
    }
    args.out.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(report.table(out))
    print(f"\n{out['mode']} run in {out['total_seconds']} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
