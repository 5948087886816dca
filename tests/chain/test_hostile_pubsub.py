"""No WebSocket message can kill the bot: PubsubClient (and a listener) against a hostile server.

Real sockets on 127.0.0.1, real clock, every wait bounded by `trio.fail_after`. Log records are
captured at WARNING, so a log line that tried to `repr` a deep document fails the test.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio

from tests.chain.fakes import FakePubsubServer, logs_item
from tests.chain.hostile import nested, nested_objects, notification_text
from trio_trader.chain import PubsubClient
from trio_trader.chain.untrusted import MAX_DEPTH
from trio_trader.pump.addresses import PUMP_PROGRAM_ID

DEEP = 100_000


@pytest.fixture(autouse=True)
def warnings_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakePubsubServer:
    fake = FakePubsubServer()
    await fake.start(nursery)
    return fake


def make_client(url: str, **kwargs: Any) -> PubsubClient:
    return PubsubClient(url, backoff_base=0.01, backoff_max=0.05, seed=7, **kwargs)


def notification(sid: object, result: bytes) -> str:
    """A logsNotification whose `result` is the given JSON text."""
    return notification_text(sid, result)


async def test_poisonous_messages_are_skipped_and_counted(
    server: FakePubsubServer, nursery: trio.Nursery
) -> None:
    client = make_client(server.url)
    await nursery.start(client.run)
    poison: list[str | bytes] = [
        nested(DEEP).decode(),  # orjson: "depth limit exceeded", not RecursionError
        nested_objects(DEEP).decode(),
        "garbage }{",
        b"\xff\xfe\xfd not UTF-8",  # a binary frame
        b"\x00\x01",
        json.dumps([1, 2]),
        json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": "x"}),
        json.dumps({"jsonrpc": "2.0", "id": [1], "result": 5}),  # an id no dict can hold
        json.dumps({"jsonrpc": "2.0", "id": True, "result": 5}),  # `true` is not our id 1
        nested(MAX_DEPTH - 1).decode(),  # parses, deeper than repr can go
    ]
    with trio.fail_after(10):
        async with client.logs_subscribe(PUMP_PROGRAM_ID) as sub:
            (sid,) = server.live("logsSubscribe")
            ws = server.connections[0]
            for message in poison:
                await ws.send_message(message)
            # a notification for a bogus subscription id: skipped (the real one stays open)
            await server.send_raw(ws, notification([sid], b"1"))
            await server.send_raw(ws, notification(True, b"1"))
            await server.notify(sid, logs_item(4, "good", []))
            item = await sub.__anext__()
    assert item["value"]["signature"] == "good"
    assert client.stats.malformed == len(poison) + 2
    assert client.stats.reconnects == 0
    assert client.stats.oversize == 0


async def test_a_message_over_the_size_limit_reconnects_counted_and_logged(
    server: FakePubsubServer, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    """trio-websocket closes the connection (1009) past `max_message_size`: the client counts
    it, reconnects, subscribes again, and the next notification arrives."""
    client = make_client(server.url, max_message_size=4096)
    await nursery.start(client.run)
    with trio.fail_after(10):
        async with client.logs_subscribe(PUMP_PROGRAM_ID) as sub:
            (old,) = server.live("logsSubscribe")
            await server.notify(old, logs_item(1, "x" * 10_000, []))
            await server.wait_until(
                lambda: len(server.connections) == 2 and bool(server.live("logsSubscribe"))
            )
            (new,) = server.live("logsSubscribe")
            await server.notify(new, logs_item(2, "after", []))
            item = await sub.__anext__()
    assert item["value"]["signature"] == "after"
    assert client.stats.oversize == 1
    assert client.stats.reconnects == 1
    assert "passed 4096 bytes" in caplog.text
