"""Many positions with every fault knob on at once: the books still balance to the lamport.

Latency, reordering, dropped transactions, HTTP 429s, random WebSocket drops and one
forced disconnect in the middle of the run, all together, while every position sells at
once (``sell_after = 0``: each SELL leaves before its BUY is confirmed, so reordering
makes SELLs overtake their BUYs). Every position must end closed with no token left, and
the wallet's SOL change on the simulator's ledger must equal the sum of the realised PnL
in the database exactly. The wallet is kept short of SOL so that some BUYs fail as well.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from solders.pubkey import Pubkey

from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.sim import Faults
from trio_trader.store import PRE_CONFIRMATION_SELLS

LAUNCHES = 24


def every_fault() -> Faults:
    return Faults(
        latency_min=0.0, latency_max=0.15,
        reorder_probability=0.3, reorder_delay_min=0.1, reorder_delay_max=0.5,
        drop_probability=0.25,
        rpc_429_rate=0.1, retry_after=0,
        ws_disconnect_rate=0.004,
    )  # fmt: skip


async def launch(h: Harness, name: str) -> Pubkey:
    """The test's own launches are not dropped (a lost launch would just be one token less)."""
    drop, h.sim.faults.drop_probability = h.sim.faults.drop_probability, 0.0
    try:
        return await h.launch(name)
    finally:
        h.sim.faults.drop_probability = drop


MODES = {
    "normal": {"buy_amount_sol": "0.05"},
    "extreme_fast": {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_500_000_000_000},
}


@pytest.mark.parametrize("mode", MODES)
async def test_many_positions_with_every_fault_at_once_balance_exactly(
    tmp_path: Path, mode: str
) -> None:
    # 0.125 SOL of funding covers about two BUYs at a time: overlapping BUYs fail on chain,
    # some before and some after their SELL left (orderings 1 and 2 under faults too).
    # The bot's own funds check would skip them, so it is off here: a BUY can still fail
    # for want of lamports when something else spends from the wallet.
    config = {"trade": MODES[mode], "exits": {"sell_after": 0.0}}
    with trio.fail_after(45):
        async with running_bot(
            tmp_path, config=config, faults=every_fault(), funding=SOL // 8, funds_check=False
        ) as h:
            for i in range(LAUNCHES):
                await launch(h, f"Stress {i}")
                if i == LAUNCHES // 2:
                    h.sim.disconnect_websockets()  # mid-run, with orders in flight
                await trio.sleep(0.15)

            async def settled() -> bool:
                ps = await h.positions()
                return (
                    len(ps) >= LAUNCHES // 2
                    and not h.bot.trader.position_tasks
                    and all(p.is_closed for p in ps)
                )

            await h.wait_until(settled, timeout=30)
            positions = await h.assert_books_balance()
            assert {p.status for p in positions} <= {"closed", "failed"}
            assert all(h.token_balance(p.mint) == 0 for p in positions)
            # every knob really fired
            stats = h.sim.node.stats
            assert stats.dropped > 0
            assert h.rpc.stats.rate_limited > 0
            assert h.bot.trader.pubsub.stats.reconnects >= 1
            counters = await h.repo.get_counters()
            assert counters[PRE_CONFIRMATION_SELLS] >= len(positions)
            trades = await h.repo.list_trades()
            sold = [p for p in positions if p.status == "closed"]
            assert sum(t.side == "sell" and t.state == "confirmed" for t in trades) == len(sold)
            # reordering made SELLs land before their BUYs (p ≈ 0.3 each): re-sent, not lost
            assert any(t.side == "sell" and t.error_code == 3012 for t in trades)
