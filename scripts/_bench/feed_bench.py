"""The trade feed under load, and what an open position costs in memory.

``feed_events_per_s``: a sender in its own process (``feed_server.py``) streams real pump
buy notifications over a loopback WebSocket to the bot's own pipeline — ``PubsubClient`` →
``LogsListener`` (JSON, log parsing, event decoding) → ``TradeFeed`` → one real
``PositionMonitor`` task per position (price bookkeeping and the exit check). The monitors
hold confirmed positions whose exit rules never fire, so every event goes the whole way
and nothing else runs. Back to back (the most the pipeline decodes and routes; events a
slow consumer misses are counted, not queued), then paced at fixed rates for the routing
delay (sender's write → the monitor holding the price). Each run also reports the bot
process's CPU time per event, steadier than rates on a shared machine. A third, back-to-back
run (``routing_only``) puts a bare inbox reader where each monitor was: what the pipeline
from the socket to the position's inbox costs without the monitor's own work.

``rss_mb_at_1000_positions``: the same positions and monitor tasks, each inside its own
position nursery as the trader runs them, with a signed BUY attached; RSS before and after.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader import gctune
from trio_trader.chain.pubsub import PubsubClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import PriceUpdate
from trio_trader.trading.exits import ExitRules
from trio_trader.trading.feed import TradeFeed
from trio_trader.trading.monitor import PositionMonitor, SellPolicy
from trio_trader.trading.orders import BuyOrder
from trio_trader.trading.position import Position

from .feed_server import index_of
from .gcpauses import gc_pauses
from .stats import rss_mb, summarize
from .txs import buy_instructions, keypair, token_info

SERVER = Path(__file__).with_name("feed_server.py")
#: rules that never fire on the feed's prices, but are evaluated on every one
QUIET_RULES = ExitRules(take_profit_bps=10_000_000, stop_loss_bps=9_999)
QUIET_POLICY = SellPolicy(tick_interval=3600.0)


@attrs.define(eq=False, kw_only=True)
class TimedMonitor(PositionMonitor):
    """A production monitor that notes when it takes each price (the routing end point)."""

    seen: list[tuple[float, str]] = attrs.field(factory=list)

    def _see_price(self, update: PriceUpdate) -> None:
        self.seen.append((time.perf_counter(), update.signature))
        super()._see_price(update)


def confirmed_position(mint: Pubkey, payer: Keypair, blockhash: Hash) -> Position:
    """A position whose BUY (a real signed transaction) is sent and confirmed."""
    creator = keypair("feed-creator").pubkey()
    info = token_info(mint, creator)
    position = Position.create_from_token_info(info)
    amount, cost = 1_600_000_000_000, 50_000_000
    buy = BuyOrder(
        token_info=info, token_amount=amount, max_sol_cost=cost * 2, sol_cost=cost,
        slippage_bps=1500, priority_fee=10_000, compute_unit_limit=120_000,
    )  # fmt: skip
    signed = build_transaction(
        buy_instructions(payer.pubkey(), mint, creator, amount, cost * 2), payer, blockhash
    )
    buy.attach_transaction(
        signature=signed.signature, raw_transaction=signed.raw, blockhash=blockhash,
        last_valid_block_height=150,
    )  # fmt: skip
    buy.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())
    position.update_from_buy_order(buy)
    position.apply_buy_result(
        buy.mark_confirmed(slot=1, fee_lamports=6_200, sol_change=-cost - 2_100_000,
                           token_change=amount)
    )  # fmt: skip
    return position


class _NeverSells:
    """The seller of monitors whose rules never fire: nothing to prepare either."""

    def prepare_first_sell(self, position: object) -> None:
        pass


@asynccontextmanager
async def monitored_positions(
    feed: TradeFeed, mints: list[Pubkey]
) -> AsyncIterator[list[TimedMonitor]]:
    """One monitor task per mint, subscribed to ``feed``, each in its own position nursery."""
    payer, blockhash = keypair("feed-payer"), Hash.new_unique()
    monitors: list[TimedMonitor] = []

    async def position_task(mint: Pubkey, task_status: trio.TaskStatus[None]) -> None:
        with feed.subscribe(mint) as prices:
            monitor = TimedMonitor(
                position=confirmed_position(mint, payer, blockhash),
                seller=_NeverSells(), repo=None,  # type: ignore[arg-type]  # no rule fires
                rules=QUIET_RULES, policy=QUIET_POLICY, prices=prices,
            )  # fmt: skip
            monitors.append(monitor)
            async with trio.open_nursery() as scope:
                monitor.scope = scope.cancel_scope
                monitor.buy_result_available_event.set()
                scope.start_soon(monitor.monitor)
                task_status.started()

    async with trio.open_nursery() as nursery:
        for mint in mints:
            await nursery.start(position_task, mint)
        await trio.sleep(0.05)  # every monitor reaches its first wait
        yield monitors
        nursery.cancel_scope.cancel()


@attrs.define(eq=False)
class InboxReader:
    """A position that only takes its prices: the pipeline's share without the monitor's."""

    seen: list[tuple[float, str]] = attrs.field(factory=list)

    def take(self, update: PriceUpdate) -> None:
        self.seen.append((time.perf_counter(), update.signature))


@asynccontextmanager
async def reading_positions(
    feed: TradeFeed, mints: list[Pubkey]
) -> AsyncIterator[list[InboxReader]]:
    """One task per mint whose ``feed.subscribe`` inbox hands each price to a stamping reader."""
    readers: list[InboxReader] = []

    async def reader_task(mint: Pubkey, task_status: trio.TaskStatus[None]) -> None:
        reader = InboxReader()
        readers.append(reader)
        with feed.subscribe(mint) as inbox:
            inbox.listen(reader.take)
            task_status.started()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        for mint in mints:
            await nursery.start(reader_task, mint)
        yield readers
        nursery.cancel_scope.cancel()


async def _feed_run(
    mints: int, count: int, rate: float, *, monitors_take_prices: bool = True
) -> dict[str, Any]:
    """One sender run against the bot pipeline; see the module docstring.

    ``monitors_take_prices=False`` puts a bare inbox reader where each monitor was.
    """
    keys = [keypair("feed-mint", k).pubkey() for k in range(mints)]
    feed = TradeFeed()
    positions = monitored_positions if monitors_take_prices else reading_positions
    # as ``app`` does once the bot is built: the positions come after (trio_trader/gctune.py)
    with tempfile.TemporaryDirectory() as tmp, gctune.tuned():
        stamps_path = Path(tmp) / "stamps.json"
        async with (
            trio.open_nursery() as nursery,
            positions(feed, keys) as monitors,
        ):
            command = [sys.executable, str(SERVER), str(mints), str(count), str(rate)]
            proc = await nursery.start(
                partial(
                    trio.run_process,
                    [*command, str(stamps_path)],
                    stdout=subprocess.PIPE,
                    check=False,
                )
            )
            port = int((await proc.stdout.receive_some(64)).decode().split()[0])
            pubsub = PubsubClient(f"ws://127.0.0.1:{port}", heartbeat_interval=3600)
            listener = LogsListener(pubsub, wants=feed.holds)  # as the trader wires it
            async with trio.open_nursery() as bot:
                await bot.start(pubsub.run)
                # The listener leaves first so that its unsubscribe finds the socket open.
                async with trio.open_nursery() as listening:
                    await listening.start(listener.run, lambda token: None, feed.publish)
                    cpu_start = time.process_time()
                    with trio.move_on_after(120), gc_pauses() as pauses:
                        while True:  # polled from outside: no hook in the listener
                            if listener.stats.notifications + pubsub.stats.dropped >= count:
                                break
                            await trio.sleep(0.01)
                    cpu = time.process_time() - cpu_start
                    await trio.sleep(0.05)  # the last wake-ups
                    listening.cancel_scope.cancel()
                await trio.sleep(0.05)
                bot.cancel_scope.cancel()
            with trio.fail_after(30):
                await proc.wait()
        stamps = json.loads(stamps_path.read_text())
    seen = [item for m in monitors for item in m.seen]
    delays = [(at - stamps[index_of(sig)]) * 1e3 for at, sig in seen]
    last = max(at for at, _ in seen)
    decoded = listener.stats.prices
    return {
        "positions": mints,
        "sent": count,
        # None: every message went in one write (a small run), no rate to speak of
        "sender_rate_per_s": (
            round((len(stamps) - 1) / span, 1) if (span := stamps[-1] - stamps[0]) > 0 else None
        ),
        "decoded": decoded,
        "routed": feed.stats.delivered,
        "taken_by_monitors": len(seen),
        "dropped_by_pubsub": pubsub.stats.dropped,
        "superseded_in_feed": feed.stats.superseded,
        "events_per_s": round(decoded / (last - stamps[0]), 1),
        # the bot process's CPU (every thread) while the events came, per event
        "cpu_us_per_event": round(cpu / max(decoded, 1) * 1e6, 1),
        "routing_delay_ms": summarize(delays),
        "gc_pauses": pauses.summary(),
    }


async def feed_events_per_s(
    mints: int = 500,
    count: int = 20_000,
    rates: tuple[float, ...] = (250.0, 500.0, 1000.0),
    seconds: float = 6.0,
) -> dict[str, Any]:
    """Back-to-back run, then paced runs at fixed rates for the routing delay.

    Back to back, many notifications arrive per socket read, which amortises Trio's
    per-wakeup cost; paced, each arrives on its own, the way a real feed trickles in —
    so the paced runs also show the rate at which the pipeline stops keeping up.
    """
    flat_out = await _feed_run(mints, count, 0.0)
    routing_only = await _feed_run(mints, count, 0.0, monitors_take_prices=False)
    paced = {}
    for rate in rates:
        run = await _feed_run(mints, int(rate * seconds), rate)
        paced[f"{rate:g}_per_s"] = {
            "achieved_per_s": run["events_per_s"],
            "cpu_us_per_event": run["cpu_us_per_event"],
            "routing_delay_ms": run["routing_delay_ms"],
            "dropped_by_pubsub": run["dropped_by_pubsub"],
            "superseded_in_feed": run["superseded_in_feed"],
            "gc_pauses": run["gc_pauses"],
        }
    first = paced[f"{rates[0]:g}_per_s"]["routing_delay_ms"]
    return {
        "events_per_s": flat_out["events_per_s"],
        "cpu_us_per_event": flat_out["cpu_us_per_event"],
        "routing_only_events_per_s": routing_only["events_per_s"],
        "routing_only_cpu_us_per_event": routing_only["cpu_us_per_event"],
        "routing_delay_rate_per_s": rates[0],
        "routing_delay_ms_p50": first["p50"],
        "routing_delay_ms_p99": first["p99"],
        "max_rate_run": flat_out,
        "routing_only_run": routing_only,
        "paced": paced,
    }


async def rss_at_positions(n: int = 1000) -> dict[str, Any]:
    """RSS with ``n`` open positions and their monitor tasks, against a warmed-up baseline.

    Then the same again under ``tracemalloc`` for the Python heap's own count (RSS moves
    in pages and keeps freed memory, tracemalloc counts live objects exactly).
    """
    feed = TradeFeed()
    gctune.tune()  # a fresh process: as the bot runs
    warm = [keypair("rss-warm", k).pubkey() for k in range(20)]
    keys = [keypair("rss-mint", k).pubkey() for k in range(n)]
    async with monitored_positions(feed, warm):
        pass
    gc.collect()
    before = rss_mb()
    async with monitored_positions(feed, keys) as monitors:
        gc.collect()
        after = rss_mb()
        running = len(monitors)
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    async with monitored_positions(feed, keys):
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "positions": running,
        "rss_mb_before": round(before, 1),
        "rss_mb_at_positions": round(after, 1),
        "kib_per_position": round((after - before) * 1024 / n, 1),
        "python_heap_kib_per_position": round((traced - base) / 1024 / n, 1),
    }


def rss_in_fresh_process(n: int = 1000) -> dict[str, Any]:
    """:func:`rss_at_positions` in a new interpreter, so earlier runs' freed pages don't count."""
    scripts = Path(__file__).resolve().parents[1]
    code = (
        f"import sys, json, trio; sys.path.insert(0, {str(scripts)!r}); "
        "from _bench.feed_bench import rss_at_positions; "
        f"print(json.dumps(trio.run(rss_at_positions, {n})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
