"""max_active_mints, max_buys and filters, on the real simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.scenario.harness import running_bot
from trio_trader.listeners.types import NewToken
from trio_trader.trading.trader import UniversalTrader


async def test_max_active_mints_counts_live_position_tasks(tmp_path: Path) -> None:
    config = {"trade": {"max_active_mints": 2}, "exits": {"sell_after": 1.5}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            for i in range(4):
                await h.launch(f"Burst {i}")

            async def all_seen() -> bool:
                return h.bot.trader.stats.tokens_seen == 4

            await h.wait_until(all_seen)
            await h.wait_until(lambda: h.all_closed(2))
            assert len(await h.positions()) == 2
            assert h.bot.trader.stats.skipped_capacity == 2
            # capacity is free again once the positions are over
            await h.launch("Later")
            await h.wait_until(lambda: h.all_closed(3))
            await h.assert_books_balance()


async def test_max_buys_stops_buying_after_that_many_sends(tmp_path: Path) -> None:
    config = {"trade": {"max_buys": 1}, "exits": {"sell_after": 0.2}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            await h.launch("First")
            await h.wait_until(lambda: h.all_closed(1))
            await h.launch("Second")

            async def skipped() -> bool:
                return h.bot.trader.stats.skipped_max_buys == 1

            await h.wait_until(skipped)
            assert h.bot.trader.buy_count == 1
            assert len(await h.positions()) == 1
            await h.assert_books_balance()


async def test_filters_skip_tokens_before_any_spend(tmp_path: Path) -> None:
    config = {"filters": {"name_contains": ["moon"]}, "exits": {"sell_after": 0.2}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            await h.launch("Boring Coin")
            moon = await h.launch("To The Moon")
            await h.wait_until(lambda: h.all_closed(1))

            async def both_seen() -> bool:
                return h.bot.trader.stats.tokens_seen == 2

            await h.wait_until(both_seen)
            (position,) = await h.assert_books_balance()
            assert position.mint == moon
            assert h.bot.trader.stats.filtered == 1


async def test_two_tokens_in_one_turn_take_one_place_and_the_first_is_registered_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener's sink starts the position itself (no intake channel): the mint is
    registered before the sink returns, so a second token in the same turn finds the
    ``max_active_mints`` place taken."""
    seen: list[NewToken] = []
    original = UniversalTrader._on_token

    def recording(self: UniversalTrader, token: NewToken) -> None:
        seen.append(token)
        original(self, token)

    monkeypatch.setattr(UniversalTrader, "_on_token", recording)
    config = {"trade": {"max_active_mints": 1}, "exits": {"sell_after": 0.2}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config, start=False) as h:
            trader = h.bot.trader
            trader.paused = True  # the two launches are only recorded
            await h.background.start(trader.run)
            first, second = await h.launch("First"), await h.launch("Second")

            async def both_seen() -> bool:
                return len(seen) == 2

            await h.wait_until(both_seen)
            assert trader.stats.skipped_paused == 2
            assert trader.active_positions == 0
            trader.paused = False
            a, b = seen
            trader._on_token(a)  # what the listener does: both in one turn, no checkpoint
            trader._on_token(b)
            assert list(trader.position_tasks) == [first]
            assert trader.stats.skipped_capacity == 1
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.mint == first != second
