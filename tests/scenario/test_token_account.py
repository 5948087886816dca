"""The SELL closes the token account (rent back) unless it holds more than was sold."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.scenario.harness import running_bot
from trio_trader.pump.addresses import TOKEN_2022_PROGRAM_ID, associated_token_address


async def test_buy_confirms_then_time_exit_sells_everything(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 1.0}}) as h:
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            positions = await h.assert_books_balance()
            assert positions[0].mint == mint
            assert positions[0].status == "closed"
            # the SELL closed the token account: its rent is back in the wallet (and the PnL)
            ata = associated_token_address(h.wallet.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
            assert h.sim.ledger.get_account(ata) is None


async def test_dust_in_the_token_account_sells_without_closing(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.5}}) as h:
            mint = await h.launch()

            async def dust_first(attempt: int) -> None:
                if attempt == 1:
                    await h.creator_send_dust(mint, h.wallet.pubkey(), 7)
                    await trio.sleep(0.2)  # landed before our SELL

            h.seller.before = dust_first
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.positions()
            trades = await h.trades(position.id, "sell")
            assert [t.state for t in trades] == ["failed", "confirmed"]
            assert trades[0].error is not None
            assert trades[0].error["InstructionError"][0] == 3  # the close, not the sell
            assert position.status == "closed"
            assert h.token_balance(mint) == 7  # only the dust is left, ours is sold
            assert h.wallet_sol_change() == position.realized_pnl_lamports
