"""The hot path's SQL: plain ``?``-parameter statements, built once per column list.

The column lists are the keys of the rows ``_convert`` builds, so a column another
migration adds to a row flows into these statements with no edit here. Each text is
built once (cached) and ``sqlite3`` keeps it compiled in the connection's statement
cache, so a write is one ``execute`` of a prepared statement, no sqlite-utils on the way.
"""

from __future__ import annotations

import functools


@functools.cache
def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO table (a, b) VALUES (?, ?)``."""
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


@functools.cache
def upsert_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    """An insert that overwrites every given column of the row with the same ``key``."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return f"{insert_sql(table, columns)} ON CONFLICT({key}) DO UPDATE SET {sets}"


@functools.cache
def update_sql(table: str, columns: tuple[str, ...]) -> str:
    """``UPDATE table SET a = ?, b = ? WHERE id = ?`` (the id is the last parameter)."""
    sets = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE id = ?"


#: a named counter bumped by ``by`` (created at ``by``); returns the new value
BUMP_COUNTER = (
    "INSERT INTO counters (name, value) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value RETURNING value"
)


#: the same without its answer (queued writes)
ADD_TO_COUNTER = (
    "INSERT INTO counters (name, value) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value"
)


def next_id_sql(table: str) -> str:
    """The next id of an AUTOINCREMENT table: above every row and every id ever used."""
    return (
        f"SELECT MAX(COALESCE((SELECT MAX(id) FROM {table}), 0), "
        f"COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1"
    )
