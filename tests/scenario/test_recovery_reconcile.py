"""Start-up reconciliation: what the wallet did or holds while the bot did not look is booked.

Each test stops the bot (a ``Crash`` right after a send, or simply no bot running), lets the
chain move on (a BUY sent by hand, the node forgetting a status), then starts a bot on the
same database and wallet and checks the rows against the simulator's ledger to the lamport.

The simulator runs fast slots here (``FAST_SLOT``) so that outliving its status cache
(``STATUS_CACHE_SLOTS``) takes about a second.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.scenario.harness import (
    RECOVERY_CONFIG,
    SOL,
    Crash,
    Harness,
    crash_after_buy_sent,
    crash_first_run,
    running_bot,
)
from trio_trader.app import Bot, build_bot
from trio_trader.chain.transactions import build_transaction
from trio_trader.config import parse_config
from trio_trader.pump import addresses, instructions
from trio_trader.pump.curve import FeeRates, Reserves, max_sol_cost, quote_buy_for_sol
from trio_trader.sim.node import STATUS_CACHE_SLOTS
from trio_trader.store import open_repository
from trio_trader.store._migrations import MIGRATIONS_DIR
from trio_trader.trading.orders import OrderState, SellOrder
from trio_trader.trading.position import Position
from trio_trader.trading.wallet_scan import token_info_from_chain

FAST_SLOT = 0.01
CONFIG: dict[str, Any] = RECOVERY_CONFIG


async def new_bot(h: Harness, **settings: Any) -> Bot:
    """A fresh bot on the harness's database and wallet (trader settings overridden)."""
    bot = await build_bot(
        parse_config(CONFIG, env={}), rpc=h.rpc, keypair=h.wallet, repo=h.repo,
        ws_url=h.sim.ws_url,
    )  # fmt: skip
    bot.trader.settings = attrs.evolve(bot.trader.settings, **settings)
    return bot


async def run_until_closed(h: Harness, count: int, **settings: Any) -> Bot:
    """A fresh bot until ``count`` positions exist and all are closed."""
    bot = await new_bot(h, **settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.trader.run)
        await h.wait_until(lambda: h.all_closed(count), timeout=20)
        nursery.cancel_scope.cancel()
    return bot


async def start_only(h: Harness, **settings: Any) -> Bot:
    """A fresh bot through its start-up (reconciliation included), then stopped."""
    bot = await new_bot(h, **settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.trader.run)
        nursery.cancel_scope.cancel()
    return bot


async def wait_forgotten(h: Harness, signature: str) -> None:
    """Until the transaction has landed and left the node's status cache."""
    sig = Signature.from_string(signature)

    async def forgotten() -> bool:
        executed = h.sim.node.transaction(sig)
        return (
            executed is not None
            and h.sim.node.slot - int(executed.slot) > STATUS_CACHE_SLOTS
            and h.sim.node.signature_status(sig, search_history=False) is None
        )

    await h.wait_until(forgotten, timeout=20)


async def wallet_buy(h: Harness, mint: Pubkey, sol: float) -> Signature:
    """The bot's wallet buys ``mint`` by hand (not through the bot); waits until confirmed."""
    user = h.wallet.pubkey()
    program = addresses.TOKEN_2022_PROGRAM_ID
    curve = h.sim.ledger.bonding_curve(mint)
    assert curve is not None
    quote = quote_buy_for_sol(int(sol * SOL), Reserves.of(curve), FeeRates(95, 30))
    ixs = [
        instructions.create_associated_token_account_idempotent(
            payer=user, owner=user, mint=mint, token_program=program
        ),
        instructions.buy(
            user=user, mint=mint, creator=h.creator.pubkey(), token_program=program,
            fee_recipient=addresses.FEE_RECIPIENTS[0], amount=quote.amount,
            max_sol_cost=max_sol_cost(quote.total, 2000),
        ),
    ]  # fmt: skip
    return await send_by_hand(h, ixs)


async def wallet_sell(h: Harness, mint: Pubkey, amount: int) -> Signature:
    """The bot's wallet sells ``amount`` of ``mint`` by hand; waits until confirmed."""
    ix = instructions.sell(
        user=h.wallet.pubkey(), mint=mint, creator=h.creator.pubkey(),
        token_program=addresses.TOKEN_2022_PROGRAM_ID,
        fee_recipient=addresses.FEE_RECIPIENTS[0], amount=amount, min_sol_output=0,
    )  # fmt: skip
    return await send_by_hand(h, [ix])


async def send_by_hand(h: Harness, ixs: list[Instruction]) -> Signature:
    blockhash, _ = await h.rpc.get_latest_blockhash()
    signed = build_transaction(ixs, h.wallet, blockhash)
    await h.rpc.send_transaction(signed.raw)

    async def confirmed() -> bool:
        status = h.sim.node.signature_status(signed.signature)
        return status is not None and status.confirmation_status in ("confirmed", "finalized")

    await h.wait_until(confirmed)
    executed = h.sim.node.transaction(signed.signature)
    assert executed is not None
    assert executed.err is None, executed.err
    return signed.signature


def sol_change(h: Harness, signature: Signature) -> int:
    """The wallet's SOL delta in a landed transaction, from the ledger."""
    executed = h.sim.node.transaction(signature)
    assert executed is not None
    assert executed.err is None
    i = list(executed.account_keys).index(h.wallet.pubkey())
    return int(executed.post_balances[i]) - int(executed.pre_balances[i])


async def launch_quietly(h: Harness) -> Pubkey:
    """A coin the (not running) bot never sees created; waits until its curve exists."""
    mint = await h.launch()
    await h.wait_until(lambda: _true(h.sim.ledger.bonding_curve(mint) is not None))
    return mint


async def _true(value: bool) -> bool:
    return value


# ---------------------------------------------------------------------- (a) landed while down


async def test_buy_that_landed_longer_ago_than_the_status_cache_is_booked_not_expired(
    tmp_path: Path,
) -> None:
    wallet = Keypair()
    with trio.fail_after(60):
        async with running_bot(
            tmp_path, config=CONFIG, wallet=wallet, start=False, slot_time=FAST_SLOT
        ) as h:
            sent = crash_after_buy_sent(h)
            await crash_first_run(h)
            assert sent[0].signature is not None
            await wait_forgotten(h, sent[0].signature)

            bot = await run_until_closed(h, 1)
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert position.exit_reason == "sell_after"  # held and sold, not "buy_failed"
            assert position.buy_order is not None
            assert position.buy_order.state is OrderState.CONFIRMED
            assert position.token_amount == sent[0].token_amount
            assert position.sol_spent == -sol_change(h, Signature.from_string(sent[0].signature))
            buys = await h.trades(position.id, "buy")
            assert [(t.state, t.signature) for t in buys] == [("confirmed", sent[0].signature)]
            assert h.token_balance(position.mint) == 0
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.resolved_on_chain == 1


async def test_sell_that_landed_longer_ago_than_the_status_cache_closes_its_position(
    tmp_path: Path,
) -> None:
    wallet = Keypair()
    sent: list[SellOrder] = []

    async def die(order: SellOrder) -> None:
        sent.append(order)
        raise Crash

    with trio.fail_after(60):
        async with running_bot(
            tmp_path, config=CONFIG, wallet=wallet, start=False, slot_time=FAST_SLOT
        ) as h:
            h.seller.after = die
            await crash_first_run(h)
            assert sent[0].signature is not None
            await wait_forgotten(h, sent[0].signature)

            bot = await run_until_closed(h, 1)
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert position.sell_attempts == 1  # no second SELL of tokens already sold
            sells = await h.trades(position.id, "sell")
            assert [(t.state, t.signature) for t in sells] == [("confirmed", sent[0].signature)]
            assert position.sol_received == sol_change(h, Signature.from_string(sent[0].signature))
            assert h.token_balance(position.mint) == 0
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.resolved_on_chain == 1


# ---------------------------------------------------------------------- (b) a BUY by hand


async def test_pump_buy_sent_by_hand_from_the_wallet_is_adopted_and_sold(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=CONFIG, start=False) as h:
            mint = await launch_quietly(h)
            sig = await wallet_buy(h, mint, 0.05)
            bought = h.token_balance(mint)
            assert bought > 0

            bot = await run_until_closed(h, 1)
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.adopted_buys == 1
            assert bot.trader.reconciliation.orphans == {}
            (position,) = await h.assert_books_balance()  # the hand BUY's cost is booked
            assert position.mint == mint
            assert position.status == "closed"
            assert position.buy_order is not None
            assert position.buy_order.signature == str(sig)
            assert position.buy_order.state is OrderState.CONFIRMED
            assert position.token_amount == bought
            assert position.sol_spent == -sol_change(h, sig)
            # exit rules measure the price paid at the curve, not the BUY's fee and rent
            assert position.entry_cost is not None
            assert 0 < position.entry_cost < position.sol_spent - 2_000_000
            assert position.token_info.creator == h.creator.pubkey()
            assert [t.signature for t in await h.trades(position.id, "buy")] == [str(sig)]
            assert h.token_balance(mint) == 0

            # a second start finds nothing new: the adopted BUY is known now
            again = await start_only(h)
            assert again.trader.reconciliation is not None
            assert again.trader.reconciliation.adopted_buys == 0
            assert again.trader.stats.positions_recovered == 0


# ---------------------------------------------------------------------- (c) orphan tokens


async def test_tokens_held_without_a_position_are_reported_and_sold_with_adopt_orphans(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The wallet buys X by hand while the bot trades Y: Y's SELL, the newest transaction the
    database knows, is after X's BUY, so the history walk never sees X; only the wallet's
    token accounts do."""
    config = {**CONFIG, "exits": {"sell_after": 1.0, "tick_interval": 0.1}}
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=config, start=False) as h:
            orphan = await launch_quietly(h)
            async with trio.open_nursery() as first:
                await first.start(h.bot.trader.run)
                await h.launch()
                await h.wait_until(lambda: _has_confirmed_buy(h))
                orphan_buy = await wallet_buy(h, orphan, 0.05)
                await h.wait_until(lambda: h.all_closed(1))
                first.cancel_scope.cancel()
            (traded,) = await h.positions()
            assert traded.sell_order is not None
            assert traded.sell_order.confirmed_slot is not None
            executed = h.sim.node.transaction(orphan_buy)
            assert executed is not None
            assert int(executed.slot) < traded.sell_order.confirmed_slot
            held = h.token_balance(orphan)
            assert held > 0

            # adopt_orphans off: reported, nothing bought or sold, no row
            with caplog.at_level(logging.WARNING, logger="trio_trader.trading.reconcile"):
                bot = await start_only(h)
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.orphans == {orphan: held}
            assert any(
                "orphan tokens" in r.getMessage() and str(orphan) in r.getMessage()
                for r in caplog.records
            )
            assert len(await h.positions()) == 1
            assert h.token_balance(orphan) == held

            # adopt_orphans on: a position that is monitored and sold
            bot = await run_until_closed(h, 2, adopt_orphans=True)
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.orphans_adopted == 1
            assert h.token_balance(orphan) == 0
            adopted = next(p for p in await h.positions() if p.mint == orphan)
            assert adopted.status == "closed"
            assert adopted.token_amount == held
            assert adopted.sol_spent == 0  # its cost is unknown: PnL is the proceeds
            assert adopted.entry_cost  # price rules count from its value when adopted
            assert adopted.realized_pnl_lamports == adopted.sol_received
            assert adopted.sol_received is not None
            assert adopted.sol_received > 0
            pnl = sum(p.realized_pnl_lamports or 0 for p in await h.positions())
            # the wallet's books: both positions' PnL plus the hand BUY the bot never saw
            assert h.wallet_sol_change() == pnl + sol_change(h, orphan_buy)


async def _has_confirmed_buy(h: Harness) -> bool:
    positions = await h.positions()
    return any(p.buy_order is not None and p.buy_order.state is OrderState.CONFIRMED
               for p in positions)  # fmt: skip


# ---------------------------------------------------------------------- (d) old schema


def write_old_schema_db(
    path: Path, position: Position, *, signature: Signature, slot: int, sol: int, tokens: int
) -> None:
    """A database as the old bot left it: schema 0001, one open position bought by
    ``signature`` (the old bot wrote a row once its BUY confirmed) and its trade row."""
    info = position.token_info
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript((MIGRATIONS_DIR / "0001_initial.sql").read_text())
        conn.execute(
            "INSERT INTO token_info (mint, name, symbol, uri, bonding_curve, "
            "associated_bonding_curve, creator, user, token_program) VALUES (?,?,?,?,?,?,?,?,?)",
            [str(info.mint), "Old Coin", "OLD", "u", str(info.bonding_curve),
             str(info.associated_bonding_curve), str(info.creator), str(info.user),
             str(info.token_program)],
        )  # fmt: skip
        conn.execute(
            "INSERT INTO positions (mint, is_active, token_amount, sol_spent, created_at, "
            "updated_at) VALUES (?, 1, ?, ?, 1.0, 1.0)",
            [str(info.mint), tokens, -sol],
        )
        conn.execute(
            "INSERT INTO trades (position_id, mint, side, success, signature, token_amount, "
            "sol_change, token_change, slot, recorded_at) VALUES (1, ?, 'buy', 1, ?, ?, ?, ?, ?, "
            "1.0)",
            [str(info.mint), str(signature), tokens, sol, tokens, slot],
        )
    conn.close()


async def test_migrated_row_without_order_json_whose_tokens_are_held_is_sold(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=CONFIG, start=False) as h:
            mint = await launch_quietly(h)
            sig = await wallet_buy(h, mint, 0.05)
            held = h.token_balance(mint)
            executed = h.sim.node.transaction(sig)
            assert executed is not None
            info = await token_info_from_chain(h.rpc, mint)
            assert info is not None
            old_db = tmp_path / "old.db"
            write_old_schema_db(
                old_db, Position.create_from_token_info(info), signature=sig,
                slot=int(executed.slot), sol=sol_change(h, sig), tokens=held,
            )  # fmt: skip

            async with open_repository(old_db) as old_repo:
                h.repo = old_repo
                (row,) = await h.positions()
                assert row.buy_order is None
                assert row.is_open
                bot = await run_until_closed(h, 1)
                (position,) = await h.assert_books_balance()
                assert position.exit_reason != "buy_not_sent"
                assert position.exit_reason == "sell_after"
                assert position.sol_spent == -sol_change(h, sig)  # kept from the old row
                assert position.token_amount == held
                assert h.token_balance(mint) == 0
                assert bot.trader.reconciliation is not None
                assert bot.trader.reconciliation.rows_adopted == 1
