"""A background-refreshed blockhash and block height, so the hot path does no RPC before sending.

A pump.fun snipe is decided by how fast the BUY reaches the leader; asking the node for a
blockhash first adds a full round trip. `BlockhashCache` keeps one fresh instead: one batched
HTTP request (`getLatestBlockhash` + `getBlockHeight`) every `refresh_interval`, on a
drift-free schedule. A failed refresh is logged and retried on the next tick while the last
good value stays in use: a blockhash is valid for ~150 blocks (~60 s), far longer than an
outage worth riding out. The block height also feeds `Confirmer`'s expiry check.
"""

from __future__ import annotations

import logging

import attrs
import trio
from solders.hash import Hash

from . import types as t
from .errors import RpcError
from .rpc import RpcClient

__all__ = ["BlockhashCache"]

logger = logging.getLogger(__name__)


@attrs.define(eq=False)
class BlockhashCache:
    """The latest blockhash, its `lastValidBlockHeight`, and the current block height."""

    rpc: RpcClient
    refresh_interval: float = attrs.field(default=0.4, kw_only=True)
    commitment: str = attrs.field(default="processed", kw_only=True)
    refreshes: int = attrs.field(init=False, default=0)
    failures: int = attrs.field(init=False, default=0)
    _latest: tuple[Hash, int] | None = attrs.field(init=False, default=None)
    _block_height: int | None = attrs.field(init=False, default=None)
    _updated_at: float | None = attrs.field(init=False, default=None)

    @property
    def latest(self) -> tuple[Hash, int]:
        """(blockhash, last_valid_block_height) of the last successful refresh."""
        if self._latest is None:
            raise RuntimeError("BlockhashCache has no blockhash yet: start it with nursery.start")
        return self._latest

    @property
    def block_height(self) -> int:
        """The block height seen at the last successful refresh."""
        if self._block_height is None:
            raise RuntimeError("BlockhashCache has no block height yet: start it first")
        return self._block_height

    @property
    def age(self) -> float:
        """Seconds (Trio clock) since the last successful refresh."""
        if self._updated_at is None:
            return float("inf")
        return trio.current_time() - self._updated_at

    async def refresh(self) -> None:
        """Fetch both values in one HTTP request and store them."""
        opts = [{"commitment": self.commitment}]
        latest, height = await self.rpc.batch(
            [("getLatestBlockhash", opts), ("getBlockHeight", opts)]
        )
        parsed = t.parse_latest_blockhash(latest)
        height = t.u64("getBlockHeight", height)
        self._latest = parsed
        # Replies from different endpoints may be out of order; a height never goes back.
        self._block_height = max(height, self._block_height or 0)
        self._updated_at = trio.current_time()
        self.refreshes += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Refresh forever; `started()` only once a first blockhash is in hand."""
        started = False
        deadline = trio.current_time()
        while True:
            try:
                await self.refresh()
            except RpcError as exc:
                self.failures += 1
                logger.warning("blockhash refresh failed (keeping the last one): %s", exc)
            else:
                if not started:
                    task_status.started()
                    started = True
            deadline = max(deadline + self.refresh_interval, trio.current_time())
            await trio.sleep_until(deadline)
