"""The benchmark's stamps at the simulator's sockets (``sim._wire_stamps``).

The RPC server's ``on_request`` gets the kernel's receive stamp of a request (when its
bytes reached the node's socket) beside the stamp of the read that brought them; the WS
server's ``on_notification`` stamp is taken in the same task step as the write. With or
without the hooks, every request and reply is the same, byte for byte.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import h11
import pytest
import trio
from trio_websocket import open_websocket_url

from tests.sim.conftest import ws_notification, ws_request
from trio_trader.sim import SimNode, rpc_server
from trio_trader.sim._wire_stamps import SO_TIMESTAMPNS, arrival_of

Stamp = tuple[float, bytes, float]  # (arrival, body, read_at), as on_request gets them


class _Client:
    """A raw keep-alive HTTP/1.1 connection (h11 frames it): the test writes with the
    plain synchronous socket call, so nothing yields to the server between the write and
    what the test does next."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.raw = socket.create_connection((host, int(port)))
        self.sock = trio.socket.from_stdlib_socket(self.raw)  # non-blocking from here
        self.http = h11.Connection(h11.CLIENT)

    def frame(self, body: bytes, target: bytes = b"/", method: bytes = b"POST") -> bytes:
        headers = [(b"host", b"127.0.0.1")]
        if method == b"POST":
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body))]  # fmt: skip
        data = self.http.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            data = (data or b"") + (self.http.send(h11.Data(data=body)) or b"")
        return (data or b"") + (self.http.send(h11.EndOfMessage()) or b"")

    def write(self, data: bytes) -> None:
        self.raw.sendall(data)  # small: the loopback takes it whole, at once

    async def reply(self) -> bytes:
        """The next reply's bytes, whole (head and body), as the server wrote them."""
        raw = b""
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                data = await self.sock.recv(65536)
                raw += data
                self.http.receive_data(data)
            elif isinstance(event, h11.EndOfMessage):
                self.http.start_next_cycle()
                return raw
            else:
                assert not isinstance(event, h11.ConnectionClosed)

    async def call(self, body: bytes, target: bytes = b"/", method: bytes = b"POST") -> bytes:
        self.write(self.frame(body, target, method))
        return await self.reply()

    def close(self) -> None:
        self.sock.close()


def _version(rid: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": "getVersion"}).encode()


def _record(sim: SimNode) -> list[Stamp]:
    stamps: list[Stamp] = []
    sim.rpc_server.on_request = lambda at, body, read_at: stamps.append((at, body, read_at))
    return stamps


# -- the arrival stamp ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def kernel_stamps_on() -> Iterator[None]:
    """Receive stamping switched on in the kernel before a test measures it.

    Linux stamps arriving packets only while some socket asks for stamps, and it turns
    that on in deferred work (``net_enable_timestamp``): a request that comes right after
    the first socket asked can arrive unstamped, and the bench then falls back to the read's
    time (a longer figure, never a shorter one). A test that checks the stamp itself holds
    a stamped socket open and waits until a datagram comes back stamped.
    """
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        probe.bind(("127.0.0.1", 0))
        probe.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        deadline = time.monotonic() + 5
        while True:
            sender.sendto(b"x", probe.getsockname())
            _, ancillary, _, _ = probe.recvmsg(16, socket.CMSG_SPACE(16))
            if any(kind == SO_TIMESTAMPNS for _, kind, _ in ancillary):
                break
            assert time.monotonic() < deadline, "the kernel never stamped a datagram"
            time.sleep(0.01)
        yield  # the probe stays open: stamping stays on


def test_arrival_is_the_kernels_stamp_moved_to_the_perf_counter_clock() -> None:
    ancillary = [(socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@qq", 1_000, 250_000_000))]
    now_ns = 1_000 * 10**9 + 300_000_000  # 50 ms after the kernel's stamp
    assert arrival_of(ancillary, 7.0, now_ns) == pytest.approx(6.95, abs=1e-9)


def test_arrival_without_a_kernel_stamp_is_the_reads_own_time() -> None:
    assert arrival_of([], 7.0, 10**18) == 7.0
    other = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("@i", 3))]
    assert arrival_of(other, 7.0, 10**18) == 7.0


def test_an_arrival_stamp_from_the_future_is_never_after_the_read() -> None:
    """CLOCK_REALTIME stepped back between the arrival and the read: not later than it."""
    ancillary = [(socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@qq", 2_000, 0))]
    assert arrival_of(ancillary, 7.0, 1_999 * 10**9) == 7.0


async def test_a_request_held_in_the_socket_is_stamped_when_it_arrived(sim: SimNode) -> None:
    """The server's loop is held busy 50 ms after the request is written (the
    simulator landing a transaction, say): the read is that late, the arrival is not."""
    stamps = _record(sim)
    client = _Client(sim.rpc_url)
    try:
        with trio.fail_after(10):
            await client.call(_version(1))  # the connection's first read: stamping turns on
            await trio.testing.wait_all_tasks_blocked()  # the server waits in its read
            client.write(client.frame(_version(2)))
            written = time.perf_counter()
            time.sleep(0.05)  # the whole loop blocked: the server cannot read yet
            await client.reply()
    finally:
        client.close()
    assert [body for _, body, _ in stamps] == [_version(1), _version(2)]
    for arrival, _, read_at in stamps:
        assert arrival <= read_at
    arrival, _, read_at = stamps[1]
    assert read_at - arrival >= 0.04  # the kernel's stamp, not the read's
    assert read_at >= written + 0.05
    assert arrival <= written + 0.001  # stamped within the write (loopback: netif_rx)


async def test_a_request_read_in_two_pieces_is_stamped_by_its_last_bytes(sim: SimNode) -> None:
    stamps = _record(sim)
    client = _Client(sim.rpc_url)
    try:
        with trio.fail_after(10):
            await client.call(_version(1))
            data = client.frame(_version(2))
            client.write(data[:-10])
            await trio.sleep(0.05)  # the server reads the head and waits for the rest
            before_tail = time.perf_counter()
            client.write(data[-10:])
            reply = await client.reply()
    finally:
        client.close()
    assert b'"id": 2' in reply
    arrival, body, read_at = stamps[1]
    assert body == _version(2)
    # the tail's arrival (the stamp converted to perf_counter may be early by up to
    # _PAIR_GAP), not the head's, written 50 ms before
    assert before_tail - 1e-3 <= arrival <= read_at


async def test_requests_and_replies_are_byte_identical_with_the_hook_on(sim: SimNode) -> None:
    """The same exchanges, plain and stamped: the same reply bytes; the hook sees every
    body as it was sent."""
    bodies = [
        _version(1),
        b"{not json",
        json.dumps([{"jsonrpc": "2.0", "id": 3, "method": "getVersion"},
                    {"jsonrpc": "2.0", "id": 4, "method": "noSuchMethod"}]).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 5, "method": "getGenesisHash"}).encode(),
    ]  # fmt: skip

    async def exchange() -> list[bytes]:
        client = _Client(sim.rpc_url)
        try:
            with trio.fail_after(10):
                replies = [await client.call(body) for body in bodies]
                replies.append(await client.call(b"", b"/health", b"GET"))
        finally:
            client.close()
        return [_without_date(reply) for reply in replies]

    plain = await exchange()
    stamps = _record(sim)
    stamped = await exchange()
    assert stamped == plain
    assert b'"code": -32700' in plain[1]
    assert b'"code": -32601' in plain[2]
    assert [body for _, body, _ in stamps] == [*bodies, b""]


def _without_date(reply: bytes) -> bytes:
    """h11 adds no Date header, but guard the comparison against one all the same."""
    return b"\r\n".join(line for line in reply.split(b"\r\n") if not line.startswith(b"date:"))


async def test_without_the_hook_the_server_reads_as_ever(
    sim: SimNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hook: the plain ``receive_some``, no timestamping asked of the kernel. With
    it: every read of the connection through the stamped path."""
    calls: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            calls.append(name)
            return real(*args)

        return call

    monkeypatch.setattr(
        rpc_server, "enable_arrival_stamps", counted("enable", rpc_server.enable_arrival_stamps)
    )
    monkeypatch.setattr(
        rpc_server, "receive_stamped", counted("receive", rpc_server.receive_stamped)
    )
    client = _Client(sim.rpc_url)
    idle = trio.testing.wait_all_tasks_blocked  # the server is waiting in its next read
    try:
        with trio.fail_after(10):
            assert b'"id": 1' in await client.call(_version(1))
            await idle()
            sim.rpc_server.on_request = lambda *_: None
            assert b'"id": 2' in await client.call(_version(2))  # the read under way: plain
            await idle()
            assert calls == ["enable", "receive"]  # the next read: stamped
            assert b'"id": 3' in await client.call(_version(3))
            await idle()
            sim.rpc_server.on_request = None
            assert b'"id": 4' in await client.call(_version(4))  # the read under way: stamped
            await idle()
            assert b'"id": 5' in await client.call(_version(5))
            await idle()
    finally:
        client.close()
    assert calls == ["enable", "receive", "receive"]  # reads of requests 3 and 4


# -- the notification stamp -----------------------------------------------------------


class _Steps(trio.abc.Instrument):
    """Counts the run loop's task steps: two events in one step have nothing between."""

    def __init__(self) -> None:
        self.step = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.step += 1


class _RecordingStream:
    """The server connection's stream, noting the step in which each write starts."""

    def __init__(self, inner: Any, steps: _Steps, writes: list[tuple[int, bytes]]) -> None:
        self._inner, self._steps, self._writes = inner, steps, writes

    async def send_all(self, data: bytes) -> None:
        self._writes.append((self._steps.step, bytes(data)))
        await self._inner.send_all(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_notification_is_stamped_in_the_step_that_writes_it(
    autojump_clock: trio.testing.MockClock, sim: SimNode
) -> None:
    """Nothing can run between the stamp and the write (taking trio-websocket's write
    lock is a checkpoint: a stamp before it lets the node's other tasks run first), and
    the bytes written are the plain ``send_message``'s."""
    steps = _Steps()
    stamped: list[tuple[int, float, dict[str, Any]]] = []
    writes: list[tuple[int, bytes]] = []
    trio.lowlevel.add_instrument(steps)
    try:
        with trio.fail_after(60):
            async with open_websocket_url(sim.ws_url) as ws:
                await ws_request(ws, "slotSubscribe", [])
                plain = await ws_notification(ws, "slotNotification")
                (connection,) = sim.ws_server.connections
                connection.ws._stream = _RecordingStream(connection.ws._stream, steps, writes)
                sim.ws_server.on_notification = lambda at, message: stamped.append(
                    (steps.step, at, message)
                )
                got: list[dict[str, Any]] = []  # until the third stamped one is in
                while len(stamped) < 3 or stamped[2][2] not in got:
                    got.append(await ws_notification(ws, "slotNotification"))
                sim.ws_server.on_notification = None
    finally:
        trio.lowlevel.remove_instrument(steps)
    assert plain["method"] == "slotNotification"
    assert [message for _, _, message in stamped[:3]] == got[-3:]  # as the client got them
    for step, _, message in stamped[:3]:
        frames = [data for write_step, data in writes if write_step == step]
        assert len(frames) == 1  # the write started in the stamp's own step
        assert frames[0].endswith(json.dumps(message).encode())  # unmasked: the text itself
