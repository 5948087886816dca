"""The ``run`` command end to end: paper trading on the embedded simulator, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app_runs import sim_clock_starts_when_trading
from trio_trader import cli, startup
from trio_trader import summary as summary_mod


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Wallet locks in the test's own directory (never the user's)."""
    path = tmp_path / "locks"
    monkeypatch.setenv("TRIO_TRADER_LOCK_DIR", str(path))
    return path


def check_summary(summary: dict[str, object]) -> None:
    positions = summary["positions_this_run"]
    assert isinstance(positions, dict)
    assert positions["opened"] >= 1
    assert positions["closed"] == positions["opened"]  # the shutdown sold everything
    assert positions["open"] == 0
    # read from the simulator's ledger vs. the database, to the lamport
    assert (
        summary["wallet_sol_change_this_run_lamports"] == summary["realized_pnl_this_run_lamports"]
    )
    assert summary["token_balances"] == {}
    assert summary["balances_source"] == "simulator ledger"
    assert summary["balances_error"] is None
    pre = summary["pre_confirmation_sells_this_run"]
    assert set(pre) == {"sent", "succeeded"}  # type: ignore[arg-type]
    lead = summary["pre_confirmation_lead_this_run"]
    assert isinstance(lead, dict)
    assert isinstance(pre, dict)
    assert lead["sells"] <= pre["succeeded"]


SLOW_VOTES_RUG = """
name = "slow_votes_rug"
[wallets]
creators = 2
traders = 0
[launches]
rate_per_second = 0.5
max_tokens = 2
create_v2_share = 0.5
initial_buy_sol = { min = 1.0, max = 2.0 }
[faults]
latency_min = 0.1
latency_max = 0.2
vote_delay_median = 8.0
vote_delay_sigma = 0.1
[[profiles]]
kind = "instant_rug"
traders = { min = 0, max = 0 }
lifetime = { min = 10.0, max = 10.0 }
rug_after = { min = 1.8, max = 2.0 }
"""


def test_a_rug_before_the_buy_confirms_is_sold_early_and_the_lead_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Votes take ~8 slots (3.2 s); each creator rugs ~2 s after its launch: the stop loss
    fires while the bot's BUY (landed long before) is unconfirmed, the SELL lands, and the
    summary says how much sooner than the classic flow — with the books exact."""
    sim_clock_starts_when_trading(monkeypatch)  # both launches come while the bot listens
    scenario = tmp_path / "slow_votes_rug.toml"
    scenario.write_text(SLOW_VOTES_RUG)
    out, db = tmp_path / "summary.json", tmp_path / "run.db"
    code = cli.main(
        [
            "run", "--sim", "--scenario", str(scenario), "--duration", "9", "--grace", "15",
            "--db", str(db), "--summary-json", str(out), "--no-dashboard",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(out.read_text())
    check_summary(summary)
    pre, lead = (
        summary["pre_confirmation_sells_this_run"],
        summary["pre_confirmation_lead_this_run"],
    )
    assert pre["succeeded"] >= 1
    assert lead["sells"] == pre["succeeded"]
    assert lead["median_seconds"] > 0.4  # at least a slot before the confirmation was seen
    assert lead["total_seconds"] >= lead["median_seconds"]
    text = capsys.readouterr().out
    assert "they landed sooner than the classic flow" in text
    assert f"database: {db} (read it with: python -m trio_trader report --db {db})" in text


def test_run_sim_paper_trades_and_writes_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_clock_starts_when_trading(monkeypatch)  # 4 s of trading, whatever the start-up took
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


async def test_live_mode_trades_on_any_endpoint_given_by_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run --config`` wiring (env key, RPC balances) against the simulator as the endpoint."""
    import argparse
    import gc

    import trio
    from solders.keypair import Keypair

    from tests.app_runs import duration_counts_from, launch_coin
    from tests.scenario.harness import SOL, until_listening
    from trio_trader import app
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
            args = argparse.Namespace(sim=False, duration=3.0, grace=10.0, db=None)
            launched = trio.Event()
            duration_counts_from(monkeypatch, launched)
            gc_while_trading: list[int | bool] = []

            async def launch_once_trading() -> None:
                await until_listening(sim)  # not a fixed delay: start-up takes what load makes it
                gc_while_trading.extend((gc.get_freeze_count(), gc.isenabled()))
                await launch_coin(sim, creator, "Live")
                launched.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(launch_once_trading)
                summary, control = await app.run(args, config)
    assert (control.reason, control.forced) == ("duration", False)
    # start-up's objects frozen while trading (gctune), automatic collection off (the passes
    # run at idle: gcidle); thawed and back on once the run is over
    assert gc_while_trading[0] > 10_000
    assert gc_while_trading[1] is False
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    assert summary["balances_source"] == "rpc"
    assert summary["balances_error"] is None
    assert summary["positions_this_run"]["opened"] == 1
    assert summary["positions_this_run"]["closed"] == 1
    change = summary["wallet_sol_change_this_run_lamports"]
    assert change == summary["realized_pnl_this_run_lamports"] != 0
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
            "latency": {"spin": True},
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
    assert s.spin is True
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


def test_no_arguments_print_help_and_run_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trio_trader import app

    monkeypatch.setattr(app, "main", lambda args: pytest.fail("no arguments must not run"))
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trio-trader")
    for command in ("run", "sim", "positions", "report"):
        assert f"    {command} " in out


def test_dev_py_run_without_arguments_is_the_finite_demo_and_names_its_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("dev", Path(__file__).parents[1] / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    args = dev.demo_args()
    out = capsys.readouterr().out
    assert args[:3] == ["--sim", "--duration", "120"]
    assert args[3] == "--db"
    db = args[4]
    assert "2 minutes" in out
    assert f"its database: {db}" in out
    assert f"report --db {db}" in out
    parsed = cli.build_parser(only="run").parse_args(["run", *args])
    assert (parsed.sim, parsed.duration, parsed.db) == (True, 120.0, Path(db))


async def test_stop_balances_are_read_in_one_batch_from_both_token_programs(
    tmp_path: Path,
) -> None:
    """Held tokens of a Token-2022 and an SPL Token mint: one getMultipleAccounts."""
    import trio

    from tests.scenario.harness import running_bot
    from trio_trader.pump import addresses

    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"never_sell": True}}) as h:
            await h.launch("Two")
            await h.launch("Legacy", legacy=True)

            async def both_bought() -> bool:
                positions = await h.positions()
                return len(positions) == 2 and all(p.is_active for p in positions)

            await h.wait_until(both_bought)
            positions = await h.positions()
            assert {p.token_info.token_program for p in positions} == {
                addresses.TOKEN_PROGRAM_ID,
                addresses.TOKEN_2022_PROGRAM_ID,
            }
            before = h.rpc.stats.by_method.copy()
            balances = await summary_mod.token_balances(h.rpc, h.wallet.pubkey(), positions * 60)
            sent = h.rpc.stats.by_method - before
    expected = {str(p.mint): h.token_balance(p.mint) for p in positions}
    assert balances == expected
    assert all(amount > 0 for amount in balances.values())
    # 120 entries but 2 distinct accounts: one request, and never one per position
    assert sent == {"getMultipleAccounts": 1}


def test_token_account_amount_reads_the_u64_at_offset_64() -> None:

    data = bytes(32) + bytes(32) + (123_456_789_012).to_bytes(8, "little") + bytes(93)
    assert summary_mod.token_account_amount(data) == 123_456_789_012
    with pytest.raises(ValueError, match="not a token account"):
        summary_mod.token_account_amount(data[:71])


async def test_summary_counts_this_runs_positions_and_counters_only(tmp_path: Path) -> None:
    """PnL and the wallet change cover the same run: an older run's rows are left out."""
    from solders.pubkey import Pubkey

    from tests.store.factories import make_token_info
    from trio_trader.store import open_repository
    from trio_trader.trading.position import Position

    def position(seed: int, created: float, closed: float | None, pnl: int) -> Position:
        p = Position.create_from_token_info(make_token_info(seed), created_at=created)
        if closed is not None:
            p.is_closed, p.closed_at, p.realized_pnl_lamports = True, closed, pnl
        return p

    async with open_repository(tmp_path / "s.db") as repo:
        for p in (
            position(1, 100.0, 150.0, -7_000),  # an older run's: created and closed before
            position(2, 100.0, 250.0, 5_000),  # resumed by this run and closed in it
            position(3, 210.0, 260.0, 11_000),  # this run's
            position(4, 220.0, None, 0),  # this run's, still open
            position(5, 90.0, None, 0),  # an older run's, still open
        ):
            await repo.insert_position(p)
            if p.is_closed:
                closed_at = p.closed_at
                await repo.update_position(p)
                assert p.closed_at == closed_at
        await repo.increment_counter("pre_confirmation_sells", 4)
        start = startup.RunStart(wall=200.0, counters={"pre_confirmation_sells": 3})
        summary = await summary_mod.build_summary(
            repo, None, wallet=Pubkey.default(), start=start, wallet_sol_change=16_000,
            token_balances={"m": 0}, source="rpc",
        )  # fmt: skip
    assert summary["positions_this_run"] == {"opened": 3, "closed": 2, "open": 1, "buy_failed": 0}
    assert summary["realized_pnl_this_run_lamports"] == 16_000
    assert summary["wallet_sol_change_this_run_lamports"] == 16_000
    assert summary["pre_confirmation_sells_this_run"] == {"sent": 1, "succeeded": 0}
    assert summary["counters_this_run"] == {"pre_confirmation_sells": 1}
    assert summary["open_positions_in_database"] == 2
    assert summary["token_balances"] == {}
    assert summary["pre_confirmation_lead_this_run"] == {
        "sells": 0,
        "median_seconds": None,
        "total_seconds": 0,
    }
    text = summary_mod.format_summary(summary)
    assert "realised PnL this run: +0.000016000 SOL" in text
    assert "open positions in the database: 2" in text
    assert "landed sooner" not in text  # no pre-confirmation SELL succeeded


def _trade(
    position_id: int,
    side: str,
    *,
    sent: float,
    recorded: float,
    early: bool = False,
    success: bool = True,
) -> object:
    from trio_trader.store import TradeRecord

    return TradeRecord(
        id=0, position_id=position_id, mint="m", side=side, attempt=1,
        state="confirmed" if success else "failed", success=success, signature=None,
        token_amount=None, sol_amount=None, sol_limit=None, sol_change=None,
        token_change=None, fee_lamports=None, slot=None, error=None, error_code=None,
        error_name=None, error_message=None, sent_at=sent, recorded_at=recorded,
        sent_before_buy_confirmed=early,
    )  # fmt: skip


def test_pre_confirmation_lead_is_sell_sent_to_buy_confirmation_seen() -> None:
    trades = [
        _trade(1, "buy", sent=100.0, recorded=101.5),  # BUY seen confirmed at 101.5
        _trade(1, "sell", sent=100.7, recorded=102.0, early=True),  # 0.8 s sooner
        _trade(2, "buy", sent=200.0, recorded=201.0),
        _trade(2, "sell", sent=200.2, recorded=200.9, early=True, success=False),  # failed
        _trade(2, "sell", sent=201.2, recorded=202.0),  # a classic SELL: no lead
        _trade(3, "buy", sent=300.0, recorded=302.0),
        _trade(3, "sell", sent=300.4, recorded=302.5, early=True),  # 1.6 s sooner
        _trade(4, "sell", sent=400.4, recorded=402.5, early=True),  # BUY row missing
        _trade(5, "buy", sent=50.0, recorded=51.0),
        _trade(5, "sell", sent=50.5, recorded=51.5, early=True),  # before the run
    ]
    leads = summary_mod.pre_confirmation_leads(trades, since=90.0)  # type: ignore[arg-type]
    assert leads == pytest.approx({1: 0.8, 3: 1.6})
    totals = summary_mod.lead_totals(leads)
    assert totals["sells"] == 2
    assert totals["median_seconds"] == pytest.approx(1.2)
    assert totals["total_seconds"] == pytest.approx(2.4)
    summary = {
        "wallet": "w", "positions_this_run": {"opened": 3, "closed": 3, "open": 0,
        "buy_failed": 0}, "pre_confirmation_sells_this_run": {"sent": 3, "succeeded": 2},
        "pre_confirmation_lead_this_run": totals, "realized_pnl_this_run_lamports": 0,
        "wallet_sol_change_this_run_lamports": 0, "balances_source": "rpc",
        "open_positions_in_database": 0, "token_balances": {},
    }  # fmt: skip
    text = summary_mod.format_summary(summary)
    assert "SELLs sent before their BUY confirmed: 3 (2 succeeded)" in text
    assert "median 1.20 s, total 2.40 s over 2 SELLs" in text


async def test_a_wallet_that_cannot_pay_one_buy_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    import trio
    from solders.keypair import Keypair

    from tests.scenario.harness import SOL
    from trio_trader import app
    from trio_trader.budget import BuyRents
    from trio_trader.config import load_config
    from trio_trader.sim import open_sim

    wallet = Keypair()
    monkeypatch.setenv("POOR_KEY", str(wallet))
    with trio.fail_after(30):
        async with open_sim(None, slot_time=0.05, fund={wallet.pubkey(): SOL // 5}) as sim:
            config_file = tmp_path / "poor.toml"
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}"]\nws_url = "{sim.ws_url}"\n'
                '[wallet]\nprivate_key_env = "POOR_KEY"\n'
                '[trade]\nbuy_amount_sol = "0.2"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{tmp_path / "poor.db"}"\n'
            )
            config = load_config(config_file)
            args = argparse.Namespace(sim=False, duration=30.0, grace=1.0, db=None)
            with pytest.raises(BaseExceptionGroup) as info:
                await app.run(args, config)
            async with app.RpcClient((sim.rpc_url,)) as rpc:
                cost = startup.buy_cost(config, await BuyRents.load(rpc))
    error = app._single_leaf(info.value)
    assert isinstance(error, startup.StartupError)
    assert str(error) == (
        f"wallet {wallet.pubkey()} holds 0.200000000 SOL, less than one BUY can cost "
        f"({cost / SOL:.9f} SOL: trade.buy_amount_sol 0.2 + 1500 bps slippage, rent and fees); "
        "fund the wallet or lower trade.buy_amount_sol"
    )
    assert 0.23 * SOL < cost < 0.24 * SOL
