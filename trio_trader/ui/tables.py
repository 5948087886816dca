"""Terminal rendering of the ``positions`` and ``report`` commands (rich tables).

Amounts arrive as ``int`` lamports and are turned into text here, exactly: SOL is
written from ``divmod`` of the integer, never through a float, so a table and the
JSON form can never disagree in the ninth decimal.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table

from trio_trader.ui.format import LAMPORTS_PER_SOL, format_sol, pnl, quote, tokens

#: width used when stdout is not a terminal, so piped output is not wrapped at 80 columns
PIPE_WIDTH = 200

__all__ = ["LAMPORTS_PER_SOL", "console", "format_sol", "positions_table", "report_tables"]


def short_mint(mint: str) -> str:
    """First and last four characters of a base58 address: enough to tell tokens apart."""
    return mint if len(mint) <= 11 else f"{mint[:4]}…{mint[-4:]}"


def format_time(unix: float | None) -> str:
    """Unix seconds → ``YYYY-MM-DD HH:MM:SS`` UTC; ``None`` → ``"-"``."""
    if unix is None:
        return "-"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S")


def console() -> Console:
    """A console on the current ``sys.stdout`` (so captured output works in tests)."""
    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else PIPE_WIDTH)


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def positions_table(rows: Sequence[Mapping[str, Any]], *, marks: bool = False) -> Table:
    """One line per position, from the rows of ``report.collect_positions``.

    ``marks``: add the current price and unrealised PnL of open positions (the rows of
    ``positions.collect_with_marks``; ``-`` where unknown). Left out when no endpoint was
    given, where they could only ever be ``-``: the table is wide enough already.
    """
    table = Table(title=f"positions ({len(rows)})")
    for name in ("id", "token", "status", "exit reason", "tokens"):
        table.add_column(name, justify="right" if name in ("id", "tokens") else "left")
    for name in ("SOL spent", "SOL received", "trading PnL", "net PnL"):
        table.add_column(name, justify="right", no_wrap=True)
    for name in ("pre-conf SELL", "SELLs", "opened (UTC)", "closed (UTC)"):
        table.add_column(name, justify="right" if name == "SELLs" else "left", no_wrap=True)
    if marks:
        for name in ("price now (SOL)", "unrealised PnL"):
            table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        price = row.get("current_price_sol") or row.get("current_price_quote")
        extra = [_text(price), _unrealised(row)] if marks else []
        table.add_row(
            str(row["id"]),
            f"{row['symbol'] or '?'} {short_mint(row['mint'])}",
            row["status"],
            _text(row["exit_reason"]),
            tokens(row["token_amount"], row.get("token_decimals", 0)),
            format_sol(row["sol_spent_lamports"]),
            format_sol(row["sol_received_lamports"]),
            _trading(row),
            format_sol(row["realized_pnl_lamports"], signed=True)
            + (" (est.)" if row["estimated"] else ""),
            "yes" if row["sell_before_buy_confirmed"] else "no",
            # the venue of the latest SELL: pump (curve), pump_v2, pumpswap (graduated)
            str(row["sell_attempts"]) + (f" {row['sell_venue']}" if row["sell_venue"] else ""),
            format_time(row["created_at"]),
            format_time(row["closed_at"]),
            *extra,
        )
    return table


def _trading(row: Mapping[str, Any]) -> str:
    """The trading PnL in the coin's quote: SOL, or e.g. ``"+1.25 USDC"`` for a USDC coin
    (whose SOL columns hold only its fees and rent)."""
    if row.get("quote_mint") is None:
        return format_sol(row["trading_pnl_lamports"], signed=True)
    return quote(row["trading_pnl_quote_units"], row["quote"], signed=True)


def _unrealised(row: Mapping[str, Any]) -> str:
    """``"+0.0012 SOL (+12.0 %)"`` of an open position whose curve was read, else ``-``."""
    value = row.get("unrealized_pnl_lamports")
    units = row.get("unrealized_pnl_quote_units")
    if value is None and units is not None:  # a USDC coin: in USDC, never as SOL
        cost = row.get("entry_cost_quote_units")
        share = f" ({100.0 * units / cost:+.1f} %)" if cost else ""
        return quote(units, row["quote"], signed=True) + share
    return "-" if value is None else pnl(value, row.get("entry_cost_lamports"))


def report_tables(report: Mapping[str, Any]) -> RenderableType:
    """The totals of ``report.collect_report`` as two small tables."""
    p, o, t = report["positions"], report["outcomes"], report["trades"]
    pre = report["pre_confirmation_sells"]
    rate = pre["success_rate"]
    totals = Table(title=f"report of {report['database']}", show_header=False)
    totals.add_column("what")
    totals.add_column("value", justify="right")
    quoted = [
        (f"PnL in {q['symbol']} ({q['positions']} positions): at the curve = wallet change",
         q["realized_pnl"])
        for q in report.get("pnl_by_quote", {}).values()
    ]  # fmt: skip
    for label, value in (
        ("positions opened", p["opened"]),
        ("positions closed (incl. BUY failed)", p["closed"]),
        ("positions open", p["open"]),
        ("positions failed (BUY failed)", p["buy_failed"]),
        ("trading PnL (SOL): at the curve, pump fees in", report["trading_pnl_sol"]),
        ("net PnL (SOL): wallet change, tx fees and rent in", report["realized_pnl_sol"]),
        ("net PnL (lamports)", f"{report['realized_pnl_lamports']:+d}"),
        *quoted,
        ("positions booked from a quote (tx unreadable)", report["estimated_positions"]),
        ("wins / losses / breakeven", f"{o['wins']} / {o['losses']} / {o['breakeven']}"),
        ("closed without a settled PnL", o["unsettled"]),
        ("BUY confirmed / failed", f"{t['buy_confirmed']} / {t['buy_failed']}"),
        ("SELL confirmed / failed", f"{t['sell_confirmed']} / {t['sell_failed']}"),
        ("SELLs sent before their BUY confirmed", pre["sent"]),
        ("… of which succeeded", pre["succeeded"]),
        ("… success rate", "-" if rate is None else f"{100 * rate:.1f} %"),
        ("unreadable rows skipped", report["unreadable_rows"]),
    ):
        totals.add_row(label, str(value))
    errors = Table(title="errors of failed trades")
    errors.add_column("error")
    errors.add_column("count", justify="right")
    for name, count in report["failed_trade_errors"].items():
        errors.add_row(name, str(count))
    if not report["failed_trade_errors"]:
        errors.add_row("none", "0")
    venues = Table(title="SELLs by venue")
    for name in ("venue", "confirmed", "failed"):
        venues.add_column(name, justify="left" if name == "venue" else "right")
    for venue, counts in report["sells_by_venue"].items():
        venues.add_row(venue, str(counts["confirmed"]), str(counts["failed"]))
    if not report["sells_by_venue"]:
        venues.add_row("none", "0", "0")
    return Group(totals, errors, venues)
