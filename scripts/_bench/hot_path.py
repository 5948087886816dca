"""The BUY's hot path taken apart: build, sign, serialise, send — and the loopback floor.

Two views of the same ``n`` BUYs (each a different token amount, so every signature is
new), both with the bot's own code:

**The real path.** ``PlatformAwareBuyer.prepare_and_send_order`` in extreme fast mode (no
read before the BUY) on a production ``ChainAccess`` over the real ``RpcClient``. The
bench's subclass of ``ChainAccess`` only stamps when ``sign`` and ``send`` are entered,
and the ``RecordingTransport`` stamps the request leaving, so the path splits into:

* ``quote_and_instructions``: call → ``sign``: quote, ``BuyOrder``, the ATA and ``buy``
  instructions (PDAs derived on the spot);
* ``sign_and_attach``: ``ChainAccess.sign_buy``: the two compute-budget instructions, then
  ``compile_message``, the signature, the size check and ``attach_transaction``;
* ``send_until_request_leaves``: ``ChainAccess.send`` entered → the request handed to the
  socket (base64, JSON-RPC body, h11 framing; with ``--httpx-send``: up to the request
  handed to httpx's transport);
* ``total_to_request_leaving``: call → request leaving (the sum, measured as one span);
* ``send_round_trip``: the ``sendTransaction`` reply parsed (the simulator's HTTP server
  and ``Node.submit``: decode + signature check + enqueue, on the same CPU).

**The parts**, each timed on its own right after, on the same inputs and with the same
calls as ``build_transaction``: ``build_instructions`` (all four), ``compile_message``
(``MessageV0.try_compile``), ``sign`` (``Keypair.sign_message`` of the versioned message
bytes + ``VersionedTransaction.populate``), ``serialise`` (``bytes(tx)``) and
``encode_request`` (base64 + JSON body; part of the send). The parts' bytes must equal
the bytes the real path sent, or the run stops: the breakdown cannot drift from the bot.

For comparison, measured in the same run: what the two hot-path changes removed —
``sign_generic_constructor`` (``VersionedTransaction(message, [payer])``, the signing
before) and ``keypair_pubkey`` (``Keypair.pubkey()``, now cached) — and two floors: a
``getSlot`` round trip through the same client and server, and one loopback TCP round
trip of a 1,232-byte packet on raw Trio sockets.

The simulator drops every submission (``drop_probability = 1``) so no transaction
executes on the same loop while the next one is timed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.transaction import VersionedTransaction

from trio_trader.chain.blockhash import BlockhashCache
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.priority_fee import PriorityFee
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import SignedTransaction
from trio_trader.pump import instructions
from trio_trader.pump.instructions import InstructionSpec
from trio_trader.sim import open_sim
from trio_trader.trading.orders import BuyOrder, Order, OrderState
from trio_trader.trading.platform_aware import (
    AfterWrite,
    ChainAccess,
    MarketParams,
    PlatformAwareBuyer,
    salt_of,
)
from trio_trader.trading.token_info import TokenInfo

from . import bot_harness
from .recorder import RecordingTransport, close_direct_pools, record_direct_pools
from .stats import summarize
from .txs import SOL, keypair, token_info

PACKET = 1232
#: tokens bought per BUY (plus the BUY's index, so each is a new transaction)
AMOUNT = 3_000_000_000_000

REAL_PATH = (
    "quote_and_instructions",
    "sign_and_attach",
    "send_until_request_leaves",
    "total_to_request_leaving",
    "send_round_trip",
)
PARTS = ("build_instructions", "compile_message", "sign", "serialise", "encode_request")
BEFORE = ("sign_generic_constructor", "keypair_pubkey")
FLOORS = ("floor_get_slot_round_trip", "floor_loopback_tcp_round_trip")


@attrs.define(eq=False, kw_only=True)
class StampedChain(ChainAccess):
    """The production ``ChainAccess``, noting when ``sign_buy`` and ``send`` are entered."""

    stamps: dict[str, float] = attrs.field(factory=dict)

    def sign_buy(
        self, order: BuyOrder, program_ixs: Sequence[InstructionSpec], *, stand_in: bool = False
    ) -> SignedTransaction:
        self.stamps["sign"] = time.perf_counter()
        return ChainAccess.sign_buy(self, order, program_ixs, stand_in=stand_in)

    async def send(self, order: Order, after_write: AfterWrite | None = None) -> None:
        self.stamps["send"] = time.perf_counter()
        await ChainAccess.send(self, order, after_write)


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


def _parts(chain: ChainAccess, info: TokenInfo, order: BuyOrder) -> dict[str, float]:
    """µs of each step of ``order``'s transaction, redone with ``build_transaction``'s calls."""
    ns = time.perf_counter_ns
    payer, wallet = chain.payer, chain.wallet
    blockhash, _ = chain.blockhash.latest
    salt = salt_of(info.mint, order.attempt)  # the buyer's pick from Global's lists
    t0 = ns()
    ixs = [
        instructions.set_compute_unit_limit(order.compute_unit_limit),
        instructions.set_compute_unit_price(order.priority_fee),
        instructions.create_associated_token_account_idempotent(
            payer=wallet, owner=wallet, mint=info.mint, token_program=info.token_program
        ),
        instructions.buy(
            user=wallet, mint=info.mint, creator=info.creator, token_program=info.token_program,
            fee_recipient=chain.market.fee_recipient(info, salt),
            buyback_fee_recipient=chain.market.buyback_recipient(salt),
            amount=order.token_amount, max_sol_cost=order.max_sol_cost,
        ),
    ]  # fmt: skip
    t1 = ns()
    message = MessageV0.try_compile(wallet, ixs, [], blockhash)
    t2 = ns()
    tx = VersionedTransaction.populate(message, [payer.sign_message(to_bytes_versioned(message))])
    t3 = ns()
    raw = bytes(tx)
    t4 = ns()
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "sendTransaction",
         "params": [base64.b64encode(raw).decode(), {"encoding": "base64"}]}
    ).encode()  # fmt: skip
    t5 = ns()
    generic = VersionedTransaction(message, [payer])
    t6 = ns()
    payer.pubkey()
    t7 = ns()
    del body
    if raw != order.raw_bytes() or bytes(generic) != raw:
        raise RuntimeError("the breakdown no longer builds the bytes the bot sent")
    return {
        "build_instructions": (t1 - t0) / 1000,
        "compile_message": (t2 - t1) / 1000,
        "sign": (t3 - t2) / 1000,
        "serialise": (t4 - t3) / 1000,
        "encode_request": (t5 - t4) / 1000,
        "sign_generic_constructor": (t6 - t5) / 1000,
        "keypair_pubkey": (t7 - t6) / 1000,
    }


async def _chain(rpc: RpcClient, payer: Keypair) -> StampedChain:
    blockhash = BlockhashCache(rpc)
    await blockhash.refresh()  # once: no background refresh competes with the timing
    return StampedChain(
        rpc=rpc,
        payer=payer,
        blockhash=blockhash,
        priority_fee=PriorityFee.fixed(10_000),
        confirmer=Confirmer(rpc, None),
        market=await MarketParams.load(rpc),
    )


async def hot_path_breakdown(n: int = 500, warmup: int = 20) -> dict[str, Any]:
    """Per-part µs of ``n`` BUYs (see the module docstring)."""
    payer = keypair("hot-payer")
    info = token_info(keypair("hot-mint").pubkey(), keypair("hot-creator").pubkey())
    samples: dict[str, list[float]] = {k: [] for k in (*REAL_PATH, *PARTS, *BEFORE)}
    get_slot: list[float] = []
    sent = 0
    transport = RecordingTransport()
    async with open_sim(seed=13, slot_time=0.4, fund={payer.pubkey(): 100 * SOL}) as sim:
        sim.faults.drop_probability = 1.0
        direct = bot_harness.DIRECT_SEND
        async with RpcClient((sim.rpc_url,), transport=transport, direct_send=direct) as rpc:
            await record_direct_pools(rpc, transport)  # stamp the direct pools' requests too
            chain = await _chain(rpc, payer)
            buyer = PlatformAwareBuyer(
                chain=chain, amount_lamports=SOL // 10, slippage_bps=3000, extreme_fast_mode=True
            )
            for i in range(n + warmup):
                buyer.extreme_fast_token_amount = AMOUNT + i
                before = len(transport.requests)
                t0 = time.perf_counter()
                order = await buyer.prepare_and_send_order(info)
                t1 = time.perf_counter()
                left = transport.requests[before][0]
                parts = _parts(chain, info, order)
                s0 = time.perf_counter()
                await rpc.get_slot()
                s1 = time.perf_counter()
                if i < warmup:
                    continue
                sent += order.state is OrderState.SENT
                stamps = chain.stamps
                real = {
                    "quote_and_instructions": (stamps["sign"] - t0) * 1e6,
                    "sign_and_attach": (stamps["send"] - stamps["sign"]) * 1e6,
                    "send_until_request_leaves": (left - stamps["send"]) * 1e6,
                    "total_to_request_leaving": (left - t0) * 1e6,
                    "send_round_trip": (t1 - stamps["send"]) * 1e6,
                }
                for key, value in (real | parts).items():
                    samples[key].append(value)
                get_slot.append((s1 - s0) * 1e6)
            submitted = sim.node.stats.submitted
            await close_direct_pools(rpc)
    tcp = await _tcp_round_trips(n)
    out: dict[str, Any] = {k: summarize(v, digits=1) for k, v in samples.items()}
    out["floor_get_slot_round_trip"] = summarize(get_slot, digits=1)
    out["floor_loopback_tcp_round_trip"] = summarize(tcp, digits=1)
    out["orders_sent"] = sent
    out["transactions_submitted"] = submitted
    return out
