"""The bot's BUY grows a pre-2026-10-08 curve: it pays the rent, and its books still balance.

A coin created before the deploy has a 151-byte curve; the first trade after it grows the
curve to 166 bytes and the trader pays the rent of the 15 bytes (76,200 lamports on
mainnet, 104,400 at the simulator's default rent). That rent is part of the BUY's wallet
SOL change, not of the price of the tokens, so the exit rules never see it and the books
balance to the lamport.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from tests.scenario.harness import running_bot
from trio_trader.pump import addresses as A
from trio_trader.pump.accounts import BondingCurve
from trio_trader.trading.token_info import TokenInfo

_VOLUME_ACCUMULATOR_SIZE = 106  # the emulated program's UserVolumeAccumulator


async def test_bot_buy_on_a_151_byte_curve_pays_the_growth_and_books_balance(
    tmp_path: Path,
) -> None:
    config: dict[str, Any] = {
        "trade": {"buy_amount_sol": "0.01"},
        "exits": {"take_profit_pct": 300.0, "stop_loss_pct": 90.0, "max_hold_time": 1.5},
    }
    with trio.fail_after(40):
        async with running_bot(tmp_path, config=config) as h:
            ledger = h.sim.node.ledger
            aged: list[int] = []

            async def age(token_info: TokenInfo) -> None:  # before the bot quotes
                if not aged:
                    ledger.age_bonding_curve(token_info.mint)
                    key = A.bonding_curve_pda(token_info.mint)
                    account = ledger.get_account(key)
                    assert account is not None
                    aged.append(len(bytes(account.data)))

            h.buyer.pause = age
            mint = await h.launch()
            ata = A.associated_token_address(h.wallet.pubkey(), mint, A.TOKEN_2022_PROGRAM_ID)

            async def bought() -> bool:
                return ledger.get_account(ata) is not None

            await h.wait_until(bought)
            ata_account = ledger.get_account(ata)
            assert ata_account is not None
            ata_size = len(bytes(ata_account.data))
            curve = ledger.get_account(A.bonding_curve_pda(mint))
            assert curve is not None
            assert len(bytes(curve.data)) == BondingCurve.SIZE  # the BUY grew it
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
    assert aged == [BondingCurve.PREVIOUS_SIZE]
    buy = position.buy_order
    assert buy is not None
    assert buy.sol_change is not None
    assert buy.pump_sol is not None
    assert buy.fee_lamports is not None
    growth = ledger.rent_exempt_minimum(166) - ledger.rent_exempt_minimum(151)
    assert growth == 76_200  # 15 × 5,080, as on mainnet (sim.rent)
    rent = -buy.sol_change - buy.pump_sol - buy.fee_lamports
    expected = (
        ledger.rent_exempt_minimum(ata_size)
        + ledger.rent_exempt_minimum(_VOLUME_ACCUMULATOR_SIZE)
        + growth
    )
    assert rent == expected
    assert position.entry_cost == buy.pump_sol  # the price excludes the growth
    assert position.exit_reason == "max_hold_time"
