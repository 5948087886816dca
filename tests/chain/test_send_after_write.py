"""The send path's ``after_write`` hook: run once the request's bytes are written, before
the reply is awaited, exactly once per order whatever the send's outcome.

The position's row is written there (``store/_repository.py``: ``mark_sending``), so
these are crash-safety properties: a row skipped by a cancellation or an error would
leave a sent order only its journal marker; a row written before the bytes would put
its cost back on the way to the wire. Real HTTP/1.1 servers on 127.0.0.1.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from tests.chain.keepalive import Act, KeepAliveNode, accept
from tests.trading.test_platform_aware import chain, signed_buy
from trio_trader.chain import RpcClient
from trio_trader.trading.orders import OrderState

RAW = b"\x01signed transaction bytes"


async def recording_node(
    nursery: trio.Nursery, events: list[str], name: str, *, delay: float = 0.0
) -> KeepAliveNode:
    def behaviour(request: dict[str, Any]) -> Act:
        events.append(f"{name} read")
        return Act(accept(request, "1" * 64).body, delay=delay)

    return await KeepAliveNode(behaviour).start(nursery)


async def pending_until_read(
    send: Any, events: list[str], reads: int, nursery: trio.Nursery
) -> trio.CancelScope:
    """Start ``send`` (its node never replies in time) and return once every node read
    the request and every task is blocked: the send is awaiting its reply."""
    scope = trio.CancelScope()

    async def run() -> None:
        with scope:
            await send()

    nursery.start_soon(run)
    with trio.fail_after(5):
        while sum(e.endswith(" read") for e in events) < reads:
            await trio.sleep(0.01)
    await trio.testing.wait_all_tasks_blocked()
    return scope


async def test_the_hook_runs_after_the_write_and_before_the_reply(nursery: trio.Nursery) -> None:
    events: list[str] = []
    server = await recording_node(nursery, events, "node", delay=5.0)
    async with RpcClient([server.url], seed=1) as rpc:
        assert rpc.sender is not None
        rpc.sender.on_request = lambda *_: events.append("request")

        async def send() -> None:
            await rpc.send_transaction(RAW, after_write=lambda: events.append("after_write"))

        scope = await pending_until_read(send, events, 1, nursery)
        # the reply is still awaited: the hook ran after the bytes went (the node has
        # them), without waiting for it
        assert events[0] == "request"
        assert sorted(events[1:]) == ["after_write", "node read"]
        scope.cancel()


async def test_a_fanned_out_order_runs_its_hook_once_after_the_first_write(
    nursery: trio.Nursery,
) -> None:
    events: list[str] = []
    a = await recording_node(nursery, events, "a", delay=5.0)
    b = await recording_node(nursery, events, "b", delay=5.0)
    rpc = RpcClient([a.url], send_endpoints=[a.url, b.url], seed=1)
    async with rpc:
        access = chain(rpc)
        order = signed_buy(access)

        async def send() -> None:
            await access.send(order, lambda: events.append("row"))

        scope = await pending_until_read(send, events, 2, nursery)
        assert sorted(events) == ["a read", "b read", "row"]  # both written, one row
        scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
    assert events.count("row") == 1  # not again on the way out


async def test_a_send_that_fails_before_any_write_still_runs_the_hook_once() -> None:
    calls: list[str] = []
    async with RpcClient(["http://127.0.0.1:9"], seed=1, max_retries=0) as rpc:
        access = chain(rpc)
        order = signed_buy(access)
        with trio.fail_after(10):
            await access.send(order, lambda: calls.append("row"))
    assert calls == ["row"]
    assert order.state is OrderState.SENT  # unclear: confirmed as if sent


async def test_a_cancelled_send_runs_the_hook_once(nursery: trio.Nursery) -> None:
    """Cancelled while waiting for the reply (the bytes are out), or before the write:
    the row is written either way, once."""
    events: list[str] = []
    server = await recording_node(nursery, events, "node", delay=5.0)
    async with RpcClient([server.url], seed=1) as rpc:
        access = chain(rpc)
        waiting = signed_buy(access)
        with trio.move_on_after(0.2):
            await access.send(waiting, lambda: events.append("row of the sent one"))
        unsent = signed_buy(access)
        with trio.CancelScope() as scope:
            scope.cancel()
            await access.send(unsent, lambda: events.append("row of the unsent one"))
    assert events.count("node read") == 1
    assert events.count("row of the sent one") == 1
    assert events.count("row of the unsent one") == 1


async def test_a_hook_that_raises_is_logged_and_the_send_goes_on(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    server = await recording_node(nursery, events, "node")
    calls = 0

    def broken() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a snapshot bug")

    async with RpcClient([server.url], seed=1) as rpc:
        access = chain(rpc)
        order = signed_buy(access)
        with caplog.at_level(logging.ERROR), trio.fail_after(5):
            await access.send(order, broken)
    assert order.state is OrderState.SENT
    assert calls == 1
    assert events == ["node read"]
    assert any("its row after the send was not written" in r.message for r in caplog.records)
