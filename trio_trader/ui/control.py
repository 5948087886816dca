"""``python -m trio_trader pause | resume --db PATH | --config FILE``, and what ``sell`` shares.

A control command talks to the bot running on the same database through its ``commands``
table (see ``trading/control.py``): it inserts one row, waits up to ``COMMAND_TTL``
seconds for the bot to write the result, and prints it. It never takes the bot's lock
and never creates or migrates a database: a missing file, or one without the commands
table, is an error. When no bot answers in time
the row is expired (so a bot started later does not act on it) and the command says so.

Exit codes: 0 the bot did it, 1 the bot refused it (its ``error: …`` line) or no bot
answered, 2 bad arguments or an unreadable database.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import trio

from trio_trader.store import Command, Repository, SchemaError, open_repository
from trio_trader.trading.control import COMMAND_TTL

#: seconds between two reads of the command's row while waiting for the bot
WAIT_POLL = 0.1
EXIT_DONE, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
NOT_RUNNING = "no running bot took the command within {:.0f} s (is the bot running on {}?)"


class ControlError(Exception):
    """The command cannot be sent; the message is the line the user reads."""


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db`` / ``--config``: the running bot's database."""
    parser.add_argument("--db", type=Path, default=None, help="the running bot's SQLite file")
    parser.add_argument(
        "--config", type=Path, default=None, help="the running bot's TOML config (its db.path)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pause`` and ``resume``."""
    add_db_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """``pause`` or ``resume`` (the subcommand's name is the command's kind)."""
    return run_command(args, args.command, None)


def run_command(args: argparse.Namespace, kind: str, arg: str | None) -> int:
    """Send one command to the bot of ``--db``/``--config``, print its result."""
    from trio_trader.ui.report import ReportError, database_path

    try:
        path = database_path(args)
        command = send_command(path, kind, arg, wait=COMMAND_TTL)
    except (ReportError, ControlError) as exc:
        print(f"{kind}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if command is None:
        print(f"{kind}: {NOT_RUNNING.format(COMMAND_TTL, path)}", file=sys.stderr)
        return EXIT_REFUSED
    result = command.result or ""
    if result.startswith("error:") or result.startswith("expired:"):
        print(f"{kind}: {result}", file=sys.stderr)
        return EXIT_REFUSED
    print(result)
    return EXIT_DONE


def send_command(path: Path, kind: str, arg: str | None, *, wait: float) -> Command | None:
    """Insert the command, wait up to ``wait`` s for the bot; None if no bot took it.

    Raises:
        ControlError: no database at ``path``, or it cannot be used.
    """
    if not path.is_file() or path.stat().st_size == 0:
        raise ControlError(f"no bot database at {path}")
    try:
        _check_ready(path)
        return trio.run(_send, path, kind, arg, wait)
    except SchemaError as exc:
        raise ControlError(f"{path}: {exc}") from None
    except sqlite3.Error as exc:
        raise ControlError(f"{path}: cannot use it ({exc})") from None


def _check_ready(path: Path) -> None:
    """Refuse a database without the commands table, read-only: never create or migrate
    a schema here (the bot may be creating it this very instant)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'commands'"
        ).fetchone()
    finally:
        conn.close()
    if found is None:
        raise ControlError(
            f"{path} has no commands table: not a database of a running trio-trader of this "
            "version (start the bot on it first)"
        )


async def _send(path: Path, kind: str, arg: str | None, wait: float) -> Command | None:
    async with open_repository(path) as repo:
        command_id = await repo.insert_command(kind, arg)
        done = await _wait_done(repo, command_id, wait)
        if done is not None:
            return done
        if await repo.expire_command(command_id):
            return None
        # The bot took it just now: its result follows (acting takes no network call).
        return await _wait_done(repo, command_id, wait)


async def _wait_done(repo: Repository, command_id: int, wait: float) -> Command | None:
    with trio.move_on_after(wait):
        while True:
            command = await repo.get_command(command_id)
            if command is not None and command.done_at is not None:
                return command
            await trio.sleep(WAIT_POLL)
    return None
