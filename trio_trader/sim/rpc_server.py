"""HTTP JSON-RPC server of the simulated node (hypercorn on Trio, a small ASGI app).

The framing follows JSON-RPC 2.0 as Solana's RPC applies it: one request object or a
batch array, ``-32700`` for unparseable bodies, ``-32600`` for a request that is not a
request, ``-32601`` for an unknown method; each method's own errors come from
``_rpc_methods``. The HTTP faults (429 with ``Retry-After``, 503) are drawn per HTTP
request before the body is even parsed, as a rate-limiting proxy in front of a real node
would answer.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from trio_trader.sim._control_methods import CONTROL_METHODS, CONTROL_PATH, refuse_non_local
from trio_trader.sim._node_types import SendError
from trio_trader.sim._rpc_methods import METHODS, Method
from trio_trader.sim.node import Node

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
MAX_BATCH = 1000


def _error(code: int, message: str, request_id: Any = None, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": request_id}


def handle_request(
    node: Node, request: Any, methods: Mapping[str, Method] = METHODS
) -> dict[str, Any]:
    """Answer one JSON-RPC request object (never raises)."""
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
        return _error(-32600, "Invalid request")
    request_id = request.get("id")
    method = request.get("method")
    handler = methods.get(method) if isinstance(method, str) else None
    if handler is None:
        return _error(-32601, "Method not found", request_id)
    params = request.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list):
        return _error(-32602, "Invalid params: expected a parameter array", request_id)
    try:
        result = handler(node, params)
    except SendError as exc:
        return _error(exc.code, exc.message, request_id, exc.data)
    except Exception:
        log.exception("internal error in %s", method)
        return _error(-32603, "Internal error", request_id)
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def handle_body(node: Node, body: bytes, methods: Mapping[str, Method] = METHODS) -> Any:
    """Answer a whole HTTP body: one request or a batch."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error(-32700, "Parse error")
    if isinstance(payload, list):
        if not payload or len(payload) > MAX_BATCH:
            return _error(-32600, "Invalid request")
        return [handle_request(node, item, methods) for item in payload]
    return handle_request(node, payload, methods)


class RpcApp:
    """The ASGI application: POST / for JSON-RPC, GET /health like a validator.

    POST /sim answers the operator's fault-knob methods (``_control_methods``) only,
    and only to local requests (403 otherwise).
    """

    def __init__(self, node: Node, *, rng: random.Random | None = None) -> None:
        self.node = node
        self.rng = rng if rng is not None else random.Random(f"rpc:{node.seed}")
        self.requests = 0
        self.faulted = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.requests += 1
        control = scope["path"] == CONTROL_PATH
        refusal = refuse_non_local(scope["headers"]) if control else None
        if refusal is not None:
            log.warning("refused a %s request: %s", CONTROL_PATH, refusal)
            await self._drain(receive)
            message = f"Forbidden: {CONTROL_PATH} only answers local requests ({refusal})"
            await _respond(send, 403, json.dumps(_error(-32600, message)).encode())
            return
        status = None if control else self.node.faults.draw_http_fault(self.rng)
        if status is not None:
            self.faulted += 1
            await self._drain(receive)
            headers = []
            if status == 429:
                headers.append((b"retry-after", str(self.node.faults.retry_after).encode()))
                text = "Too many requests for a specific RPC call, contact your app developer"
            else:
                text = "Service unavailable"
            payload = json.dumps(_error(status, text)).encode()
            await _respond(send, status, payload, headers)
            return
        if scope["method"] == "GET" and scope["path"] == "/health":
            await self._drain(receive)
            await _respond(send, 200, b"ok", content_type=b"text/plain")
            return
        if scope["method"] != "POST":
            await self._drain(receive)
            await _respond(
                send, 405, b"Used HTTP Method is not allowed. POST or OPTIONS is required"
            )
            return
        body = await self._read_body(receive)
        if body is None:
            await _respond(send, 413, b"Payload Too Large")
            return
        answer = handle_body(self.node, body, CONTROL_METHODS if control else METHODS)
        await _respond(send, 200, json.dumps(answer).encode())

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return bytes(chunks)
            chunks += message.get("body", b"")
            if len(chunks) > MAX_BODY:
                return None
            if not message.get("more_body", False):
                return bytes(chunks)

    @staticmethod
    async def _drain(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json; charset=utf-8",
) -> None:
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": all_headers + (headers or [])}
    )
    await send({"type": "http.response.body", "body": body})


class RpcServer:
    """The JSON-RPC server as a startable service with a graceful stop.

    ``await nursery.start(server.run)`` returns the URL once the socket listens (port 0
    picks a free port); ``server.shutdown()`` lets hypercorn close its connections
    cleanly instead of being cancelled mid-write.
    """

    def __init__(self, node: Node, *, host: str = "127.0.0.1", port: int = 8899) -> None:
        self.node = node
        self.app = RpcApp(node)
        self.config = Config()
        self.config.bind = [f"{host}:{port}"]
        self.config.accesslog = None
        self.config.errorlog = logging.getLogger("hypercorn.error")
        self.config.graceful_timeout = 1.0
        self.config.keep_alive_timeout = 60.0
        self.url = ""
        self._stop = trio.Event()
        self.stopped = trio.Event()

    def shutdown(self) -> None:
        self._stop.set()

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    partial(serve, self.app, self.config, shutdown_trigger=self._stop.wait),  # type: ignore[arg-type]
                )
                self.url = binds[0]
                task_status.started(self.url)
        finally:
            self.stopped.set()
