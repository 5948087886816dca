"""Fake Solana peers that speak the real wire formats.

`FakeNode` is an HTTP JSON-RPC node behind `httpx.MockTransport`; `FakePubsubServer` is a real
WebSocket server (trio-websocket on 127.0.0.1, port 0) that speaks Solana's pubsub protocol.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import attrs
import httpx
import trio
import trio_websocket


class RpcFault(Exception):
    """Raised by a handler to answer with a JSON-RPC error member."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


Handler = Callable[[list[Any]], Any]


@attrs.define(eq=False)
class FakeNode:
    """A JSON-RPC node: `handlers[method](params)` returns the `result` or raises RpcFault.

    `http_faults` is a queue of canned HTTP responses served (one per request) before the
    handlers are consulted, to inject 429s and 5xx.
    """

    handlers: dict[str, Handler] = attrs.field(factory=dict)
    http_faults: list[httpx.Response] = attrs.field(factory=list)
    requests: list[tuple[float, str, Any]] = attrs.field(factory=list)  # (time, url, body)
    calls: list[tuple[float, str, list[Any]]] = attrs.field(factory=list)  # (time, method, params)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def methods(self) -> list[str]:
        return [method for _, method, _ in self.calls]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append((trio.current_time(), str(request.url), body))
        if self.http_faults:
            return self.http_faults.pop(0)
        if isinstance(body, list):
            return httpx.Response(200, json=[self._answer(r) for r in body])
        return httpx.Response(200, json=self._answer(body))

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params", [])
        self.calls.append((trio.current_time(), method, params))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        handler = self.handlers.get(method)
        if handler is None:
            reply["error"] = {"code": -32601, "message": "Method not found"}
            return reply
        try:
            reply["result"] = handler(params)
        except RpcFault as fault:
            reply["error"] = fault.error
        return reply


def context(value: Any, slot: int = 1000) -> dict[str, Any]:
    """The `{"context": …, "value": …}` envelope of most Solana results."""
    return {"context": {"apiVersion": "2.2.0", "slot": slot}, "value": value}


@attrs.define(eq=False)
class FakePubsubServer:
    """A Solana pubsub server: answers `*Subscribe` with fresh ids, records everything."""

    received: list[dict[str, Any]] = attrs.field(factory=list)
    connections: list[trio_websocket.WebSocketConnection] = attrs.field(factory=list)
    # server id → (method, params, the connection it lives on)
    subscriptions: dict[int, tuple[str, list[Any], trio_websocket.WebSocketConnection]] = (
        attrs.field(factory=dict)
    )
    reject: set[str] = attrs.field(factory=set)  # methods answered with an error
    reject_handshakes: int = 0  # this many connections are refused with HTTP 503 first
    rejected: int = 0
    reply_delay: float = 0.0  # seconds before answering a subscribe
    port: int = 0
    _ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(100))
    _changed: trio.Event = attrs.field(factory=trio.Event)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self, nursery: trio.Nursery) -> None:
        server = await nursery.start(
            partial(trio_websocket.serve_websocket, self.handler, "127.0.0.1", 0, ssl_context=None)
        )
        self.port = server.port

    def _notify_change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    def live(self, method: str) -> list[int]:
        """Server ids of live subscriptions of `method`, oldest first."""
        return [sid for sid, (m, _, _) in self.subscriptions.items() if m == method]

    async def handler(self, request: trio_websocket.WebSocketRequest) -> None:
        if self.rejected < self.reject_handshakes:
            self.rejected += 1
            await request.reject(503, body=b"overloaded")
            return
        ws = await request.accept()
        self.connections.append(ws)
        self._notify_change()
        try:
            while True:
                message = json.loads(await ws.get_message())
                self.received.append(message)
                await self._answer(ws, message)
                self._notify_change()
        except trio_websocket.ConnectionClosed:
            for sid in [s for s, (_, _, w) in self.subscriptions.items() if w is ws]:
                del self.subscriptions[sid]
            self._notify_change()

    async def _answer(self, ws: trio_websocket.WebSocketConnection, msg: dict[str, Any]) -> None:
        method: str = msg["method"]
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": msg["id"]}
        if method in self.reject:
            reply["error"] = {"code": -32602, "message": "Invalid params"}
        elif method.endswith("Unsubscribe"):
            reply["result"] = self.subscriptions.pop(msg["params"][0], None) is not None
        else:
            await trio.sleep(self.reply_delay)
            sid = next(self._ids)
            self.subscriptions[sid] = (method, msg["params"], ws)
            reply["result"] = sid
        await ws.send_message(json.dumps(reply))

    async def notify(self, sid: int, result: Any) -> None:
        """Send a notification for subscription `sid` in the real envelope."""
        method, _, ws = self.subscriptions[sid]
        notification = method.replace("Subscribe", "Notification")
        await self.send_raw(
            ws,
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": notification,
                    "params": {"result": result, "subscription": sid},
                }
            ),
        )
        if method == "signatureSubscribe":  # the real server cancels it after notifying
            del self.subscriptions[sid]

    async def send_raw(self, ws: trio_websocket.WebSocketConnection, text: str) -> None:
        await ws.send_message(text)

    async def drop_all(self) -> None:
        """Close every connection, as a node restart or a load balancer would."""
        for ws in self.connections:
            await ws.aclose()


def logs_item(slot: int, signature: str, logs: list[str]) -> dict[str, Any]:
    """A logsNotification `result`."""
    return {"context": {"slot": slot}, "value": {"signature": signature, "err": None, "logs": logs}}
