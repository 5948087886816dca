"""gcidle: automatic collection off, the young passes run when the loop idles, a safety net
when it never does, the state restored after the block, nothing ever raised into Trio."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
import trio

from trio_trader import gcidle, gctune
from trio_trader.gcidle import IdleCollector, due_generation


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


class Freed:
    """Counts the cycles whose weakref callback ran (the collector freed them)."""

    def __init__(self) -> None:
        self.count = 0
        self.refs: list[weakref.ref[Cycle]] = []

    def _freed(self, _ref: weakref.ref[Cycle]) -> None:
        self.count += 1

    def make(self, n: int) -> None:
        """``n`` cycles, dropped at once: garbage only a collector pass can free."""
        self.refs.extend(weakref.ref(Cycle(), self._freed) for _ in range(n))


async def idle() -> None:
    """Let the run loop idle once, however loaded the machine: the task waits for a
    callback that Trio runs only after its next wait for I/O (``run_sync_soon`` wakes the
    loop through a socket), and no deadline is pending, so that wait has a positive
    timeout. It allocates next to nothing (a worker thread would, up to the safety net).

    Not ``trio.sleep(0.001)``: a process descheduled past that deadline before the loop
    computes its timeout polls with a zero one, which is not idle, and no pass runs.
    """
    woken = trio.Event()
    trio.lowlevel.current_trio_token().run_sync_soon(woken.set)
    await woken.wait()


def _due_at_idle() -> int:
    """Cycles for more new objects than a pass at idle needs, fewer than the safety net's
    (CPython's threshold): two tracked objects each (the cycle and its weakref)."""
    collector = IdleCollector.from_thresholds()
    assert collector.busy_at == gc.get_threshold()[0]
    return (collector.idle_at + collector.busy_at) // 4


async def test_cycles_made_while_the_loop_works_are_freed_once_it_idles() -> None:
    freed = Freed()
    with gctune.tuned():
        assert not gc.isenabled()
        freed.make(_due_at_idle())
        assert gc.get_count()[0] > IdleCollector.from_thresholds().idle_at
        await trio.lowlevel.checkpoint()  # the loop passes, busy (this task is runnable)
        assert freed.count == 0  # automatic collection is off, and no pass runs while busy
        await idle()  # nothing runnable: the loop idles
        assert freed.count == len(freed.refs)
    assert gc.isenabled()


async def test_the_safety_net_collects_when_the_loop_never_idles() -> None:
    freed = Freed()
    batch = 100
    with gctune.tuned() as _, gcidle.collect_when_idle() as inner:
        assert inner is None  # nested: the outer collector is left in charge
        peak = 0
        # never sleeps: the runner always has this task runnable (a busy burst, a spin)
        for _ in range(40 * gc.get_threshold()[0] // batch):
            freed.make(batch)
            peak = max(peak, gc.get_count()[0])
            await trio.lowlevel.checkpoint()
        assert freed.count >= len(freed.refs) * 3 // 4  # memory stays bounded
        assert peak <= gc.get_threshold()[0] + batch * 4  # one loop pass over CPython's
    assert gc.isenabled()


async def test_a_spinning_task_collects_when_due_at_the_usual_threshold() -> None:
    freed = Freed()
    assert gcidle.collect_if_due() is False  # no block: nothing to do, never collects
    with gctune.tuned() as _:
        freed.make(IdleCollector.from_thresholds().idle_at // 4)  # the freeze zeroed the count
        assert gcidle.collect_if_due() is False
        assert freed.count == 0
        freed.make(IdleCollector.from_thresholds().idle_at)
        assert gcidle.collect_if_due() is True
        assert freed.count == len(freed.refs)
    assert gcidle.collect_if_due() is False


async def test_automatic_collection_left_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        freed = Freed()
        with gctune.tuned():
            freed.make(_due_at_idle())
            await idle()
            assert freed.count == 0  # the caller's choice: no pass at idle either
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.collect()
    assert freed.count == len(freed.refs)


async def test_the_state_is_restored_when_the_block_raises() -> None:
    thresholds = gc.get_threshold()
    with pytest.raises(ValueError, match="boom"), gctune.tuned():
        raise ValueError("boom")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    # the instrument is gone: no pass at idle, automatic collection frees cycles as before
    freed = Freed()
    gc.disable()
    try:
        freed.make(_due_at_idle())
        await idle()
        assert freed.count == 0
    finally:
        gc.enable()


async def test_a_failing_pass_never_raises_into_trio_and_turns_collection_back_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(generation: int = 2) -> int:
        raise RuntimeError(f"pass {generation} broken")

    with gctune.tuned():
        with monkeypatch.context() as patch:
            patch.setattr(gc, "collect", broken)
            Freed().make(_due_at_idle())
            await idle()  # the instrument's pass raises inside before_io_wait
        assert gc.isenabled()  # memory stays bounded: CPython collects again
        assert gcidle.collect_if_due() is False  # the collector stands down
    assert gc.isenabled()
    failures = [r for r in caplog.records if r.name == "trio_trader.gcidle"]
    assert [r.levelno for r in failures] == [logging.ERROR]
    assert "broken" in caplog.text
    assert "Instrument has been disabled" not in caplog.text  # Trio saw nothing


def test_outside_a_trio_run_the_block_refuses_and_restores() -> None:
    with pytest.raises(RuntimeError), gctune.tuned():
        pass  # pragma: no cover (never entered)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    ("counts", "heap_grew", "generation"),
    [
        ((701, 0, 0), False, 0),
        ((701, 10, 0), True, 0),  # gen 1's count must exceed its threshold
        ((701, 11, 3), False, 1),
        ((701, 11, 11), False, 1),  # ten middle passes, but the heap has not grown
        ((701, 11, 11), True, 2),
        ((701, 0, 11), True, 2),
    ],
)
def test_the_due_generation_follows_cpython(
    counts: tuple[int, int, int], heap_grew: bool, generation: int
) -> None:
    assert due_generation(counts, (700, 10, 10), heap_grew=heap_grew) == generation


async def test_garbage_promoted_to_the_oldest_generation_is_freed_once_the_heap_grows() -> None:
    freed = Freed()
    kept: list[object] = []
    with gctune.tuned():
        freed.make(100)
        alive = [ref() for ref in freed.refs]
        gc.collect(1)  # promoted to gen 2, as long-lived objects are
        del alive
        assert freed.count == 0
        collector = IdleCollector(idle_at=0, busy_at=10**9)
        while gc.get_count()[2] <= gc.get_threshold()[2]:
            collector.collect()  # young passes: gen 2's garbage is not theirs
        collector.collect()  # gen 2's count is over, but the heap has not grown
        assert freed.count == 0
        assert collector.passes[2] == 0
        # a quarter more heap (pymalloc blocks): now the pass is a full one
        kept.extend(bytearray(16) for _ in range(collector.heap_base // 5))
        collector.collect()
        assert collector.passes[2] == 1
        assert freed.count == len(freed.refs)
