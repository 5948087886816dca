"""The simulator in its own process, as a node is another machine on mainnet (bench only).

Run as ``python scripts/_bench/sim_process.py SEED LOADED [FAULTS]``: opens the simulator
(0.4 s slots, the bench wallets funded, ``bot_harness.bench_funding``, the node's knobs
from FAULTS, a JSON object of ``Faults`` fields, none by default), prints one JSON line
with its URLs, then reads commands from stdin, one JSON line each (``{"id", "op",
"args"}``: ``launch`` (``launch_held``: its answer held as a trigger's, below),
``whale_buy``, ``creator_dump``, ``feed_sent``, and the zero-hold
run's ``landings`` and ``confirmed_tips``) and answers on stdout (``{"id", "result"}``).
With LOADED it runs the background feed itself (``bot_harness.BackgroundFeed``).
It stops when stdin closes.

The wire stamps are taken here, at the simulator's sockets (``time.perf_counter()``:
CLOCK_MONOTONIC, one clock for both processes on Linux, as ``feed_server`` relies on),
and streamed on stdout in batches every 50 ms (not as taken, which would wake the bot's
process mid-path), except around a trigger (``whale_buy``, ``creator_dump``: the exit
bench's price moves; ``launch_held``: the detect bench's creates): their answer is held,
and no batch written, until the node has read the bot's next new transaction (its SELL or
BUY; a rebroadcast of earlier bytes does not count) or ``HOLD_MAX`` s passed; then the
stamps and the answer go in one write. Answered at once, the answer reached the bot's process with
the trigger's notification, and the bench's own reader and polling task ran in the window
it measures (0.09–0.5 ms in 14 of 30 samples, by a Trio instrument's task steps; for the
detect bench's creates, answered at once, the create's notification reached the bot
0.68 ms p50 after the node's write, against 0.31 ms held: n = 200, loaded).
The lines: ``{"n": [at, signature]}`` when a logs notification of a transaction
submitted through a command is written, ``{"r": [arrival, body, read_at]}`` when a
``sendTransaction`` request is read (``RpcServer.on_request``: the kernel's stamp of its
arrival at the node's socket, and when the node's read returned). So the simulator's CPU
(fan-out to every subscriber, execution, its servers) no longer runs on the bot's loop nor
holds its GIL: the ``*_wire_ms`` figures measure the bot and the loopback only.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.sim import Faults, open_sim

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from _bench.bot_harness import BackgroundFeed, Traders, bench_funding
    from _bench.recorder import WireStamps
else:
    from .bot_harness import BackgroundFeed, Traders, bench_funding
    from .recorder import WireStamps


RUNNER = str(Path(__file__).resolve())
STAMP_FLUSH = 0.05  # seconds between two batches of stamps on stdout
#: the commands whose answer waits for the bot's next ``sendTransaction`` (module doc)
HELD_OPS = frozenset({"whale_buy", "creator_dump", "launch_held"})
HOLD_MAX = 0.5  # seconds a held answer waits at most (the bot may not react)


@attrs.define(eq=False)
class _Outbox:
    """The simulator's stdout lines: stamps batched, answers at once unless held."""

    lines: trio.MemorySendChannel[bytes]
    stamps: list[bytes] = attrs.field(factory=list)
    holding: bool = False
    _sent: trio.Event = attrs.field(factory=trio.Event)
    #: the transactions (base64, as sent) the node has read: a rebroadcast ends no hold
    _seen: set[str] = attrs.field(factory=set)

    def stamp(self, line: bytes, *, transaction: str | None = None) -> None:
        """Keep a stamp line; ``transaction``: the one a ``sendTransaction`` carried (a
        new one ends a hold)."""
        self.stamps.append(line)
        if transaction is not None and transaction not in self._seen:
            self._seen.add(transaction)
            self._sent.set()

    def flush(self, *tail: bytes) -> None:
        """Hand on the stamps kept (then ``tail``) in one write."""
        if self.stamps or tail:
            self.lines.send_nowait(b"".join([*self.stamps, *tail]))
            self.stamps.clear()

    async def flush_every(self, period: float) -> None:
        """The periodic batches; none while an answer is held (it would land mid-path)."""
        while True:
            await trio.sleep(period)
            if not self.holding:
                self.flush()

    async def answer(self, line: bytes, *, hold: bool) -> None:
        """Send an answer; ``hold``: once the node has read a new transaction."""
        if hold:
            with trio.move_on_after(HOLD_MAX):
                await self._sent.wait()
            self.holding = False
            self.flush(line)
        else:
            self.lines.send_nowait(line)

    def start_hold(self) -> None:
        """From now until the answer: no batch, and wait for a new transaction."""
        self.holding, self._sent = True, trio.Event()


def _notification(signature: str) -> dict[str, Any]:
    """The part of a logs notification the bench reads (``WireStamps.first_notified``)."""
    return {"method": "logsNotification", "params": {"result": {"value": {"signature": signature}}}}


# -- the simulator's side ---------------------------------------------------------------


async def _serve(seed: int, loaded: bool, faults: Faults | None) -> None:
    _, creator, whale, fund = bench_funding(seed)
    out_send, out_receive = trio.open_memory_channel[bytes](math.inf)
    stdout, stdin = trio.lowlevel.FdStream(1), trio.lowlevel.FdStream(0)
    outbox = _Outbox(out_send)
    async with open_sim(seed=seed, slot_time=0.4, fund=fund, faults=faults) as sim:
        traders = Traders(sim, creator, whale)

        def on_notification(at: float, message: dict[str, Any]) -> None:
            if message.get("method") != "logsNotification":
                return
            signature = message["params"]["result"]["value"]["signature"]
            if signature in traders.submitted:  # not the feed's, not the bot's own
                outbox.stamp(_line({"n": [at, signature]}))

        def on_request(at: float, body: bytes, read_at: float) -> None:
            if b'"sendTransaction"' in body:
                text = body.decode()
                outbox.stamp(_line({"r": [at, text, read_at]}), transaction=_transaction(text))

        sim.ws_server.on_notification = on_notification
        sim.rpc_server.on_request = on_request
        feed = BackgroundFeed(sim.node) if loaded else None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_write_lines, stdout, out_receive)
            nursery.start_soon(outbox.flush_every, STAMP_FLUSH)
            if feed is not None:
                nursery.start_soon(feed.run)
            out_send.send_nowait(_line({"rpc": sim.rpc_url, "ws": sim.ws_url}))
            async for command in _lines(stdin):
                hold = command["op"] in HELD_OPS
                if hold:
                    outbox.start_hold()  # before the trigger is submitted
                result = await _execute(traders, feed, command)
                await outbox.answer(_line({"id": command["id"], "result": result}), hold=hold)
            nursery.cancel_scope.cancel()


async def _execute(traders: Traders, feed: BackgroundFeed | None, command: dict[str, Any]) -> Any:
    op, args = command["op"], command.get("args", [])
    if op in ("launch", "launch_held"):
        mint, signature = await traders.launch(*args)
        return [str(mint), signature]
    if op == "whale_buy":
        return await traders.whale_buy(Pubkey.from_string(args[0]), args[1])
    if op == "creator_dump":
        return await traders.creator_dump(Pubkey.from_string(args[0]))
    if op == "feed_sent":
        return feed.sent if feed is not None else 0
    if op == "landings":
        return await traders.landings(args[0])
    if op == "confirmed_tips":
        return await traders.confirmed_tips()
    raise ValueError(f"unknown command {op!r}")


def _transaction(body: str) -> str:
    """The transaction a ``sendTransaction`` request carries (its body whole if unreadable:
    then any such request counts as new)."""
    try:
        return str(json.loads(body)["params"][0])
    except (ValueError, KeyError, IndexError, TypeError):
        return body


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


async def _write_lines(stream: Any, lines: trio.MemoryReceiveChannel[bytes]) -> None:
    async for line in lines:
        await stream.send_all(line)


async def _lines(stream: Any) -> AsyncIterator[dict[str, Any]]:
    """JSON objects, one a line, until the stream ends."""
    buffer = b""
    while True:
        data = await stream.receive_some(65536)
        if not data:
            return
        buffer += data
        *whole, buffer = buffer.split(b"\n")
        for line in whole:
            if line.strip():
                yield json.loads(line)


# -- the bench's side -------------------------------------------------------------------


@attrs.define(eq=False)
class RemoteSim:
    """The bench's handle on a simulator process: its URLs, its wire stamps (filled as
    they stream in), and the same trader calls as :class:`~.bot_harness.Traders`."""

    process: trio.Process
    rpc_url: str = ""
    ws_url: str = ""
    wire: WireStamps = attrs.field(factory=WireStamps)
    _next_id: int = 0
    _pending: dict[int, Any] = attrs.field(factory=dict)  # id → trio.Event, then result

    async def _call(self, op: str, *args: Any) -> Any:
        self._next_id += 1
        key, done = self._next_id, trio.Event()
        self._pending[key] = done
        assert self.process.stdin is not None
        await self.process.stdin.send_all(_line({"id": key, "op": op, "args": list(args)}))
        await done.wait()
        return self._pending.pop(key)

    async def launch(self, creator_buy: int, *, held: bool = False) -> tuple[Pubkey, str]:
        """``held``: the answer waits for the bot's next transaction (the detect bench: an
        answer at once reached the bot's process in the window measured)."""
        mint, signature = await self._call("launch_held" if held else "launch", creator_buy)
        return Pubkey.from_string(mint), signature

    async def whale_buy(self, mint: Pubkey, budget: int) -> str:
        return str(await self._call("whale_buy", str(mint), budget))

    async def creator_dump(self, mint: Pubkey) -> str:
        return str(await self._call("creator_dump", str(mint)))

    async def feed_sent(self) -> int:
        return int(await self._call("feed_sent"))

    async def landings(self, signatures: list[str]) -> dict[str, tuple[int, str | None]]:
        found = await self._call("landings", signatures)
        return {signature: (slot, err) for signature, (slot, err) in found.items()}

    async def confirmed_tips(self) -> dict[int, int]:
        return {int(slot): tip for slot, tip in (await self._call("confirmed_tips")).items()}

    async def read(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Take in the process's lines: its URLs (then ``started``), answers, stamps."""
        assert self.process.stdout is not None
        async for message in _lines(self.process.stdout):
            if "rpc" in message:
                self.rpc_url, self.ws_url = message["rpc"], message["ws"]
                task_status.started()
            elif "n" in message:
                at, signature = message["n"]
                self.wire._on_notification(at, _notification(signature))
            elif "r" in message:
                at, body, read_at = message["r"]
                self.wire._on_request(at, body.encode(), read_at)
            else:
                done = self._pending[message["id"]]
                self._pending[message["id"]] = message["result"]
                done.set()


@asynccontextmanager
async def open_remote_sim(
    seed: int, *, loaded: bool, faults: Faults | None = None
) -> AsyncIterator[RemoteSim]:
    """Start the simulator process; close its stdin (it stops) and reap it on exit."""
    command = [sys.executable, RUNNER, str(seed), str(int(loaded))]
    if faults is not None:
        command.append(json.dumps(attrs.asdict(faults)))
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    remote = RemoteSim(process)
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(30):
                await nursery.start(remote.read)
            yield remote
            assert process.stdin is not None
            await process.stdin.aclose()
            with trio.move_on_after(10):
                await process.wait()
            nursery.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    knobs = Faults(**json.loads(sys.argv[3])) if len(sys.argv) > 3 else None
    trio.run(_serve, int(sys.argv[1]), bool(int(sys.argv[2])), knobs)
