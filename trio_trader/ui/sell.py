"""``python -m trio_trader sell --position N | --mint M | --all [--db PATH | --config FILE]``.

Asks the running bot to sell now (exit reason ``manual``): one position by id (as
``positions`` lists it), the open position of a mint, or every open position. The bot
sells through the position's monitor, exactly as when an exit rule fires, so a position
whose BUY is still unconfirmed may be sold before it confirms. See ``ui/control.py`` for
the channel, the wait and the exit codes.
"""

from __future__ import annotations

import argparse

from solders.pubkey import Pubkey

from trio_trader.trading.control import SELL
from trio_trader.ui.control import add_db_arguments, run_command


def _position_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a position id: {text!r}")
    return int(text)


def _mint(text: str) -> str:
    try:
        return str(Pubkey.from_string(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a mint address: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``sell``."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--position", type=_position_id, metavar="N", help="position id")
    target.add_argument("--mint", type=_mint, metavar="M", help="the open position of a mint")
    target.add_argument("--all", action="store_true", help="every open position")
    add_db_arguments(parser)


def target(args: argparse.Namespace) -> str:
    """The command's ``arg``: ``position:N``, ``mint:M`` or ``all``."""
    if args.all:
        return "all"
    if args.position is not None:
        return f"position:{args.position}"
    return f"mint:{args.mint}"


def main(args: argparse.Namespace) -> int:
    """Send the SELL request; print what the bot did."""
    return run_command(args, SELL, target(args))
