"""``config show`` / ``config check``, and the Solana CLI's id.json as the default key."""

from __future__ import annotations

import json
from pathlib import Path

import base58
import pytest
from solders.keypair import Keypair

from trio_trader import app, cli
from trio_trader.config import ConfigError, parse_config
from trio_trader.ui.banner import banner_lines
from trio_trader.ui.config_cmd import HIDDEN

HELIUS = "https://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc"
CONFIG = f"""
[rpc]
endpoints = ["{HELIUS}"]
ws_url = "wss://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc"
[trade]
buy_amount_sol = "0.05"
[exits]
take_profit_pct = 25.0
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own (never the user's id.json), and no key in the env."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.delenv("TRIO_TRADER_PRIVATE_KEY", raising=False)
    return path


def solana_cli_keypair(home: Path) -> Keypair:
    """What ``solana-keygen new`` writes: a JSON array of the 64 secret bytes, mode 0600."""
    keypair = Keypair()
    path = home / ".config" / "solana" / "id.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(0o600)
    return keypair


def test_config_show_masks_secrets_and_resolves_the_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = base58.b58encode(bytes(Keypair())).decode()
    monkeypatch.setenv("TRIO_TRADER_PRIVATE_KEY", secret)
    path = tmp_path / "bot.toml"
    path.write_text(CONFIG)
    assert cli.main(["config", "show", "--config", str(path)]) == 0
    text = capsys.readouterr().out
    assert secret not in text
    assert "0b7c2f3e" not in text
    assert 'endpoints = ["https://mainnet.helius-rpc.com/?api-key=***"]' in text
    assert 'buy_amount_sol = "0.05"' in text  # SOL as written, not lamports
    assert "take_profit_pct = 25.0" in text
    assert "# stop_loss_pct = (not set)" in text
    assert f"# private_key: {HIDDEN}" in text
    assert "# key_source: $TRIO_TRADER_PRIVATE_KEY (environment)" in text

    assert cli.main(["config", "show", "--config", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert secret not in out
    tree = json.loads(out)
    assert tree["wallet"]["private_key"] == HIDDEN
    assert tree["trade"]["max_buy_sol"] == "1"  # a default, resolved
    assert tree["exits"]["stop_loss_pct"] is None
    assert tree["rpc"]["ws_url"] == "wss://mainnet.helius-rpc.com/?api-key=***"


def test_config_check_ok_or_exit_2_with_the_run_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(CONFIG)
    assert cli.main(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"ok: {good}"
    no_exit = tmp_path / "no_exit.toml"
    no_exit.write_text("[trade]\nbuy_amount_sol = 0.01\n")
    assert cli.main(["config", "check", str(no_exit)]) == 2
    assert "config error: exits: no exit rule is set" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[exits]\ntake_profit_pct = -5\n")
    assert cli.main(["config", "check", str(bad)]) == 2
    assert "config error: exits.take_profit_pct: must be > 0" in capsys.readouterr().err
    assert cli.main(["config", "check", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_solana_cli_keypair_is_used_when_no_key_is_configured(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = parse_config({}, env={})
    with pytest.raises(ConfigError, match=r"~/.config/solana/id.json"):
        app._wallet(config)  # nothing anywhere: the error names all three sources
    keypair = solana_cli_keypair(home)
    wallet, source = app._wallet(config)
    assert wallet.pubkey == keypair.pubkey()
    assert (source.kind, source.path) == ("solana_cli", home / ".config/solana/id.json")
    assert source.text == "~/.config/solana/id.json (Solana CLI default)"
    lines = banner_lines(
        config, mode="LIVE trading with real SOL", wallet=str(wallet.pubkey), balance=1,
        endpoints=config.rpc.endpoints, ws_url=config.rpc.ws_url, wallet_source=source.text,
    )  # fmt: skip
    assert "  key       ~/.config/solana/id.json (Solana CLI default)" in lines
    assert cli.main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["wallet"]["key_source"]
    assert shown == "~/.config/solana/id.json (Solana CLI default)"


def test_a_configured_key_wins_over_the_solana_cli_keypair(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    solana_cli_keypair(home)
    from_env = Keypair()
    env = {"TRIO_TRADER_PRIVATE_KEY": base58.b58encode(bytes(from_env)).decode()}
    monkeypatch.setenv("TRIO_TRADER_PRIVATE_KEY", env["TRIO_TRADER_PRIVATE_KEY"])
    wallet, source = app._wallet(parse_config({}, env=env))
    assert (wallet.pubkey, source.kind) == (from_env.pubkey(), "env")
    file_key = Keypair()
    path = tmp_path / "trader.json"
    path.write_text(json.dumps(list(bytes(file_key))))
    path.chmod(0o600)
    wallet, source = app._wallet(parse_config({"wallet": {"keypair_file": str(path)}}, env=env))
    assert (wallet.pubkey, source.kind) == (file_key.pubkey(), "file")
