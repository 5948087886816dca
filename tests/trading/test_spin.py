"""``trading/spin.py``: the spinner loops until its nursery is cancelled, naps (releasing
the GIL) once per slice, and never starts under MockClock (autojump would never fire)."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
import trio
import trio.testing

from trio_trader import gctune
from trio_trader.gcidle import IdleCollector
from trio_trader.trading import spin as spin_module
from trio_trader.trading.spin import TASK_NAME, start_spinning


def spinners(nursery: trio.Nursery) -> list[trio.lowlevel.Task]:
    return [t for t in nursery.child_tasks if t.name == TASK_NAME]


async def test_the_spinner_keeps_the_loop_busy_and_ends_with_its_nursery(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spin_module, "usable_cores", lambda: 2)
    caplog.set_level(logging.INFO, logger="trio_trader.trading.spin")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            assert start_spinning(nursery) is True
            assert len(spinners(nursery)) == 1
            await trio.sleep(0.05)
            assert len(spinners(nursery)) == 1  # still looping
            nursery.cancel_scope.cancel()
        assert spinners(nursery) == []  # ended with its nursery
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "latency.spin: on" in caplog.records[0].getMessage()


async def test_the_spinner_naps_every_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    naps: list[float] = []
    monkeypatch.setattr(spin_module.time, "sleep", naps.append)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            start = trio.current_time()
            start_spinning(nursery)
            await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        spun = trio.current_time() - start
    # one nap per slice of 0.2 ms spun (~250 in 50 ms; fewer on a loaded machine, never 0)
    assert naps
    assert set(naps) == {spin_module.NAP}
    assert len(naps) <= spun / spin_module.SLICE + 1


async def test_no_spinning_under_mock_clock(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with trio.open_nursery() as nursery:
        assert start_spinning(nursery) is False
        # checked before any sleep: a spinner started here would make the sleep below
        # hang (autojump fires only when the loop is idle), so the test fails first
        assert spinners(nursery) == []
        before = trio.current_time()
        await trio.sleep(3600)  # autojump still works: the clock jumps an hour at once
        assert trio.current_time() - before >= 3600
    (record,) = [r for r in caplog.records if r.name == "trio_trader.trading.spin"]
    assert record.levelno == logging.WARNING
    assert "MockClock" in record.getMessage()


async def test_spinning_on_a_single_core_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trio_trader.trading.spin")
    monkeypatch.setattr(spin_module, "usable_cores", lambda: 1)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            assert start_spinning(nursery) is True  # asked for: it spins, and says what it costs
            nursery.cancel_scope.cancel()
    levels = [r.levelname for r in caplog.records if r.name == "trio_trader.trading.spin"]
    assert levels == ["INFO", "WARNING"]
    assert "one core only" in caplog.records[-1].getMessage()


def test_usable_cores_counts_the_process_affinity() -> None:
    import os

    assert spin_module.usable_cores() == len(os.sched_getaffinity(0)) >= 1


async def test_the_spinner_runs_the_collectors_due_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a spinner the loop never idles, so the collector's idle passes (gcidle.py) never
    come; the spinner runs a due one at its nap, well before the busy safety net would."""
    monkeypatch.setattr(spin_module, "usable_cores", lambda: 2)
    naps: list[float] = []
    monkeypatch.setattr(spin_module.time, "sleep", naps.append)
    freed: list[int] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    def on_freed(_ref: weakref.ref[Cycle]) -> None:
        freed.append(1)

    collector = IdleCollector.from_thresholds()
    with gctune.tuned():  # the freeze zeroes the count
        # more new objects than the idle trigger, fewer than the safety net's threshold
        # (two tracked objects each: the cycle and its weakref)
        refs = [weakref.ref(Cycle(), on_freed) for _ in range(
            (collector.idle_at + collector.busy_at) // 4)]  # fmt: skip
        assert collector.idle_at < gc.get_count()[0] < collector.busy_at
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                start_spinning(nursery)
                # until the spinner's first nap (not a real-time deadline: a loaded machine
                # can stall the process past one before the spinner's first slice ends)
                while not naps:
                    await trio.lowlevel.checkpoint()  # busy: the loop never idles
                nursery.cancel_scope.cancel()
        assert len(freed) == len(refs)  # collected at that nap, before it
