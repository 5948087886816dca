"""HTTP JSON-RPC server of the simulated node (h11 on Trio sockets, a small ASGI app).

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
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from functools import partial
from typing import Any

import attrs
import h11
import trio

from trio_trader.sim._control_methods import CONTROL_METHODS, CONTROL_PATH, refuse_non_local
from trio_trader.sim._node_types import SendError
from trio_trader.sim._rpc_methods import METHODS, Method
from trio_trader.sim._wire_stamps import enable_arrival_stamps, receive_stamped
from trio_trader.sim.node import Node

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
MAX_BATCH = 1000
MAX_HEAD = 16 * 1024  # request line and headers
READ_SIZE = 65536
GRACEFUL_TIMEOUT = 1.0  # requests in progress at shutdown get this long to finish


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


@attrs.define
class _Reads:
    """A connection's last read, for the bench's stamps (``RpcServer.on_request``)."""

    stamping: bool = False  # the kernel stamps this socket's arrivals
    arrival: float = 0.0  # when the last read's bytes reached the socket
    read_at: float | None = None  # when the last read returned (None: not stamped)


class RpcServer:
    """The JSON-RPC server as a startable service with a graceful stop.

    HTTP/1.1 with keep-alive, spoken by h11 straight over Trio sockets (hypercorn's ASGI
    stack cost ~2.6 ms per round trip, more than the whole path of the bot it serves):
    each request is handed to :class:`RpcApp` as one ASGI call.

    ``await nursery.start(server.run)`` returns the URL once the socket listens (port 0
    picks a free port); ``server.shutdown()`` stops listening, closes idle connections
    and lets the requests in progress finish.

    ``on_request`` (None by default, then free: the plain ``receive_some``) is the
    benchmark's socket-level stamp, called as ``(arrival, body, read_at)`` once a
    request's bytes are in, before it is parsed or answered: ``arrival`` when the last
    of them reached the node's socket (the kernel's receive stamp, ``_wire_stamps``; the
    read's own time where the kernel gave none), ``read_at`` when the read that brought
    them returned (later by whatever the simulator's loop was busy with). Both
    ``time.perf_counter()``.
    """

    def __init__(self, node: Node, *, host: str = "127.0.0.1", port: int = 8899) -> None:
        self.node = node
        self.app = RpcApp(node)
        self.host = host
        self.port = port
        self.url = ""
        self.on_request: Callable[[float, bytes, float], None] | None = None
        self._stop = trio.Event()
        self._idle: set[trio.SocketStream] = set()
        self._busy = 0  # requests being answered
        self._drained: trio.Event | None = None  # set when `_busy` drops to 0 at shutdown
        self.stopped = trio.Event()

    def shutdown(self) -> None:
        self._stop.set()

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                listeners = await nursery.start(
                    partial(trio.serve_tcp, self._serve, self.port, host=self.host)
                )
                port = listeners[0].socket.getsockname()[1]
                self.url = f"http://{self.host}:{port}"
                task_status.started(self.url)
                await self._stop.wait()
                for listener in listeners:
                    await listener.aclose()
                for stream in list(self._idle):
                    await trio.aclose_forcefully(stream)
                with trio.move_on_after(GRACEFUL_TIMEOUT):
                    if self._busy:
                        self._drained = trio.Event()
                        await self._drained.wait()
                nursery.cancel_scope.cancel()
        finally:
            self.stopped.set()

    async def _serve(self, stream: trio.SocketStream) -> None:
        try:
            peer = stream.socket.getpeername()
        except OSError:  # reset before we got to it (ENOTCONN): nobody to answer
            await trio.aclose_forcefully(stream)
            return
        client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        reads = _Reads()
        try:
            async with stream:
                while not self._stop.is_set():
                    self._idle.add(stream)
                    try:
                        request = await self._read(stream, http, reads)
                    finally:
                        self._idle.discard(stream)
                    if request is None:
                        return
                    self._busy += 1
                    try:
                        keep = await self._answer(stream, http, request, client)
                    finally:
                        self._busy -= 1
                        if not self._busy and self._drained is not None:
                            self._drained.set()
                    if not keep or http.our_state is not h11.DONE:
                        return
                    http.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return  # the client went away: nothing to answer

    async def _read(
        self, stream: trio.SocketStream, http: h11.Connection, reads: _Reads
    ) -> tuple[h11.Request, bytes | None] | None:
        """The next request and its body (None if over ``MAX_BODY``); None at the end."""
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = http.next_event()
            except h11.RemoteProtocolError as exc:
                await self._refuse(stream, http, exc.error_status_hint, str(exc))
                return None
            if event is h11.NEED_DATA:
                http.receive_data(await self._receive(stream, reads))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                if len(body) <= MAX_BODY:
                    body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                if self.on_request is not None:
                    if reads.read_at is None:  # read before the hook was set: late, now
                        reads.arrival = reads.read_at = time.perf_counter()
                    self.on_request(reads.arrival, bytes(body), reads.read_at)
                return request, (bytes(body) if len(body) <= MAX_BODY else None)
            else:  # ConnectionClosed or PAUSED: nothing more to read here
                return None

    async def _receive(self, stream: trio.SocketStream, reads: _Reads) -> bytes:
        """One read of the connection; stamped (``reads``) only while the hook is set."""
        if self.on_request is None:
            reads.read_at = None
            return await stream.receive_some(READ_SIZE)
        if not reads.stamping:  # from the first read after the hook was set
            reads.stamping = enable_arrival_stamps(stream.socket)
        if reads.stamping:
            data, reads.arrival, reads.read_at = await receive_stamped(stream.socket, READ_SIZE)
            return data
        data = await stream.receive_some(READ_SIZE)
        reads.arrival = reads.read_at = time.perf_counter()
        return data

    async def _answer(
        self,
        stream: trio.SocketStream,
        http: h11.Connection,
        request: tuple[h11.Request, bytes | None],
        client: tuple[str, int] | None,
    ) -> bool:
        head, body = request
        target = head.target.decode("latin-1")
        path, _, query = target.partition("?")
        scope: Scope = {
            "type": "http",
            "http_version": head.http_version.decode("ascii"),
            "method": head.method.decode("ascii"),
            "path": path,
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": list(head.headers),
            "client": client,
            "server": (self.host, self.port),
        }
        reply: dict[str, Any] = {}

        async def receive() -> Message:
            if body is None:  # over MAX_BODY: what RpcApp reads past its limit
                return {"type": "http.request", "body": b"x" * (MAX_BODY + 1), "more_body": False}
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                reply["status"], reply["headers"] = message["status"], message["headers"]
            elif message["type"] == "http.response.body":
                reply["body"] = reply.get("body", b"") + message.get("body", b"")

        await self.app(scope, receive, send)
        keep = body is not None and http.their_state is h11.DONE
        headers = list(reply.get("headers", []))
        if not keep:
            headers.append((b"connection", b"close"))
        data = http.send(h11.Response(status_code=reply.get("status", 500), headers=headers))
        data = (data or b"") + (http.send(h11.Data(data=reply.get("body", b""))) or b"")
        await stream.send_all(data + (http.send(h11.EndOfMessage()) or b""))
        return keep

    @staticmethod
    async def _refuse(
        stream: trio.SocketStream, http: h11.Connection, status: int, why: str
    ) -> None:
        """A malformed request: say so (if a reply can still be framed) and close."""
        if http.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = why.encode()
        headers = [(b"content-length", b"%d" % len(body)), (b"connection", b"close")]
        try:
            data = http.send(h11.Response(status_code=status, headers=headers)) or b""
            await stream.send_all(data + (http.send(h11.Data(data=body)) or b""))
        except h11.LocalProtocolError:
            return
