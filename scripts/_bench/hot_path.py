"""The BUY's hot path taken apart: build, sign, serialise, send — and the loopback floor.

Each part is timed on its own with ``perf_counter_ns`` for every BUY (``n`` BUYs, each a
different amount so every signature is new), in the order the bot runs them:

* ``build_instructions``: compute-budget, idempotent-ATA and ``buy`` instructions (PDAs
  derived on the spot, as ``PlatformAwareBuyer`` does);
* ``compile_message``: ``MessageV0.try_compile`` (account dedup/sort, header);
* ``sign``: ``VersionedTransaction(message, [payer])`` (one ed25519 signature);
* ``serialise``: ``bytes(tx)``;
* ``encode_request``: base64 + the JSON-RPC body (what ``RpcClient`` does before httpx);
* ``send_until_request_leaves``: ``RpcClient.send_transaction`` called → request handed
  to the transport (client-side overhead: JSON, httpx request building, pool checkout);
* ``send_round_trip``: the whole ``send_transaction`` await, reply parsed (includes the
  simulator's HTTP server and ``Node.submit``: decode + signature verify + enqueue).

The simulator drops every submission (``drop_probability = 1``) during the run so no
transaction executes on the same loop while the next one is timed. Floors for
comparison: one loopback TCP round trip of a 1,232-byte packet on raw Trio sockets, and
a ``getSlot`` round trip through the same client and server (HTTP + JSON-RPC overhead
without any transaction work).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import trio
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from trio_trader.chain.rpc import RpcClient
from trio_trader.sim import open_sim

from .recorder import RecordingTransport
from .stats import summarize
from .txs import SOL, buy_instructions, keypair

PACKET = 1232


async def _tcp_round_trips(n: int) -> list[float]:
    """µs per write + echo of one packet over a loopback TCP connection."""
    out: list[float] = []

    async def echo(stream: trio.SocketStream) -> None:
        async with stream:
            pending = b""
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                pending += data
                while len(pending) >= PACKET:
                    await stream.send_all(pending[:PACKET])
                    pending = pending[PACKET:]

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, echo, 0)
        port = listeners[0].socket.getsockname()[1]
        async with await trio.open_tcp_stream("127.0.0.1", port) as client:
            payload = bytes(PACKET)
            for _ in range(n):
                start = time.perf_counter_ns()
                await client.send_all(payload)
                got = 0
                while got < PACKET:
                    got += len(await client.receive_some(65536))
                out.append((time.perf_counter_ns() - start) / 1000)
        nursery.cancel_scope.cancel()
    return out


async def hot_path_breakdown(n: int = 500, warmup: int = 20) -> dict[str, Any]:
    """Per-part µs of ``n`` BUYs (see the module docstring)."""
    payer = keypair("hot-payer")
    mint, creator = keypair("hot-mint").pubkey(), keypair("hot-creator").pubkey()
    parts: dict[str, list[float]] = {
        k: []
        for k in (
            "build_instructions", "compile_message", "sign", "serialise", "encode_request",
            "send_until_request_leaves", "send_round_trip", "total_to_request_leaving",
        )
    }  # fmt: skip
    get_slot: list[float] = []
    transport = RecordingTransport()
    async with open_sim(seed=13, slot_time=0.4, fund={payer.pubkey(): 100 * SOL}) as sim:
        sim.faults.drop_probability = 1.0
        async with RpcClient((sim.rpc_url,), transport=transport) as rpc:  # type: ignore[arg-type]
            blockhash, _ = await rpc.get_latest_blockhash()
            for i in range(n + warmup):
                ns = time.perf_counter_ns
                t0 = ns()
                ixs = buy_instructions(payer.pubkey(), mint, creator, 10**9 + i, SOL)
                t1 = ns()
                message = MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash)
                t2 = ns()
                tx = VersionedTransaction(message, [payer])
                t3 = ns()
                raw = bytes(tx)
                t4 = ns()
                body = json.dumps(
                    {"jsonrpc": "2.0", "id": i, "method": "sendTransaction",
                     "params": [base64.b64encode(raw).decode(), {"encoding": "base64"}]}
                ).encode()  # fmt: skip
                t5 = ns()
                del body
                before = len(transport.requests)
                t6 = time.perf_counter()
                await rpc.send_transaction(raw)
                t7 = time.perf_counter()
                left = transport.requests[before][0]
                s0 = time.perf_counter()
                await rpc.get_slot()
                s1 = time.perf_counter()
                if i < warmup:
                    continue
                for key, value in (
                    ("build_instructions", (t1 - t0) / 1000),
                    ("compile_message", (t2 - t1) / 1000),
                    ("sign", (t3 - t2) / 1000),
                    ("serialise", (t4 - t3) / 1000),
                    ("encode_request", (t5 - t4) / 1000),
                    ("send_until_request_leaves", (left - t6) * 1e6),
                    ("send_round_trip", (t7 - t6) * 1e6),
                    ("total_to_request_leaving", (t4 - t0) / 1000 + (left - t6) * 1e6),
                ):
                    parts[key].append(value)
                get_slot.append((s1 - s0) * 1e6)
            submitted = sim.node.stats.submitted
    tcp = await _tcp_round_trips(n)
    out: dict[str, Any] = {k: summarize(v, digits=1) for k, v in parts.items()}
    out["floor_get_slot_round_trip"] = summarize(get_slot, digits=1)
    out["floor_loopback_tcp_round_trip"] = summarize(tcp, digits=1)
    out["transactions_submitted"] = submitted
    return out
