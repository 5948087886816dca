"""One process per database and per wallet: OS file locks (``store._lock``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trio_trader.store import LockHeld, db_lock_path, exclusive_lock, wallet_lock_path

HOLD = """
import sys, time
from pathlib import Path
from trio_trader.store import exclusive_lock
with exclusive_lock(Path(sys.argv[1]), "database x"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_second_holder_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    lock = db_lock_path(tmp_path / "bot.db")
    assert lock == tmp_path / "bot.db.lock"
    with exclusive_lock(lock, "database bot.db"):
        assert lock.read_text() == f"{os.getpid()}\n"
        with pytest.raises(LockHeld) as info, exclusive_lock(lock, "database bot.db"):
            pass
        message = str(info.value)
        assert message.startswith(f"database bot.db is in use by process {os.getpid()}")
        assert str(lock) in message
    with exclusive_lock(lock, "database bot.db"):  # released: taken again
        pass
    assert lock.exists()  # never deleted (see the module docstring)


def test_a_lock_held_by_another_process_names_its_pid(tmp_path: Path) -> None:
    lock = tmp_path / "other.lock"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(LockHeld, match=f"process {holder.pid}"), exclusive_lock(lock, "x"):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with exclusive_lock(lock, "x"):  # the holder exited: its lock went with it
        pass


def test_wallet_locks_live_in_the_lock_directory(tmp_path: Path) -> None:
    key = "Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5"
    assert wallet_lock_path(key, {"TRIO_TRADER_LOCK_DIR": str(tmp_path)}) == (
        tmp_path / f"{key}.lock"
    )
    assert wallet_lock_path(key, {"XDG_RUNTIME_DIR": "/run/user/7"}) == Path(
        f"/run/user/7/trio-trader/locks/{key}.lock"
    )
    assert wallet_lock_path(key, {}) == Path.home() / ".cache/trio-trader/locks" / f"{key}.lock"
