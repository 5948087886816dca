"""Shared test helpers.

Real mainnet captures live in ``../shared/pumpfun/samples`` beside the clone; tests that
read them skip cleanly when that folder is absent (see its README).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from trio_trader.ui.logs import reset_logging

# No property here is about speed: Hypothesis's per-example deadline (200 ms) and its
# "data generation too slow" check measure the machine. A loaded CI machine stalling the
# process 300 ms in one example fails a right test (DeadlineExceeded, then FlakyFailure).
# Every property keeps its examples; only the verdicts taken from the clock are off.
settings.register_profile(
    "trio-trader", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("trio-trader")

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "pumpfun" / "samples"


def sample_path(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"mainnet sample {name} not available (../shared/pumpfun/samples)")
    return path


def load_sample(name: str) -> Any:
    path = sample_path(name)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return path.read_text()


@pytest.fixture(autouse=True)
def _private_lock_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's bots (in process or subprocesses) lock their wallet in a directory of
    their own: two test runs side by side (or one test's seeded wallet reused by another)
    must not find each other's wallet locks in ``~/.cache/trio-trader/locks``."""
    monkeypatch.setenv("TRIO_TRADER_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger back as it was after a test that set up the bot's logging."""
    root = logging.getLogger()
    level = root.level
    yield
    reset_logging()
    root.setLevel(level)
