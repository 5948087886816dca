"""BlockhashCache and PriorityFee: background refresh on Trio's MockClock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey

from tests.chain.fakes import FakeNode, RpcFault, context
from trio_trader.chain import BlockhashCache, PriorityFee, RpcClient
from trio_trader.chain.priority_fee import nearest_rank_percentile

HASHES = [Hash.new_unique() for _ in range(50)]


class ChainClock:
    """A node whose blockhash and height move with Trio time: one block per 0.4 s."""

    def __init__(self) -> None:
        self.start = trio.current_time()
        self.down = False

    def height(self) -> int:
        return 1000 + round((trio.current_time() - self.start) * 1000) // 400

    def latest(self, params: list[Any]) -> Any:
        if self.down:
            raise RpcFault(-32005, "Node is unhealthy")
        height = self.height()
        return context(
            {"blockhash": str(HASHES[height - 1000]), "lastValidBlockHeight": height + 150}
        )

    def block_height(self, params: list[Any]) -> Any:
        if self.down:
            raise RpcFault(-32005, "Node is unhealthy")
        return self.height()


async def test_blockhash_cache_starts_after_first_fetch_and_refreshes(
    autojump_clock: trio.abc.Clock, nursery: trio.Nursery
) -> None:
    chain = ChainClock()
    node = FakeNode({"getLatestBlockhash": chain.latest, "getBlockHeight": chain.block_height})
    # two 503s: with max_retries=0 each is a failed refresh, so start waits for the third tick
    node.http_faults.extend([httpx.Response(503), httpx.Response(503)])
    async with RpcClient(["http://n/"], transport=node.transport(), max_retries=0) as rpc:
        cache = BlockhashCache(rpc, refresh_interval=0.4)
        with pytest.raises(RuntimeError, match="no blockhash yet"):
            cache.latest  # noqa: B018
        t0 = trio.current_time()
        await nursery.start(cache.run)
        assert trio.current_time() - t0 == pytest.approx(0.8)
        assert cache.failures == 2
        assert cache.latest == (HASHES[2], 1002 + 150)
        assert cache.block_height == 1002
        assert cache.age == 0
        await trio.sleep(2.1)  # refreshes at +0.4 … +2.0 after start; read between ticks
        assert cache.latest == (HASHES[7], 1007 + 150)
        assert cache.block_height == 1007
        # one batched HTTP request per refresh, both methods in it
        assert node.requests[-1][2][0]["method"] == "getLatestBlockhash"
        assert node.requests[-1][2][1]["method"] == "getBlockHeight"
        assert rpc.stats.requests_sent == 2 + cache.refreshes

        # the node goes unhealthy: the last good value stays, and refresh resumes afterwards
        chain.down = True
        await trio.sleep(1.0)
        assert cache.latest == (HASHES[7], 1157)
        assert cache.age == pytest.approx(1.1)
        chain.down = False
        await trio.sleep(0.45)
        assert cache.latest[0] == HASHES[chain.height() - 1000]
        nursery.cancel_scope.cancel()


async def test_blockhash_refresh_survives_malformed_reply(
    autojump_clock: trio.abc.Clock, nursery: trio.Nursery
) -> None:
    chain = ChainClock()
    replies = iter([{"garbage": True}])

    def latest(params: list[Any]) -> Any:
        return next(replies, None) or chain.latest(params)

    node = FakeNode({"getLatestBlockhash": latest, "getBlockHeight": chain.block_height})
    async with RpcClient(["http://n/"], transport=node.transport()) as rpc:
        cache = BlockhashCache(rpc)
        await nursery.start(cache.run)
        assert cache.failures == 1
        assert cache.latest[1] == chain.height() + 150
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [
        ([15, 20, 35, 40, 50], 5, 15),
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        ([3], 75, 3),
        ([], 75, None),
    ],
)
def test_nearest_rank_percentile(values: list[int], percentile: float, expected: int) -> None:
    assert nearest_rank_percentile(values, percentile) == expected


def test_dynamic_fee_policy_ignores_zeros_and_clamps() -> None:
    fee = PriorityFee.dynamic(None, percentile=50, cap=30_000, floor=1_000)  # type: ignore[arg-type]
    assert fee.choose([0, 0, 0, 0, 5_000, 7_000, 9_000]) == 7_000
    assert fee.choose([0, 0, 0]) == 1_000  # quiet: the floor
    assert fee.choose([500, 600]) == 1_000  # below the floor
    assert fee.choose([0, 50_000, 90_000]) == 30_000  # spike: the cap
    with pytest.raises(ValueError, match="floor"):
        PriorityFee.dynamic(None, cap=5, floor=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="percentile"):
        PriorityFee.dynamic(None, percentile=0)  # type: ignore[arg-type]


async def test_fixed_fee_runs_and_returns() -> None:
    fee = PriorityFee.fixed(12_345)
    async with trio.open_nursery() as nursery:
        await nursery.start(fee.run)
    assert fee.micro_lamports == 12_345


async def test_dynamic_fee_refreshes_in_background(
    autojump_clock: trio.abc.Clock, nursery: trio.Nursery
) -> None:
    account = Pubkey.new_unique()
    level = {"fee": 2_000}

    def fees(params: list[Any]) -> Any:
        if level["fee"] < 0:
            raise RpcFault(-32601, "Method not found")
        return [{"slot": s, "prioritizationFee": level["fee"] if s % 2 else 0} for s in range(150)]

    node = FakeNode({"getRecentPrioritizationFees": fees})
    async with RpcClient(["http://n/"], transport=node.transport()) as rpc:
        fee = PriorityFee.dynamic(rpc, 75, 100_000, [account], floor=100, refresh_interval=2.0)
        assert fee.micro_lamports == 100  # before the first refresh: the floor
        await nursery.start(fee.run)
        assert fee.micro_lamports == 2_000
        assert node.calls[0][2] == [[str(account)]]
        level["fee"] = 8_000
        await trio.sleep(2.1)
        assert fee.micro_lamports == 8_000
        level["fee"] = -1  # errors keep the last value
        await trio.sleep(2.0)
        assert fee.micro_lamports == 8_000
        assert fee.failures == 1
        nursery.cancel_scope.cancel()
