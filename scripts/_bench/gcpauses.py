"""The cyclic collector's passes during a measured window: how many, how long, per generation.

``gc.callbacks`` brackets every pass; both clocks are kept: the process's CPU (what the
pass itself cost, steady on a shared machine) and the wall clock (what a waiting event saw).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs


@attrs.define(eq=False)
class GcPauses:
    """Passes seen: (generation, CPU ms, wall ms, wall start) each."""

    passes: list[tuple[int, float, float, float]] = attrs.field(factory=list)
    _start: tuple[float, float] = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = (time.thread_time(), time.perf_counter())
        else:
            cpu, wall = self._start
            self.passes.append(
                (
                    info["generation"],
                    (time.thread_time() - cpu) * 1e3,
                    (time.perf_counter() - wall) * 1e3,
                    wall,
                )
            )

    def within(self, start: float, end: float) -> float:
        """Wall ms of the passes inside ``start``..``end`` (``perf_counter``): what a
        measured path spent stopped by the collector."""
        total = 0.0
        for _, _, wall_ms, at in self.passes:
            overlap = min(end, at + wall_ms / 1e3) - max(start, at)
            total += max(overlap, 0.0)
        return total * 1e3

    def in_paths(self, windows: list[tuple[float, float]]) -> dict[str, Any]:
        """How many of the ``windows`` a pass stopped, and for how long (ms)."""
        hit = [ms for ms in (self.within(a, b) for a, b in windows) if ms > 0]
        return {
            "windows": len(windows),
            "hit": len(hit),
            "ms_max": round(max(hit, default=0.0), 3),
            "ms_total": round(sum(hit), 3),
        }

    def summary(self) -> dict[str, Any]:
        """Per generation: passes, total and longest CPU ms, longest wall ms."""
        out: dict[str, Any] = {}
        for generation in (0, 1, 2):
            these = [p for p in self.passes if p[0] == generation]
            out[f"gen{generation}"] = {
                "passes": len(these),
                "cpu_ms_total": round(sum(p[1] for p in these), 2),
                "cpu_ms_max": round(max((p[1] for p in these), default=0.0), 2),
                "wall_ms_max": round(max((p[2] for p in these), default=0.0), 2),
            }
        return out


@contextmanager
def gc_pauses(pauses: GcPauses | None = None) -> Iterator[GcPauses]:
    """Record the collector's passes while the block runs (into ``pauses`` if given)."""
    pauses = GcPauses() if pauses is None else pauses
    gc.callbacks.append(pauses)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(pauses)
