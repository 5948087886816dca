"""``python -m trio_trader positions --db PATH | --config FILE [--status S] [--limit N] [--json]``.

One row per position, newest first, read through the store's ``Repository`` without
writing (see ``trio_trader.ui.report`` for the shared reading and its error rules).

Open positions also show the current price and the unrealised PnL when ``--config``
names an endpoint: the bonding curve of each open position is read over RPC
(``getMultipleAccounts``, one request per 100 positions, at most
:data:`PRICE_READ_TIMEOUT` seconds). The unrealised PnL is what selling every token now
would take out of the curve (``curve.sell_proceeds``: pump's sell fees and the
transaction fee not deducted) minus what the tokens cost at the curve
(``Position.entry_cost``, fees in), so it compares with the dashboard's PnL %. With
``--db`` only they are ``null`` in ``--json`` and left out of the table (which is wide
enough already); a curve that cannot be read or is complete (the coin moved to its
PumpSwap pool) shows ``-``.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import trio

from trio_trader.chain.errors import RpcError
from trio_trader.pump.accounts import BondingCurve
from trio_trader.pump.curve import Reserves, sell_proceeds
from trio_trader.store import Repository
from trio_trader.trading.position import Position
from trio_trader.ui import format as fmt
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


#: seconds the curves of the open positions may take to read
PRICE_READ_TIMEOUT = 10.0


def main(args: argparse.Namespace) -> int:
    """Print the positions; 2 when the database cannot be read."""
    try:
        path = database_path(args)
        endpoints = _endpoints(args.config)
        rows = read_database(
            path,
            lambda repo: collect_with_marks(
                repo, status=args.status, limit=args.limit, endpoints=endpoints
            ),
        )
    except ReportError as exc:
        print(f"positions: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console().print(positions_table(rows, marks=bool(endpoints)))
    return 0


def _endpoints(config_path: Path | None) -> tuple[str, ...]:
    if config_path is None:
        return ()
    from trio_trader.config import load_config  # database_path read it already: no error

    return tuple(load_config(config_path).rpc.endpoints)


async def collect_with_marks(
    repo: Repository, *, status: str, limit: int | None, endpoints: tuple[str, ...]
) -> list[dict[str, Any]]:
    """``collect_positions`` plus, for open positions, the current price and unrealised PnL
    (``None`` where unknown; see the module docstring)."""
    rows = await collect_positions(repo, status=status, limit=limit)
    for row in rows:
        row.update(current_price_sol=None, unrealized_pnl_lamports=None, entry_cost_lamports=None)
    shown = {row["id"] for row in rows if row["status"] not in ("closed", "failed")}
    if not endpoints or not shown:
        return rows
    positions = [p for p in await repo.get_open_positions() if p.id in shown]
    marks = await read_marks(endpoints, positions)
    for row in rows:
        if row["id"] in marks:
            row.update(marks[row["id"]])
    return rows


async def read_marks(
    endpoints: tuple[str, ...], positions: list[Position]
) -> dict[int, dict[str, Any]]:
    """Each position's curve read now → its price and unrealised PnL (by position id).

    An endpoint that fails or is too slow is reported on stderr; the prices stay unknown.
    """
    from trio_trader.chain.rpc import RpcClient

    curves: list[Any] = []
    with trio.move_on_after(PRICE_READ_TIMEOUT) as timeout:
        try:
            async with RpcClient(endpoints, max_retries=1) as rpc:
                curves = await rpc.get_multiple_accounts(
                    [p.token_info.bonding_curve for p in positions]
                )
        except RpcError as exc:
            print(f"positions: cannot read the current prices: {exc}", file=sys.stderr)
    if timeout.cancelled_caught:
        print(f"positions: no prices within {PRICE_READ_TIMEOUT:.0f} s", file=sys.stderr)
    marks = {}
    for position, account in zip(positions, curves, strict=False):
        mark = _mark(position, None if account is None else account.data)
        if mark is not None and position.id is not None:
            marks[position.id] = mark
    return marks


def _mark(position: Position, data: bytes | None) -> dict[str, Any] | None:
    amount, cost = position.token_amount, position.entry_cost
    if data is None or not amount or cost is None:
        return None
    try:
        curve = BondingCurve.decode(data)
    except ValueError:
        return None  # not a curve (a malformed reply): unknown, not zero
    if curve.complete or curve.virtual_token_reserves <= 0:
        return None
    reserves = Reserves.of(curve)
    spot = Fraction(reserves.virtual_sol, reserves.virtual_token)
    unrealized = sell_proceeds(amount, reserves) - cost
    if position.quote_mint is not None:
        # a USDC coin: its curve and cost are in USDC base units, never shown as SOL
        whole = float(spot)  # display only: USDC per whole token (both have 6 decimals)
        return {
            "current_price_quote": f"{whole:.3e} {position.token_info.quote_symbol}",
            "unrealized_pnl_quote_units": unrealized,
            "entry_cost_quote_units": cost,
        }
    return {
        "current_price_sol": fmt.price(spot, position.token_info.decimals),
        "unrealized_pnl_lamports": unrealized,
        "entry_cost_lamports": cost,
    }
