"""The first SELL of a confirmed position built from the newest trade seen (its reserves and
creator), with no RPC read; a SELL without those facts, or a retry, reads the curve. Real
account bytes behind a fake node (``venue_fakes``); the signed SELL is decoded."""

from __future__ import annotations

from typing import Any

import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from tests.trading.venue_fakes import (
    GLOBAL,
    TOKENS,
    Chain,
    access,
    curve_of,
    failed_sell,
    holding,
    program_instructions,
    token,
)
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump import addresses as A
from trio_trader.pump.curve import Reserves
from trio_trader.trading.orders import VENUE_AMM, VENUE_CURVE, SellOrder
from trio_trader.trading.platform_aware import MarketParams, PlatformAwareSeller
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

SLIPPAGE = 1_500
CREATOR_VAULT = 8  # the creator_vault's index in ``sell``'s accounts


async def sell(
    chain: Chain, info: TokenInfo, position: Position, *, load: bool = False, **kw: Any
) -> SellOrder:
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        market = await MarketParams.load(rpc) if load else MarketParams(global_=GLOBAL)
        seller = PlatformAwareSeller(chain=access(rpc, market=market), slippage_bps=SLIPPAGE)
        return await seller.prepare_and_send_order(info, position, **kw)


def curve_sell(chain: Chain) -> Instruction:
    (tx,) = chain.sent
    ix = program_instructions(tx)[2]
    assert ix.program_id == A.PUMP_PROGRAM_ID
    return ix


def curve_reads(chain: Chain) -> list[object]:
    return [p for _t, m, p in chain.node.calls if m == "getAccountInfo"]


async def test_seen_facts_give_the_sell_a_curve_read_gives_without_the_read() -> None:
    info = token()
    creator = Pubkey.new_unique()  # an admin_cto before the trade seen: not the create's
    curve = curve_of(info, creator=creator)
    read_chain, seen_chain = Chain(), Chain()
    read_chain.put_curve(info, curve)
    read = await sell(read_chain, info, holding(info))
    seen = await sell(seen_chain, info, holding(info), reserves=Reserves.of(curve),
                      creator=creator)  # fmt: skip
    assert read_chain.reads() == ["getAccountInfo"]
    assert seen_chain.reads() == []  # no RPC before the send
    assert (seen.venue, seen.sol_output, seen.min_sol_output) == (
        VENUE_CURVE, read.sol_output, read.min_sol_output,
    )  # fmt: skip
    assert seen.token_amount == TOKENS
    read_ix, seen_ix = curve_sell(read_chain), curve_sell(seen_chain)
    assert bytes(seen_ix.data) == bytes(read_ix.data)  # amount and min_sol_output
    assert seen_ix.accounts[CREATOR_VAULT].pubkey == A.creator_vault_pda(creator)
    assert read_ix.accounts[CREATOR_VAULT].pubkey == A.creator_vault_pda(creator)


async def test_a_holder_reward_coin_pays_the_holder_rewards_vault_unread() -> None:
    info = token(is_holder_reward=True)
    chain = Chain()
    reserves = Reserves.of(curve_of(info))
    await sell(chain, info, holding(info), reserves=reserves, creator=Pubkey.new_unique())
    assert chain.reads() == []
    vault = A.creator_vault_pda(A.holder_rewards_pda(info.mint))
    assert curve_sell(chain).accounts[CREATOR_VAULT].pubkey == vault


async def test_a_complete_curve_seen_goes_to_the_pool_without_a_curve_read() -> None:
    info = token()
    chain = Chain()
    chain.put_pool(info)  # no curve account at all: a read would find nothing
    complete = Reserves.of(curve_of(info, complete=True))
    assert complete.real_token == 0
    order = await sell(chain, info, holding(info), load=True, reserves=complete,
                       creator=info.creator)  # fmt: skip
    assert order.venue == VENUE_AMM
    assert curve_reads(chain) == []


@pytest.mark.parametrize("creator", [None, "seen"], ids=["2024 event: no creator", "a retry"])
async def test_without_the_creator_or_on_a_retry_the_sell_reads_the_curve(
    creator: str | None,
) -> None:
    info = token()
    new_creator = Pubkey.new_unique()
    chain = Chain()
    chain.put_curve(info, curve_of(info, creator=new_creator))  # admin_cto after the trade
    position = holding(info)
    if creator is not None:
        failed_sell(position, 2006)  # the first SELL named the stale creator
    stale = Reserves.of(curve_of(info, complete=True))  # the read must win over it
    order = await sell(chain, info, position, reserves=stale,
                       creator=None if creator is None else info.creator)  # fmt: skip
    assert chain.reads() == ["getAccountInfo"]
    assert order.venue == VENUE_CURVE
    assert curve_sell(chain).accounts[CREATOR_VAULT].pubkey == A.creator_vault_pda(new_creator)
