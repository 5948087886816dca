"""The seller's SELL signed from the template prepared while the position waited: the same
bytes as the full compile, and a full compile whenever an account changed meanwhile."""

from __future__ import annotations

import base64
import logging

import pytest
from solders.pubkey import Pubkey

from tests.trading.venue_fakes import GLOBAL, Chain, access, curve_of, failed_sell, holding, token
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.pump import instructions as I
from trio_trader.pump.curve import Reserves
from trio_trader.trading.orders import VENUE_AMM, VENUE_CURVE_V2, SellOrder
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareSeller,
    _with_budget,
)
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

SLIPPAGE = 1_500
RESERVES = Reserves(31 * 10**9, 1_000_000_000 * 10**6, 10**9, 700_000_000 * 10**6)


@pytest.fixture
def chain() -> Chain:
    return Chain()


async def _market(rpc: RpcClient) -> MarketParams:
    return await MarketParams.load(rpc)


def full_compile(
    seller: PlatformAwareSeller, order: SellOrder, creator: Pubkey, *, close: bool = True
) -> bytes:
    """What ``build_transaction`` signs for ``order`` (the path before templates), as the
    order keeps it (base64)."""
    ca = seller.chain
    v2 = order.venue == VENUE_CURVE_V2
    shape = seller._curve_shape(order.token_info, order.attempt, creator, v2, close)
    program = shape.program_instructions(order.token_amount, order.min_sol_output)
    ixs = _with_budget(order.compute_unit_limit, order.priority_fee, program)
    blockhash, last_valid = ca.blockhash.latest
    signed = build_transaction(ixs, ca.payer, blockhash, last_valid_block_height=last_valid)
    assert str(signed.signature) == order.signature
    return base64.b64encode(signed.raw).decode()


def _seller(ca: ChainAccess) -> PlatformAwareSeller:
    return PlatformAwareSeller(chain=ca, slippage_bps=SLIPPAGE)


@pytest.mark.parametrize("instructions", ["legacy", "v2"])
async def test_the_first_sell_is_signed_from_the_prepared_template(
    chain: Chain, instructions: str
) -> None:
    info = token()
    position = holding(info, confirmed=False)  # the pre-confirmation SELL: no read
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL), instructions=instructions)
        seller = _seller(ca)
        creator = Pubkey.new_unique()
        ca.creators[info.mint] = creator
        ca.expected_reserves[info.mint] = RESERVES
        seller.prepare_first_sell(position)
        seller.prepare_first_sell(position)  # once per coin
        assert len(ca.sell_templates) == 1
        order = await seller.prepare_and_send_order(info, position)
    assert (ca.sell_templates.hits, ca.sell_templates.misses) == (1, 0)
    assert order.raw_transaction == full_compile(seller, order, creator)
    assert (
        base64.b64encode(bytes(chain.sent[0])).decode() == order.raw_transaction
    )  # what the node received


async def _prepared_then_sold(
    chain: Chain, info: TokenInfo, position: Position, *, prepared_as: str = "legacy"
) -> tuple[PlatformAwareSeller, SellOrder]:
    """Prepare while ``instructions`` is ``prepared_as``, then sell with ``legacy``."""
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=await _market(rpc), instructions=prepared_as)
        seller = _seller(ca)
        seller.prepare_first_sell(position)
        ca.instructions = "legacy"
        order = await seller.prepare_and_send_order(info, position)
    return seller, order


async def test_a_creator_changed_under_the_position_is_compiled_in_full(chain: Chain) -> None:
    info = token()
    new_creator = Pubkey.new_unique()  # admin_cto: the curve names another creator
    chain.put_curve(info, curve_of(info, creator=new_creator))
    position = holding(info)
    seller, order = await _prepared_then_sold(chain, info, position)
    templates = seller.chain.sell_templates
    assert (templates.hits, templates.misses) == (0, 1)
    assert order.raw_transaction == full_compile(seller, order, new_creator)


async def test_an_unchanged_creator_read_from_the_curve_uses_the_template(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    seller, order = await _prepared_then_sold(chain, info, position)
    templates = seller.chain.sell_templates
    assert (templates.hits, templates.misses) == (1, 0)
    assert order.raw_transaction == full_compile(seller, order, info.creator)


async def test_the_venue_changed_from_v2_is_compiled_in_full(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    seller, order = await _prepared_then_sold(chain, info, position, prepared_as="v2")
    templates = seller.chain.sell_templates
    assert order.venue != VENUE_CURVE_V2
    assert (templates.hits, templates.misses) == (0, 1)
    assert order.raw_transaction == full_compile(seller, order, info.creator)


async def _prepared_failed_then_sold(
    chain: Chain, code: int, error: object = None
) -> tuple[PlatformAwareSeller, SellOrder, TokenInfo]:
    """Prepare the first SELL, record it failed with ``code``, then sell again."""
    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        seller = _seller(access(rpc, market=await _market(rpc)))
        seller.prepare_first_sell(position)  # attempt 1's accounts
        failed_sell(position, code, error=error)
        seller.prepare_first_sell(position)  # a SELL exists: nothing more prepared
        order = await seller.prepare_and_send_order(info, position)
    return seller, order, info


async def test_a_retry_rotates_the_fee_recipient_and_is_compiled_in_full(chain: Chain) -> None:
    seller, order, info = await _prepared_failed_then_sold(chain, 6024)  # slippage
    templates = seller.chain.sell_templates
    assert order.attempt == 2  # other recipients
    assert (len(templates), templates.hits, templates.misses) == (2, 0, 1)
    assert order.raw_transaction == full_compile(seller, order, info.creator)


async def test_close_dropped_after_a_failed_close_is_compiled_in_full(chain: Chain) -> None:
    error = {"InstructionError": [3, {"Custom": 11}]}  # the close failed: dust in the account
    seller, order, info = await _prepared_failed_then_sold(chain, 11, error)
    templates = seller.chain.sell_templates
    assert order.close_ix_index is None
    assert (templates.hits, templates.misses) == (0, 1)
    assert order.raw_transaction == full_compile(seller, order, info.creator, close=False)


async def test_a_graduated_coin_sells_on_the_pool_in_full(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info, complete=True))
    chain.put_pool(info)
    position = holding(info)
    seller, order = await _prepared_then_sold(chain, info, position)
    templates = seller.chain.sell_templates
    assert order.venue == VENUE_AMM
    assert (templates.hits, templates.misses) == (0, 0)  # pool SELLs are compiled in full
    assert len(chain.sent) == 1
    assert base64.b64encode(bytes(chain.sent[0])).decode() == order.raw_transaction


async def test_prepared_coins_are_bounded_with_the_templates(chain: Chain) -> None:
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL))
        ca.sell_templates.max_templates = 3
        seller = _seller(ca)
        positions = [holding(token()) for _ in range(5)]
        for position in positions:
            seller.prepare_first_sell(position)
    assert len(ca.sell_templates) == 3
    assert list(seller._prepared) == [p.mint for p in positions[2:]]


async def test_a_failed_preparation_is_logged_and_the_sell_still_compiles(
    chain: Chain, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=await _market(rpc))
        seller = _seller(ca)

        def broken(_self: object, _shape: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(ChainAccess, "prepare_sell_template", broken)
        with caplog.at_level(logging.WARNING):
            seller.prepare_first_sell(position)
        assert "SELL template not prepared: boom" in caplog.text
        order = await seller.prepare_and_send_order(info, position)
    assert (ca.sell_templates.hits, ca.sell_templates.misses) == (0, 1)
    assert order.raw_transaction == full_compile(seller, order, info.creator)
    assert I.SELL_DISCRIMINATOR in base64.b64decode(order.raw_transaction or "")
