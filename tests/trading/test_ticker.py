"""The shared ticker: each wake-up fires once, at its time, in order; cancelled ones never."""

from __future__ import annotations

import trio
import trio.testing

from trio_trader.trading.ticker import Ticker


async def test_wakeups_fire_once_at_their_time_in_order(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    ticker = Ticker()
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, trio.current_time()))

    start = trio.current_time()
    ticker.call_at(start + 5, lambda: note("b"))  # scheduled before the ticker runs
    await nursery.start(ticker.run)
    ticker.call_at(start + 2, lambda: note("a"))  # earlier than the one it sleeps for
    ticker.call_at(start + 5, lambda: note("c"))  # same time: in scheduling order
    await trio.sleep(10)
    assert fired == [("a", start + 2), ("b", start + 5), ("c", start + 5)]
    assert ticker.scheduled == 0
    ticker.call_at(start + 1, lambda: note("late"))  # already due: fires at once
    await trio.sleep(0.001)
    assert fired[-1] == ("late", start + 10)


async def test_a_cancelled_wakeup_never_fires_and_wakes_nothing(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    ticker = Ticker()
    await nursery.start(ticker.run)
    fired: list[str] = []
    start = trio.current_time()
    first = ticker.call_at(start + 1, lambda: fired.append("cancelled"))
    ticker.call_at(start + 3, lambda: fired.append("kept"))
    ticker.cancel(first)
    ticker.cancel(first)  # twice: no-op
    ticker.cancel(None)
    assert not first.pending
    assert ticker.scheduled == 1
    await trio.sleep(2)
    assert fired == []
    await trio.sleep(2)
    assert fired == ["kept"]
    assert ticker.scheduled == 0


async def test_dead_entries_are_pruned_and_the_live_ones_still_fire(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    """Positions that reschedule or leave (most of them) do not make the heap grow."""
    ticker = Ticker()
    await nursery.start(ticker.run)
    start = trio.current_time()
    fired: list[int] = []
    wakeups = [ticker.call_at(start + 100 + i, lambda i=i: fired.append(i)) for i in range(1000)]
    for i, wakeup in enumerate(wakeups):
        if i % 10:
            ticker.cancel(wakeup)
    assert ticker.scheduled == 100
    assert len(ticker._heap) < 300  # rebuilt once most of it was dead
    await trio.sleep(2000)
    assert fired == list(range(0, 1000, 10))
    assert ticker.scheduled == 0
    assert ticker._heap == []


async def test_many_wakeups_due_together_are_fired_in_one_pass(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    ticker = Ticker()
    await nursery.start(ticker.run)
    at = trio.current_time() + 60
    seen: list[float] = []
    for _ in range(1000):
        ticker.call_at(at, lambda: seen.append(trio.current_time()))
    await trio.sleep(61)
    assert seen == [at] * 1000
