"""The end-of-run audit: what the database says against what the ledger shows.

Five figures, each 0 in a correct run (``FIGURES``):

- ``positions_lost``: BUYs of the wallet that landed on the ledger (a successful
  transaction with a pump ``TradeEvent`` ``is_buy`` by the wallet) whose signature no
  position row names (its ``buy_order`` or one of its BUY ``trades``), plus positions
  whose BUY landed but which the database holds as ``failed`` (it thinks it bought
  nothing), plus positions still open (not ``closed`` / ``failed``) at the end.
- ``tokens_left``: the wallet's token accounts (both token programs) with a non-zero
  balance, the quote tokens it holds as money (USDC, WSOL) left out.
- ``mints_bought_twice``: mints with more than one landed BUY by the wallet.
- ``pnl_mismatch_lamports``: the database's PnL (realised PnL of closed positions plus
  ``sol_received - sol_spent`` of open ones) minus the wallet's SOL change on the
  ledger (final - initial balance). A USDC coin's SOL side (its fees and rent) is in it.
- ``pnl_mismatch_usdc``: the same in USDC base units for the coins quoted in USDC
  (``realized_pnl_quote`` / ``quote_received - quote_spent``) against the wallet's USDC
  change (its USDC account now minus ``initial_usdc``). The two are never added up.

The ledger is read over plain JSON-RPC (``getBalance``, ``getTokenAccountsByOwner``,
``getSignaturesForAddress`` + ``getTransaction``), so the same audit runs against any
node. The database is opened read-only. When the node has no
``getSignaturesForAddress``, the wallet's transactions are those the database names:
a landed transaction the bot forgot cannot be seen then (``history`` says so).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import trio
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump.addresses import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC_MINT,
    WSOL_MINT,
)
from trio_trader.pump.events import TradeEvent, parse_logs

FIGURES = (
    "positions_lost",
    "tokens_left",
    "mints_bought_twice",
    "pnl_mismatch_lamports",
    "pnl_mismatch_usdc",
)
#: tokens the wallet holds as money, not positions: never "left"
QUOTE_TOKENS = frozenset({str(USDC_MINT), str(WSOL_MINT)})
OPEN_STATUSES = frozenset({"pending", "active", "closing"})
METHOD_NOT_FOUND = -32601
SIGNATURES_PAGE = 1000


# --------------------------------------------------------------------------- database


def read_db(db_path: Path) -> dict[str, Any]:
    """Positions (with their order signatures) and trades, from a read-only connection."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        positions = [_position(row) for row in conn.execute("SELECT * FROM positions ORDER BY id")]
        trades = [dict(row) for row in conn.execute("SELECT * FROM trades ORDER BY id")]
    finally:
        conn.close()
    return {"positions": positions, "trades": trades}


def _position(row: sqlite3.Row) -> dict[str, Any]:
    buy = json.loads(row["buy_order"]) if row["buy_order"] else {}
    sell = json.loads(row["sell_order"]) if row["sell_order"] else {}
    return {
        "id": row["id"],
        "mint": row["mint"],
        "status": row["status"],
        "is_closed": bool(row["is_closed"]),
        "sol_spent": row["sol_spent"],
        "sol_received": row["sol_received"],
        "realized_pnl_lamports": row["realized_pnl_lamports"],
        # coins quoted in USDC (migration 0006): their money in USDC base units
        **{k: row[k] for k in QUOTE_COLUMNS if k in row.keys()},  # noqa: SIM118 (sqlite3.Row)
        "exit_reason": row["exit_reason"],
        "sell_attempts": row["sell_attempts"],
        "buy_signature": buy.get("signature"),
        "buy_state": buy.get("state"),
        "sell_signature": sell.get("signature"),
        "sell_state": sell.get("state"),
    }


def db_signatures(db: dict[str, Any]) -> set[str]:
    """Every transaction signature the database names."""
    names = {t["signature"] for t in db["trades"]}
    for p in db["positions"]:
        names |= {p["buy_signature"], p["sell_signature"]}
    return {s for s in names if s}


def buy_signatures_named(db: dict[str, Any]) -> set[str]:
    """BUY signatures a position row names: its BUY order, or a BUY trade of a position."""
    named = {p["buy_signature"] for p in db["positions"]}
    named |= {t["signature"] for t in db["trades"] if t["side"] == "buy" and t["position_id"]}
    return {s for s in named if s}


def position_pnl(p: dict[str, Any]) -> int:
    """Realised PnL of a closed position, (received - spent) of an open one, lamports."""
    if p["is_closed"]:
        return int(p["realized_pnl_lamports"] or 0)
    return int((p["sol_received"] or 0) - (p["sol_spent"] or 0))


def db_pnl(positions: Iterable[dict[str, Any]]) -> int:
    return sum(position_pnl(p) for p in positions)


QUOTE_COLUMNS = ("quote_mint", "quote_spent", "quote_received", "realized_pnl_quote")


def db_usdc_pnl(positions: Iterable[dict[str, Any]]) -> int:
    """The USDC PnL of the coins quoted in USDC (as ``position_pnl``), base units."""
    total = 0
    for p in positions:
        if p.get("quote_mint") != str(USDC_MINT):
            continue
        if p["is_closed"]:
            total += int(p.get("realized_pnl_quote") or 0)
        else:
            total += int((p.get("quote_received") or 0) - (p.get("quote_spent") or 0))
    return total


def pnl_by_position(
    db: dict[str, Any], txs: dict[str, TransactionInfo | None], wallet: Pubkey
) -> list[dict[str, Any]]:
    """Positions whose PnL differs from the SOL change of the transactions they name."""
    named: dict[int, set[str]] = {
        p["id"]: {p["buy_signature"], p["sell_signature"]} for p in db["positions"]
    }
    for t in db["trades"]:
        named.setdefault(t["position_id"], set()).add(t["signature"])
    out = []
    for p in db["positions"]:
        ledger = sum(tx.sol_change(wallet) for s in named[p["id"]] if (tx := txs.get(s or "")))
        if ledger != position_pnl(p):
            out.append({"id": p["id"], "mint": p["mint"], "status": p["status"],
                        "db_lamports": position_pnl(p), "ledger_lamports": ledger})  # fmt: skip
    return out


# --------------------------------------------------------------------------- ledger


async def wallet_signatures(rpc: RpcClient, wallet: Pubkey) -> list[str] | None:
    """Every signature of the wallet, newest first; None if the node has no such method."""
    out: list[str] = []
    before: str | None = None
    while True:
        config: dict[str, Any] = {"limit": SIGNATURES_PAGE, "commitment": "confirmed"}
        if before is not None:
            config["before"] = before
        try:
            page = await rpc.call("getSignaturesForAddress", [str(wallet), config])
        except RpcError as exc:
            if exc.code == METHOD_NOT_FOUND:
                return None
            raise
        out += [entry["signature"] for entry in page]
        if len(page) < SIGNATURES_PAGE:
            return out
        before = out[-1]


async def token_balances(rpc: RpcClient, wallet: Pubkey) -> dict[str, int]:
    """Non-zero token balances of the wallet by mint (both token programs), base units."""
    out: dict[str, int] = {}
    for program in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        config = {"encoding": "base64", "commitment": "confirmed"}
        reply = await rpc.call(
            "getTokenAccountsByOwner", [str(wallet), {"programId": str(program)}, config]
        )
        for entry in reply["value"]:
            data = base64.b64decode(entry["account"]["data"][0])
            mint, amount = str(Pubkey.from_bytes(data[:32])), int.from_bytes(data[64:72], "little")
            if amount:
                out[mint] = out.get(mint, 0) + amount
    return out


def landed_buys(tx: TransactionInfo, wallet: Pubkey) -> list[str]:
    """Mints the wallet bought in this transaction (pump TradeEvents), if it succeeded."""
    if tx.err is not None:
        return []
    return [
        str(ev.mint)
        for ev in parse_logs(tx.log_messages or [])
        if isinstance(ev, TradeEvent) and ev.is_buy and ev.user == wallet
    ]


# --------------------------------------------------------------------------- audit


async def audit(
    *,
    rpc_url: str,
    db_path: Path,
    wallet: Pubkey,
    initial_lamports: int,
    exclude: Iterable[str] = (),
    initial_usdc: int = 0,
) -> dict[str, Any]:
    """Compare the bot's database with the ledger; the report (JSON-ready) with ``FIGURES``."""
    db = read_db(db_path)
    async with RpcClient((rpc_url,), max_retries=20) as rpc:
        final = await rpc.get_balance(wallet, "confirmed")
        tokens = await token_balances(rpc, wallet)
        history = await wallet_signatures(rpc, wallet)
        signatures = sorted(
            set(history if history is not None else db_signatures(db)) - set(exclude)
        )
        txs = {s: await rpc.get_transaction(Signature.from_string(s)) for s in signatures}
    return build_report(
        db, wallet, txs, tokens, initial_lamports, final, history is not None,
        initial_usdc=initial_usdc,
    )  # fmt: skip


def build_report(
    db: dict[str, Any],
    wallet: Pubkey,
    txs: dict[str, TransactionInfo | None],
    tokens: dict[str, int],
    initial: int,
    final: int,
    full_history: bool,
    *,
    initial_usdc: int = 0,
) -> dict[str, Any]:
    """The figures and the evidence behind each one (``tokens``: every non-zero balance,
    the wallet's USDC included)."""
    buys = {s: landed_buys(tx, wallet) for s, tx in txs.items() if tx is not None}
    buy_mints = Counter(m for mints in buys.values() for m in mints)
    named = buy_signatures_named(db)
    unnamed = sorted(s for s, mints in buys.items() if mints and s not in named)
    landed = {s for s, mints in buys.items() if mints}
    failed_but_landed = [
        p for p in db["positions"] if p["status"] == "failed" and p["buy_signature"] in landed
    ]
    still_open = [p for p in db["positions"] if p["status"] in OPEN_STATUSES]
    known = db_signatures(db)
    unknown = {s: tx.sol_change(wallet) for s, tx in txs.items() if tx and s not in known}
    pnl, change = db_pnl(db["positions"]), final - initial
    usdc_pnl, usdc_change = (
        db_usdc_pnl(db["positions"]),
        tokens.get(str(USDC_MINT), 0) - initial_usdc,
    )
    left = {mint: n for mint, n in tokens.items() if mint not in QUOTE_TOKENS}
    return {
        "positions_lost": len(unnamed) + len(failed_but_landed) + len(still_open),
        "tokens_left": len(left),
        "mints_bought_twice": sum(1 for n in buy_mints.values() if n > 1),
        "pnl_mismatch_lamports": pnl - change,
        "pnl_mismatch_usdc": usdc_pnl - usdc_change,
        "evidence": {
            "buys_landed_unnamed": unnamed,
            "positions_failed_but_bought": failed_but_landed,
            "positions_open": still_open,
            "token_balances": left,
            "db_pnl_usdc_units": usdc_pnl,
            "ledger_usdc_change_units": usdc_change,
            "mints_bought_twice": {m: n for m, n in buy_mints.items() if n > 1},
            "db_pnl_lamports": pnl,
            "positions_pnl_differs": pnl_by_position(db, txs, wallet),
            "ledger_sol_change_lamports": change,
            "transactions_unknown_to_db": unknown,
            "unknown_sol_change_lamports": sum(unknown.values()),
        },
        "counts": {
            "positions": len(db["positions"]),
            "positions_by_status": dict(Counter(p["status"] for p in db["positions"])),
            "wallet_transactions": len(txs),
            "landed_transactions": sum(1 for tx in txs.values() if tx is not None),
            "landed_buys": sum(buy_mints.values()),
            "mints_bought": len(buy_mints),
        },
        "history": "getSignaturesForAddress" if full_history else "database signatures only",
    }


def failures(report: dict[str, Any]) -> list[str]:
    """The figures that are not 0, as ``name=value``."""
    return [f"{name}={report[name]}" for name in FIGURES if report[name] != 0]


def run_audit(**kwargs: Any) -> dict[str, Any]:
    """:func:`audit` from synchronous code."""
    report: dict[str, Any] = trio.run(lambda: audit(**kwargs))
    return report
