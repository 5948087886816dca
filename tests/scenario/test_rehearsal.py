"""``[latency] rehearse_ms`` on the real simulator (a real clock: never under MockClock).

The rehearsal re-runs the last create's decode and a BUY of it, signed by a throwaway key,
beside a real trade: the trade completes with books equal to the ledger, no transaction
naming the stand-in key ever reaches the node, and the rehearsed BUY is the real BUY's
twin: the same instructions, byte for byte, for another payer.
"""

from __future__ import annotations

import base64
import logging
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from tests.scenario.harness import Harness, HookedBuyer, running_bot
from trio_trader.chain.transactions import SignedTransaction
from trio_trader.trading.orders import OrderState
from trio_trader.trading.platform_aware import PlatformAwareBuyer
from trio_trader.trading.rehearsal import TASK_NAME
from trio_trader.trading.token_info import TokenInfo

FAST = {"extreme_fast_mode": True, "extreme_fast_token_amount": 2_000_000_000_000}
CONFIG: dict[str, Any] = {
    "trade": FAST,
    "exits": {"sell_after": 0.3},
    "latency": {"rehearse_ms": 1},
}


def rehearsal_tasks(h: Harness) -> list[str]:
    root = h.bot.trader._positions
    assert root is not None
    return [t.name for t in root.child_tasks if t.name == TASK_NAME]


async def rehearsed(h: Harness, count: int) -> bool:
    rehearsal = h.bot.trader.rehearsal
    return rehearsal is not None and rehearsal.stats.signed >= count


async def bought(h: Harness) -> bool:
    return h.bot.trader.stats.buys_sent >= 1


def record_submissions(h: Harness) -> list[VersionedTransaction]:
    """Every transaction handed to the node from now on (its ``submit``, wrapped)."""
    seen: list[VersionedTransaction] = []
    submit = h.sim.node.submit

    def recording(raw: bytes) -> Any:
        seen.append(VersionedTransaction.from_bytes(raw))
        return submit(raw)

    h.sim.node.submit = recording  # type: ignore[method-assign]
    return seen


async def test_rehearsals_run_beside_a_trade_and_send_nothing(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with running_bot(tmp_path, config=CONFIG) as h:
            trader = h.bot.trader
            chain = trader.buyer.chain
            submitted = record_submissions(h)
            assert trader.rehearsal is not None
            assert rehearsal_tasks(h) == [TASK_NAME]
            assert trader.rehearsal.stats.signed == 0  # no create seen yet: nothing to rehearse
            mint = await h.launch()
            await h.wait_until(lambda: h.settled(1), timeout=8)
            await h.wait_until(partial(rehearsed, h, 3))
            positions = await h.assert_books_balance()
            stats = trader.rehearsal.stats
            replayed = trader._last_create()
        assert rehearsal_tasks(h) == []  # ended with the run
    (position,) = positions
    assert position.is_closed
    buy = position.buy_order
    assert buy is not None
    assert buy.state is OrderState.CONFIRMED
    assert position.sell_order is not None
    assert position.sell_order.state is OrderState.CONFIRMED
    assert stats.failed == 0
    assert stats.decoded >= stats.signed >= 3
    assert buy.raw_transaction is not None
    # the real BUY's twin in size
    assert stats.last_size == len(base64.b64decode(buy.raw_transaction))
    # Nothing the rehearsal built reached the node: every submission is the creator's
    # launch or the wallet's BUY / SELL (rebroadcasts included), none names the stand-in.
    payers = {tx.message.account_keys[0] for tx in submitted}
    assert payers == {h.creator.pubkey(), h.wallet.pubkey()}
    assert all(chain.stand_in_key not in tx.message.account_keys for tx in submitted)
    assert replayed is not None
    assert replayed.mint == mint


async def test_a_rehearsed_buy_is_the_real_buy_for_another_payer(tmp_path: Path) -> None:
    config = {**CONFIG, "exits": {"never_sell": True}}
    with trio.fail_after(15):
        async with running_bot(tmp_path, config=config) as h:
            trader = h.bot.trader
            await h.launch()
            await h.wait_until(partial(rehearsed, h, 1))
            (position,) = await h.positions()
            token_info = trader._last_create()
            assert token_info is not None
            reserves_before = dict(trader.buyer.chain.expected_reserves)
            signed = trader.buyer.rehearse(token_info)
            assert trader.buyer.chain.expected_reserves == reserves_before  # changes nothing
            stand_in = trader.buyer.chain.stand_in_key
    assert isinstance(signed, SignedTransaction)
    assert position.buy_order is not None
    assert position.buy_order.raw_transaction is not None
    real_raw = base64.b64decode(position.buy_order.raw_transaction)
    real = VersionedTransaction.from_bytes(real_raw)
    twin = VersionedTransaction.from_bytes(signed.raw)
    assert twin.message.account_keys[0] == stand_in
    assert h.wallet.pubkey() not in twin.message.account_keys
    assert twin.verify_with_results() == [True]  # signed by the stand-in key, and only by it
    assert [ix.data for ix in twin.message.instructions] == [
        ix.data for ix in real.message.instructions
    ]  # the same budget, ATA and buy instructions: amount and max cost equal
    assert len(signed.raw) == len(real_raw)
    program_ids = [_program(tx, i) for tx in (real, twin) for i in range(4)]
    assert program_ids[:4] == program_ids[4:]


def _program(tx: VersionedTransaction, index: int) -> Pubkey:
    ix = tx.message.instructions[index]
    return tx.message.account_keys[ix.program_id_index]


async def test_a_failing_rehearsal_is_counted_logged_once_and_trading_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def failing_three_times(
        buyer: PlatformAwareBuyer, token_info: TokenInfo
    ) -> SignedTransaction | None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RuntimeError(f"rehearsal bug {calls}")
        return PlatformAwareBuyer.rehearse(buyer, token_info)

    monkeypatch.setattr(HookedBuyer, "rehearse", failing_three_times)

    async def run() -> None:
        async with running_bot(tmp_path, config=CONFIG) as h:
            trader = h.bot.trader
            await h.launch()
            await h.wait_until(partial(rehearsed, h, 2))
            await h.wait_until(lambda: h.settled(1), timeout=8)
            positions = await h.assert_books_balance()
            assert trader.rehearsal is not None
            assert trader.rehearsal.stats.failed == 3
            (position,) = positions
            assert position.is_closed

    with caplog.at_level(logging.WARNING, logger="trio_trader.trading.rehearsal"):
        with trio.fail_after(15):
            await run()
    failures = [r for r in caplog.records if "a rehearsal failed" in r.getMessage()]
    assert len(failures) == 1  # the first of the streak only
    assert failures[0].exc_info is not None
    assert "rehearsal bug 1" in str(failures[0].exc_info[1])


async def test_rehearsal_is_off_by_default(tmp_path: Path) -> None:
    # Off, the listener keeps no create either: nothing more on a create's way to its BUY.
    with trio.fail_after(10):
        async with running_bot(tmp_path) as h:
            trader = h.bot.trader
            assert trader.settings.rehearse == 0
            assert trader.rehearsal is None
            assert rehearsal_tasks(h) == []
            await h.launch()
            await h.wait_until(partial(bought, h), timeout=8)
            assert trader.listener is not None
            assert trader.listener.stats.tokens == 1  # the create was decoded, not kept
            assert trader.listener.last_create is None
            assert trader._last_create() is None


async def test_a_token_the_bot_would_not_buy_is_decoded_but_not_signed(tmp_path: Path) -> None:
    # A USDC-quoted coin with no USDC budget: refused by the intake, so its rehearsal
    # decodes it (it is the last create) and builds no BUY, without counting a failure.
    with trio.fail_after(15):
        async with running_bot(tmp_path, config=CONFIG) as h:
            trader = h.bot.trader
            mint = await h.launch_usdc()
            rehearsal = trader.rehearsal
            assert rehearsal is not None
            while rehearsal.stats.decoded < 3:
                await trio.sleep(0.005)
            replayed = trader._last_create()
            assert replayed is not None
            assert replayed.mint == mint
            assert rehearsal.stats.signed == rehearsal.stats.failed == 0
            assert await h.positions() == []
            assert trader.stats.skipped_quote == 1
