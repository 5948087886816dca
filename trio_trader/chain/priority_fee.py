"""The compute-unit price to bid: fixed, or a percentile of recent fees, refreshed in background.

Dynamic mode reads `getRecentPrioritizationFees` (the minimum fee that landed in each of the
last ~150 slots, for transactions writing the given accounts) and takes the **nearest-rank
percentile over the non-zero fees**. Zeros are slots where nobody competed for those
accounts; counting them would pull the bid to 0 exactly when the accounts are quiet and we
least need to care, and to a meaningless low when they are busy. When every fee is zero the
floor is used. The result is clamped to [floor, cap] so a fee spike cannot drain the wallet.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import attrs
import trio
from solders.pubkey import Pubkey

from .errors import RpcError
from .rpc import RpcClient

__all__ = ["PriorityFee", "nearest_rank_percentile"]

logger = logging.getLogger(__name__)


def nearest_rank_percentile(values: Sequence[int], percentile: float) -> int | None:
    """The smallest value with at least `percentile`% of `values` ≤ it; None if empty."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {percentile}")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(percentile / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def _pubkeys(accounts: Iterable[Pubkey]) -> tuple[Pubkey, ...]:
    return tuple(accounts)


@attrs.define(eq=False)
class PriorityFee:
    """Micro-lamports per compute unit to bid; build with `fixed()` or `dynamic()`."""

    _micro_lamports: int
    rpc: RpcClient | None = attrs.field(default=None, kw_only=True)
    percentile: float = attrs.field(default=75.0, kw_only=True)
    cap: int = attrs.field(default=1_000_000, kw_only=True)
    floor: int = attrs.field(default=0, kw_only=True)
    accounts: tuple[Pubkey, ...] = attrs.field(default=(), kw_only=True, converter=_pubkeys)
    refresh_interval: float = attrs.field(default=2.0, kw_only=True)
    failures: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        if self.floor < 0 or self.cap < self.floor:
            raise ValueError(f"priority fee needs 0 ≤ floor ≤ cap, not {self.floor}..{self.cap}")
        nearest_rank_percentile([0], self.percentile)  # validates the percentile

    @classmethod
    def fixed(cls, micro_lamports: int) -> PriorityFee:
        """Always bid `micro_lamports`."""
        if micro_lamports < 0:
            raise ValueError("a priority fee cannot be negative")
        return cls(micro_lamports, floor=micro_lamports, cap=micro_lamports)

    @classmethod
    def dynamic(
        cls,
        rpc: RpcClient,
        percentile: float = 75.0,
        cap: int = 1_000_000,
        accounts: Sequence[Pubkey] = (),
        *,
        floor: int = 0,
        refresh_interval: float = 2.0,
    ) -> PriorityFee:
        """Bid the `percentile` of recent non-zero fees for `accounts`, within [floor, cap]."""
        return cls(
            floor,
            rpc=rpc,
            percentile=percentile,
            cap=cap,
            floor=floor,
            accounts=accounts,
            refresh_interval=refresh_interval,
        )

    @property
    def micro_lamports(self) -> int:
        """The current bid."""
        return self._micro_lamports

    def choose(self, fees: Sequence[int]) -> int:
        """The bid for a list of recent per-slot fees (the policy in the module docstring)."""
        value = nearest_rank_percentile([f for f in fees if f > 0], self.percentile)
        return min(self.cap, max(self.floor, value or 0))

    async def refresh(self) -> None:
        """Fetch recent fees once and update the bid (no-op when fixed)."""
        if self.rpc is None:
            return
        fees = await self.rpc.get_recent_prioritization_fees(self.accounts)
        self._micro_lamports = self.choose(fees)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Refresh in background; `started()` after the first attempt, even a failed one.

        Unlike a blockhash, a fee has a safe fallback (the floor), and a node without
        `getRecentPrioritizationFees` must not stop the bot from starting. A fixed fee returns
        right after `started()`.
        """
        if self.rpc is None:
            task_status.started()
            return
        started = False
        deadline = trio.current_time()
        while True:
            try:
                await self.refresh()
            except RpcError as exc:
                self.failures += 1
                logger.warning(
                    "priority fee refresh failed (bidding %d): %s", self.micro_lamports, exc
                )
            if not started:
                task_status.started()
                started = True
            deadline = max(deadline + self.refresh_interval, trio.current_time())
            await trio.sleep_until(deadline)
