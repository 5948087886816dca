"""What the row written before each BUY and SELL costs: on the loop, and in the writer.

Every order is queued to the store's writer thread before it is sent; the commit (and its
fsync) happens in that thread, off the detection and exit paths. So the path pays only the
enqueue, and the commit latency says how long a crash may leave a sent order without its
row (start-up reconciliation covers that window). Timed on their own, on a file in the temp
directory (WAL, ``synchronous = FULL``), with the production ``Repository``:

* ``thread_hop``: ``trio.to_thread.run_sync`` of a no-op — the round trip every write
  paid before the writer thread, for scale;
* ``insert_position_enqueue`` / ``update_position_enqueue``: the call as the bot's path
  makes it (snapshot the row, take the id, append it to the journal, queue it): what the
  path pays now;
* ``commit_latency``: one ``update_position`` queued on an idle writer → ``flush()``
  returns: the commit with its fsync plus the wake-up of the waiting task;
* ``flush_idle``: ``flush()`` with nothing queued: the writer's round trip alone;
* ``batched_per_write``: 100 updates queued back to back, then ``flush()``: the cost per
  write when writes pile up behind a commit and share its transaction (one fsync).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from trio_trader.store import Repository, open_repository
from trio_trader.trading.position import Position

from .stats import summarize
from .txs import keypair, token_info

#: updates queued back to back for ``batched_per_write``
BATCH = 100


async def _timed(samples: list[float], fn: Any, *args: Any) -> None:
    start = time.perf_counter()
    await fn(*args)
    samples.append((time.perf_counter() - start) * 1e6)


async def _commit_latency(samples: list[float], repo: Repository, position: Position) -> None:
    start = time.perf_counter()
    await repo.update_position(position)
    await repo.flush()
    samples.append((time.perf_counter() - start) * 1e6)


async def _batched(samples: list[float], repo: Repository, positions: list[Position]) -> None:
    start = time.perf_counter()
    for position in positions:
        await repo.update_position(position)
    await repo.flush()
    samples.append((time.perf_counter() - start) * 1e6 / len(positions))


async def db_writes(n: int = 300) -> dict[str, Any]:
    """µs per call of each kind (see the module docstring), ``n`` of each."""
    out: dict[str, list[float]] = {
        "thread_hop": [], "insert_position_enqueue": [], "update_position_enqueue": [],
        "commit_latency": [], "flush_idle": [], "batched_per_write": [],
    }  # fmt: skip
    creator = keypair("db-creator").pubkey()
    positions = [
        Position.create_from_token_info(token_info(keypair("db-mint", i).pubkey(), creator))
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory(prefix="trio-trader-bench-") as tmp:
        async with open_repository(Path(tmp) / "bench.db") as repo:
            await repo.begin_session()  # as the trading run: every write is journaled too
            for position in positions:
                await _timed(out["thread_hop"], trio.to_thread.run_sync, lambda: None)
                await _timed(out["insert_position_enqueue"], repo.insert_position, position)
                await _timed(out["update_position_enqueue"], repo.update_position, position)
                await repo.flush()  # the next figures start from an idle writer
                await _commit_latency(out["commit_latency"], repo, position)
                await _timed(out["flush_idle"], repo.flush)
            for start in range(0, max(1, n // 10) * BATCH, BATCH):
                batch = [positions[(start + i) % n] for i in range(BATCH)]
                await _batched(out["batched_per_write"], repo, batch)
    return {k: summarize(v, digits=1) for k, v in out.items()}
