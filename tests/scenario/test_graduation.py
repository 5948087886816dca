"""Today's program end to end: a coin that graduates while held is sold on its PumpSwap
pool, ``instructions = "v2"`` trades a SOL coin, a coin quoted in USDC is skipped.

Each test runs the production bot against the simulator (pump's legacy and v2
instructions, ``migrate`` and the PumpSwap AMM emulated over the real SPL programs) and
checks the books to the lamport: the wallet's SOL change equals the sum of the realised
PnL, and the trading PnL comes from the events the transactions logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
from solders.signature import Signature

from tests.scenario.graduation import T2022, complete_curve, migrate, pool_dump
from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.chain.transactions import build_transaction
from trio_trader.pump import addresses, instructions
from trio_trader.pump.addresses import USDC_MINT
from trio_trader.pump.amm import SellEvent, parse_amm_logs
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.pump.events import TradeEvent, parse_logs
from trio_trader.sim.clients import wrap_sol, wsol_ata
from trio_trader.trading.orders import VENUE_AMM, VENUE_CURVE, VENUE_CURVE_V2, OrderState


async def active(h: Harness) -> bool:
    positions = await h.positions()
    return bool(positions) and positions[0].status == "active"


async def wrap_in_wallet(h: Harness, lamports: int) -> int:
    """The wallet's owner wraps SOL in the wallet's WSOL account (another app, say).
    Returns the account's lamports (the WSOL plus its rent). Its fee leaves ``funding``."""
    wallet = h.wallet.pubkey()
    blockhash, _ = await h.rpc.get_latest_blockhash()
    tx = build_transaction(wrap_sol(wallet, lamports), h.wallet, blockhash)
    before = h.sim.ledger.balance(wallet)
    await h.rpc.send_transaction(tx.raw)
    with trio.fail_after(10):
        while h.sim.ledger.get_account(wsol_ata(wallet)) is None:
            await trio.sleep(0.02)
    held = h.sim.ledger.balance(wsol_ata(wallet))
    h.funding -= before - h.sim.ledger.balance(wallet) - held  # the wrap's fee
    return held


@pytest.mark.parametrize("wrapped_before", [0, SOL])
async def test_a_coin_held_through_graduation_is_sold_on_its_pool_to_the_lamport(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, wrapped_before: int
) -> None:
    # ``wrapped_before``: the wallet already holds WSOL, which the pool SELL unwraps with
    # its proceeds; those lamports were the wallet's, not the trade's.
    caplog.set_level(logging.INFO)
    # Take profit at +50 %: the whale's buy-out fires it, after the curve completed.
    config = {"exits": {"take_profit_pct": 50.0, "tick_interval": 0.1}}
    async with running_bot(tmp_path, config=config) as h:
        mint = await h.launch()
        await h.wait_until(lambda: active(h))
        outside = await wrap_in_wallet(h, wrapped_before) if wrapped_before else 0
        await complete_curve(h, mint)
        # The exit fires on the buy-out's price; the curve is complete and the pool does
        # not exist yet: the SELL waits for it (nothing is sent), then sells on it.
        with trio.fail_after(20):
            while "pool not tradable yet" not in caplog.text:
                await trio.sleep(0.02)
        assert h.sim.ledger.get_account(canonical_pool_pda(mint)) is None
        await migrate(h, mint)
        await h.wait_until(lambda: h.settled(1))
        # the wrapped lamports left the system account and came back: only the wrap's fee
        # (taken out of ``funding``) is outside the books
        (position,) = await h.assert_books_balance()
        trades = await h.trades(position.id, "sell")
    sell = position.sell_order
    assert sell is not None
    assert sell.state is OrderState.CONFIRMED
    assert sell.venue == VENUE_AMM
    assert position.buy_order is not None
    assert position.buy_order.venue == VENUE_CURVE
    # the trade row says where each SELL traded; only the pool SELL was sent
    assert [(t.venue, t.success) for t in trades] == [(VENUE_AMM, True)]
    # trading PnL: the AMM SellEvent's net quote out, as the transaction logged it
    landed = h.sim.node.transaction(Signature.from_string(sell.signature or ""))
    assert landed is not None
    events = [e for e in parse_amm_logs(landed.logs) if isinstance(e, SellEvent)]
    assert [e.user for e in events] == [h.wallet.pubkey()]
    assert sell.pump_sol == events[0].user_quote_amount_out
    assert position.trading_pnl_lamports == events[0].user_quote_amount_out - (
        position.buy_order.pump_sol or 0
    )
    # the proceeds were unwrapped: no WSOL account (or lamports) left behind
    assert h.sim.ledger.get_account(wsol_ata(h.wallet.pubkey())) is None
    assert h.token_balance(mint) == 0
    # the wallet got the net quote out, less the fee, plus the closed token account's rent
    # (the WSOL account was opened and closed within the transaction: it nets to zero)
    keys = list(landed.account_keys)
    base_ata = addresses.associated_token_address(h.wallet.pubkey(), mint, T2022)
    rent_back = landed.pre_balances[keys.index(base_ata)]
    assert landed.post_balances[keys.index(base_ata)] == 0
    assert sell.sol_change == events[0].user_quote_amount_out - landed.fee + rent_back
    wsol_index = keys.index(wsol_ata(h.wallet.pubkey()))
    assert landed.pre_balances[wsol_index] == outside


async def test_a_pool_sell_front_run_by_a_dump_is_repriced_and_sold(tmp_path: Path) -> None:
    # The pool's price falls ~17 % between the quote and the SELL (slippage 15 %): the
    # pool refuses it with its own 6004 ExceededSlippage, the next SELL widens by 10 %.
    config = {"exits": {"sell_after": 3.0, "tick_interval": 0.1}}
    async with running_bot(tmp_path, config=config) as h:
        mint = await h.launch()
        await h.wait_until(lambda: active(h))
        whale = await complete_curve(h, mint)
        await migrate(h, mint)

        async def dump() -> None:
            await pool_dump(h, whale, mint, 0.1)

        h.seller.front_run_with(h, dump, attempts={1})
        await h.wait_until(lambda: h.settled(1))
        (position,) = await h.assert_books_balance()
        trades = await h.trades(position.id, "sell")
    assert [(t.venue, t.success, t.error_code, t.error_name) for t in trades] == [
        (VENUE_AMM, False, 6004, "ExceededSlippage"),
        (VENUE_AMM, True, None, None),
    ]
    assert trades[0].sol_change is not None
    assert trades[0].sol_change < 0  # the failed attempt's fee, booked
    sell = position.sell_order
    assert sell is not None
    assert sell.slippage_bps == 1_500 + 1_000
    assert h.token_balance(mint) == 0


async def test_v2_instructions_buy_and_sell_a_sol_coin(tmp_path: Path) -> None:
    config = {"trade": {"instructions": "v2"}, "exits": {"sell_after": 0.5}}
    async with running_bot(tmp_path, config=config) as h:
        mint = await h.launch()
        await h.wait_until(lambda: h.settled(1))
        (position,) = await h.assert_books_balance()
        trades = await h.trades(position.id, "sell")
    buy, sell = position.buy_order, position.sell_order
    assert buy is not None
    assert sell is not None
    assert (buy.venue, sell.venue) == (VENUE_CURVE_V2, VENUE_CURVE_V2)
    assert buy.state is sell.state is OrderState.CONFIRMED
    assert h.token_balance(mint) == 0
    # what was signed is buy_v2 / sell_v2 (their discriminators), and the pump events agree
    for order, name in ((buy, "buy_v2"), (sell, "sell_v2")):
        landed = h.sim.node.transaction(Signature.from_string(order.signature or ""))
        assert landed is not None
        pump_ixs = [
            ix for ix in landed.transaction.message.instructions
            if landed.transaction.message.account_keys[ix.program_id_index]
            == addresses.PUMP_PROGRAM_ID
        ]  # fmt: skip
        (ix,) = pump_ixs
        decoded, _args = instructions.decode_pump_instruction(bytes(ix.data))
        assert decoded == name
        trade = [e for e in parse_logs(landed.logs) if isinstance(e, TradeEvent)]
        assert [e.user for e in trade] == [h.wallet.pubkey()]
    assert [t.venue for t in trades] == [VENUE_CURVE_V2]


async def test_a_usdc_quoted_coin_is_skipped_with_its_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(tmp_path, config={"exits": {"sell_after": 0.5}}) as h:
        usdc_mint = await h.launch_usdc()
        with trio.fail_after(10):
            while h.bot.trader.stats.skipped_quote == 0:
                await trio.sleep(0.02)
        curve = h.sim.ledger.bonding_curve(usdc_mint)
        assert curve is not None
        assert curve.quote_mint == USDC_MINT
        # the same bot still trades a SOL coin
        await h.launch()
        await h.wait_until(lambda: h.settled(1))
        positions = await h.assert_books_balance()
    assert [p.mint for p in positions if p.mint == usdc_mint] == []
    assert len(positions) == 1
    assert (
        f"({str(usdc_mint)[:8]}): quoted in USDC: the legacy buy/sell cannot trade it"
        in caplog.text
    )
