"""Schema creation and migration: schema.sql equals the migrations, old rows survive."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from tests.store.factories import make_sell_order, send
from trio_trader.store import SchemaError, open_repository
from trio_trader.store._migrations import (
    Migration,
    apply_migrations,
    create_schema,
    current_version,
    load_migrations,
)


def clock() -> float:
    return 1_780_000_000.0


def shape(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables with their columns (name, type, not null, default, pk) and indexes."""
    result: dict[str, object] = {}
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        result[f"table {name}"] = [
            tuple(row[1:6]) for row in conn.execute(f"PRAGMA table_xinfo({name})")
        ]
    for name, table in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ):
        cols = [row[2] for row in conn.execute(f"PRAGMA index_info({name})")]
        result[f"index {name}"] = (table, cols)
    return result


def _table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def old_database(path: Path, *, versioned: bool) -> None:
    """A database as the old bot left it: schema 0001 with rows in every table.

    The old bot had no ``schema_version`` table (``versioned=False``); a database made by
    this code's runner stopped at version 1 has one.
    """
    conn = sqlite3.connect(path)
    try:
        if versioned:
            apply_migrations(conn, now=clock, target=1)
        else:
            conn.executescript(load_migrations()[0].sql)
        conn.executescript(
            """
            INSERT INTO token_info (mint, name, symbol, uri, bonding_curve,
                associated_bonding_curve, creator, user, token_program, is_mayhem_mode)
            VALUES ('ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp', 'excited', 'excited', 'u',
                'FFzxakVNzpirwMFtLyD22UZ6UM3KLF2EAGC2RxNPaYoH',
                '6eTEMemDi58KJE1rPEagqMsgn34xUWTkzdZTKM8EVbYF',
                'Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5',
                'Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5',
                'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', 0);
            INSERT INTO positions (mint, is_active, token_amount, entry_price, sol_spent,
                sol_received, exit_reason, realized_pnl_lamports, created_at, closed_at,
                updated_at)
            VALUES ('ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp', 0, 1000, 28.5, 30000,
                41000, 'take_profit', 11000, 100.0, 200.0, 200.0),
                   ('ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp', 1, 2000, 29.0, 58000,
                NULL, NULL, NULL, 300.0, NULL, 300.0);
            INSERT INTO trades (position_id, mint, side, success, signature, token_amount,
                sol_amount, sol_change, token_change, fee_lamports, slot, error_message,
                recorded_at)
            VALUES (1, 'ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp', 'buy', 1, 's1', 1000,
                29000, -30000, 1000, 5000, 10, NULL, 100.0),
                   (1, 'ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp', 'sell', 0, 's2', 1000,
                40000, -5000, 0, 5000, 11, 'slippage', 150.0);
            """
        )
    finally:
        conn.close()


def test_schema_sql_equals_the_result_of_every_migration(tmp_path: Path) -> None:
    fresh, migrated = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    try:
        migrations = load_migrations()
        create_schema(fresh, now=clock, migrations=migrations)
        assert apply_migrations(migrated, now=clock) == [m.version for m in migrations]
        assert shape(fresh) == shape(migrated)
        assert "table positions" in shape(fresh)
        versions = "SELECT version, name FROM schema_version ORDER BY version"
        assert fresh.execute(versions).fetchall() == migrated.execute(versions).fetchall()
        assert current_version(fresh) == len(migrations) >= 2
    finally:
        fresh.close()
        migrated.close()


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "version-1"])
async def test_migration_of_old_database_keeps_rows_and_adds_order_columns(
    tmp_path: Path, versioned: bool
) -> None:
    path = tmp_path / "old.db"
    old_database(path, versioned=versioned)
    conn = sqlite3.connect(path)
    try:  # the starting point really is the old schema, with its rows
        columns = {row[1] for row in conn.execute("PRAGMA table_info(positions)")}
        assert not {"buy_order", "sell_order", "status", "is_closed"} & columns
        tables = ("token_info", "positions", "trades")
        counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables]
        assert counts == [1, 2, 2]
        assert ("schema_version" in _table_names(conn)) is versioned
    finally:
        conn.close()
    with trio.fail_after(30):
        async with open_repository(path, now=clock) as repo:
            active, closed = await repo.list_positions()  # newest first
            assert repo.read_errors == []
            assert (closed.id, closed.is_closed, closed.status) == (1, True, "closed")
            assert (closed.sol_spent, closed.sol_received, closed.realized_pnl_lamports) == (
                30000, 41000, 11000,
            )  # fmt: skip
            assert closed.buy_order is None
            assert closed.sell_order is None
            assert (active.id, active.is_active, active.status) == (2, True, "active")
            assert [p.id for p in await repo.get_active_positions()] == [2]
            assert closed.token_info.symbol == "excited"
            assert closed.token_info.is_cashback_coin is False
            trades = await repo.list_trades(1)
            assert [(t.side, t.state, t.success, t.attempt) for t in trades] == [
                ("buy", "confirmed", True, 1), ("sell", "failed", False, 1),
            ]  # fmt: skip
            # a migrated row takes the new order columns like any other
            sell = make_sell_order(active.token_info, token_amount=2000)
            send(sell)
            active.update_from_sell_order(sell, exit_reason="stop_loss")
            await repo.update_position(active)
            reloaded = await repo.get_position(2)
            assert reloaded.sell_order is not None
            assert (reloaded.sell_order.signature, reloaded.status) == (sell.signature, "closing")
    conn = sqlite3.connect(path)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(positions)")}
        assert {"buy_order", "sell_order", "status", "is_closed"} <= columns
        assert current_version(conn) == len(load_migrations())
        # opening again applies nothing
        assert apply_migrations(conn, now=clock) == []
    finally:
        conn.close()


def test_unversioned_database_of_the_old_bot_is_taken_as_version_one(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "legacy.db")
    try:
        conn.executescript(load_migrations()[0].sql)
        assert current_version(conn) == 1
        assert apply_migrations(conn, now=clock) == [2, 3, 4, 5, 6]
        stamped = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert stamped == [(1,), (2,), (3,), (4,), (5,), (6,)]
    finally:
        conn.close()


def test_failed_migration_leaves_the_previous_version_intact() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        broken = [
            *load_migrations()[:1],
            Migration(2, "broken", "ALTER TABLE positions ADD COLUMN x INTEGER;\nNOT SQL;"),
        ]
        with pytest.raises(sqlite3.OperationalError):
            apply_migrations(conn, now=clock, migrations=broken)
        assert current_version(conn) == 1
        columns = {row[1] for row in conn.execute("PRAGMA table_info(positions)")}
        assert "x" not in columns
        assert not conn.in_transaction
    finally:
        conn.close()


def test_newer_or_foreign_database_is_refused() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        apply_migrations(conn, now=clock)
        conn.execute("INSERT INTO schema_version VALUES (99, 'future', 1.0)")
        with pytest.raises(SchemaError, match="newer"):
            apply_migrations(conn, now=clock)
    finally:
        conn.close()
    other = sqlite3.connect(":memory:")
    try:
        other.execute("CREATE TABLE notes (x)")
        with pytest.raises(SchemaError, match="not a trio-trader"):
            current_version(other)
    finally:
        other.close()


def test_migration_files_are_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(SchemaError, match="without gaps"):
        load_migrations(tmp_path)
    (tmp_path / "2_bad.sql").write_text("SELECT 1;")
    with pytest.raises(SchemaError, match="NNNN_name"):
        load_migrations(tmp_path)
