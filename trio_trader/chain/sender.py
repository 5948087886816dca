"""`sendTransaction` at the floor: HTTP/1.1 spoken directly over kept-alive Trio sockets.

httpx + httpcore cost about 1.5 ms per POST on this machine against ~0.2 ms for a raw Trio
socket, and a BUY is one POST. `H11Sender` keeps a few open connections per endpoint (TLS
through `trio.SSLStream` for `https://`; Trio sets TCP_NODELAY on every one), writes the
whole request in one `send_all` and parses the reply with h11. One request at a time per
connection: no pipelining, so a reply always answers the request just written on that
connection.

The request is on the path to the wire, so its bytes are one `b"".join`: the endpoint's
head, framed and validated by h11 once when the endpoint is first used (`Endpoint.head`,
everything up to the Content-Length value), the length and the body. h11 is told of the
request only after the write (`_record_request`), to read the reply against it, by one
event built with the head (`Endpoint.sent`: the same method, target and headers with an
empty body; what h11 reads a reply by), not by framing the request again (~75 µs); nothing
between the call and the write yields to another task.

What can go wrong, and what the caller sees:

- the connection cannot be opened, breaks, times out, or the reply stops short (a partial
  status line, headers or body): `RpcUnavailable`. The request may have reached the node,
  which is exactly what a caller of `sendTransaction` must assume of that error ("maybe sent").
- a kept-alive connection the server had closed while idle (the usual race of keep-alive):
  if nothing at all came back on it, the same bytes are written once more on a new
  connection. Re-sending a signed transaction is harmless: it lands once or not at all.
- a reply larger than `max_reply_bytes` (declared or streamed): `RpcReplyTooLarge`, and the
  connection is dropped rather than drained.

A connection goes back to the idle list only after a complete exchange both sides keep open
(h11's `DONE`/`DONE`); any other ending closes it.

`write_now` and `reply` split one exchange in two: the request written at once on an idle
kept-alive connection (None when there is none: opening one is a round trip), its reply read
later, maybe by another task (the listener's task writes an extreme fast BUY, its position
task reads the reply: `trading/trader.py`).

The same signed bytes to several endpoints at once (a fan-out) is `fanout.py`'s, on
`write_now` and `reply`.
"""

from __future__ import annotations

import logging
import ssl
import time
import urllib.parse
from collections.abc import Callable

import attrs
import h11
import trio

from .errors import RpcReplyTooLarge, RpcUnavailable

__all__ = ["Exchange", "H11Sender", "HttpReply", "parse_endpoint"]

logger = logging.getLogger(__name__)

_READ_SIZE = 65536
_MAX_IDLE = 4  # per endpoint: concurrent sends (BUY, SELL, rebroadcasts) rarely exceed this
_USER_AGENT = b"trio-trader"


@attrs.frozen
class HttpReply:
    """One HTTP response: status, headers (names lower-case, the last of a name wins), body."""

    status: int
    headers: dict[str, str]
    body: bytes


@attrs.frozen
class Endpoint:
    """What a URL says about where to connect and what to ask for."""

    url: str
    tls: bool
    host: str
    port: int
    target: bytes  # path and query, as the request line carries it
    host_header: bytes
    #: a POST's request line and headers up to the Content-Length value (`_request_head`)
    head: bytes
    #: the POST as h11 is told of it after the write: the head's event, with no body
    sent: h11.Request


def parse_endpoint(url: str) -> Endpoint:
    """Split an `http://` or `https://` URL; `ValueError` for anything else."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)  # .port raises ValueError when out of range
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    netloc = parts.netloc.rpartition("@")[2]  # never send userinfo in Host
    target_bytes, host = target.encode(), netloc.encode()
    try:
        sent = _request(target_bytes, host, 0)
        head = _request_head(sent)
    except h11.LocalProtocolError as exc:  # e.g. a space in the path
        raise ValueError(f"cannot make an HTTP request of {url!r}: {exc}") from None
    return Endpoint(url, tls, parts.hostname, port, target_bytes, host, head, sent)


class _StaleConnection(Exception):
    """A reused connection ended before any byte of a reply: the server had closed it."""


#: a connection's failures, as `_broken` reads them
_BROKEN = (OSError, trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError)


@attrs.define(eq=False)
class _Connection:
    stream: trio.abc.Stream
    http: h11.Connection = attrs.field(factory=lambda: h11.Connection(h11.CLIENT))
    exchanges: int = 0  # completed request/reply cycles: > 0 means a reused connection
    received: int = 0  # bytes read during the current exchange


@attrs.frozen(eq=False)
class Exchange:
    """A request `H11Sender.write_now` wrote, on a connection of its own until
    `H11Sender.reply` reads the reply (`deadline`: the exchange's, from the write)."""

    connection: _Connection
    endpoint: Endpoint
    deadline: float


@attrs.define(eq=False)
class H11Sender:
    """A pool of kept-alive HTTP/1.1 connections per endpoint, for small JSON POSTs.

    Args:
        max_reply_bytes: a reply body larger than this is refused (`RpcReplyTooLarge`).
        timeout: seconds for one whole exchange (connect, write, read the reply).
        connect_timeout: seconds for opening a connection (TCP, and TLS when https).
        ssl_context: for https endpoints; the system's default verification when None.
        on_request: called as `(url, perf_counter(), body)` right before a request is
            written; the benchmark's in-bot stamp. None costs nothing.
        max_idle: kept-alive connections per endpoint; a surplus one is closed after its
            reply (`RpcClient`'s reads keep more than its sends: they come in bursts).
    """

    max_reply_bytes: int
    timeout: float = 10.0
    connect_timeout: float = 5.0
    ssl_context: ssl.SSLContext | None = None
    on_request: Callable[[str, float, bytes], None] | None = None
    max_idle: int = _MAX_IDLE
    connections_opened: int = attrs.field(init=False, default=0)
    #: URL → `trio.current_time()` of its last complete exchange
    last_used: dict[str, float] = attrs.field(init=False, factory=dict)
    _endpoints: dict[str, Endpoint] = attrs.field(init=False, factory=dict)
    _idle: dict[str, list[_Connection]] = attrs.field(init=False, factory=dict)
    _closed: bool = attrs.field(init=False, default=False)

    async def post(
        self, url: str, body: bytes, *, after_write: Callable[[], None] | None = None
    ) -> HttpReply:
        """POST `body` (JSON) to `url` and return the reply read whole.

        `after_write` is called as soon as the request's bytes are written (`send_all`
        returns: Trio ends it with a scheduling point that cannot be cancelled, so other
        tasks may run first), before the reply is read; again if a stale connection makes
        the bytes go out twice.

        Raises:
            RpcUnavailable: no complete reply (connection, timeout, broken reply).
            RpcReplyTooLarge: the reply passed `max_reply_bytes`.
        """
        if self._closed:
            raise RpcUnavailable(f"{url}: the sender is closed")
        endpoint = self._endpoint(url)
        # a bare scope, not `fail_after` (its generator and exception cost tens of µs cold
        # on the way to the write)
        with trio.CancelScope(deadline=trio.current_time() + self.timeout) as scope:
            idle = self._idle.get(url)
            if idle:
                try:
                    return await self._exchange(idle.pop(), endpoint, body, after_write)
                except _StaleConnection:
                    pass  # the server closed it while idle: once more, on a new one
            connection = await self._connect(endpoint)
            try:
                return await self._exchange(connection, endpoint, body, after_write)
            except _StaleConnection:
                raise RpcUnavailable(f"{url}: connection closed before any reply") from None
        assert scope.cancelled_caught  # the only way here: the deadline passed
        raise RpcUnavailable(f"{url}: no reply within {self.timeout}s")

    async def aclose(self) -> None:
        """Close every idle connection; later posts fail with `RpcUnavailable`."""
        self._closed = True
        idle = [c for conns in self._idle.values() for c in conns]
        self._idle.clear()
        for connection in idle:
            await trio.aclose_forcefully(connection.stream)

    def idle_connections(self, url: str) -> int:
        """How many kept-alive connections to `url` wait for the next request."""
        return len(self._idle.get(url, ()))

    def _endpoint(self, url: str) -> Endpoint:
        endpoint = self._endpoints.get(url)
        if endpoint is None:
            try:
                endpoint = self._endpoints[url] = parse_endpoint(url)
            except ValueError as exc:
                raise RpcUnavailable(f"{url}: {exc}") from None
        return endpoint

    async def _connect(self, endpoint: Endpoint) -> _Connection:
        try:
            with trio.fail_after(self.connect_timeout):
                stream: trio.abc.Stream
                if endpoint.tls:
                    context = self.ssl_context or ssl.create_default_context()
                    tls = await trio.open_ssl_over_tcp_stream(
                        endpoint.host, endpoint.port, ssl_context=context, https_compatible=True
                    )
                    try:
                        # now, not inside the first write: a refused certificate is a
                        # connection that never carried the request
                        await tls.do_handshake()
                    except BaseException:
                        await trio.aclose_forcefully(tls)
                        raise
                    stream = tls
                else:
                    stream = await trio.open_tcp_stream(endpoint.host, endpoint.port)
        except (OSError, trio.TooSlowError, trio.BrokenResourceError) as exc:
            raise RpcUnavailable(f"{endpoint.url}: cannot connect: {exc!r}") from None
        self.connections_opened += 1
        return _Connection(stream)

    async def write_now(
        self, url: str, body: bytes, *, after_write: Callable[[], None] | None = None
    ) -> Exchange | None:
        """Write the POST of `body` to `url` on a kept-alive connection now, its reply left
        to `reply`; None when it cannot be written at once (no idle connection to `url`:
        opening one is a round trip), or the write failed (nothing to read: the caller
        posts the same bytes the usual way). `after_write` as in `post`.

        A kept-alive connection is idle only after its last reply was read whole, so the
        server has read every byte sent before: its send buffer is empty and a request
        (~1.5 KiB) goes in one `send` without waiting (TLS too: the session is up). So
        the write has no deadline of its own (a cancel scope cost ~40 µs cold on the
        way to the wire); the exchange's `timeout` runs from it, for the reply. A caller
        that cannot wait must bound it (the listener's task: its reconnect cancels it).
        """
        idle = None if self._closed else self._idle.get(url)
        if not idle:
            return None
        endpoint, connection = self._endpoint(url), idle.pop()
        deadline = trio.current_time() + self.timeout
        written = False
        try:  # no deadline of its own: see the docstring
            await self._write(connection, endpoint, body, after_write)
            written = True
        except _BROKEN:
            pass  # not even written whole: the caller's post opens another connection
        finally:
            if not written:
                await trio.aclose_forcefully(connection.stream)
        return Exchange(connection, endpoint, deadline) if written else None

    async def reply(self, exchange: Exchange) -> HttpReply:
        """The reply to a request `write_now` wrote (once; errors as `post`'s, a connection
        the server had closed while idle included: `RpcUnavailable`)."""
        url = exchange.endpoint.url
        with trio.CancelScope(deadline=exchange.deadline) as scope:
            try:
                return await self._finish(exchange.connection, exchange.endpoint)
            except _StaleConnection:
                raise RpcUnavailable(f"{url}: connection closed before any reply") from None
        assert scope.cancelled_caught  # the only way here: the deadline passed
        raise RpcUnavailable(f"{url}: no reply within {self.timeout}s")

    async def _exchange(
        self,
        connection: _Connection,
        endpoint: Endpoint,
        body: bytes,
        after_write: Callable[[], None] | None = None,
    ) -> HttpReply:
        """One request and its reply; the connection is kept only if both ended cleanly."""
        try:
            await self._write(connection, endpoint, body, after_write)
        except BaseException as exc:
            await trio.aclose_forcefully(connection.stream)
            if isinstance(exc, _BROKEN):
                raise self._broken(connection, endpoint, exc) from None
            raise
        return await self._finish(connection, endpoint)

    async def _write(
        self,
        connection: _Connection,
        endpoint: Endpoint,
        body: bytes,
        after_write: Callable[[], None] | None,
    ) -> None:
        """The request in one `send_all`, then `after_write`; h11 told of it."""
        connection.received = 0
        data = b"".join((endpoint.head, b"%d\r\n\r\n" % len(body), body))
        if self.on_request is not None:
            self.on_request(endpoint.url, time.perf_counter(), body)
        await connection.stream.send_all(data)
        if after_write is not None:
            after_write()  # the caller's work that must follow the write, not the reply
        _record_request(connection.http, endpoint)

    async def _finish(self, connection: _Connection, endpoint: Endpoint) -> HttpReply:
        """The reply to the request just written; the connection kept only if both ended
        cleanly, else closed."""
        keep = False
        try:
            reply = await self._read_reply(connection, endpoint)
            keep = connection.http.our_state is h11.DONE and connection.http.their_state is h11.DONE
            self.last_used[endpoint.url] = trio.current_time()
            return reply
        except _BROKEN as exc:
            raise self._broken(connection, endpoint, exc) from None
        finally:
            if keep and not self._closed and self.idle_connections(endpoint.url) < self.max_idle:
                connection.http.start_next_cycle()
                connection.exchanges += 1
                self._idle.setdefault(endpoint.url, []).append(connection)
            else:
                # Cancelled, broken, refused or surplus: never reuse a connection in an
                # unknown state (a late reply would answer the next request).
                await trio.aclose_forcefully(connection.stream)

    @staticmethod
    def _broken(connection: _Connection, endpoint: Endpoint, exc: BaseException) -> Exception:
        """What a transport or HTTP error on `connection` means to the caller."""
        if connection.exchanges and not connection.received:
            return _StaleConnection()  # nothing came back on a reused one: closed while idle
        if isinstance(exc, h11.ProtocolError):  # Remote: a broken reply; Local: never
            # expected (the request was framed and written already), but the bytes may be out
            return RpcUnavailable(f"{endpoint.url}: broken HTTP reply: {exc}")
        return RpcUnavailable(f"{endpoint.url}: connection broke: {exc!r}")

    async def _read_reply(self, connection: _Connection, endpoint: Endpoint) -> HttpReply:
        http = connection.http
        limit = self.max_reply_bytes
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        size = 0
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = await connection.stream.receive_some(_READ_SIZE)
                connection.received += len(data)
                http.receive_data(bytes(data))
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in event.headers}
                declared = headers.get("content-length", "")
                # h11 checked it is digits; [:20] keeps int() away from absurd lengths
                if declared and int(declared[:20]) > limit:
                    raise self._too_large(endpoint, f"declares {declared:.24} bytes")
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise self._too_large(endpoint, "passed the limit")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return HttpReply(status, headers, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("connection closed before the reply")
            # h11.InformationalResponse (100 Continue, …) carries nothing for us

    def _too_large(self, endpoint: Endpoint, what: str) -> RpcReplyTooLarge:
        limit = self.max_reply_bytes
        return RpcReplyTooLarge(f"reply from {endpoint.url} {what}, over {limit}", limit=limit)


def _request(target: bytes, host: bytes, length: int) -> h11.Request:
    return h11.Request(
        method=b"POST",
        target=target,
        headers=[
            (b"host", host),
            (b"user-agent", _USER_AGENT),
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % length),
        ],
    )


def _request_head(empty: h11.Request) -> bytes:
    """The bytes h11 writes for `empty` (a POST with Content-Length 0) without that value
    and the blank line after it: `head + b"%d\\r\\n\\r\\n" % len(body) + body` is the
    request. Raises `h11.LocalProtocolError` for a target or host h11 would not write."""
    framed = h11.Connection(h11.CLIENT).send(empty) or b""
    tail = b"0\r\n\r\n"
    if not framed.endswith(b"content-length: " + tail):  # h11 changed how it frames
        raise RuntimeError(f"unexpected request head from h11: {framed!r:.200}")
    return framed[: -len(tail)]


def _record_request(http: h11.Connection, endpoint: Endpoint) -> None:
    """Move h11 to "request sent", so that it reads the reply to the request written by
    hand (what h11 would have written for it is what was: `tests/chain/test_sender.py`).
    It is told of the same POST with an empty body: a reply is read by the method and the
    connection headers alone, and framing the real body again would cost ~75 µs."""
    http.send(endpoint.sent)
    http.send(_END)


_END = h11.EndOfMessage()
