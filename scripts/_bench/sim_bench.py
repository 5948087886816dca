"""How much the simulator itself can do: ledger transactions/s and WebSocket notifications/s.

Later issues load the simulator with markets and bots; these figures say how much
headroom it has on this machine, so a slow test can be blamed on the right side.
"""

from __future__ import annotations

import json
import time
from typing import Any

import trio
import trio_websocket
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, bonding_curve_pda
from trio_trader.sim import open_sim
from trio_trader.sim.ledger import Ledger

from .stats import summarize
from .txs import SOL, buy_tx, create_tx, keypair, sell_tx

TOKEN = 1_000_000  # base units of one token (6 decimals)


def _timed_execute(ledger: Ledger, raws: list[bytes]) -> tuple[list[float], int]:
    """Execute each transaction; per-transaction µs and how many failed."""
    txs = [VersionedTransaction.from_bytes(raw) for raw in raws]
    durations, failed = [], 0
    for tx in txs:
        start = time.perf_counter_ns()
        executed = ledger.execute(tx, slot=1, blocktime=0)
        durations.append((time.perf_counter_ns() - start) / 1000)
        failed += executed.err is not None
    return durations, failed


def _rate(durations_us: list[float]) -> float:
    return round(len(durations_us) / (sum(durations_us) / 1e6), 1)


def ledger_throughput(n_tx: int = 1000, wallets: int = 20) -> dict[str, Any]:
    """Pump buys, pump sells and plain transfers executed back to back by ``Ledger``.

    The signed transactions are built and decoded beforehand, so the figure is the
    ledger's own work: signature verification, fee, the pump emulation with its real
    CPIs into LiteSVM, rent checks, balance and event recording.
    """
    ledger = Ledger(seed=11)
    creator, mint = keypair("ledger-creator"), keypair("ledger-mint")
    users = [keypair("ledger-user", i) for i in range(wallets)]
    for kp in [creator, *users]:
        ledger.airdrop(kp.pubkey(), 1_000 * SOL)
    blockhash = Hash.new_unique()
    launch = VersionedTransaction.from_bytes(create_tx(creator, mint, blockhash, SOL, "Ledger"))
    if ledger.execute(launch).err is not None:
        raise RuntimeError("benchmark token launch failed")
    m, c = mint.pubkey(), creator.pubkey()
    buys = [buy_tx(users[i % wallets], m, c, (10 + i) * TOKEN, blockhash) for i in range(n_tx)]
    buy_us, buy_failed = _timed_execute(ledger, buys)
    sells = [sell_tx(users[i % wallets], m, c, TOKEN + i, blockhash) for i in range(n_tx)]
    sell_us, sell_failed = _timed_execute(ledger, sells)
    sink = Pubkey.new_unique()
    transfers = [
        build_transaction(
            [transfer(TransferParams(from_pubkey=u.pubkey(), to_pubkey=sink, lamports=SOL + i))],
            u,
            blockhash,
        ).raw
        for i, u in enumerate(users[i % wallets] for i in range(n_tx))
    ]
    transfer_us, transfer_failed = _timed_execute(ledger, transfers)
    return {
        "pump_buy_tx_per_s": _rate(buy_us),
        "pump_sell_tx_per_s": _rate(sell_us),
        "system_transfer_tx_per_s": _rate(transfer_us),
        "pump_buy_us": summarize(buy_us, digits=1),
        "pump_sell_us": summarize(sell_us, digits=1),
        "system_transfer_us": summarize(transfer_us, digits=1),
        "failed": buy_failed + sell_failed + transfer_failed,
    }


async def _wait_landed(sim: Any, signature: Any) -> None:
    with trio.fail_after(30):
        while True:
            if sim.node.transaction(signature) is not None:
                return
            await trio.sleep(0.01)


async def ws_throughput(n_tx: int = 1000, subscribers: int = 4, chunk: int = 250) -> dict[str, Any]:
    """Notifications/s the pubsub server writes when bursts of transactions land.

    ``subscribers`` connections each hold one ``logsSubscribe`` on the pump program;
    signed buys are submitted ``chunk`` at a time, land in one go, and every subscriber
    is sent one ``logsNotification`` per transaction. The rate is counted at the
    clients, from the first notification of a burst to its last, so it is the server's
    delivery rate (JSON encoding, framing, loopback writes) plus the minimal clients'
    reads, which run in the same process and on the same Trio loop. Bursts are kept
    under the node's per-watcher buffer (4,096 events; a pump buy emits ~11: the
    transaction and each written account), so nothing is dropped (``watch_overflow``).
    """
    creator, mint = keypair("ws-creator"), keypair("ws-mint")
    users = [keypair("ws-user", i) for i in range(20)]
    fund = {kp.pubkey(): 1_000 * SOL for kp in [creator, *users]}
    async with open_sim(seed=12, slot_time=0.4, fund=fund) as sim:
        node = sim.node
        blockhash, _ = node.latest_blockhash()
        await _wait_landed(sim, node.submit(create_tx(creator, mint, blockhash, SOL, "WS")))
        m, c = mint.pubkey(), creator.pubkey()
        received: list[list[float]] = []
        ready = trio.Event()
        subscribed = [0]

        async def client() -> None:
            times: list[float] = []
            received.append(times)
            async with trio_websocket.open_websocket_url(sim.ws_url) as ws:
                request = {
                    "jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                    "params": [{"mentions": [str(PUMP_PROGRAM_ID)]}, {"commitment": "processed"}],
                }  # fmt: skip
                await ws.send_message(json.dumps(request))
                await ws.get_message()
                subscribed[0] += 1
                if subscribed[0] == subscribers:
                    ready.set()
                while len(times) < n_tx:
                    await ws.get_message()
                    times.append(time.perf_counter())

        delivered, delivering, landing = 0, 0.0, 0.0
        with trio.fail_after(300):
            async with trio.open_nursery() as nursery:
                for _ in range(subscribers):
                    nursery.start_soon(client)
                await ready.wait()
                for first in range(0, n_tx, chunk):
                    size = min(chunk, n_tx - first)
                    blockhash, _ = node.latest_blockhash()
                    raws = [
                        buy_tx(users[i % 20], m, c, (10 + i) * TOKEN, blockhash)
                        for i in range(first, first + size)
                    ]
                    start = time.perf_counter()
                    for raw in raws:
                        node.submit(raw)
                    target = first + size
                    while True:  # the readers are plain loops: poll them
                        if all(len(t) >= target for t in received):
                            break
                        await trio.sleep(0.001)
                    burst = [x for t in received for x in t[first:target]]
                    landing += min(burst) - start
                    delivering += max(burst) - min(burst)
                    delivered += len(burst)
        stats = node.stats
    return {
        "subscribers": subscribers,
        "transactions": n_tx,
        "notifications": delivered,
        "notifications_per_s": round(delivered / delivering, 1),
        "burst_size": chunk,
        "land_then_first_notification_ms_per_tx": round(landing * 1e3 / n_tx, 3),
        "landed": stats.landed,
        "watch_overflow": stats.watch_overflow,
    }


async def rpc_throughput(n_calls: int = 1000, concurrency: int = 4) -> dict[str, Any]:
    """JSON-RPC calls/s (``getAccountInfo`` of a curve) through the HTTP server."""
    creator, mint = keypair("rpc-creator"), keypair("rpc-mint")
    async with open_sim(seed=14, slot_time=0.4, fund={creator.pubkey(): 100 * SOL}) as sim:
        blockhash, _ = sim.node.latest_blockhash()
        await _wait_landed(sim, sim.node.submit(create_tx(creator, mint, blockhash, SOL, "RPC")))
        curve = bonding_curve_pda(mint.pubkey())
        durations: list[float] = []
        async with RpcClient((sim.rpc_url,)) as rpc:

            async def worker(count: int) -> None:
                for _ in range(count):
                    t0 = time.perf_counter()
                    await rpc.get_account_info(curve)
                    durations.append((time.perf_counter() - t0) * 1e3)

            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for _ in range(concurrency):
                    nursery.start_soon(worker, n_calls // concurrency)
            elapsed = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "calls_per_s": round(len(durations) / elapsed, 1),
        "latency_ms": summarize(durations),
    }
