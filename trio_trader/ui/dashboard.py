"""The live dashboard of a ``run``: what the bot holds and how it is doing, a few times a second.

Two pure steps and a loop, so the picture is testable without a terminal:

* :func:`snapshot` reads the running trader's memory (its position tasks and monitors,
  counters, feed, RPC client and cached wallet balance) into a frozen
  :class:`DashboardState`. It awaits nothing and writes nothing: the trader is never
  blocked, and a snapshot is taken between two of its steps (one Trio thread).
* :func:`render` turns a state into a rich renderable (tests render it to a recording
  console and read the rows).
* :func:`dashboard_beside` runs ``Live`` beside the trader, refreshed every
  :data:`REFRESH_INTERVAL` seconds, and reads the run's realised totals from the database
  (:class:`TotalsReader`).

Why the totals come from the database: a position that opens and closes between two
refreshes (a BUY that fails at once) never shows in memory, and the trader forgets a
position when its task ends. The database has every one. The reader uses its own
connection (SQLite in WAL mode lets it read while the bot writes), so it never queues
behind, or delays, the trader's writes; it re-reads the positions only when the trade
counters moved (a close always records a trade) or every :data:`TOTALS_MAX_AGE` seconds.

Money stays ``int`` up to :mod:`ui.format`; prices and percentages are floats for
display only. The exit distances are the monitor's own thresholds: take profit against
the worst fill while the BUY is unconfirmed, stop loss and trailing stop against the
expected fill (see ``trading/exits.py``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from trio_trader.store import Repository, open_repository
from trio_trader.summary import position_totals
from trio_trader.trading.exits import ExitRules, entry_price
from trio_trader.trading.orders import OrderState
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import quote_symbol
from trio_trader.ui import format as fmt
from trio_trader.ui.format import mask_urls_in
from trio_trader.ui.logs import hand_terminal_to_dashboard
from trio_trader.ui.tables import short_mint

if TYPE_CHECKING:
    from trio_trader.app import Bot
    from trio_trader.trading.monitor import PositionMonitor

log = logging.getLogger(__name__)

#: seconds between two pictures
REFRESH_INTERVAL = 0.25
#: seconds between two looks at the trade counters (the cheap "did anything close?")
TOTALS_INTERVAL = 1.0
#: the positions are re-read at least this often even when no counter moved
TOTALS_MAX_AGE = 30.0
#: warning lines shown under the tables (the log file has them all)
WARNINGS_SHOWN = 5
#: seconds the last picture may wait for the final totals
FINAL_READ_TIMEOUT = 2.0
_IN_FLIGHT = (OrderState.PENDING, OrderState.SENT)


@attrs.frozen(kw_only=True)
class PositionRow:
    """One open position as the dashboard shows it (amounts exact, prices as fractions)."""

    id: int | None
    mint: str
    symbol: str
    state: str
    sell_before_buy_confirmed: bool
    token_amount: int | None
    decimals: int
    entry_cost: int | None
    entry_price: Fraction | None
    last_price: Fraction | None
    pnl_pct: float | None
    exits: tuple[str, ...]
    age: float | None
    #: the coin's quote ("SOL", "USDC"): its entry and last prices are in it
    quote: str = "SOL"


@attrs.frozen(kw_only=True)
class Totals:
    """This run's settled outcome, from the database (see the module docstring).

    ``realized_pnl_lamports`` is the SOL side of every position (a USDC coin's fees and
    rent included); ``quote_pnl`` the PnL of coins quoted in a token, per quote symbol,
    in its base units: shown apart, never added to SOL.
    """

    realized_pnl_lamports: int = 0
    quote_pnl: tuple[tuple[str, int], ...] = ()
    closed: int = 0
    wins: int = 0
    losses: int = 0
    breakeven: int = 0
    buy_failed: int = 0


@attrs.frozen(kw_only=True)
class DashboardState:
    """Everything one picture shows; built by :func:`snapshot`."""

    mode: str
    wallet: str
    balance_lamports: int | None
    reserved_lamports: int
    positions: tuple[PositionRow, ...]
    totals: Totals | None
    pre_confirmation_sent: int
    pre_confirmation_succeeded: int
    pre_confirmation_failed: int
    tokens_seen: int
    tokens_filtered: int
    buys_sent: int
    feed_updates: int
    feed_rate: float | None
    rpc_requests: int
    rpc_errors: int
    rpc_rate_limited: int
    rpc_failovers: int
    buying: bool
    paused: bool = False
    log_file: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def pre_confirmation_success_rate(self) -> float | None:
        """Succeeded / resolved pre-confirmation SELLs, ``None`` before the first."""
        done = self.pre_confirmation_succeeded + self.pre_confirmation_failed
        return None if done == 0 else self.pre_confirmation_succeeded / done


# --------------------------------------------------------------------------- snapshot


def snapshot(
    bot: Bot,
    *,
    now: float | None = None,
    mode: str = "",
    totals: Totals | None = None,
    feed_rate: float | None = None,
    log_file: str | None = None,
    warnings: Sequence[str] = (),
) -> DashboardState:
    """The bot's state now (``now`` is Trio time, for ages and time-rule deadlines)."""
    trader = bot.trader
    now = trio.current_time() if now is None else now
    monitors: Mapping[Any, PositionMonitor] = trader.monitors
    rows = [
        _row(position, monitors.get(mint), trader.settings.rules, now)
        for mint, position in list(trader.position_tasks.items())
        if position is not None and not position.is_closed
    ]
    rows.sort(key=lambda r: (r.id is None, r.id or 0))
    funds, rpc, sells, stats = trader.funds, bot.rpc.stats, trader.sell_stats, trader.stats
    return DashboardState(
        mode=mode,
        wallet=str(bot.wallet),
        balance_lamports=funds.lamports if funds is not None else None,
        reserved_lamports=funds.reserved if funds is not None else 0,
        positions=tuple(rows),
        totals=totals,
        pre_confirmation_sent=sells.pre_confirmation_sent,
        pre_confirmation_succeeded=sells.pre_confirmation_succeeded,
        pre_confirmation_failed=sells.pre_confirmation_failed,
        tokens_seen=stats.tokens_seen,
        tokens_filtered=stats.filtered,
        buys_sent=stats.buys_sent,
        feed_updates=trader.feed.stats.published,
        feed_rate=feed_rate,
        rpc_requests=rpc.requests_sent,
        rpc_errors=rpc.retries + rpc.bad_replies,
        rpc_rate_limited=rpc.rate_limited,
        rpc_failovers=rpc.failovers,
        buying=trader._accepting,
        paused=trader.paused,
        log_file=log_file,
        warnings=tuple(warnings),
    )


def _row(
    position: Position, monitor: PositionMonitor | None, rules: ExitRules, now: float
) -> PositionRow:
    info = position.token_info
    amount = position.token_amount
    entry = entry_price(position.entry_cost, amount)
    last = monitor.last_price.price if monitor and monitor.last_price else None
    pnl = None
    if entry is not None and last is not None:
        pnl = float(100 * (last - entry) / entry)
    sell = position.sell_order
    return PositionRow(
        id=position.id,
        mint=str(position.mint),
        symbol=info.symbol or "?",
        state=position_state(position),
        sell_before_buy_confirmed=sell is not None and sell.sent_before_buy_confirmed,
        token_amount=amount,
        decimals=info.decimals,
        entry_cost=position.entry_cost,
        entry_price=entry,
        last_price=last,
        pnl_pct=pnl,
        exits=exit_distances(position, monitor, rules, now),
        age=None if monitor is None else now - monitor.opened_at,
        quote=info.quote_symbol,
    )


def position_state(position: Position) -> str:
    """Where the position's two orders are, in words (the edge is spelt out)."""
    buy, sell = position.buy_order, position.sell_order
    if buy is None:
        return "preparing BUY"
    buy_pending = buy.state in _IN_FLIGHT
    if sell is not None and sell.state in _IN_FLIGHT:
        if buy_pending:
            return f"SELL #{sell.attempt} sent before BUY confirmed"
        if buy.state is OrderState.FAILED:
            return f"BUY failed; SELL #{sell.attempt} in flight"
        early = " (sent before BUY confirmed)" if sell.sent_before_buy_confirmed else ""
        return f"SELL #{sell.attempt} sent{early}"
    if sell is not None and sell.state is OrderState.FAILED:
        return "SELL failed; waiting for BUY" if buy_pending else "SELL failed; re-selling"
    if buy.state is OrderState.PENDING:
        return "BUY signed"
    if buy_pending:
        return "BUY sent"
    if buy.state is OrderState.FAILED:
        return "BUY failed"
    return "holding"


def exit_distances(
    position: Position, monitor: PositionMonitor | None, rules: ExitRules, now: float
) -> tuple[str, ...]:
    """How far each exit rule is: the price move that fires it, or the time left."""
    if rules.never_sell:
        return ("manual: never sells",)
    if position.sell_order is not None and position.exit_reason:
        return (f"selling: {position.exit_reason}",)  # a rule fired: distances are moot
    out: list[str] = []
    if monitor is not None:
        held = now - monitor.opened_at
        for name, limit in (("sell after", rules.sell_after), ("max hold", rules.max_hold_time)):
            if limit is not None:
                out.append(f"{name} in {fmt.age(max(0.0, limit - held))}")
    last = monitor.last_price.price if monitor and monitor.last_price else None
    amount = position.token_amount
    entry = entry_price(position.entry_cost, amount)
    worst = entry_price(position.worst_entry_cost, amount) or entry
    targets: list[tuple[str, int | None, Fraction | None, int]] = [
        ("TP", rules.take_profit_bps, worst, +1),
        ("SL", rules.stop_loss_bps, entry, -1),
        ("trail", rules.trailing_stop_bps, _trail_top(monitor, entry), -1),
    ]
    for name, bps, base, sign in targets:
        if bps is None:
            continue
        if base is None or not last:
            out.append(f"{name} waits for a price")
            continue
        target = base * Fraction(10_000 + sign * bps, 10_000)
        out.append(f"{name} {fmt.pct(float(100 * (target - last) / last))} away")
    return tuple(out)


def _trail_top(monitor: PositionMonitor | None, entry: Fraction | None) -> Fraction | None:
    """The trailing stop's reference: the highest price since entry, from the entry up."""
    if entry is None:
        return None
    peak = monitor.peak_price if monitor is not None else None
    return entry if peak is None else max(entry, peak.fraction)


# --------------------------------------------------------------------------- render


def render(state: DashboardState) -> RenderableType:
    """The picture of ``state``: a header, the open positions, the totals."""
    parts: list[RenderableType] = [
        _header(state),
        positions_table(state.positions),
        totals_table(state),
    ]
    if state.warnings:
        parts.append(Text("\n".join(state.warnings), style="red"))
    return Group(*parts)


def _header(state: DashboardState) -> Text:
    buying = "buying" if state.buying else "NOT buying (stopping)"
    if state.buying and state.paused:
        buying = "buying PAUSED (resume to buy again)"
    balance = fmt.sol(state.balance_lamports)
    if state.reserved_lamports:
        balance += f" ({fmt.sol(state.reserved_lamports)} held for BUYs in flight)"
    text = Text()
    text.append("trio-trader ", style="bold")
    text.append(f"{state.mode} · wallet {state.wallet} · {balance} · {buying}")
    if state.log_file:
        text.append(f"\nlog: {state.log_file}", style="dim")
    return text


def positions_table(rows: Sequence[PositionRow]) -> Table:
    """One line per open position."""
    table = Table(title=f"open positions ({len(rows)})", title_justify="left", expand=False)
    for name in ("id", "token", "state", "tokens", "entry", "last", "PnL", "exits", "age"):
        right = name in ("id", "tokens", "entry", "last", "PnL", "age")
        # numbers never wrap: on a narrow terminal the words columns give way first
        table.add_column(name, justify="right" if right else "left",
                         no_wrap=right and name != "tokens")  # fmt: skip
    for row in rows:
        early = row.sell_before_buy_confirmed
        table.add_row(
            "-" if row.id is None else str(row.id),
            f"{row.symbol} {short_mint(row.mint)}",
            Text(row.state, style="bold yellow" if early else ""),
            fmt.tokens(row.token_amount, row.decimals),
            _price(row, row.entry_price),
            _price(row, row.last_price),
            Text(fmt.pct(row.pnl_pct), style=_sign_style(row.pnl_pct)),
            "\n".join(row.exits) or "-",
            fmt.age(row.age),
        )
    if not rows:
        table.add_row("", "none", "", "", "", "", "", "", "")
    return table


def _price(row: PositionRow, value: Fraction | None) -> str:
    """SOL per whole token, or a token quote's (USDC has the coins' 6 decimals)."""
    if row.quote == "SOL" or value is None:
        return fmt.price(value, row.decimals)
    return f"{float(value):.3e} {row.quote}"  # display only


def totals_table(state: DashboardState) -> Table:
    """This run's totals, the edge's record, the feed and the endpoint."""
    table = Table(title="this run", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    t = state.totals
    if t is None:
        table.add_row("realised PnL", "reading…")
    else:
        table.add_row("realised PnL", Text(fmt.sol(t.realized_pnl_lamports, signed=True),
                                           style=_sign_style(t.realized_pnl_lamports)))  # fmt: skip
        for symbol, units in t.quote_pnl:  # coins quoted in a token: apart from SOL
            text = Text(fmt.quote(units, symbol, signed=True), style=_sign_style(units))
            table.add_row(f"realised PnL ({symbol} coins)", text)
        table.add_row("closed: wins / losses / even", f"{t.wins} / {t.losses} / {t.breakeven}")
        table.add_row("BUYs that failed", str(t.buy_failed))
    rate = state.pre_confirmation_success_rate
    table.add_row("SELLs sent before BUY confirmed", str(state.pre_confirmation_sent))
    table.add_row(
        "… succeeded / failed (rate)",
        f"{state.pre_confirmation_succeeded} / {state.pre_confirmation_failed} "
        f"({'-' if rate is None else f'{100 * rate:.0f} %'})",
    )
    table.add_row("tokens seen / filtered / BUYs sent",
                  f"{state.tokens_seen} / {state.tokens_filtered} / {state.buys_sent}")  # fmt: skip
    feed = "-" if state.feed_rate is None else f"{state.feed_rate:.1f}/s"
    table.add_row("trade feed", f"{state.feed_updates} prices of held coins ({feed})")
    table.add_row(
        "RPC requests / errors",
        f"{state.rpc_requests} / {state.rpc_errors} "
        f"({state.rpc_rate_limited} rate-limited, {state.rpc_failovers} fail-overs)",
    )
    return table


def _sign_style(value: float | None) -> str:
    if not value:
        return ""
    return "green" if value > 0 else "red"


# --------------------------------------------------------------------------- totals


def outcome_totals(positions: Sequence[Position]) -> Totals:
    """Realised PnL and wins / losses of ``positions`` (the closed ones count)."""
    totals = position_totals(positions, {})
    pnls = [p.realized_pnl for p in positions if p.is_closed]  # each in its quote
    return Totals(
        realized_pnl_lamports=totals["realized_pnl_lamports"],
        quote_pnl=tuple(
            (quote_symbol(mint), q["realized_pnl_units"])
            for mint, q in totals["pnl_by_quote"].items()
        ),
        closed=totals["positions"]["closed"],
        wins=sum(1 for v in pnls if v is not None and v > 0),
        losses=sum(1 for v in pnls if v is not None and v < 0),
        breakeven=sum(1 for v in pnls if v == 0),
        buy_failed=totals["positions"]["buy_failed"],
    )


@attrs.define(eq=False, kw_only=True)
class TotalsReader:
    """This run's :class:`Totals` from the database, re-read when a trade was recorded."""

    repo: Repository
    since: float  # unix seconds: the run's start
    totals: Totals | None = None
    _counters: dict[str, int] | None = attrs.field(default=None, init=False)
    _read_at: float = attrs.field(default=float("-inf"), init=False)

    async def refresh(self) -> None:
        """Re-read the positions if a counter moved or the last read is old."""
        counters = await self.repo.get_counters()
        now = trio.current_time()
        if counters == self._counters and now - self._read_at < TOTALS_MAX_AGE:
            return
        positions = await self.repo.list_positions()
        self.totals = outcome_totals([p for p in positions if _in_run(p, self.since)])
        self._counters, self._read_at = counters, now

    async def refresh_quietly(self) -> None:
        """:meth:`refresh`, logging a failure: a picture is not worth a crash."""
        try:
            await self.refresh()
        except Exception:
            log.warning("dashboard: cannot read the totals", exc_info=True)

    async def run(self) -> None:
        while True:
            await self.refresh_quietly()
            await trio.sleep(TOTALS_INTERVAL)


def _in_run(position: Position, since: float) -> bool:
    created, closed = position.created_at, position.closed_at
    return (created is not None and created >= since) or (closed is not None and closed >= since)


# --------------------------------------------------------------------------- the loop


class RecentWarnings(logging.Handler):
    """The last few WARNING+ lines, for the dashboard: with the log in a file, an ALERT
    (a position left open) must still reach the person watching the terminal."""

    def __init__(self, keep: int = WARNINGS_SHOWN) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[str] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            when = time.strftime("%H:%M:%S", time.localtime(record.created))
            first = record.getMessage().splitlines()[0] if record.getMessage() else ""
            self.lines.append(f"{when} {record.levelname} {mask_urls_in(first)}")
        except Exception:
            self.handleError(record)


@attrs.define(eq=False, kw_only=True)
class Dashboard:
    """Snapshots with a feed rate and the latest totals (the state between pictures)."""

    bot: Bot
    mode: str = ""
    log_file: str | None = None
    totals: TotalsReader | None = None
    warnings: RecentWarnings | None = None
    _last_feed: tuple[float, int] | None = attrs.field(default=None, init=False)
    _rate: float | None = attrs.field(default=None, init=False)

    def state(self, now: float | None = None) -> DashboardState:
        now = trio.current_time() if now is None else now
        published = self.bot.trader.feed.stats.published
        if self._last_feed is not None and now - self._last_feed[0] >= 1.0:
            then, count = self._last_feed
            self._rate = (published - count) / (now - then)
            self._last_feed = (now, published)
        elif self._last_feed is None:
            self._last_feed = (now, published)
        return snapshot(
            self.bot, now=now, mode=self.mode, feed_rate=self._rate, log_file=self.log_file,
            totals=self.totals.totals if self.totals is not None else None,
            warnings=tuple(self.warnings.lines) if self.warnings is not None else (),
        )  # fmt: skip

    async def show(self, console: Console, *, refresh: float = REFRESH_INTERVAL) -> None:
        """Redraw every ``refresh`` seconds until cancelled (the last picture stays)."""
        from rich.live import Live

        with Live(console=console, auto_refresh=False, redirect_stdout=False,
                  redirect_stderr=False) as live:  # fmt: skip
            try:
                while True:
                    live.update(render(self.state()), refresh=True)
                    await trio.sleep(refresh)
            finally:  # the picture left on the terminal is the end of the run
                live.update(render(self.state()), refresh=True)


@asynccontextmanager
async def dashboard_beside(
    bot: Bot,
    *,
    enabled: bool,
    db_path: Path,
    since: float,
    mode: str,
    log_file: str | None = None,
    console: Console | None = None,
) -> AsyncIterator[Dashboard | None]:
    """Show the dashboard while the block runs (nothing when not ``enabled``)."""
    if not enabled:
        yield None
        return
    warnings = RecentWarnings()
    root = logging.getLogger()
    root.addHandler(warnings)
    hand_terminal_to_dashboard()  # from now on, the terminal is the dashboard's alone
    try:
        async with open_repository(db_path) as reader, trio.open_nursery() as nursery:
            totals = TotalsReader(repo=reader, since=since)
            dashboard = Dashboard(
                bot=bot, mode=mode, log_file=log_file, totals=totals, warnings=warnings
            )
            nursery.start_soon(totals.run)
            nursery.start_soon(dashboard.show, console or Console())
            try:
                yield dashboard
            finally:
                with trio.move_on_after(FINAL_READ_TIMEOUT, shield=True):
                    await totals.refresh_quietly()  # the last picture shows the final totals
                nursery.cancel_scope.cancel()
    finally:
        root.removeHandler(warnings)
