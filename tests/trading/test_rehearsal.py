"""``trading/rehearsal.py`` without a chain: never started under MockClock (a timer every
few ms would make autojumping tests crawl), its loop stepped on the mock clock."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

from trio_trader.chain.transactions import SignedTransaction
from trio_trader.trading.rehearsal import TASK_NAME, Rehearsal, start_rehearsing
from trio_trader.trading.token_info import TokenInfo


def never_replayed() -> TokenInfo | None:
    raise AssertionError("a rehearsal ran")


def never_signed(token_info: TokenInfo) -> SignedTransaction | None:
    raise AssertionError("a rehearsal ran")


async def test_no_rehearsing_under_mock_clock(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    rehearsal = Rehearsal(0.001, never_replayed, never_signed)
    async with trio.open_nursery() as nursery:
        assert start_rehearsing(nursery, rehearsal) is False
        assert [t for t in nursery.child_tasks if t.name == TASK_NAME] == []
        await trio.sleep(3600)  # an hour of autojumps: nothing was rehearsed
    assert rehearsal.stats.decoded == rehearsal.stats.signed == rehearsal.stats.failed == 0
    (record,) = [r for r in caplog.records if r.name == "trio_trader.trading.rehearsal"]
    assert record.levelno == logging.WARNING
    assert "MockClock" in record.getMessage()


async def rehearse_for(rehearsal: Rehearsal, seconds: float) -> None:
    """``rehearsal.run`` for ``seconds`` of the (mock) clock, then cancelled. Run directly:
    ``start_rehearsing`` refuses a MockClock for the bot's sake, the loop itself does not."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(rehearsal.run)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()


async def test_nothing_is_rehearsed_before_a_create_is_seen(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen = 0

    def nothing_yet() -> TokenInfo | None:
        nonlocal seen
        seen += 1
        return None

    rehearsal = Rehearsal(0.001, nothing_yet, never_signed)
    await rehearse_for(rehearsal, 0.0105)
    assert seen == 10  # one look per period
    assert rehearsal.stats.decoded == rehearsal.stats.signed == rehearsal.stats.failed == 0


async def test_no_rehearsal_while_a_real_buy_is_on_its_way(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # ``busy``: a token was taken in and its BUY not sent yet; the rehearsal, which may sit
    # in the same scheduler batch as that BUY's task, skips its turn instead of running
    # first (neither replay nor sign is called: both would fail the test).
    rehearsal = Rehearsal(0.001, never_replayed, never_signed, busy=lambda: True)
    await rehearse_for(rehearsal, 0.0105)
    assert rehearsal.stats.skipped == 10
    assert rehearsal.stats.decoded == rehearsal.stats.signed == rehearsal.stats.failed == 0
