"""The stop summary of a ``run``: what this run did, from the database and the wallet.

Everything ``*_this_run`` has one scope, so realised PnL and the wallet's SOL change can be
compared: the positions created or closed since the run started (wall clock), the
counters' increase since then, and the wallet's change since the balance read at start.
Token balances are read in ``getMultipleAccounts`` batches (100 accounts a request), and
a balance that cannot be read is reported as unknown: it never fails the run's exit code.

**How much sooner pre-confirmation SELLs landed** (:func:`pre_confirmation_leads`). The
classic flow sends a position's SELL only once it has seen its BUY confirmed; this bot
may send it earlier. For every position whose SELL went out before its BUY confirmed and
succeeded, the *lead* is the time from that SELL's send to the moment the bot saw its
BUY confirmed (the BUY's trade row is written right then: its ``recorded_at``). A
classic SELL could have been sent no earlier than that moment, and the same transaction
sent later lands no sooner (its send → land latency does not depend on when it is
sent), so the pre-confirmation SELL landed this much sooner, in expectation. Both ends
are wall-clock stamps of this process (``time.time()``), taken on the same machine. The
summary gives their count, median and total in seconds; a position whose BUY trade row
is missing (resolved by a later start) is left out rather than guessed.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from solders.pubkey import Pubkey

from trio_trader.chain.rpc import RpcClient
from trio_trader.config import LAMPORTS_PER_SOL
from trio_trader.pump.addresses import associated_token_address
from trio_trader.startup import RunStart
from trio_trader.store import (
    PRE_CONFIRMATION_SELLS,
    PRE_CONFIRMATION_SELLS_SUCCEEDED,
    Repository,
    TradeRecord,
)
from trio_trader.trading.position import Position, pnl_by_quote
from trio_trader.trading.token_info import quote_symbol
from trio_trader.trading.trader import TraderStats
from trio_trader.ui.format import mask_url
from trio_trader.ui.format import quote as fmt_quote

log = logging.getLogger(__name__)

#: where the SPL token amount (u64 LE) sits in a token account's data
TOKEN_AMOUNT_OFFSET = 64


async def held_positions(repo: Repository, start: RunStart) -> list[Position]:
    """Positions whose tokens may still be in the wallet: this run's and every open one."""
    return [p for p in await repo.list_positions() if not p.is_closed or _in_run(p, start.wall)]


def token_account_amount(data: bytes) -> int:
    """The amount of an SPL token account (u64 LE at offset 64; both token programs)."""
    end = TOKEN_AMOUNT_OFFSET + 8
    if len(data) < end:
        raise ValueError(f"{len(data)} bytes is not a token account")
    return int.from_bytes(data[TOKEN_AMOUNT_OFFSET:end], "little")


async def token_balances(
    rpc: RpcClient, owner: Pubkey, positions: Sequence[Position]
) -> dict[str, int]:
    """Non-zero token balances of the positions' mints, in ``getMultipleAccounts`` batches."""
    accounts: dict[str, Pubkey] = {}
    for position in positions:
        info = position.token_info
        accounts[str(info.mint)] = associated_token_address(owner, info.mint, info.token_program)
    out: dict[str, int] = {}
    infos = await rpc.get_multiple_accounts(list(accounts.values()))
    for mint, account in zip(accounts, infos, strict=True):
        if account is None:
            continue
        try:
            amount = token_account_amount(account.data)
        except ValueError as exc:
            log.warning("token account of %s unreadable: %s", mint, exc)
            continue
        if amount:
            out[mint] = amount
    return out


def _in_run(position: Position, since: float) -> bool:
    """Created or closed during the run that started at ``since`` (unix s)."""
    created, closed = position.created_at, position.closed_at
    return (created is not None and created >= since) or (closed is not None and closed >= since)


def pre_confirmation_leads(
    trades: Sequence[TradeRecord], *, since: float | None = None
) -> dict[int, float]:
    """Seconds by position id that each successful pre-confirmation SELL was sent before
    the bot saw its BUY confirmed (see the module docstring); SELLs sent before ``since``
    (unix s) are left out."""
    buy_seen = {
        t.position_id: t.recorded_at
        for t in trades
        if t.side == "buy" and t.success and t.position_id is not None
    }
    leads: dict[int, float] = {}
    for trade in trades:
        if not (trade.side == "sell" and trade.success and trade.sent_before_buy_confirmed):
            continue
        if trade.position_id is None or trade.sent_at is None:
            continue
        if since is not None and trade.sent_at < since:
            continue
        seen = buy_seen.get(trade.position_id)
        if seen is not None:
            # never negative: the SELL was sent before the BUY's result was known
            leads.setdefault(trade.position_id, max(0.0, seen - trade.sent_at))
    return leads


def lead_totals(leads: Mapping[int, float]) -> dict[str, Any]:
    """Count, median and total of :func:`pre_confirmation_leads`, JSON-ready."""
    values = sorted(leads.values())
    return {
        "sells": len(values),
        "median_seconds": statistics.median(values) if values else None,
        "total_seconds": sum(values),
    }


async def build_summary(
    repo: Repository,
    stats: TraderStats | None,
    *,
    wallet: Pubkey,
    start: RunStart,
    wallet_sol_change: int | None,
    token_balances: Mapping[str, int] | None,
    source: str,
    balances_error: str | None = None,
    paper: bool = False,
    send_endpoints: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """This run's summary, JSON-ready (amounts in lamports and token base units).

    ``paper``: a dry run (``trading/dry_run.py``): its PnL is on paper and the wallet's
    change is none of its doing. ``send_endpoints``: the fan-out's record per send
    endpoint (``RpcClient.send_report``), kept with each URL's credentials masked.

    ``stats`` are the trader's (``None`` when the run stopped before it was built);
    ``None`` balances could not be read (``balances_error`` says why).
    """
    positions = await repo.list_positions()
    counters = await repo.get_counters()
    this_run = [p for p in positions if _in_run(p, start.wall)]
    delta = {k: v - start.counters.get(k, 0) for k, v in counters.items()}
    totals = position_totals(this_run, {k: v for k, v in delta.items() if v})
    leads = pre_confirmation_leads(await repo.list_trades(), since=start.wall)
    return {
        "wallet": str(wallet),
        "paper": paper,
        "started_at": start.wall,
        "positions_this_run": totals["positions"],
        "pre_confirmation_sells_this_run": totals["pre_confirmation_sells"],
        "pre_confirmation_lead_this_run": lead_totals(leads),
        "counters_this_run": totals["counters"],
        "realized_pnl_this_run_lamports": totals["realized_pnl_lamports"],
        "pnl_by_quote_this_run": totals["pnl_by_quote"],
        "wallet_sol_change_this_run_lamports": wallet_sol_change,
        "open_positions_in_database": sum(1 for p in positions if not p.is_closed),
        "token_balances": (
            None if token_balances is None else {k: v for k, v in token_balances.items() if v}
        ),
        "balances_source": source,
        "balances_error": balances_error,
        "tokens_seen": stats.tokens_seen if stats else 0,
        "tokens_filtered": stats.filtered if stats else 0,
        "skipped_capacity": stats.skipped_capacity if stats else 0,
        "send_endpoints_this_run": [
            {"endpoint": mask_url(url), **record} for url, record in (send_endpoints or {}).items()
        ],
    }


def position_totals(positions: Sequence[Position], counters: Mapping[str, int]) -> dict[str, Any]:
    """Position counts, pre-confirmation SELLs and realised PnL, JSON-ready.

    Shared by the run's summary (over this run's positions and counters) and the
    ``report`` command (over the whole database) so both count from the same rows the
    same way: realised PnL is the sum over closed positions.
    """
    closed = [p for p in positions if p.is_closed]
    return {
        "positions": {
            "opened": len(positions),
            "closed": len(closed),
            "open": len(positions) - len(closed),
            "buy_failed": sum(1 for p in closed if p.status == "failed"),
        },
        "pre_confirmation_sells": {
            "sent": counters.get(PRE_CONFIRMATION_SELLS, 0),
            "succeeded": counters.get(PRE_CONFIRMATION_SELLS_SUCCEEDED, 0),
        },
        "counters": dict(counters),
        "realized_pnl_lamports": sum(p.realized_pnl_lamports or 0 for p in closed),
        # coins quoted in a token (USDC): their PnL in that token, never added to SOL
        "pnl_by_quote": pnl_by_quote(closed),
    }


def _lead_lines(lead: Mapping[str, Any] | None) -> list[str]:
    if not lead or not lead["sells"]:
        return []
    return [
        f"  they landed sooner than the classic flow (SELL only after the BUY's confirmation "
        f"is seen) would have: median {lead['median_seconds']:.2f} s, "
        f"total {lead['total_seconds']:.2f} s over {lead['sells']} SELLs"
    ]


def _send_lines(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per send endpoint of a fan-out: which one is worth its place."""
    lines = []
    for r in records:
        latency = (
            f", accepted in {r['accept_ms_p50']:.1f} ms p50 / {r['accept_ms_p99']:.1f} ms p99"
            if r.get("accept_ms_p50") is not None
            else ""
        )
        lines.append(
            f"  {r['endpoint']}: {r['sent']} sent, {r['accepted']} accepted ({r['first']} "
            f"first), {r['refused']} refused, {r['unclear']} unclear{latency}"
        )
    return ["sendTransaction per send endpoint:", *lines] if lines else []


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few human lines for the terminal."""
    p, pre = summary["positions_this_run"], summary["pre_confirmation_sells_this_run"]
    change = summary["wallet_sol_change_this_run_lamports"]
    pnl = summary["realized_pnl_this_run_lamports"]
    source = summary["balances_source"]
    paper = " (paper, dry run: nothing was sent)" if summary.get("paper") else ""
    lines = [
        f"wallet {summary['wallet']}",
        f"positions this run: {p['opened']} opened, {p['closed']} closed "
        f"({p['buy_failed']} BUY failed), {p['open']} open",
        f"SELLs sent before their BUY confirmed: {pre['sent']} ({pre['succeeded']} succeeded)",
        *_lead_lines(summary.get("pre_confirmation_lead_this_run")),
        f"realised PnL this run{paper}: {pnl / LAMPORTS_PER_SOL:+.9f} SOL",
        *(
            f"realised PnL this run{paper}: "
            f"{fmt_quote(q['realized_pnl_units'], quote_symbol(mint), signed=True)} "
            f"({q['positions']} positions quoted in it; their fees and rent are in SOL above)"
            for mint, q in summary.get("pnl_by_quote_this_run", {}).items()
        ),
        f"wallet SOL change this run ({source}): "
        + (f"{change / LAMPORTS_PER_SOL:+.9f} SOL" if change is not None else "unknown"),
    ]
    lines.extend(_send_lines(summary.get("send_endpoints_this_run", [])))
    if summary.get("balances_error"):
        lines.append(f"balances: {summary['balances_error']}")
    held = summary["open_positions_in_database"]
    if held:
        lines.append(f"open positions in the database: {held} (resumed by the next start)")
    tokens = summary["token_balances"]
    if tokens is None:
        lines.append("tokens left: unknown")
    else:
        lines.append(
            "tokens left: "
            + (", ".join(f"{m}: {a}" for m, a in tokens.items()) if tokens else "none")
        )
    return "\n".join(lines)
