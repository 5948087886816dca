"""Shared test helpers.

Real mainnet captures live in ``../shared/pumpfun/samples`` beside the clone; tests that
read them skip cleanly when that folder is absent (see its README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
