"""The store's writer: writes leave the caller at once, land in order, batch, and fail loudly.

What is on disk is always read through a connection of its own (``on_disk``), as the next
run of the bot, or a report beside the running one, would read it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.store.factories import make_buy_order, make_token_info, on_disk, send
from trio_trader.store import Repository, RepositoryFailed, _journal, open_repository
from trio_trader.store._journal import journal_path
from trio_trader.store._statements import insert_sql, update_sql, upsert_sql
from trio_trader.trading.position import Position


def new_position(seed: int) -> Position:
    return Position.create_from_token_info(make_token_info(seed=seed))


async def killed_with_one_write_queued(path: Path) -> None:
    """A trading run that dies (``abandon``: as kill -9) with position 1 still queued."""
    async with open_repository(path) as repo:
        await repo.begin_session()
        repo.writer.hold()
        await repo.insert_position(new_position(1))
        repo.writer.abandon()


async def test_writes_return_before_the_commit_and_land_in_order(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            repo.writer.hold()  # the writer runs nothing: what is queued is not on disk
            position = new_position(1)
            assert await repo.insert_position(position) == 1  # the id is taken on the loop
            ti = position.token_info
            buy = make_buy_order(ti)
            send(buy)
            position.update_from_buy_order(buy)
            await repo.update_position(position)
            assert on_disk(path, "SELECT id FROM positions") == []
            repo.writer.release()
            await repo.flush()
            assert on_disk(path, "SELECT id, status FROM positions") == [(1, "pending")]
            assert on_disk(path, "SELECT json_extract(buy_order, '$.state') FROM positions") == [
                ("sent",)
            ]


async def test_writes_that_pile_up_commit_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.flush()
            commits = repo.writer.commits
            repo.writer.hold()
            positions = [new_position(seed) for seed in range(1, 51)]
            for position in positions:
                await repo.insert_position(position)
                position.exit_reason = "x"
                await repo.update_position(position)
            repo.writer.release()
            await repo.flush()
            assert repo.writer.commits == commits + 1  # 100 writes, one fsync
            assert on_disk(path, "SELECT COUNT(*), MIN(id), MAX(id) FROM positions") == [
                (50, 1, 50)
            ]
            assert on_disk(path, "SELECT DISTINCT exit_reason FROM positions") == [("x",)]


async def test_a_read_sees_every_earlier_write_and_they_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            position = new_position(3)
            await repo.insert_position(position)
            position.exit_reason = "read-your-writes"
            await repo.update_position(position)
            assert repo.writer.waiting == 2  # not even handed to the thread yet (no yield)
            loaded = await repo.get_position(1)  # queued behind both writes
            assert loaded.exit_reason == "read-your-writes"
            assert on_disk(path, "SELECT exit_reason FROM positions") == [("read-your-writes",)]


async def test_ids_continue_after_a_reopen_and_never_reuse_a_used_one(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            for seed in (1, 2, 3):
                await repo.insert_position(new_position(seed))
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("DELETE FROM positions WHERE id = 3")  # AUTOINCREMENT: 3 stays used
        conn.close()
        async with open_repository(path) as repo:
            assert await repo.insert_position(new_position(4)) == 4
            ti = make_token_info(seed=4)
            buy = make_buy_order(ti)
            send(buy)
            buy.mark_failed(error="expired")
            first = await repo.record_trade(4, buy)
            assert await repo.record_trade(4, buy) == first + 1
            assert [t.id for t in await repo.list_trades(4)] == [first, first + 1]


async def test_closing_commits_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            repo.writer.hold()
            for seed in range(1, 11):
                await repo.insert_position(new_position(seed))
            repo.writer.release()
    assert on_disk(path, "SELECT COUNT(*) FROM positions") == [(10,)]


async def test_a_killed_run_loses_nothing_its_journal_holds(tmp_path: Path) -> None:
    """``abandon`` drops the queue as a kill -9 does; the trading run's journal (written
    before each write is queued) still holds it, and the next run replays it: same boot,
    nothing lost, nothing to wait for."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False  # a new database: nothing to fear
            await repo.insert_position(new_position(1))
            await repo.flush()
            repo.writer.hold()
            position = new_position(2)
            await repo.insert_position(position)
            position.exit_reason = "queued"
            await repo.update_position(position)
            repo.writer.abandon()
            with pytest.raises(RepositoryFailed, match="closed"):
                await repo.get_open_positions()
        assert on_disk(path, "SELECT id FROM positions") == [(1,)]
        async with open_repository(path) as repo:
            assert await repo.get_meta() == {}  # the marks are not part of the identity
            assert await repo.begin_session() is False  # replayed: the same boot
            assert on_disk(path, "SELECT id, exit_reason FROM positions") == [
                (1, None),
                (2, "queued"),
            ]
            assert await repo.insert_position(new_position(3)) == 3
            assert await repo.begin_session() is False  # its own mark
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False  # the last close was clean
            assert [p.id for p in await repo.list_positions()] == [3, 2, 1]
    assert journal_path(str(path)).read_bytes() == b""  # emptied by the clean close


async def test_after_a_machine_crash_the_next_run_must_ask_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine crash can take the journal's unsynced tail with it: with another boot id
    the next run cannot trust the journal to be whole, and says so."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            await repo.insert_position(new_position(1))
            await repo.flush()
            repo.writer.hold()
            await repo.insert_position(new_position(2))
            repo.writer.abandon()
        journal_path(str(path)).write_bytes(b"")  # the page cache is gone
        monkeypatch.setattr(_journal, "boot_id", lambda: "another-boot")
        async with open_repository(path) as repo:
            assert await repo.begin_session() is True
            assert [p.id for p in await repo.list_positions()] == [1]


async def test_a_replay_runs_once_even_if_the_log_was_not_emptied(tmp_path: Path) -> None:
    """A crash right after a replay committed, before the log was emptied, must not apply
    its lines twice: the database knows the last sequence number it applied."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        await killed_with_one_write_queued(path)
        kept = journal_path(str(path)).read_bytes()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            repo.writer.abandon()  # dies before its close empties the log
        journal_path(str(path)).write_bytes(kept)
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            assert [p.id for p in await repo.list_positions()] == [1]


async def test_a_full_disk_fails_the_repository_and_keeps_what_was_committed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database may not grow (``max_page_count``, as a full disk): the write that needs
    a new page fails, is logged at ERROR naming its position, and the repository refuses
    what needs an answer from then on; the rows committed before stay whole."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.insert_position(new_position(1))

            def cap(_: Any = None) -> None:
                pages = repo._db.conn.execute("PRAGMA page_count").fetchone()[0]
                repo._db.conn.execute(f"PRAGMA max_page_count = {pages}")

            await repo._run(cap)
            big = new_position(2)
            big.exit_reason = "x" * 200_000  # needs pages the file may not have
            await repo.insert_position(big)
            with pytest.raises(RepositoryFailed, match="insert position 2"):
                await repo.flush()
            with pytest.raises(RepositoryFailed):
                await repo.insert_position(new_position(3))
    assert on_disk(path, "SELECT id FROM positions") == [(1,)]
    (failure,) = [r for r in caplog.records if "database write failed" in r.getMessage()]
    assert failure.levelname == "ERROR"
    assert "insert position 2" in failure.getMessage()
    assert "full" in failure.getMessage()


async def test_a_cancelled_caller_still_waits_for_its_answer(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.insert_position(new_position(1))
            repo.writer.hold()
            with trio.CancelScope() as scope:
                scope.cancel()
                repo.writer.release()
                positions = await repo.get_open_positions()  # not abandoned mid-way
            assert [p.id for p in positions] == [1]


def test_statements_follow_the_column_list() -> None:
    columns = ("mint", "a_new_column")
    assert insert_sql("positions", columns) == (
        "INSERT INTO positions (mint, a_new_column) VALUES (?, ?)"
    )
    assert update_sql("positions", columns) == (
        "UPDATE positions SET mint = ?, a_new_column = ? WHERE id = ?"
    )
    assert upsert_sql("token_info", columns, "mint").endswith(
        "ON CONFLICT(mint) DO UPDATE SET a_new_column = excluded.a_new_column"
    )


async def test_a_repository_is_usable_only_inside_its_block(tmp_path: Path) -> None:
    async with open_repository(tmp_path / "bot.db") as repo:
        kept: Repository = repo
    with pytest.raises(RepositoryFailed, match="closed"):
        await kept.get_counters()


async def test_a_log_beside_a_new_database_is_not_replayed(tmp_path: Path) -> None:
    """The database was deleted (not its ``.queue``): no run's mark, so the old log is not
    this database's and must not put another database's rows into it."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        await killed_with_one_write_queued(path)
        for leftover in tmp_path.glob("bot.db*"):
            if leftover.suffix != ".queue":
                leftover.unlink()
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            assert await repo.list_positions() == []
            assert await repo.insert_position(new_position(2)) == 1
