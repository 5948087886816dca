"""One bot per database and per wallet: exclusive OS file locks held for the process's life.

Two bots on one database would both resume the same positions and sell the same tokens
twice; two bots on one wallet would spend the same SOL and race each other's token
accounts. ``fcntl.flock(LOCK_EX | LOCK_NB)`` makes the second one fail at once, and the OS
releases the lock when the holder exits however it exits (even ``kill -9``), so a stale
lock file never blocks a restart. The lock file is never deleted (deleting it would let
a third process lock a new file while the second still waits on the old one); it holds
the holder's PID, for the message.

The wallet's lock lives in ``$TRIO_TRADER_LOCK_DIR`` when set (tests), else
``$XDG_RUNTIME_DIR/trio-trader/locks``, else ``~/.cache/trio-trader/locks``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover (CI is POSIX)
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


LOCK_DIR_ENV = "TRIO_TRADER_LOCK_DIR"


class LockHeld(RuntimeError):
    """Another process holds the lock; the message names the lock file and its PID."""


def db_lock_path(db_path: str | Path) -> Path:
    """The lock beside a database file: ``<db>.lock``."""
    return Path(f"{db_path}.lock")


def wallet_lock_path(pubkey: object, env: Mapping[str, str] | None = None) -> Path:
    """The lock of a wallet (its base58 pubkey) in the per-user lock directory."""
    env = os.environ if env is None else env
    if env.get(LOCK_DIR_ENV):
        directory = Path(env[LOCK_DIR_ENV])
    elif env.get("XDG_RUNTIME_DIR"):
        directory = Path(env["XDG_RUNTIME_DIR"]) / "trio-trader" / "locks"
    else:
        directory = Path.home() / ".cache" / "trio-trader" / "locks"
    return directory / f"{pubkey}.lock"


@contextmanager
def exclusive_lock(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    Args:
        path: the lock file.
        what: what it protects, for the message (``"database bot.db"``).
    Raises:
        LockHeld: another process holds it.
        OSError: the lock file cannot be created (the caller reports it).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            holder = _read_pid(fd)
            by = f"process {holder}" if holder else "another process"
            raise LockHeld(
                f"{what} is in use by {by} (another trio-trader?): lock file {path} is held"
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
