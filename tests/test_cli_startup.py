"""``run`` start-up and shutdown: signals at any phase, unreachable endpoints, exit codes.

The signal tests run the bot as a subprocess (``python -m trio_trader run …``) and act on
what it logs: a reader thread collects stderr lines, and each step waits (bounded) for
the line that proves the phase it wants, so no test depends on how fast the machine is.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.app_runs import sim_clock_starts_when_trading
from tests.test_app import check_summary
from trio_trader import app, cli

ROOT = Path(__file__).resolve().parents[1]
#: generous: a slow CI machine; a passing run waits only as long as the bot needs
PATIENCE = 90.0


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "locks"
    monkeypatch.setenv("TRIO_TRADER_LOCK_DIR", str(path))
    return path


class BotProcess:
    """``python -m trio_trader ARGS`` with its stderr lines readable as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trio_trader", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8", cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
                 "PYTHONIOENCODING": "utf-8", **(env or {})},
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for line in self.proc.stderr:
                self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str) -> str:
        """The first stderr line (from here on) matching ``pattern``; fails on exit/timeout."""
        regex = re.compile(pattern)
        while True:
            try:
                line = self.lines.get(timeout=PATIENCE)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in {PATIENCE} s") from None
            if line is None:
                raise AssertionError(f"exited before {pattern!r}:\n{''.join(self.stderr)}")
            self.stderr.append(line)
            if regex.search(line):
                return line

    def finish(self) -> tuple[int, str, str]:
        """Wait for the exit: (code, stdout, all of stderr)."""
        assert self.proc.stdout is not None
        try:
            with self.proc.stdout:
                stdout = self.proc.stdout.read()
            code = self.proc.wait(timeout=PATIENCE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        while (line := self.lines.get(timeout=PATIENCE)) is not None:
            self.stderr.append(line)
        return code, stdout, "".join(self.stderr)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable_config(tmp_path: Path) -> Path:
    port = closed_port()
    config = tmp_path / "down.toml"
    config.write_text(
        f'[rpc]\nendpoints = ["http://127.0.0.1:{port}"]\nws_url = "ws://127.0.0.1:{port}"\n'
        "max_retries = 0\n"
        '[wallet]\nprivate_key_env = "DOWN_TEST_KEY"\n'
        "[exits]\nsell_after = 1.0\n"
        f'[db]\npath = "{tmp_path / "down.db"}"\n'
    )
    return config


def test_sigint_shuts_down_gracefully_and_still_reports(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    bot = BotProcess(
        "run", "--sim", "--scenario", "scripted_60s", "--seed", "2", "--grace", "10",
        "--summary-json", str(out),
    )  # fmt: skip
    bot.wait_for(r"trading: wallet")
    bot.wait_for(r"buy \w+ attempt 1: SENT → CONFIRMED")  # a position holds tokens
    bot.proc.send_signal(signal.SIGINT)
    code, stdout, stderr = bot.finish()
    assert code == app.EXIT_OK, stderr[-2000:]
    assert "positions this run:" in stdout
    assert "signal SIGINT: shutting down gracefully" in stderr
    summary = json.loads(out.read_text())
    check_summary(summary)
    assert summary["positions_this_run"]["opened"] >= 1


def test_sigterm_while_the_rpc_is_unreachable_at_start_stops_cleanly(tmp_path: Path) -> None:
    from solders.keypair import Keypair

    bot = BotProcess(
        "run", "--config", str(unreachable_config(tmp_path)), "--summary-json",
        str(tmp_path / "s.json"), env={"DOWN_TEST_KEY": str(Keypair())},
    )  # fmt: skip
    line = bot.wait_for(r"start-up: getGenesisHash: endpoint unreachable")
    assert "retrying in" in line
    bot.wait_for(r"start-up: getGenesisHash: endpoint unreachable")  # it keeps retrying
    bot.proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = bot.finish()
    assert code == app.EXIT_OK, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "signal SIGTERM: shutting down gracefully" in stderr
    assert "stopped during start-up (SIGTERM): nothing traded" in stderr
    # the summary is printed although no balance could be read, and the exit code is 0
    assert "wallet SOL change this run (rpc): unknown" in stdout
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["wallet_sol_change_this_run_lamports"] is None
    assert summary["token_balances"] is None
    assert "cannot read the balances" in summary["balances_error"]
    assert summary["positions_this_run"]["opened"] == 0


def test_sigint_during_sim_start_up_still_ends_with_a_summary(tmp_path: Path) -> None:
    """Whatever phase it lands in (identity, funds, wiring, recovery), the stop is clean."""
    bot = BotProcess("run", "--sim", "--scenario", "scripted_60s", "--grace", "10")
    bot.wait_for(r"simulator at http://127\.0\.0\.1:\d+")
    bot.proc.send_signal(signal.SIGINT)
    code, stdout, stderr = bot.finish()
    assert code == app.EXIT_OK, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "signal SIGINT: shutting down gracefully" in stderr
    assert "positions this run:" in stdout
    assert "tokens left: none" in stdout


def test_a_second_signal_stops_at_once_with_130(tmp_path: Path) -> None:
    """never_sell: the graceful shutdown waits out its grace, until the second signal."""
    config = tmp_path / "hold.toml"
    config.write_text('[trade]\nbuy_amount_sol = "0.05"\n[exits]\nnever_sell = true\n')
    out = tmp_path / "summary.json"
    bot = BotProcess(
        "run", "--sim", "--config", str(config), "--scenario", "scripted_60s", "--seed", "3",
        "--grace", "600", "--summary-json", str(out),
    )  # fmt: skip
    bot.wait_for(r"buy \w+ attempt 1: SENT → CONFIRMED")
    bot.proc.send_signal(signal.SIGINT)
    bot.wait_for(r"stopping: no new buys")
    bot.proc.send_signal(signal.SIGINT)
    code, stdout, stderr = bot.finish()
    assert code == app.EXIT_FORCED == 130, stderr[-2000:]
    assert "second signal (SIGINT): stopping now" in stderr
    summary = json.loads(out.read_text())
    held = summary["positions_this_run"]["open"]
    assert held >= 1
    assert summary["open_positions_in_database"] == held
    assert f"open positions in the database: {held}" in stdout


def test_duration_ends_a_start_up_that_never_reaches_the_rpc(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from solders.keypair import Keypair

    caplog.set_level(logging.INFO, logger="trio_trader")
    monkeypatch.setenv("DOWN_TEST_KEY", str(Keypair()))
    config = unreachable_config(tmp_path)
    assert cli.main(["run", "--config", str(config), "--duration", "1.5"]) == app.EXIT_OK
    out, _ = capsys.readouterr()
    assert "start-up: getGenesisHash: endpoint unreachable" in caplog.text
    assert "stopped during start-up (duration)" in caplog.text
    assert "positions this run: 0 opened" in out
    assert "wallet SOL change this run (rpc): unknown" in out


def test_a_signal_before_trio_starts_is_served_once_it_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A signal noted by the early handler (before Trio's receiver) still stops the run."""
    caplog.set_level(logging.INFO, logger="trio_trader")
    args = cli.build_parser(only="run").parse_args(
        ["run", "--sim", "--db", str(tmp_path / "early.db")]
    )
    assert app._main(args, [signal.SIGTERM]) == app.EXIT_OK  # no --duration: only the signal
    assert "positions this run: 0 opened" in capsys.readouterr().out
    assert "stopped during start-up (SIGTERM)" in caplog.text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_command_is_being_loaded_stops_the_run_gracefully(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
) -> None:
    """The earliest instant ``run`` controls: before the bot's modules are even imported."""
    caplog.set_level(logging.INFO, logger="trio_trader")
    build_parser = cli.build_parser

    def signalled_build_parser(only: str | None = None) -> object:
        os.kill(os.getpid(), signum)  # delivered now, while the command is being loaded
        return build_parser(only)

    monkeypatch.setattr(cli, "build_parser", signalled_build_parser)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    code = cli.main(["run", "--sim", "--db", str(tmp_path / "s.db"), "--duration", "60"])
    assert code == app.EXIT_OK
    assert f"stopped during start-up ({signum.name})" in caplog.text
    assert "positions this run: 0 opened" in capsys.readouterr().out
    # the default handlers are back once the command returns
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_a_bad_duration_is_one_clear_line(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--sim", "--duration", value])
    assert info.value.code == app.EXIT_USAGE
    err = capsys.readouterr().err
    assert "argument --duration:" in err
    assert "Traceback" not in err


def test_a_config_without_exit_rules_does_not_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "no-exits.toml"
    config.write_text('[trade]\nbuy_amount_sol = "0.05"\n')
    assert cli.main(["run", "--sim", "--config", str(config)]) == app.EXIT_USAGE
    assert "config error: exits: no exit rule is set" in capsys.readouterr().err


# --------------------------------------------------------------------------- database


def test_a_second_bot_on_the_same_database_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trio_trader.store import exclusive_lock

    db = tmp_path / "bot.db"
    lock = tmp_path / "bot.db.lock"
    with exclusive_lock(lock, "database"):  # a running bot holds it
        assert cli.main(["run", "--sim", "--db", str(db)]) == app.EXIT_STARTUP_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"error: database {db} is in use by process {os.getpid()}" in err
    assert str(lock) in err
    assert not db.exists()  # refused before the database was touched


def test_a_second_bot_on_the_same_wallet_is_refused(
    tmp_path: Path, lock_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from solders.keypair import Keypair

    from trio_trader.store import exclusive_lock, wallet_lock_path

    wallet = Keypair()
    monkeypatch.setenv("DOWN_TEST_KEY", str(wallet))
    lock = wallet_lock_path(wallet.pubkey())
    assert lock.parent == lock_dir
    lock_dir.mkdir()
    with exclusive_lock(lock, "wallet"):
        code = cli.main(["run", "--config", str(unreachable_config(tmp_path))])
    assert code == app.EXIT_STARTUP_FAILED
    err = capsys.readouterr().err
    assert f"error: wallet {wallet.pubkey()} is in use by process {os.getpid()}" in err
    assert str(lock) in err


def test_a_database_of_another_run_is_refused_and_still_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ``--sim`` runs are two wallets on two clusters: the second must not resume."""
    sim_clock_starts_when_trading(monkeypatch)  # the first run claims the database first
    db = tmp_path / "sim.db"
    args = ["run", "--sim", "--scenario", "scripted_60s", "--db", str(db)]
    assert cli.main([*args, "--duration", "3", "--grace", "10"]) == app.EXIT_OK
    first = capsys.readouterr()
    wallet = re.search(r"wallet (\w+)", first.out)
    assert wallet is not None
    assert cli.main([*args, "--duration", "30"]) == app.EXIT_STARTUP_FAILED
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"error: database {db}: it belongs to wallet {wallet[1]} on the")
    assert err.endswith("use another --db")
    assert len(re.findall(r"genesis hash \w{32,44}", err)) == 2
    # report and positions read it as before
    assert cli.main(["report", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["positions"]["opened"] >= 0
    assert cli.main(["positions", "--db", str(db), "--json"]) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not sqlite" * 100, "cannot use it (file is not a database)"),
        (None, "database schema version 99 is newer than this code (6)"),
    ],
    ids=["corrupt", "newer"],
)
def test_an_unusable_database_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    import sqlite3

    from trio_trader.store._migrations import apply_migrations

    db = tmp_path / "bad.db"
    if content is not None:
        db.write_bytes(content)
    else:
        conn = sqlite3.connect(db)
        apply_migrations(conn, now=lambda: 1.0)
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', 1.0)")
        conn.commit()
        conn.close()
    assert cli.main(["run", "--sim", "--db", str(db)]) == app.EXIT_STARTUP_FAILED
    err = capsys.readouterr().err
    assert err == f"error: database {db}: {message}\n"


async def test_an_unreachable_websocket_is_retried_and_the_run_still_stops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    import trio
    from solders.keypair import Keypair

    from tests.scenario.harness import SOL
    from trio_trader.config import load_config
    from trio_trader.sim import open_sim

    caplog.set_level(logging.INFO, logger="trio_trader")
    wallet = Keypair()
    monkeypatch.setenv("WS_DOWN_KEY", str(wallet))
    with trio.fail_after(30):
        async with open_sim(None, slot_time=0.05, fund={wallet.pubkey(): SOL}) as sim:
            config_file = tmp_path / "ws-down.toml"
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}"]\nws_url = "ws://127.0.0.1:{closed_port()}"\n'
                '[wallet]\nprivate_key_env = "WS_DOWN_KEY"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{tmp_path / "ws.db"}"\n'
            )
            args = argparse.Namespace(sim=False, duration=2.0, grace=1.0, db=None)
            summary, control = await app.run(args, load_config(config_file))
    assert (control.reason, control.forced) == ("duration", False)
    assert "cannot connect" in caplog.text  # the pubsub client's retry lines
    assert "reconnecting in" in caplog.text
    assert summary["wallet_sol_change_this_run_lamports"] == 0
    assert summary["positions_this_run"]["opened"] == 0


async def test_an_endpoint_that_answers_with_an_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an outage (nothing to wait for): the JSON-RPC error ends the start-up."""
    import argparse

    import trio
    from solders.keypair import Keypair

    from trio_trader.config import load_config
    from trio_trader.sim import open_sim

    monkeypatch.setenv("ERR_KEY", str(Keypair()))
    with trio.fail_after(30):
        async with open_sim(None, slot_time=0.05) as sim:
            config_file = tmp_path / "err.toml"
            # the simulator's control path knows only its fault-knob methods
            config_file.write_text(
                f'[rpc]\nendpoints = ["{sim.rpc_url}/sim"]\nws_url = "{sim.ws_url}"\n'
                '[wallet]\nprivate_key_env = "ERR_KEY"\n[exits]\nsell_after = 0.5\n'
                f'[db]\npath = "{tmp_path / "err.db"}"\n'
            )
            args = argparse.Namespace(sim=False, duration=30.0, grace=1.0, db=None)
            with pytest.raises(BaseExceptionGroup) as info:
                await app.run(args, load_config(config_file))
    error = app._single_leaf(info.value)
    assert isinstance(error, app.StartupError)
    assert str(error).startswith("start-up: getGenesisHash failed: ")
    assert "\n" not in str(error)


def test_a_read_only_database_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's refusal to write (tests run as root, so it is raised where SQLite would)."""
    import sqlite3

    from trio_trader.store import _repository

    def read_only(path: str) -> object:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(_repository, "_connect", read_only)
    db = tmp_path / "ro.db"
    assert cli.main(["run", "--sim", "--db", str(db)]) == app.EXIT_STARTUP_FAILED
    assert capsys.readouterr().err == (
        f"error: database {db}: cannot use it (attempt to write a readonly database)\n"
    )
