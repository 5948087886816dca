"""End-to-end figures of the production bot against the simulator on 127.0.0.1.

Each latency is given twice (all ``time.perf_counter()``, one clock; see ``recorder``):

* ``wire``: at the simulator's sockets, from the node writing the ``logsNotification``
  to the bot's connection to the node having read the bot's ``sendTransaction`` request
  (``*_wire_ms``): what another node would see of the bot;
* ``in_bot``: from the bot's pubsub client having the message off its socket to the
  request being handed to the socket (right before ``send_all``).

Between them — WS frame parsing, JSON, log decoding, filters, the intake channel, the
position task, the database row written before the BUY, curve read (normal mode),
quoting, building, signing, JSON encoding — is the bot's own latency. ``dropped`` counts
the samples asked for but not measured (no BUY or SELL seen on the wire in time).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import trio
from solders.pubkey import Pubkey

from trio_trader.trading.orders import OrderState

from .bot_harness import BotRun, running_bot
from .profiling import BotTaskProfiler
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


def _figures(wire: list[float], in_bot: list[float], asked: int) -> dict[str, Any]:
    return {
        "wire_ms": summarize(wire),
        "in_bot_ms": summarize(in_bot),
        "dropped": asked - len(wire),
    }


async def detect_to_buy_sent(
    n: int,
    *,
    extreme_fast: bool,
    spacing: float = 0.1,
    window: BotTaskProfiler | None = None,
    loaded: bool = False,
) -> dict[str, Any]:
    """Launch ``n`` tokens ``spacing`` apart; ms from the create's notification to the BUY.

    With ``window``, that profiler runs only from each launch's notification to the BUY's
    request leaving (``--profile detect_fast``). ``loaded``: INFO logging and the
    background feed (``bot_harness``).
    """
    trade: dict[str, Any] = {"extreme_fast_mode": extreme_fast}
    if extreme_fast:
        trade["extreme_fast_token_amount"] = FAST_TOKENS
    config = {"trade": trade, "exits": {"never_sell": True}}
    async with running_bot(config, seed=31 if extreme_fast else 32, loaded=loaded) as run:
        if window is not None:
            _profile_windows(run, window)
        mints = []
        for _ in range(n):
            mints.append(run.launch())
            await trio.sleep(spacing)
        await _wait(lambda: len(_first_sends(run, wire=True)) >= n, 10)
        sends, wire_sends = _first_sends(run), _first_sends(run, wire=True)
        reads = run.bot_reads()
    wire: list[float] = []
    delays: list[float] = []
    parts: dict[str, list[float]] = {
        "to_first_db_write": [], "db_writes_before_buy": [], "other_than_db_writes": [],
    }  # fmt: skip
    writes_before: list[int] = []
    for mint in mints:
        create = run.launched[str(mint)]
        buy, buy_wire = sends.get((str(mint), "buy")), wire_sends.get((str(mint), "buy"))
        written, notified = run.notified(create), reads.get(create)
        if buy_wire and written is not None:
            wire.append((buy_wire[0].at - written) * 1e3)
        if not buy or notified is None:
            continue
        total = (buy[0].at - notified) * 1e3
        delays.append(total)
        # Every row write of this position before its BUY left (the position row, and
        # the signed order once it is signed): the crash-safety price, on the path.
        writes = [(start, end) for _, start, end in run.repo.of(str(mint)) if start < buy[0].at]
        if writes:
            in_db = sum(end - start for start, end in writes) * 1e3
            parts["to_first_db_write"].append((writes[0][0] - notified) * 1e3)
            parts["db_writes_before_buy"].append(in_db)
            parts["other_than_db_writes"].append(total - in_db)
            writes_before.append(len(writes))
    return {
        **_figures(wire, delays, n),
        "breakdown_ms": {k: summarize(v) for k, v in parts.items()},
        "db_writes_before_buy_per_position": summarize(writes_before, digits=2),
        "background_events": run.feed.sent if run.feed is not None else 0,
    }


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
    n: int, batch: int = 10, *, loaded: bool = False
) -> dict[str, Any]:
    """ms from the price event crossing take-profit (or stop-loss) to the SELL request.

    Tokens are launched ``batch`` at a time; once the bot's BUYs are confirmed, each
    position in turn gets its trigger — a whale buy (+>60 %: take profit) or the
    creator dumping its 5 SOL buy (−>25 %: stop loss), alternately — and the next one
    waits until the SELL has left, so samples never overlap.
    """
    config = {
        "trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": FAST_TOKENS},
        "exits": {"take_profit_pct": 20.0, "stop_loss_pct": 15.0},
    }
    samples: dict[str, list[float]] = {"take_profit": [], "stop_loss": []}
    wire: list[float] = []
    db_writes: list[float] = []  # ms of row writes between the trigger and the SELL
    async with running_bot(config, seed=33, loaded=loaded) as run:
        trader = run.bot.trader
        done = 0
        while done < n:
            mints = [run.launch(creator_buy=5 * SOL) for _ in range(min(batch, n - done))]
            await _wait(lambda ms=mints: all(_buy_confirmed(trader, m) for m in ms), 20)
            for i, mint in enumerate(mints):
                if not _buy_confirmed(trader, mint):
                    continue
                kind = "take_profit" if (done + i) % 2 == 0 else "stop_loss"
                if kind == "take_profit":
                    trigger = run.whale_buy(mint, 10 * SOL)
                else:
                    trigger = run.creator_dump(mint)
                if not await _wait(lambda m=mint: _sell_read(run, m), 5):
                    continue
                sell = _first_sends(run).get((str(mint), "sell"))
                sell_wire = _first_sends(run, wire=True).get((str(mint), "sell"))
                written, notified = run.notified(trigger), run.bot_reads().get(trigger)
                if sell_wire and written is not None:
                    wire.append((sell_wire[0].at - written) * 1e3)
                if sell and notified is not None:
                    samples[kind].append((sell[0].at - notified) * 1e3)
                    between = [
                        end - start
                        for _, start, end in run.repo.of(str(mint))
                        if notified <= start < sell[0].at
                    ]
                    db_writes.append(sum(between) * 1e3)
            done += len(mints)
    both = samples["take_profit"] + samples["stop_loss"]
    return {
        **_figures(wire, both, n),
        "take_profit": summarize(samples["take_profit"]),
        "stop_loss": summarize(samples["stop_loss"]),
        "db_writes_before_sell_ms": summarize(db_writes),
    }


def _position(trader: Any, mint: Pubkey) -> Any:
    return trader.position_tasks.get(mint)


def _buy_confirmed(trader: Any, mint: Pubkey) -> bool:
    p = _position(trader, mint)
    return p is not None and p.buy_order is not None and p.buy_order.state is OrderState.CONFIRMED


def _sell_read(run: BotRun, mint: Pubkey) -> bool:
    """The position's SELL request has reached the node (not merely been signed)."""
    key = str(mint)
    return any(s.mint == key and s.side == "sell" for s in run.wire.sent_transactions())


async def zero_hold(
    n: int, *, pre_confirmation: bool, spacing: float = 0.15, loaded: bool = False
) -> dict[str, Any]:
    """``sell_after = 0``: BUY sent → SELL sent, slots between landings, RPC per position."""
    config = {
        "trade": {
            "extreme_fast_mode": True,
            "extreme_fast_token_amount": FAST_TOKENS,
            "pre_confirmation_sells": pre_confirmation,
        },
        "exits": {"sell_after": 0.0},
    }
    async with running_bot(config, seed=34 if pre_confirmation else 35, loaded=loaded) as run:
        trader = run.bot.trader
        await trio.sleep(0.5)
        http_before = len(run.transport.requests)
        ws_before = trader.pubsub.stats.messages_sent
        ws_received_before = trader.pubsub.stats.messages_received
        started = time.perf_counter()
        mints = []
        for _ in range(n):
            mints.append(run.launch())
            await trio.sleep(spacing)
        await _wait(lambda: trader.stats.buys_sent >= n and not trader.position_tasks, 60, 0.05)
        elapsed = time.perf_counter() - started
        http = run.transport.http_requests()[http_before:]
        ws_sent = trader.pubsub.stats.messages_sent - ws_before
        ws_received = trader.pubsub.stats.messages_received - ws_received_before
        sends, wire_sends = _first_sends(run), _first_sends(run, wire=True)
        open_left = len(trader.position_tasks)
        samples, slots, first_sell_failed = [], [], 0
        wire: list[float] = []
        db_update: list[float] = []
        parts: dict[str, list[float]] = {
            "buy_send_round_trip": [], "db_writes_between": [], "other": [],
        }  # fmt: skip
        for mint in mints:
            buys_wire = wire_sends.get((str(mint), "buy"))
            sells_wire = wire_sends.get((str(mint), "sell"))
            if buys_wire and sells_wire:
                wire.append((sells_wire[0].at - buys_wire[0].at) * 1e3)
            buys, sells = sends.get((str(mint), "buy")), sends.get((str(mint), "sell"))
            if not buys or not sells:
                continue
            total = (sells[0].at - buys[0].at) * 1e3
            samples.append(total)
            after = [(a, b) for m, a, b in run.repo.of(str(mint)) if a >= buys[0].at]
            if after:  # the position row saying the BUY is out
                db_update.append((after[0][1] - after[0][0]) * 1e3)
            replied = run.transport.replied.get(buys[0].index)
            if replied is not None:
                between = sum(b - a for a, b in after if a < sells[0].at) * 1e3
                parts["buy_send_round_trip"].append((replied - buys[0].at) * 1e3)
                parts["db_writes_between"].append(between)
                parts["other"].append(total - between - (replied - buys[0].at) * 1e3)
            buy_landed = run.landed_slot(buys[0].signature)
            outcomes = [run.landed_slot(s.signature) for s in sells]
            if outcomes and outcomes[0] is not None and not outcomes[0][1]:
                first_sell_failed += 1
            sold = [o for o in outcomes if o is not None and o[1]]
            if buy_landed is not None and sold:
                slots.append(sold[0][0] - buy_landed[0])
    background = [r for r in http if set(r[1]) <= {"getLatestBlockhash", "getBlockHeight"}]
    per_position = [r for r in http if r not in background]
    methods = Counter(m for _, ms in per_position for m in ms)
    positions = len(samples)
    return {
        "buy_sent_to_sell_sent_ms": summarize(samples),
        "buy_to_sell_wire_ms": summarize(wire),
        "dropped": n - len(wire),
        "breakdown_ms": {k: summarize(v) for k, v in parts.items()},
        "buy_to_sell_landing_slots": summarize(slots, digits=2),
        "db_update_after_buy_ms": summarize(db_update),
        "first_sell_failed": first_sell_failed,
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


async def pre_confirmation_comparison(n: int) -> dict[str, Any]:
    """Both flows in one run of this process, so their ratio shares the machine's noise."""
    on = await zero_hold(n, pre_confirmation=True)
    off = await zero_hold(n, pre_confirmation=False)
    p50_on, p50_off = on["buy_sent_to_sell_sent_ms"]["p50"], off["buy_sent_to_sell_sent_ms"]["p50"]
    return {
        "pre_confirmation_sells": on,
        "classic": off,
        "ratio_classic_over_pre_confirmation_p50": ratio(p50_off, p50_on, 1),
    }
