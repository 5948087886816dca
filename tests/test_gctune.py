"""gctune: what exists at start-up is frozen, what comes later is collected; ``tuned`` thaws."""

from __future__ import annotations

import gc
import weakref

from trio_trader import gctune


class Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


async def test_what_lives_at_the_freeze_is_never_walked_until_thawed() -> None:
    thresholds = gc.get_threshold()
    made = Cycle()
    ref = weakref.ref(made)
    with gctune.tuned() as frozen:
        assert frozen > 1_000
        del made
        gc.collect()
        assert ref() is not None  # frozen: no pass looks at it
        assert gc.get_threshold() == thresholds  # left as they are (see the module)
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None


async def test_cycles_made_after_the_freeze_are_still_collected() -> None:
    with gctune.tuned():
        refs = [weakref.ref(Cycle()) for _ in range(100)]
        gc.collect()  # memory stays bounded: later garbage is freed as usual
        assert all(ref() is None for ref in refs)
