"""``python -m trio_trader positions --db PATH | --config FILE [--status S] [--limit N] [--json]``.

One row per position, newest first, read through the store's ``Repository`` without
writing (see ``trio_trader.ui.report`` for the shared reading and its error rules).
"""

from __future__ import annotations

import argparse
import json
import sys

from trio_trader.ui.report import (
    STATUS_CHOICES,
    ReportError,
    add_db_argument,
    collect_positions,
    database_path,
    read_database,
)
from trio_trader.ui.tables import console, positions_table


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``positions``."""
    add_db_argument(parser)
    parser.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        default="all",
        help="open = not closed yet; failed = BUY failed (default: all)",
    )
    parser.add_argument("--limit", type=_positive, default=None, help="newest N only")


def main(args: argparse.Namespace) -> int:
    """Print the positions; 2 when the database cannot be read."""
    try:
        rows = read_database(
            database_path(args),
            lambda repo: collect_positions(repo, status=args.status, limit=args.limit),
        )
    except ReportError as exc:
        print(f"positions: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console().print(positions_table(rows))
    return 0
