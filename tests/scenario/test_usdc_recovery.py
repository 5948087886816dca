"""Start-up reconciliation of USDC-quoted coins: a landed BUY the bot did not see resolve,
and a ``buy_v2`` sent by hand from the wallet, are booked in both units and sold; the
wallet's USDC is money, never an orphan position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
from solders.keypair import Keypair
from solders.signature import Signature

from tests.scenario.harness import (
    USDC,
    Harness,
    crash_after_buy_sent,
    crash_first_run,
    running_bot,
)
from tests.scenario.test_recovery_reconcile import send_by_hand
from tests.scenario.test_usdc import USDC_CONFIG, assert_usdc_books
from trio_trader.app import Bot, build_bot
from trio_trader.config import parse_config
from trio_trader.pump import addresses, instructions
from trio_trader.pump.addresses import USDC_MINT
from trio_trader.pump.curve import FeeRates, Reserves, max_sol_cost, quote_buy_for_sol
from trio_trader.trading.orders import OrderState

CONFIG: dict[str, Any] = {
    **USDC_CONFIG,
    "trade": {**USDC_CONFIG["trade"], "rebroadcast_interval": 0.2},
    "exits": {"sell_after": 0.5, "tick_interval": 0.1},
}
FAST_SLOT = 0.01


async def run_until_closed(h: Harness, count: int) -> Bot:
    """A fresh bot (same database and wallet) until ``count`` positions are closed."""
    bot = await build_bot(
        parse_config(CONFIG, env={}), rpc=h.rpc, keypair=h.wallet, repo=h.repo,
        ws_url=h.sim.ws_url,
    )  # fmt: skip
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.trader.run)
        await h.wait_until(lambda: h.all_closed(count), timeout=20)
        nursery.cancel_scope.cancel()
    return bot


async def test_usdc_buy_that_landed_while_the_bot_was_down_is_booked_and_sold(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with running_bot(
            tmp_path, config=CONFIG, wallet=Keypair(), start=False, slot_time=FAST_SLOT,
            funding_usdc=100 * USDC,
        ) as h:  # fmt: skip
            sent = crash_after_buy_sent(h)
            await crash_first_run(h, h.launch_usdc)
            signature = Signature.from_string(sent[0].signature or "")
            await h.wait_until(lambda: _landed(h, signature))
            assert h.wallet_usdc_change() < 0  # the BUY paid in USDC while nobody looked

            bot = await run_until_closed(h, 1)
            (position,) = await h.assert_books_balance()  # SOL and USDC, exactly
            assert position.exit_reason == "sell_after"
            assert position.buy_order is not None
            assert position.buy_order.signature == str(signature)
            assert_usdc_books(h, position)
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.resolved_on_chain == 1
            assert bot.trader.reconciliation.orphans == {}  # the wallet's USDC is money


async def test_usdc_buy_v2_sent_by_hand_is_adopted_in_usdc_and_sold(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=CONFIG, start=False, funding_usdc=100 * USDC) as h:
            mint = await h.launch_usdc()
            await h.wait_until(lambda: _has_curve(h, mint))
            curve = h.sim.ledger.bonding_curve(mint)
            assert curve is not None
            quote = quote_buy_for_sol(3 * USDC, Reserves.of(curve), FeeRates(95, 30))
            user = h.wallet.pubkey()
            program = addresses.TOKEN_2022_PROGRAM_ID
            sig = await send_by_hand(h, [
                instructions.create_associated_token_account_idempotent(
                    payer=user, owner=user, mint=mint, token_program=program
                ),
                instructions.buy_v2(
                    user=user, mint=mint, creator=h.creator.pubkey(), token_program=program,
                    fee_recipient=addresses.FEE_RECIPIENTS[0], quote_mint=USDC_MINT,
                    amount=quote.amount, max_sol_cost=max_sol_cost(quote.total, 2000),
                ),
            ])  # fmt: skip
            paid = -h.wallet_usdc_change()
            assert paid > 0

            bot = await run_until_closed(h, 1)
            assert bot.trader.reconciliation is not None
            assert bot.trader.reconciliation.adopted_buys == 1
            assert bot.trader.reconciliation.orphans == {}
            (position,) = await h.assert_books_balance()
            assert position.buy_order is not None
            assert position.buy_order.signature == str(sig)
            assert position.buy_order.state is OrderState.CONFIRMED
            assert position.quote_spent == paid  # the hand BUY's USDC, not its SOL
            assert position.buy_order.sol_cost == paid
            assert_usdc_books(h, position)
            assert h.token_balance(mint) == 0


async def _landed(h: Harness, signature: Signature) -> bool:
    executed = h.sim.node.transaction(signature)
    return executed is not None and executed.err is None


async def _has_curve(h: Harness, mint: Any) -> bool:
    return h.sim.ledger.bonding_curve(mint) is not None
