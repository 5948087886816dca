"""Helpers for the pump tests: the IDL beside the samples, and sample decoding shortcuts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from tests.conftest import SAMPLES

IDL_PATH = SAMPLES.parent / "pump.json"


@pytest.fixture(scope="session")
def idl() -> dict[str, Any]:
    """``pump.json`` (the newest IDL); skips when ``../shared/pumpfun`` is absent."""
    if not IDL_PATH.exists():
        pytest.skip("pump.json not available (../shared/pumpfun)")
    data: dict[str, Any] = json.loads(Path(IDL_PATH).read_text())
    return data


def key_from_bytes(raw: list[int]) -> Pubkey:
    """Samples s09/s10 store pubkeys as JSON arrays of 32 ints."""
    return Pubkey.from_bytes(bytes(raw))
