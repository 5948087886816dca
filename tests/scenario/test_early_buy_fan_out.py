"""The extreme fast BUY's early write with several send endpoints (a fan-out), on the
real simulator.

The listener's task writes the BUY on every send endpoint with a kept-alive connection
before it reads again and before the position task exists; the position task collects
the fan-out's outcome (first acceptance wins). A SELL's bytes leave the same way, from
the seller's own task. Two of the endpoints here are the simulator's one RPC server
under two URLs (two connection pools); a third, where named, is a local HTTP/1.1 server
that misbehaves. The books must balance to the lamport whatever one endpoint does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel
from solders.transaction import VersionedTransaction

from tests.chain.keepalive import Act, KeepAliveNode, rate_limited_once, refuse
from tests.scenario.harness import Crash, Harness, crash_first_run, running_bot
from tests.scenario.test_early_buy import FAST, buy_path, record_the_path
from tests.scenario.test_recovery_lost_rows import (
    FAST_SLOT,
    DieBeforeRow,
    journal_names_only_the_marker,
    landed,
    lost_buy_booked,
    next_run,
)
from trio_trader.chain import untrusted
from trio_trader.chain.fanout import EndpointSends
from trio_trader.trading.orders import Order
from trio_trader.trading.trader import UniversalTrader

HEALTH = untrusted.dumps({"jsonrpc": "2.0", "id": 0, "method": "getHealth"})
#: extreme fast mode, no rebroadcast within a test: each order is one fan-out, counted once
ONCE: dict[str, Any] = {**FAST, "trade": {**FAST["trade"], "rebroadcast_interval": 60}}


def twice(url: str) -> list[str]:
    """The simulator's RPC server as two send endpoints (two URLs: two pools)."""
    return [url, url + "/"]


async def warm(h: Harness, *urls: str) -> None:
    """A kept-alive connection to each send endpoint, as ``keep_warm`` keeps them."""
    sender = h.rpc.sender
    assert sender is not None
    for url in urls or h.rpc.send_endpoints:
        await sender.post(url, HEALTH)
        assert sender.idle_connections(url) >= 1


def outcomes(sends: EndpointSends) -> int:
    return sends.accepted + sends.refused + sends.unclear


Writes = list[tuple[str, trio.lowlevel.Task, str]]


def stamp_writers(h: Harness) -> Writes:
    """(URL, writing task, base64 transaction) of every ``sendTransaction`` request the
    client writes (the test's launches too: they go through the same client)."""
    seen: Writes = []
    assert h.rpc.sender is not None

    def stamp(url: str, _at: float, body: bytes) -> None:
        request = untrusted.loads(body)
        if request["method"] == "sendTransaction":
            seen.append((url, trio.lowlevel.current_task(), request["params"][0]))

    h.rpc.sender.on_request = stamp
    return seen


def writes_of(writers: Writes, order: Order | None) -> list[tuple[str, trio.lowlevel.Task]]:
    """The (URL, task) writes of ``order``'s bytes, in order."""
    assert order is not None
    return [(url, task) for url, task, raw in writers if raw == order.raw_base64()]


async def test_a_fanned_out_buy_reaches_every_endpoint_before_its_position_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker, both endpoints' bytes, then the row come in the listener's step that
    decoded the create, then the position task; the SELL's two requests are written by
    one task (no task per endpoint before them). Every endpoint counted twice, one
    first acceptance per order, the books to the lamport."""
    events = record_the_path(monkeypatch)
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=ONCE, send_endpoints=twice) as h:
            await warm(h)
            writers = stamp_writers(h)
            await h.launch("Fanned")
            await h.wait_until(lambda: h.all_closed(1))
            path = ["token", "buy marker", "request", "request", "row", "task"]
            assert buy_path(events) == path
            (position,) = await h.assert_books_balance()
            (buy_a, buy_b) = writes_of(writers, position.buy_order)
            (sell_a, sell_b) = writes_of(writers, position.sell_order)
            assert [buy_a[0], buy_b[0]] == [sell_a[0], sell_b[0]] == list(h.rpc.send_endpoints)
            assert buy_a[1] is buy_b[1]  # the listener's task
            assert sell_a[1] is sell_b[1] is not buy_a[1]  # the seller's, not a branch each
            sends = h.rpc.stats.sends

            async def all_answered() -> bool:  # the launch's create, the BUY, the SELL
                return all(outcomes(s) == 3 for s in sends.values())

            await h.wait_until(all_answered)
            assert [s.sent for s in sends.values()] == [3, 3]
            assert sum(s.first for s in sends.values()) == 3
            assert position.status == "closed"
            buys = await h.trades(position.id, "buy")
            assert [t.state for t in buys] == ["confirmed"]
            assert h.token_balance(position.mint) == 0
            assert h.sim.node.stats.landed >= 3  # the create, the BUY, the SELL: once each


def honest(request: dict[str, Any]) -> Act:
    """Accepts, answering the transaction's own signature (as a node would)."""
    raw = base64.b64decode(request["params"][0])
    signature = VersionedTransaction.from_bytes(raw).signatures[0]
    return Act({"jsonrpc": "2.0", "id": request["id"], "result": str(signature)})


def behaving(name: str) -> Callable[[dict[str, Any]], Act]:
    """The third endpoint's answer to ``sendTransaction``, by name."""
    if name == "refusing":
        return refuse
    if name == "garbage":
        return lambda _r: Act(raw=b"<html>502 Bad Gateway</html>")
    if name == "hanging":
        return lambda r: Act(honest(r).body, delay=60)
    return rate_limited_once(honest)


#: the third endpoint's answers (the launch's create, the BUY, the SELL), counted:
#: (accepted, refused, unclear)
EXPECTED = {"refusing": (0, 3, 0), "garbage": (0, 0, 3), "rate_limited": (3, 0, 0)}


@pytest.mark.parametrize("name", ["refusing", "garbage", "hanging", "rate_limited"])
async def test_one_misbehaving_send_endpoint_never_hurts_the_position(
    tmp_path: Path, name: str
) -> None:
    """Beside the simulator, a third send endpoint refuses, answers garbage, never
    answers, or is rate limited once: the early-written BUY and the SELL are accepted by
    the simulator, the position closes with the books to the lamport, and the third
    endpoint is counted by what it answered (garbage: unclear, never raised)."""
    behaviour = behaving(name)

    def act(request: dict[str, Any]) -> Act:
        if request["method"] == "getHealth":
            return Act({"jsonrpc": "2.0", "id": request["id"], "result": "ok"})
        return behaviour(request)

    port: list[int] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as servers:
            third = await KeepAliveNode(act).start(servers)
            port.append(third.port)

            def endpoints(url: str) -> list[str]:
                return [url, third.url]

            async with running_bot(tmp_path, config=ONCE, send_endpoints=endpoints) as h:
                await warm(h)
                await h.launch(name.title())
                await h.wait_until(lambda: h.all_closed(1))
                (position,) = await h.assert_books_balance()
                assert position.status == "closed"
                buys = await h.trades(position.id, "buy")
                assert [t.state for t in buys] == ["confirmed"]
                sells = await h.trades(position.id, "sell")
                assert [t.state for t in sells] == ["confirmed"]
                assert h.token_balance(position.mint) == 0
                sim, bad = (h.rpc.stats.sends[u] for u in h.rpc.send_endpoints)
                assert (sim.sent, sim.accepted) == (3, 3)
                assert bad.sent == 3
                if name in EXPECTED:

                    async def all_answered() -> bool:
                        return outcomes(bad) == 3

                    await h.wait_until(all_answered)
                    assert (bad.accepted, bad.refused, bad.unclear) == EXPECTED[name]
                else:  # still waiting for its replies: nothing counted for it yet
                    assert outcomes(bad) == 0
                    assert sim.first == 3
                if name == "garbage":
                    assert h.rpc.stats.bad_replies == 3
                if name == "rate_limited":
                    assert h.rpc.stats.rate_limited == 3
            servers.cancel_scope.cancel()
    assert len(third.seen) >= 4  # the warm-up, the create, the BUY, the SELL (and retries)


async def test_a_kill_after_the_early_writes_before_the_row_is_booked_from_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies in the listener's step right after both endpoints' writes, at
    the row (the hook): the journal holds the marker alone, and the next start books
    the BUY from the ledger once it lands, and sells it. Nothing lost, nothing bought
    twice."""
    db = tmp_path / "bot.db"
    config = {**FAST, "exits": {"sell_after": 0.5, "tick_interval": 0.1},
              "trade": {**FAST["trade"], "rebroadcast_interval": 0.2}}  # fmt: skip
    with trio.fail_after(60):
        async with running_bot(
            tmp_path, config=config, db=db, start=False, slot_time=FAST_SLOT, send_endpoints=twice
        ) as h:
            sent = DieBeforeRow(h, "buy").arm()
            writers = stamp_writers(h)
            handle = UniversalTrader._handle_token

            async def dead_or_alive(self: UniversalTrader, *args: Any) -> None:
                # ``_buy_now`` starts the position task in a ``finally``, on the way out
                # of the crash: in a dead process it never runs (here it would send the
                # BUY on the other endpoint and write its rows before the crash reached it)
                if sent:
                    raise Crash
                await handle(self, *args)

            monkeypatch.setattr(UniversalTrader, "_handle_token", dead_or_alive)

            async def launch() -> Any:
                await warm(h)
                return await h.launch()

            await crash_first_run(h, launch)
            h.repo.writer.abandon()
            assert [url for url, _ in writes_of(writers, sent[0])] == list(h.rpc.send_endpoints)
            monkeypatch.undo()
            journal_names_only_the_marker(db, sent[0])
            assert not landed(h, sent[0].signature)

            async with next_run(h, db, config) as bot:
                await lost_buy_booked(h, bot, sent[0].signature)
