"""Builders of domain objects for the trading-object and store tests.

Deterministic keys (from a seed byte) keep failures reproducible; amounts are
realistic pump.fun magnitudes (6-decimal tokens, lamports).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from trio_trader.pump import addresses
from trio_trader.pump.curve import INITIAL_RESERVES
from trio_trader.trading.orders import BuyOrder, SellOrder
from trio_trader.trading.token_info import TokenInfo

TOKENS = 35_612_345_678_901  # 35.6M tokens (6 decimals)
SOL_COST = 1_010_101_010  # what the curve takes incl. pump fees
MAX_SOL_COST = 1_262_626_262  # +25 % slippage
SOL_OUTPUT = 1_180_000_000
MIN_SOL_OUTPUT = 885_000_000


def key(seed: int, tag: int = 0) -> Pubkey:
    return Pubkey(bytes([tag, seed % 256, seed // 256 % 256]) + bytes(29))


def make_token_info(seed: int = 1, **overrides: Any) -> TokenInfo:
    mint = key(seed, 1)
    token_program = overrides.pop("token_program", addresses.TOKEN_2022_PROGRAM_ID)
    values: dict[str, Any] = {
        "mint": mint,
        "name": f"Token {seed}",
        "symbol": f"T{seed}",
        "uri": f"https://example.invalid/{seed}.json",
        "bonding_curve": addresses.bonding_curve_pda(mint),
        "associated_bonding_curve": addresses.associated_bonding_curve(mint, token_program),
        "creator": key(seed, 2),
        "user": key(seed, 3),
        "token_program": token_program,
        "is_mayhem_mode": seed % 2 == 0,
        "is_cashback_coin": seed % 3 == 0,
        "created_at": 1_780_000_000 + seed,
        "virtual_sol_reserves": INITIAL_RESERVES.virtual_sol,
        "virtual_token_reserves": INITIAL_RESERVES.virtual_token,
        "real_token_reserves": INITIAL_RESERVES.real_token,
        "signature": f"create-sig-{seed}",
    }
    values.update(overrides)
    return TokenInfo(**values)


def make_buy_order(token_info: TokenInfo, **overrides: Any) -> BuyOrder:
    values: dict[str, Any] = {
        "token_info": token_info,
        "token_amount": TOKENS,
        "max_sol_cost": MAX_SOL_COST,
        "sol_cost": SOL_COST,
        "slippage_bps": 2500,
        "priority_fee": 200_000,
        "compute_unit_limit": 120_000,
    }
    values.update(overrides)
    return BuyOrder(**values)


def make_sell_order(token_info: TokenInfo, **overrides: Any) -> SellOrder:
    values: dict[str, Any] = {
        "token_info": token_info,
        "token_amount": TOKENS,
        "min_sol_output": MIN_SOL_OUTPUT,
        "sol_output": SOL_OUTPUT,
        "slippage_bps": 2500,
        "priority_fee": 300_000,
        "compute_unit_limit": 100_000,
    }
    values.update(overrides)
    return SellOrder(**values)


def send(order: BuyOrder | SellOrder, n: int = 1, *, at: float = 10.0) -> None:
    """Sign (with made-up but well-formed values) and mark an order SENT."""
    order.attach_transaction(
        signature=f"{order.side}-sig-{n}-{order.mint[:6]}",
        raw_transaction=bytes([n % 256]) * 200 + order.side.encode(),
        blockhash=str(key(n, 9)),
        last_valid_block_height=300_000_000 + n,
    )
    order.mark_sent(sent_at=at, sent_at_wall=1_780_000_100.5 + n)


def on_disk(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """What is on disk, read by a connection of its own (as the next run, or a report
    beside the running bot, would read it)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
