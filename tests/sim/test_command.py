"""``python -m trio_trader sim``: options, duration, signals and the summary file."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from solders.pubkey import Pubkey

from trio_trader.cli import build_parser
from trio_trader.sim import command


def _args(*argv: str) -> argparse.Namespace:
    return build_parser(only="sim").parse_args(["sim", *argv])


def test_fund_option_parses_sol_into_lamports() -> None:
    key = Pubkey.new_unique()
    args = _args("--fund", f"{key}=1.5", "--fund", f"{key}=0.000000001")
    assert args.fund == [(key, 1_500_000_000), (key, 1)]
    for bad in ("nokey=1", f"{key}", f"{key}=abc", f"{key}=0.0000000001", f"{key}=-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            command.parse_fund(bad)


async def test_runs_for_duration_and_writes_the_summary(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    wallet = Pubkey.new_unique()
    out = tmp_path / "ledger.json"
    args = _args(
        "--rpc-port", "0", "--ws-port", "0", "--scenario", "quiet", "--seed", "4",
        "--fund", f"{wallet}=2.5", "--ledger-out", str(out), "--duration", "20.2",
    )  # fmt: skip
    start = trio.current_time()
    with trio.fail_after(60):
        summary = await command.run(args)
    assert trio.current_time() - start == pytest.approx(20.2, abs=0.3)
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(summary))
    assert written["scenario"] == "quiet"
    assert written["seed"] == 4
    assert written["wallets"][str(wallet)] == {"lamports": 2_500_000_000, "tokens": {}}
    counts = written["transactions"]
    assert counts["landed"] > 0
    assert counts["landed"] + counts["failed"] <= counts["submitted"]
    assert written["slot"] == 50
    holders = [w for w in written["wallets"].values() if w["tokens"]]
    assert holders, "the quiet market's creators buy their own tokens"
    assert written["market"]["launches_submitted"] > 0


def test_sigterm_stops_the_process_and_writes_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "ledger.json"
    argv = [sys.executable, "-m", "trio_trader", "sim", "--rpc-port", "0", "--ws-port", "0"]
    argv += ["--scenario", "quiet", "--ledger-out", str(out)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("RPC http://127.0.0.1:"), line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    summary = json.loads(out.read_text())
    assert summary["scenario"] == "quiet"
    assert set(summary["transactions"]) >= {"landed", "failed", "dropped"}


def test_unknown_scenario_is_a_clean_error(tmp_path: Path) -> None:
    args = _args("--rpc-port", "0", "--ws-port", "0", "--scenario", "no-such-market")
    assert command.main(args) == 2
