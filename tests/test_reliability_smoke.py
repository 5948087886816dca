"""The short CI version of ``nox -s crashloop`` and ``nox -s soak`` (docs/reliability.md).

The real bot (``python -m trio_trader run --config …``) against the standalone simulator
(``python -m trio_trader sim``), both as subprocesses, then the audit of the database
against the ledger. A crash loop of 3 SIGKILLs (one outage longer than the node's status
cache) and a 15 s soak under the issue's fault mix; each must end 0 / 0 / 0 / 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from _reliability import audit, runs

pytestmark = pytest.mark.slow

SEED = 20261201


def assert_clean(report: dict[str, Any]) -> None:
    """Every audit figure is 0, with the evidence in the failure message."""
    figures = {name: report[name] for name in audit.FIGURES}
    assert figures == dict.fromkeys(audit.FIGURES, 0), (report["evidence"], report["run"])


def test_crash_loop_loses_nothing(tmp_path: Path) -> None:
    report = runs.crashloop(
        SEED, kills=3, seconds=10.0, out=tmp_path, slot_ms=25, final_seconds=4.0, grace=20.0
    )
    lives = report["run"]["lives"]
    assert [life["killed"] for life in lives] == [True, True, True, False]
    assert lives[-1]["exit"] == 0
    assert max(down for _up, down, _at_send in report["run"]["plan"]) > runs.status_cache_seconds(
        25
    )
    assert report["counts"]["landed_buys"] > 0  # the bot traded: the figures mean something
    assert_clean(report)


def test_fault_soak_loses_nothing(tmp_path: Path) -> None:
    report = runs.soak(SEED, 15.0, out=tmp_path, slot_ms=50, ws_drop_every=5.0, grace=20.0)
    assert report["run"]["faults"]["drop_probability"] == 0.1
    assert report["run"]["lives"][0]["exit"] == 0
    assert report["counts"]["landed_buys"] > 0
    assert_clean(report)


def test_kill_plan_is_seeded_and_has_one_long_outage() -> None:
    plan = runs.kill_plan(7, kills=20, seconds=180.0, long_outage=35.0)
    assert plan == runs.kill_plan(7, kills=20, seconds=180.0, long_outage=35.0)
    assert len(plan) == 20
    long = [kill for kill in plan if kill.downtime == 35.0]
    assert len(long) == 1
    assert long[0].at_send  # an order is in flight when the long outage starts
    assert all(0.1 <= kill.downtime <= 2.0 for kill in plan if kill is not long[0])


# ---------------------------------------------------------------- the audit's arithmetic


def _buy_tx(wallet: Any, mint: Any, sol_change: int, *, err: object = None) -> Any:
    """A landed pump BUY of ``wallet`` as getTransaction reports it (real event bytes)."""
    import base64

    from solders.pubkey import Pubkey

    from trio_trader.chain.types import TransactionInfo
    from trio_trader.pump.addresses import PUMP_PROGRAM_ID
    from trio_trader.pump.events import TradeEvent, encode_event

    event = TradeEvent(mint, 10**7, 10**12, True, wallet, 0, 1, 1, 1, 1)
    logs = (
        f"Program {PUMP_PROGRAM_ID} invoke [1]",
        f"Program data: {base64.b64encode(encode_event(event)).decode()}",
        f"Program {PUMP_PROGRAM_ID} success",
    )
    other = Pubkey.new_unique()
    return TransactionInfo(
        signature=None, slot=1, block_time=None, err=err, fee=5000, log_messages=logs,
        account_keys=(wallet, other), pre_balances=(10**9, 0),
        post_balances=(10**9 + sol_change, 0), pre_token_balances=(), post_token_balances=(),
    )  # fmt: skip


def _row(pid: int, mint: str, status: str, buy: str | None, **money: int) -> dict[str, Any]:
    closed = status in ("closed", "failed")
    spent, received = money.get("spent"), money.get("received")
    pnl = (received or 0) - (spent or 0) if closed else None
    return {
        "id": pid, "mint": mint, "status": status, "is_closed": closed, "sol_spent": spent,
        "sol_received": received, "realized_pnl_lamports": pnl, "buy_signature": buy,
        "sell_signature": None,
    }  # fmt: skip


def test_audit_counts_every_kind_of_loss() -> None:
    from solders.pubkey import Pubkey

    wallet, m1, m2, m3 = (Pubkey.new_unique() for _ in range(4))
    db = {
        "positions": [
            _row(1, str(m1), "closed", "A", spent=100, received=80),
            _row(2, str(m2), "active", "C", spent=30),
            _row(3, str(m3), "failed", "F"),  # the DB thinks this BUY never landed
        ],
        "trades": [],
    }
    txs = {
        "A": _buy_tx(wallet, m1, -100),
        "B": _buy_tx(wallet, m1, -50),  # landed, named by no position: lost, and m1 twice
        "C": _buy_tx(wallet, m2, -30),
        "D": _buy_tx(wallet, m2, -5, err={"InstructionError": [0, "Custom"]}),  # failed: no buy
        "E": None,  # never landed
        "F": _buy_tx(wallet, m3, -40),
    }
    report = audit.build_report(db, wallet, txs, {str(m2): 7, str(m3): 9}, 1000, 775, True)
    assert report["positions_lost"] == 3  # B unnamed, position 3 failed but bought, 2 open
    assert report["evidence"]["buys_landed_unnamed"] == ["B"]
    assert [p["id"] for p in report["evidence"]["positions_failed_but_bought"]] == [3]
    assert report["tokens_left"] == 2
    assert report["mints_bought_twice"] == 1
    assert report["evidence"]["mints_bought_twice"] == {str(m1): 2}
    # DB: -20 realised, -30 open cost, 0 for the failed one = -50; ledger: 775 - 1000 = -225
    assert report["pnl_mismatch_lamports"] == -50 - (-225)
    assert report["evidence"]["transactions_unknown_to_db"] == {"B": -50, "D": -5}
    differs = report["evidence"]["positions_pnl_differs"]
    assert [(d["id"], d["db_lamports"], d["ledger_lamports"]) for d in differs] == [
        (1, -20, -100),  # its SELL is named nowhere: the ledger shows only the BUY
        (3, 0, -40),
    ]
    assert audit.failures(report) == [
        "positions_lost=3", "tokens_left=2", "mints_bought_twice=1", "pnl_mismatch_lamports=175",
    ]  # fmt: skip


def test_audit_of_a_clean_run_is_all_zero() -> None:
    from solders.pubkey import Pubkey

    wallet, m1 = Pubkey.new_unique(), Pubkey.new_unique()
    db = {"positions": [_row(1, str(m1), "closed", "A", spent=20)], "trades": []}
    report = audit.build_report(db, wallet, {"A": _buy_tx(wallet, m1, -20)}, {}, 1000, 980, True)
    assert audit.failures(report) == []
    assert report["evidence"]["positions_pnl_differs"] == []


def test_a_kill_at_send_waits_for_a_send_line_not_a_state_change() -> None:
    sig = "4oji8DXtRrNhSFFFHygSMsVyDH2zSYabeAFpx2ETNiSvz4vmDeSfGCMnv4NDa7xucXdYcKaMDy5KM1Km2Jqa74kd"
    log = (
        f"INFO trio_trader.trading.orders: buy 98yw attempt 1: SENT {sig}\n"
        "INFO trio_trader.trading.orders: buy 98yw attempt 1: SENT → CONFIRMED slot=87\n"
        "INFO trio_trader.trading.orders: sell 98yw attempt 2: sent → FAILED (6003)\n"
        f"INFO trio_trader.trading.orders: sell 98yw attempt 2: SENT {sig}\n"
    )
    assert len(runs.SENT_LINE.findall(log)) == 2


def test_the_reproduce_command_keeps_the_options_but_not_the_run_directory() -> None:
    from _reliability import cli

    argv = ["--minutes", "3", "--seed=5", "--out", "/tmp/x", "--kills", "20", "--out=/tmp/y"]
    command = cli.reproduce("scripts/crashloop.py", argv, 5)
    assert command == "python scripts/crashloop.py --seed 5 --minutes 3 --kills 20"


def test_a_run_refuses_a_run_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "bot.db").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not empty"):
        runs.start("soak", 1, tmp_path, slot_ms=100)


def test_audit_checks_usdc_coins_in_usdc_and_their_fees_in_sol() -> None:
    """A USDC coin's PnL is compared with the wallet's USDC change, its SOL side (fees,
    rent) with the SOL change; the wallet's USDC is money, not a token left."""
    from solders.pubkey import Pubkey

    from trio_trader.pump.addresses import USDC_MINT

    wallet, m1 = Pubkey.new_unique(), Pubkey.new_unique()
    row = _row(1, str(m1), "closed", "A", spent=20)  # SOL side: -20 (fees and rent)
    row.update(quote_mint=str(USDC_MINT), quote_spent=5_000_000, quote_received=4_900_000,
               realized_pnl_quote=-100_000)  # fmt: skip
    db = {"positions": [row], "trades": []}
    txs = {"A": _buy_tx(wallet, m1, -20)}
    usdc = {str(USDC_MINT): 99_900_000}
    report = audit.build_report(db, wallet, txs, usdc, 1000, 980, True, initial_usdc=100_000_000)
    assert audit.failures(report) == []
    assert report["tokens_left"] == 0
    assert report["evidence"]["db_pnl_usdc_units"] == -100_000
    # the books off by one USDC base unit: caught, in USDC
    report = audit.build_report(db, wallet, txs, usdc, 1000, 980, True, initial_usdc=99_999_999)
    assert audit.failures(report) == ["pnl_mismatch_usdc=-1"]
