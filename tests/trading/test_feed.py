"""The trade-feed router: per-mint channels, latest value wins, never blocks."""

from __future__ import annotations

import trio
import trio.testing
from solders.pubkey import Pubkey

from trio_trader.listeners.types import PriceUpdate
from trio_trader.trading.feed import TradeFeed


def update(mint: Pubkey, vsol: int, sig: str = "s") -> PriceUpdate:
    return PriceUpdate(
        mint=mint, virtual_sol_reserves=vsol, virtual_token_reserves=10**15,
        real_sol_reserves=0,
        real_token_reserves=7 * 10**14, is_buy=True, user=Pubkey.default(), sol_amount=1,
        token_amount=1, signature=sig, slot=1, seen_at=0.0,
    )  # fmt: skip


async def test_updates_reach_only_their_mint() -> None:
    feed = TradeFeed()
    a, b = Pubkey.new_unique(), Pubkey.new_unique()
    with feed.subscribe(a) as rx_a, feed.subscribe(b) as rx_b:
        feed.publish(update(a, 1))
        feed.publish(update(b, 2))
        feed.publish(update(Pubkey.new_unique(), 3))  # nobody listens: dropped
        assert rx_a.receive_nowait().virtual_sol_reserves == 1
        assert rx_b.receive_nowait().virtual_sol_reserves == 2
    assert feed.subscribers == 0
    assert feed.stats.published == 3
    assert feed.stats.delivered == 2


async def test_slow_position_sees_only_the_newest_price() -> None:
    feed = TradeFeed()
    mint = Pubkey.new_unique()
    with feed.subscribe(mint) as rx:
        for v in range(1, 101):
            feed.publish(update(mint, v))  # never blocks although nobody reads
        got = rx.receive_nowait()
        assert got.virtual_sol_reserves == 100
        assert feed.stats.superseded == 99
        assert feed.latest(mint) == got
        assert rx.statistics().current_buffer_used == 0  # nothing stale left behind


async def test_unsubscribe_closes_and_frees_the_mint(
    autojump_clock: trio.testing.MockClock,
) -> None:
    feed = TradeFeed()
    mint = Pubkey.new_unique()
    with feed.subscribe(mint):
        try:
            with feed.subscribe(mint):
                raise AssertionError("a second subscriber must be refused")
        except ValueError:
            pass
    feed.publish(update(mint, 5))  # no subscriber any more: no error
    with feed.subscribe(mint) as rx:
        feed.publish(update(mint, 6))
        assert rx.receive_nowait().virtual_sol_reserves == 6
    assert feed.latest(mint) is None


async def test_many_positions_are_fed_without_blocking_each_other(
    autojump_clock: trio.testing.MockClock,
) -> None:
    feed = TradeFeed()
    mints = [Pubkey.new_unique() for _ in range(60)]
    seen: dict[Pubkey, int] = {}

    async def consumer(mint: Pubkey, delay: float, task_status: trio.TaskStatus[None]) -> None:
        with feed.subscribe(mint) as rx:
            task_status.started()
            async for u in rx:
                seen[mint] = u.virtual_sol_reserves
                await trio.sleep(delay)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for i, mint in enumerate(mints):
                await nursery.start(consumer, mint, 100.0 if i == 0 else 0.0)
            for v in range(1, 11):
                for mint in mints:
                    feed.publish(update(mint, v))
                await trio.sleep(0.1)
            await trio.sleep(1)
            assert all(seen[m] == 10 for m in mints[1:])
            assert seen[mints[0]] == 1  # the slow one is still on its first update…
            latest = feed.latest(mints[0])
            assert latest is not None
            assert latest.virtual_sol_reserves == 10  # …and its next one is the newest
            nursery.cancel_scope.cancel()
