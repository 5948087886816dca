"""The pubsub client's own WebSocket connection (`chain.websocket`) against raw-byte servers.

Each test's server is a plain Trio TCP handler that writes exactly the frames the test names
(fragmented, interleaved with pings, masked when they must not be, announced past the size
limit ...) and reads what the client sends with wsproto, another implementation of the protocol.
Real sockets on 127.0.0.1, every wait bounded by `trio.fail_after`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import attrs
import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from tests.chain.fakes import FakePubsubServer, logs_item
from trio_trader.chain import PubsubClient
from trio_trader.chain.websocket import ClientWebSocket, ConnectionClosed, HandshakeError, connect

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
Handler = Callable[[trio.SocketStream, "Peer"], Awaitable[None]]


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A server frame (unmasked unless `mask` is given: servers must not mask)."""
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask is not None else 0
    if size < 126:
        head = bytes((first, masked | size))
    elif size < 1 << 16:
        head = bytes((first, masked | 126)) + struct.pack("!H", size)
    else:
        head = bytes((first, masked | 127)) + struct.pack("!Q", size)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Peer:
    """The server's side of one connection, read by wsproto (an independent parser, which also
    insists that client frames are masked); what the server writes is raw `frame` bytes."""

    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self.events: list[Event] = []
        self.text = ""

    async def next_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the client's next message or control frame."""
        while True:
            while not self.events:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise EOFError
                self.ws.receive_data(data)
                self.events.extend(self.ws.events())
            event = self.events.pop(0)
            if isinstance(event, Ping):
                return 9, bytes(event.payload)
            if isinstance(event, Pong):
                return 10, bytes(event.payload)
            if isinstance(event, CloseConnection):
                return 8, struct.pack("!H", event.code) + (event.reason or "").encode()
            assert isinstance(event, TextMessage), event
            self.text += event.data
            if event.message_finished:
                text, self.text = self.text, ""
                return 1, text.encode()


async def _accept(stream: trio.SocketStream, extra_headers: list[tuple[bytes, bytes]]) -> Peer:
    ws = WSConnection(ConnectionType.SERVER)
    events: list[Event] = []
    while not events:
        ws.receive_data(await stream.receive_some(4096))
        events.extend(ws.events())
    request = events.pop(0)
    assert isinstance(request, Request), request
    assert request.extensions == []  # we offer none
    assert request.subprotocols == []
    await stream.send_all(ws.send(AcceptConnection(extra_headers=extra_headers)))
    peer = Peer(stream, ws)
    peer.events = events
    return peer


@attrs.define
class Served:
    port: int
    done: trio.Event  # the handler of the (first) connection returned


async def serve(
    nursery: trio.Nursery, handler: Handler, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> Served:
    """Serve `handler` after an accepted upgrade."""
    done = trio.Event()

    async def on_connection(stream: trio.SocketStream) -> None:
        try:
            async with stream:
                peer = await _accept(stream, extra_headers or [])
                with _quiet():
                    await handler(stream, peer)
        finally:
            done.set()

    listeners = await nursery.start(partial(trio.serve_tcp, on_connection, 0, host="127.0.0.1"))
    return Served(listeners[0].socket.getsockname()[1], done)


class _quiet:
    """The client may hang up first: a server handler's broken stream is not a failure."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        return kind in (EOFError, trio.BrokenResourceError, trio.ClosedResourceError)


@asynccontextmanager
async def client_for(port: int, max_message_size: int = 1 << 20) -> AsyncIterator[ClientWebSocket]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield await connect(stream, f"127.0.0.1:{port}", "/", max_message_size=max_message_size)


async def all_messages(ws: ClientWebSocket) -> tuple[list[bytes], ConnectionClosed]:
    """Every message until the connection ends, and how it ended."""
    got: list[bytes] = []
    while True:
        try:
            got += await ws.receive_messages()
        except ConnectionClosed as closed:
            return got, closed


async def test_fragments_are_joined_and_pings_between_them_answered(
    nursery: trio.Nursery,
) -> None:
    answers: list[tuple[int, bytes]] = []

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        await stream.send_all(
            frame(1, b'{"a":', fin=False)
            + frame(9, b"ping-1")  # a control frame between two fragments
            + frame(0, b"1", fin=False)
            + frame(0, b"}")
            + frame(2, b"binary")
            + frame(1, b"x" * 70_000)  # a 64-bit length
        )
        answers.append(await peer.next_frame())
        await stream.send_all(frame(8, struct.pack("!H", 1000) + b"bye"))
        answers.append(await peer.next_frame())

    served = await serve(nursery, handler)
    with trio.fail_after(10):
        async with client_for(served.port) as ws:
            messages, closed = await all_messages(ws)
        await served.done.wait()
    assert messages == [b'{"a":1}', b"binary", b"x" * 70_000]
    assert answers == [(10, b"ping-1"), (8, struct.pack("!H", 1000))]  # pong; close echoed
    assert (closed.code, closed.reason) == (1000, "bye")
    assert ws.closed is closed


async def test_a_stream_cut_at_every_byte_gives_the_same_messages(nursery: trio.Nursery) -> None:
    wire = frame(1, b"first") + frame(1, b"y" * 300, fin=False) + frame(0, b"z" * 70_000)
    wire += frame(1, b"")

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        for i in range(0, len(wire), 7):  # 7-byte writes: every header is cut somewhere
            await stream.send_all(wire[i : i + 7])
            if i < 400 or i % 7000 == 0:
                await trio.sleep(0)
        await stream.send_all(frame(8, b""))  # a close without a status code
        await peer.next_frame()

    served = await serve(nursery, handler)
    with trio.fail_after(20):
        async with client_for(served.port) as ws:
            messages, closed = await all_messages(ws)
    assert messages == [b"first", b"y" * 300 + b"z" * 70_000, b""]
    assert closed.code == 1005


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (frame(1, b"{}", mask=b"abcd"), "masked"),
        (bytes((0xC1, 2)) + b"{}", "RSV"),
        (frame(3, b"{}"), "opcode 3"),
        (frame(0, b"{}"), "continuation"),
        (frame(1, b"{", fin=False) + frame(1, b"}"), "new message inside"),
        (frame(9, b"p", fin=False), "control frame"),
        (frame(9, b"p" * 126), "control frame"),
    ],
)
async def test_a_protocol_error_fails_the_connection_with_1002(
    nursery: trio.Nursery, wire: bytes, why: str
) -> None:
    sent_back: list[tuple[int, bytes]] = []

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        await stream.send_all(frame(1, b"before") + wire)
        sent_back.append(await peer.next_frame())

    served = await serve(nursery, handler)
    with trio.fail_after(10):
        async with client_for(served.port) as ws:
            messages, closed = await all_messages(ws)
            with pytest.raises(ConnectionClosed):
                await ws.send("late")
        await served.done.wait()
    assert messages == [b"before"]  # what came before the bad frame is delivered
    assert closed.code == 1002
    assert why in closed.reason
    assert sent_back == [(8, struct.pack("!H", 1002))]


async def test_a_message_announced_past_the_limit_fails_before_its_payload_comes(
    nursery: trio.Nursery,
) -> None:
    sent_back: list[tuple[int, bytes]] = []

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        # fragments of 600 + 600 bytes against a 1,000-byte limit; the second one's header only
        await stream.send_all(frame(1, b"a" * 600, fin=False) + frame(0, b"b" * 600)[:4])
        sent_back.append(await peer.next_frame())

    served = await serve(nursery, handler)
    with trio.fail_after(10):
        async with client_for(served.port, max_message_size=1000) as ws:
            messages, closed = await all_messages(ws)
        await served.done.wait()
    assert messages == []
    assert closed.code == 1009
    assert sent_back == [(8, struct.pack("!H", 1009))]


async def test_ping_waits_for_its_own_pong_and_fails_when_the_connection_ends(
    nursery: trio.Nursery,
) -> None:
    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        opcode, payload = await peer.next_frame()
        assert opcode == 9
        await stream.send_all(frame(10, b"not yours") + frame(10, payload))
        opcode, _ = await peer.next_frame()  # a second ping: never answered, the socket ends
        assert opcode == 9

    served = await serve(nursery, handler)
    with trio.fail_after(10):
        async with client_for(served.port) as ws, trio.open_nursery() as inner:
            inner.start_soon(all_messages, ws)
            await ws.ping()
            with pytest.raises(ConnectionClosed) as info:
                await ws.ping()
    assert info.value.code == 1006


async def test_text_sent_is_masked_and_arrives_whole(nursery: trio.Nursery) -> None:
    received: list[tuple[int, bytes]] = []
    big = json.dumps({"k": "v" * 70_000})

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        received.append(await peer.next_frame())
        received.append(await peer.next_frame())

    served = await serve(nursery, handler)
    with trio.fail_after(10):
        async with client_for(served.port) as ws:
            await ws.send("hello")
            await ws.send(big.encode())
            await all_messages(ws)
    assert received == [(1, b"hello"), (1, big.encode())]


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "HTTP 503"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            "Sec-WebSocket-Accept",
        ),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "upgrade to websocket"),
        (b"not http at all\r\n\r\n", "handshake"),
        (b"", "closed the connection"),
    ],
)
async def test_a_bad_upgrade_reply_is_a_handshake_error(
    nursery: trio.Nursery, reply: bytes, why: str
) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            await stream.receive_some(4096)
            await stream.send_all(reply)

    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    with trio.fail_after(10), pytest.raises(HandshakeError, match=why):
        async with client_for(port):
            pass  # pragma: no cover - the handshake fails


async def test_an_extension_we_did_not_offer_is_refused(nursery: trio.Nursery) -> None:
    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        await trio.sleep_forever()

    extension = [(b"Sec-WebSocket-Extensions", b"permessage-deflate")]
    served = await serve(nursery, handler, extension)
    with trio.fail_after(10), pytest.raises(HandshakeError, match="extensions"):
        async with client_for(served.port):
            pass  # pragma: no cover - the handshake fails


async def test_frames_sent_with_the_upgrade_reply_are_not_lost(nursery: trio.Nursery) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            request = b""
            while b"\r\n\r\n" not in request:
                request += await stream.receive_some(4096)
            key = request.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0]
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            await stream.send_all(  # the reply and the first frames in one write
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                + frame(1, b"early") + frame(8, struct.pack("!H", 1001))
            )  # fmt: skip
            await stream.receive_some(4096)

    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    with trio.fail_after(10):
        async with client_for(listeners[0].socket.getsockname()[1]) as ws:
            messages, closed = await all_messages(ws)
    assert messages == [b"early"]
    assert closed.code == 1001


async def test_pubsub_skips_a_text_message_that_is_not_utf8_and_keeps_reading(
    nursery: trio.Nursery,
) -> None:
    """RFC 6455 would fail the connection; a skipped, counted message costs less (docstring)."""

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        _, hello = await peer.next_frame()
        request = json.loads(hello)
        await stream.send_all(frame(1, json.dumps({"id": request["id"], "result": 7}).encode()))
        note = {"method": "slotNotification", "params": {"subscription": 7, "result": 1}}
        await stream.send_all(frame(1, b"\xff\xfe not UTF-8") + frame(1, json.dumps(note).encode()))
        await trio.sleep_forever()

    served = await serve(nursery, handler)
    client = PubsubClient(f"ws://127.0.0.1:{served.port}/", backoff_base=0.01, seed=1)
    await nursery.start(client.run)
    with trio.fail_after(10):
        async with client.slot_subscribe() as sub:
            assert await sub.__anext__() == 1
    assert client.stats.malformed == 1
    assert client.stats.reconnects == 0


async def test_a_burst_reaches_the_consumer_whole_and_in_order(nursery: trio.Nursery) -> None:
    """Hundreds of notifications, many per socket read, dispatched in batches: none lost."""
    server = FakePubsubServer()
    await server.start(nursery)
    client = PubsubClient(server.url, backoff_base=0.01, seed=1, queue_size=1000)
    await nursery.start(client.run)
    with trio.fail_after(10):
        async with client.logs_subscribe(None) as sub:
            (sid,) = server.live("logsSubscribe")
            for n in range(300):
                await server.notify(sid, logs_item(n, f"sig{n}", []))
            got = [(await sub.__anext__())["context"]["slot"] for _ in range(300)]
            with pytest.raises(trio.WouldBlock):
                sub.receive_nowait()
    assert got == list(range(300))
    assert client.stats.dropped == 0


@attrs.define
class _AskedSizes(trio.abc.Stream):
    """A stream that records how much each read asked for (``ClientWebSocket.read_size``)."""

    inner: trio.abc.Stream
    asked: list[int] = attrs.field(factory=list)

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        assert max_bytes is not None
        self.asked.append(max_bytes)
        return await self.inner.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_reads_ask_more_only_after_a_read_that_filled_its_buffer() -> None:
    # A lone notification keeps the cheap 64 KiB read (a 256 KiB recv buffer comes from mmap:
    # ~20 µs a read); a read that came back full means a burst is waiting, so the next asks
    # 256 KiB, and the read after a short one is small again.
    client_end, server_end = trio.testing.memory_stream_pair()
    stream = _AskedSizes(client_end)
    ws = ClientWebSocket(stream, max_message_size=1 << 20)
    lone, burst = frame(1, b"x" * 3000), [frame(1, b"%d" % i * 1000) for i in range(100)]
    with trio.fail_after(5):
        await server_end.send_all(lone)
        assert await ws.receive_messages() == [b"x" * 3000]
        await server_end.send_all(b"".join(burst))  # ~290 KB before the client reads
        received: list[bytes] = []
        while len(received) < len(burst):
            received += await ws.receive_messages()
        await server_end.send_all(lone)
        assert await ws.receive_messages() == [b"x" * 3000]
        await server_end.send_all(lone)
        assert await ws.receive_messages() == [b"x" * 3000]
    assert received == [b"%d" % i * 1000 for i in range(100)]
    small, big = 64 * 1024, 256 * 1024
    assert stream.asked[0] == small  # the lone notification
    assert stream.asked[1] == small  # the burst's first read comes back full ...
    assert stream.asked[2] == big  # ... so the next asks more
    assert stream.asked[-1] == small  # a short read brought the small one back
    assert set(stream.asked) == {small, big}


def test_a_reads_bytes_are_parsed_in_place_and_a_cut_frame_waits_in_the_buffer() -> None:
    """A read that finds nothing pending is parsed as it came (no copy into the buffer):
    its whole messages come out as bytes, the cut frame after them waits for the next read."""
    ws = ClientWebSocket(None, max_message_size=10_000)  # type: ignore[arg-type]
    whole = frame(1, b"a" * 200) + frame(2, b"b")
    cut = frame(1, b"c" * 300)
    for at in range(len(cut)):
        ws._buffer = whole + cut[:at]  # as `receive_messages` keeps a read's bytes
        messages: list[bytes] = []
        ws._parse(messages, [])
        assert messages == [b"a" * 200, b"b"]
        assert all(type(m) is bytes for m in messages)
        assert ws._buffer == cut[:at]
        assert isinstance(ws._buffer, bytearray)
        ws._buffer += cut[at:]
        rest: list[bytes] = []
        ws._parse(rest, [])
        assert rest == [b"c" * 300]
        assert ws._buffer == b""


def test_a_whole_message_past_the_limit_fails_the_parse_with_1009() -> None:
    ws = ClientWebSocket(None, max_message_size=100)  # type: ignore[arg-type]
    ws._buffer = frame(1, b"ok") + frame(1, b"x" * 101) + frame(1, b"never")
    messages: list[bytes] = []
    ws._parse(messages, [])
    assert messages == [b"ok"]
    assert ws._failing is not None
    assert ws._failing.code == 1009
