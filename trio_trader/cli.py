"""Command line: ``python -m trio_trader [run|sim|positions|report] …``.

Each subcommand's options and body live beside the code they drive; this module
only dispatches, importing lazily so ``--help`` stays fast and one broken layer
cannot take the others' commands down with it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, Protocol, cast

# subcommand -> module with ``add_arguments(parser)`` and ``main(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "trio_trader.app",
        "trade on a real endpoint (--config) or the embedded simulator (--sim)",
    ),
    "sim": ("trio_trader.sim.command", "run a standalone local Solana node with a pump.fun market"),
    "positions": ("trio_trader.ui.positions", "list the positions in the bot's database"),
    "report": ("trio_trader.ui.report", "totals of the bot's database: PnL, trades, errors"),
}
DEFAULT_ARGV = ["run", "--sim"]


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def main(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command:
    return cast(_Command, importlib.import_module(SUBCOMMANDS[name][0]))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trio-trader", description=__doc__.splitlines()[0])
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: debug logs; -vv: also every HTTP request",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if only is None or only == name:
            _load(name).add_arguments(sub_parser)
    return parser


@contextmanager
def signals_noted(received: list[int]) -> Iterator[None]:
    """Note SIGINT/SIGTERM in ``received`` instead of dying, for the block.

    ``run`` enters this before anything else (importing the bot takes a while), so a
    signal at start-up stops the run gracefully once Trio's own receiver takes over.
    """

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous: dict[signal.Signals, Any] = {}
    try:
        for which in (signal.SIGINT, signal.SIGTERM):
            previous[which] = signal.getsignal(which)
            signal.signal(which, note)
        yield
    finally:
        for which, handler in previous.items():
            signal.signal(which, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not [a for a in args_list if not a.startswith("-")]:
        args_list += DEFAULT_ARGV
    command = next((a for a in args_list if a in SUBCOMMANDS), None)
    if command != "run":
        return _main(args_list, command, None)
    early: list[int] = []
    with signals_noted(early):
        return _main(args_list, command, early)


def _main(args_list: list[str], command: str | None, early: list[int] | None) -> int:
    parser = build_parser(only=command)
    args = parser.parse_args(args_list)
    if early is not None:
        args.early_signals = early
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if args.verbose < 2:
        # one line per HTTP request drowns the bot's own story; -vv brings them back
        for noisy in ("httpx", "httpcore", "hypercorn.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help()
        return 2
    return _load(args.command).main(args)
