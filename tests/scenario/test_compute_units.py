"""The compute-unit limits of ``trading/compute.py`` re-measured: every kind of transaction
the bot signs is simulated (``simulateTransaction``) right before it is sent, on the
simulator's mainnet-calibrated programs, in its worst case (a wallet's first BUY creates
its token account and volume accumulator, an SPL and a Token-2022 coin, the curve's
creator vault and a pool's WSOL round trip). The table must cover every measurement
(``MEASURED``), the signed limit must cover it with the margin, and then the very same
transaction must land with its measured limit."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from solders.keypair import Keypair

from tests.scenario.graduation import complete_curve, migrate
from tests.scenario.harness import SOL, Harness, running_bot
from trio_trader.pump import addresses
from trio_trader.trading.compute import MARGIN_PCT, MEASURED, ComputeUnits, TxKind
from trio_trader.trading.orders import Order, OrderState
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo
from trio_trader.trading.wallet_scan import token_info_from_chain

SPL = addresses.TOKEN_PROGRAM_ID


def WALLET() -> Keypair:
    return Keypair.from_seed(bytes([20]) * 32)


T2022 = addresses.TOKEN_2022_PROGRAM_ID


class Measured:
    """Units each signed order consumed in simulation, by kind."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.units: dict[TxKind, int] = {}

    def hook(self, kind: TxKind):  # type: ignore[no-untyped-def]
        async def simulate(order: Order) -> None:
            value = await self.h.rpc.simulate_transaction(order.raw_bytes())
            assert value["err"] is None, value.get("logs")
            self.units[kind] = int(value["unitsConsumed"])
            assert order.compute_unit_limit >= ComputeUnits().limit(kind)

        return simulate


async def coin(h: Harness, *, legacy: bool) -> TokenInfo:
    # Fixed keys: the units a trade uses depend on its PDAs' bump searches, so fixed keys
    # make the measurement repeatable (the margin covers other keys on mainnet).
    h.creator = Keypair.from_seed(bytes([21]) * 32)
    h.sim.node.airdrop(h.creator.pubkey(), 100 * SOL)
    mint = await h.launch(legacy=legacy, mint=Keypair.from_seed(bytes([22 + legacy]) * 32))
    with trio.fail_after(10):
        while h.sim.ledger.bonding_curve(mint) is None:
            await trio.sleep(0.02)
    info = await token_info_from_chain(h.rpc, mint)
    assert info is not None
    return info


async def buy_then_sell(
    h: Harness, m: Measured, info: TokenInfo, buy: TxKind, sell: TxKind, *, graduate: bool
) -> None:
    order = await h.buyer.prepare_and_send_order(info, before_send=m.hook(buy))
    result = await h.buyer.process_order(order)
    assert result.success, result
    position = Position.create_from_token_info(info)
    position.update_from_buy_order(order)
    position.apply_buy_result(result)
    if graduate:
        await complete_curve(h, info.mint, info.token_program)
        await migrate(h, info.mint, info.token_program)
    sell_order = await h.seller.prepare_and_send_order(info, position, before_send=m.hook(sell))
    assert (await h.seller.process_order(sell_order)).success
    assert sell_order.state is OrderState.CONFIRMED
    assert h.token_balance(info.mint) == 0


def check(units: dict[TxKind, int]) -> None:
    for kind, used in units.items():
        assert used <= MEASURED[kind], f"{kind}: {used} CU > the table's {MEASURED[kind]}"
        assert used * (100 + MARGIN_PCT) // 100 <= ComputeUnits().limit(kind), kind
        # the table is a measurement, not a guess from far above
        assert MEASURED[kind] <= 2 * used, f"{kind}: {MEASURED[kind]} is far above {used}"


@pytest.mark.parametrize(
    ("instructions", "legacy", "buy", "sell"),
    [
        ("legacy", True, TxKind.BUY, TxKind.SELL),
        ("legacy", False, TxKind.BUY, TxKind.SELL),
        ("v2", True, TxKind.BUY_V2, TxKind.SELL_V2),
        ("v2", False, TxKind.BUY_V2, TxKind.SELL_V2),
    ],
)
async def test_curve_trades_fit_their_measured_limits(
    tmp_path: Path, instructions: str, legacy: bool, buy: TxKind, sell: TxKind
) -> None:
    config = {"trade": {"instructions": instructions}}
    async with running_bot(tmp_path, config=config, start=False, wallet=WALLET()) as h:
        await _services(h)
        m = Measured(h)
        await buy_then_sell(h, m, await coin(h, legacy=legacy), buy, sell, graduate=False)
    assert set(m.units) == {buy, sell}
    check(m.units)


@pytest.mark.parametrize("legacy", [True, False])
async def test_a_pool_sell_fits_its_measured_limit(tmp_path: Path, legacy: bool) -> None:
    async with running_bot(tmp_path, start=False, wallet=WALLET()) as h:
        await _services(h)
        m = Measured(h)
        info = await coin(h, legacy=legacy)
        await buy_then_sell(h, m, info, TxKind.BUY, TxKind.AMM_SELL, graduate=True)
    check(m.units)


async def _services(h: Harness) -> None:
    """What the buyer and the seller need running: the blockhash cache and pubsub."""
    assert h.background is not None
    await h.background.start(h.bot.trader.pubsub.run)
    await h.background.start(h.bot.trader.blockhash.run)
    await h.background.start(h.bot.trader.priority_fee.run)


def test_limits_round_up_with_the_margin() -> None:
    assert ComputeUnits().limit(TxKind.SELL) == -(-MEASURED[TxKind.SELL] * 130 // 100_000) * 1000
    assert ComputeUnits(fixed=77_000).limit(TxKind.AMM_SELL) == 77_000
