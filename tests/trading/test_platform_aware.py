"""ChainAccess edge cases against a fake JSON-RPC node: malformed replies and odd refusals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.chain.fakes import FakeNode, RpcFault, context
from tests.trading.venue_fakes import Blockhash, Fee
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, TOKEN_2022_PROGRAM_ID
from trio_trader.trading.orders import BuyOrder, OrderState
from trio_trader.trading.platform_aware import ChainAccess, MarketParams, TradeError
from trio_trader.trading.token_info import TokenInfo


def token() -> TokenInfo:
    return TokenInfo(
        mint=Pubkey.new_unique(), name="T", symbol="T", uri="u",
        bonding_curve=Pubkey.new_unique(), associated_bonding_curve=Pubkey.new_unique(),
        creator=Pubkey.new_unique(), user=Pubkey.new_unique(), token_program=TOKEN_2022_PROGRAM_ID,
        virtual_sol_reserves=30 * 10**9, virtual_token_reserves=1_073_000_000 * 10**6,
    )  # fmt: skip


def chain(rpc: RpcClient) -> ChainAccess:
    return ChainAccess(
        rpc=rpc, payer=Keypair(), blockhash=Blockhash(), priority_fee=Fee(),
        confirmer=Confirmer(rpc, None), market=MarketParams(),
    )  # fmt: skip


def account(data: bytes) -> dict[str, Any]:
    return context(
        {"data": [base64.b64encode(data).decode(), "base64"], "executable": False,
         "lamports": 1_000_000, "owner": str(PUMP_PROGRAM_ID), "rentEpoch": 0,
         "space": len(data)}
    )  # fmt: skip


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, b"garbage!" + b"\x01" * 20])
async def test_malformed_curve_account_is_a_trade_error_not_a_crash(data: bytes) -> None:
    node = FakeNode({"getAccountInfo": lambda _params: account(data)})
    async with RpcClient(("http://a.test",), transport=node.transport()) as rpc:
        with pytest.raises(TradeError, match="unreadable bonding curve"):
            await chain(rpc).read_curve(token())


def signed_buy(access: ChainAccess) -> BuyOrder:
    order = BuyOrder(token_info=token(), token_amount=10, max_sol_cost=2, sol_cost=1)
    access.sign(order, [])
    return order


async def send_refused(err: str, message: str) -> BuyOrder:
    """Sign a BUY and send it to a node whose preflight refuses it with ``err``."""

    def refuse(_params: list[Any]) -> Any:
        raise RpcFault(
            -32002, f"Transaction simulation failed: {message}", {"err": err, "logs": []}
        )

    node = FakeNode({"sendTransaction": refuse})
    async with RpcClient(("http://a.test",), transport=node.transport()) as rpc:
        access = chain(rpc)
        order = signed_buy(access)
        await access.send(order)
    return order


async def test_bytes_the_node_already_processed_are_sent_not_failed() -> None:
    """A lost reply to an earlier send: the node says 'already processed'. The order is
    SENT, so its confirmation reads how it really ended, instead of a false FAILED."""

    order = await send_refused("AlreadyProcessed", "This transaction has already been processed")
    assert order.state is OrderState.SENT


async def test_definite_refusal_fails_the_order_at_once() -> None:
    order = await send_refused("BlockhashNotFound", "Blockhash not found")
    assert order.state is OrderState.FAILED
    assert order.error_name == "SendRejected"
    assert order.sol_change is None  # it never landed: it cost nothing


async def test_malformed_send_reply_is_confirmed_rather_than_trusted() -> None:
    node = FakeNode({"sendTransaction": lambda _params: {"not": "a signature"}})
    async with RpcClient(("http://a.test",), transport=node.transport()) as rpc:
        access = chain(rpc)
        order = signed_buy(access)
        with trio.fail_after(5):
            await access.send(order)
    assert order.state is OrderState.SENT  # unknown whether it went out: confirm it
