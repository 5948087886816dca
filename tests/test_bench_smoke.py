"""``scripts/bench.py`` still runs: tiny measurements, shapes and counts only.

Benchmarks are not tests: nothing here asserts a duration. These tests only keep the
benchmark code from rotting silently as the layers it drives change.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_script", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_summary(summary: dict[str, Any], n: int) -> None:
    assert summary["n"] == n
    assert summary["min"] <= summary["p50"] <= summary["p99"] <= summary["max"]


def test_ledger_throughput_executes_every_transaction(bench: ModuleType) -> None:
    result = bench.sim_bench.ledger_throughput(n_tx=4, wallets=2)
    assert result["failed"] == 0
    for kind in ("pump_buy", "pump_sell", "system_transfer"):
        _assert_summary(result[f"{kind}_us"], 4)
        assert result[f"{kind}_tx_per_s"] > 0


async def test_hot_path_breakdown_times_every_part_of_every_buy(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.hot_path.hot_path_breakdown(n=4, warmup=1)
    for part in bench.report.HOT_PATH_PARTS:
        _assert_summary(result[part], 4)
    assert result["transactions_submitted"] == 5  # warm-up included, each a new signature
    table = bench.report.table({"hot_path_breakdown_us": result})
    assert "hot path: sign" in table
    assert "(n=4)" in table


async def test_zero_hold_run_sells_every_position_and_counts_its_rpc(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.bot_bench.zero_hold(2, pre_confirmation=True, spacing=0.05)
    assert result["positions"] == 2
    assert result["positions_left_open"] == 0
    _assert_summary(result["buy_sent_to_sell_sent_ms"], 2)
    _assert_summary(result["buy_to_sell_landing_slots"], 2)
    rpc = result["rpc"]
    assert rpc["by_method_per_position"]["sendTransaction"] >= 2  # a BUY and a SELL each
    assert rpc["ws_messages_sent_per_position"] >= 2  # a signatureSubscribe per order
