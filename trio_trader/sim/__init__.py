"""A local Solana node for tests, demos and benchmarks.

``async with open_sim(...) as sim`` starts the ledger, the slot clock, the JSON-RPC
server (``sim.rpc_url``), the pubsub server (``sim.ws_url``) and, given a scenario, the
market that trades on it; leaving the block shuts the servers down cleanly. Clients
talk to it exactly as to mainnet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey

from trio_trader.sim._node_types import LedgerLike
from trio_trader.sim._rpc_encoding import is_token_account, token_account_fields
from trio_trader.sim.faults import Faults
from trio_trader.sim.node import Node, SendError
from trio_trader.sim.rpc_server import RpcServer
from trio_trader.sim.ws_server import WsServer

if TYPE_CHECKING:
    from trio_trader.sim.scenario import Scenario

__all__ = ["Faults", "Node", "SendError", "SimNode", "open_sim"]

SHUTDOWN_GRACE = 3.0


@attrs.define(eq=False)
class SimNode:
    """Handle on a running simulator."""

    node: Node
    rpc_server: RpcServer
    ws_server: WsServer
    funded: list[Pubkey]
    market: Any = None  # sim.market.Market when a scenario runs

    @property
    def rpc_url(self) -> str:
        return self.rpc_server.url

    @property
    def ws_url(self) -> str:
        return self.ws_server.url

    @property
    def ledger(self) -> LedgerLike:
        return self.node.ledger

    @property
    def faults(self) -> Faults:
        return self.node.faults

    def disconnect_websockets(self) -> int:
        """Drop every open pubsub connection now (the on-demand websocket fault)."""
        return self.ws_server.disconnect_all()

    def wallets(self) -> list[Pubkey]:
        """Funded wallets, then the market's own, without repeats."""
        market_wallets = list(self.market.wallets) if self.market is not None else []
        return list(dict.fromkeys([*self.funded, *market_wallets]))

    def summary(self) -> dict[str, Any]:
        """The ledger summary: balances of every wallet and the transaction counts
        (plus the market's own counters when a scenario runs)."""
        summary = ledger_summary(self.node, self.wallets())
        stats = getattr(self.market, "stats", None)
        if stats is not None and attrs.has(type(stats)):
            summary["market"] = attrs.asdict(stats)
        return summary


def ledger_summary(node: Node, wallets: list[Pubkey]) -> dict[str, Any]:
    """JSON-ready: slot, landed/failed/dropped counts, SOL and per-mint token balances."""
    out_wallets: dict[str, Any] = {}
    for wallet in wallets:
        tokens: dict[str, int] = {}
        for key in node.token_accounts_of(wallet):
            account = node.ledger.get_account(key)
            if account is None or not is_token_account(account):
                continue
            mint, owner, amount = token_account_fields(account)
            if owner == wallet:
                tokens[str(mint)] = tokens.get(str(mint), 0) + amount
        out_wallets[str(wallet)] = {"lamports": node.ledger.balance(wallet), "tokens": tokens}
    stats = node.stats
    return {
        "slot": node.slot,
        "transactions": {
            "submitted": stats.submitted,
            "landed": stats.landed,
            "failed": stats.failed,
            "dropped": stats.dropped,
            "rejected": stats.rejected,
        },
        "wallets": out_wallets,
    }


@asynccontextmanager
async def open_sim(
    scenario: Scenario | str | None = None,
    *,
    seed: int = 0,
    slot_time: float | None = None,
    faults: Faults | None = None,
    fund: Mapping[Pubkey, int] | None = None,
    rpc_port: int = 0,
    ws_port: int = 0,
    host: str = "127.0.0.1",
    ledger: LedgerLike | None = None,
    genesis_time: int | None = None,
    genesis_hash: Hash | None = None,
    fund_usdc: Mapping[Pubkey, int] | None = None,
) -> AsyncIterator[SimNode]:
    """Run a simulator for the body of the ``async with``.

    Args:
        scenario: a ``Scenario`` or a scenario name/path; its market runs when given,
            and its ``slot_time`` / faults apply unless overridden here.
        seed: seeds the ledger, the node's draws and the market.
        slot_time: seconds per slot (default: the scenario's, else 0.4).
        faults: fault knobs (default: the scenario's, else none).
        fund: lamports to airdrop to wallets before anything starts.
        rpc_port, ws_port: 0 picks free ports (see ``sim.rpc_url`` / ``sim.ws_url``).
        ledger: an existing ledger (default: a fresh ``sim.ledger.Ledger(seed=seed)``).
        genesis_time: unix time of slot 0 (default: now).
        genesis_hash: the cluster identity getGenesisHash answers (default: random,
            so every run is a new cluster).
        fund_usdc: USDC base units to mint to wallets before anything starts (default:
            the scenario's ``wallets.funded_usdc`` to each ``fund`` wallet).
    """
    if isinstance(scenario, str):
        from trio_trader.sim.scenario import load_scenario

        scenario = load_scenario(scenario)
    if slot_time is None:
        slot_time = scenario.slot_time if scenario is not None else 0.4
    if faults is None:
        faults = scenario.faults.to_faults() if scenario is not None else Faults()
    if ledger is None:
        from trio_trader.sim.ledger import Ledger

        ledger = Ledger(seed=seed)
    node = Node(
        ledger,
        slot_time=slot_time,
        faults=faults,
        seed=seed,
        genesis_time=genesis_time,
        genesis_hash=genesis_hash,
    )
    for pubkey, lamports in (fund or {}).items():
        ledger.airdrop(pubkey, lamports)
    if fund_usdc is None and scenario is not None and scenario.wallets.funded_usdc > 0:
        fund_usdc = dict.fromkeys(fund or {}, scenario.wallets.funded_usdc)
    for pubkey, units in (fund_usdc or {}).items():
        ledger.mint_quote_tokens(pubkey, units)
    rpc = RpcServer(node, host=host, port=rpc_port)
    ws = WsServer(node, host=host, port=ws_port)
    sim = SimNode(node=node, rpc_server=rpc, ws_server=ws, funded=list(fund or {}))
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        await nursery.start(rpc.run)
        await nursery.start(ws.run)
        if scenario is not None:
            from trio_trader.sim.market import run_market

            sim.market = await nursery.start(partial(run_market, node, scenario, seed=seed))
        try:
            yield sim
        finally:
            rpc.shutdown()
            with trio.move_on_after(SHUTDOWN_GRACE, shield=True):
                await rpc.stopped.wait()
            nursery.cancel_scope.cancel()
