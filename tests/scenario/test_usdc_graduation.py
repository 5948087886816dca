"""A USDC coin held through graduation: ``migrate_v2`` makes its pool quoted in USDC, and
the bot sells on it (no WSOL anywhere), the books exact in USDC and in SOL."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
from solders.signature import Signature

from tests.scenario.graduation import complete_usdc_curve, migrate_usdc
from tests.scenario.harness import USDC, Harness, running_bot
from tests.scenario.test_usdc import USDC_CONFIG, assert_usdc_books
from trio_trader.pump.addresses import USDC_MINT
from trio_trader.pump.amm import Pool, SellEvent, parse_amm_logs
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.sim.clients import wsol_ata
from trio_trader.trading.orders import VENUE_AMM, VENUE_CURVE_V2, OrderState


async def active(h: Harness) -> bool:
    positions = await h.positions()
    return bool(positions) and positions[0].status == "active"


async def test_a_usdc_coin_held_through_graduation_is_sold_on_its_usdc_pool(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # take profit at +50 %: the buy-out fires it once the curve is complete
    config = {**USDC_CONFIG, "exits": {"take_profit_pct": 50.0, "tick_interval": 0.1}}
    with trio.fail_after(60):
        async with running_bot(tmp_path, config=config, funding_usdc=100 * USDC) as h:
            mint = await h.launch_usdc()
            await h.wait_until(lambda: active(h))
            await complete_usdc_curve(h, mint)
            with trio.fail_after(20):  # the SELL waits for the pool: nothing is sent
                while "pool not tradable yet" not in caplog.text:
                    await trio.sleep(0.02)
            pool_address = canonical_pool_pda(mint, USDC_MINT)
            assert h.sim.ledger.get_account(pool_address) is None
            await migrate_usdc(h, mint)
            account = h.sim.ledger.get_account(pool_address)
            assert account is not None
            assert Pool.decode(bytes(account.data)).quote_mint == USDC_MINT
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()  # SOL and USDC, exactly
            buy, sell = position.buy_order, position.sell_order
            assert buy is not None
            assert sell is not None
            assert (buy.venue, sell.venue) == (VENUE_CURVE_V2, VENUE_AMM)
            assert sell.state is OrderState.CONFIRMED
            assert position.exit_reason == "take_profit"
            assert_usdc_books(h, position)
            assert position.realized_pnl_quote is not None
            assert position.realized_pnl_quote > buy.sol_cost // 2  # the buy-out's gain
            landed = h.sim.node.transaction(Signature.from_string(sell.signature or ""))
            assert landed is not None
            (event,) = [e for e in parse_amm_logs(landed.logs) if isinstance(e, SellEvent)]
            assert (event.user, event.pool) == (h.wallet.pubkey(), pool_address)
            assert event.user_quote_amount_out == sell.quote_change
            # a USDC pool: no WSOL account was opened for the proceeds
            assert wsol_ata(h.wallet.pubkey()) not in landed.account_keys
            assert h.token_balance(mint) == 0
