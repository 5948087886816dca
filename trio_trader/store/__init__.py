"""SQLite persistence of positions, orders, trades and counters (see ``_repository``).

Usage::

    from trio_trader.store import open_repository

    async with open_repository("bot.db") as repo:
        position_id = await repo.insert_position(position)   # queued: returns at once
        await repo.flush()                                     # on disk

The schema lives in ``trio_trader/sql/`` (``schema.sql`` for a new database,
``migrations/NNNN_name.sql`` for existing ones).
"""

from trio_trader.store._convert import CorruptRowError
from trio_trader.store._lock import LockHeld, db_lock_path, exclusive_lock, wallet_lock_path
from trio_trader.store._migrations import SchemaError
from trio_trader.store._repository import (
    MODE_DRY_RUN,
    MODE_KEY,
    MODE_LIVE,
    PRE_CONFIRMATION_SELLS,
    PRE_CONFIRMATION_SELLS_SUCCEEDED,
    Command,
    IdentityMismatch,
    ModeMismatch,
    PositionNotFound,
    Repository,
    TradeRecord,
    open_repository,
)
from trio_trader.store._writer import RepositoryFailed

__all__ = [
    "MODE_DRY_RUN",
    "MODE_KEY",
    "MODE_LIVE",
    "PRE_CONFIRMATION_SELLS",
    "PRE_CONFIRMATION_SELLS_SUCCEEDED",
    "Command",
    "CorruptRowError",
    "IdentityMismatch",
    "LockHeld",
    "ModeMismatch",
    "PositionNotFound",
    "Repository",
    "RepositoryFailed",
    "SchemaError",
    "TradeRecord",
    "db_lock_path",
    "exclusive_lock",
    "open_repository",
    "wallet_lock_path",
]
