"""WebSocket pubsub server of the simulated node (trio-websocket).

One connection = one reader task (subscribe / unsubscribe requests) and one event task
(the node's event channel → notifications). Notifications wait in a per-connection
list until their slot reaches the subscription's commitment and are re-checked at
every slot, so a "confirmed" logs subscription hears of a transaction one slot (the
node's ``confirm_depth``) after a "processed" one, as on a real cluster.

The disconnect fault closes the TCP stream without a close frame, which a client sees
as code 1006 — the way load balancers really drop pubsub connections.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    WebSocketServer,
    serve_websocket,
)

from trio_trader.sim._node_types import NodeEvent, SendError, SlotEvent
from trio_trader.sim._wire_stamps import send_stamped
from trio_trader.sim._ws_subscriptions import UNSUBSCRIBE, Subscription, parse_subscribe
from trio_trader.sim.node import Node

log = logging.getLogger(__name__)


def _error(code: int, message: str, request_id: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": request_id}


class _Connection:
    """The state of one client connection: its subscriptions and held-back notifications."""

    def __init__(self, server: WsServer, ws: WebSocketConnection) -> None:
        self.server = server
        self.node = server.node
        self.ws = ws
        self.subs: dict[int, Subscription] = {}
        self.pending: list[tuple[int, int, Any]] = []  # (slot, sub id, result)
        self.cancel_scope = trio.CancelScope()

    async def run(self) -> None:
        events = self.node.watch()
        with self.cancel_scope, events:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read_requests, nursery.cancel_scope)
                    nursery.start_soon(self._forward_events, events)
            except* ConnectionClosed:
                pass  # the client left (possibly mid-send): nothing to report

    async def abort(self) -> None:
        """Drop the TCP connection without a close handshake."""
        self.cancel_scope.cancel()
        # trio-websocket has no public "abort"; closing its stream is what a dying
        # network does, and its reader task then records close code 1006.
        await self.ws._close_stream()

    async def _read_requests(self, scope: trio.CancelScope) -> None:
        try:
            while True:
                text = await self.ws.get_message()
                for answer in self._handle(text):
                    await self._send(answer)
        except ConnectionClosed:
            scope.cancel()

    def _handle(self, text: str | bytes) -> list[dict[str, Any]]:
        try:
            request = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return [_error(-32700, "Parse error")]
        if not isinstance(request, dict):
            return [_error(-32600, "Invalid request")]
        request_id = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        if not isinstance(method, str) or not isinstance(params, list):
            return [_error(-32600, "Invalid request", request_id)]
        try:
            if method in UNSUBSCRIBE:
                return [self._unsubscribe(UNSUBSCRIBE[method], params, request_id)]
            sub = parse_subscribe(method, params)
            initial = sub.initial(self.node)
        except SendError as exc:
            return [_error(exc.code, exc.message, request_id)]
        except Exception:
            log.exception("cannot serve %s", method)
            return [_error(-32603, "Internal error", request_id)]
        sub_id = self.server.next_id()
        self.subs[sub_id] = sub
        answers: list[dict[str, Any]] = [{"jsonrpc": "2.0", "result": sub_id, "id": request_id}]
        self.pending.extend((slot, sub_id, result) for slot, result in initial)
        answers.extend(self._due())
        return answers

    def _unsubscribe(self, notification: str, params: list[Any], request_id: Any) -> dict[str, Any]:
        sub_id = params[0] if params else None
        sub = self.subs.get(sub_id) if isinstance(sub_id, int) else None
        if sub is None or sub.method != notification:
            raise SendError(-32602, "Invalid subscription id.")
        del self.subs[sub_id]  # type: ignore[arg-type]
        self.pending = [p for p in self.pending if p[1] != sub_id]
        return {"jsonrpc": "2.0", "result": True, "id": request_id}

    async def _forward_events(self, events: trio.MemoryReceiveChannel[NodeEvent]) -> None:
        async for event in events:
            if isinstance(event, SlotEvent) and self.server.faults_disconnect():
                log.info("ws fault: dropping a connection at slot %s", event.slot)
                await self.abort()
                return
            for sub_id, sub in list(self.subs.items()):
                try:
                    produced = sub.on_event(self.node, event)
                except Exception:
                    # One broken notification must not cost the client its connection.
                    log.exception("subscription %s failed on %s", sub_id, type(event).__name__)
                    continue
                self.pending.extend((slot, sub_id, result) for slot, result in produced)
            for message in self._due():
                await self._send(message)

    def _due(self) -> list[dict[str, Any]]:
        """Notifications whose slot has reached their subscription's commitment."""
        due, keep = [], []
        for slot, sub_id, result in self.pending:
            sub = self.subs.get(sub_id)
            if sub is None:
                continue
            if slot <= self.node.commitment_slot(sub.commitment):
                due.append((sub_id, sub, result))
            else:
                keep.append((slot, sub_id, result))
        self.pending = keep
        messages = []
        for sub_id, sub, result in due:
            messages.append(
                {
                    "jsonrpc": "2.0",
                    "method": sub.method,
                    "params": {"result": result, "subscription": sub_id},
                }
            )
            if sub.one_shot and not isinstance(result.get("value"), str):
                self.subs.pop(sub_id, None)  # signatureSubscribe: auto-cancelled
        return messages

    async def _send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        hook = self.server.on_notification
        if hook is not None and "method" in message:
            await send_stamped(self.ws, text, lambda at: hook(at, message))
        else:
            await self.ws.send_message(text)


class WsServer:
    """The pubsub server as a startable service.

    ``await nursery.start(server.run)`` returns the ``ws://`` URL once listening;
    :meth:`disconnect_all` drops every open connection (the on-demand fault).
    """

    def __init__(self, node: Node, *, host: str = "127.0.0.1", port: int = 8900) -> None:
        self.node = node
        self.host = host
        self.port = port
        self.url = ""
        self.rng = random.Random(f"ws:{node.seed}")
        self.connections: set[_Connection] = set()
        self.disconnects = 0
        self._ids = 0
        self._nursery: trio.Nursery | None = None
        #: the benchmark's socket-level stamp, None (free) otherwise: called as
        #: ``(perf_counter(), message)`` right before a notification is written, with
        #: nothing left to run in between (``_wire_stamps.send_stamped``)
        self.on_notification: Callable[[float, dict[str, Any]], None] | None = None

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def faults_disconnect(self) -> bool:
        if self.node.faults.draw_ws_disconnect(self.rng):
            self.disconnects += 1
            return True
        return False

    def disconnect_all(self) -> int:
        """Abruptly close every open connection; returns how many were closed."""
        connections = list(self.connections)
        if self._nursery is not None:
            for connection in connections:
                self._nursery.start_soon(connection.abort)
        self.disconnects += len(connections)
        return len(connections)

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            server: WebSocketServer = await nursery.start(
                partial(
                    serve_websocket,
                    self._handle,
                    self.host,
                    self.port,
                    ssl_context=None,
                    message_queue_size=256,
                    disconnect_timeout=2,
                )
            )
            self.url = f"ws://{self.host}:{server.port}"
            task_status.started(self.url)

    async def _handle(self, request: WebSocketRequest) -> None:
        try:
            ws = await request.accept()
        except ConnectionClosed:
            return
        connection = _Connection(self, ws)
        self.connections.add(connection)
        try:
            await connection.run()
        except Exception:
            # An exception escaping here would cancel trio-websocket's server nursery,
            # i.e. every other client: log it and let this connection close.
            log.exception("websocket connection failed")
        finally:
            self.connections.discard(connection)
