"""Coins quoted in USDC, traded with the v2 instructions, on the real simulator.

* A USDC coin is bought with ``buy_v2`` (paid from the wallet's USDC account) and sold
  with ``sell_v2`` by an exit rule; the books are exact against the ledger in both units:
  the wallet's USDC change is the position's USDC PnL, its SOL change the position's SOL
  side (transaction fees and rent, never a USDC amount).
* The SELL of a USDC coin may leave before its BUY is confirmed, like a SOL coin's.
* Without a USDC budget (``trade.quote_mints``) the coin is skipped with the reason.
* The funds check counts USDC for the BUY: a wallet without enough USDC sends nothing.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.signature import Signature

from tests.scenario.harness import USDC, Harness, running_bot
from tests.scenario.test_money import hold_buy_confirmation
from trio_trader.pump import addresses, instructions
from trio_trader.pump.addresses import USDC_MINT
from trio_trader.pump.curve import Reserves, sell_proceeds
from trio_trader.pump.events import TradeEvent, parse_logs
from trio_trader.trading.orders import VENUE_CURVE_V2, Order, OrderState
from trio_trader.trading.position import Position
from trio_trader.ui import format as fmt
from trio_trader.ui.dashboard import outcome_totals
from trio_trader.ui.report import collect_positions, collect_report

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from _reliability import audit  # scripts/ is not a package: on sys.path above

#: a bot that trades USDC coins with v2, 5 USDC a BUY
USDC_CONFIG: dict[str, Any] = {
    "trade": {
        "instructions": "v2",
        "quote_mints": ["SOL", "USDC"],
        "buy_amount_usdc": "5",
        "max_buy_usdc": "20",
    },
    "exits": {"sell_after": 0.5, "tick_interval": 0.1},
}


def pump_ix_name(h: Harness, order: Order) -> str:
    """The pump instruction the order's landed transaction holds."""
    landed = h.sim.node.transaction(Signature.from_string(order.signature or ""))
    assert landed is not None
    message = landed.transaction.message
    (ix,) = [
        ix for ix in message.instructions
        if message.account_keys[ix.program_id_index] == addresses.PUMP_PROGRAM_ID
    ]  # fmt: skip
    name, _args = instructions.decode_pump_instruction(bytes(ix.data))
    events = [e for e in parse_logs(landed.logs) if isinstance(e, TradeEvent)]
    assert [e.quote_mint for e in events] == [USDC_MINT]
    return name


def assert_usdc_books(h: Harness, position: Position) -> None:
    """The position's money, each side in its unit, against its own orders."""
    buy, sell = position.buy_order, position.sell_order
    assert buy is not None
    assert sell is not None
    assert position.quote_mint == USDC_MINT
    # every USDC unit the wallet paid or got crossed the curve (pump fees in)
    assert buy.quote_change is not None
    assert sell.quote_change is not None
    assert position.quote_spent == -buy.quote_change == buy.pump_sol
    assert position.quote_received == sell.quote_change == sell.pump_sol
    assert position.realized_pnl_quote == sell.pump_sol - buy.pump_sol
    assert position.trading_pnl_quote == position.realized_pnl_quote  # USDC units
    assert position.trading_pnl_lamports is None  # never a USDC amount as SOL
    # the SOL side is only fees and rent: the BUY paid its fee and the accounts it opened
    assert buy.sol_change is not None
    assert buy.fee_lamports is not None
    assert -buy.sol_change > buy.fee_lamports  # + token account, volume accumulator, vault ATA
    assert position.realized_pnl_lamports is not None
    assert position.realized_pnl_lamports < 0
    assert position.realized_pnl_lamports == (sell.sol_change or 0) + buy.sol_change


async def test_usdc_coin_is_bought_with_buy_v2_and_sold_with_sell_v2_books_exact(
    tmp_path: Path,
) -> None:
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=USDC_CONFIG, funding_usdc=100 * USDC) as h:
            mint = await h.launch_usdc(creator_buy_usdc=50 * USDC)
            sol_mint = await h.launch()  # a SOL coin beside it: the two never mix
            await h.wait_until(lambda: h.settled(2))
            positions = await h.assert_books_balance()  # SOL and USDC, exactly
            (position,) = [p for p in positions if p.mint == mint]
            (sol_position,) = [p for p in positions if p.mint == sol_mint]
            assert sol_position.quote_mint is None
            assert sol_position.realized_pnl_quote is None
            assert position.exit_reason == "sell_after"
            buy, sell = position.buy_order, position.sell_order
            assert buy is not None
            assert sell is not None
            assert buy.state is sell.state is OrderState.CONFIRMED
            assert (buy.venue, sell.venue) == (VENUE_CURVE_V2, VENUE_CURVE_V2)
            assert pump_ix_name(h, buy) == "buy_v2"
            assert pump_ix_name(h, sell) == "sell_v2"
            # the budget is in USDC: the BUY was quoted at most 5 USDC, and may fill up to its
            # slippage bound (the creator's buy may land first), never above it
            assert 4 * USDC < buy.sol_cost <= 5 * USDC
            assert buy.pump_sol is not None
            assert 4 * USDC < buy.pump_sol <= buy.max_sol_cost
            assert buy.max_sol_cost == buy.sol_cost * 115 // 100  # 15 % slippage, in USDC
            assert_usdc_books(h, position)
            assert h.wallet_usdc_change() < 0  # a round trip pays the pump fees twice
            # the row says its quote, and reads back the same
            reloaded = await h.repo.get_position(position.id or 0)
            assert reloaded is not None
            assert reloaded.quote_mint == USDC_MINT
            assert reloaded.realized_pnl_quote == position.realized_pnl_quote
            assert reloaded.quote_spent == position.quote_spent
            await assert_report_per_quote(h, position, sol_position)
            # the reliability audit (docs/reliability.md) on this run: every figure 0
            report = await audit.audit(
                rpc_url=h.sim.rpc_url, db_path=tmp_path / "bot.db", wallet=h.wallet.pubkey(),
                initial_lamports=h.funding, initial_usdc=h.funding_usdc,
            )  # fmt: skip
            assert {name: report[name] for name in audit.FIGURES} == dict.fromkeys(
                audit.FIGURES, 0
            ), report["evidence"]
            assert report["evidence"]["ledger_usdc_change_units"] == h.wallet_usdc_change()


async def assert_report_per_quote(h: Harness, usdc: Position, sol: Position) -> None:
    """``report``, ``positions``, the run summary's totals and the dashboard: the USDC
    PnL apart, the SOL PnL the wallet's SOL change (the USDC coin's fees in it)."""
    report = await collect_report(h.repo, "bot.db")
    assert report["realized_pnl_lamports"] == h.wallet_sol_change()
    assert report["trading_pnl_lamports"] == sol.trading_pnl_lamports  # SOL coins only
    (quoted,) = report["pnl_by_quote"].items()
    assert quoted[0] == str(USDC_MINT)
    assert quoted[1]["symbol"] == "USDC"
    assert quoted[1]["positions"] == 1
    assert quoted[1]["realized_pnl_units"] == h.wallet_usdc_change() == usdc.realized_pnl_quote
    assert quoted[1]["realized_pnl"] == fmt.quote(h.wallet_usdc_change(), "USDC", signed=True)
    rows = {row["mint"]: row for row in await collect_positions(h.repo)}
    usdc_row, sol_row = rows[str(usdc.mint)], rows[str(sol.mint)]
    assert (usdc_row["quote"], sol_row["quote"]) == ("USDC", "SOL")
    assert usdc_row["realized_pnl_quote_units"] == usdc.realized_pnl_quote
    assert usdc_row["trading_pnl_lamports"] is None
    assert sol_row["quote_mint"] is None
    totals = outcome_totals(await h.positions())
    assert totals.realized_pnl_lamports == h.wallet_sol_change()
    assert totals.quote_pnl == (("USDC", h.wallet_usdc_change()),)
    # a round trip loses the pump fees: both are losses, judged each in its own quote
    assert (totals.wins, totals.losses) == (0, 2)


async def test_usdc_coin_take_profit_fires_on_its_usdc_price(tmp_path: Path) -> None:
    """The exit rules measure a USDC coin in USDC: the creator's USDC buys lift the price
    past the take profit, the SELL takes the gain, booked in USDC."""
    config = {**USDC_CONFIG, "exits": {"take_profit_pct": 15.0, "tick_interval": 0.05}}
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config, funding_usdc=100 * USDC) as h:
            mint = await h.launch_usdc()

            async def bought() -> bool:
                ps = await h.positions()
                buy = ps[0].buy_order if ps else None
                return buy is not None and buy.state is OrderState.CONFIRMED

            await h.wait_until(bought)
            assert (await h.positions())[0].sell_order is None  # nothing moved: held
            await h.creator_buy_v2(mint, 3_000 * USDC)  # ~ +20 % on a 30,000 USDC curve
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            assert position.exit_reason == "take_profit"
            assert_usdc_books(h, position)
            assert position.realized_pnl_quote is not None
            assert position.realized_pnl_quote > 0
            assert h.wallet_usdc_change() == position.realized_pnl_quote > 0


async def test_usdc_coin_sell_sent_before_its_buy_is_confirmed(tmp_path: Path) -> None:
    config = {**USDC_CONFIG, "exits": {"sell_after": 0.1, "tick_interval": 0.05}}
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config, funding_usdc=100 * USDC) as h:
            release = hold_buy_confirmation(h)
            await h.launch_usdc()

            async def sell_sent() -> bool:
                ps = await h.positions()
                return bool(ps) and ps[0].sell_order is not None

            await h.wait_until(sell_sent)
            release.set()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            sell = position.sell_order
            assert sell is not None
            assert sell.sent_before_buy_confirmed
            assert sell.state is OrderState.CONFIRMED
            assert position.status == "closed"
            assert_usdc_books(h, position)


async def test_usdc_coin_without_a_usdc_budget_is_skipped_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {**USDC_CONFIG, "trade": {"instructions": "v2"}}  # quote_mints: SOL only
    with trio.fail_after(20):
        async with running_bot(tmp_path, config=config, funding_usdc=100 * USDC) as h:
            mint = await h.launch_usdc()
            with trio.fail_after(10):
                while h.bot.trader.stats.skipped_quote == 0:
                    await trio.sleep(0.02)
            assert await h.positions() == []
            assert h.wallet_usdc_change() == 0
    assert f"({str(mint)[:8]}): quoted in USDC, which trade.quote_mints does not list" in (
        caplog.text
    )


async def test_usdc_buy_the_wallet_cannot_pay_in_usdc_is_not_sent(tmp_path: Path) -> None:
    """1 USDC in the wallet, 5 a BUY: the funds check refuses before anything is signed."""
    with trio.fail_after(20):
        async with running_bot(tmp_path, config=USDC_CONFIG, funding_usdc=1 * USDC) as h:
            await h.launch_usdc()
            with trio.fail_after(10):
                while h.bot.trader.stats.skipped_funds == 0:
                    await trio.sleep(0.02)
            assert h.bot.trader.stats.buys_sent == 0
            assert h.wallet_usdc_change() == 0
            assert h.wallet_sol_change() == 0


async def test_positions_shows_a_held_usdc_coin_in_usdc_and_sell_closes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``positions --config`` marks a USDC coin in USDC (never as SOL), and the operator's
    ``sell`` sells it like any other, the books exact in both units."""
    from tests.test_control import command, one_active, serve

    config = {**USDC_CONFIG, "exits": {"never_sell": True}}
    db = tmp_path / "bot.db"
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config, db=db, funding_usdc=100 * USDC) as h:
            await serve(h)
            mint = await h.launch_usdc()
            await h.wait_until(lambda: one_active(h))
            (position,) = await h.positions()
            toml = tmp_path / "bot.toml"
            toml.write_text(f'[rpc]\nendpoints = ["{h.sim.rpc_url}"]\n[db]\npath = "{db}"\n')
            capsys.readouterr()
            assert await command("positions", "--config", str(toml), "--json") == 0
            (row,) = json.loads(capsys.readouterr().out)
            curve = h.sim.ledger.bonding_curve(mint)
            assert curve is not None
            assert position.token_amount
            assert position.entry_cost
            value = sell_proceeds(position.token_amount, Reserves.of(curve))
            assert row["quote"] == "USDC"
            assert row["unrealized_pnl_quote_units"] == value - position.entry_cost < 0
            assert row["unrealized_pnl_lamports"] is None  # never a USDC amount as SOL
            assert row["current_price_quote"].endswith(" USDC")
            assert await command("positions", "--config", str(toml)) == 0
            assert " USDC" in capsys.readouterr().out  # the table's price and PnL
            assert await command("sell", "--position", "1", "--db", str(db)) == 0
            await h.wait_until(lambda: h.settled(1))
            (closed,) = await h.assert_books_balance()
            assert (closed.status, closed.exit_reason) == ("closed", "manual")
            assert_usdc_books(h, closed)
