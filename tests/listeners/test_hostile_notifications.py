"""Listeners never let one notification stop detection: hostile shapes are counted and skipped.

Log records are captured at WARNING, so a log line that tried to `repr` a deep item (which
raises RecursionError past ~1000 levels) fails the test.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
import trio

from tests.chain.fakes import FakePubsubServer
from tests.chain.hostile import nested, notification_text
from tests.listeners.test_listeners import Sink, _raw_tx, create_event, pump_logs, trade_event
from trio_trader.chain import PubsubClient
from trio_trader.chain.untrusted import MAX_DEPTH, loads
from trio_trader.listeners.block import BlockListener
from trio_trader.listeners.logs import LogsListener

DEEP = loads(nested(MAX_DEPTH - 5))  # the deepest a decoded notification can be, about


@pytest.fixture(autouse=True)
def warnings_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


def good_logs() -> dict[str, Any]:
    """A logs notification's `value` with a create and the creator's buy of 5 lamports."""
    return {"signature": "good", "err": None, "logs": pump_logs(create_event(), trade_event(5))}


LOGS_POISON: list[object] = [
    DEEP,
    "garbage",
    None,
    [],
    {"value": DEEP},
    {"value": {"signature": DEEP, "logs": [], "err": None}},
    {"value": {"signature": ["s"], "logs": [], "err": None}},
    {"value": {"signature": "s", "logs": DEEP, "err": None}},
    {"value": {"signature": "s", "logs": "a string", "err": None}},
    {"value": {"signature": "s", "logs": [1, None], "err": None}},
    {"value": {"signature": "s", "err": None}},
]


async def test_logs_listener_skips_hostile_items_and_decodes_the_next() -> None:
    sink = Sink()
    listener = LogsListener(pubsub=None)  # type: ignore[arg-type]
    for item in LOGS_POISON:
        listener.handle(item, sink.token, sink.price)
    # odd context slots are only labels: the token still counts, with no slot
    for context in ({"slot": DEEP}, {"slot": -1}, {"slot": True}, "x"):
        listener.handle({"context": context, "value": good_logs()}, sink.token, sink.price)
    listener.handle({"context": {"slot": 9}, "value": good_logs()}, sink.token, sink.price)
    assert listener.stats.malformed == len(LOGS_POISON)
    assert [t.slot for t in sink.tokens] == [None, None, None, None, 9]
    assert [p.sol_amount for p in sink.prices] == [5] * 5


def block_item(transactions: object, block: object = None) -> dict[str, Any]:
    body = {"transactions": transactions} if block is None else block
    return {"context": {"slot": 9}, "value": {"slot": 9, "block": body}}


async def test_block_listener_skips_hostile_blocks_and_transactions() -> None:
    sink = Sink()
    listener = BlockListener(pubsub=None)  # type: ignore[arg-type]
    raw, signature = _raw_tx()
    logs = pump_logs(create_event(), trade_event(5))
    bad_blocks: list[object] = [
        DEEP,
        {"value": DEEP},
        {"value": {"block": "a string"}},
        block_item("a string"),
        block_item(DEEP),
    ]
    bad_transactions: list[object] = [
        DEEP,
        {"meta": DEEP, "transaction": [raw, "base64"]},
        {"meta": {"err": None, "logMessages": DEEP}, "transaction": [raw, "base64"]},
        {"meta": {"err": None, "logMessages": logs}, "transaction": DEEP},
        {"meta": {"err": None, "logMessages": logs}, "transaction": ["!!notb64", "base64"]},
        {
            "meta": {"err": None, "logMessages": logs},
            "transaction": [base64.b64encode(b"\x05garbage").decode(), "base64"],
        },
        {"meta": {"err": None, "logMessages": logs}, "transaction": [5, "base64"]},
        {"meta": {"err": None, "logMessages": logs}, "transaction": {"signatures": []}},
        {"meta": {"err": None, "logMessages": logs}, "transaction": {"signatures": [DEEP]}},
    ]
    for item in bad_blocks:
        listener.handle(item, sink.token, sink.price)
    good = {"meta": {"err": None, "logMessages": logs}, "transaction": [raw, "base64"]}
    listener.handle(block_item([*bad_transactions, good]), sink.token, sink.price)
    assert listener.stats.malformed == len(bad_blocks) + len(bad_transactions)
    assert [t.signature for t in sink.tokens] == [signature]


async def test_logs_listener_over_a_hostile_socket_keeps_detecting(nursery: trio.Nursery) -> None:
    """Notifications in the right envelope but with poisonous `result`s, through the real
    client and socket: skipped, and the next good one is decoded."""
    server = FakePubsubServer()
    await server.start(nursery)
    client = PubsubClient(server.url, backoff_base=0.01, backoff_max=0.05, seed=7)
    await nursery.start(client.run)
    listener = LogsListener(client)
    sink = Sink()
    await nursery.start(listener.run, sink.token, sink.price)
    (sid,) = server.live("logsSubscribe")
    ws = server.connections[0]
    poison = [
        nested(MAX_DEPTH - 5),
        b'{"value":{"signature":' + nested(MAX_DEPTH - 10) + b',"logs":[]}}',
        b'{"value":{"signature":"s","logs":' + nested(MAX_DEPTH - 10) + b"}}",
        b'{"value":{"signature":"s","logs":"not a list"}}',
    ]
    with trio.fail_after(10):
        for result in poison:
            await server.send_raw(ws, notification_text(sid, result))
        await server.notify(sid, {"context": {"slot": 7}, "value": good_logs()})
        while not sink.tokens:
            await trio.sleep(0.01)
    assert [(t.signature, t.slot) for t in sink.tokens] == [("good", 7)]
    assert listener.stats.malformed == len(poison)
    assert client.stats.malformed == 0  # well-formed envelopes: the listener's to judge
