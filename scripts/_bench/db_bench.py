"""What one position write costs: the row the bot writes before each BUY and SELL.

Every order is in the database before it is sent (crash safety), so each detection →
BUY and exit → SELL carries one or two of these writes. Their parts, timed on their own:

* ``thread_hop``: ``trio.to_thread.run_sync`` of a no-op — the worker-thread round trip
  every repository call pays (SQLite is synchronous);
* ``insert_position`` / ``update_position``: the production ``Repository`` on a file in
  the temp directory (WAL, ``synchronous = FULL``: one fsync per commit), as the bot
  runs them;
* ``update_position_synchronous_normal``: the same update with ``synchronous = NORMAL``
  — in WAL mode durable against a crash of the process, not of the machine — to size
  that lever (the bot does not use it).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from trio_trader.store import open_repository
from trio_trader.trading.position import Position

from .stats import summarize
from .txs import keypair, token_info


async def _timed(samples: list[float], fn: Any, *args: Any) -> None:
    start = time.perf_counter()
    await fn(*args)
    samples.append((time.perf_counter() - start) * 1e6)


async def db_writes(n: int = 300) -> dict[str, Any]:
    """µs per call of each kind (see the module docstring), ``n`` of each."""
    out: dict[str, list[float]] = {
        "thread_hop": [], "insert_position": [], "update_position": [],
        "update_position_synchronous_normal": [],
    }  # fmt: skip
    creator = keypair("db-creator").pubkey()
    positions = [
        Position.create_from_token_info(token_info(keypair("db-mint", i).pubkey(), creator))
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory(prefix="trio-trader-bench-") as tmp:
        async with open_repository(Path(tmp) / "bench.db") as repo:
            for position in positions:
                await _timed(out["thread_hop"], trio.to_thread.run_sync, lambda: None)
                await _timed(out["insert_position"], repo.insert_position, position)
                await _timed(out["update_position"], repo.update_position, position)
            # The lever, measured: set on the repository's own connection, in its thread.
            await repo._run(lambda: repo._db.conn.execute("PRAGMA synchronous = NORMAL"))
            for position in positions:
                await _timed(
                    out["update_position_synchronous_normal"], repo.update_position, position
                )
    return {k: summarize(v, digits=1) for k, v in out.items()}
