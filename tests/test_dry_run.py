"""``run --dry-run`` on the simulator: real quotes and signed transactions, nothing sent.

BUYs are simulated (their fill read from the simulated pump TradeEvent), SELLs are paper
fills at the live curve's quote, exits fire on the live feed, and the node never sees a
transaction from the bot's wallet.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.app_runs import duration_counts_from, launch_coin
from tests.scenario.harness import SLOT_TIME, SOL, Harness, until_listening
from tests.scenario.test_early_buy_fan_out import stamp_writers, twice, warm, writes_of
from trio_trader import app
from trio_trader.app import build_bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.config import load_config, parse_config
from trio_trader.pump import instructions
from trio_trader.pump.addresses import FEE_RECIPIENTS, TOKEN_2022_PROGRAM_ID
from trio_trader.pump.curve import FeeRates, Reserves, max_sol_cost, quote_buy_for_sol
from trio_trader.sim import Faults, open_sim
from trio_trader.startup import StartupError
from trio_trader.store import (
    MODE_DRY_RUN,
    MODE_KEY,
    MODE_LIVE,
    ModeMismatch,
    open_repository,
)
from trio_trader.summary import format_summary
from trio_trader.trading.dry_run import SIMULATION_UNAVAILABLE, DryRunChain
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo
from trio_trader.ui.report import collect_report

FUNDING = 10 * SOL

TOKEN = TokenInfo(
    mint=Pubkey.new_unique(), name="T", symbol="T", uri="u",
    bonding_curve=Pubkey.new_unique(), associated_bonding_curve=Pubkey.new_unique(),
    creator=Pubkey.new_unique(), user=Pubkey.new_unique(), token_program=TOKEN_2022_PROGRAM_ID,
    virtual_sol_reserves=30 * 10**9, virtual_token_reserves=1_073_000_000 * 10**6,
)  # fmt: skip


@asynccontextmanager
async def dry_bot(
    tmp_path: Path,
    *,
    funding: int = FUNDING,
    exits: dict[str, Any] | None = None,
    start: bool = True,
    trade: dict[str, Any] | None = None,
    send_endpoints: Callable[[str], list[str]] | None = None,
) -> AsyncIterator[Harness]:
    """A simulator without background market, a funded wallet and a running dry-run bot
    (``send_endpoints``: a fan-out's, given the simulator's RPC URL)."""
    creator, wallet = Keypair(), Keypair()
    cfg = parse_config(
        {
            "trade": {"buy_amount_sol": "0.1", "max_active_mints": 100, **(trade or {})},
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
        RpcClient(
            (sim.rpc_url,), send_endpoints=send_endpoints(sim.rpc_url) if send_endpoints else ()
        ) as rpc,  # type: ignore[arg-type]
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
            if start:
                await nursery.start(bot.trader.run)
            yield h
            nursery.cancel_scope.cancel()


async def test_an_extreme_fast_dry_run_signs_in_the_listener_and_sends_nothing(
    tmp_path: Path,
) -> None:
    """The extreme fast BUY starts in the listener's task (``_buy_now``) even on paper:
    with a kept-alive connection to the node ready, still nothing but the simulation."""
    fast = {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000}
    async with dry_bot(tmp_path, exits={"sell_after": 0.1}, trade=fast) as h:
        mint = await h.launch("Paper")  # its create goes over the direct sender: kept alive
        assert h.rpc.sender is not None
        assert h.rpc.sender.idle_connections(h.sim.rpc_url) == 1
        await h.wait_until(lambda: h.all_closed(1))
        (position,) = await h.positions()
        submitted = h.sim.node.stats.submitted
    assert position.mint == mint
    assert submitted == 1  # the launch alone
    assert h.sim.ledger.balance(h.wallet.pubkey()) == FUNDING


async def test_an_extreme_fast_dry_run_with_send_endpoints_sends_nothing(
    tmp_path: Path,
) -> None:
    """Two send endpoints, both kept alive: the early write of a fan-out is skipped on
    paper as the single one is; the only bytes the endpoints get are the launch's."""
    fast = {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000}
    async with dry_bot(tmp_path, exits={"sell_after": 0.1}, trade=fast, send_endpoints=twice) as h:
        await warm(h)
        writers = stamp_writers(h)
        await h.launch("Paper")
        await h.wait_until(lambda: h.all_closed(1))
        (position,) = await h.positions()
        assert writes_of(writers, position.buy_order) == []
        assert writes_of(writers, position.sell_order) == []
        assert len(writers) == 2  # the launch's create, to both endpoints
    assert h.sim.ledger.balance(h.wallet.pubkey()) == FUNDING


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
    assert buy.error_name not in (SIMULATION_UNAVAILABLE, None)  # the node's own error
    assert submitted == 1  # the launch only
    assert h.sim.ledger.balance(h.wallet.pubkey()) == SOL // 100


async def test_run_dry_run_against_an_endpoint_books_paper_and_keeps_its_own_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --dry-run`` with the simulator as the real endpoint: one paper round trip,
    nothing sent, the database marked dry-run, ``report`` says paper, and a live run on
    that database is refused with one line."""
    wallet, creator = Keypair(), Keypair()
    monkeypatch.setenv("DRY_KEY", str(wallet))
    db = tmp_path / "dry.db"
    with trio.fail_after(60):
        async with open_sim(
            None, slot_time=SLOT_TIME, fund={wallet.pubkey(): 5 * SOL, creator.pubkey(): 100 * SOL}
        ) as sim:
            config_file = tmp_path / "dry.toml"
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}"]\nws_url = "{sim.ws_url}"\n'
                '[wallet]\nprivate_key_env = "DRY_KEY"\n'
                '[trade]\nbuy_amount_sol = "0.2"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{db}"\n'
            )
            config = load_config(config_file)
            args = argparse.Namespace(sim=False, dry_run=True, duration=3.0, grace=10.0, db=None)
            launched = trio.Event()
            duration_counts_from(monkeypatch, launched)

            async def launch_once_trading() -> None:
                await until_listening(sim)  # not a fixed delay: start-up takes what load makes it
                await launch_coin(sim, creator, "Dry")
                launched.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(launch_once_trading)
                summary, _control = await app.run(args, config)
            submitted = sim.node.stats.submitted
            balance = sim.ledger.balance(wallet.pubkey())
            live = argparse.Namespace(sim=False, dry_run=False, duration=3.0, grace=1.0, db=None)
            with pytest.raises(BaseExceptionGroup) as info:
                await app.run(live, config)
    assert submitted == 1  # the launch; the bot sent nothing
    assert balance == 5 * SOL
    assert summary["paper"] is True
    assert summary["positions_this_run"]["opened"] == 1
    assert summary["positions_this_run"]["closed"] == 1
    assert summary["wallet_sol_change_this_run_lamports"] == 0
    assert summary["realized_pnl_this_run_lamports"] != 0  # paper fees and the spread
    assert "(paper, dry run: nothing was sent)" in format_summary(summary)
    async with open_repository(db) as repo:
        assert (await repo.get_meta())[MODE_KEY] == MODE_DRY_RUN
        report = await collect_report(repo, str(db))
    assert report["mode"] == "paper (dry run)"
    assert report["trades"] == {
        "buy_confirmed": 1, "buy_failed": 0, "sell_confirmed": 1, "sell_failed": 0,
    }  # fmt: skip
    error = app._single_leaf(info.value)
    assert isinstance(error, StartupError)
    assert str(error) == (
        f"database {db}: it holds a dry run's paper trades, so a live run may not use it; "
        "use another --db"
    )


async def test_a_dry_run_refuses_a_database_of_live_trades(tmp_path: Path) -> None:
    """A database from before the mark (positions, no ``mode``) is live; a fresh one takes
    the mode of its first run and keeps it."""
    async with open_repository(tmp_path / "old.db") as repo:
        await repo.insert_position(Position(mint=TOKEN.mint, token_info=TOKEN))
        with pytest.raises(ModeMismatch, match="it holds live trades, so a dry-run run"):
            await repo.claim_mode(MODE_DRY_RUN)
        await repo.claim_mode(MODE_LIVE)
        assert (await repo.get_meta())[MODE_KEY] == MODE_LIVE
    async with open_repository(tmp_path / "new.db") as repo:
        await repo.claim_mode(MODE_DRY_RUN)
        await repo.claim_mode(MODE_DRY_RUN)
        with pytest.raises(ModeMismatch):
            await repo.claim_mode(MODE_LIVE)
        with pytest.raises(ValueError, match="unknown database mode"):
            await repo.claim_mode("paper")


async def wallet_buys_for_real(h: Harness, mint: Pubkey) -> None:
    """The bot's wallet buys ``mint`` itself, outside the bot (say, by hand in a wallet app)."""
    user, program = h.wallet.pubkey(), TOKEN_2022_PROGRAM_ID
    curve = h.sim.ledger.bonding_curve(mint)
    assert curve is not None
    quote = quote_buy_for_sol(SOL // 10, Reserves.of(curve), FeeRates(95, 30))
    ixs = [
        instructions.create_associated_token_account_idempotent(
            payer=user, owner=user, mint=mint, token_program=program
        ),
        instructions.buy(
            user=user, mint=mint, creator=h.creator.pubkey(), token_program=program,
            fee_recipient=FEE_RECIPIENTS[0], amount=quote.amount,
            max_sol_cost=max_sol_cost(quote.total, 500),
        ),
    ]  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    await h.rpc.send_transaction(build_transaction(ixs, h.wallet, blockhash).raw)
    with trio.fail_after(5):
        while h.token_balance(mint) == 0:
            await trio.sleep(0.01)


async def test_a_dry_run_never_books_the_wallets_real_trades(tmp_path: Path) -> None:
    """Start-up reconciliation books what the wallet did on chain: right for live books,
    wrong for paper ones (a real BUY would become a paper position, paper-sold while the
    real tokens stay). A dry run skips it."""
    async with dry_bot(tmp_path, start=False) as h:
        mint = await h.launch("Real")
        with trio.fail_after(5):
            while h.sim.ledger.bonding_curve(mint) is None:
                await trio.sleep(0.01)
        await wallet_buys_for_real(h, mint)
        assert h.background is not None
        await h.background.start(h.bot.trader.run)  # recovery runs before it has started
        positions = await h.positions()
        trades = await h.repo.list_trades()
    assert positions == []
    assert trades == []
    assert h.bot.trader.reconciliation is None


def test_the_run_command_takes_dry_run_and_the_banner_says_paper() -> None:
    from trio_trader import cli
    from trio_trader.ui.banner import run_mode

    parser = cli.build_parser(only="run")
    assert parser.parse_args(["run", "--dry-run"]).dry_run is True
    assert parser.parse_args(["run"]).dry_run is False
    assert run_mode(False, dry_run=True).startswith("paper (dry run) against the endpoint")
    assert run_mode(False) == "LIVE trading with real SOL"
