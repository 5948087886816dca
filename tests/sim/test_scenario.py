"""Scenario files: every shipped one loads, malformed ones name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from trio_trader.sim.faults import Faults
from trio_trader.sim.scenario import (
    Range,
    ScenarioError,
    list_scenarios,
    load_scenario,
    parse_scenario,
)

SHIPPED = {
    "curve_complete",
    "default",
    "instant_rug",
    "pump_dump",
    "quiet",
    "scripted_60s",
    "steady",
}

MINIMAL = """
name = "mini"
[launches]
rate_per_second = 1.0
initial_buy_sol = { min = 0.5, max = 1.25 }
[[profiles]]
kind = "random_walk"
"""


def test_every_shipped_scenario_is_listed_and_loads() -> None:
    assert set(list_scenarios()) >= SHIPPED
    for name in list_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.profiles or scenario.launches.rate_per_second == 0


def test_sol_amounts_become_exact_lamports(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL)
    scenario = load_scenario(path)
    assert scenario.launches.initial_buy_sol == Range(500_000_000, 1_250_000_000)
    assert isinstance(scenario.launches.initial_buy_sol.min, int)


def test_shipped_profiles_match_their_names() -> None:
    assert {p.kind for p in load_scenario("instant_rug").profiles} == {"instant_rug"}
    assert {p.kind for p in load_scenario("pump_dump").profiles} == {"pump_dump"}
    assert {p.kind for p in load_scenario("curve_complete").profiles} == {"curve_complete"}
    quiet = load_scenario("quiet")
    assert all(p.traders == Range(0, 0) for p in quiet.profiles)
    assert {p.kind for p in load_scenario("default").profiles} == {
        "random_walk",
        "pump_dump",
        "instant_rug",
        "curve_complete",
    }


def test_fault_settings_become_a_fresh_mutable_faults() -> None:
    scenario = parse_scenario(
        {"name": "f", "faults": {"drop_probability": 0.25, "latency_max": 0.8}}
    )
    faults = scenario.faults.to_faults()
    assert isinstance(faults, Faults)
    assert faults.drop_probability == 0.25
    assert faults.latency_max == 0.8
    faults.drop_probability = 0.5  # the node's copy; the scenario stays as loaded
    assert scenario.faults.drop_probability == 0.25
    assert scenario.faults.to_faults() is not faults


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('name = "x"\n[wallets]\ntraderz = 3\n', "extra fields found (traderz) @ $.wallets"),
        ('name = "x"\nbogus = 1\n', "extra fields found (bogus) @ $"),
        ('name = "x"\n[wallets]\ntraders = "40"\n', "@ $.wallets.traders"),
        ('name = "x"\n[wallets]\ntraders = 1.5\n', "@ $.wallets.traders"),
        ('name = "x"\n[wallets]\ntrader_funding_sol = "lots"\n', "@ $.wallets.trader_funding_sol"),
        (
            'name = "x"\n[launches]\ninitial_buy_sol = { min = 0.0000000001, max = 1 }\n',
            "not a whole number of lamports",
        ),
        ('name = "x"\n[launches]\ncreate_v2_share = 1.5\n', "create_v2_share must be within 0..1"),
        (
            'name = "x"\n[[profiles]]\nkind = "moon"\n',
            "@ $.profiles[0].kind",
        ),
        (
            'name = "x"\n[[profiles]]\nbuy_sol = { min = 2, max = 1 }\n',
            "min 2000000000 is greater than max 1000000000) @ $.profiles[0].buy_sol",
        ),
        (
            'name = "x"\n[[profiles]]\ntraders = { min = 1, max = 2, avg = 1 }\n',
            "extra fields found (avg) @ $.profiles[0].traders",
        ),
        (
            'name = "x"\n[priority_fees]\nmicro_lamports = [1, 2]\nweights = [1]\n',
            "weights has 1 entries",
        ),
        ('name = "x"\n[[profiles]]\nkind = "curve_complete"\n', "needs wallets.whales"),
        ('name = "x"\n[launches]\nrate_per_second = 1\n', "needs at least one [[profiles]]"),
        ('name = "x"\n[launches]\nusdc_share = 1.5\n', "usdc_share must be within 0..1"),
        ('name = "x"\n[graduation]\nmigrate = 1\n', "expected true or false, got 1"),
        (
            'name = "x"\n[graduation]\nmigrate_after = { min = 3.0, max = 1.0 }\n',
            "@ $.graduation.migrate_after",
        ),
        ('name = "x"\n[graduation]\nmigrate_later = true\n', "extra fields found"),
    ],
)
def test_malformed_scenario_names_the_key_and_the_problem(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path))


def test_invalid_toml_and_unknown_names_are_scenario_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'; known: curve_complete"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")


def test_graduation_defaults_migrate_and_trade_on_the_pool() -> None:
    scenario = load_scenario("graduation")
    assert scenario.graduation.migrate
    assert scenario.graduation.pool_trading
    assert scenario.graduation.migrate_after.max == 2.0
    assert scenario.launches.usdc_share == 0.2
