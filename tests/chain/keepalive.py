"""A keep-alive HTTP/1.1 JSON-RPC node on 127.0.0.1, written on h11, for the direct sender.

Unlike `hostile.HostileHttpNode` (one request per connection), it keeps connections open and
records which connection carried each request, so tests can see reuse, a server closing a
connection, a reply cut short, and that no request was ever pipelined behind another.
"""

from __future__ import annotations

import itertools
import json
import ssl
from collections.abc import Callable
from functools import partial
from typing import Any

import attrs
import h11
import trio

#: what the node does with one request: it gets the request, returns an `Act`
Behaviour = Callable[[dict[str, Any]], "Act"]


@attrs.frozen
class Act:
    """One reply: a JSON body with `status`; `close` adds Connection: close; `cut` sends only
    that many bytes of the body and then drops the connection; `delay` seconds before it;
    `silent_close` drops the connection without any reply at all."""

    body: Any = None
    status: int = 200
    close: bool = False
    cut: int | None = None
    delay: float = 0.0
    silent_close: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    raw: bytes | None = None  # these bytes as the body instead of `body` as JSON


def accept(request: dict[str, Any], signature: str) -> Act:
    return Act({"jsonrpc": "2.0", "id": request["id"], "result": signature})


def refuse(request: dict[str, Any], name: str = "BlockhashNotFound") -> Act:
    error = {
        "code": -32002,
        "message": f"Transaction simulation failed: {name}",
        "data": {"err": name, "logs": []},
    }
    return Act({"jsonrpc": "2.0", "id": request["id"], "error": error})


def rate_limited_once(then: Behaviour) -> Behaviour:
    """429 (Retry-After: 0) to each transaction's first copy; `then` for the next ones."""
    seen: set[str] = set()

    def behaviour(request: dict[str, Any]) -> Act:
        raw = request["params"][0]
        if raw in seen:
            return then(request)
        seen.add(raw)
        return Act({"error": "slow down"}, status=429, headers=(("retry-after", "0"),))

    return behaviour


@attrs.define(eq=False)
class Seen:
    """A request as the node read it."""

    connection: int
    body: bytes
    pipelined: bool  # more bytes were already waiting behind it: a pipelined request


@attrs.define(eq=False)
class KeepAliveNode:
    behaviour: Behaviour
    port: int = 0
    seen: list[Seen] = attrs.field(factory=list)
    connections: int = 0
    #: connections this node has closed (on loopback the client's kernel has the FIN then)
    closed: int = 0
    #: close every connection right after its reply, without saying so (keep-alive race)
    close_idle: bool = False
    #: serve HTTPS with this context (https:// URL) instead of plain HTTP
    tls: ssl.SSLContext | None = None
    _ids: itertools.count[int] = attrs.field(factory=itertools.count)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    async def start(self, nursery: trio.Nursery) -> KeepAliveNode:
        if self.tls is None:
            serve = partial(trio.serve_tcp, self._serve, 0, host="127.0.0.1")
        else:
            serve = partial(
                trio.serve_ssl_over_tcp, self._serve, 0, self.tls, host="127.0.0.1",
                https_compatible=True,
            )  # fmt: skip
        listeners = await nursery.start(serve)
        tcp = listeners[0] if self.tls is None else listeners[0].transport_listener
        self.port = tcp.socket.getsockname()[1]
        return self

    async def _serve(self, stream: trio.abc.Stream) -> None:
        self.connections += 1
        number = next(self._ids)
        http = h11.Connection(h11.SERVER)
        try:
            async with stream:
                while await self._one(stream, http, number):
                    http.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            self.closed += 1

    async def _one(self, stream: trio.abc.Stream, http: h11.Connection, number: int) -> bool:
        body = b""
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                http.receive_data(data)
                if not data and http.their_state is h11.IDLE:
                    return False  # the client closed an idle connection
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return False
        pipelined = bool(http.trailing_data[0])
        self.seen.append(Seen(number, body, pipelined))
        act = self.behaviour(json.loads(body))
        if act.delay:
            await trio.sleep(act.delay)
        if act.silent_close:
            return False
        payload = act.raw if act.raw is not None else json.dumps(act.body).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
        headers += list(act.headers)
        if act.close:
            headers.append(("connection", "close"))
        head = http.send(h11.Response(status_code=act.status, headers=headers)) or b""
        if act.cut is not None:
            await stream.send_all(head + payload[: act.cut])
            return False
        data = http.send(h11.Data(data=payload)) or b""
        await stream.send_all(head + data + (http.send(h11.EndOfMessage()) or b""))
        return not act.close and not self.close_idle
