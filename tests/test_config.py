"""Config: the example loads; bad keys, types and values name the key; secrets stay secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from trio_trader.config import (
    Config,
    ConfigError,
    SolAmount,
    load_config,
    parse_config,
    require_exit_rule,
)

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
    two = {"buy_amount_sol": 2, "max_buy_sol": "2"}
    assert parse_config({"trade": two}, env={}).trade.buy_amount_sol == 2_000_000_000
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


def test_example_values_are_the_defaults_unless_marked_example() -> None:
    """The example's header promises it: a value that is not the default says so."""
    import tomllib

    lines = EXAMPLE.read_text().splitlines()
    example, default = load_config(EXAMPLE, env={}), Config()
    for section, table in tomllib.loads(EXAMPLE.read_text()).items():
        for key in table:
            if getattr(getattr(example, section), key) == getattr(getattr(default, section), key):
                continue
            at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
            comments = []
            while at > 0 and lines[at - 1].startswith("#"):
                at -= 1
                comments.append(lines[at])
            assert any("Example" in c for c in comments), f"{section}.{key} is not the default"


@pytest.mark.parametrize(
    "value",
    ["1e30", 1e30, "1E3", "-1", -0.5, "inf", "nan", "sNaN", "Infinity", 1e-05, "0x10", "1 000",
     "1_000", "", ".", "1000000001", "99999999999999999999999999999999", "1e-9"],
)  # fmt: skip
def test_sol_amounts_refuse_exponents_signs_and_absurd_amounts(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^filters\.min_creator_buy_sol: "):
        parse_config({"filters": {"min_creator_buy_sol": value}}, env={})


@pytest.mark.parametrize(
    ("value", "lamports"),
    [("1.", 10**9), (".5", 5 * 10**8), (" 0.25 ", 25 * 10**7), ("0.100000000", 10**8),
     ("1000000000", 10**18), (7, 7 * 10**9), (0.001, 10**6)],
)  # fmt: skip
def test_sol_amounts_accept_plain_decimals_exactly(value: object, lamports: int) -> None:
    assert SolAmount.parse(value) == lamports


def test_buy_amount_above_max_buy_sol_is_refused_naming_both_keys() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"trade": {"buy_amount_sol": "1.5"}}, env={})
    message = str(info.value)
    assert "trade.buy_amount_sol" in message
    assert "trade.max_buy_sol" in message
    assert "1.5 SOL" in message
    config = parse_config({"trade": {"buy_amount_sol": "1.5", "max_buy_sol": "2"}}, env={})
    assert (config.trade.buy_amount_sol, config.trade.max_buy_sol) == (15 * 10**8, 2 * 10**9)
    assert Config().trade.max_buy_sol == 10**9  # the default: 1 SOL


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trade": {"extreme_fast_token_amount": 2**64}}, "trade.extreme_fast_token_amount: must"),
        ({"trade": {"compute_unit_limit": 1_400_001}}, "trade.compute_unit_limit: must be <="),
        ({"priority_fee": {"fixed_micro_lamports": 2**64}}, "priority_fee.fixed_micro_lamports"),
        # 120k CU × 10^10 µ-lamports = 1.2 SOL of priority fee per transaction
        ({"priority_fee": {"fixed_micro_lamports": 10**10}}, "priority_fee: 1.2 SOL"),
        (
            {"priority_fee": {"mode": "dynamic", "cap_micro_lamports": 10**10}},
            "above trade.max_buy_sol",
        ),
    ],
)
def test_amounts_that_do_not_fit_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert message in str(info.value)


def test_a_config_without_exit_rules_cannot_start() -> None:
    with pytest.raises(ConfigError) as info:
        require_exit_rule(parse_config({"trade": {"max_buys": 1}}, env={}))
    message = str(info.value)
    assert message.startswith("exits: no exit rule is set")
    for key in ("take_profit_pct", "stop_loss_pct", "trailing_stop_pct", "max_hold_time",
                "sell_after", "never_sell = true"):  # fmt: skip
        assert f"exits.{key}" in message
    for exits in ({"sell_after": 0.0}, {"never_sell": True}, {"trailing_stop_pct": 5.0}):
        require_exit_rule(parse_config({"exits": exits}, env={}))  # accepted
    require_exit_rule(load_config(EXAMPLE, env={}))


def test_adopt_orphans_is_off_unless_set() -> None:
    assert Config().trade.adopt_orphans is False
    assert parse_config({"trade": {"adopt_orphans": True}}, env={}).trade.adopt_orphans is True
    with pytest.raises(ConfigError, match=r"trade\.adopt_orphans: expected true or false"):
        parse_config({"trade": {"adopt_orphans": "yes"}}, env={})


def test_usdc_is_traded_only_with_v2_and_the_error_names_the_key() -> None:
    assert parse_config({}, env={}).trade.quote_mints == ["SOL"]
    with pytest.raises(ConfigError, match=r'^trade\.quote_mints: "USDC" needs trade\.instructions'):
        parse_config({"trade": {"quote_mints": ["SOL", "USDC"]}}, env={})
    trade = parse_config({"trade": {"quote_mints": ["USDC"], "instructions": "v2"}}, env={}).trade
    assert trade.quote_mints == ["USDC"]
    with pytest.raises(ConfigError, match=r"^trade\.quote_mints\[0\]: "):
        parse_config({"trade": {"quote_mints": ["BONK"], "instructions": "v2"}}, env={})
    with pytest.raises(ConfigError, match=r"^trade\.quote_mints: must not be empty"):
        parse_config({"trade": {"quote_mints": []}}, env={})


@pytest.mark.parametrize(
    ("value", "units"), [("2.5", 2_500_000), (2.5, 2_500_000), (10, 10_000_000), ("0.000001", 1)]
)
def test_usdc_amounts_are_exact_base_units(value: object, units: int) -> None:
    trade = parse_config({"trade": {"buy_amount_usdc": value}}, env={}).trade
    assert int(trade.buy_amount_usdc) == units
    assert type(int(trade.buy_amount_usdc)) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.0000001", "not a whole number of USDC base units"),
        ("1e3", "not a decimal amount of USDC"),
        ("-1", "not a decimal amount of USDC"),
        (True, "expected USDC"),
        ("200", "above trade.max_buy_usdc"),
    ],
)
def test_usdc_amounts_refuse_what_is_not_plain_or_above_the_cap(
    value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^trade\.buy_amount_usdc: ") as caught:
        parse_config({"trade": {"buy_amount_usdc": value}}, env={})
    assert message in str(caught.value)
