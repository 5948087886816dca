"""The listener fed inline by the pubsub reader (`Subscription.handle_inline`), over a socket.

Every notification of a burst comes in one TCP write, so the reader holds several of them in
one read: the guarantees the listener's own loop gave must hold in the reader's task too.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest
import trio
import trio.testing

from tests.chain.hostile import notification_text
from tests.chain.test_pubsub_websocket import Peer, frame, serve
from trio_trader.chain import PubsubClient
from trio_trader.listeners.logs import LogsListener, run_listener
from trio_trader.listeners.types import NewToken, PriceUpdate

from .test_listeners import (
    OTHER_MINT,
    create_event,
    exit_fired_by,
    logs_item,
    pump_logs,
    trade_event,
)


async def burst_server(nursery: trio.Nursery, items: list[Any]) -> tuple[PubsubClient, trio.Event]:
    """A node that answers the subscription, then, once the event says the listener is in
    its loop (``nursery.start`` of it returned: its handler is attached), writes every item
    in one ``send_all``."""
    in_loop = trio.Event()

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        _, hello = await peer.next_frame()
        reply = {"jsonrpc": "2.0", "id": json.loads(hello)["id"], "result": 1}
        await stream.send_all(frame(1, json.dumps(reply).encode()))
        await in_loop.wait()
        await stream.send_all(
            b"".join(frame(1, notification_text(1, json.dumps(i).encode()).encode()) for i in items)
        )
        await trio.sleep_forever()

    served = await serve(nursery, handler)
    client = PubsubClient(f"ws://127.0.0.1:{served.port}/", seed=5, heartbeat_interval=3600)
    await nursery.start(client.run)
    return client, in_loop


async def until(predicate: Any) -> None:
    with trio.fail_after(10):
        while not predicate():
            await trio.sleep(0.01)


@pytest.mark.parametrize("seed", range(6))
async def test_a_new_tokens_task_runs_before_the_next_notification_of_the_read(
    seed: int, monkeypatch: pytest.MonkeyPatch, nursery: trio.Nursery
) -> None:
    """The token sink starts the BUY's task from the reader's own task; that task runs before
    the reader hands on the notifications behind the create, whatever the batch order."""
    monkeypatch.setattr(trio._core._run, "_r", random.Random(seed))  # the batch orders
    items = [logs_item(pump_logs(create_event(), trade_event(1)))]
    items += [logs_item(pump_logs(trade_event(100 + i, mint=OTHER_MINT))) for i in range(5)]
    client, in_loop = await burst_server(nursery, items)
    order: list[str] = []

    async def buy(token: NewToken) -> None:
        order.append(f"buy {token.token_info.symbol}")

    def on_token(token: NewToken) -> None:
        nursery.start_soon(buy, token)

    def on_price(price: PriceUpdate) -> None:
        order.append(f"price {price.sol_amount}")

    listener = LogsListener(client)
    await nursery.start(listener.run, on_token, on_price)
    in_loop.set()
    await until(lambda: len(order) == 7)
    assert order == ["price 1", "buy CAT", *(f"price {100 + i}" for i in range(5))]
    assert client.stats.dropped == 0


@pytest.mark.parametrize("seed", range(6))
async def test_a_woken_sell_runs_before_the_next_notification_of_the_read(
    seed: int, monkeypatch: pytest.MonkeyPatch, nursery: trio.Nursery
) -> None:
    monkeypatch.setattr(trio._core._run, "_r", random.Random(seed))
    items = [logs_item(pump_logs(trade_event(1 + i, mint=OTHER_MINT))) for i in range(8)]
    client, in_loop = await burst_server(nursery, items)
    order: list[str] = []
    woken = trio.Event()

    async def seller() -> None:  # a position's task, parked until its exit fires
        await woken.wait()
        order.append("sell")

    nursery.start_soon(seller)

    listener = LogsListener(client)
    await nursery.start(listener.run, lambda token: None, exit_fired_by(3, order, woken))
    in_loop.set()
    await until(lambda: len(order) == 9)
    assert order == ["price 1", "price 2", "price 3", "sell", *(f"price {i}" for i in range(4, 9))]
    assert listener.stats.woke == 1


async def test_an_item_that_raises_in_the_reader_is_logged_and_the_next_handled(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever one notification provokes in the reader's task, the reader goes on: the
    next notification of the same read is handled, and the connection is kept."""
    items = [logs_item(pump_logs(trade_event(1, mint=OTHER_MINT))), {"explodes": True}]
    items.append(logs_item(pump_logs(trade_event(2, mint=OTHER_MINT))))
    client, in_loop = await burst_server(nursery, items)

    class Exploding(LogsListener):
        def handle(self, item: Any, on_token: Any, on_price: Any) -> None:
            if "explodes" in item:
                raise ZeroDivisionError("a decoder bug")
            super().handle(item, on_token, on_price)

    prices: list[int] = []
    listener = Exploding(client)
    with caplog.at_level(logging.ERROR):
        await nursery.start(listener.run, lambda token: None, lambda p: prices.append(p.sol_amount))
        in_loop.set()
        await until(lambda: len(prices) == 2)
    assert prices == [1, 2]
    assert "skipping a notification that could not be handled" in caplog.text
    assert client.stats.reconnects == 0


async def test_the_subscription_ends_when_the_listener_leaves(nursery: trio.Nursery) -> None:
    """Cancelling the listener unsubscribes; the reader hands nothing to it afterwards."""
    items = [logs_item(pump_logs(trade_event(1, mint=OTHER_MINT)))]
    client, in_loop = await burst_server(nursery, items)
    seen: list[int] = []
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as inner:
            await inner.start(run_listener, LogsListener(client), print, seen.append)
            in_loop.set()
            await until(lambda: len(seen) == 1)
            scope.cancel()
    assert client._subs == set()
