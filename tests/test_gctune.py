"""gctune: start-up's objects frozen, a higher young threshold; ``tuned`` undoes both."""

from __future__ import annotations

import gc

from trio_trader import gctune


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_tuned_freezes_what_exists_raises_gen0_and_undoes_both() -> None:
    before = gc.get_threshold()
    with gctune.tuned() as tuning:
        assert tuning.thresholds_before == before
        assert gc.get_threshold() == (gctune.GEN0_THRESHOLD, before[1], before[2])
        assert tuning.thresholds == gc.get_threshold()
        assert tuning.frozen > 1_000
        gc.collect()  # a pass moves nothing into the frozen set (reference counts may free)
        assert 0 < gc.get_freeze_count() <= tuning.frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_after_tuning_are_still_collected() -> None:
    with gctune.tuned():
        cycles = [Cycle() for _ in range(100)]
        alive = len(gc.get_objects())
        del cycles
        assert gc.collect() >= 100
        assert len(gc.get_objects()) <= alive - 100


def test_tune_never_lowers_a_higher_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(50_000, before[1], before[2])
        with gctune.tuned():
            assert gc.get_threshold()[0] == 50_000
    finally:
        gc.set_threshold(*before)
