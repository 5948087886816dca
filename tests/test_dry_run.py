"""``run --dry-run`` on the simulator: real quotes and signed transactions, nothing sent.

BUYs are simulated (their fill read from the simulated pump TradeEvent), SELLs are paper
fills at the live curve's quote, exits fire on the live feed, and the node never sees a
transaction from the bot's wallet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from solders.keypair import Keypair

from tests.scenario.harness import SLOT_TIME, SOL, Harness
from trio_trader.app import build_bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.config import parse_config
from trio_trader.sim import Faults, open_sim
from trio_trader.store import open_repository
from trio_trader.trading.dry_run import DryRunChain

FUNDING = 10 * SOL


@asynccontextmanager
async def dry_bot(
    tmp_path: Path, *, funding: int = FUNDING, exits: dict[str, Any] | None = None
) -> AsyncIterator[Harness]:
    """A simulator without background market, a funded wallet and a running dry-run bot."""
    creator, wallet = Keypair(), Keypair()
    cfg = parse_config(
        {
            "trade": {"buy_amount_sol": "0.1", "max_active_mints": 100},
            "exits": {"tick_interval": 0.1, **(exits or {})},
            "priority_fee": {"fixed_micro_lamports": 1_000},
        },
        env={},
    )
    async with (
        open_sim(
            None, seed=7, slot_time=SLOT_TIME, faults=Faults(),
            fund={creator.pubkey(): 1_000 * SOL, wallet.pubkey(): funding},
        ) as sim,
        RpcClient((sim.rpc_url,)) as rpc,  # type: ignore[arg-type]
        open_repository(tmp_path / "dry.db") as repo,
    ):  # fmt: skip
        bot = await build_bot(
            cfg, rpc=rpc, keypair=wallet, repo=repo, ws_url=sim.ws_url, dry_run=True
        )
        assert isinstance(bot.trader.buyer.chain, DryRunChain)
        bot.trader.funds = None  # the funds check is startup's and funds.py's own test
        async with trio.open_nursery() as nursery:
            h = Harness(
                sim=sim, rpc=rpc, repo=repo, bot=bot, creator=creator, wallet=wallet,
                funding=funding, buyer=bot.trader.buyer,  # type: ignore[arg-type]
                seller=bot.trader.seller,  # type: ignore[arg-type]
                background=nursery,
            )  # fmt: skip
            await nursery.start(bot.trader.run)
            yield h
            nursery.cancel_scope.cancel()


async def bought(h: Harness, count: int) -> bool:
    trades = await h.repo.list_trades()
    return sum(t.side == "buy" and t.state == "confirmed" for t in trades) >= count


async def test_dry_run_trades_on_paper_and_sends_nothing(tmp_path: Path) -> None:
    async with dry_bot(tmp_path, exits={"take_profit_pct": 30.0, "stop_loss_pct": 20.0}) as h:
        mints = [await h.launch(f"Coin {i}") for i in range(3)]
        await h.wait_until(lambda: bought(h, 3))
        for mint in mints:  # the live price rises: take profit fires on the live feed
            await h.creator_buy(mint, 8.0)
        await h.wait_until(lambda: h.all_closed(3))
        positions = await h.positions()
        trades = await h.repo.list_trades()
        sigs = await h.rpc.get_signatures_for_address(h.wallet.pubkey())
        submitted = h.sim.node.stats.submitted
    assert {p.mint for p in positions} == set(mints)
    # nothing sent: only the test's 3 launches and 3 creator buys reached the node
    assert submitted == 6
    assert sigs == []
    assert h.sim.ledger.balance(h.wallet.pubkey()) == FUNDING
    assert all(h.token_balance(m) == 0 for m in mints)
    buys = [t for t in trades if t.side == "buy"]
    sells = [t for t in trades if t.side == "sell"]
    assert len(buys) == 3
    assert all(t.state == "confirmed" for t in buys)
    assert len(sells) == 3
    assert all(t.state == "confirmed" for t in sells)
    for t in buys:
        # the simulated TradeEvent's cost, and the curve had not moved since the quote
        assert t.sol_amount is not None
        assert t.sol_change is not None
        assert t.fee_lamports is not None
        assert t.fee_lamports > 0
        assert t.sol_change == -(t.sol_amount + t.fee_lamports)
        assert t.token_change == t.token_amount
    for t in sells:
        assert t.sol_change is not None
        assert t.fee_lamports is not None
        assert t.token_change is not None
        assert t.token_amount is not None
        assert t.token_change == -t.token_amount
    for p in positions:
        assert p.is_closed
        assert p.realized_pnl_lamports is not None
        assert p.realized_pnl_lamports > 0  # sold after the price rose 30 %
        paid = sum(t.sol_change or 0 for t in trades if t.position_id == p.id)
        assert p.realized_pnl_lamports == paid


async def test_failed_simulation_is_a_failed_buy_at_no_cost(tmp_path: Path) -> None:
    """A wallet that cannot pay the BUY: its simulation fails, the position ends with the
    program's error, no fee is booked and nothing is sent."""
    async with dry_bot(tmp_path, funding=SOL // 100) as h:
        await h.launch("Poor")
        await h.wait_until(lambda: h.all_closed(1))
        trades = await h.repo.list_trades()
        submitted = h.sim.node.stats.submitted
    (buy,) = trades
    assert buy.side == "buy"
    assert buy.state == "failed"
    assert buy.fee_lamports is None
    assert buy.sol_change is None
    assert buy.error is not None
    assert submitted == 1  # the launch only
    assert h.sim.ledger.balance(h.wallet.pubkey()) == SOL // 100
