"""Options every command takes (``--version``, ``-v`` before or after the subcommand,
``--log-file``/``--log-json``), ``--config`` for ``positions``/``report``, JSON output into a
pipe its reader closed, and the start-up banner of a ``run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.test_report import build_database
from trio_trader import __version__, cli
from trio_trader.config import parse_config
from trio_trader.ui.banner import banner_lines

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    trio.run(build_database, path)
    return path


def _python(*args: str, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "trio_trader", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"trio-trader {__version__}\n"


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["report", "--db", "x"], 0),
        (["-v", "report", "--db", "x"], 1),
        (["report", "-v", "--db", "x"], 1),
        (["report", "--db", "x", "-vv"], 2),
        (["-v", "report", "-v", "--db", "x"], 2),
    ],
)
def test_verbose_is_accepted_after_the_subcommand(argv: list[str], verbose: int) -> None:
    args = cli.build_parser(only="report").parse_args(argv)
    assert args.verbose + getattr(args, "verbose_after", 0) == verbose


def test_log_options_after_the_subcommand_override_those_before() -> None:
    parser = cli.build_parser(only="run")
    args = parser.parse_args(["--log-file", "a.log", "run", "--sim", "--log-json"])
    assert (args.log_file, args.log_json) == (Path("a.log"), True)
    args = parser.parse_args(["--log-file", "a.log", "run", "--log-file", "b.log"])
    assert (args.log_file, args.log_json) == (Path("b.log"), False)


@pytest.mark.parametrize("command", ["report", "positions"])
def test_json_into_a_closed_pipe_is_no_traceback(command: str, database: Path) -> None:
    proc = _python(command, "--json", "--db", str(database))
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the command writes a byte
    _, err = proc.communicate(timeout=60)
    assert err.decode() == ""
    assert proc.returncode == 0


def test_report_and_positions_take_the_database_from_the_config(
    tmp_path: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[db]\npath = "{database}"\n', encoding="utf-8")
    assert cli.main(["report", "--json", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["database"], report["positions"]["opened"]) == (str(database), 7)
    assert cli.main(["positions", "--json", "--status", "open", "--config", str(config)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [7, 6, 5]
    assert cli.main(["report", "--json", "--db", str(database), "--config", "nowhere"]) == 0
    capsys.readouterr()  # --db wins over --config


def test_report_without_a_database_or_with_a_bad_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report"]) == 2
    assert capsys.readouterr().err == "report: give --db FILE or --config FILE\n"
    bad = tmp_path / "bad.toml"
    bad.write_text("[db]\npaht = 'x'\n", encoding="utf-8")
    assert cli.main(["positions", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("positions: config error: ")
    assert err.count("\n") == 1


def test_positions_show_token_amounts_with_the_mints_decimals(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["positions", "--db", str(database), "--status", "open"]) == 0
    # factories' TOKENS = 35_612_345_678_901 base units of a 6-decimal mint
    assert "35,612,345.678901" in capsys.readouterr().out


@pytest.mark.usefixtures("restore_logging")
def test_an_unwritable_log_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert cli.main(["report", "--log-file", str(blocker / "x.log"), "--db", "x"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot write the log file ")


def test_the_banner_masks_api_keys_and_states_money_and_rules() -> None:
    config = parse_config(
        {
            "rpc": {
                "endpoints": [
                    "https://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc",
                    "https://x.solana-mainnet.quiknode.pro/4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b/",
                ],
                "ws_url": "wss://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc",
            },
            "trade": {"buy_amount_sol": "0.05", "max_active_mints": 4, "max_buys": 10},
            "exits": {"take_profit_pct": 25.0, "stop_loss_pct": 12.5, "max_hold_time": 30.0},
        },
        env={"TRIO_TRADER_PRIVATE_KEY": "not-shown"},
    )
    lines = banner_lines(
        config, mode="LIVE trading with real SOL", wallet="Wa11et", balance=1_234_567_890,
        endpoints=config.rpc.endpoints, ws_url=config.rpc.ws_url,
    )  # fmt: skip
    text = "\n".join(lines)
    assert "0b7c2f3e" not in text
    assert "4f1e9a8b" not in text
    assert "not-shown" not in text
    assert lines[0] == "trio-trader: LIVE trading with real SOL"
    assert "  balance   1.23456789 SOL" in lines
    assert (
        "  RPC       https://mainnet.helius-rpc.com/?api-key=***, "
        "https://x.solana-mainnet.quiknode.pro/***/"
    ) in lines
    assert "wss://mainnet.helius-rpc.com/?api-key=*** (logs, processed)" in text
    assert "take profit +25 %, stop loss -12.5 %, max hold 30 s" in text
    assert "0.05 SOL each" in text
    assert "4 positions at once, 10 BUYs in all" in text
