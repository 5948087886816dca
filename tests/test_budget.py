"""``budget.one_buy_cost``: the most one BUY (and the SELL after it) takes from the wallet."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.scenario.harness import SOL, running_bot
from trio_trader.budget import (
    CURVE_GROWTH_RENT,
    SIGNATURE_FEE,
    TOKEN_ACCOUNT_SIZE,
    USER_VOLUME_ACCUMULATOR_SIZE,
    BuyRents,
    one_buy_cost,
    transaction_fee,
)
from trio_trader.chain.rpc import RpcClient
from trio_trader.sim import open_sim

RENTS = BuyRents(token_account=2_039_280, volume_accumulator=1_628_640, creator_vault=890_880)


def test_one_buy_cost_is_the_max_sol_cost_plus_rents_and_two_fees() -> None:
    cost = one_buy_cost(
        buy_lamports=100_000_000,
        slippage_bps=1_500,
        rents=RENTS,
        compute_unit_limit=120_000,
        priority_fee_micro_lamports=1_000_001,  # 120,000.12 lamports: rounded up
    )
    fee = SIGNATURE_FEE + 120_001
    assert transaction_fee(compute_unit_limit=120_000, priority_fee_micro_lamports=1_000_001) == fee
    rents = 2_039_280 + 1_628_640 + 890_880 + CURVE_GROWTH_RENT
    assert RENTS.total == rents
    assert cost == 115_000_000 + rents + 2 * fee
    with pytest.raises(ValueError, match=">= 0"):
        transaction_fee(compute_unit_limit=-1, priority_fee_micro_lamports=0)


async def test_rents_come_from_the_node() -> None:
    with trio.fail_after(20):
        async with open_sim(None, slot_time=0.05) as sim, RpcClient((sim.rpc_url,)) as rpc:
            rents = await BuyRents.load(rpc)
            ledger = sim.node.ledger
            assert rents == BuyRents(
                token_account=ledger.rent_exempt_minimum(TOKEN_ACCOUNT_SIZE),
                volume_accumulator=ledger.rent_exempt_minimum(USER_VOLUME_ACCUMULATOR_SIZE),
                creator_vault=ledger.rent_exempt_minimum(0),
            )
            assert rents.token_account == 1_488_440  # mainnet's 2026 figure for 165 bytes


async def test_a_wallet_holding_one_buy_cost_buys_and_sells(tmp_path: Path) -> None:
    """The bound is enough: the first BUY (all accounts new) and its SELL both land."""
    from trio_trader.sim.ledger import Ledger

    ledger = Ledger()
    rents = BuyRents(
        token_account=ledger.rent_exempt_minimum(TOKEN_ACCOUNT_SIZE),
        volume_accumulator=ledger.rent_exempt_minimum(USER_VOLUME_ACCUMULATOR_SIZE),
        creator_vault=ledger.rent_exempt_minimum(0),
    )
    # the harness's settings: 0.1 SOL, 1500 bps, 120k CU at 1,000 µ-lamports
    funding = one_buy_cost(
        buy_lamports=SOL // 10, slippage_bps=1_500, rents=rents,
        compute_unit_limit=120_000, priority_fee_micro_lamports=1_000,
    )  # fmt: skip
    with trio.fail_after(30):
        async with running_bot(
            tmp_path, funding=funding, config={"exits": {"sell_after": 0.3}}
        ) as h:
            await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            assert position.status == "closed"
            assert position.buy_order is not None
            assert position.sell_order is not None
            assert position.sell_order.state.value == "confirmed"
            assert h.token_balance(position.mint) == 0
