"""The stop summary reports each send endpoint of a fan-out (a live run on the simulator)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import trio
from solders.keypair import Keypair

from tests.app_runs import duration_counts_from, launch_coin
from tests.scenario.harness import SOL, until_listening
from trio_trader import app
from trio_trader import summary as summary_mod
from trio_trader.config import load_config
from trio_trader.sim import open_sim

KEY = "k3yAbCdEf0123456789xyz"  # a provider's API key in the second endpoint's URL


async def test_a_live_run_reports_every_send_endpoint_without_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wallet, creator = Keypair(), Keypair()
    monkeypatch.setenv("MY_TEST_KEY", str(wallet))
    with trio.fail_after(60):
        async with open_sim(
            None, slot_time=0.05, fund={wallet.pubkey(): 5 * SOL, creator.pubkey(): 100 * SOL}
        ) as sim:
            keyed = f"{sim.rpc_url}?api-key={KEY}"
            config_file = tmp_path / "live.toml"
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}"]\nws_url = "{sim.ws_url}"\n'
                f'send_endpoints = ["{sim.rpc_url}", "{keyed}"]\n'
                '[wallet]\nprivate_key_env = "MY_TEST_KEY"\n'
                '[trade]\nbuy_amount_sol = "0.2"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{tmp_path / "live.db"}"\n'
            )
            args = argparse.Namespace(sim=False, duration=3.0, grace=10.0, db=None)
            launched = trio.Event()
            duration_counts_from(monkeypatch, launched)

            async def launch_once_trading() -> None:
                await until_listening(sim)
                await launch_coin(sim, creator, "Fan")
                launched.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(launch_once_trading)
                summary, _ = await app.run(args, load_config(config_file))
    assert summary["positions_this_run"]["closed"] == 1  # a BUY and a SELL, both fanned out
    records = summary["send_endpoints_this_run"]
    assert [r["endpoint"] for r in records] == [sim.rpc_url, f"{sim.rpc_url}?api-key=***"]
    sent = {r["sent"] for r in records}
    assert len(sent) == 1  # the same bytes to both, every time
    count = sent.pop()
    for r in records:
        assert r["accepted"] + r["refused"] + r["unclear"] == count
    # a transaction has one first acceptance at most, on one endpoint or the other
    assert 2 <= sum(r["first"] for r in records) <= count
    text = summary_mod.format_summary(summary)
    assert "sendTransaction per send endpoint:" in text
    assert f"{sim.rpc_url}?api-key=***: " in text
    assert KEY not in text + repr(summary) + capsys.readouterr().out
