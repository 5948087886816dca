"""The ``[latency]`` section (``trading/spin.py``, ``trading/rehearsal.py``): both off by
default, clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from trio_trader.app import trader_settings
from trio_trader.config import ConfigError, LatencyConfig, parse_config


def test_spin_is_off_by_default() -> None:
    config = parse_config({}, env={})
    assert config.latency == LatencyConfig(spin=False, rehearse_ms=0.0)
    assert trader_settings(config).spin is False
    assert trader_settings(config).rehearse == 0
    assert parse_config({"latency": {}}, env={}).latency.spin is False


def test_spin_true_reaches_the_traders_settings() -> None:
    config = parse_config({"latency": {"spin": True}}, env={})
    assert config.latency.spin is True
    assert trader_settings(config).spin is True


@pytest.mark.parametrize(("ms", "seconds"), [(2, 0.002), (0.5, 0.0005), (10.0, 0.01)])
def test_rehearse_ms_reaches_the_traders_settings_in_seconds(ms: float, seconds: float) -> None:
    config = parse_config({"latency": {"rehearse_ms": ms}}, env={})
    assert config.latency.rehearse_ms == ms
    assert trader_settings(config).rehearse == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"spin": "yes"}, r"^latency\.spin: expected true or false, got str 'yes'$"),
        ({"spin": 1}, r"^latency\.spin: expected true or false, got int 1$"),
        ({"spin": "true"}, r"^latency\.spin: expected true or false"),
        ({"spinning": True}, r"^latency\.spinning: unknown key$"),
        ({"warm_interval_ms": 5}, r"^latency\.warm_interval_ms: unknown key$"),
        ({"rehearse_ms": -1}, r"^latency\.rehearse_ms: must be 0 \(off\) or at least 0\.5$"),
        ({"rehearse_ms": 0.1}, r"^latency\.rehearse_ms: must be 0 \(off\) or at least 0\.5$"),
        ({"rehearse_ms": "2"}, r"^latency\.rehearse_ms: expected a number, got str '2'$"),
        ({"rehearse_ms": True}, r"^latency\.rehearse_ms: expected a number, got a boolean$"),
    ],
)
def test_a_bad_latency_value_is_refused_naming_the_key(
    section: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"latency": section}, env={})


def test_a_latency_section_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^latency: "):
        parse_config({"latency": True}, env={})
