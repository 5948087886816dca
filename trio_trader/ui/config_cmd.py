"""``python -m trio_trader config show [--config FILE] [--json]`` and ``config check FILE``.

``show`` prints the configuration a ``run`` would use, resolved: the file's values over
the defaults, the private key's presence from the environment, and which key the wallet
would sign with (``app.wallet_source``). Secrets are masked: the private key is never
printed (only whether it is set), and endpoint URLs go through
:func:`ui.format.mask_url` (a provider's API key is a credential). The text form is TOML
with unset keys as comments; ``--json`` prints the same tree as JSON.

``check`` loads the file as ``run`` does (every key, every range, an exit rule required):
exit 0 and ``ok``, or exit 2 and the same ``config error: …`` line ``run`` would print.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from trio_trader.config import (
    Config,
    ConfigError,
    Secret,
    SolAmount,
    UsdcAmount,
    load_config,
    parse_config,
    require_exit_rule,
)
from trio_trader.ui.format import mask_url

EXIT_OK, EXIT_BAD = 0, 2
#: what stands for a secret that is set
HIDDEN = "*** (set, hidden)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``config show`` / ``config check``."""
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the resolved config, secrets masked")
    show.add_argument("--config", type=Path, default=None, help="TOML config (else defaults)")
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    check = actions.add_parser("check", help="validate a config file as `run` would")
    check.add_argument("file", type=Path, metavar="FILE")


def main(args: argparse.Namespace) -> int:
    """Run ``show`` or ``check``; 2 on a bad config."""
    if args.config_action == "check":
        return _check(args.file)
    try:
        config = load_config(args.config) if args.config is not None else parse_config({})
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_BAD
    tree = resolved_tree(config)
    print(json.dumps(tree, indent=2) if args.json else to_toml(tree))
    return EXIT_OK


def _check(path: Path) -> int:
    try:
        require_exit_rule(load_config(path))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_BAD
    print(f"ok: {path}")
    return EXIT_OK


def resolved_tree(config: Config) -> dict[str, Any]:
    """The config as plain data, secrets masked, plus the wallet's key source."""
    from trio_trader.app import wallet_source

    tree = _plain(config)
    assert isinstance(tree, dict)
    tree["wallet"]["key_source"] = wallet_source(config).text
    return tree


def _plain(value: Any, key: str = "") -> Any:
    if isinstance(value, Secret):
        return HIDDEN
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name), f.name) for f in attrs.fields(type(value))}
    if isinstance(value, SolAmount):
        return format(value.sol, "f")  # SOL, as written in the file ("0.01")
    if isinstance(value, UsdcAmount):
        return format(value.usdc, "f")  # USDC, as written in the file ("2.5")
    if isinstance(value, list):
        return [_plain(item, key) for item in value]
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def to_toml(tree: dict[str, Any]) -> str:
    """TOML text of the tree: one table per section; ``None`` as a commented-out key."""
    lines: list[str] = []
    for section, values in tree.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                lines.append(f"# {key} = (not set)")
            elif key == "private_key" or key == "key_source":
                lines.append(f"# {key}: {value}")  # not keys a file may hold
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (same escapes)
    return repr(value)
