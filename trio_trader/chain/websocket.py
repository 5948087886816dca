"""A lean RFC 6455 client connection for the pubsub reader: whole reads in, whole messages out.

trio-websocket runs a reader task per connection that feeds wsproto's frame parser and hands
each message through a memory channel: a task switch plus ~40 Python calls per message, which
was most of the cost of a notification once the JSON and the events were decoded quickly.
Here the pubsub client's own read loop calls :meth:`ClientWebSocket.receive_messages`: one
``receive_some`` (64 KiB; 256 KiB after a read that filled its buffer), every complete
message in it parsed by one loop over the buffer, no task in between.

The protocol is kept whole for a client that offers no extensions and no subprotocol:

- the opening handshake is HTTP/1.1 spoken with h11; anything but a ``101`` with the right
  ``Sec-WebSocket-Accept`` (or with an extension or subprotocol we did not offer) is a
  :class:`HandshakeError`;
- server frames must be unmasked with clear RSV bits and a known opcode; control frames are at
  most 125 bytes and never fragmented; fragmented messages are joined (control frames may
  come between their fragments); anything else fails the connection with close code 1002;
- a message (all its fragments) longer than ``max_message_size`` fails the connection with
  1009 as soon as a frame header announces it: the payload is never buffered;
- a ping is answered with a pong carrying its payload; a pong wakes the :meth:`ping` waiting
  for that payload; a close frame is answered with a close frame and ends the connection;
- our frames are masked with a fresh key from ``os.urandom`` each.

One deliberate difference from the letter of RFC 6455 §8.1: a text message that is not UTF-8
does not fail the connection; it is handed up as bytes like any other, and the JSON decoder
(which checks UTF-8) rejects it, so the pubsub client logs and skips it as malformed, as it
does a binary message. Messages are returned as ``bytes`` either way.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import struct

import attrs
import h11
import trio

__all__ = ["ClientWebSocket", "ConnectionClosed", "HandshakeError", "connect"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0, 1, 2, 8, 9, 10
_NORMAL, _PROTOCOL_ERROR, _NO_STATUS, _ABNORMAL, _TOO_BIG = 1000, 1002, 1005, 1006, 1009
_CLOSE_GRACE = 1.0  # seconds we give our close frame
_MAX_READ = 1024 * 1024  # the most one read asks for while a long frame is pending
#: the read after one that filled its buffer (a burst is waiting): its syscall and scheduler
#: pass then serve ~50 notifications. Not every read: a buffer this size comes from mmap,
#: not the heap, and costs ~20 µs a read against ~3 µs for 64 KiB, which a lone
#: notification (a create, an exit's trigger) would pay on the latency path
_BURST_READ = 256 * 1024
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")
_HEADER_BYTES = 16 * 1024  # the handshake reply's head, at most


class HandshakeError(Exception):
    """The server did not accept the WebSocket upgrade (status, header or a broken stream)."""


class ConnectionClosed(Exception):
    """The connection is over: a close frame, a protocol error, or the stream ended.

    Attributes:
        code: the close code (1006 when the stream ended without a close frame).
        reason: the close reason, or what went wrong.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class _Fail(Exception):
    """The connection must end: a frame broke the protocol, or the server sent a close."""

    def __init__(self, code: int, reason: str, *, received: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.received = received  # the server's close frame (else our own error)


def _accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def _mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``key`` (as one big integer: no Python loop)."""
    size = len(payload)
    if not size:
        return payload
    stream = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked frame."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + _U16.pack(size)
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + _U64.pack(size)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


async def connect(
    stream: trio.abc.Stream,
    host: str,
    resource: str,
    *,
    max_message_size: int,
    receive_size: int = 64 * 1024,
) -> ClientWebSocket:
    """Upgrade ``stream`` (already connected, TLS done) to a WebSocket client connection.

    Raises:
        HandshakeError: the reply is not a valid ``101 Switching Protocols`` for our key.
    """
    key = base64.b64encode(os.urandom(16))
    http = h11.Connection(h11.CLIENT, max_incomplete_event_size=_HEADER_BYTES)
    request = h11.Request(
        method="GET",
        target=resource,
        headers=[
            (b"Host", host.encode()),
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", key),
            (b"Sec-WebSocket-Version", b"13"),
        ],
    )
    try:
        await stream.send_all(http.send(request) or b"")
        reply = await _read_reply(stream, http, receive_size)
    except (trio.BrokenResourceError, h11.ProtocolError) as exc:
        raise HandshakeError(f"handshake: {exc!r}") from exc
    _check_reply(reply, _accept_key(key))
    ws = ClientWebSocket(stream, max_message_size=max_message_size, receive_size=receive_size)
    ws._buffer += http.trailing_data[0]  # frames that came with the reply
    return ws


async def _read_reply(
    stream: trio.abc.Stream, http: h11.Connection, receive_size: int
) -> h11.InformationalResponse:
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(receive_size)
            if not data:
                raise HandshakeError("the server closed the connection during the handshake")
            http.receive_data(bytes(data))
        elif isinstance(event, h11.InformationalResponse) and event.status_code == 101:
            return event
        elif isinstance(event, h11.InformationalResponse | h11.Response):
            raise HandshakeError(f"the server answered the upgrade with HTTP {event.status_code}")
        else:  # pragma: no cover - h11 yields a response or an error to a client first
            raise HandshakeError(f"unexpected handshake event {type(event).__name__}")


def _check_reply(reply: h11.InformationalResponse, accept: bytes) -> None:
    headers: dict[bytes, bytes] = {}
    for name, value in reply.headers:
        headers[name] = value if name not in headers else headers[name] + b"," + value
    connection = {token.strip().lower() for token in headers.get(b"connection", b"").split(b",")}
    if headers.get(b"upgrade", b"").lower() != b"websocket" or b"upgrade" not in connection:
        raise HandshakeError("the 101 reply does not upgrade to websocket")
    if headers.get(b"sec-websocket-accept", b"").strip() != accept:
        raise HandshakeError("wrong Sec-WebSocket-Accept")
    for offered_none in (b"sec-websocket-extensions", b"sec-websocket-protocol"):
        if headers.get(offered_none):
            raise HandshakeError(f"the server chose {offered_none.decode()} we did not offer")


@attrs.define(eq=False)
class ClientWebSocket:
    """The client end of an open WebSocket; see the module docstring.

    One task reads (:meth:`receive_messages`); any task may :meth:`send` or :meth:`ping`.
    """

    stream: trio.abc.Stream
    max_message_size: int = attrs.field(kw_only=True)
    receive_size: int = attrs.field(default=64 * 1024, kw_only=True)
    #: what is read and not parsed yet: a read's own ``bytes`` while nothing was pending
    #: (its messages are sliced out of it, one copy each), else a ``bytearray`` it joins
    _buffer: bytes | bytearray = attrs.field(factory=bytearray, init=False)
    _wanted: int = attrs.field(default=0, init=False)  # bytes still missing of a frame
    _burst: bool = attrs.field(default=False, init=False)  # the last read filled its buffer
    _failing: _Fail | None = attrs.field(default=None, init=False)
    _parts: list[bytes] = attrs.field(factory=list, init=False)  # the fragmented message
    _parts_size: int = attrs.field(default=0, init=False)
    _in_message: bool = attrs.field(default=False, init=False)
    _pongs: dict[bytes, trio.Event] = attrs.field(factory=dict, init=False)
    _send_lock: trio.StrictFIFOLock = attrs.field(factory=trio.StrictFIFOLock, init=False)
    _closed: ConnectionClosed | None = attrs.field(default=None, init=False)

    @property
    def closed(self) -> ConnectionClosed | None:
        """Why the connection ended, or None while it is open."""
        return self._closed

    # ------------------------------------------------------------------------ reading

    async def receive_messages(self) -> list[bytes]:
        """The complete messages of the next read(s): at least one.

        Messages that arrived before a close frame or a protocol error are returned first;
        the next call raises.

        Raises:
            ConnectionClosed: the server closed, broke the protocol, sent a message over
                ``max_message_size``, or the stream ended.
        """
        while True:
            if self._failing is not None:
                await self._fail(self._failing)
            if self._closed is not None:
                raise self._closed
            messages: list[bytes] = []
            replies: list[bytes] = []
            self._parse(messages, replies)
            for reply in replies:
                await self._send_frame(reply)
            if messages:
                return messages
            if self._failing is None and not replies:
                data = await self._receive()
                if self._buffer:
                    self._buffer += data
                else:  # parsed where it is: no copy into the buffer, one out per message
                    self._buffer = data

    async def _receive(self) -> bytes | bytearray:
        size = self.read_size()
        try:
            data = await self.stream.receive_some(size)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise self._end(_ABNORMAL, f"stream broken: {exc!r}") from exc
        if not data:
            raise self._end(_ABNORMAL, "the stream ended without a close frame")
        self._burst = len(data) >= size
        return data

    def read_size(self) -> int:
        """How much the next read asks for: ``receive_size``, more after a read that filled
        its buffer (``_BURST_READ``), or what a pending long frame still needs."""
        size = max(self.receive_size, _BURST_READ) if self._burst else self.receive_size
        return max(size, min(self._wanted, _MAX_READ))

    def _parse(self, messages: list[bytes], replies: list[bytes]) -> None:
        """Every complete frame in the buffer: messages out, control replies queued.

        A protocol error stops the parse and is kept in ``_failing`` for the caller.
        """
        buf = self._buffer
        end = len(buf)
        pos = 0
        self._wanted = 0
        try:
            while end - pos >= 2:
                first, second = buf[pos], buf[pos + 1]
                size, head = second & 0x7F, 2
                if size == 126:
                    if end - pos < 4:
                        break
                    size, head = _U16.unpack_from(buf, pos + 2)[0], 4
                elif size == 127:
                    if end - pos < 10:
                        break
                    size, head = _U64.unpack_from(buf, pos + 2)[0], 10
                opcode = first & 0x0F
                # the usual frame (a whole text message, unmasked, within the size limit)
                # passes `_check_header` for sure: it is called for the others only
                if (
                    first != 0x81
                    or second & 0x80
                    or self._in_message
                    or size > self.max_message_size
                ):
                    self._check_header(first, second, opcode, size)
                if end - pos < head + size:
                    self._wanted = head + size - (end - pos)
                    break
                payload = bytes(buf[pos + head : pos + head + size])
                pos += head + size
                if opcode >= _CLOSE:
                    self._control(opcode, payload, replies)
                elif not first & 0x80:  # a fragment: more follow
                    self._parts.append(payload)
                    self._parts_size += size
                    self._in_message = True
                elif self._in_message:
                    self._parts.append(payload)
                    messages.append(b"".join(self._parts))
                    self._parts.clear()
                    self._parts_size = 0
                    self._in_message = False
                else:
                    messages.append(payload)
        except _Fail as fail:
            self._failing = fail
        if isinstance(buf, bytearray):
            del buf[:pos]
        else:  # a read's bytes: what is left of it (a frame's start) becomes the buffer
            self._buffer = bytearray(memoryview(buf)[pos:])

    def _check_header(self, first: int, second: int, opcode: int, size: int) -> None:
        if second & 0x80:
            raise _Fail(_PROTOCOL_ERROR, "a masked frame from the server")
        if first & 0x70:
            raise _Fail(_PROTOCOL_ERROR, "RSV bits set without an extension")
        if opcode >= _CLOSE:
            if opcode not in (_CLOSE, _PING, _PONG):
                raise _Fail(_PROTOCOL_ERROR, f"unknown opcode {opcode}")
            if not first & 0x80 or size > 125:
                raise _Fail(_PROTOCOL_ERROR, "a fragmented or long control frame")
            return
        if opcode == _CONTINUATION:
            if not self._in_message:
                raise _Fail(_PROTOCOL_ERROR, "a continuation frame outside a message")
        elif opcode not in (_TEXT, _BINARY):
            raise _Fail(_PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif self._in_message:
            raise _Fail(_PROTOCOL_ERROR, "a new message inside a fragmented one")
        if self._parts_size + size > self.max_message_size:
            raise _Fail(_TOO_BIG, f"a message passed {self.max_message_size} bytes")

    def _control(self, opcode: int, payload: bytes, replies: list[bytes]) -> None:
        if opcode == _PING:
            replies.append(_client_frame(_PONG, payload))
        elif opcode == _PONG:
            waiter = self._pongs.pop(payload, None)
            if waiter is not None:
                waiter.set()
        else:
            raise self._close_frame_received(payload)

    def _close_frame_received(self, payload: bytes) -> _Fail:
        if len(payload) >= 2:
            code = _U16.unpack_from(payload)[0]
            reason = payload[2:].decode("utf-8", "replace")
        else:
            code, reason = _NO_STATUS, ""
        return _Fail(code, reason, received=True)

    async def _fail(self, fail: _Fail) -> None:
        """Send our close frame (1000 answering the server's, else the error's), raise."""
        self._failing = None
        closed = self._end(fail.code, fail.reason)
        code = _NORMAL if fail.received else fail.code
        with trio.move_on_after(_CLOSE_GRACE), contextlib.suppress(ConnectionClosed):
            await self._send_frame(_client_frame(_CLOSE, _U16.pack(code)), closing=True)
        raise closed

    def _end(self, code: int, reason: str) -> ConnectionClosed:
        if self._closed is None:
            self._closed = ConnectionClosed(code, reason)
            for waiter in self._pongs.values():
                waiter.set()  # a ping waiting for a pong learns of the close
        return self._closed

    # ------------------------------------------------------------------------ writing

    async def send(self, message: bytes | str) -> None:
        """Send one text message.

        Raises:
            ConnectionClosed: the connection is over.
        """
        payload = message.encode() if isinstance(message, str) else message
        await self._send_frame(_client_frame(_TEXT, payload))

    async def ping(self, payload: bytes | None = None) -> None:
        """Send a ping and wait for its pong.

        Raises:
            ConnectionClosed: the connection ended before the pong.
        """
        payload = os.urandom(8) if payload is None else payload
        waiter = self._pongs[payload] = trio.Event()
        await self._send_frame(_client_frame(_PING, payload))
        await waiter.wait()
        if self._closed is not None:
            raise self._closed

    async def _send_frame(self, frame: bytes, *, closing: bool = False) -> None:
        if self._closed is not None and not closing:
            raise self._closed
        try:
            async with self._send_lock:
                await self.stream.send_all(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise self._end(_ABNORMAL, f"stream broken: {exc!r}") from exc
