"""A fan-out's request written at once, in the caller's task, on every send endpoint with
an idle kept-alive connection; the replies read by a task per endpoint.

Real HTTP/1.1 servers on 127.0.0.1 (`keepalive.KeepAliveNode`). Which task wrote each
request is read from the sender's `on_request` stamp (called right before the write), so
"written by the caller, before any task of the fan-out ran" is seen, not assumed; the
outcome and every endpoint's counts are the same as a fan-out always had.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.lowlevel

from tests.chain.keepalive import Act, KeepAliveNode, rate_limited_once, refuse
from tests.chain.test_sender import OTHER, RAW, SIG, accepting, eventually, node, sent_transaction
from trio_trader.chain import RpcClient, RpcUnavailable, TransactionError, untrusted
from trio_trader.chain.sender import H11Sender

ENCODED = base64.b64encode(RAW).decode()
HEALTH = untrusted.dumps({"jsonrpc": "2.0", "id": 0, "method": "getHealth"})


def answering(behaviour: Callable[[dict[str, Any]], Act]) -> Callable[[dict[str, Any]], Act]:
    """`behaviour` for `sendTransaction`; a `getHealth` (the warm-up) is answered "ok"."""

    def act(request: dict[str, Any]) -> Act:
        if request["method"] == "getHealth":
            return Act({"jsonrpc": "2.0", "id": request["id"], "result": "ok"})
        return behaviour(request)

    return act


async def nodes(nursery: trio.Nursery, *behaviours: Callable[[dict[str, Any]], Act]) -> list[Any]:
    return [await node(nursery, answering(b)) for b in behaviours]


def fan(servers: list[KeepAliveNode], **kwargs: Any) -> RpcClient:
    urls = [s.url for s in servers]
    return RpcClient(urls[:1], send_endpoints=urls, seed=1, backoff_base=0.01, **kwargs)


async def warm(rpc: RpcClient, *servers: KeepAliveNode) -> None:
    """A kept-alive connection to each of `servers`, as `keep_warm` keeps in a live run."""
    assert rpc.sender is not None
    for server in servers:
        await rpc.sender.post(server.url, HEALTH)
        assert rpc.sender.idle_connections(server.url) == 1


def writers(rpc: RpcClient) -> list[tuple[str, trio.lowlevel.Task]]:
    """(URL, the task that wrote it) for every `sendTransaction` request from now on."""
    seen: list[tuple[str, trio.lowlevel.Task]] = []
    assert rpc.sender is not None

    def stamp(url: str, _at: float, body: bytes) -> None:
        if b'"sendTransaction"' in body:
            seen.append((url, trio.lowlevel.current_task()))

    rpc.sender.on_request = stamp
    return seen


def counts(rpc: RpcClient, server: KeepAliveNode) -> tuple[int, int, int, int, int]:
    s = rpc.stats.sends[server.url]
    return s.sent, s.accepted, s.first, s.refused, s.unclear


async def test_every_endpoint_is_written_by_the_callers_task_before_its_branches_run(
    nursery: trio.Nursery,
) -> None:
    """Three warm endpoints: the three requests are written by the caller's own task
    (no task started first); the replies are read by the branches, the first
    acceptance wins and every endpoint is counted once."""
    a, b, c = await nodes(nursery, accepting(), accepting(delay=0.05), accepting(delay=0.05))
    async with fan([a, b, c]) as rpc:
        await warm(rpc, a, b, c)
        seen = writers(rpc)
        caller = trio.lowlevel.current_task()
        assert await rpc.send_transaction(RAW) == SIG
        assert seen == [(a.url, caller), (b.url, caller), (c.url, caller)]
        await eventually(lambda: all(s.accepted == 1 for s in rpc.stats.sends.values()))
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 3  # the warm ones, reused
    assert [counts(rpc, s) for s in (a, b, c)] == [(1, 1, 1, 0, 0), *[(1, 1, 0, 0, 0)] * 2]
    assert all(rpc.stats.sends[s.url].latency_ms for s in (a, b, c))
    assert [sent_transaction(s.seen[-1].body) for s in (a, b, c)] == [RAW, RAW, RAW]
    assert all(len(s.seen) == 2 for s in (a, b, c))  # the warm-up and the one send


async def test_endpoints_without_a_connection_or_a_token_are_sent_by_their_task(
    nursery: trio.Nursery,
) -> None:
    """`a` warm, `b` warm but the budget's last token went to `a`, `c` cold: `a` is
    written by the caller, `b` waits for a token and `c` opens a connection in their
    own tasks; all three get the bytes once and are counted once."""
    a, b, c = await nodes(nursery, accepting(delay=0.05), accepting(), accepting())
    async with fan([a, b, c], requests_per_second=20.0, burst=1) as rpc:
        await warm(rpc, a, b)  # the warm-up takes no budget token
        seen = writers(rpc)
        caller = trio.lowlevel.current_task()
        assert await rpc.send_transaction(RAW) == SIG
        await eventually(lambda: len(seen) == 3)
        await eventually(lambda: all(s.accepted == 1 for s in rpc.stats.sends.values()))
    assert seen[0] == (a.url, caller)
    assert {url for url, task in seen[1:] if task is not caller} == {b.url, c.url}
    assert [counts(rpc, s)[:2] for s in (a, b, c)] == [(1, 1), (1, 1), (1, 1)]
    assert sum(counts(rpc, s)[2] for s in (a, b, c)) == 1  # one first acceptance
    assert len(c.seen) == 1
    assert len(b.seen) == len(a.seen) == 2


async def test_nothing_written_now_anywhere_is_nothing_sent(nursery: trio.Nursery) -> None:
    """`write_transaction` with no warm endpoint sends nothing and counts nothing: the
    caller sends the usual way."""
    a, b = await nodes(nursery, accepting(), accepting())
    async with fan([a, b]) as rpc:
        assert await rpc.write_transaction(ENCODED) is None
        await trio.testing.wait_all_tasks_blocked()
    assert a.seen == b.seen == []
    assert [counts(rpc, s) for s in (a, b)] == [(0, 0, 0, 0, 0)] * 2


async def test_an_early_write_reaches_every_endpoint_and_its_reply_is_read_later(
    nursery: trio.Nursery,
) -> None:
    """`write_transaction` (the listener's early BUY): both endpoints have the bytes
    when it returns, written by the caller; `finish_transaction` (the position task)
    has the first acceptance; the hook (the row) ran once, after both writes: it must
    follow the bytes, not hold the second endpoint's back."""
    a, b = await nodes(nursery, accepting(delay=0.05), accepting(OTHER))
    rows: list[int] = []
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        seen = writers(rpc)
        caller = trio.lowlevel.current_task()
        sent = await rpc.write_transaction(ENCODED, after_write=lambda: rows.append(len(seen)))
        assert sent is not None
        assert seen == [(a.url, caller), (b.url, caller)]
        assert rows == [2]
        assert await rpc.finish_transaction(sent) == OTHER  # b answers first
        await eventually(lambda: rpc.stats.sends[a.url].accepted == 1)
    assert [counts(rpc, s) for s in (a, b)] == [(1, 1, 0, 0, 0), (1, 1, 1, 0, 0)]
    assert rpc.stats.by_method["sendTransaction"] == 2


def garbage(request: dict[str, Any]) -> Act:
    return Act(raw=b"<html>502 bad gateway</html>")


async def test_a_refusal_and_garbage_beside_an_acceptance_is_the_acceptance(
    nursery: trio.Nursery,
) -> None:
    """A refusing endpoint and one answering garbage (counted unclear, never raised):
    the acceptance of the third wins, each endpoint counted by what it answered."""
    a, b, c = await nodes(nursery, refuse, garbage, accepting(delay=0.05))
    async with fan([a, b, c]) as rpc:
        await warm(rpc, a, b, c)
        sent = await rpc.write_transaction(ENCODED)
        assert sent is not None
        assert await rpc.finish_transaction(sent) == SIG
    assert [counts(rpc, s) for s in (a, b, c)] == [
        (1, 0, 0, 1, 0),
        (1, 0, 0, 0, 1),
        (1, 1, 1, 0, 0),
    ]
    assert rpc.stats.bad_replies == 1


async def test_a_rate_limited_early_write_is_sent_again_on_its_endpoint(
    nursery: trio.Nursery,
) -> None:
    a, b = await nodes(nursery, refuse, rate_limited_once(accepting(OTHER)))
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        sent = await rpc.write_transaction(ENCODED)
        assert sent is not None
        assert await rpc.finish_transaction(sent) == OTHER
    assert len(b.seen) == 3  # the warm-up, the early write, its retry
    assert rpc.stats.rate_limited == rpc.stats.retries == 1
    assert [counts(rpc, s) for s in (a, b)] == [(1, 0, 0, 1, 0), (1, 1, 1, 0, 0)]


async def test_an_early_write_on_a_closed_connection_is_sent_again_at_once(
    nursery: trio.Nursery,
) -> None:
    """The keep-alive race on one endpoint: nothing comes back on its early write, the
    branch sends the same bytes on a new connection (no back-off), accepted."""
    a, b = await nodes(nursery, accepting(), refuse)
    a.close_idle = True
    async with fan([a, b], max_retries=0) as rpc:
        await warm(rpc, a, b)
        await eventually(lambda: a.closed == 1)  # a's close has reached us (loopback)
        sent = await rpc.write_transaction(ENCODED)
        assert sent is not None
        assert await rpc.finish_transaction(sent) == SIG
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 3
    assert [sent_transaction(s.body) for s in a.seen[1:]] == [RAW]  # read once, landed once
    assert rpc.stats.retries == 1
    assert [counts(rpc, s) for s in (a, b)] == [(1, 1, 1, 0, 0), (1, 0, 0, 1, 0)]


async def test_all_refusing_early_writes_are_the_refusal_already_processed_first(
    nursery: trio.Nursery,
) -> None:
    a, b = await nodes(
        nursery,
        lambda r: refuse(r, "InsufficientFundsForFee"),
        lambda r: Act(refuse(r, "AlreadyProcessed").body, delay=0.05),
    )
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        sent = await rpc.write_transaction(ENCODED)
        assert sent is not None
        with pytest.raises(TransactionError) as info:
            await rpc.finish_transaction(sent)
    assert info.value.name == "AlreadyProcessed"


async def test_a_refusal_and_a_hanging_endpoint_is_unclear(nursery: trio.Nursery) -> None:
    """No acceptance, one endpoint that never answers within the exchange's timeout:
    unclear (maybe sent), each counted; nothing raised but that."""
    a, b = await nodes(nursery, refuse, accepting(delay=30))
    async with fan([a, b], max_retries=0) as rpc:
        assert rpc.sender is not None
        rpc.sender.timeout = 0.3
        await warm(rpc, a, b)
        sent = await rpc.write_transaction(ENCODED)
        assert sent is not None
        with pytest.raises(RpcUnavailable, match="unclear on 2"):
            await rpc.finish_transaction(sent)
    assert [counts(rpc, s) for s in (a, b)] == [(1, 0, 0, 1, 0), (1, 0, 0, 0, 1)]


def cancel_after_the_first_write(monkeypatch: pytest.MonkeyPatch, scope: trio.CancelScope) -> None:
    """`scope` cancelled as the first request written at once returns (as another task
    could, in the scheduling point that ends Trio's `send_all`)."""
    write_now = H11Sender.write_now
    done: list[Any] = []

    async def cancelling(self: H11Sender, url: str, body: bytes, **kwargs: Any) -> Any:
        exchange = await write_now(self, url, body, **kwargs)
        if not done:
            done.append(exchange)
            scope.cancel()
        return exchange

    monkeypatch.setattr(H11Sender, "write_now", cancelling)


async def test_a_cancellation_between_two_writes_still_delivers_and_counts_everything(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller is cancelled right after the first write: the second endpoint is sent
    by its branch, the caller sees the cancellation, and each endpoint ends counted
    once, accepted."""
    a, b = await nodes(nursery, accepting(), accepting(OTHER))
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        seen = writers(rpc)
        caller = trio.lowlevel.current_task()
        with trio.CancelScope() as scope:
            cancel_after_the_first_write(monkeypatch, scope)
            await rpc.send_transaction(RAW)
        assert scope.cancelled_caught
        await eventually(lambda: all(s.accepted == 1 for s in rpc.stats.sends.values()))
    assert seen[0] == (a.url, caller)
    # b's write met the cancellation (its stamp comes before `send_all`'s checkpoint):
    # its branch sent it
    assert seen[-1][0] == b.url
    assert seen[-1][1] is not caller
    assert [counts(rpc, s)[:2] for s in (a, b)] == [(1, 1), (1, 1)]
    assert len(a.seen) == len(b.seen) == 2


async def test_an_early_write_cancelled_between_writes_is_still_collected(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`write_transaction` cut by a cancellation after its first write returns what it
    wrote (the listener hands it to the position task) instead of losing it, and the
    caller's next checkpoint raises the cancellation; nothing is sent twice."""
    a, b = await nodes(nursery, accepting(), accepting(delay=0.05))
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        kept: list[Any] = []
        with trio.CancelScope() as scope:
            cancel_after_the_first_write(monkeypatch, scope)
            kept.append(await rpc.write_transaction(ENCODED))
            await trio.lowlevel.checkpoint()
            kept.append("not reached")
        assert scope.cancelled_caught
        (sent,) = kept
        assert sent is not None
        assert await rpc.finish_transaction(sent) == SIG
        await eventually(lambda: rpc.stats.sends[b.url].accepted == 1)
    assert len(a.seen) == len(b.seen) == 2
    assert [counts(rpc, s) for s in (a, b)] == [(1, 1, 1, 0, 0), (1, 1, 0, 0, 0)]


async def test_a_fan_out_cancelled_before_any_write_sends_nothing(nursery: trio.Nursery) -> None:
    a, b = await nodes(nursery, accepting(), accepting())
    async with fan([a, b]) as rpc:
        await warm(rpc, a, b)
        with trio.CancelScope() as scope:
            scope.cancel()
            await rpc.send_transaction(RAW)
        assert scope.cancelled_caught
        await trio.testing.wait_all_tasks_blocked()
    assert len(a.seen) == len(b.seen) == 1  # the warm-ups only
    assert [counts(rpc, s) for s in (a, b)] == [(0, 0, 0, 0, 0)] * 2
