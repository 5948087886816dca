"""The stop summary of a ``run``: what this run did, from the database and the wallet.

Everything ``*_this_run`` has one scope, so realised PnL and the wallet's SOL change can be
compared: the positions created or closed since the run started (wall clock), the
counters' increase since then, and the wallet's change since the balance read at start.
Token balances are read in ``getMultipleAccounts`` batches (100 accounts a request), and
a balance that cannot be read is reported as unknown: it never fails the run's exit code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from solders.pubkey import Pubkey

from trio_trader.chain.rpc import RpcClient
from trio_trader.config import LAMPORTS_PER_SOL
from trio_trader.pump.addresses import associated_token_address
from trio_trader.startup import RunStart
from trio_trader.store import PRE_CONFIRMATION_SELLS, PRE_CONFIRMATION_SELLS_SUCCEEDED, Repository
from trio_trader.trading.position import Position
from trio_trader.trading.trader import TraderStats

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
) -> dict[str, Any]:
    """This run's summary, JSON-ready (amounts in lamports and token base units).

    ``stats`` are the trader's (``None`` when the run stopped before it was built);
    ``None`` balances could not be read (``balances_error`` says why).
    """
    positions = await repo.list_positions()
    counters = await repo.get_counters()
    this_run = [p for p in positions if _in_run(p, start.wall)]
    delta = {k: v - start.counters.get(k, 0) for k, v in counters.items()}
    totals = position_totals(this_run, {k: v for k, v in delta.items() if v})
    return {
        "wallet": str(wallet),
        "started_at": start.wall,
        "positions_this_run": totals["positions"],
        "pre_confirmation_sells_this_run": totals["pre_confirmation_sells"],
        "counters_this_run": totals["counters"],
        "realized_pnl_this_run_lamports": totals["realized_pnl_lamports"],
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
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few human lines for the terminal."""
    p, pre = summary["positions_this_run"], summary["pre_confirmation_sells_this_run"]
    change = summary["wallet_sol_change_this_run_lamports"]
    pnl = summary["realized_pnl_this_run_lamports"]
    source = summary["balances_source"]
    lines = [
        f"wallet {summary['wallet']}",
        f"positions this run: {p['opened']} opened, {p['closed']} closed "
        f"({p['buy_failed']} BUY failed), {p['open']} open",
        f"SELLs sent before their BUY confirmed: {pre['sent']} ({pre['succeeded']} succeeded)",
        f"realised PnL this run: {pnl / LAMPORTS_PER_SOL:+.9f} SOL",
        f"wallet SOL change this run ({source}): "
        + (f"{change / LAMPORTS_PER_SOL:+.9f} SOL" if change is not None else "unknown"),
    ]
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
