"""The production bot (``app.build_bot``) against the simulator, instrumented from outside.

The bot is wired exactly as ``python -m trio_trader run --sim`` wires it, except that its
``RpcClient`` gets a :class:`~.recorder.RecordingTransport` (stamps every request leaving
the bot) and the simulator's WebSocket server is wrapped by
:func:`~.recorder.record_ws_notifications` (stamps every notification written to the
bot's socket). Tokens are launched by the benchmark itself, straight into the node, so
it knows each create's signature and mint.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.app import Bot, build_bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.config import parse_config
from trio_trader.pump.addresses import associated_token_address
from trio_trader.pump.curve import Reserves, max_sol_cost, quote_buy_for_sol
from trio_trader.sim import SimNode, open_sim
from trio_trader.store import open_repository

from .recorder import RecordingTransport, record_ws_notifications
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

    def of(self, mint: str) -> list[tuple[str, float, float]]:
        """The writes of one mint's position, in order: (method, start, end)."""
        return [(m, start, end) for m, key, start, end in self.writes if key == mint]


@attrs.define(eq=False, kw_only=True)
class BotRun:
    """A running bot, the simulator it trades on, and the stamps taken at its edges."""

    sim: SimNode
    bot: Bot
    transport: RecordingTransport
    repo: TimingRepo
    creator: Keypair
    whale: Keypair
    notified: dict[str, float] = attrs.field(factory=dict)  # tx signature → first logs write
    launched: dict[str, str] = attrs.field(factory=dict)  # mint → create signature
    #: called with each logs notification's signature, after it is stamped
    on_logs: Callable[[str], None] | None = None
    _count: int = 0

    def on_notification(self, at: float, message: dict[str, Any]) -> None:
        if message.get("method") != "logsNotification":
            return
        signature = message["params"]["result"]["value"]["signature"]
        self.notified.setdefault(signature, at)
        if self.on_logs is not None:
            self.on_logs(signature)

    def launch(self, creator_buy: int = SOL) -> Pubkey:
        """Submit a create + creator buy straight to the node; returns the mint."""
        self._count += 1
        mint = keypair(f"e2e-mint-{id(self)}", self._count)
        blockhash, _ = self.sim.node.latest_blockhash()
        raw = create_tx(self.creator, mint, blockhash, creator_buy, f"Bench {self._count}")
        signature = self.sim.node.submit(raw)
        self.launched[str(mint.pubkey())] = str(signature)
        return mint.pubkey()

    def whale_buy(self, mint: Pubkey, budget: int) -> str:
        """A big buy by another wallet (moves the price up); returns its signature."""
        ledger: Any = self.sim.ledger  # a sim.ledger.Ledger
        curve = ledger.bonding_curve(mint)
        assert curve is not None
        assert curve.creator is not None
        quote = quote_buy_for_sol(budget, Reserves.of(curve), QUOTE_RATES)
        ixs = buy_instructions(
            self.whale.pubkey(), mint, curve.creator, quote.amount, max_sol_cost(quote.total, 3000)
        )
        return self._submit(ixs, self.whale)

    def creator_dump(self, mint: Pubkey) -> str:
        """The creator sells everything it holds (moves the price down)."""
        ata = associated_token_address(self.creator.pubkey(), mint, TOKEN_PROGRAM)
        account = self.sim.ledger.get_account(ata)
        assert account is not None
        held = int.from_bytes(bytes(account.data)[64:72], "little")
        ixs = sell_instructions(self.creator.pubkey(), mint, self.creator.pubkey(), held)
        return self._submit(ixs, self.creator)

    def _submit(self, ixs: list[Any], payer: Keypair) -> str:
        blockhash, _ = self.sim.node.latest_blockhash()
        return str(self.sim.node.submit(build_transaction(ixs, payer, blockhash).raw))

    def landed_slot(self, signature: str) -> tuple[int, bool] | None:
        """(slot, succeeded) of a landed transaction, None if it never landed."""
        from solders.signature import Signature

        executed = self.sim.node.transaction(Signature.from_string(signature))
        if executed is None:
            return None
        return int(executed.slot), executed.err is None


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


@asynccontextmanager
async def running_bot(
    config: dict[str, Any], *, seed: int, slot_time: float = 0.4
) -> AsyncIterator[BotRun]:
    """Start the simulator and the bot; stop both (open positions are abandoned) on exit."""
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
    settings = parse_config(_merge(BASE_CONFIG, config), env={})
    with tempfile.TemporaryDirectory(prefix="trio-trader-bench-") as tmp:
        async with open_sim(seed=seed, slot_time=slot_time, fund=fund) as sim:
            transport = RecordingTransport()
            async with (
                RpcClient((sim.rpc_url,), transport=transport) as rpc,
                open_repository(Path(tmp) / "bench.db") as repo,
            ):
                bot = await build_bot(
                    settings, rpc=rpc, keypair=wallet, repo=repo, ws_url=sim.ws_url
                )
                timing = TimingRepo(repo)
                bot.trader.repo = timing  # type: ignore[assignment]
                run = BotRun(
                    sim=sim, bot=bot, transport=transport, repo=timing, creator=creator,
                    whale=whale,
                )  # fmt: skip
                with record_ws_notifications(run.on_notification):
                    try:
                        async with trio.open_nursery() as nursery:
                            await nursery.start(bot.trader.run)
                            yield run
                            bot.trader.stop_buying()
                            nursery.cancel_scope.cancel()
                    except* trio.BrokenResourceError:
                        # chain/pubsub.py: a subscription leaving while the whole bot is
                        # cancelled may find its connection's writer gone (see report).
                        log.debug("pubsub writer already gone at shutdown")
