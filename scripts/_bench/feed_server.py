"""A pubsub server that streams pump trade notifications as fast as asked (own process).

Run as ``python scripts/_bench/feed_server.py MINTS COUNT RATE OUT``: prints its port,
serves one connection; after the client's ``logsSubscribe`` it sends COUNT
``logsNotification`` messages (real pump buy logs, one ``TradeEvent`` each, mints round
robin) at RATE per second (0: back to back), stamping each write (just before it) with
``time.perf_counter()`` (CLOCK_MONOTONIC, shared with the bot's process), and writes the
stamps to OUT as JSON when the client goes away.

A separate process keeps the sender's CPU off the bot's measured loop.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from functools import partial
from pathlib import Path

import attrs
import base58
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench.txs import SOL, buy_tx, create_tx, keypair
from trio_trader.pump.events import TradeEvent, encode_event
from trio_trader.sim.ledger import Ledger


def feed_mint(index: int) -> Pubkey:
    return keypair("feed-mint", index).pubkey()


def signature_of(index: int) -> str:
    return base58.b58encode(index.to_bytes(8, "little") + bytes(56)).decode()


def index_of(signature: str) -> int:
    return int.from_bytes(base58.b58decode(signature)[:8], "little")


def template_logs() -> tuple[list[str], int, TradeEvent]:
    """Logs of a real buy on the simulator's ledger, the index of its event line, the event."""
    ledger = Ledger(seed=21)
    creator, mint, user = keypair("feed-creator"), keypair("feed-template"), keypair("feed-user")
    for kp in (creator, user):
        ledger.airdrop(kp.pubkey(), 100 * SOL)
    blockhash = Hash.new_unique()
    ledger.execute(VersionedTransaction.from_bytes(create_tx(creator, mint, blockhash, SOL, "F")))
    executed = ledger.execute(
        VersionedTransaction.from_bytes(
            buy_tx(user, mint.pubkey(), creator.pubkey(), 10**9, blockhash)
        )
    )
    logs = list(executed.logs)
    line = next(i for i, text in enumerate(logs) if text.startswith("Program data: "))
    event = executed.events[0]
    assert isinstance(event, TradeEvent)
    return logs, line, event


def messages(mints: int, count: int) -> list[str]:
    logs, line, event = template_logs()
    keys = [feed_mint(k) for k in range(mints)]
    out = []
    for i in range(count):
        ev = attrs.evolve(
            event,
            mint=keys[i % mints],
            virtual_sol_reserves=event.virtual_sol_reserves + (i % 997) * 1000,
        )
        these = list(logs)
        these[line] = "Program data: " + base64.b64encode(encode_event(ev)).decode()
        value = {"signature": signature_of(i), "err": None, "logs": these}
        params = {"result": {"context": {"slot": 1 + i // 100}, "value": value}, "subscription": 1}
        out.append(json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": params}))
    return out


async def main(mints: int, count: int, rate: float, out: Path) -> None:
    payloads = messages(mints, count)
    stamps: list[float] = []
    done = trio.Event()

    async def handler(request: WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            hello = json.loads(await ws.get_message())
            await ws.send_message(json.dumps({"jsonrpc": "2.0", "result": 1, "id": hello["id"]}))
            start = time.perf_counter()
            for i, payload in enumerate(payloads):
                if rate > 0:
                    await trio.sleep_until(
                        trio.current_time() + max(0.0, start + i / rate - time.perf_counter())
                    )
                stamps.append(time.perf_counter())
                await ws.send_message(payload)
            while True:
                await ws.get_message()
        except ConnectionClosed:
            pass
        finally:
            await trio.Path(out).write_text(json.dumps(stamps))
            done.set()

    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(serve_websocket, handler, "127.0.0.1", 0, ssl_context=None)
        )
        print(server.port, flush=True)
        await done.wait()
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
