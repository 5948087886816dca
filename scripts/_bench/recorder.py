"""Timestamps at the edges of the bot, taken from outside its code.

At the wire (the simulator's sockets; :class:`WireStamps`, through the sim servers'
optional hooks):

* *written by the node*: ``WsServer.on_notification``, right before the notification's
  bytes are written to the bot's connection, in the same task step (nothing of the
  simulator runs between the stamp and the write);
* *arrived at the node* (the end of every ``*_wire_ms``): ``RpcServer.on_request``'s
  first stamp, the kernel's receive stamp of the request's last bytes
  (``SO_TIMESTAMPNS``): when the bot's write put them in the node's socket, however busy
  the simulator's loop then was;
* *read by the node* (``*_node_read_ms``, the end stamp before issue 10's wire-stamp
  change, kept beside it): ``RpcServer.on_request``'s last stamp, when the simulator's
  read of those bytes returned; later than the arrival by the simulator's own wake-up
  and whatever its single loop was doing (landing a BUY, fanning out notifications, the
  background feed), which a real node's latency is not the bot's.

Inside the bot (its in-bot figures, kept beside the wire ones):

* :func:`record_bot_reads`: the bot's ``PubsubClient`` has a message off its socket (the
  WebSocket frame read and reassembled), before it decodes the JSON;
* *request written*: the direct sender's ``on_request`` (right before ``send_all``) for
  ``sendTransaction``; :class:`RecordingTransport` for everything that still goes through httpx.

* :class:`RecordingTransport` wraps the httpx transport the bot's ``RpcClient`` is given
  (``transport=``): it notes ``time.perf_counter()`` when a request is handed to the
  transport — the moment the request leaves the bot's code for the socket — and keeps
  the body, which is parsed only afterwards so the measurement does not slow the bot.

``perf_counter`` is ``CLOCK_MONOTONIC``: the same clock in every task (and process) on
this machine, so stamps taken on either side subtract.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
from solders.transaction import VersionedTransaction

from trio_trader.chain.rpc import (
    RpcClient,
    _Body,  # the bot's own plain-iterator request body
)
from trio_trader.chain.sender import Exchange, H11Sender, HttpReply
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.pump.instructions import decode_pump_instruction


@attrs.frozen
class SentTransaction:
    """A ``sendTransaction`` seen leaving the bot."""

    at: float
    side: str  # "buy" | "sell" | other pump instruction name | "other"
    mint: str | None
    signature: str
    raw: bytes
    index: int  # of the HTTP request in ``RecordingTransport.requests``


def decode_sent(at: float, params: list[Any], index: int = -1) -> SentTransaction:
    raw = base64.b64decode(params[0])
    tx = VersionedTransaction.from_bytes(raw)
    keys = tx.message.account_keys
    side, mint = "other", None
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] != PUMP_PROGRAM_ID:
            continue
        side, _ = decode_pump_instruction(bytes(ix.data))
        mint = str(keys[ix.accounts[2]])  # buy/sell: global, fee_recipient, mint, …
    return SentTransaction(at, side, mint, str(tx.signatures[0]), raw, index)


def decode_new_sends(
    requests: list[tuple[float, bytes]], start: int, out: list[SentTransaction]
) -> int:
    """Append the ``sendTransaction`` calls of ``requests[start:]`` to ``out``; the new start."""
    for index in range(start, len(requests)):
        at, body = requests[index]
        if b'"sendTransaction"' not in body:
            continue
        payload = json.loads(body)
        for item in payload if isinstance(payload, list) else [payload]:
            if item.get("method") == "sendTransaction":
                out.append(decode_sent(at, item["params"], index))
    return len(requests)


class RecordingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that stamps each request on its way out (see module doc)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.requests: list[tuple[float, bytes]] = []
        #: the bot's thread CPU time (``time.thread_time``) as each request was noted
        self.cpu: list[float] = []
        #: request index → when its reply's headers were back (the request's round trip)
        self.replied: dict[int, float] = {}
        self.on_request: Callable[[float, bytes], None] | None = None
        self._sent: list[SentTransaction] = []
        self._decoded = 0  # requests already looked at by sent_transactions()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        at = time.perf_counter()
        body = await request.aread()  # RpcClient streams its body (see chain/rpc.py `_Body`)
        # aread() swaps the body for httpx's ByteStream, an async generator: one abandoned
        # mid-send (the confirmer cancels its losing requests) is finalised by the GC, and
        # Trio warns. Give the inner transport a plain iterator again, as RpcClient does.
        request.stream = _Body(body)
        index = self.record(at, body)
        response = await self.inner.handle_async_request(request)
        self.replied[index] = time.perf_counter()
        return response

    def record(self, at: float, body: bytes) -> int:
        """Note one request leaving the bot; its index in ``requests``."""
        index = len(self.requests)
        self.requests.append((at, body))
        self.cpu.append(time.thread_time())
        if self.on_request is not None:
            self.on_request(at, body)
        return index

    async def aclose(self) -> None:
        await self.inner.aclose()

    def calls(self) -> list[tuple[float, str, list[Any]]]:
        """Every JSON-RPC call sent so far: (time, method, params); a batch gives several."""
        out = []
        for at, body in self.requests:
            payload = json.loads(body)
            for item in payload if isinstance(payload, list) else [payload]:
                out.append((at, item.get("method", ""), item.get("params") or []))
        return out

    def http_requests(self) -> list[tuple[float, tuple[str, ...]]]:
        """Every HTTP request: (time, the methods it carried)."""
        out = []
        for at, body in self.requests:
            payload = json.loads(body)
            items = payload if isinstance(payload, list) else [payload]
            out.append((at, tuple(str(i.get("method", "")) for i in items)))
        return out

    def sent_transactions(self) -> list[SentTransaction]:
        """Every ``sendTransaction`` so far, decoded (incrementally: cheap to poll)."""
        self._decoded = decode_new_sends(self.requests, self._decoded, self._sent)
        return self._sent


@attrs.define(eq=False)
class RecordingSender(H11Sender):
    """The bot's direct sender, noting each request in a :class:`RecordingTransport` too:
    stamped right before ``send_all`` (``on_request``), reply time when ``post`` returns
    (or ``reply``, for a request ``write_now`` wrote: the early BUY)."""

    recorder: RecordingTransport | None = None
    _pending: dict[int, int] = attrs.field(init=False, factory=dict)  # id(body) → index
    _written: dict[int, int] = attrs.field(init=False, factory=dict)  # id(exchange) → index

    def __attrs_post_init__(self) -> None:
        self.on_request = self._on_request

    def _on_request(self, url: str, at: float, body: bytes) -> None:
        assert self.recorder is not None
        self._pending[id(body)] = self.recorder.record(at, body)

    async def post(
        self, url: str, body: bytes, *, after_write: Callable[[], None] | None = None
    ) -> HttpReply:
        try:
            return await super().post(url, body, after_write=after_write)
        finally:
            self._replied(self._pending.pop(id(body), None))

    async def write_now(
        self, url: str, body: bytes, *, after_write: Callable[[], None] | None = None
    ) -> Exchange | None:
        exchange = await super().write_now(url, body, after_write=after_write)
        index = self._pending.pop(id(body), None)
        if exchange is not None and index is not None:
            self._written[id(exchange)] = index
        return exchange

    async def reply(self, exchange: Exchange) -> HttpReply:
        try:
            return await super().reply(exchange)
        finally:
            self._replied(self._written.pop(id(exchange), None))

    def _replied(self, index: int | None) -> None:
        if index is not None and self.recorder is not None:
            self.recorder.replied[index] = time.perf_counter()


async def record_direct_pools(rpc: RpcClient, transport: RecordingTransport) -> None:
    """Swap ``rpc``'s direct pools (its sender; its reader, every other method) for
    :class:`RecordingSender` s noting into ``transport``, so its requests are all counted
    and stamped whichever way they leave."""
    if rpc.sender is not None:
        await rpc.sender.aclose()
        rpc.sender = RecordingSender(rpc.max_reply_bytes, recorder=transport)
    if rpc.reader is not None:
        max_idle = rpc.reader.max_idle
        await rpc.reader.aclose()
        rpc.reader = RecordingSender(rpc.max_reply_bytes, max_idle=max_idle, recorder=transport)


async def close_direct_pools(rpc: RpcClient) -> None:
    """Close ``rpc``'s direct pools now (the bench's runs end before the client does)."""
    for pool in (rpc.sender, rpc.reader):
        if pool is not None:
            await pool.aclose()


@attrs.define(eq=False)
class WireStamps:
    """What the simulator wrote to the bot and read from it, stamped at its sockets."""

    notifications: list[tuple[float, dict[str, Any]]] = attrs.field(factory=list)
    #: (arrival at the node's socket, body) of each request the node read
    requests: list[tuple[float, bytes]] = attrs.field(factory=list)
    #: when the node's read of ``requests[i]`` returned
    node_reads: list[float] = attrs.field(factory=list)
    #: called with (time, signature) of each logs notification as it is stamped
    on_logs: Callable[[float, str], None] | None = None
    _first: dict[str, float] = attrs.field(factory=dict)
    _seen_notifications: int = 0
    _sent: list[SentTransaction] = attrs.field(factory=list)
    _decoded: int = 0

    def install(self, sim: Any) -> None:
        sim.ws_server.on_notification = self._on_notification
        sim.rpc_server.on_request = self._on_request

    def _on_notification(self, at: float, message: dict[str, Any]) -> None:
        self.notifications.append((at, message))
        if self.on_logs is not None and message.get("method") == "logsNotification":
            self.on_logs(at, message["params"]["result"]["value"]["signature"])

    def _on_request(self, at: float, body: bytes, read_at: float) -> None:
        self.requests.append((at, body))
        self.node_reads.append(read_at)

    def node_read(self, sent: SentTransaction) -> float:
        """When the node's read of ``sent`` (one of :meth:`sent_transactions`) returned."""
        return self.node_reads[sent.index]

    def first_notified(self, signature: str) -> float | None:
        """When the node first wrote a logs notification of ``signature`` to the bot."""
        for at, message in self.notifications[self._seen_notifications :]:
            if message.get("method") == "logsNotification":
                sig = message["params"]["result"]["value"]["signature"]
                self._first.setdefault(sig, at)
        self._seen_notifications = len(self.notifications)
        return self._first.get(signature)

    def sent_transactions(self) -> list[SentTransaction]:
        """Every ``sendTransaction`` the node read, decoded (incrementally); ``at`` is its
        arrival at the node's socket."""
        self._decoded = decode_new_sends(self.requests, self._decoded, self._sent)
        return self._sent


#: a message the bot read: (``perf_counter``, raw message, the thread's CPU time)
BotRead = tuple[float, str | bytes, float]


@contextlib.contextmanager
def record_bot_reads(sink: list[BotRead]) -> Iterator[None]:
    """Append ``(time, raw message, thread CPU time)`` for every message the bot's pubsub
    client reads.

    Wraps ``PubsubClient._dispatch`` (the first thing the client does with a message off
    its socket) for the duration; the message is decoded only after the run.
    """
    with on_bot_read(
        lambda message: sink.append((time.perf_counter(), message, time.thread_time()))
    ):
        yield


@contextlib.contextmanager
def on_bot_read(see: Callable[[str | bytes], None]) -> Iterator[None]:
    """Call ``see(message)`` for every message the bot's pubsub client reads, before the
    client handles it (wraps ``PubsubClient._dispatch`` for the duration)."""
    from trio_trader.chain.pubsub import PubsubClient

    original = PubsubClient._dispatch

    def _dispatch(self: Any, conn: Any, message: str | bytes) -> None:
        see(message)
        original(self, conn, message)

    PubsubClient._dispatch = _dispatch  # type: ignore[method-assign]
    try:
        yield
    finally:
        PubsubClient._dispatch = original  # type: ignore[method-assign]


def first_reads(
    reads: list[BotRead], out: dict[str, float], cpu_out: dict[str, float] | None = None
) -> None:
    """Add to ``out``: signature → when the bot first read a logs notification of it (and
    to ``cpu_out``: the bot's thread CPU time then)."""
    for at, raw, cpu in reads:
        if isinstance(raw, bytes):
            if b"logsNotification" not in raw:
                continue
        elif "logsNotification" not in raw:
            continue
        signature = json.loads(raw)["params"]["result"]["value"]["signature"]
        out.setdefault(signature, at)
        if cpu_out is not None:
            cpu_out.setdefault(signature, cpu)
