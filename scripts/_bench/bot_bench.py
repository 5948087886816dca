"""End-to-end figures of the production bot against the simulator on 127.0.0.1.

Each latency is given twice (all ``time.perf_counter()``, one clock; see ``recorder``):

* ``wire``: at the simulator's sockets, from the node writing the ``logsNotification``
  to the bot's connection to the bot's ``sendTransaction`` request arriving at the node's
  socket (the kernel's receive stamp; ``*_wire_ms``): what another node would see of the
  bot; ``node_read`` ends at the node's read of the request instead (the end stamp before
  the kernel's; also counts the simulator's loop being busy), kept beside it;
* ``in_bot``: from the bot's pubsub client having the message off its socket to the
  request being handed to the socket (right before ``send_all``).

Between them — WS frame parsing, JSON, log decoding, filters, the intake channel, the
position task, the database row written before the BUY, curve read (normal mode),
quoting, building, signing, JSON encoding — is the bot's own latency. ``dropped`` counts
the samples asked for but not measured (no BUY or SELL seen on the wire in time).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import trio
from solders.pubkey import Pubkey

from trio_trader.sim import Faults
from trio_trader.sim.scenario import load_scenario
from trio_trader.trading.orders import OrderState

from . import bot_harness
from .bot_harness import BotRun, Landing, running_bot
from .profiling import BotTaskProfiler
from .recorder import decode_sent, on_bot_read
from .stats import ratio, summarize
from .txs import SOL

#: extreme fast mode buys this many base units (≈0.1 SOL right after a 1 SOL creator buy)
FAST_TOKENS = 3_000_000_000_000


async def _wait(predicate: Any, patience: float, poll: float = 0.005) -> bool:
    """Poll ``predicate`` (state read from outside the bot, no hook in its code)."""
    with trio.move_on_after(patience):
        while True:
            if predicate():
                return True
            await trio.sleep(poll)
    return False


def _first_sends(run: BotRun, *, wire: bool = False) -> dict[tuple[str | None, str], list[Any]]:
    """(mint, side) → the sendTransactions of that side, in order (rebroadcasts included):
    as they left the bot, or (``wire``) as the node read them."""
    out: dict[tuple[str | None, str], list[Any]] = {}
    sent = run.wire.sent_transactions() if wire else run.transport.sent_transactions()
    for one in sent:
        out.setdefault((one.mint, one.side), []).append(one)
    return out


def _figures(
    spans: dict[str, list[float]], in_bot: list[float], asked: int, run: BotRun,
    windows: list[tuple[float, float]],
) -> dict[str, Any]:  # fmt: skip
    """``windows``: each sample's (bot's read, request written), for the collector's
    passes inside them."""
    wire, node_read, *legs = spans
    return {
        # the tail by count, steadier than a p99 of 20-30 samples
        "above_4ms": {
            "wire": sum(ms > 4 for ms in spans[wire]),
            "in_bot": sum(ms > 4 for ms in in_bot),
        },
        "gc_in_path": run.gc.in_paths(windows),
        "gc_pauses": run.gc.summary(),
        "wire_ms": summarize(spans[wire]),
        "node_read_ms": summarize(spans[node_read]),
        "in_bot_ms": summarize(in_bot),
        "dropped": asked - len(spans[wire]),
        "wire_legs_ms": {k: summarize(spans[k]) for k in legs},
    }


def _new_spans() -> dict[str, list[float]]:
    """The wire figure, the node's-read one, and what the wire figure adds to the in-bot
    one: the notification's way to the bot (node's write → bot's read), the request's
    way back (bot's write → arrival at the node's socket); then the simulator's delay in
    reading it (arrival → node's read: what ``node_read`` adds to ``wire``)."""
    spans: dict[str, list[float]] = {
        "wire": [], "node_read": [], "notification_to_bot_read": [],
        "request_to_node_arrival": [], "node_arrival_to_read": [],
    }  # fmt: skip
    if bot_harness.SEND_ENDPOINTS > 1:  # a fan-out: when its last copy arrived, was written
        spans["wire_last_endpoint"] = []
        spans["first_to_last_endpoint_written"] = []
    return spans


def _add_spans(spans: dict[str, list[float]], run: BotRun, written: float | None,
               read: float | None, sent: Any, sent_wire: Any) -> None:  # fmt: skip
    """One sample's spans: ``written`` / ``read`` the notification's (node, bot), ``sent``
    / ``sent_wire`` the request's sends (as they left the bot, as the node read them)."""
    node_read = run.wire.node_read(sent_wire[0]) if sent_wire else 0.0
    if sent_wire and written is not None:
        # a fan-out's copies are read by the node in its own order: the earliest arrival
        first = min(one.at for one in sent_wire[: bot_harness.SEND_ENDPOINTS])
        spans["wire"].append((first - written) * 1e3)
        spans["node_read"].append((node_read - written) * 1e3)
    if written is not None and read is not None:
        spans["notification_to_bot_read"].append((read - written) * 1e3)
    if sent and sent_wire:
        spans["request_to_node_arrival"].append((sent_wire[0].at - sent[0].at) * 1e3)
    if sent_wire:
        spans["node_arrival_to_read"].append((node_read - sent_wire[0].at) * 1e3)
    last = bot_harness.SEND_ENDPOINTS - 1
    if last and sent_wire and len(sent_wire) > last and written is not None:
        # the node reads its connections in its own order: the latest of the N arrivals
        latest = max(one.at for one in sent_wire[: last + 1])
        spans["wire_last_endpoint"].append((latest - written) * 1e3)
    if last and sent and len(sent) > last:
        spans["first_to_last_endpoint_written"].append((sent[last].at - sent[0].at) * 1e3)


#: the detection path's stamps in the bot, in order (``path_stamps``); the first is the
#: bot's read, the last the request written
STAGES = ("read", "listener", "decoded", "intake_done", "buy_started", "signed", "row_start",
          "row_end", "request")  # fmt: skip


@contextlib.contextmanager
def path_stamps(sink: dict[str, dict[str, float]]) -> Iterator[None]:
    """Stamp the detection path's inner stages (``sink[stage][key]``: perf_counter).

    The listener's item taken off its channel and the token decoded / taken in are keyed
    by the create's signature; the BUY's start (``buy_started``: in the listener's task
    for an extreme fast BUY, ``UniversalTrader._buy_now``, else its position task's start)
    and the BUY signed by mint.
    Patched on the classes from outside, for the duration, like ``record_bot_reads``.
    """
    from trio_trader.listeners.logs import LogsListener
    from trio_trader.trading.platform_aware import ChainAccess
    from trio_trader.trading.trader import UniversalTrader

    for stage in STAGES:
        sink.setdefault(stage, {})
    handle, on_token, task, now, sign = (
        LogsListener.handle, UniversalTrader._on_token, UniversalTrader._position_task,
        UniversalTrader._buy_now, ChainAccess.sign_buy,
    )  # fmt: skip

    def stamped_handle(self: Any, item: Any, *args: Any) -> Any:
        at = time.perf_counter()
        value = item.get("value") if isinstance(item, dict) else None
        signature = value.get("signature") if isinstance(value, dict) else None
        if isinstance(signature, str):
            sink["listener"].setdefault(signature, at)
        return handle(self, item, *args)

    def stamped_on_token(self: Any, token: Any) -> Any:
        sink["decoded"].setdefault(token.signature, time.perf_counter())
        urgent = on_token(self, token)
        sink["intake_done"].setdefault(token.signature, time.perf_counter())
        return urgent

    async def stamped_task(self: Any, token_info: Any, *args: Any) -> None:
        sink["buy_started"].setdefault(str(token_info.mint), time.perf_counter())
        await task(self, token_info, *args)

    async def stamped_now(self: Any, token_info: Any) -> None:
        sink["buy_started"].setdefault(str(token_info.mint), time.perf_counter())
        await now(self, token_info)

    def stamped_sign(self: Any, order: Any, *args: Any, **kwargs: Any) -> Any:
        signed = sign(self, order, *args, **kwargs)
        if not kwargs.get("stand_in"):  # a rehearsal's BUY (--rehearse) is not the path's
            sink["signed"].setdefault(str(order.token_info.mint), time.perf_counter())
        return signed

    patches = ((LogsListener, "handle", stamped_handle),
               (UniversalTrader, "_on_token", stamped_on_token),
               (UniversalTrader, "_position_task", stamped_task),
               (UniversalTrader, "_buy_now", stamped_now),
               (ChainAccess, "sign_buy", stamped_sign))  # fmt: skip
    with _patched(patches):
        yield


@contextlib.contextmanager
def _patched(patches: tuple[tuple[type, str, Any], ...]) -> Iterator[None]:
    """Each ``(class, name, function)`` set on its class for the duration, then restored."""
    originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in patches]
    try:
        for cls, name, patched in patches:
            setattr(cls, name, patched)
        yield
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


def _stage_spans(
    stamps: dict[str, float | None], stages: tuple[str, ...] = STAGES
) -> dict[str, float]:
    """ms between consecutive stages present in ``stamps`` (``"read→listener"``, …)."""
    present = [(stage, at) for stage in stages if (at := stamps.get(stage)) is not None]
    return {f"{a}→{b}": (tb - ta) * 1e3 for (a, ta), (b, tb) in itertools.pairwise(present)}


#: the exit path's stamps in the bot, in order (``exit_stamps``): the bot's read of the
#: trigger, the listener's item, the rule fired (in the feed's call), the position's task
#: awake in its SELL loop, the SELL signed, its row write, the request written
EXIT_STAGES = ("read", "listener", "fired", "task_awake", "signed", "row_start", "row_end",
               "request")  # fmt: skip


@contextlib.contextmanager
def exit_stamps(sink: dict[str, dict[str, float]]) -> Iterator[None]:
    """Stamp the exit path's inner stages: ``sink["listener"]`` by the trigger's signature
    (as ``path_stamps``), the rest by mint, first time only (the first SELL)."""
    from trio_trader.trading.monitor import PositionMonitor
    from trio_trader.trading.orders import SellOrder
    from trio_trader.trading.platform_aware import ChainAccess

    for stage in ("fired", "task_awake", "signed"):
        sink.setdefault(stage, {})
    take, sell_loop = PositionMonitor._take_price, PositionMonitor._sell_until_done

    def stamped_take(self: Any, update: Any) -> None:
        fired_before = self._fired is not None
        take(self, update)
        if not fired_before and self._fired is not None:
            sink["fired"].setdefault(str(self.position.mint), time.perf_counter())

    async def stamped_sell_loop(self: Any, reason: str) -> None:
        sink["task_awake"].setdefault(str(self.position.mint), time.perf_counter())
        await sell_loop(self, reason)

    def stamped_sign(sign: Callable[..., Any]) -> Callable[..., Any]:
        def stamped(self: Any, order: Any, *args: Any, **kwargs: Any) -> Any:
            signed = sign(self, order, *args, **kwargs)
            if isinstance(order, SellOrder):
                sink["signed"].setdefault(str(order.token_info.mint), time.perf_counter())
            return signed

        return stamped

    patches = ((PositionMonitor, "_take_price", stamped_take),
               (PositionMonitor, "_sell_until_done", stamped_sell_loop),
               (ChainAccess, "sign", stamped_sign(ChainAccess.sign)),  # a pool SELL
               (ChainAccess, "sign_sell", stamped_sign(ChainAccess.sign_sell)),
               # the BUY's, unstamped here: path_stamps' "signed" is the BUY's, by mint too
               (ChainAccess, "sign_buy", ChainAccess.sign_buy))  # fmt: skip
    with path_stamps(sink), _patched(patches):  # path_stamps' handle stamp: the listener's
        yield


async def detect_to_buy_sent(
    n: int,
    *,
    extreme_fast: bool,
    spacing: float = 0.1,
    window: BotTaskProfiler | None = None,
    loaded: bool = False,
    sim_process: bool = False,
) -> dict[str, Any]:
    """Launch ``n`` tokens ``spacing`` apart; ms from the create's notification to the BUY.

    With ``window``, that profiler runs only from each launch's notification to the BUY's
    request leaving (``--profile detect_fast``). ``loaded``: INFO logging and the
    background feed (``bot_harness``). ``sim_process``: the simulator in its own process.
    """
    trade: dict[str, Any] = {"extreme_fast_mode": extreme_fast}
    if extreme_fast:
        trade["extreme_fast_token_amount"] = FAST_TOKENS
    config = {"trade": trade, "exits": {"never_sell": True}}
    seed = 31 if extreme_fast else 32
    inner: dict[str, dict[str, float]] = {}
    at_read = window if sim_process else None  # the node's write is stamped in its process
    with path_stamps(inner), _windows_at_bot_read(at_read):
        async with running_bot(config, seed=seed, loaded=loaded, sim_process=sim_process) as run:
            if window is not None:
                _profile_windows(run, window)
            mints = []
            for _ in range(n):
                mints.append(await run.launch(held=True))
                await trio.sleep(spacing)
            await _wait(lambda: len(_first_sends(run, wire=True)) >= n, 10)
            sends, wire_sends = _first_sends(run), _first_sends(run, wire=True)
            reads, read_cpu = run.bot_reads(), run.bot_read_cpu()
    delays: list[float] = []
    cpu: list[float] = []  # ms of the bot's thread CPU from the read to the request
    windows: list[tuple[float, float]] = []
    parts: dict[str, list[float]] = {
        "to_first_db_write": [], "db_writes_before_buy": [], "other_than_db_writes": [],
    }  # fmt: skip
    writes_before: list[int] = []
    spans = _new_spans()
    stages: dict[str, list[float]] = {}
    for mint in mints:
        create = run.launched[str(mint)]
        buy, buy_wire = sends.get((str(mint), "buy")), wire_sends.get((str(mint), "buy"))
        written, notified = run.notified(create), reads.get(create)
        _add_spans(spans, run, written, notified, buy, buy_wire)
        if not buy or notified is None:
            continue
        total = (buy[0].at - notified) * 1e3
        delays.append(total)
        if (cpu_read := read_cpu.get(create)) is not None:
            cpu.append((run.transport.cpu[buy[0].index] - cpu_read) * 1e3)
        windows.append((notified, buy[0].at))
        # Every row write of this position before its BUY left (the position row, and
        # the signed order once it is signed): the crash-safety price, on the path.
        writes = [(start, end) for _, start, end in run.repo.of(str(mint)) if start < buy[0].at]
        if writes:
            in_db = sum(end - start for start, end in writes) * 1e3
            parts["to_first_db_write"].append((writes[0][0] - notified) * 1e3)
            parts["db_writes_before_buy"].append(in_db)
            parts["other_than_db_writes"].append(total - in_db)
            writes_before.append(len(writes))
            stamps = {stage: inner.get(stage, {}).get(create) for stage in STAGES[1:4]}
            stamps |= {stage: inner.get(stage, {}).get(str(mint)) for stage in STAGES[4:6]}
            stamps |= {"read": notified, "row_start": writes[0][0], "row_end": writes[0][1],
                       "request": buy[0].at}  # fmt: skip
            for span, ms in _stage_spans(stamps).items():
                stages.setdefault(span, []).append(ms)
    return {
        **_figures(spans, delays, n, run, windows),
        "in_bot_cpu_ms": summarize(cpu, digits=3),
        "breakdown_ms": {k: summarize(v) for k, v in parts.items()},
        "db_writes_before_buy_per_position": summarize(writes_before, digits=2),
        "stages_ms": {k: summarize(v, digits=3) for k, v in stages.items()},
        "background_events": run.background_events,
    }


@contextlib.contextmanager
def _windows_at_bot_read(profiler: BotTaskProfiler | None) -> Iterator[None]:
    """Open ``profiler``'s window when the bot's pubsub client reads a create's notification.

    With the simulator in its own process the node's write is stamped there, after the
    fact; the window then covers the bot's own part of the path (its read → the BUY's
    request), which is the part profiled anyway. A create is told by its log line (the
    bot's own BUYs and the background trades have none).
    """
    if profiler is None:
        yield
        return

    def see(message: str | bytes) -> None:
        raw = message if isinstance(message, bytes) else message.encode()
        if b"logsNotification" in raw and b"Instruction: Create" in raw:
            profiler.open_window()

    with on_bot_read(see):
        yield


def _profile_windows(run: BotRun, profiler: BotTaskProfiler) -> None:
    """Open ``profiler``'s window at a launch's notification, close it at a BUY's request."""
    launches = run.launched.values()

    def on_logs(signature: str) -> None:
        if signature in launches:
            profiler.open_window()

    def on_request(at: float, body: bytes) -> None:
        if b'"sendTransaction"' in body:
            profiler.close_window()

    run.on_logs = on_logs
    run.transport.on_request = on_request


async def exit_signal_to_sell_sent(
    n: int, batch: int = 10, *, loaded: bool = False, sim_process: bool = False
) -> dict[str, Any]:
    """ms from the price event crossing take-profit (or stop-loss) to the SELL request.

    Tokens are launched ``batch`` at a time; once the bot's BUYs are confirmed, each
    position in turn gets its trigger — a whale buy (+>60 %: take profit) or the
    creator dumping its 5 SOL buy (−>25 %: stop loss), alternately — and the next one
    waits until the SELL has left, so samples never overlap. ``sim_process``: the
    simulator in its own process.
    """
    config = {
        "trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": FAST_TOKENS},
        "exits": {"take_profit_pct": 20.0, "stop_loss_pct": 15.0},
    }
    samples: dict[str, list[float]] = {"take_profit": [], "stop_loss": []}
    db_writes: list[float] = []  # ms of row writes between the trigger and the SELL
    spans = _new_spans()
    inner: dict[str, dict[str, float]] = {}
    stages: dict[str, list[float]] = {}
    mid_path: list[bool] = []
    cpu: list[float] = []  # ms of the bot's thread CPU from the read to the request
    to_write: list[float] = []  # ms from the node's write to the bot's request write call
    with exit_stamps(inner):
        async with running_bot(config, seed=33, loaded=loaded, sim_process=sim_process) as run:
            windows = await _exit_samples(
                run, n, batch, samples, db_writes, spans, inner, stages, (mid_path, cpu, to_write)
            )
    both = samples["take_profit"] + samples["stop_loss"]
    return {
        **_figures(spans, both, n, run, windows),
        # own process: triggers whose answer reached the bot's process before its SELL was
        # at the node (the bench's reader then ran inside the window; sim_process.HELD_OPS)
        "answered_mid_path": sum(mid_path) if sim_process else None,
        # the in-bot span in the bot's own CPU time: what is left of a slow sample once the
        # time its process was not running (another process had the core) is taken out
        "in_bot_cpu_ms": summarize(cpu),
        # the wire figure ended at the bot's side: the node's write to the bot's write call.
        # The kernel's receive stamp that ends ``wire_ms`` is taken when the loopback's
        # receive is processed, which under CPU contention is deferred (ksoftirqd) past
        # the bot's send() returning, by milliseconds: that tail is the machine's kernel
        "to_bot_write_ms": summarize(to_write),
        "take_profit": summarize(samples["take_profit"]),
        "stop_loss": summarize(samples["stop_loss"]),
        "db_writes_before_sell_ms": summarize(db_writes),
        "stages_ms": {k: summarize(v, digits=3) for k, v in stages.items()},
    }


async def _exit_samples(
    run: BotRun,
    n: int,
    batch: int,
    samples: dict[str, list[float]],
    db_writes: list[float],
    spans: dict[str, list[float]],
    inner: dict[str, dict[str, float]],
    stages: dict[str, list[float]],
    per_sample: tuple[list[bool], list[float], list[float]],
) -> list[tuple[float, float]]:
    """``exit_signal_to_sell_sent``'s loop: triggers one at a time, spans and stages; the
    samples' (read, request) windows. ``per_sample``: per trigger, its answer came before
    the node had read the SELL; per sample, the bot's thread CPU ms in it, and ms from the
    node's write to the bot's request write."""
    mid_path, cpu, to_write = per_sample
    trader = run.bot.trader
    windows: list[tuple[float, float]] = []
    done = 0
    while done < n:
        mints = [await run.launch(creator_buy=5 * SOL) for _ in range(min(batch, n - done))]
        await _wait(lambda ms=mints: all(_buy_confirmed(trader, m) for m in ms), 20)
        for i, mint in enumerate(mints):
            if not _buy_confirmed(trader, mint):
                continue
            kind = "take_profit" if (done + i) % 2 == 0 else "stop_loss"
            if kind == "take_profit":
                trigger = await run.whale_buy(mint, 10 * SOL)
            else:
                trigger = await run.creator_dump(mint)
            mid_path.append(not _sell_read(run, mint))
            if not await _wait(lambda m=mint: _sell_read(run, m), 5):
                continue
            sell = _first_sends(run).get((str(mint), "sell"))
            sell_wire = _first_sends(run, wire=True).get((str(mint), "sell"))
            written, notified = run.notified(trigger), run.bot_reads().get(trigger)
            _add_spans(spans, run, written, notified, sell, sell_wire)
            if sell and notified is not None:
                samples[kind].append((sell[0].at - notified) * 1e3)
                windows.append((notified, sell[0].at))
                if written is not None:
                    to_write.append((sell[0].at - written) * 1e3)
                cpu_read = run.bot_read_cpu().get(trigger)
                if cpu_read is not None:
                    cpu.append((run.transport.cpu[sell[0].index] - cpu_read) * 1e3)
                between = [
                    end - start
                    for _, start, end in run.repo.of(str(mint))
                    if notified <= start < sell[0].at
                ]
                db_writes.append(sum(between) * 1e3)
                writes = [(a, b) for _, a, b in run.repo.of(str(mint)) if notified <= a]
                key = str(mint)
                stamps = {stage: inner.get(stage, {}).get(key) for stage in EXIT_STAGES[2:5]}
                stamps |= {"read": notified, "listener": inner["listener"].get(trigger),
                           "request": sell[0].at}  # fmt: skip
                if writes:
                    stamps |= {"row_start": writes[0][0], "row_end": writes[0][1]}
                for span, ms in _stage_spans(stamps, EXIT_STAGES).items():
                    stages.setdefault(span, []).append(ms)
        done += len(mints)
    return windows


def _position(trader: Any, mint: Pubkey) -> Any:
    return trader.position_tasks.get(mint)


def _buy_confirmed(trader: Any, mint: Pubkey) -> bool:
    p = _position(trader, mint)
    return p is not None and p.buy_order is not None and p.buy_order.state is OrderState.CONFIRMED


def _sell_read(run: BotRun, mint: Pubkey) -> bool:
    """The position's SELL request has reached the node (not merely been signed)."""
    key = str(mint)
    return any(s.mint == key and s.side == "sell" for s in run.wire.sent_transactions())


#: how the node confirms in a zero-hold run (see ``timing_faults``)
TIMINGS = ("mainnet", "next_slot", "mainnet_landing")


def timing_faults(timing: str) -> Faults:
    """The node's knobs for one zero-hold timing; 0.4 s slots in all of them.

    * ``mainnet``: the default scenario's vote-delay model (``sim.latency``: a slot is
      confirmed after a log-normal delay, median 1.5 slots, tail to 32; finalized 32 slots
      later), transactions landing as soon as they are read (as in ``next_slot``), so the
      comparison with it isolates the confirmation model;
    * ``next_slot``: the simulator's default, every slot confirmed when the next one
      starts (the figure measured before issue 10's latency model);
    * ``mainnet_landing``: the default scenario's faults whole, i.e. ``mainnet`` plus its
      0.1–0.7 s send → land delay, one wallet's sends within a slot landing in send order
      but 3 % of all transactions held back 1–3 slots: a SELL sent milliseconds after
      its BUY lands first (and fails) only when its BUY is held back.
    """
    if timing == "next_slot":
        return Faults()
    scenario = load_scenario("default").faults.to_faults()
    if timing == "mainnet_landing":
        return scenario
    if timing != "mainnet":
        raise ValueError(f"unknown timing {timing!r}; one of {TIMINGS}")
    return Faults(
        confirm_depth=scenario.confirm_depth,
        finalize_depth=scenario.finalize_depth,
        vote_delay_median=scenario.vote_delay_median,
        vote_delay_sigma=scenario.vote_delay_sigma,
        vote_delay_max=scenario.vote_delay_max,
    )


def _profile_buy_to_sell(run: BotRun, profiler: BotTaskProfiler) -> None:
    """Open ``profiler``'s window at a position's first BUY request, close it at a SELL's."""
    bought: set[str | None] = set()

    def on_request(at: float, body: bytes) -> None:
        if b'"sendTransaction"' not in body:
            return
        sent = decode_sent(at, json.loads(body)["params"])
        if sent.side == "buy" and sent.mint not in bought:  # not a rebroadcast
            bought.add(sent.mint)
            profiler.open_window()
        elif sent.side == "sell":
            profiler.close_window()

    run.transport.on_request = on_request


def _overtook(err: str) -> bool:
    """A SELL that failed because its BUY had not landed: the wallet's token account
    did not exist yet (3012 AccountNotInitialized, see ``sim.pump_program``)."""
    return "3012" in err


async def zero_hold(
    n: int,
    *,
    pre_confirmation: bool,
    spacing: float = 0.15,
    loaded: bool = False,
    faults: Faults | None = None,
    window: BotTaskProfiler | None = None,
    sim_process: bool = False,
) -> dict[str, Any]:
    """``sell_after = 0``: BUY sent → SELL sent, slots between landings, RPC per position.

    ``faults``: the node's confirmation timing (``timing_faults``; default ``next_slot``).
    ``window``: that profiler runs only from each position's BUY request leaving to its
    first SELL request leaving (``--profile zero_hold_pre``). ``sim_process``: the
    simulator in its own process (its landing no longer runs on the bot's loop).
    """
    config = {
        "trade": {
            "extreme_fast_mode": True,
            "extreme_fast_token_amount": FAST_TOKENS,
            "pre_confirmation_sells": pre_confirmation,
        },
        "exits": {"sell_after": 0.0},
    }
    seed = 34 if pre_confirmation else 35
    async with running_bot(
        config, seed=seed, loaded=loaded, faults=faults, sim_process=sim_process
    ) as run:
        trader = run.bot.trader
        if window is not None:
            _profile_buy_to_sell(run, window)
        await trio.sleep(0.5)
        http_before = len(run.transport.requests)
        ws_before = trader.pubsub.stats.messages_sent
        ws_received_before = trader.pubsub.stats.messages_received
        started = time.perf_counter()
        mints = []
        for _ in range(n):
            mints.append(await run.launch())
            await trio.sleep(spacing)
        await _wait(lambda: trader.stats.buys_sent >= n and not trader.position_tasks, 60, 0.05)
        elapsed = time.perf_counter() - started
        http = run.transport.http_requests()[http_before:]
        ws_sent = trader.pubsub.stats.messages_sent - ws_before
        ws_received = trader.pubsub.stats.messages_received - ws_received_before
        open_left = len(trader.position_tasks)
        samples = await _zero_hold_samples(run, mints)
    background = [r for r in http if set(r[1]) <= {"getLatestBlockhash", "getBlockHeight"}]
    per_position = [r for r in http if r not in background]
    methods = Counter(m for _, ms in per_position for m in ms)
    positions = len(samples["in_bot"])
    return {
        "buy_sent_to_sell_sent_ms": summarize(samples["in_bot"]),
        "buy_sent_to_sold_sent_ms": summarize(samples["to_sold"]),
        "buy_to_sell_wire_ms": summarize(samples["wire"]),
        "buy_to_sell_node_read_ms": summarize(samples["node_read"]),
        "dropped": n - len(samples["wire"]),
        "breakdown_ms": {k: summarize(v) for k, v in samples["parts"].items()},
        "buy_to_sell_landing_slots": summarize(samples["slots"], digits=2),
        "buy_landing_to_confirmed_slots": summarize(samples["confirm_slots"], digits=2),
        "db_update_after_buy_ms": summarize(samples["db_update"]),
        "first_sell_failed": samples["first_sell_failed"],
        "first_sell_overtook_buy": samples["first_sell_overtook"],
        "positions": positions,
        "positions_left_open": open_left,
        "rpc": {
            "http_requests_per_position": round(len(per_position) / max(positions, 1), 2),
            "ws_messages_sent_per_position": round(ws_sent / max(positions, 1), 2),
            "ws_messages_received_per_position": round(ws_received / max(positions, 1), 2),
            "by_method_per_position": {
                m: round(c / max(positions, 1), 2) for m, c in sorted(methods.items())
            },
            "background_http_requests_per_s": round(len(background) / elapsed, 2),
        },
    }


async def _zero_hold_samples(run: BotRun, mints: list[Pubkey]) -> dict[str, Any]:
    """Per position: BUY → first SELL (in the bot, at the wire), BUY → the SELL that
    landed, its parts, landing slots, and how the first SELL fared."""
    sends, wire_sends = _first_sends(run), _first_sends(run, wire=True)
    orders = [s.signature for (mint, side), sent in sends.items() if side in ("buy", "sell")
              for s in sent]  # fmt: skip
    landings, confirmed_after = await run.landings(orders), await run.confirmed_after()
    out: dict[str, Any] = {
        "in_bot": [], "to_sold": [], "wire": [], "node_read": [], "slots": [],
        "confirm_slots": [],
        "db_update": [], "first_sell_failed": 0, "first_sell_overtook": 0,
        "parts": {
            "buy_send_round_trip": [], "buy_request_to_node": [], "buy_node_arrival_to_read": [],
            "node_read_to_buy_reply": [], "db_writes_between": [], "other": [],
            "other_than_db_writes": [], "sell_request_to_node": [],
            "sell_node_arrival_to_read": [],
        },
    }  # fmt: skip
    for mint in mints:
        buys_wire = wire_sends.get((str(mint), "buy"))
        sells_wire = wire_sends.get((str(mint), "sell"))
        if buys_wire and sells_wire:
            out["wire"].append((sells_wire[0].at - buys_wire[0].at) * 1e3)
            node_read = run.wire.node_read(sells_wire[0]) - run.wire.node_read(buys_wire[0])
            out["node_read"].append(node_read * 1e3)
        buys, sells = sends.get((str(mint), "buy")), sends.get((str(mint), "sell"))
        if buys and sells:
            _path_parts(run, str(mint), buys[0], sells[0], (buys_wire, sells_wire), out)
            _landings(landings, confirmed_after, buys[0], sells, out)
    return out


def _path_parts(
    run: BotRun, mint: str, buy: Any, sell: Any, wire: tuple[list[Any] | None, list[Any] | None],
    out: dict[str, Any],
) -> None:  # fmt: skip
    """BUY request → first SELL request in the bot, split into the BUY's round trip (the
    bot's write → its arrival at the node → the node's read → the reply), the row writes
    between, and the rest; beside them, outside that span, the SELL request's way to the
    node (the wire figure adds it and takes off the BUY's) and the node's delay in
    reading it (``node_read`` adds that too: a node busy landing the BUY reads it late)."""
    buy_wire, sell_wire = wire
    if sell_wire:
        out["parts"]["sell_request_to_node"].append((sell_wire[0].at - sell.at) * 1e3)
        read_delay = run.wire.node_read(sell_wire[0]) - sell_wire[0].at
        out["parts"]["sell_node_arrival_to_read"].append(read_delay * 1e3)
    total = (sell.at - buy.at) * 1e3
    out["in_bot"].append(total)
    after = [(a, b) for _, a, b in run.repo.of(mint) if a >= buy.at]
    if after:  # the position row saying the BUY is out
        out["db_update"].append((after[0][1] - after[0][0]) * 1e3)
    replied = run.transport.replied.get(buy.index)
    if replied is None:
        return
    parts = out["parts"]
    between = sum(b - a for a, b in after if a < sell.at) * 1e3
    parts["buy_send_round_trip"].append((replied - buy.at) * 1e3)
    if buy_wire:
        node_read = run.wire.node_read(buy_wire[0])
        parts["buy_request_to_node"].append((buy_wire[0].at - buy.at) * 1e3)
        parts["buy_node_arrival_to_read"].append((node_read - buy_wire[0].at) * 1e3)
        parts["node_read_to_buy_reply"].append((replied - node_read) * 1e3)
    parts["db_writes_between"].append(between)
    parts["other_than_db_writes"].append(total - between)
    parts["other"].append(total - between - (replied - buy.at) * 1e3)


def _landings(
    landings: dict[str, Landing], confirmed_after: Callable[[int], int | None], buy: Any,
    sells: list[Any], out: dict[str, Any],
) -> None:  # fmt: skip
    """How the first SELL fared, when the SELL that landed left, and the slots between."""
    buy_landed = landings.get(buy.signature)
    outcomes = [landings.get(s.signature) for s in sells]
    first = outcomes[0]
    if first is not None and first.err is not None:
        out["first_sell_failed"] += 1
        out["first_sell_overtook"] += _overtook(first.err)
    sold = [(s, o) for s, o in zip(sells, outcomes, strict=True) if o and o.err is None]
    if sold:
        out["to_sold"].append((sold[0][0].at - buy.at) * 1e3)
    if buy_landed is None:
        return
    confirmed = confirmed_after(buy_landed.slot)
    if confirmed is not None:
        out["confirm_slots"].append(confirmed)
    if sold:
        out["slots"].append(sold[0][1].slot - buy_landed.slot)


async def pre_confirmation_comparison(
    n: int, timing: str = "next_slot", *, sim_process: bool = False
) -> dict[str, Any]:
    """Both flows in one run of this process, so their ratio shares the machine's noise.

    ``timing``: how the node confirms (``timing_faults``). ``sim_process``: the simulator
    in its own process.
    """
    faults = timing_faults(timing)
    on = await zero_hold(n, pre_confirmation=True, faults=faults, sim_process=sim_process)
    off = await zero_hold(n, pre_confirmation=False, faults=faults, sim_process=sim_process)
    ratios = {}
    for figure in ("buy_sent_to_sell_sent_ms", "buy_to_sell_wire_ms", "buy_to_sell_node_read_ms"):
        for pct in ("p50", "p99"):
            ratios[f"{figure}_{pct}"] = ratio(off[figure].get(pct, 0), on[figure].get(pct, 0), 1)
    # not a measurement of any flow: both flows' in-bot time less their row writes, the share
    # that moving the writes off the path would leave (reported as such)
    rest_on, rest_off = (m["breakdown_ms"]["other_than_db_writes"] for m in (on, off))
    for pct in ("p50", "p99"):
        ratios[f"without_db_writes_{pct}"] = ratio(rest_off.get(pct, 0), rest_on.get(pct, 0), 1)
    return {
        "pre_confirmation_sells": on,
        "classic": off,
        "ratio_classic_over_pre_confirmation_p50": ratios["buy_sent_to_sell_sent_ms_p50"],
        "ratios_classic_over_pre_confirmation": ratios,
    }
