"""µs per event of each step a trade (or create) notification goes through, warm, no profiler.

Run as ``PYTHONPATH=. python scripts/_bench/decode_steps.py [N]``: real notification bytes
(the feed server's trade template, a create of the simulator's ledger), each step timed on
its own over ``N`` repetitions (best of 5), so the figures add up to the pipeline's Python
cost without the profiler's 2–3× inflation of Python calls. What is not here: the kernel's
socket read and Trio's passes per read (the feed bench's CPU per event, less these).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.hash import Hash
from solders.transaction import VersionedTransaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench.feed_bench import QUIET_POLICY, QUIET_RULES, confirmed_position
from _bench.feed_server import feed_mint, messages, text_frame
from _bench.txs import SOL, create_tx, keypair
from trio_trader.chain import untrusted, websocket
from trio_trader.chain.pubsub import PubsubClient, _Connection, _Sub
from trio_trader.listeners import decode
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump._events import program_data_lines
from trio_trader.sim.ledger import Ledger
from trio_trader.trading.feed import TradeFeed
from trio_trader.trading.monitor import PositionMonitor

_PUMP = decode._PUMP


def create_message() -> bytes:
    """A ``logsNotification`` of a real create_v2 + creator buy on the simulator's ledger."""
    ledger = Ledger(seed=5)
    creator, mint = keypair("steps-creator"), keypair("steps-mint")
    ledger.airdrop(creator.pubkey(), 100 * SOL)
    tx = create_tx(creator, mint, Hash.new_unique(), SOL, "Steps")
    executed = ledger.execute(VersionedTransaction.from_bytes(tx))
    value = {"signature": "5" * 88, "err": None, "logs": list(executed.logs)}
    params = {"result": {"context": {"slot": 7}, "value": value}, "subscription": 1}
    return json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": params}).encode()


def per_call_us(fn: Callable[[Any], Any], make: Callable[[], Any], n: int) -> float:
    """Best of 5 runs of ``fn`` over ``n`` fresh arguments from ``make`` (built untimed: as
    on the wire, every notification's strings are new objects, their hashes not computed)."""
    best = float("inf")
    for _ in range(5):
        args = [make() for _ in range(n)]
        start = time.perf_counter()
        for arg in args:
            fn(arg)
        best = min(best, time.perf_counter() - start)
        del args
    return best / n * 1e6


def steps(raw: bytes, n: int, *, held: bool) -> dict[str, float]:
    """Each step's µs for one notification ``raw`` (the mint held by a position if ``held``)."""
    item = untrusted.loads(raw)["params"]["result"]
    logs = item["value"]["logs"]
    feed = TradeFeed()
    mint = feed_mint(0)
    inbox_cm = feed.subscribe(mint) if held else None
    if inbox_cm is not None:
        inbox_cm.__enter__().listen(lambda update: None)
    frames = text_frame(raw) * 16
    ws = websocket.ClientWebSocket(None, max_message_size=1 << 26)  # type: ignore[arg-type]

    def parse_frames() -> None:
        ws._buffer += frames
        ws._parse([], [])

    client = PubsubClient("ws://127.0.0.1:1")
    send, receive = trio.open_memory_channel[Any](1)
    sub = _Sub("logsSubscribe", [], "logsUnsubscribe", False, send, receive)
    conn = _Connection(ws, 0, outbox=None)  # type: ignore[arg-type]
    conn.by_server_id[1] = sub

    def dispatch() -> None:
        client._dispatch(conn, raw)
        receive.receive_nowait()

    listener = LogsListener(client, wants=feed.holds)

    def fresh_item() -> Any:
        return untrusted.loads(raw)["params"]["result"]

    def fresh_logs() -> Any:
        return fresh_item()["value"]["logs"]

    def same() -> None:
        return None

    out = {
        "frame_parse": per_call_us(lambda _: parse_frames(), same, n // 16) / 16,
        "orjson_loads": per_call_us(lambda _: untrusted.loads(raw), same, n),
        "pubsub_dispatch (incl. orjson)": per_call_us(lambda _: dispatch(), same, n),
        "may_matter": per_call_us(
            lambda logs: decode._may_matter("\n".join(logs), feed.holds), fresh_logs, n
        ),
        "program_data_lines": per_call_us(
            lambda logs: program_data_lines(logs, _PUMP), fresh_logs, n
        ),
        "read_transaction": per_call_us(
            lambda logs: decode.read_transaction(
                logs, signature="s", slot=1, seen_at=0.0, wants=feed.holds
            ).prices(),
            fresh_logs,
            n,
        ),
        "listener_handle (incl. routing)": per_call_us(
            lambda item: listener.handle(item, lambda token: None, feed.publish), fresh_item, n
        ),
    }
    events = decode.read_transaction(logs, signature="s", slot=1, seen_at=0.0)
    trades = events.prices()
    if trades:
        out["feed_publish"] = per_call_us(lambda _: feed.publish(trades[0]), same, n)
        out["monitor_intake"] = monitor_intake_us(trades[0], n)
    return {k: round(v, 2) for k, v in out.items()}


def monitor_intake_us(update: PriceUpdate, n: int) -> float:
    """A real `PositionMonitor`'s price intake (routed by a `TradeFeed`), per price: a
    confirmed position whose rules never fire, each price a new peak (the state evolves)."""
    feed = TradeFeed()
    mint = feed_mint(1)
    position = confirmed_position(mint, keypair("feed-payer"), Hash.new_unique())
    counter = iter(range(1 << 62))

    def rising() -> PriceUpdate:
        step = next(counter)
        return attrs.evolve(
            update, mint=mint, virtual_sol_reserves=update.virtual_sol_reserves + step
        )

    with feed.subscribe(mint) as inbox:
        monitor = PositionMonitor(
            position=position, seller=None, repo=None,  # type: ignore[arg-type]  # never sells
            rules=QUIET_RULES, policy=QUIET_POLICY, prices=inbox,
        )  # fmt: skip
        inbox.listen(monitor._take_price)
        return per_call_us(feed.publish, rising, n)


def main(n: int) -> None:
    async def run() -> dict[str, Any]:
        trade = messages(1, 1)[0].encode()
        return {
            "trade_held": steps(trade, n, held=True),
            "trade_not_held": steps(trade, n, held=False),
            "create": steps(create_message(), n, held=False),
        }

    print(json.dumps(trio.run(run), indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
