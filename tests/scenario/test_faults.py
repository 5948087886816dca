"""Network faults, buy modes and restart recovery, on the real simulator.

Same rules as ``test_orderings``: small real time, assertions on the ledger to the lamport.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair

from tests.scenario.harness import SOL, running_bot, until_listening
from trio_trader.app import build_bot
from trio_trader.config import parse_config
from trio_trader.listeners.block import BlockListener
from trio_trader.pump.addresses import TOKEN_2022_PROGRAM_ID
from trio_trader.pump.curve import Reserves, quote_buy_for_sol
from trio_trader.sim import Faults
from trio_trader.trading.orders import BuyOrder, OrderState
from trio_trader.trading.token_info import TokenInfo


async def test_expired_sell_is_resent_with_a_new_blockhash(tmp_path: Path) -> None:
    # 150 blocks of validity at 0.02 s a slot: a dropped SELL expires after about 3 s.
    with trio.fail_after(40):
        async with running_bot(
            tmp_path, slot_time=0.02, config={"exits": {"sell_after": 0.2}}
        ) as h:

            async def drop_first(attempt: int) -> None:
                h.sim.faults.drop_probability = 1.0 if attempt == 1 else 0.0

            h.seller.before = drop_first
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1), timeout=30)
            (position,) = await h.assert_books_balance()
            trades = await h.trades(position.id, "sell")
            assert [t.state for t in trades] == ["failed", "confirmed"]
            assert trades[0].error_name == "BlockhashExpired"
            assert trades[0].fee_lamports is None  # never landed: it cost nothing
            assert trades[0].signature != trades[1].signature
            assert position.status == "closed"


async def test_websocket_disconnect_and_429s_mid_run_lose_nothing(tmp_path: Path) -> None:
    faults = Faults(rpc_429_rate=0.15, retry_after=0)
    with trio.fail_after(60):
        async with running_bot(tmp_path, faults=faults, config={"exits": {"sell_after": 0.5}}) as h:
            await h.launch("Before")
            await h.wait_until(lambda: h.all_closed(1))
            dropped = set(h.sim.ws_server.connections)
            assert h.sim.disconnect_websockets() >= 1
            pubsub = h.bot.trader.pubsub

            async def reconnected() -> bool:
                return pubsub.stats.reconnects >= 1 and pubsub.connected

            await h.wait_until(reconnected)
            # resubscribed (a token created while down is missed): waited for, not a fixed
            # 0.3 s a loaded machine can outlast
            await until_listening(h.sim, besides=dropped)
            for i in range(3):
                await h.launch(f"After {i}")

            async def detected() -> bool:
                return len(await h.positions()) == 4

            await h.wait_until(detected)
            h.sim.disconnect_websockets()  # again, while their orders are in flight
            await h.wait_until(lambda: h.all_closed(4), timeout=40)
            positions = await h.assert_books_balance()
            assert len(positions) == 4
            assert all(p.status == "closed" for p in positions)
            assert h.bot.trader.pubsub.stats.reconnects >= 1


async def test_extreme_fast_mode_buys_fixed_amount_without_reading_the_curve(
    tmp_path: Path,
) -> None:
    amount = 2_000_000_000_000  # 2,000,000 tokens
    config = {
        "trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": amount},
        "exits": {"sell_after": 0.3},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            reads: list[int] = []

            def before() -> None:
                reads.append(h.rpc.stats.by_method["getAccountInfo"])

            def after(order: BuyOrder) -> None:
                reads.append(h.rpc.stats.by_method["getAccountInfo"])

            h.buyer.before, h.buyer.after = before, after
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert reads[0] == reads[1]  # no RPC read between decision and send
            assert position.buy_order is not None
            assert position.buy_order.token_amount == amount
            assert position.token_amount == amount
            assert h.token_balance(mint) == 0


async def test_extreme_fast_zero_hold_reads_no_account_from_buy_to_sell(tmp_path: Path) -> None:
    """The first SELL is quoted from the reserves the BUY was quoted against with the BUY
    applied: with no price update yet, the way out needs no RPC read either."""
    config = {
        "trade": {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000},
        "exits": {"sell_after": 0.0},
    }
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            reads_before = h.rpc.stats.by_method["getAccountInfo"]
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.sell_order is not None
            assert position.sell_order.sent_before_buy_confirmed
            assert position.sell_attempts == 1
            assert h.rpc.stats.by_method["getAccountInfo"] == reads_before
            assert h.token_balance(mint) == 0


async def test_normal_mode_sizes_the_buy_from_the_curve(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.3}}) as h:
            seen: list[tuple[int, int]] = []

            async def pause(token_info: TokenInfo) -> None:
                curve = h.sim.ledger.bonding_curve(token_info.mint)
                assert curve is not None
                seen.append((h.rpc.stats.by_method["getAccountInfo"], 0))
                rates = h.bot.trader.buyer.chain.market.rates(token_info, curve)
                expected = quote_buy_for_sol(h.buyer.amount_lamports, Reserves.of(curve), rates)
                seen.append((expected.amount, expected.total))

            h.buyer.pause = pause
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            buy = position.buy_order
            assert buy is not None
            assert buy.state is OrderState.CONFIRMED
            assert h.rpc.stats.by_method["getAccountInfo"] > seen[0][0]  # it read the curve
            assert (buy.token_amount, buy.sol_cost) == seen[1]
            assert buy.sol_cost <= h.buyer.amount_lamports < buy.max_sol_cost


async def test_restart_resumes_a_sent_buy_and_finishes_the_position(tmp_path: Path) -> None:
    wallet = Keypair()
    db = tmp_path / "bot.db"
    config = {"exits": {"sell_after": 1.0}}
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config, wallet=wallet, db=db, start=False) as h:
            h.buyer.before = lambda: setattr(h.sim.faults, "drop_probability", 1.0)
            async with trio.open_nursery() as first:
                await first.start(h.bot.trader.run)
                await h.launch()

                async def buy_sent() -> bool:
                    ps = await h.positions()
                    return (
                        bool(ps)
                        and ps[0].buy_order is not None
                        and (ps[0].buy_order.state is OrderState.SENT)
                    )

                await h.wait_until(buy_sent)
                first.cancel_scope.cancel()  # the bot dies with its BUY unconfirmed
            (position,) = await h.positions()
            assert position.buy_order is not None
            assert position.buy_order.state is OrderState.SENT
            assert position.is_open
            h.sim.faults.drop_probability = 0.0  # the resumed rebroadcast will land

            cfg = parse_config(
                {
                    "exits": {"sell_after": 1.0, "tick_interval": 0.1},
                    "trade": {"rebroadcast_interval": 0.2},
                },
                env={},
            )
            second = await build_bot(
                cfg, rpc=h.rpc, keypair=wallet, repo=h.repo, ws_url=h.sim.ws_url
            )
            async with trio.open_nursery() as nursery:
                await nursery.start(second.trader.run)
                assert second.trader.stats.positions_recovered == 1
                await h.wait_until(lambda: h.all_closed(1), timeout=30)
                nursery.cancel_scope.cancel()
            (position,) = await h.assert_books_balance()
            assert position.buy_order is not None
            assert position.buy_order.state is OrderState.CONFIRMED
            assert position.status == "closed"
            assert h.wallet_sol_change() < 0
            assert -h.wallet_sol_change() < SOL


async def test_block_subscribe_listener_trades_like_the_logs_listener(tmp_path: Path) -> None:
    config = {"listener": {"source": "block"}, "exits": {"sell_after": 0.3}}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.mint == mint
            assert position.status == "closed"
            listener = h.bot.trader.listener
            assert isinstance(listener, BlockListener)
            assert listener.stats.tokens == 1


async def test_restart_closes_a_row_whose_buy_was_never_sent(tmp_path: Path) -> None:
    import time

    from trio_trader.trading.position import Position

    with trio.fail_after(30):
        async with running_bot(tmp_path, start=False) as h:
            mint = await h.launch()
            await trio.sleep(0.3)
            info = TokenInfo(
                mint=mint, name="x", symbol="X", uri="u", bonding_curve=mint,
                associated_bonding_curve=mint, creator=h.creator.pubkey(),
                user=h.creator.pubkey(), token_program=TOKEN_2022_PROGRAM_ID,
            )  # fmt: skip
            # a crash between "row inserted" and "BUY sent", long enough ago
            orphan = Position.create_from_token_info(info, created_at=time.time() - 600)
            await h.repo.insert_position(orphan)
            async with trio.open_nursery() as nursery:
                await nursery.start(h.bot.trader.run)
                await h.wait_until(lambda: h.all_closed(1))
                nursery.cancel_scope.cancel()
            (position,) = await h.positions()
            assert position.exit_reason == "buy_not_sent"
            assert position.realized_pnl_lamports == 0
            assert h.wallet_sol_change() == 0


@attrs.define
class UnknownBlockhash:
    """A blockhash source whose hash the node never issued: every send is refused."""

    real: Any
    latest: tuple[Hash, int] = (Hash.new_unique(), 10**9)

    @property
    def block_height(self) -> int:
        return int(self.real.block_height)


@pytest.mark.parametrize(
    "trade",
    # extreme fast: the BUY written from the listener's task, its refusal read by the
    # position task (trading/trader.py: _buy_now)
    [{}, {"extreme_fast_mode": True, "extreme_fast_token_amount": 1_000_000_000_000}],
)
async def test_buy_refused_by_the_node_closes_at_zero_cost(
    tmp_path: Path, trade: dict[str, Any]
) -> None:
    config = {"exits": {"sell_after": 0.0}, "trade": trade}
    with trio.fail_after(30):
        async with running_bot(tmp_path, config=config) as h:
            chain = h.buyer.chain
            real = chain.blockhash
            h.buyer.before = lambda: setattr(chain, "blockhash", UnknownBlockhash(real))
            h.buyer.after = lambda _order: setattr(chain, "blockhash", real)
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "failed"
            assert position.realized_pnl_lamports == 0  # never landed: it cost nothing
            assert h.wallet_sol_change() == 0
            assert position.sell_order is None
            trades = await h.repo.list_trades(position.id)
            assert [(t.side, t.state, t.error_name) for t in trades] == [
                ("buy", "failed", "SendRejected")
            ]
            assert (await h.repo.get_counters()).get("buy_failed") == 1


async def test_sell_refused_by_the_node_is_recorded_once_and_resent(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.5}}) as h:
            chain = h.seller.chain
            real = chain.blockhash

            async def before(attempt: int) -> None:
                chain.blockhash = UnknownBlockhash(real) if attempt == 1 else real

            async def after(_order: object) -> None:
                chain.blockhash = real

            h.seller.before, h.seller.after = before, after
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            sells = await h.trades(position.id, "sell")
            assert [(t.attempt, t.state, t.error_name) for t in sells] == [
                (1, "failed", "SendRejected"),
                (2, "confirmed", None),
            ]
            counters = await h.repo.get_counters()
            assert (counters.get("sell_failed"), counters.get("sell_confirmed")) == (1, 1)


async def test_legacy_create_spl_token_coin_is_detected_bought_and_sold(tmp_path: Path) -> None:
    from trio_trader.pump.addresses import TOKEN_PROGRAM_ID

    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.3}}) as h:
            mint = await h.launch("Old School", legacy=True)
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.mint == mint
            assert position.token_info.token_program == TOKEN_PROGRAM_ID
            assert position.status == "closed"
            assert h.token_balance(mint) == 0
