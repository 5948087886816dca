"""Command line: ``python -m trio_trader COMMAND …`` (run, sim, positions, report, sell, …).

Each subcommand's options and body live beside the code they drive; this module
only dispatches, importing lazily so ``--help`` stays fast and one broken layer
cannot take the others' commands down with it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, cast

from trio_trader import __version__
from trio_trader.ui.logs import setup_logging

# subcommand -> module with ``add_arguments(parser)`` and ``main(args) -> int``
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": (
        "trio_trader.app",
        "trade on a real endpoint (--config) or the embedded simulator (--sim)",
    ),
    "sim": ("trio_trader.sim.command", "run a standalone local Solana node with a pump.fun market"),
    "positions": ("trio_trader.ui.positions", "list the positions in the bot's database"),
    "report": ("trio_trader.ui.report", "totals of the bot's database: PnL, trades, errors"),
    "sell": ("trio_trader.ui.sell", "ask the running bot to sell a position now (or --all)"),
    "pause": ("trio_trader.ui.control", "ask the running bot to stop buying (exits still fire)"),
    "resume": ("trio_trader.ui.control", "ask the running bot to buy again"),
    "config": ("trio_trader.ui.config_cmd", "show the resolved config, or check a config file"),
}


class _Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def main(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Command:
    return cast(_Command, importlib.import_module(SUBCOMMANDS[name][0]))


def _add_common(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    """Options accepted before and after the subcommand (``-v run`` = ``run -v``).

    After the subcommand their defaults are suppressed, so they only override what was
    given before it; ``-v`` counts in its own field and the two counts add up.
    """
    keep = argparse.SUPPRESS if sub else None
    parser.add_argument(
        "-v",
        "--verbose",
        dest="verbose_after" if sub else "verbose",
        action="count",
        default=argparse.SUPPRESS if sub else 0,
        help="-v: debug logs; -vv: also every HTTP request",
    )
    parser.add_argument(
        "--log-file", type=Path, default=keep, metavar="FILE", help="also write the log here"
    )
    parser.add_argument(
        "--log-json",
        action="store_true",
        default=argparse.SUPPRESS if sub else False,
        help="write the log as JSON lines (mint, position_id, signature, state)",
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trio-trader", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"trio-trader {__version__}")
    _add_common(parser, sub=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        _add_common(sub_parser, sub=True)
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
    if not args_list:
        build_parser(only="").print_help()  # no arguments: what there is (demo: dev.py run)
        return 0
    command = next((a for a in args_list if a in SUBCOMMANDS), None)
    try:
        if command != "run":
            code = _main(args_list, command, None)
        else:
            early: list[int] = []
            with signals_noted(early):
                code = _main(args_list, command, early)
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    return code


def _reader_gone() -> int:
    """stdout's reader left (``report --json | head -1``): no traceback, exit 0.

    What is still buffered can never be written; pointing stdout at /dev/null keeps
    Python's final flush from failing once more at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _main(args_list: list[str], command: str | None, early: list[int] | None) -> int:
    parser = build_parser(only=command)
    args = parser.parse_args(args_list)
    if early is not None:
        args.early_signals = early
    args.verbose += getattr(args, "verbose_after", 0)
    args.dashboard = (
        args.command == "run" and not getattr(args, "no_dashboard", True) and sys.stdout.isatty()
    )
    try:
        args.log_path = setup_logging(
            verbose=args.verbose,
            log_file=args.log_file,
            json_lines=args.log_json,
            dashboard=args.dashboard,
        )
    except OSError as exc:
        print(f"error: cannot write the log file {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help()
        return 2
    return _load(args.command).main(args)
