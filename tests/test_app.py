"""The ``run`` command end to end: paper trading on the embedded simulator, config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trio_trader import cli


def check_summary(summary: dict[str, object]) -> None:
    positions = summary["positions"]
    assert isinstance(positions, dict)
    assert positions["opened"] >= 1
    assert positions["closed"] == positions["opened"]  # the shutdown sold everything
    assert positions["open"] == 0
    # read from the simulator's ledger vs. the database, to the lamport
    assert summary["wallet_sol_change_lamports"] == summary["realized_pnl_lamports"]
    assert summary["token_balances"] == {}
    assert summary["balances_source"] == "simulator ledger"
    assert set(summary["pre_confirmation_sells"]) == {"sent", "succeeded"}  # type: ignore[arg-type]


def test_run_sim_paper_trades_and_writes_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    db = tmp_path / "run.db"
    code = cli.main(
        [
            "run", "--sim", "--scenario", "scripted_60s", "--seed", "1", "--duration", "4",
            "--grace", "10", "--db", str(db), "--summary-json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(out.read_text())
    check_summary(summary)
    assert db.exists()


def test_bad_config_exits_2_and_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[exits]\ntake_profit_pct = -5\n")
    assert cli.main(["run", "--config", str(bad)]) == 2
    assert "exits.take_profit_pct: must be > 0" in capsys.readouterr().err


def test_unknown_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--sim", "--scenario", "no-such-market"]) == 2
    assert "unknown scenario 'no-such-market'" in capsys.readouterr().err


def test_live_run_without_a_wallet_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIO_TRADER_PRIVATE_KEY", raising=False)
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    assert cli.main(["run", "--config", str(example)]) == 2
    assert "TRIO_TRADER_PRIVATE_KEY" in capsys.readouterr().err


def test_sigint_shuts_down_gracefully_and_still_reports(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "trio_trader", "run", "--sim", "--scenario", "scripted_60s",
            "--seed", "2", "--grace", "10", "--summary-json", str(out),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    try:
        time.sleep(5)  # start-up, then some launches (1.5 a second) and positions
        assert proc.poll() is None, "the bot stopped by itself"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-2000:]
    assert "positions:" in stdout
    assert "shutting down gracefully" in stderr
    check_summary(json.loads(out.read_text()))


async def test_live_mode_trades_on_any_endpoint_given_by_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --config`` wiring (env key, RPC balances) against the simulator as the endpoint."""
    import argparse

    import trio
    from solders.keypair import Keypair

    from tests.scenario.harness import SOL, Harness
    from trio_trader import app
    from trio_trader.chain.rpc import RpcClient
    from trio_trader.config import load_config
    from trio_trader.sim import open_sim

    wallet, creator = Keypair(), Keypair()
    monkeypatch.setenv("MY_TEST_KEY", str(wallet))  # base58 of the 64-byte keypair
    with trio.fail_after(60):
        async with open_sim(
            None, slot_time=0.05, fund={wallet.pubkey(): 5 * SOL, creator.pubkey(): 100 * SOL}
        ) as sim:
            config_file = tmp_path / "live.toml"
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}"]\nws_url = "{sim.ws_url}"\n'
                '[wallet]\nprivate_key_env = "MY_TEST_KEY"\n'
                '[trade]\nbuy_amount_sol = "0.2"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{tmp_path / "live.db"}"\n'
            )
            config = load_config(config_file)
            assert str(wallet) not in repr(config)  # the key is held, never shown
            args = argparse.Namespace(duration=3.0, grace=10.0, db=None)

            async def launch_soon() -> None:
                await trio.sleep(0.5)
                async with RpcClient((sim.rpc_url,)) as rpc:
                    launcher = Harness(
                        sim=sim, rpc=rpc, repo=None, bot=None, creator=creator,  # type: ignore[arg-type]
                        wallet=wallet, funding=5 * SOL, buyer=None, seller=None,  # type: ignore[arg-type]
                    )  # fmt: skip
                    await launcher.launch("Live")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(launch_soon)
                summary = await app._run_live(args, config)
    assert summary["balances_source"] == "rpc"
    assert summary["positions"]["opened"] == 1
    assert summary["positions"]["closed"] == 1
    assert summary["wallet_sol_change_lamports"] == summary["realized_pnl_lamports"] != 0
    assert summary["token_balances"] == {}


async def test_every_option_of_the_config_reaches_the_built_bot(tmp_path: Path) -> None:
    """Each key set to a non-default value, then read back from the running objects."""
    import trio
    from solders.keypair import Keypair
    from solders.pubkey import Pubkey

    from trio_trader import app
    from trio_trader.config import parse_config
    from trio_trader.listeners.block import BlockListener
    from trio_trader.sim import open_sim
    from trio_trader.store import open_repository
    from trio_trader.trading.exits import ExitRules

    ally, enemy = Pubkey.new_unique(), Pubkey.new_unique()
    config = parse_config(
        {
            "rpc": {"endpoints": ["http://a.test", "http://b.test"], "ws_url": "ws://a.test",
                    "requests_per_second": 7.5, "max_retries": 2},
            "priority_fee": {"mode": "dynamic", "percentile": 90, "cap_micro_lamports": 123_456},
            "trade": {
                "buy_amount_sol": "0.2", "buy_slippage_bps": 111, "sell_slippage_bps": 222,
                "compute_unit_limit": 150_000, "extreme_fast_mode": True,
                "extreme_fast_token_amount": 777, "pre_confirmation_sells": False,
                "max_active_mints": 7, "max_buys": 9, "rebroadcast_interval": 0.3,
                "max_sell_attempts": 4, "sell_reprice_step_bps": 333,
                "emergency_policy": "leave_open", "close_token_account": False,
            },
            "listener": {"source": "block", "commitment": "confirmed"},
            "filters": {
                "name_contains": ["cat"], "symbol_contains": ["CT"], "name_regex": "^c",
                "symbol_regex": "T$", "creator_allow": [str(ally)], "creator_deny": [str(enemy)],
                "min_creator_buy_sol": "0.5", "max_creator_buy_sol": "5", "max_token_age": 12.0,
            },
            "exits": {
                "take_profit_pct": 25.0, "stop_loss_pct": 10.0, "trailing_stop_pct": 5.0,
                "max_hold_time": 60.0, "sell_after": 3.0, "never_sell": True,
                "tick_interval": 0.25,
            },
        },
        env={},
    )  # fmt: skip
    rpc_of_live_run = app.rpc_client(config)
    assert rpc_of_live_run.endpoints == ("http://a.test", "http://b.test")
    assert (rpc_of_live_run.requests_per_second, rpc_of_live_run.max_retries) == (7.5, 2)
    with trio.fail_after(20):
        async with (
            open_sim(None, slot_time=0.05) as sim,
            app.RpcClient((sim.rpc_url,)) as rpc,
            open_repository(tmp_path / "w.db") as repo,
        ):
            bot = await app.build_bot(
                config, rpc=rpc, keypair=Keypair(), repo=repo, ws_url=sim.ws_url
            )
            trader = bot.trader
            assert isinstance(trader._listener(), BlockListener)
    s = trader.settings
    assert (s.max_active_mints, s.max_buys, s.listener, s.commitment) == (
        7,
        9,
        "block",
        "confirmed",
    )
    f = s.token_filter
    assert (tuple(f.name_contains), tuple(f.symbol_contains)) == (("cat",), ("CT",))
    assert f.name_regex is not None
    assert f.name_regex.pattern == "^c"
    assert f.symbol_regex is not None
    assert f.symbol_regex.pattern == "T$"
    assert (f.creator_allow, f.creator_deny) == (frozenset({ally}), frozenset({enemy}))
    assert (f.min_creator_buy_lamports, f.max_creator_buy_lamports) == (500_000_000, 5 * 10**9)
    assert f.max_token_age == 12.0
    assert s.rules == ExitRules(
        take_profit_bps=2500, stop_loss_bps=1000, trailing_stop_bps=500,
        max_hold_time=60.0, sell_after=3.0, never_sell=True,
    )  # fmt: skip
    p = s.policy
    assert (p.pre_confirmation_sells, p.max_sell_attempts, p.reprice_step_bps) == (False, 4, 333)
    assert (p.emergency_policy, p.tick_interval) == ("leave_open", 0.25)
    fee = trader.priority_fee
    assert (fee.rpc, fee.percentile, fee.cap) == (rpc, 90, 123_456)
    buyer, seller = trader.buyer, trader.seller
    assert (buyer.amount_lamports, buyer.slippage_bps) == (200_000_000, 111)
    assert (buyer.extreme_fast_mode, buyer.extreme_fast_token_amount) == (True, 777)
    assert (seller.slippage_bps, seller.close_token_account) == (222, False)
    chain = buyer.chain
    assert chain is seller.chain
    assert chain.compute_unit_limit == 150_000
    assert chain.confirmer.rebroadcast_interval == 0.3
    assert chain.priority_fee is fee


async def test_fixed_priority_fee_is_wired_as_fixed(tmp_path: Path) -> None:
    import trio
    from solders.keypair import Keypair

    from trio_trader import app
    from trio_trader.config import parse_config
    from trio_trader.sim import open_sim
    from trio_trader.store import open_repository

    config = parse_config({"priority_fee": {"mode": "fixed", "fixed_micro_lamports": 4321}}, {})
    with trio.fail_after(20):
        async with (
            open_sim(None, slot_time=0.05) as sim,
            app.RpcClient((sim.rpc_url,)) as rpc,
            open_repository(tmp_path / "f.db") as repo,
        ):
            bot = await app.build_bot(
                config, rpc=rpc, keypair=Keypair(), repo=repo, ws_url=sim.ws_url
            )
    assert bot.trader.priority_fee.rpc is None  # never refreshed from the node
    assert bot.trader.priority_fee.micro_lamports == 4321
    assert bot.trader.buyer.chain.priority_fee.micro_lamports == 4321


def test_no_arguments_runs_the_sim_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from trio_trader import app

    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(app, "main", lambda args: seen.append(args) or 0)
    assert cli.main([]) == 0
    (args,) = seen
    assert (args.command, args.sim, args.config, args.scenario) == ("run", True, None, "default")
