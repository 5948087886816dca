"""DryRunChain's send/confirm seam against a fake JSON-RPC node: what it asks, what it books."""

from __future__ import annotations

from typing import Any

import pytest
from solders.keypair import Keypair

from tests.chain.fakes import FakeNode, context
from tests.trading.test_platform_aware import Blockhash, Fee, token
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.rpc import RpcClient
from trio_trader.trading.booking import transaction_fee
from trio_trader.trading.dry_run import SIMULATION_UNAVAILABLE, DryRunChain
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder
from trio_trader.trading.platform_aware import MarketParams


def dry_chain(rpc: RpcClient) -> DryRunChain:
    return DryRunChain(
        rpc=rpc, payer=Keypair(), blockhash=Blockhash(), priority_fee=Fee(),
        confirmer=Confirmer(rpc, None), market=MarketParams(),
    )  # fmt: skip


def buy(access: DryRunChain) -> BuyOrder:
    order = BuyOrder(
        token_info=token(), token_amount=1_000, max_sol_cost=2_000_000, sol_cost=1_500_000,
        compute_unit_limit=100_000, priority_fee=1_000,
    )  # fmt: skip
    access.sign(order, [])
    return order


async def dry_buy(reply: Any) -> tuple[BuyOrder, FakeNode]:
    node = FakeNode({"simulateTransaction": lambda _params: reply})
    async with RpcClient(("http://a.test",), transport=node.transport()) as rpc:
        access = dry_chain(rpc)
        order = buy(access)
        await access.send(order)
        await access.process(order)
    return order, node


async def test_a_buy_is_simulated_with_its_signature_checked_and_never_sent() -> None:
    order, node = await dry_buy(context({"err": None, "logs": [], "unitsConsumed": 1}))
    assert node.methods() == ["simulateTransaction"]
    ((_, _, params),) = node.calls
    assert params[1]["sigVerify"] is True
    assert "replaceRecentBlockhash" not in params[1]
    assert order.state is OrderState.CONFIRMED
    # no TradeEvent in the logs: booked at its quote, plus the fee its budget pays
    fee = transaction_fee(order)
    assert fee > 0
    assert (order.pump_sol, order.fee_lamports) == (1_500_000, fee)
    assert (order.sol_change, order.token_change) == (-(1_500_000 + fee), 1_000)


async def test_a_simulation_error_is_a_failed_buy_with_the_program_error_and_no_fee() -> None:
    err = {"InstructionError": [2, {"Custom": 6002}]}
    order, _ = await dry_buy(context({"err": err, "logs": ["Program log: x"]}))
    assert order.state is OrderState.FAILED
    assert order.error == err
    assert order.error_code == 6002
    assert (order.fee_lamports, order.sol_change, order.token_change) == (None, None, None)


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("reply", [{"no": "value"}, context("text"), context({"err": deep(50)})])
async def test_a_malformed_simulation_reply_fails_the_buy_at_no_cost(reply: Any) -> None:
    order, _ = await dry_buy(reply)
    assert order.state is OrderState.FAILED
    assert order.error_name == SIMULATION_UNAVAILABLE
    assert (order.fee_lamports, order.sol_change) == (None, None)


async def test_a_sell_is_a_paper_fill_at_its_quote_without_any_rpc_call() -> None:
    node = FakeNode({})
    async with RpcClient(("http://a.test",), transport=node.transport()) as rpc:
        access = dry_chain(rpc)
        order = SellOrder(
            token_info=token(), token_amount=1_000, min_sol_output=900_000, sol_output=1_000_000,
            compute_unit_limit=100_000, priority_fee=1_000,
        )  # fmt: skip
        access.sign(order, [])
        await access.send(order)
        await access.process(order)
    assert node.calls == []
    fee = transaction_fee(order)
    assert order.state is OrderState.CONFIRMED
    assert (order.pump_sol, order.sol_change, order.token_change) == (
        1_000_000, 1_000_000 - fee, -1_000,
    )  # fmt: skip
