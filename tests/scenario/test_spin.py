"""``[latency] spin`` on the real simulator: the trader's run starts the spinner beside its
services, a trade completes (bought, sold, books equal to the ledger), and the spinner
ends with the run."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.scenario.harness import running_bot
from trio_trader.trading.orders import OrderState
from trio_trader.trading.spin import TASK_NAME

FAST = {"extreme_fast_mode": True, "extreme_fast_token_amount": 2_000_000_000_000}


def spinner_names(nursery: trio.Nursery | None) -> list[str]:
    assert nursery is not None
    return [t.name for t in nursery.child_tasks if t.name == TASK_NAME]


async def test_a_trade_completes_with_spin_on_and_the_spinner_ends_with_the_run(
    tmp_path: Path,
) -> None:
    config = {"trade": FAST, "exits": {"sell_after": 0.3}, "latency": {"spin": True}}
    with trio.fail_after(10):
        async with running_bot(tmp_path, config=config) as h:
            trader = h.bot.trader
            assert trader.settings.spin is True
            root = trader._positions  # the run's root nursery
            assert spinner_names(root) == [TASK_NAME]
            await h.launch()
            await h.wait_until(lambda: h.settled(1), timeout=5)
            positions = await h.assert_books_balance()
            assert spinner_names(root) == [TASK_NAME]  # spun the whole trade
        # the harness cancelled the run, and the run returned: the spinner ended with it
        assert spinner_names(root) == []
    (position,) = positions
    assert position.is_closed
    assert position.buy_order is not None
    assert position.buy_order.state is OrderState.CONFIRMED
    assert position.sell_order is not None
    assert position.sell_order.state is OrderState.CONFIRMED


async def test_spin_is_off_by_default(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_bot(tmp_path) as h:
            assert h.bot.trader.settings.spin is False
            assert spinner_names(h.bot.trader._positions) == []
