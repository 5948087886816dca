"""The ``commands`` table: queued by the CLI, taken once by the bot, expired when stale;
the database (the control channel) and its lock are created readable by the owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from trio_trader.store import db_lock_path, exclusive_lock, open_repository
from trio_trader.store._repository import EXPIRED_RESULT


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_command_is_taken_once_then_done_with_its_result(tmp_path: Path) -> None:
    clock = Clock()
    async with open_repository(tmp_path / "bot.db", now=clock) as repo:
        first = await repo.insert_command("pause", None)
        second = await repo.insert_command("sell", "position:3")
        clock.now += 1
        taken = await repo.take_commands(max_age=10)
        assert [(c.id, c.kind, c.arg, c.taken_at) for c in taken] == [
            (first, "pause", None, clock.now), (second, "sell", "position:3", clock.now),
        ]  # fmt: skip
        assert await repo.take_commands(max_age=10) == []  # never served twice
        assert not await repo.expire_command(first)  # the bot has it: the CLI keeps waiting
        clock.now += 1
        await repo.finish_command(first, "buying paused")
        done = await repo.get_command(first)
        assert done is not None
        assert (done.done_at, done.result) == (clock.now, "buying paused")
        assert await repo.get_command(999) is None


async def test_a_stale_or_abandoned_command_is_expired_not_served(tmp_path: Path) -> None:
    clock = Clock()
    async with open_repository(tmp_path / "bot.db", now=clock) as repo:
        abandoned = await repo.insert_command("sell", "all")
        assert await repo.expire_command(abandoned)  # the CLI gave up: nobody took it
        stale = await repo.insert_command("sell", "all")
        clock.now += 10.5  # the bot starts after its CLI stopped waiting
        fresh = await repo.insert_command("resume", None)
        taken = await repo.take_commands(max_age=10)
        assert [c.id for c in taken] == [fresh]
        for command_id in (abandoned, stale):
            command = await repo.get_command(command_id)
            assert command is not None
            assert command.done_at is not None
            assert command.result == EXPIRED_RESULT


async def test_the_database_and_its_lock_are_created_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        db = tmp_path / "bot.db"
        async with open_repository(db) as repo:
            await repo.insert_command("pause", None)
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        with exclusive_lock(db_lock_path(db), "database"):
            assert stat.S_IMODE(db_lock_path(db).stat().st_mode) == 0o600
        existing = tmp_path / "existing.db"
        existing.touch(mode=0o640)  # a file the user made: its mode is theirs
        async with open_repository(existing):
            pass
        assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    finally:
        os.umask(old)


async def test_a_command_is_queued_while_the_bot_commits_between_its_read_and_its_write(
    tmp_path: Path,
) -> None:
    """Another process (the running bot) commits while the CLI's insert has read the table
    and is about to write: in WAL mode a transaction begun with a plain BEGIN then fails at
    once with "database is locked" (its snapshot is stale; no busy wait applies). Seen on a
    loaded CI machine as a ``pause`` from another terminal refused. The write lock is taken
    first now: the other process waits for it instead."""
    path = tmp_path / "bot.db"
    async with open_repository(path) as repo:
        await repo.insert_command("pause", None)  # the schema is read and cached
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None, check_same_thread=False)
    interleaved: list[str] = []

    def between(statement: str) -> None:
        if statement.startswith("INSERT INTO") and not interleaved:
            try:  # "the bot" commits a command of its own right now
                other.execute("UPDATE commands SET taken_at = 1 WHERE id = 1")
                interleaved.append("committed")
            except sqlite3.OperationalError as exc:
                interleaved.append(f"waited: {exc}")  # the CLI holds the write lock

    try:
        async with open_repository(path) as repo:
            repo._db.conn.set_trace_callback(between)
            new = await repo.insert_command("sell", "position:3")
            repo._db.conn.set_trace_callback(None)
            command = await repo.get_command(new)
    finally:
        other.close()
    assert command is not None
    assert (command.kind, command.arg) == ("sell", "position:3")
    assert interleaved == ["waited: database is locked"]
