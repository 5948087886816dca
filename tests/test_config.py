"""Config: the example loads; bad keys, types and values name the key; secrets stay secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from trio_trader.config import Config, ConfigError, SolAmount, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_config_loads_with_documented_values() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.trade.buy_amount_sol == 10_000_000  # "0.01" SOL in lamports
    assert isinstance(config.trade.buy_amount_sol, SolAmount)
    assert config.exits.take_profit_pct == 30.0
    assert config.trade.pre_confirmation_sells is True
    assert config.wallet.private_key is None
    assert config.rpc.endpoints == ["https://api.mainnet-beta.solana.com"]


def test_every_option_of_the_tree_is_in_the_example() -> None:
    import attrs

    text = EXAMPLE.read_text()
    for section in attrs.fields(Config):
        assert f"[{section.name}]" in text
        for field in attrs.fields(section.type):  # type: ignore[arg-type]
            if field.name != "private_key":
                assert f"{field.name} =" in text, f"{section.name}.{field.name} undocumented"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trade": {"slippage": 5}}, "trade.slippage: unknown key"),
        ({"exitz": {}}, "exitz: unknown key"),
        ({"trade": {"max_buys": "5"}}, "trade.max_buys: expected an integer"),
        ({"trade": {"max_active_mints": 2.5}}, "trade.max_active_mints: expected an integer"),
        ({"trade": {"pre_confirmation_sells": 1}}, "trade.pre_confirmation_sells: expected true"),
        ({"exits": {"take_profit_pct": 0}}, "exits.take_profit_pct: must be > 0"),
        ({"exits": {"stop_loss_pct": 100}}, "exits.stop_loss_pct: must be > 0 and < 100"),
        ({"trade": {"buy_slippage_bps": 10_001}}, "trade.buy_slippage_bps: must be between"),
        ({"trade": {"buy_amount_sol": "0.0000000001"}}, "trade.buy_amount_sol: "),
        ({"trade": {"buy_amount_sol": "abc"}}, "trade.buy_amount_sol: not a decimal"),
        ({"listener": {"source": "pumpportal"}}, "listener.source: "),
        ({"filters": {"name_regex": "("}}, "filters.name_regex: invalid regular expression"),
        ({"filters": {"creator_deny": ["nope"]}}, "filters.creator_deny: not a base58"),
        ({"rpc": {"endpoints": []}}, "rpc.endpoints: must not be empty"),
        (
            {"trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": 0}},
            "trade.extreme_fast_token_amount: must be > 0",
        ),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert message in str(info.value)


def test_sol_amounts_are_exact_lamports() -> None:
    assert parse_config({"trade": {"buy_amount_sol": 0.1}}, env={}).trade.buy_amount_sol == (
        100_000_000
    )
    assert parse_config({"trade": {"buy_amount_sol": 2}}, env={}).trade.buy_amount_sol == (
        2_000_000_000
    )
    assert (
        parse_config({"trade": {"buy_amount_sol": "0.000000001"}}, env={}).trade.buy_amount_sol == 1
    )


def test_missing_and_invalid_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[trade\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})


def test_private_key_in_the_file_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"wallet\.private_key: secrets are not read"):
        parse_config({"wallet": {"private_key": "abc"}}, env={})


def test_secret_from_env_is_read_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    secret = "5" * 40 + "SuperSecretKeyMaterial"
    config = parse_config({"wallet": {"private_key_env": "MY_KEY"}}, env={"MY_KEY": secret})
    assert config.wallet.private_key is not None
    assert config.wallet.private_key.reveal() == secret
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("config: %s / %r", config, config)
    for text in (repr(config), str(config), repr(config.wallet), caplog.text):
        assert secret not in text
    assert "***" in repr(config.wallet.private_key)
