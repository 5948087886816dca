"""Pictures of what the bot did: ``report --plot FILE.png``.

Two views of the closed positions of a database:

* **cumulative PnL over time** — the net realised PnL (the wallet's change: fees and rent
  in), summed in the order positions closed, as a step line over minutes since the first
  position opened;
* **each position's outcome** — a segment from its entry (opened, 0 %) to its exit
  (closed, its PnL as a share of what it spent), marked by the exit reason, hollow when
  its SELL went out before its BUY confirmed.

With matplotlib installed (the optional extra: ``pip install 'trio-trader[plot]'``) both
are drawn into a PNG. Without it — the default install needs nothing more — the same data
is drawn on the terminal with rich: a character chart of the cumulative PnL and a table of
outcomes. Amounts stay ``int`` lamports until drawn; a float exists only for a plot's axis.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trio_trader.trading.position import Position
from trio_trader.ui.format import LAMPORTS_PER_SOL, sol

__all__ = [
    "Outcome",
    "cumulative_pnl",
    "have_matplotlib",
    "outcomes",
    "terminal_chart",
    "write_png",
]

#: exit reasons with a marker of their own in the PNG (others share "o")
MARKERS = {"take_profit": "^", "stop_loss": "v", "trailing_stop": "<", "max_hold_time": "s",
           "buy_failed": "X", "shutdown": "D", "manual": "P"}  # fmt: skip


@attrs.frozen
class Outcome:
    """One closed position, as the plots need it."""

    position_id: int
    symbol: str
    opened_at: float
    closed_at: float
    pnl_lamports: int
    spent_lamports: int | None  # what was at stake (see _stake)
    reason: str
    pre_confirmation: bool

    @property
    def pnl_pct(self) -> float | None:
        """PnL as a percentage of what the position spent (None when nothing was spent)."""
        if not self.spent_lamports:
            return None
        return 100.0 * self.pnl_lamports / self.spent_lamports


def outcomes(positions: Sequence[Position], early_ids: set[int]) -> list[Outcome]:
    """Closed positions with a settled PnL and both times, in the order they closed.

    ``early_ids`` are the positions that sent a SELL before their BUY confirmed.
    """
    out = []
    for p in positions:
        if not p.is_closed or p.realized_pnl_lamports is None or p.id is None:
            continue
        if p.created_at is None or p.closed_at is None:
            continue
        out.append(
            Outcome(
                position_id=p.id,
                symbol=p.token_info.symbol or "?",
                opened_at=p.created_at,
                closed_at=max(p.closed_at, p.created_at),
                pnl_lamports=p.realized_pnl_lamports,
                spent_lamports=_stake(p),
                reason=p.exit_reason or "?",
                pre_confirmation=p.id in early_ids,
            )
        )
    return sorted(out, key=lambda o: (o.closed_at, o.position_id))


def _stake(position: Position) -> int | None:
    """What the position put at stake: what it spent, or — when its BUY failed and it
    spent only fees — what the BUY was to cost, so a failed BUY is a small loss in %,
    not -100 %."""
    planned = position.buy_order.sol_cost if position.buy_order is not None else 0
    return max(position.sol_spent or 0, planned) or None


def cumulative_pnl(items: Sequence[Outcome]) -> list[tuple[float, int]]:
    """``(closed_at, cumulative lamports)`` after each close, in closing order."""
    total, points = 0, []
    for item in sorted(items, key=lambda o: (o.closed_at, o.position_id)):
        total += item.pnl_lamports
        points.append((item.closed_at, total))
    return points


def have_matplotlib() -> bool:
    """Whether the optional ``plot`` extra is installed."""
    return importlib.util.find_spec("matplotlib") is not None


# --------------------------------------------------------------------------- PNG


def write_png(items: Sequence[Outcome], path: Path) -> None:
    """Draw both views into ``path`` (needs matplotlib).

    Raises:
        ImportError: matplotlib is not installed.
        OSError: the file cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed, and never a window
    from matplotlib import pyplot as plt

    start = min((o.opened_at for o in items), default=0.0)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    try:
        _draw_cumulative(top, items, start)
        _draw_outcomes(bottom, items, start)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def _minutes(t: float, start: float) -> float:
    return (t - start) / 60.0


def _draw_cumulative(axes: Any, items: Sequence[Outcome], start: float) -> None:
    points = cumulative_pnl(items)
    xs = [0.0, *(_minutes(t, start) for t, _ in points)]
    ys = [0.0, *(v / LAMPORTS_PER_SOL for _, v in points)]
    axes.step(xs, ys, where="post", color="tab:blue")
    axes.axhline(0.0, color="grey", linewidth=0.8)
    final = points[-1][1] if points else 0
    axes.set_title(f"cumulative net PnL: {sol(final, signed=True)} over {len(items)} positions")
    axes.set_ylabel("SOL")


def _draw_outcomes(axes: Any, items: Sequence[Outcome], start: float) -> None:
    seen: set[str] = set()
    for item in items:
        pct = item.pnl_pct or 0.0
        colour = "tab:green" if item.pnl_lamports > 0 else "tab:red"
        x0, x1 = _minutes(item.opened_at, start), _minutes(item.closed_at, start)
        axes.plot([x0, x1], [0.0, pct], color=colour, linewidth=0.8, alpha=0.6)
        label = item.reason if item.reason not in seen else None
        seen.add(item.reason)
        axes.scatter(
            [x1], [pct], marker=MARKERS.get(item.reason, "o"), label=label, zorder=3,
            facecolors="none" if item.pre_confirmation else colour, edgecolors=colour,
        )  # fmt: skip
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_title("each position: entry → exit (hollow: SELL sent before its BUY confirmed)")
    axes.set_xlabel("minutes since the first position opened")
    axes.set_ylabel("net PnL %")
    if seen:
        axes.legend(title="exit reason", fontsize="small")


# --------------------------------------------------------------------------- terminal


def terminal_chart(
    items: Sequence[Outcome], *, width: int = 60, height: int = 10, rows: int = 30
) -> RenderableType:
    """The cumulative PnL as a character chart, and the last ``rows`` outcomes as a table."""
    return Group(_pnl_chart(items, width, height), _outcome_table(items, rows))


def _pnl_chart(items: Sequence[Outcome], width: int, height: int) -> RenderableType:
    points = cumulative_pnl(items)
    final = points[-1][1] if points else 0
    title = f"cumulative net PnL: {sol(final, signed=True)} over {len(items)} positions"
    if not points:
        return Panel(Text("no closed positions yet"), title=title, expand=False)
    start = min(o.opened_at for o in items)
    end = max(points[-1][0], start + 1e-9)
    values = [0, *(v for _, v in points)]
    low, high = min(values), max(values)
    span = max(high - low, 1)

    def row_of(lamports: int) -> int:  # 0 = top row
        return round((high - lamports) * (height - 1) / span)

    grid = [[" "] * width for _ in range(height)]
    zero = row_of(0)
    for column in range(width):
        grid[zero][column] = "─"
    for column in range(width):
        at = start + (end - start) * column / max(width - 1, 1)
        value = _value_at(points, at)
        grid[row_of(value)][column] = "█" if value >= 0 else "▒"
    labels = {0: sol(high, signed=True), zero: "0", height - 1: sol(low, signed=True)}
    pad = max(len(text) for text in labels.values())
    lines = [f"{labels.get(r, ''):>{pad}} │{''.join(grid[r])}" for r in range(height)]
    minutes = (end - start) / 60.0
    lines.append(f"{'':>{pad}} └{'─' * width}")
    lines.append(f"{'':>{pad}}  0 min{f'{minutes:.1f} min':>{width - 5}}")
    return Panel(Text("\n".join(lines)), title=title, expand=False)


def _value_at(points: Sequence[tuple[float, int]], at: float) -> int:
    """The cumulative PnL at time ``at`` (a step function of the closes)."""
    value = 0
    for t, v in points:
        if t > at:
            break
        value = v
    return value


def _outcome_table(items: Sequence[Outcome], rows: int) -> Table:
    shown = list(items)[-rows:] if rows > 0 else []
    table = Table(title=f"outcomes (last {len(shown)} of {len(items)})")
    for name in ("id", "token", "held", "exit reason", "pre-conf SELL"):
        table.add_column(name, justify="right" if name in ("id", "held") else "left")
    table.add_column("net PnL", justify="right", no_wrap=True)
    table.add_column("%", justify="right")
    for item in shown:
        pct = item.pnl_pct
        table.add_row(
            str(item.position_id),
            item.symbol,
            f"{item.closed_at - item.opened_at:.1f} s",
            item.reason,
            "yes" if item.pre_confirmation else "no",
            sol(item.pnl_lamports, signed=True),
            "-" if pct is None else f"{pct:+.1f}",
        )
    return table
