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
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from tests.sim.conftest import keypair
from trio_trader.cli import build_parser
from trio_trader.pump import instructions as I
from trio_trader.pump.addresses import FEE_RECIPIENTS, TOKEN_2022_PROGRAM_ID
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


async def test_summary_holds_a_funded_wallets_tokens_per_mint(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """A wallet given with --fund that trades shows its SOL and each mint's balance."""
    wallet, mint = keypair("cli-wallet"), keypair("cli-mint")
    out = tmp_path / "ledger.json"
    args = _args(
        "--rpc-port", "0", "--ws-port", "0", "--scenario", "quiet",
        "--fund", f"{wallet.pubkey()}=3", "--ledger-out", str(out), "--duration", "10.2",
    )  # fmt: skip
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            sim = await nursery.start(command.run, args)
            user, tp = wallet.pubkey(), TOKEN_2022_PROGRAM_ID
            ixs = [
                I.set_compute_unit_limit(400_000),
                I.create_v2(
                    mint=mint.pubkey(), user=user, creator=user, name="C", symbol="C", uri=""
                ),
                I.create_associated_token_account_idempotent(
                    payer=user, owner=user, mint=mint.pubkey(), token_program=tp
                ),
                I.buy(
                    user=user, mint=mint.pubkey(), creator=user, token_program=tp,
                    fee_recipient=FEE_RECIPIENTS[0], amount=10**12, max_sol_cost=10**9,
                ),
            ]  # fmt: skip
            blockhash, _ = sim.node.latest_blockhash("processed")
            message = MessageV0.try_compile(user, ixs, [], blockhash)
            sim.node.submit(bytes(VersionedTransaction(message, [wallet, mint])))
    written = json.loads(out.read_text())["wallets"][str(user)]
    assert written["tokens"] == {str(mint.pubkey()): 10**12}
    assert written["lamports"] == sim.ledger.balance(user)
    assert 2 * 10**9 < written["lamports"] < 3 * 10**9


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_process_and_writes_the_summary(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGTERM from a supervisor and Ctrl-C's SIGINT both end in a written summary."""
    wallet = Pubkey.new_unique()
    out = tmp_path / "ledger.json"
    argv = [sys.executable, "-m", "trio_trader", "sim", "--rpc-port", "0", "--ws-port", "0"]
    argv += ["--scenario", "quiet", "--fund", f"{wallet}=1.25", "--ledger-out", str(out)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("RPC http://127.0.0.1:"), line
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    summary = json.loads(out.read_text())
    assert summary["scenario"] == "quiet"
    assert summary["wallets"][str(wallet)] == {"lamports": 1_250_000_000, "tokens": {}}
    counts = summary["transactions"]
    assert set(counts) >= {"landed", "failed", "dropped"}
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())


def test_unknown_scenario_is_a_clean_error(tmp_path: Path) -> None:
    args = _args("--rpc-port", "0", "--ws-port", "0", "--scenario", "no-such-market")
    assert command.main(args) == 2
