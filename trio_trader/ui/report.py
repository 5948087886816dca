"""``python -m trio_trader report --db PATH | --config FILE [--json] [--plot FILE.png]``: what
the bot did, in totals (and, with ``--plot``, in pictures: ``trio_trader.ui.plot``).

Reads the bot's SQLite database through the store's own ``Repository`` (so rows are
decoded exactly as the bot wrote them) and never writes a row. Totals that the run's
end-of-run summary also prints come from ``app.position_totals``, so the two can
never disagree; the rest (wins/losses, trade counters, error names) is added here.

A missing file is reported, not created: ``open_repository`` would otherwise make a
fresh empty database at a mistyped path and report zeros. The data readers are shared
with the ``positions`` command (``trio_trader.ui.positions``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from trio_trader.app import position_totals
from trio_trader.store import (
    MODE_DRY_RUN,
    MODE_KEY,
    Repository,
    SchemaError,
    TradeRecord,
    open_repository,
)
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import quote_symbol
from trio_trader.ui.format import quote as fmt_quote
from trio_trader.ui.plot import Outcome, have_matplotlib, outcomes, terminal_chart, write_png
from trio_trader.ui.tables import console, format_sol, report_tables

_T = TypeVar("_T")

#: ``--status`` choices: ``open`` is every position not closed (pending/active/closing)
STATUS_CHOICES = ("open", "closed", "failed", "all")
#: how ``report`` names a dry run's database
PAPER_MODE = "paper (dry run)"
TRADE_COUNTERS = ("buy_confirmed", "buy_failed", "sell_confirmed", "sell_failed")


class ReportError(Exception):
    """The database cannot be read; the message names the path and the reason."""


# --------------------------------------------------------------------------- reading


def read_database(path: Path, reader: Callable[[Repository], Awaitable[_T]]) -> _T:
    """Run ``reader`` on the repository at ``path`` under ``trio.run``.

    Raises:
        ReportError: no such file, an empty file, or not a trio-trader database.
    """
    if not path.is_file():
        raise ReportError(f"no database at {path}")
    if path.stat().st_size == 0:
        raise ReportError(f"{path} is empty, not a trio-trader database")
    try:
        return trio.run(_read, path, reader)
    except SchemaError as exc:
        raise ReportError(f"{path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{path}: cannot read it as a trio-trader database ({exc})") from None


async def _read(path: Path, reader: Callable[[Repository], Awaitable[_T]]) -> _T:
    async with open_repository(path) as repo:
        return await reader(repo)


async def collect_report(repo: Repository, database: str) -> dict[str, Any]:
    """The report's totals, JSON-ready (amounts in lamports; SOL as exact text)."""
    positions = await repo.list_positions()
    counters = await repo.get_counters()
    trades = await repo.list_trades()
    totals = position_totals(positions, counters)
    pre = totals["pre_confirmation_sells"]
    pre["success_rate"] = pre["succeeded"] / pre["sent"] if pre["sent"] else None
    errors = Counter(t.error_name or "unknown" for t in trades if not t.success)
    trading = sum(p.trading_pnl_lamports or 0 for p in positions if p.is_closed)
    return {
        "database": database,
        "mode": await report_mode(repo),
        **totals,
        "realized_pnl_sol": format_sol(totals["realized_pnl_lamports"], signed=True),
        # coins quoted in a token (USDC) have their PnL in it, per quote mint (never in SOL)
        "pnl_by_quote": _quote_texts(totals["pnl_by_quote"]),
        # at the curve: pump fees in, transaction fees and rent out (see Position)
        "trading_pnl_lamports": trading,
        "trading_pnl_sol": format_sol(trading, signed=True),
        "estimated_positions": sum(1 for p in positions if _estimated(p)),
        "outcomes": _outcomes(positions),
        "trades": {name: counters.get(name, 0) for name in TRADE_COUNTERS},
        "failed_trade_errors": dict(errors.most_common()),
        "sells_by_venue": _sells_by_venue(trades),
        "unreadable_rows": len(repo.read_errors),
    }


async def report_mode(repo: Repository) -> str:
    """``paper (dry run)`` for a database a dry run marked, else ``live``: paper PnL is
    never shown as real (``trading/dry_run.py``)."""
    meta = await repo.get_meta()
    return PAPER_MODE if meta.get(MODE_KEY) == MODE_DRY_RUN else "live"


def _quote_texts(by_quote: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    """``pnl_by_quote`` with each quote's symbol and its PnL as exact text."""
    return {
        mint: {
            **q,
            "symbol": quote_symbol(mint),
            "realized_pnl": fmt_quote(q["realized_pnl_units"], quote_symbol(mint), signed=True),
            "trading_pnl": fmt_quote(q["trading_pnl_units"], quote_symbol(mint), signed=True),
        }
        for mint, q in by_quote.items()
    }


def _sells_by_venue(trades: list[TradeRecord]) -> dict[str, dict[str, int]]:
    """SELL attempts per venue (curve, curve v2, PumpSwap): confirmed and failed."""
    venues: dict[str, dict[str, int]] = {}
    for trade in trades:
        if trade.side != "sell":
            continue
        counts = venues.setdefault(trade.venue, {"confirmed": 0, "failed": 0})
        counts["confirmed" if trade.success else "failed"] += 1
    return venues


def _estimated(position: Position) -> bool:
    """Booked from a quote because a landed transaction could not be read."""
    return any(o is not None and o.balances_estimated for o in (position.buy_order,
                                                               position.sell_order))  # fmt: skip


def _outcomes(positions: list[Position]) -> dict[str, int]:
    """Closed positions by the sign of their realised PnL in their quote (a failed BUY's
    fee is a loss; a USDC coin is judged by its USDC, not by the SOL fees it paid)."""
    pnls = [p.realized_pnl for p in positions if p.is_closed]
    return {
        "wins": sum(1 for v in pnls if v is not None and v > 0),
        "losses": sum(1 for v in pnls if v is not None and v < 0),
        "breakeven": sum(1 for v in pnls if v == 0),
        "unsettled": sum(1 for v in pnls if v is None),
    }


async def collect_positions(
    repo: Repository, *, status: str = "all", limit: int | None = None
) -> list[dict[str, Any]]:
    """Positions newest first as JSON-ready rows (amounts in lamports).

    ``sell_before_buy_confirmed`` is true if *any* SELL attempt of the position left
    before its BUY confirmed: the position keeps only its latest SELL, earlier
    attempts are in the trades table.
    """
    if status == "open":
        found = sorted(await repo.get_open_positions(), key=lambda p: p.id or 0, reverse=True)
        positions = found if limit is None else found[:limit]
    else:
        wanted = None if status == "all" else status
        positions = await repo.list_positions(status=wanted, limit=limit)
    trades = await repo.list_trades()
    early = {t.position_id for t in trades if t.sent_before_buy_confirmed}
    venues: dict[int | None, list[str]] = {}
    for trade in trades:  # oldest first
        if trade.side == "sell":
            venues.setdefault(trade.position_id, []).append(trade.venue)
    return [_position_row(p, p.id in early, venues.get(p.id, [])) for p in positions]


def _position_row(
    position: Position, early_sell_recorded: bool, sell_venues: list[str]
) -> dict[str, Any]:
    sell = position.sell_order
    return {
        "id": position.id,
        "mint": str(position.mint),
        "symbol": position.token_info.symbol,
        "status": position.status,
        "exit_reason": position.exit_reason,
        "token_amount": position.token_amount,
        "token_decimals": position.token_info.decimals,
        "sol_spent_lamports": position.sol_spent,
        "sol_received_lamports": position.sol_received,
        "realized_pnl_lamports": position.realized_pnl_lamports,
        "trading_pnl_lamports": position.trading_pnl_lamports,
        # a coin quoted in a token (USDC): its quote and its money in that token's units;
        # its SOL columns above are then its fees and rent only
        "quote_mint": None if position.quote_mint is None else str(position.quote_mint),
        "quote": position.token_info.quote_symbol,
        "quote_spent_units": position.quote_spent,
        "quote_received_units": position.quote_received,
        "realized_pnl_quote_units": position.realized_pnl_quote,
        "trading_pnl_quote_units": position.trading_pnl_quote,
        "estimated": _estimated(position),
        "realized_pnl_sol": (
            None
            if position.realized_pnl_lamports is None
            else format_sol(position.realized_pnl_lamports, signed=True)
        ),
        "sell_before_buy_confirmed": early_sell_recorded
        or (sell is not None and sell.sent_before_buy_confirmed),
        "sell_attempts": position.sell_attempts,
        # where the latest SELL traded, and every recorded attempt's venue, oldest first
        "sell_venue": None if sell is None else sell.venue,
        "sell_venues": sell_venues,
        "created_at": position.created_at,
        "closed_at": position.closed_at,
    }


# --------------------------------------------------------------------------- command


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db`` / ``--config`` and ``--json``, shared with ``positions``."""
    parser.add_argument("--db", type=Path, default=None, help="the bot's SQLite file")
    parser.add_argument(
        "--config", type=Path, default=None, help="the bot's TOML config (its db.path)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def database_path(args: argparse.Namespace) -> Path:
    """``--db``, else the ``db.path`` of ``--config`` (as ``run --config`` would use it).

    Raises:
        ReportError: neither is given, or the config cannot be read.
    """
    if args.db is not None:
        return Path(args.db)
    if args.config is None:
        raise ReportError("give --db FILE or --config FILE")
    from trio_trader.config import ConfigError, load_config

    try:
        return Path(load_config(args.config).db.path)
    except ConfigError as exc:
        raise ReportError(f"config error: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``report``."""
    add_db_argument(parser)
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="FILE.png",
        help="also draw cumulative PnL and each position's outcome into FILE.png "
        "(needs the 'plot' extra: matplotlib; without it, a chart on the terminal)",
    )


async def collect_outcomes(repo: Repository) -> list[Outcome]:
    """The closed positions as the plots need them (``ui.plot.outcomes``)."""
    early = {t.position_id for t in await repo.list_trades() if t.sent_before_buy_confirmed}
    return outcomes(await repo.list_positions(), {i for i in early if i is not None})


def _plot(database: Path, target: Path) -> int:
    """Write the PNG, or draw on the terminal when matplotlib is absent; 2 on a write error."""
    items = read_database(database, collect_outcomes)
    if not have_matplotlib():
        print(
            f"report: matplotlib is not installed (pip install 'trio-trader[plot]'), so no "
            f"{target}: a chart on the terminal instead",
            file=sys.stderr,
        )
        console().print(terminal_chart(items))
        return 0
    try:
        write_png(items, target)
    except OSError as exc:
        print(f"report: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"report: plot of {len(items)} closed positions written to {target}", file=sys.stderr)
    return 0


def main(args: argparse.Namespace) -> int:
    """Print the report; 2 when the database cannot be read."""
    try:
        database = database_path(args)
        report = read_database(database, lambda repo: collect_report(repo, str(database)))
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        console().print(f"mode: {report['mode']}")
        console().print(report_tables(report))
    if getattr(args, "plot", None) is not None:
        try:
            return _plot(database, args.plot)
        except ReportError as exc:
            print(f"report: {exc}", file=sys.stderr)
            return 2
    return 0
