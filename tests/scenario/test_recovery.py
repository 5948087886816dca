"""A crash at the worst moments loses nothing: the signed order is on disk before its send.

``Crash`` is a ``BaseException`` raised from a test hook right after ``sendTransaction``
returned: it unwinds the bot without running any of its handlers' database writes, which
is what a killed process leaves behind. A second bot on the same database and wallet must
then finish the position from the row alone, with the books exact to the lamport.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.signature import Signature

from tests.scenario.harness import RECOVERY_CONFIG, Crash, Harness, crash_first_run, running_bot
from tests.store.factories import make_token_info
from trio_trader.app import Bot, build_bot
from trio_trader.config import parse_config
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder
from trio_trader.trading.position import Position

CONFIG = RECOVERY_CONFIG


async def second_run(h: Harness, wallet: Keypair) -> Bot:
    """A fresh bot on the same database and wallet, until every position is closed."""
    bot = await build_bot(
        parse_config(CONFIG, env={}), rpc=h.rpc, keypair=wallet, repo=h.repo, ws_url=h.sim.ws_url
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.trader.run)
        await h.wait_until(lambda: h.all_closed(1), timeout=20)
        nursery.cancel_scope.cancel()
    return bot


@pytest.mark.parametrize(
    "trade",
    # extreme fast: the BUY written from the listener's task, the crash in the position
    # task once it read the reply (trading/trader.py: _buy_now)
    [{}, {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000}],
)
async def test_crash_right_after_the_buy_was_sent_is_resolved_by_its_signature(
    tmp_path: Path, trade: dict[str, Any]
) -> None:
    wallet = Keypair()
    config = {**CONFIG, "trade": {**CONFIG.get("trade", {}), **trade}}
    sent: list[BuyOrder] = []

    def die(order: BuyOrder) -> None:
        sent.append(order)
        raise Crash

    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config, wallet=wallet, start=False) as h:
            h.buyer.after = die
            await crash_first_run(h)
            (row,) = await h.positions()
            # the row written before the send names the very transaction that was sent
            assert row.buy_order is not None
            assert row.buy_order.state is OrderState.PENDING
            assert row.buy_order.signature == sent[0].signature
            assert row.buy_order.raw_bytes() == sent[0].raw_bytes()

            bot = await second_run(h, wallet)
            assert bot.trader.stats.positions_recovered == 1
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert position.buy_order is not None
            assert position.buy_order.state is OrderState.CONFIRMED
            assert position.buy_order.signature == sent[0].signature  # the same BUY, once
            buys = await h.trades(position.id, "buy")
            assert [(t.state, t.signature) for t in buys] == [("confirmed", sent[0].signature)]
            assert h.token_balance(position.mint) == 0


async def test_crash_right_after_the_sell_was_sent_confirms_that_sell(tmp_path: Path) -> None:
    wallet = Keypair()
    sent: list[SellOrder] = []

    async def die(order: SellOrder) -> None:
        sent.append(order)
        raise Crash

    with trio.fail_after(30):
        async with running_bot(tmp_path, config=CONFIG, wallet=wallet, start=False) as h:
            h.seller.after = die
            await crash_first_run(h)
            (row,) = await h.positions()
            assert row.sell_order is not None
            assert row.sell_order.state is OrderState.PENDING
            assert row.sell_order.signature == sent[0].signature

            await second_run(h, wallet)
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            sells = await h.trades(position.id, "sell")
            # no second SELL of tokens already sold: the recorded one is confirmed
            assert [(t.state, t.signature) for t in sells] == [("confirmed", sent[0].signature)]
            assert h.token_balance(position.mint) == 0


async def test_crash_before_the_buy_is_signed_leaves_no_row_and_spends_nothing(
    tmp_path: Path,
) -> None:
    """The row is written together with the signed BUY, just before the send: a crash
    before that leaves nothing to resume and nothing spent."""
    wallet = Keypair()

    async def die(_token_info: object) -> None:
        raise Crash  # before the BUY is even built

    with trio.fail_after(15):
        async with running_bot(tmp_path, config=CONFIG, wallet=wallet, start=False) as h:
            h.buyer.pause = die
            await crash_first_run(h)
            assert await h.positions() == []
            with trio.fail_after(3):
                bot = await build_bot(
                    parse_config(CONFIG, env={}), rpc=h.rpc, keypair=wallet, repo=h.repo,
                    ws_url=h.sim.ws_url,
                )  # fmt: skip
                async with trio.open_nursery() as nursery:
                    await nursery.start(bot.trader.run)
                    nursery.cancel_scope.cancel()
            assert bot.trader.stats.positions_recovered == 0
            assert h.wallet_sol_change() == 0


async def test_row_without_a_buy_order_is_closed_at_once_on_restart(tmp_path: Path) -> None:
    """A bare row (as a crash under the seed's order, or an older version, leaves it) has no
    BUY order: nothing of it was sent, so recovery closes it without waiting or guessing."""
    wallet = Keypair()
    with trio.fail_after(15):
        async with running_bot(tmp_path, config=CONFIG, wallet=wallet, start=False) as h:
            bare = Position.create_from_token_info(make_token_info(seed=77))
            await h.repo.insert_position(bare)
            (row,) = await h.positions()
            assert row.buy_order is None
            assert row.is_open
            with trio.fail_after(3):
                await second_run(h, wallet)
            (position,) = await h.positions()
            assert position.exit_reason == "buy_not_sent"
            assert position.realized_pnl_lamports == 0
            assert h.wallet_sol_change() == 0


async def test_a_position_whose_task_raises_is_resumed_and_sold(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=CONFIG) as h:
            raised: list[int] = []

            async def bug_once(attempt: int) -> None:
                if not raised:
                    raised.append(attempt)
                    raise RuntimeError("an unforeseen bug in the exit path")

            h.seller.before = bug_once
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert h.bot.trader.stats.position_errors == 1
            assert h.token_balance(position.mint) == 0


async def test_buy_whose_marker_cannot_be_written_is_never_sent(tmp_path: Path) -> None:
    """The journal refuses the pre-send write (the marker of the signed BUY: a disk
    error): the BUY is never sent, no row exists, nothing is spent."""
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=CONFIG) as h:
            repo = h.bot.trader.repo
            refused: list[str] = []

            def mark_sending(position: Position, order: BuyOrder) -> None:
                assert position.buy_order is order
                assert order.state is OrderState.PENDING
                refused.append(order.signature or "")
                raise OSError(5, "Input/output error")

            repo.mark_sending = mark_sending  # type: ignore[method-assign]
            await h.launch()

            async def given_up() -> bool:
                return bool(refused) and not h.bot.trader.position_tasks

            await h.wait_until(given_up)
            assert await h.positions() == []
            assert h.sim.node.signature_status(Signature.from_string(refused[0])) is None
            assert h.wallet_sol_change() == 0
            assert h.bot.trader.stats.position_errors == 1


async def test_a_failed_database_refuses_the_buy_and_leaves_no_position(tmp_path: Path) -> None:
    """The repository has failed (``RepositoryFailed`` at the pre-send marker): the BUY is
    not sent, the trader stops buying, and no live position names the signed BUY (one
    would be resumed, i.e. sent, by the crash path); the next token is not taken."""
    from trio_trader.store import RepositoryFailed

    with trio.fail_after(30):
        async with running_bot(tmp_path, config=CONFIG) as h:
            trader = h.bot.trader
            refused: list[str] = []
            seen: list[object] = []

            def mark_sending(position: Position, order: BuyOrder) -> None:
                refused.append(order.signature or "")
                seen.append(trader.position_tasks.get(position.mint))
                raise RepositoryFailed("disk full")

            trader.repo.mark_sending = mark_sending  # type: ignore[method-assign]

            async def given_up() -> bool:
                return trader.stats.buys_not_sent == 1 and not trader.position_tasks

            await h.launch()
            await h.wait_until(given_up)
            assert seen == [None]  # not live while its row was being written
            await h.launch()  # stop_buying: not even looked at
            await trio.sleep(0.3)
            assert len(refused) == 1
            assert h.sim.node.signature_status(Signature.from_string(refused[0])) is None
            assert (trader.stats.buys_sent, trader.stats.position_errors) == (0, 0)
            assert await h.positions() == []
            assert h.wallet_sol_change() == 0
