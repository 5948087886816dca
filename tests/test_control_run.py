"""``run`` serves the control commands: the app wires the command server beside the trader."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.app_runs import sim_clock_starts_when_trading
from trio_trader import cli
from trio_trader.store import Command
from trio_trader.ui.control import send_command


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "locks"
    monkeypatch.setenv("TRIO_TRADER_LOCK_DIR", str(path))
    return path


def _ready(db: Path) -> bool:
    """The bot created its schema (the commands table exists)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        sql = "SELECT 1 FROM sqlite_master WHERE name = 'commands'"
        return conn.execute(sql).fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def test_run_sim_answers_pause_from_another_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_clock_starts_when_trading(monkeypatch)  # the bot serves commands for the whole 5 s
    db = tmp_path / "run.db"
    summary = tmp_path / "summary.json"
    answers: list[Command | None] = []

    def other_terminal() -> None:
        deadline = time.monotonic() + 30
        while not _ready(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        answers.append(send_command(db, "pause", None, wait=20))

    thread = threading.Thread(target=other_terminal)
    thread.start()
    try:
        code = cli.main(
            [
                "run", "--sim", "--scenario", "scripted_60s", "--seed", "1", "--duration", "5",
                "--grace", "10", "--db", str(db), "--summary-json", str(summary),
            ]
        )  # fmt: skip
    finally:
        thread.join(timeout=40)
    assert code == 0
    (answer,) = answers
    assert answer is not None
    assert answer.done_at is not None
    assert answer.result is not None
    assert answer.result.startswith("buying paused")
    assert json.loads(summary.read_text())["positions_this_run"]["open"] == 0
