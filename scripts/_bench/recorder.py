"""Timestamps at the edges of the bot, taken from outside its code.

* :class:`RecordingTransport` wraps the httpx transport the bot's ``RpcClient`` is given
  (``transport=``): it notes ``time.perf_counter()`` when a request is handed to the
  transport — the moment the request leaves the bot's code for the socket — and keeps
  the body, which is parsed only afterwards so the measurement does not slow the bot.
* :func:`record_ws_notifications` wraps the simulator's WebSocket server connection so
  each notification written to a socket is stamped right after the write returns: the
  bytes are then in the kernel's loopback buffer, i.e. at the bot's socket.

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

from trio_trader.chain.rpc import _Body  # the bot's own plain-iterator request body
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


class RecordingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that stamps each request on its way out (see module doc)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.requests: list[tuple[float, bytes]] = []
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
        index = len(self.requests)
        self.requests.append((at, body))
        if self.on_request is not None:
            self.on_request(at, body)
        response = await self.inner.handle_async_request(request)
        self.replied[index] = time.perf_counter()
        return response

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
        for index in range(self._decoded, len(self.requests)):
            at, body = self.requests[index]
            if b'"sendTransaction"' not in body:
                continue
            payload = json.loads(body)
            for item in payload if isinstance(payload, list) else [payload]:
                if item.get("method") == "sendTransaction":
                    self._sent.append(decode_sent(at, item["params"], index))
        self._decoded = len(self.requests)
        return self._sent


@contextlib.contextmanager
def record_ws_notifications(
    sink: Callable[[float, dict[str, Any]], None],
) -> Iterator[None]:
    """Call ``sink(time_written, message)`` for every notification the sim's WS server writes.

    Wraps ``trio_trader.sim.ws_server._Connection._send`` for the duration (the benchmark
    is the only user of the process): an outside measurement point, no edit of the sim.
    """
    from trio_trader.sim import ws_server

    original = ws_server._Connection._send

    async def _send(self: Any, message: dict[str, Any]) -> None:
        await original(self, message)
        if "method" in message:
            sink(time.perf_counter(), message)

    ws_server._Connection._send = _send  # type: ignore[method-assign]
    try:
        yield
    finally:
        ws_server._Connection._send = original  # type: ignore[method-assign]
