"""The production bot (``app.build_bot``) against the simulator, instrumented from outside.

The bot is wired exactly as ``python -m trio_trader run --sim`` wires it, except that its
``RpcClient`` gets a :class:`~.recorder.RecordingTransport` and a
:class:`~.recorder.RecordingSender` (the in-bot stamps of requests leaving it), its pubsub
client's reads are stamped (:func:`~.recorder.record_bot_reads`), and the simulator's
servers stamp what they write to and read from the bot's sockets
(:class:`~.recorder.WireStamps`). Tokens are launched by the benchmark itself, straight
into the node, so it knows each create's signature and mint.

``loaded=True`` runs it as in production: INFO logging (to a file, as a live run writes its
log) and a background feed of ``FEED_RATE`` pump trade notifications per second on the
program, for mints the bot does not hold (it decodes and routes every one of them).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader import gctune
from trio_trader.app import Bot, build_bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.config import parse_config
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, associated_token_address
from trio_trader.pump.curve import Reserves, max_sol_cost, quote_buy_for_sol
from trio_trader.pump.events import encode_event
from trio_trader.sim import Faults, SimNode, open_sim
from trio_trader.sim._node_types import TxEvent
from trio_trader.store import open_repository

from .feed_server import template_logs
from .gcpauses import GcPauses, gc_pauses
from .recorder import (
    BotRead,
    RecordingTransport,
    WireStamps,
    close_direct_pools,
    first_reads,
    record_bot_reads,
    record_direct_pools,
)
from .txs import (
    QUOTE_RATES,
    SOL,
    TOKEN_PROGRAM,
    buy_instructions,
    create_tx,
    keypair,
    sell_instructions,
)

log = logging.getLogger(__name__)


class TimingRepo:
    """Forwards to the bot's repository and stamps its position writes (start, end).

    Installed as ``trader.repo`` from outside: the database row written before each BUY
    is part of the detection path by design (crash safety), so its share is measured.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.writes: list[tuple[str, str, float, float]] = []  # (method, mint, start, end)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def insert_position(self, position: Any) -> Any:
        return await self._timed("insert_position", position)

    async def update_position(self, position: Any, **kwargs: Any) -> Any:
        return await self._timed("update_position", position, **kwargs)

    async def _timed(self, method: str, position: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = await getattr(self._inner, method)(position, **kwargs)
        self.writes.append((method, str(position.mint), start, time.perf_counter()))
        return result

    # the send path's: the marker before the send, the row right after its write
    def mark_sending(self, position: Any, order: Any) -> None:
        self._timed_now("mark_sending", position, order)

    def insert_position_nowait(self, position: Any) -> Any:
        return self._timed_now("insert_position_nowait", position)

    def update_position_nowait(self, position: Any, **kwargs: Any) -> Any:
        return self._timed_now("update_position_nowait", position, **kwargs)

    def _timed_now(self, method: str, position: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = getattr(self._inner, method)(position, *args, **kwargs)
        self.writes.append((method, str(position.mint), start, time.perf_counter()))
        return result

    def of(self, mint: str) -> list[tuple[str, float, float]]:
        """The writes of one mint's position, in order: (method, start, end)."""
        return [(m, start, end) for m, key, start, end in self.writes if key == mint]


@attrs.define(eq=False, kw_only=True)
class BotRun:
    """A running bot, the simulator it trades on, and the stamps taken at its edges."""

    sim: SimNode | None  # None when the simulator runs in its own process
    bot: Bot
    transport: RecordingTransport
    repo: TimingRepo
    traders: Any  # Traders, or sim_process.RemoteSim: the same calls
    wire: WireStamps
    reads: list[BotRead] = attrs.field(factory=list)  # the bot's WS reads
    feed: BackgroundFeed | None = None
    #: trade notifications the background feed sent (set when the run ends)
    background_events: int = 0
    launched: dict[str, str] = attrs.field(factory=dict)  # mint → create signature
    #: called with each logs notification's signature, after it is stamped
    on_logs: Callable[[str], None] | None = None
    #: the collector's passes in the bot's process while it trades
    gc: GcPauses = attrs.field(factory=GcPauses)
    _reads_seen: int = 0
    _first_reads: dict[str, float] = attrs.field(factory=dict)
    _first_read_cpu: dict[str, float] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.wire.on_logs = self._on_wire_logs

    def _on_wire_logs(self, at: float, signature: str) -> None:
        if self.on_logs is not None:
            self.on_logs(signature)

    def notified(self, signature: str) -> float | None:
        """When the node wrote ``signature``'s logs notification to the bot (wire)."""
        return self.wire.first_notified(signature)

    def bot_reads(self) -> dict[str, float]:
        """signature → when the bot's pubsub client read its logs notification."""
        first_reads(self.reads[self._reads_seen :], self._first_reads, self._first_read_cpu)
        self._reads_seen = len(self.reads)
        return self._first_reads

    def bot_read_cpu(self) -> dict[str, float]:
        """signature → the bot's thread CPU time (``time.thread_time``) at that read."""
        self.bot_reads()
        return self._first_read_cpu

    async def launch(self, creator_buy: int = SOL, *, held: bool = False) -> Pubkey:
        """Submit a create + creator buy straight to the node; returns the mint.

        ``held`` (the simulator in its own process): its answer comes once the node has
        read the bot's next transaction, so the bench's own reader does not run in the
        bot's process between the create's notification and the BUY (``sim_process``)."""
        launched: tuple[Pubkey, str] = await self.traders.launch(creator_buy, held=held)
        mint, signature = launched
        self.launched[str(mint)] = signature
        return mint

    async def whale_buy(self, mint: Pubkey, budget: int) -> str:
        """A big buy by another wallet (moves the price up); returns its signature."""
        signature: str = await self.traders.whale_buy(mint, budget)
        return signature

    async def creator_dump(self, mint: Pubkey) -> str:
        """The creator sells everything it holds (moves the price down)."""
        signature: str = await self.traders.creator_dump(mint)
        return signature

    async def landings(self, signatures: Iterable[str]) -> dict[str, Landing]:
        """How each of ``signatures`` that landed fared (wherever the simulator runs)."""
        found = await self.traders.landings(list(signatures))
        return {signature: Landing(*value) for signature, value in found.items()}

    async def confirmed_after(self) -> Callable[[int], int | None]:
        """``slot`` → slots from it to the first slot produced with it confirmed (or None),
        from the tips the simulator noted as it produced each slot (``Traders``)."""
        tips = {int(slot): tip for slot, tip in (await self.traders.confirmed_tips()).items()}

        def after(slot: int) -> int | None:
            produced = [s for s, tip in tips.items() if s >= slot and tip >= slot]
            return min(produced) - slot if produced else None

        return after


@attrs.frozen
class Landing:
    """A landed transaction as the bench reads it: its slot and its error as text."""

    slot: int
    err: str | None  # None: it succeeded


@attrs.define(eq=False)
class Traders:
    """Other wallets trading on the node, straight into it (no bot in between): the
    creator launching tokens and dumping, a whale buying. Async so that a simulator in
    its own process (``sim_process.RemoteSim``) takes the same calls."""

    sim: SimNode
    creator: Keypair
    whale: Keypair
    submitted: set[str] = attrs.field(factory=set)  # signatures, in any order
    #: slot → the newest confirmed slot as that slot was produced
    tips: dict[int, int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self._track_confirmations()

    def _track_confirmations(self) -> None:
        """Note the confirmed tip as each slot is produced, in the node's own slot step (a
        watcher task could lag behind the node on a busy loop and note a later tip)."""
        node = self.sim.node
        advance = node._advance_slot

        def advance_and_note() -> None:
            advance()
            self.tips[node.slot] = node.commitment_slot("confirmed")

        node._advance_slot = advance_and_note  # type: ignore[method-assign]

    async def landings(self, signatures: list[str]) -> dict[str, tuple[int, str | None]]:
        """signature → (slot, error text or None) of those of ``signatures`` that landed."""
        out = {}
        for signature in signatures:
            executed = self.sim.node.transaction(Signature.from_string(signature))
            if executed is not None:
                err = None if executed.err is None else str(executed.err)
                out[signature] = (int(executed.slot), err)
        return out

    async def confirmed_tips(self) -> dict[int, int]:
        return dict(self.tips)

    async def launch(self, creator_buy: int, *, held: bool = False) -> tuple[Pubkey, str]:
        """A create + creator buy; (mint, signature). ``held``: no answer to hold here (the
        same process), ignored."""
        mint = keypair(f"e2e-mint-{id(self)}", len(self.submitted))
        blockhash, _ = self.sim.node.latest_blockhash()
        raw = create_tx(self.creator, mint, blockhash, creator_buy, f"Bench {len(self.submitted)}")
        return mint.pubkey(), self._note(str(self.sim.node.submit(raw)))

    async def whale_buy(self, mint: Pubkey, budget: int) -> str:
        ledger: Any = self.sim.ledger  # a sim.ledger.Ledger
        curve = ledger.bonding_curve(mint)
        assert curve is not None
        assert curve.creator is not None
        quote = quote_buy_for_sol(budget, Reserves.of(curve), QUOTE_RATES)
        ixs = buy_instructions(
            self.whale.pubkey(), mint, curve.creator, quote.amount, max_sol_cost(quote.total, 3000)
        )
        return self._submit(ixs, self.whale)

    async def creator_dump(self, mint: Pubkey) -> str:
        ata = associated_token_address(self.creator.pubkey(), mint, TOKEN_PROGRAM)
        account = self.sim.ledger.get_account(ata)
        assert account is not None
        held = int.from_bytes(bytes(account.data)[64:72], "little")
        ixs = sell_instructions(self.creator.pubkey(), mint, self.creator.pubkey(), held)
        return self._submit(ixs, self.creator)

    def _submit(self, ixs: list[Any], payer: Keypair) -> str:
        blockhash, _ = self.sim.node.latest_blockhash()
        return self._note(str(self.sim.node.submit(build_transaction(ixs, payer, blockhash).raw)))

    def _note(self, signature: str) -> str:
        self.submitted.add(signature)
        return signature


def bench_funding(seed: int) -> tuple[Keypair, Keypair, Keypair, dict[Pubkey, int]]:
    """The bot's wallet (per ``seed``), the creator, the whale, and what each is funded."""
    wallet, creator, whale = (
        keypair("e2e-wallet", seed),
        keypair("e2e-creator"),
        keypair("e2e-whale"),
    )
    fund = {
        wallet.pubkey(): 10_000 * SOL,
        creator.pubkey(): 10**6 * SOL,
        whale.pubkey(): 10**6 * SOL,
    }
    return wallet, creator, whale, fund


BASE_CONFIG: dict[str, Any] = {
    "trade": {
        "buy_amount_sol": "0.1",
        "max_active_mints": 1000,
        "buy_slippage_bps": 3000,
        "sell_slippage_bps": 3000,
    },
    "priority_fee": {"fixed_micro_lamports": 10_000},
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in extra.items():
        out.setdefault(section, {}).update(values)
    return out


FEED_RATE = 1000.0  # trade notifications per second in a loaded run
#: sendTransaction over the direct h11 sender (False: through httpx, as before it existed)
DIRECT_SEND = True
#: ``bench.py --spin``: every bot started here runs with ``[latency] spin = true``
SPIN = False
#: ``bench.py --rehearse MS``: every bot started here runs with ``[latency] rehearse_ms``
REHEARSE_MS = 0.0
#: ``bench.py --send-endpoints N``: with N > 1 every bot fans its sends out to the
#: simulator's one RPC server under N URLs (N connection pools, ``send_endpoints``)
SEND_ENDPOINTS = 1


def send_urls(rpc_url: str) -> tuple[str, ...]:
    """The bot's send endpoints (none below 2: it sends to ``rpc_url`` alone)."""
    if SEND_ENDPOINTS < 2:
        return ()
    return (rpc_url, *(f"{rpc_url}/?endpoint={i}" for i in range(1, SEND_ENDPOINTS)))


@attrs.define(eq=False)
class FakeExecuted:
    """What the sim's logs subscription reads of a landed transaction (see ``TxEvent``)."""

    signature: Signature
    slot: int
    logs: list[str]
    account_keys: tuple[Pubkey, ...] = (PUMP_PROGRAM_ID,)
    err: None = None


@attrs.define(eq=False)
class BackgroundFeed:
    """``rate`` real pump trade logs per second through the node's own event fan-out, as if
    other wallets traded other tokens: every connected logs subscription hears them."""

    node: Any
    rate: float = FEED_RATE
    sent: int = 0
    _variants: list[list[str]] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        logs, line, event = template_logs()
        for i in range(997):
            ev = attrs.evolve(
                event,
                mint=keypair("bench-feed-mint", i % 50).pubkey(),
                virtual_sol_reserves=event.virtual_sol_reserves + i * 1000,
            )
            these = list(logs)
            these[line] = "Program data: " + base64.b64encode(encode_event(ev)).decode()
            self._variants.append(these)

    async def run(self) -> None:
        start = trio.current_time()
        while True:
            await trio.sleep(0.005)
            due = int((trio.current_time() - start) * self.rate)
            while self.sent < due:
                logs = self._variants[self.sent % len(self._variants)]
                signature = Signature(self.sent.to_bytes(8, "little") + b"feed" + bytes(52))
                executed = FakeExecuted(signature, self.node.slot, logs)
                self.node._emit(TxEvent(executed))  # the node's fan-out to its watchers
                self.sent += 1


@contextlib.contextmanager
def info_logging(path: Path) -> Iterator[None]:
    """INFO and above to ``path`` for the duration, as a live run logs (then as before)."""
    root = logging.getLogger()
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level, others = root.level, {h: h.level for h in root.handlers}
    for other in others:  # the terminal keeps showing errors only
        other.setLevel(max(other.level, logging.ERROR))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for other, was in others.items():
            other.setLevel(was)
        handler.close()


@asynccontextmanager
async def _simulator(
    seed: int,
    fund: dict[Pubkey, int],
    creator: Keypair,
    whale: Keypair,
    *,
    slot_time: float,
    faults: Faults | None,
    loaded: bool,
    sim_process: bool,
) -> AsyncIterator[tuple[SimNode | None, Any, WireStamps, str, str]]:
    """(the in-process node or None, the traders, the wire stamps, RPC URL, WS URL)."""
    if sim_process:
        if slot_time != 0.4:
            raise ValueError("the simulator process runs 0.4 s slots")
        from .sim_process import open_remote_sim  # it imports this module

        async with open_remote_sim(seed, loaded=loaded, faults=faults) as remote:
            yield None, remote, remote.wire, remote.rpc_url, remote.ws_url
        return
    async with open_sim(seed=seed, slot_time=slot_time, faults=faults, fund=fund) as sim:
        wire = WireStamps()
        wire.install(sim)
        yield sim, Traders(sim, creator, whale), wire, sim.rpc_url, sim.ws_url


@asynccontextmanager
async def running_bot(
    config: dict[str, Any],
    *,
    seed: int,
    slot_time: float = 0.4,
    loaded: bool = False,
    faults: Faults | None = None,
    sim_process: bool = False,
) -> AsyncIterator[BotRun]:
    """Start the simulator and the bot; stop both (open positions are abandoned) on exit.

    ``faults``: the node's knobs (default: none, every slot confirmed by the next one).
    ``sim_process``: the simulator (and, ``loaded``, the background feed) runs in its own
    process (``sim_process``), the wire stamped there; ``run.sim`` is then None.
    """
    wallet, creator, whale, fund = bench_funding(seed)
    if SPIN:
        config = _merge(config, {"latency": {"spin": True}})
    if REHEARSE_MS:
        config = _merge(config, {"latency": {"rehearse_ms": REHEARSE_MS}})
    settings = parse_config(_merge(BASE_CONFIG, config), env={})
    with (
        tempfile.TemporaryDirectory(prefix="trio-trader-bench-") as tmp,
        contextlib.ExitStack() as logs,
    ):
        if loaded:
            logs.enter_context(info_logging(Path(tmp) / "bot.log"))
        simulator = _simulator(
            seed, fund, creator, whale, slot_time=slot_time, faults=faults, loaded=loaded,
            sim_process=sim_process,
        )  # fmt: skip
        async with simulator as (sim, traders, wire, rpc_url, ws_url):
            transport = RecordingTransport()
            async with (
                RpcClient(
                    (rpc_url,),
                    transport=transport,
                    direct_send=DIRECT_SEND,
                    send_endpoints=send_urls(rpc_url),
                ) as rpc,  # fmt: skip
                open_repository(Path(tmp) / "bench.db") as repo,
            ):
                await record_direct_pools(rpc, transport)
                bot = await build_bot(settings, rpc=rpc, keypair=wallet, repo=repo, ws_url=ws_url)
                timing = TimingRepo(repo)
                bot.trader.repo = timing  # type: ignore[assignment]
                run = BotRun(
                    sim=sim, bot=bot, transport=transport, repo=timing, traders=traders,
                    wire=wire,
                )  # fmt: skip
                # as ``app`` does once the bot is built (trio_trader/gctune.py)
                with record_bot_reads(run.reads), gctune.tuned(), gc_pauses(run.gc):
                    try:
                        async with trio.open_nursery() as nursery:
                            await nursery.start(bot.trader.run)
                            if loaded and sim is not None:
                                run.feed = BackgroundFeed(sim.node)
                                nursery.start_soon(run.feed.run)
                            yield run
                            bot.trader.stop_buying()
                            nursery.cancel_scope.cancel()
                    except* trio.BrokenResourceError:
                        # chain/pubsub.py: a subscription leaving while the whole bot is
                        # cancelled may find its connection's writer gone (see report).
                        log.debug("pubsub writer already gone at shutdown")
                    finally:
                        await close_direct_pools(rpc)
                if run.feed is not None:
                    run.background_events = run.feed.sent
                elif sim is None and loaded:
                    run.background_events = await traders.feed_sent()
