"""Schema creation and migration, synchronous (called from the store's worker thread).

A new database is built from ``sql/schema.sql`` and stamped with every migration's
version; an existing one gets the files of ``sql/migrations/NNNN_name.sql`` it has not
seen, in order. Each migration runs in one transaction together with its
``schema_version`` row, so a crash mid-migration leaves the previous version intact
(SQLite's ``ALTER TABLE`` is transactional).

A database made by the old bot has the tables of ``0001_initial`` but no
``schema_version`` table: it is recognised as version 1 and migrated from there.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import attrs

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SCHEMA_PATH = SQL_DIR / "schema.sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
);"""


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to this code's version."""


@attrs.frozen
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files, sorted; versions must run 1, 2, 3… without gaps."""
    found = []
    for path in directory.glob("*.sql"):
        match = _NAME.match(path.name)
        if match is None:
            raise SchemaError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migration versions must be 1..n without gaps, got {versions}")
    return found


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {row[0] for row in rows}


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version: 0 for an empty database, 1 for an unversioned old one."""
    tables = _tables(conn)
    if "schema_version" in tables:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
    if "positions" in tables:
        return 1
    if tables:
        raise SchemaError(f"not a trio-trader database (tables: {sorted(tables)})")
    return 0


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``script`` (which holds its own BEGIN/COMMIT); roll back on any error."""
    try:
        conn.executescript(script)
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def _stamp(version: int, name: str, now: float) -> str:
    return (
        "INSERT INTO schema_version (version, name, applied_at) "
        f"VALUES ({int(version)}, '{name}', {float(now)!r});\n"
    )


def create_schema(
    conn: sqlite3.Connection, *, now: Callable[[], float], migrations: list[Migration]
) -> None:
    """Build a new database from schema.sql, recorded as every migration applied."""
    stamps = "".join(_stamp(m.version, m.name, now()) for m in migrations)
    _run_script(conn, f"BEGIN;\n{SCHEMA_PATH.read_text()}\n{stamps}COMMIT;")
    logger.info("created database schema version %d", len(migrations))


def apply_migrations(
    conn: sqlite3.Connection,
    *,
    now: Callable[[], float],
    migrations: list[Migration] | None = None,
    target: int | None = None,
) -> list[int]:
    """Apply the migrations after the current version (up to ``target``).

    Returns:
        The versions applied, in order.
    Raises:
        SchemaError: the database is newer than the code, or is not ours.
    """
    migrations = load_migrations() if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    target = latest if target is None else target
    version = current_version(conn)
    if version > latest:
        raise SchemaError(f"database schema version {version} is newer than this code ({latest})")
    if "schema_version" not in _tables(conn):
        stamps = "".join(_stamp(m.version, m.name, now()) for m in migrations[:version])
        _run_script(conn, f"BEGIN;\n{_VERSION_TABLE}\n{stamps}COMMIT;")
    applied = []
    for migration in migrations[version:target]:
        stamp = _stamp(migration.version, migration.name, now())
        _run_script(conn, f"BEGIN;\n{migration.sql}\n{stamp}COMMIT;")
        logger.info("applied migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied


def prepare_database(conn: sqlite3.Connection, *, now: Callable[[], float]) -> None:
    """Create a new database or migrate an existing one to the latest version."""
    migrations = load_migrations()
    if current_version(conn) == 0:
        create_schema(conn, now=now, migrations=migrations)
    else:
        apply_migrations(conn, now=now, migrations=migrations)
