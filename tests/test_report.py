"""The ``positions`` and ``report`` commands on a real database built with the real store."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.store.factories import (
    SOL_COST,
    TOKENS,
    make_buy_order,
    make_sell_order,
    make_token_info,
    send,
)
from trio_trader import cli
from trio_trader.store import Repository, open_repository
from trio_trader.trading.orders import BuyOrder
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

T0 = 1_780_000_000.0
FEE = 5_000
BUY_COST = SOL_COST + 10_000  # the wallet's SOL change of each confirmed BUY, negated

# realised PnL of each closed position (lamports)
WIN = 1_180_000_000 - BUY_COST  # sold after the BUY confirmed
EARLY_FAIL_THEN_LOSS = -FEE + 900_000_000 - BUY_COST  # early SELL failed, re-sent at a loss
EARLY_WIN = 1_050_000_000 - BUY_COST  # early SELL succeeded
BUY_FAILED = -FEE  # the failed BUY landed: its fee is lost
# trading PnL at the curve: SELL proceeds before the tx fee − the BUY's pump cost
TRADING = [1_180_000_000 + FEE - SOL_COST, 900_000_000 + FEE - SOL_COST,
           1_050_000_000 + FEE - SOL_COST, 0]  # fmt: skip


async def _bought(repo: Repository, ti: TokenInfo, n: int) -> tuple[Position, BuyOrder]:
    position = Position.create_from_token_info(ti)
    await repo.insert_position(position)
    buy = make_buy_order(ti)
    send(buy, n, at=float(n))
    position.update_from_buy_order(buy)
    await repo.update_position(position)
    return position, buy


async def _confirm_buy(repo: Repository, position: Position, buy: BuyOrder) -> None:
    result = buy.mark_confirmed(
        slot=100, fee_lamports=FEE, sol_change=-BUY_COST, token_change=TOKENS, pump_sol=SOL_COST
    )
    position.apply_buy_result(result)
    await repo.update_position(position, resolved=buy)


async def _sell(
    repo: Repository,
    position: Position,
    *,
    sol_change: int | None,
    error: str | None = None,
    reason: str | None = None,
    venue: str = "pump",
) -> None:
    """Send a SELL attempt and resolve it (the position flags it early if the BUY is pending)."""
    sell = make_sell_order(position.token_info, attempt=position.next_sell_attempt)
    sell.venue = venue
    send(sell, 10 + position.next_sell_attempt, at=20.0)
    position.update_from_sell_order(sell, exit_reason=reason)
    await repo.update_position(position)
    await _resolve_sell(repo, position, sol_change=sol_change, error=error)


async def _resolve_sell(
    repo: Repository, position: Position, *, sol_change: int | None, error: str | None
) -> None:
    sell = position.sell_order
    assert sell is not None
    if error is None:
        assert sol_change is not None
        result = sell.mark_confirmed(
            slot=101, fee_lamports=FEE, sol_change=sol_change, token_change=-TOKENS,
            pump_sol=sol_change + FEE,
        )  # fmt: skip
    else:
        result = sell.mark_failed(
            error_name=error, slot=101, fee_lamports=FEE, sol_change=sol_change, token_change=0
        )
    position.apply_sell_result(result)
    await repo.update_position(position, resolved=sell)


async def build_database(path: Path) -> None:
    """Seven positions: ids 1-3 closed, 4 BUY failed, 5-7 open."""
    clock = itertools.count()
    async with open_repository(path, now=lambda: T0 + next(clock)) as repo:
        # 1: bought, then sold at a profit
        p, buy = await _bought(repo, make_token_info(1), 1)
        await _confirm_buy(repo, p, buy)
        await _sell(repo, p, sol_change=1_180_000_000, reason="take_profit")
        # 2: SELL overtakes the BUY and fails; BUY confirms; re-sent SELL sells at a loss
        p, buy = await _bought(repo, make_token_info(2), 2)
        sell = make_sell_order(p.token_info, attempt=p.next_sell_attempt)
        send(sell, 30, at=3.0)
        p.update_from_sell_order(sell, exit_reason="stop_loss")
        await repo.update_position(p)
        await _resolve_sell(repo, p, sol_change=-FEE, error="AccountNotInitialized")
        await _confirm_buy(repo, p, buy)
        assert p.needs_sell_resend
        await _sell(repo, p, sol_change=900_000_000, venue="pumpswap")  # graduated meanwhile
        # 3: SELL overtakes the BUY and succeeds (the BUY confirms first on chain)
        p, buy = await _bought(repo, make_token_info(3), 3)
        sell = make_sell_order(p.token_info, attempt=p.next_sell_attempt)
        send(sell, 40, at=4.0)
        p.update_from_sell_order(sell, exit_reason="max_hold_time")
        await repo.update_position(p)
        await _confirm_buy(repo, p, buy)
        await _resolve_sell(repo, p, sol_change=1_050_000_000, error=None)
        # 4: the BUY fails on chain (fee charged): closed as failed
        p, buy = await _bought(repo, make_token_info(4), 4)
        p.apply_buy_result(
            buy.mark_failed(error_name="TooMuchSolRequired", fee_lamports=FEE, sol_change=-FEE)
        )
        await repo.update_position(p, resolved=buy)
        # 5: holding tokens
        p, buy = await _bought(repo, make_token_info(5), 5)
        await _confirm_buy(repo, p, buy)
        # 6: BUY sent, outcome unknown
        await _bought(repo, make_token_info(6), 6)
        # 7: holding, two SELLs failed on slippage
        p, buy = await _bought(repo, make_token_info(7), 7)
        await _confirm_buy(repo, p, buy)
        await _sell(repo, p, sol_change=-FEE, error="TooLittleSolReceived")
        await _sell(repo, p, sol_change=-FEE, error="TooLittleSolReceived")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "bot.db"
    trio.run(build_database, path)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_report_json_totals(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    report = run_json(capsys, "report", "--db", str(db), "--json")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # nothing written
    assert report["positions"] == {"opened": 7, "closed": 4, "open": 3, "buy_failed": 1}
    realised = WIN + EARLY_FAIL_THEN_LOSS + EARLY_WIN + BUY_FAILED
    assert realised == 99_656_970
    assert report["realized_pnl_lamports"] == realised
    assert report["realized_pnl_sol"] == "+0.099656970"
    assert report["trading_pnl_lamports"] == sum(TRADING) == 99_711_970
    assert report["trading_pnl_sol"] == "+0.099711970"
    assert report["estimated_positions"] == 0
    assert report["outcomes"] == {"wins": 2, "losses": 2, "breakeven": 0, "unsettled": 0}
    assert report["trades"] == {
        "buy_confirmed": 5,
        "buy_failed": 1,
        "sell_confirmed": 3,
        "sell_failed": 3,
    }
    assert report["pre_confirmation_sells"] == {"sent": 2, "succeeded": 1, "success_rate": 0.5}
    assert report["failed_trade_errors"] == {
        "TooLittleSolReceived": 2,
        "AccountNotInitialized": 1,
        "TooMuchSolRequired": 1,
    }
    assert report["unreadable_rows"] == 0
    assert report["database"] == str(db)
    assert report["sells_by_venue"] == {
        "pump": {"confirmed": 2, "failed": 3},
        "pumpswap": {"confirmed": 1, "failed": 0},
    }


def test_positions_json_rows(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "positions", "--db", str(db), "--json")
    assert [r["id"] for r in rows] == [7, 6, 5, 4, 3, 2, 1]
    by_id = {r["id"]: r for r in rows}
    assert [by_id[i]["status"] for i in range(1, 8)] == [
        "closed", "closed", "closed", "failed", "active", "pending", "active",
    ]  # fmt: skip
    assert [by_id[i]["realized_pnl_lamports"] for i in range(1, 8)] == [
        WIN, EARLY_FAIL_THEN_LOSS, EARLY_WIN, BUY_FAILED, None, None, None,
    ]  # fmt: skip
    assert [by_id[i]["trading_pnl_lamports"] for i in range(1, 8)] == [
        *TRADING, None, None, None,
    ]  # fmt: skip
    # position 2's latest SELL left after its BUY confirmed; its first did not
    assert [by_id[i]["sell_before_buy_confirmed"] for i in range(1, 8)] == [
        False, True, True, False, False, False, False,
    ]  # fmt: skip
    assert [by_id[i]["sell_attempts"] for i in range(1, 8)] == [1, 2, 1, 0, 0, 0, 2]
    assert [by_id[i]["sell_venue"] for i in range(1, 8)] == [
        "pump", "pumpswap", "pump", None, None, None, "pump",
    ]  # fmt: skip
    assert by_id[2]["sell_venues"] == ["pump", "pumpswap"]
    assert by_id[7]["sell_venues"] == ["pump", "pump"]
    assert [by_id[i]["exit_reason"] for i in range(1, 5)] == [
        "take_profit", "stop_loss", "max_hold_time", "buy_failed",
    ]  # fmt: skip
    one = by_id[1]
    assert (one["token_amount"], one["sol_spent_lamports"], one["sol_received_lamports"]) == (
        TOKENS, BUY_COST, 1_180_000_000,
    )  # fmt: skip
    assert one["realized_pnl_sol"] == "+0.169888990"
    assert by_id[2]["realized_pnl_sol"] == "-0.110116010"
    assert by_id[7]["sol_received_lamports"] == -2 * FEE
    assert by_id[6]["sol_spent_lamports"] == SOL_COST  # expected cost until the BUY confirms
    assert one["mint"] == str(make_token_info(1).mint)
    assert one["symbol"] == "T1"
    assert one["closed_at"] is not None
    assert one["closed_at"] > one["created_at"] >= T0


@pytest.mark.parametrize(
    ("extra", "ids"),
    [
        (["--status", "open"], [7, 6, 5]),
        (["--status", "closed"], [3, 2, 1]),
        (["--status", "failed"], [4]),
        (["--status", "open", "--limit", "2"], [7, 6]),
        (["--limit", "1"], [7]),
    ],
)
def test_positions_filters(
    db: Path, capsys: pytest.CaptureFixture[str], extra: list[str], ids: list[int]
) -> None:
    rows = run_json(capsys, "positions", "--db", str(db), "--json", *extra)
    assert [r["id"] for r in rows] == ids


def test_tables_show_the_key_cells(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["positions", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "+0.169888990" in out
    assert "-0.110116010" in out
    assert "take_profit" in out
    assert "buy_failed" in out
    assert "pending" in out
    assert "35,612,345.678901" in out  # TOKENS with the mint's 6 decimals
    assert "2 pumpswap" in out  # position 2's SELLs, the latest on the pool
    assert "1.180000000" in out
    mint = str(make_token_info(1).mint)
    assert f"T1 {mint[:4]}…{mint[-4:]}" in out

    assert cli.main(["report", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "+99656970" in out
    assert "+0.099711970" in out  # trading PnL
    assert "+0.099656970" in out
    assert "50.0 %" in out
    assert "TooLittleSolReceived" in out
    assert "AccountNotInitialized" in out
    assert "SELLs by venue" in out
    assert "pumpswap" in out
    assert "2 / 2 / 0" in out  # wins / losses / breakeven


@pytest.mark.parametrize("command", ["positions", "report"])
def test_missing_database_exits_2_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    missing = tmp_path / "nope" / "bot.db"
    assert cli.main([command, "--db", str(missing)]) == 2
    captured = capsys.readouterr()
    assert str(missing) in captured.err
    assert captured.out == ""
    assert not missing.exists()


def test_foreign_or_broken_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    assert cli.main(["report", "--db", str(other)]) == 2
    err = capsys.readouterr().err
    assert str(other) in err
    assert "not a trio-trader database" in err

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    assert cli.main(["positions", "--db", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert str(garbage) in err
    assert "not a database" in err

    empty = tmp_path / "empty.db"
    empty.touch()
    assert cli.main(["report", "--db", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err
    assert empty.stat().st_size == 0


def test_bad_limit_is_rejected_by_argparse(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["positions", "--db", str(db), "--limit", "0"])
    assert exc.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
