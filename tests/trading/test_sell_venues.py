"""Where the seller sends a SELL, and with which accounts: the curve (legacy or v2) or,
once the coin graduated, its PumpSwap pool. Real account bytes behind a fake node; the
signed transaction is decoded and compared with the pump / AMM builders."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from tests.trading.venue_fakes import (
    AMM_FEES,
    AMM_GLOBAL,
    GLOBAL,
    POOL_BASE,
    POOL_QUOTE,
    TOKENS,
    Chain,
    access,
    curve_of,
    failed_sell,
    holding,
    pool_of,
    program_instructions,
    same,
    token,
)
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as I
from trio_trader.pump.accounts import FeeConfig, Fees, FeeTier
from trio_trader.pump.amm import PoolReserves, amm_fee_rates, amm_sell, quote_amm_sell
from trio_trader.pump.curve import (
    FeeRates,
    Reserves,
    market_cap_lamports,
    min_sol_output,
    quote_sell,
)
from trio_trader.trading.compute import ComputeUnits, TxKind
from trio_trader.trading.orders import VENUE_AMM, VENUE_CURVE, VENUE_CURVE_V2
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareSeller,
    TradeError,
    salt_of,
)
from trio_trader.trading.pumpswap import PoolNotReady
from trio_trader.trading.token_info import TokenInfo

SLIPPAGE = 1_500


@pytest.fixture
def chain() -> Chain:
    return Chain()


async def _market(rpc: RpcClient) -> MarketParams:
    return await MarketParams.load(rpc)


async def sell_once(
    chain: Chain, info: TokenInfo, position: object, *, instructions: str = "legacy", **kw: object
) -> tuple[ChainAccess, object]:
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=await _market(rpc), instructions=instructions)
        seller = PlatformAwareSeller(chain=ca, slippage_bps=SLIPPAGE)
        order = await seller.prepare_and_send_order(info, position, **kw)  # type: ignore[arg-type]
    return ca, order


def _amm_expected(info: TokenInfo, order_attempt: int, wallet: Pubkey, min_out: int) -> object:
    address, pool = pool_of(info)
    salt = salt_of(info.mint, order_attempt)
    recipients = AMM_GLOBAL.fee_recipients_for(False)
    buyback = AMM_GLOBAL.buyback_fee_recipients or ()
    return amm_sell(
        pool_address=address, pool=pool, user=wallet, base_token_program=info.token_program,
        quote_token_program=A.TOKEN_PROGRAM_ID,
        protocol_fee_recipient=recipients[salt % len(recipients)],
        buyback_fee_recipient=buyback[salt % len(buyback)],
        base_amount_in=TOKENS, min_quote_amount_out=min_out,
    )  # fmt: skip


def _amm_net() -> int:
    _address, pool = pool_of(token())
    reserves = PoolReserves(POOL_BASE, POOL_QUOTE)
    fees = amm_fee_rates(pool, AMM_GLOBAL, AMM_FEES, reserves=reserves,
                         base_mint_supply=10**15)  # fmt: skip
    return quote_amm_sell(TOKENS, reserves, fees).net


@pytest.mark.parametrize("token_program", [A.TOKEN_PROGRAM_ID, A.TOKEN_2022_PROGRAM_ID])
async def test_a_complete_curve_is_sold_on_the_pool_with_wsol_wrapped_and_unwrapped(
    chain: Chain, token_program: Pubkey
) -> None:
    info = token(token_program=token_program)
    chain.put_curve(info, curve_of(info, complete=True))
    chain.put_pool(info)
    position = holding(info)
    ca, order = await sell_once(chain, info, position)
    wallet = ca.wallet
    net = _amm_net()
    min_out = min_sol_output(net, SLIPPAGE)
    assert order.venue == VENUE_AMM  # type: ignore[attr-defined]
    assert order.sol_output == net  # type: ignore[attr-defined]
    assert order.min_sol_output == min_out  # type: ignore[attr-defined]
    assert order.compute_unit_limit == ComputeUnits().limit(TxKind.AMM_SELL)  # type: ignore[attr-defined]
    (tx,) = chain.sent
    ixs = program_instructions(tx)
    assert [ix.program_id for ix in ixs] == [
        A.COMPUTE_BUDGET_PROGRAM_ID, A.COMPUTE_BUDGET_PROGRAM_ID,
        A.ASSOCIATED_TOKEN_PROGRAM_ID, A.PUMP_AMM_PROGRAM_ID, token_program, A.TOKEN_PROGRAM_ID,
    ]  # fmt: skip
    wsol_ata = A.associated_token_address(wallet, A.WSOL_MINT, A.TOKEN_PROGRAM_ID)
    create_wsol = I.create_associated_token_account_idempotent(
        payer=wallet, owner=wallet, mint=A.WSOL_MINT, token_program=A.TOKEN_PROGRAM_ID
    )
    assert same(ixs[2], create_wsol)
    assert same(ixs[3], _amm_expected(info, 1, wallet, min_out))  # type: ignore[arg-type]
    base_ata = A.associated_token_address(wallet, info.mint, token_program)
    assert same(ixs[4], I.close_account(account=base_ata, destination=wallet, owner=wallet,
                                        token_program=token_program))  # fmt: skip
    assert same(ixs[5], I.close_account(account=wsol_ata, destination=wallet, owner=wallet,
                                        token_program=A.TOKEN_PROGRAM_ID))  # fmt: skip
    assert order.close_ix_index == 4  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [6005, 6081])
async def test_after_the_curve_refused_a_sell_the_next_goes_to_the_pool_unread(
    chain: Chain, code: int
) -> None:
    info = token()
    chain.put_curve(info, curve_of(info, complete=False))  # a stale node: still open
    chain.put_pool(info)
    position = holding(info)
    failed_sell(position, code)
    _ca, order = await sell_once(chain, info, position)
    assert order.venue == VENUE_AMM  # type: ignore[attr-defined]
    assert order.attempt == 2  # type: ignore[attr-defined]
    curve_reads = [p for _t, m, p in chain.node.calls if m == "getAccountInfo"]
    assert curve_reads == []  # routed by the error, not by a read


async def test_a_pool_not_migrated_yet_is_not_ready(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info, complete=True))
    position = holding(info)
    with pytest.raises(PoolNotReady, match="not migrated"):
        await sell_once(chain, info, position)
    assert chain.sent == []


async def test_usdc_pool_is_neither_wrapped_nor_unwrapped(chain: Chain) -> None:
    info = token(quote_mint=A.USDC_MINT)
    chain.put_curve(info, curve_of(info, complete=True))
    chain.put_pool(info, quote_mint=A.USDC_MINT)
    position = holding(info)
    ca, order = await sell_once(chain, info, position, instructions="v2")
    ixs = program_instructions(chain.sent[0])
    assert same(ixs[2], I.create_associated_token_account_idempotent(
        payer=ca.wallet, owner=ca.wallet, mint=A.USDC_MINT,
        token_program=A.TOKEN_PROGRAM_ID))  # fmt: skip
    assert [ix.program_id for ix in ixs[3:]] == [A.PUMP_AMM_PROGRAM_ID, info.token_program]
    assert order.venue == VENUE_AMM  # type: ignore[attr-defined]


async def test_an_unclosable_token_account_is_left_open_on_the_next_pool_sell(
    chain: Chain,
) -> None:
    info = token()
    chain.put_curve(info, curve_of(info, complete=True))
    chain.put_pool(info)
    position = holding(info)
    failed_sell(position, 11, venue=VENUE_AMM, close_ix_index=4,
                error={"InstructionError": [4, {"Custom": 11}]})  # fmt: skip
    _ca, order = await sell_once(chain, info, position)
    assert order.close_ix_index is None  # type: ignore[attr-defined]
    programs = [ix.program_id for ix in program_instructions(chain.sent[0])]
    assert programs[2:] == [A.ASSOCIATED_TOKEN_PROGRAM_ID, A.PUMP_AMM_PROGRAM_ID,
                            A.TOKEN_PROGRAM_ID]  # only the WSOL unwrap  # fmt: skip


def _curve_sell(chain: Chain) -> object:
    (tx,) = chain.sent
    ixs = program_instructions(tx)
    assert ixs[2].program_id == A.PUMP_PROGRAM_ID
    return ixs[2]


async def test_first_pre_confirmation_sell_reads_nothing_and_names_the_buys_creator(
    chain: Chain,
) -> None:
    info = token()
    position = holding(info, confirmed=False)
    reserves = Reserves(31 * 10**9, 1_000_000_000 * 10**6, 10**9, 700_000_000 * 10**6)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL))
        seller = PlatformAwareSeller(chain=ca, slippage_bps=SLIPPAGE)
        creator = Pubkey.new_unique()
        ca.creators[info.mint] = creator
        ca.expected_reserves[info.mint] = reserves
        order = await seller.prepare_and_send_order(info, position)
    assert chain.reads() == []
    assert order.venue == VENUE_CURVE
    sell = _curve_sell(chain)
    assert sell.accounts[8].pubkey == A.creator_vault_pda(creator)  # type: ignore[attr-defined]


async def test_first_pre_confirmation_sell_pays_the_fee_tier_of_the_curve_it_quotes(
    chain: Chain,
) -> None:
    # Unread, the first SELL is quoted from the curve expected after the BUY; its fees
    # must be that curve's tier too, not the tier of the create's smaller market cap: a
    # tier with higher fees than the program charges only lowers the floor, but one with
    # lower fees quotes a floor the SELL cannot reach.
    info = token()  # created at ~28 SOL of market cap: the first tier
    position = holding(info, confirmed=False)
    reserves = Reserves(31 * 10**9, 1_000_000_000 * 10**6, 10**9, 700_000_000 * 10**6)
    fee_config = FeeConfig(
        bump=254, admin=Pubkey.new_unique(), flat_fees=Fees(0, 100, 0),
        fee_tiers=(FeeTier(0, Fees(0, 95, 30)), FeeTier(30 * 10**9, Fees(0, 200, 100))),
    )  # fmt: skip
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL, fee_config=fee_config))
        seller = PlatformAwareSeller(chain=ca, slippage_bps=SLIPPAGE)
        ca.expected_reserves[info.mint] = reserves
        order = await seller.prepare_and_send_order(info, position)
    assert chain.reads() == []
    assert market_cap_lamports(reserves) >= 30 * 10**9  # the second tier's curve
    expected = quote_sell(TOKENS, reserves, FeeRates(200, 100))
    assert order.sol_output == expected.net  # type: ignore[attr-defined]
    assert order.min_sol_output == min_sol_output(expected.net, SLIPPAGE)  # type: ignore[attr-defined]


async def test_a_retry_reads_the_creator_from_the_curve(chain: Chain) -> None:
    # admin_cto moved the creator: a SELL naming the creator of the create event fails
    # every time; the retry reads the curve and names the new one.
    info = token()
    new_creator = Pubkey.new_unique()
    chain.put_curve(info, curve_of(info, creator=new_creator))
    position = holding(info)
    failed_sell(position, 2006)  # a seeds constraint on creator_vault
    _ca, order = await sell_once(chain, info, position)
    sell = _curve_sell(chain)
    assert sell.accounts[8].pubkey == A.creator_vault_pda(new_creator)  # type: ignore[attr-defined]
    assert order.attempt == 2  # type: ignore[attr-defined]


async def test_holder_reward_coins_pay_the_holder_rewards_vault(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info, is_holder_reward=True))
    position = holding(info)
    await sell_once(chain, info, position)
    sell = _curve_sell(chain)
    vault = A.creator_vault_pda(A.holder_rewards_pda(info.mint))
    assert sell.accounts[8].pubkey == vault  # type: ignore[attr-defined]


async def test_fee_and_buyback_recipients_come_from_globals_lists(chain: Chain) -> None:
    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    await sell_once(chain, info, position)
    sell = _curve_sell(chain)
    salt = salt_of(info.mint, 1)
    recipients = GLOBAL.all_fee_recipients()
    buybacks = GLOBAL.buyback_fee_recipients or ()
    assert sell.accounts[1].pubkey == recipients[salt % len(recipients)]  # type: ignore[attr-defined]
    assert sell.accounts[-1].pubkey == buybacks[salt % len(buybacks)]  # type: ignore[attr-defined]
    assert sell.accounts[-1].pubkey in buybacks  # type: ignore[attr-defined]


async def test_v2_config_sells_with_sell_v2(chain: Chain) -> None:
    info = token()
    curve = curve_of(info)
    chain.put_curve(info, curve)
    position = holding(info)
    ca, order = await sell_once(chain, info, position, instructions="v2")
    sell = _curve_sell(chain)
    salt = salt_of(info.mint, 1)
    expected = I.sell_v2(
        user=ca.wallet, mint=info.mint, creator=info.creator, token_program=info.token_program,
        fee_recipient=GLOBAL.all_fee_recipients()[salt % 8],
        buyback_fee_recipient=(GLOBAL.buyback_fee_recipients or ())[salt % 8],
        amount=TOKENS, min_sol_output=order.min_sol_output,  # type: ignore[attr-defined]
    )  # fmt: skip
    assert same(sell, expected)  # type: ignore[arg-type]
    assert order.venue == VENUE_CURVE_V2  # type: ignore[attr-defined]
    assert order.compute_unit_limit == ComputeUnits().limit(TxKind.SELL_V2)  # type: ignore[attr-defined]


async def test_buyer_refuses_a_coin_quoted_in_another_mint(chain: Chain) -> None:
    from trio_trader.trading.platform_aware import PlatformAwareBuyer

    info = token(quote_mint=A.USDC_MINT)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL), instructions="v2")
        buyer = PlatformAwareBuyer(chain=ca, amount_lamports=10**8, slippage_bps=SLIPPAGE)
        with pytest.raises(TradeError, match=r"quoted in USDC, which trade\.quote_mints does not"):
            await buyer.prepare_and_send_order(info)
        other = token(quote_mint=Pubkey.new_unique())
        with pytest.raises(TradeError, match="a custom quote mint: not traded"):
            await buyer.prepare_and_send_order(other)
    assert chain.node.calls == []


async def test_v2_buy_names_buy_v2_and_its_measured_limit(chain: Chain) -> None:
    from trio_trader.trading.platform_aware import PlatformAwareBuyer

    info = token()
    chain.put_curve(info, curve_of(info))
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=MarketParams(global_=GLOBAL), instructions="v2")
        buyer = PlatformAwareBuyer(chain=ca, amount_lamports=10**8, slippage_bps=SLIPPAGE)
        order = await buyer.prepare_and_send_order(info)
    ixs = program_instructions(chain.sent[0])
    salt = salt_of(info.mint, 1)
    expected = I.buy_v2(
        user=ca.wallet, mint=info.mint, creator=info.creator, token_program=info.token_program,
        fee_recipient=GLOBAL.all_fee_recipients()[salt % 8],
        buyback_fee_recipient=(GLOBAL.buyback_fee_recipients or ())[salt % 8],
        amount=order.token_amount, max_sol_cost=order.max_sol_cost,
    )  # fmt: skip
    assert same(ixs[3], expected)
    assert order.venue == VENUE_CURVE_V2
    assert order.compute_unit_limit == ComputeUnits().limit(TxKind.BUY_V2)
    assert ca.creators[info.mint] == info.creator


async def test_venue_quote_mint_and_holder_flag_survive_the_database(tmp_path: object) -> None:
    from pathlib import Path

    from trio_trader.store import open_repository

    info = token(quote_mint=A.USDC_MINT, is_holder_reward=True)
    position = holding(info)
    order = failed_sell(position, 6004, venue=VENUE_AMM, close_ix_index=None)
    async with open_repository(Path(str(tmp_path)) / "v.db") as repo:
        await repo.insert_position(position)
        await repo.update_position(position, resolved=order)
        loaded = await repo.get_position(position.id or 0)
        (trade,) = [t for t in await repo.list_trades(position.id) if t.side == "sell"]
    assert loaded.token_info == info
    assert loaded.token_info.quote_mint == A.USDC_MINT
    assert loaded.token_info.is_holder_reward
    assert loaded.sell_order is not None
    assert loaded.sell_order.venue == VENUE_AMM
    assert loaded.sell_order.close_ix_index is None
    assert loaded.buy_order is not None
    assert loaded.buy_order.venue == VENUE_CURVE
    assert trade.venue == VENUE_AMM


@pytest.mark.parametrize(("code", "refreshed"), [(6000, True), (6062, True), (6003, False)])
async def test_a_refused_recipient_re_reads_globals_lists(
    chain: Chain, code: int, refreshed: bool
) -> None:
    import attrs

    from tests.trading.venue_fakes import keys

    info = token()
    chain.put_curve(info, curve_of(info))
    position = holding(info)
    failed_sell(position, code)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        ca = access(rpc, market=await MarketParams.load(rpc))
        # the program rotated its recipients after start-up
        rotated = attrs.evolve(GLOBAL, fee_recipient=Pubkey.new_unique(), fee_recipients=keys(7),
                               buyback_fee_recipients=keys(8))  # fmt: skip
        chain.put(A.GLOBAL, rotated.encode(), A.PUMP_PROGRAM_ID)
        seller = PlatformAwareSeller(chain=ca, slippage_bps=SLIPPAGE)
        await seller.prepare_and_send_order(info, position)
    sell = _curve_sell(chain)
    names = (rotated if refreshed else GLOBAL).all_fee_recipients()
    buybacks = (rotated if refreshed else GLOBAL).buyback_fee_recipients or ()
    assert sell.accounts[1].pubkey in names  # type: ignore[attr-defined]
    assert sell.accounts[-1].pubkey in buybacks  # type: ignore[attr-defined]


async def test_start_up_refuses_a_global_that_does_not_decode(chain: Chain) -> None:
    from trio_trader.pump.accounts import DecodeError
    from trio_trader.pump.amm import GlobalConfig

    chain.put(A.GLOBAL, b"garbage!" * 20, A.PUMP_PROGRAM_ID)
    async with RpcClient(("http://a.test",), transport=chain.node.transport()) as rpc:
        with pytest.raises(DecodeError):
            await MarketParams.load(rpc)
        market = MarketParams(global_=GLOBAL)
        await market.refresh(rpc)  # while trading: logged, the last good read kept
    assert market.global_ == GLOBAL
    assert market.amm_global_config == GlobalConfig.decode(AMM_GLOBAL.encode())
