"""PubsubClient against a real WebSocket server speaking Solana's pubsub protocol.

These tests use real sockets on 127.0.0.1, so they run on the real clock (MockClock's autojump
would fire timeouts while bytes are in flight); back-offs are set to milliseconds and every
test is bounded by `trio.fail_after`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.chain.fakes import FakePubsubServer, logs_item
from trio_trader.chain import PubsubClient, RpcError
from trio_trader.chain.pubsub import run_all_urgent

PROGRAM = Pubkey.new_unique()


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakePubsubServer:
    fake = FakePubsubServer()
    await fake.start(nursery)
    return fake


def make_client(url: str, **kwargs: Any) -> PubsubClient:
    return PubsubClient(url, backoff_base=0.01, backoff_max=0.05, seed=7, **kwargs)


async def started(nursery: trio.Nursery, client: PubsubClient) -> PubsubClient:
    await nursery.start(client.run)
    return client


async def test_logs_subscribe_wire_format_and_delivery(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = await started(nursery, make_client(server.url))
    with trio.fail_after(10):
        async with client.logs_subscribe(PROGRAM) as sub:
            request = server.received[0]
            assert request["jsonrpc"] == "2.0"
            assert request["method"] == "logsSubscribe"
            assert request["params"] == [{"mentions": [str(PROGRAM)]}, {"commitment": "processed"}]
            (sid,) = server.live("logsSubscribe")
            assert sub.server_id == sid
            await server.notify(sid, logs_item(10, "sig1", ["Program log: a"]))
            await server.notify(sid, logs_item(11, "sig2", ["Program log: b"]))
            first = await sub.__anext__()
            second = await sub.__anext__()
    assert first == logs_item(10, "sig1", ["Program log: a"])
    assert second["value"]["signature"] == "sig2"
    assert client.stats.messages_sent >= 1
    assert client.stats.messages_received >= 3


async def test_leaving_the_context_unsubscribes(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = await started(nursery, make_client(server.url))
    with trio.fail_after(10):
        async with client.logs_subscribe(None, "confirmed"):
            (sid,) = server.live("logsSubscribe")
        await server.wait_until(lambda: not server.live("logsSubscribe"))
    unsubscribe = server.received[-1]
    assert unsubscribe["method"] == "logsUnsubscribe"
    assert unsubscribe["params"] == [sid]
    assert server.received[0]["params"] == ["all", {"commitment": "confirmed"}]


async def test_reconnect_resubscribes_and_consumer_sees_no_gap_error(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = await started(nursery, make_client(server.url))
    received: list[str] = []
    with trio.fail_after(10):
        async with client.logs_subscribe(PROGRAM) as sub, client.slot_subscribe() as slots:
            (old,) = server.live("logsSubscribe")
            await server.notify(old, logs_item(1, "before", []))
            received.append((await sub.__anext__())["value"]["signature"])

            await server.drop_all()  # the node goes away mid-stream
            await server.wait_until(
                lambda: len(server.connections) == 2 and len(server.subscriptions) == 2
            )
            (new,) = server.live("logsSubscribe")
            assert new != old
            await server.notify(new, logs_item(2, "after", []))
            received.append((await sub.__anext__())["value"]["signature"])
            (slot_sid,) = server.live("slotSubscribe")
            await server.notify(slot_sid, {"parent": 4, "root": 0, "slot": 5})
            assert (await slots.__anext__())["slot"] == 5
            assert sub.server_id == new
    assert received == ["before", "after"]
    assert client.stats.reconnects == 1
    # the same subscription, sent again with the same params on the new socket
    subscribes = [m for m in server.received if m["method"] == "logsSubscribe"]
    assert len(subscribes) == 2
    assert subscribes[0]["params"] == subscribes[1]["params"]


async def test_requests_before_the_socket_is_up_wait_for_it(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = make_client(server.url)
    items: list[Any] = []

    async def consume() -> None:
        async with client.logs_subscribe(PROGRAM) as sub:
            items.append(await sub.__anext__())

    with trio.fail_after(10):
        async with trio.open_nursery() as inner:
            inner.start_soon(consume)
            await trio.sleep(0.05)
            assert not server.received
            await nursery.start(client.run)
            await server.wait_until(lambda: bool(server.live("logsSubscribe")))
            await server.notify(server.live("logsSubscribe")[0], logs_item(3, "s", []))
    assert items == [logs_item(3, "s", [])]


async def test_malformed_messages_are_skipped(
    server: FakePubsubServer, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    client = await started(nursery, make_client(server.url))
    with trio.fail_after(10):
        async with client.logs_subscribe(PROGRAM) as sub:
            (sid,) = server.live("logsSubscribe")
            ws = server.connections[0]
            await server.send_raw(ws, "{not json")
            await server.send_raw(ws, json.dumps({"jsonrpc": "2.0", "method": "logsNotification"}))
            await server.send_raw(ws, json.dumps([1, 2]))
            await server.send_raw(ws, json.dumps({"jsonrpc": "2.0", "id": 999, "result": 1}))
            await server.notify(sid, logs_item(4, "good", []))
            item = await sub.__anext__()
    assert item["value"]["signature"] == "good"
    assert client.stats.malformed == 4
    assert client.stats.reconnects == 0
    assert "skipping malformed message" in caplog.text


async def test_signature_subscribe_yields_once_then_ends(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = await started(nursery, make_client(server.url))
    sig = Signature.new_unique()
    with trio.fail_after(10):
        async with client.signature_subscribe(sig) as sub:
            (sid,) = server.live("signatureSubscribe")
            await server.notify(sid, {"context": {"slot": 9}, "value": {"err": None}})
            items = [item async for item in sub]
        await trio.sleep(0.05)
    assert items == [{"context": {"slot": 9}, "value": {"err": None}}]
    assert server.received[0]["params"] == [str(sig), {"commitment": "confirmed"}]
    # the server already cancelled it: no signatureUnsubscribe is sent
    assert [m["method"] for m in server.received] == ["signatureSubscribe"]


async def test_rejected_subscription_raises_rpc_error(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    server.reject.add("blockSubscribe")
    client = await started(nursery, make_client(server.url))
    with trio.fail_after(10), pytest.raises(RpcError, match="Invalid params"):
        async with client.block_subscribe(PROGRAM):
            pass
    params = server.received[0]["params"]
    assert params[0] == {"mentionsAccountOrProgram": str(PROGRAM)}
    assert params[1]["maxSupportedTransactionVersion"] == 0


async def test_slow_consumer_drops_oldest(server: FakePubsubServer, nursery: trio.Nursery) -> None:
    client = await started(nursery, make_client(server.url, queue_size=2))
    with trio.fail_after(10):
        async with client.account_subscribe(PROGRAM) as sub:
            (sid,) = server.live("accountSubscribe")
            for n in range(5):
                await server.notify(sid, {"context": {"slot": n}, "value": None})
            while client.stats.messages_received < 6:
                await trio.sleep(0.01)
            got = [(await sub.__anext__())["context"]["slot"] for _ in range(2)]
    assert got == [3, 4]
    assert client.stats.dropped == 3
    assert server.received[0]["params"] == [
        str(PROGRAM),
        {"commitment": "processed", "encoding": "base64"},
    ]


async def _silent_websocket_server(stream: trio.SocketStream) -> None:
    """Completes the WebSocket handshake, then never answers anything (not even pings)."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += await stream.receive_some(4096)
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    await stream.send_all(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    async with stream:
        while await stream.receive_some(4096):
            pass


async def test_heartbeat_without_pong_reconnects(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    (listener,) = await nursery.start(
        partial(trio.serve_tcp, _silent_websocket_server, 0, host="127.0.0.1")
    )
    port = listener.socket.getsockname()[1]
    client = PubsubClient(
        f"ws://127.0.0.1:{port}/", heartbeat_interval=0.1, backoff_base=0.01, backoff_max=0.02
    )
    with trio.fail_after(10):
        await nursery.start(client.run)
        while client.stats.reconnects < 2:
            await trio.sleep(0.05)
    assert "no pong" in caplog.text


async def test_server_down_at_start_is_retried(nursery: trio.Nursery) -> None:
    # Reserve a port, close it: nothing listens there until the server starts below.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    for listener in listeners:
        await listener.aclose()
    client = make_client(f"ws://127.0.0.1:{port}/")
    await nursery.start(client.run)
    await trio.sleep(0.1)
    assert not client.connected
    fake = FakePubsubServer()
    with trio.fail_after(10):
        await nursery.start(_serve_on, fake, port)
        async with client.slot_subscribe():
            assert client.connected
    assert client.stats.reconnects == 0  # the first successful connection is not a reconnect


async def _serve_on(fake: FakePubsubServer, port: int, *, task_status: Any) -> None:
    fake.port = port
    await trio_websocket.serve_websocket(
        fake.handler, "127.0.0.1", port, ssl_context=None, task_status=task_status
    )


async def test_rejected_handshake_is_retried(
    server: FakePubsubServer, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    server.reject_handshakes = 2
    client = await started(nursery, make_client(server.url))
    with trio.fail_after(10):
        async with client.slot_subscribe():
            assert client.connected
    assert server.rejected == 2
    assert client.stats.connections == 1
    assert "handshake failed" in caplog.text


async def test_consumer_leaving_before_the_ack_still_unsubscribes(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    server.reply_delay = 0.2
    client = await started(nursery, make_client(server.url))
    with trio.move_on_after(0.05) as scope:
        async with client.logs_subscribe(PROGRAM):
            pass  # pragma: no cover - never entered: the ack comes too late
    assert scope.cancelled_caught
    with trio.fail_after(10):
        await server.wait_until(
            lambda: bool(server.received) and server.received[-1]["method"] == "logsUnsubscribe"
        )
    assert not server.subscriptions
    (subscribe, unsubscribe) = server.received
    assert subscribe["method"] == "logsSubscribe"
    assert unsubscribe["params"] == [100]  # the id the server gave after the consumer left


async def test_cancelling_client_and_subscribers_together_is_clean(
    server: FakePubsubServer,
) -> None:
    """Shutdown cancels the client's own tasks and every subscriber at once: leaving a
    subscription then must not fail because the writer task is already gone."""
    received: list[Any] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            client = await started(nursery, make_client(server.url))

            async def consume() -> None:
                async with client.logs_subscribe(PROGRAM) as sub:
                    async for item in sub:
                        received.append(item)

            nursery.start_soon(consume)
            await server.wait_until(lambda: bool(server.live("logsSubscribe")))
            (sid,) = server.live("logsSubscribe")
            await server.notify(sid, logs_item(5, "sig", ["Program log: x"]))
            while not received:
                await trio.sleep(0.001)
            nursery.cancel_scope.cancel()
    assert received[0]["value"]["signature"] == "sig"


async def test_an_inline_handler_gets_the_queued_items_first_then_each_in_the_reader(
    server: FakePubsubServer, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    """Items queued before `handle_inline` go first, in order; later ones are handed over
    by the reader itself (nothing queued); one the handler raises on is logged, counted
    and skipped; a one-shot subscription's handler returns after its item."""
    client = await started(nursery, make_client(server.url))
    seen: list[int] = []

    def handler(item: Any) -> None:
        if item["context"]["slot"] == 3:
            raise ZeroDivisionError("a consumer bug")
        seen.append(item["context"]["slot"])

    with trio.fail_after(10), caplog.at_level(logging.ERROR):
        async with client.logs_subscribe(PROGRAM) as sub, trio.open_nursery() as inner:
            (sid,) = server.live("logsSubscribe")
            for slot in (1, 2):
                await server.notify(sid, logs_item(slot, f"s{slot}", []))
            while client.stats.messages_received < 3:  # the ack and both notifications
                await trio.sleep(0.01)
            inner.start_soon(sub.handle_inline, handler)
            for slot in (3, 4, 5):
                await server.notify(sid, logs_item(slot, f"s{slot}", []))
            while len(seen) < 4:
                await trio.sleep(0.01)
            with pytest.raises(trio.WouldBlock):
                sub.receive_nowait()  # handed over, never queued
            with pytest.raises(RuntimeError):
                await sub.handle_inline(handler)  # one handler per subscription
            inner.cancel_scope.cancel()
    assert seen == [1, 2, 4, 5]
    assert client.stats.handler_errors == 1
    assert "a logsSubscribe handler failed" in caplog.text
    assert client.stats.reconnects == 0

    sig = Signature.default()
    with trio.fail_after(10):
        async with client.signature_subscribe(sig) as once:
            (sid,) = server.live("signatureSubscribe")
            got: list[Any] = []
            async with trio.open_nursery() as inner:
                inner.start_soon(once.handle_inline, got.append)
                await trio.testing.wait_all_tasks_blocked()
                await server.notify(sid, {"context": {"slot": 9}, "value": {"err": None}})
            # the handler's task returned by itself: the one-shot subscription delivered
    assert got == [{"context": {"slot": 9}, "value": {"err": None}}]


async def test_urgent_work_a_handler_returns_is_awaited_before_the_next_message(
    server: FakePubsubServer, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler's urgent work (the listener's new token: its BUY up to the request) runs
    in the reader before any later message is handed over, even across its checkpoints;
    one that raises is logged and counted, and the reader goes on."""
    client = await started(nursery, make_client(server.url))
    steps: list[str] = []

    def handler(item: Any) -> Any:
        slot = item["context"]["slot"]
        steps.append(f"handled {slot}")

        async def urgent() -> None:
            steps.append(f"urgent {slot}")
            await trio.sleep(0.01)  # checkpoints: the reader still waits for it
            if slot == 2:
                raise ZeroDivisionError("an urgent bug")
            steps.append(f"urgent {slot} done")

        return urgent

    with trio.fail_after(10), caplog.at_level(logging.ERROR):
        async with client.logs_subscribe(PROGRAM) as sub, trio.open_nursery() as inner:
            (sid,) = server.live("logsSubscribe")
            inner.start_soon(sub.handle_inline, handler)
            await trio.testing.wait_all_tasks_blocked()
            for slot in (1, 2, 3):
                await server.notify(sid, logs_item(slot, f"s{slot}", []))
            while len(steps) < 8:
                await trio.sleep(0.01)
            inner.cancel_scope.cancel()
    assert steps == ["handled 1", "urgent 1", "urgent 1 done", "handled 2", "urgent 2",
                     "handled 3", "urgent 3", "urgent 3 done"]  # fmt: skip
    assert client.stats.handler_errors == 1
    assert "urgent work failed" in caplog.text


async def test_urgent_work_not_yet_run_when_the_reader_is_cancelled_still_starts() -> None:
    """Cancelled during the first of several urgent works (a reconnect), the reader still
    runs the others up to their first checkpoint: each must be able to hand its job on
    there (the trader starts the position task), none is silently dropped."""
    steps: list[str] = []

    def work(name: str, cancel: trio.CancelScope | None = None) -> Any:
        async def run() -> None:
            steps.append(f"{name} started")
            if cancel is not None:
                cancel.cancel()
            try:
                await trio.sleep(1)
                steps.append(f"{name} done")
            finally:
                steps.append(f"{name} handed on")

        return run

    with trio.CancelScope() as scope:
        await run_all_urgent([work("a", scope), work("b"), work("c")])
    assert scope.cancelled_caught
    assert steps == ["a started", "a handed on", "b started", "b handed on",
                     "c started", "c handed on"]  # fmt: skip
