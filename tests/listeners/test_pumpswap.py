"""The pool listener: one graduated coin's PumpSwap trades → price updates with the pool's
reserves after each trade, from events the AMM itself emitted about that pool only.

Real logs come from the simulator's ledger (migrate, then AMM buys and sells over the real
SPL programs); the reserves an update carries are checked against the pool's vault
balances after the trade. Hostile logs are written by hand: the listener sees exactly
these lines in a notification.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.listeners.test_listeners import Sink
from tests.sim.test_ledger_amm import FIRST_TIER, Graduated
from trio_trader.listeners.pumpswap import PoolListener, pool_updates
from trio_trader.pump.addresses import PUMP_AMM_PROGRAM_ID, TOKEN_PROGRAM_ID
from trio_trader.pump.amm import BuyEvent, SellEvent, encode_amm_event, parse_amm_logs
from trio_trader.pump.amm.quote import PoolReserves, reserves_after_event
from trio_trader.sim.ledger import ExecutedTransaction

AMM = str(PUMP_AMM_PROGRAM_ID)
HOSTILE = "Hostile1111111111111111111111111111111111111"


@pytest.fixture
def grad() -> Graduated:
    grad = Graduated()
    assert grad.migrate().err is None
    return grad


def item(logs: list[str], *, err: object = None, signature: str = "sig") -> dict[str, Any]:
    return {"context": {"slot": 11}, "value": {"signature": signature, "err": err, "logs": logs}}


def listener(grad: Graduated) -> PoolListener:
    pool, _ = grad.pool
    return PoolListener(pubsub=None, mint=grad.mint, pool=pool)  # type: ignore[arg-type]


def amm_trade(result: ExecutedTransaction) -> BuyEvent | SellEvent:
    assert result.err is None, result.logs
    (event,) = [e for e in parse_amm_logs(result.logs) if isinstance(e, BuyEvent | SellEvent)]
    return event


def amm_sell_event(result: ExecutedTransaction) -> SellEvent:
    event = amm_trade(result)
    assert isinstance(event, SellEvent)
    return event


def data_line(event: BuyEvent | SellEvent) -> str:
    return "Program data: " + base64.b64encode(encode_amm_event(event)).decode()


async def test_each_pool_trade_becomes_an_update_with_the_vaults_after_it(grad: Graduated) -> None:
    sink, pools = Sink(), listener(grad)
    holder = grad.holder
    held = grad.ledger.token_balance(holder.pubkey(), grad.mint)
    trades = [
        grad.sell(holder, held // 2, 0),
        grad.buy(holder, 10**9, 5 * 10**9),
        grad.sell(holder, held // 4, 0),
    ]
    for n, result in enumerate(trades):
        pools.handle(item(list(result.logs), signature=f"s{n}"), sink.token, sink.price)
    assert sink.tokens == []
    assert [(u.is_buy, u.signature, u.slot) for u in sink.prices] == [
        (False, "s0", 11), (True, "s1", 11), (False, "s2", 11),
    ]  # fmt: skip
    # the vaults now hold what the last update says; every update's fees are the tier's
    last = sink.prices[-1]
    assert last.pool is not None
    assert last.pool.reserves == grad.reserves()
    assert {u.pool.fees for u in sink.prices if u.pool is not None} == {FIRST_TIER}
    assert last.mint == grad.mint
    assert (last.virtual_sol_reserves, last.virtual_token_reserves) == (
        last.pool.reserves.effective_quote, last.pool.reserves.base,
    )  # fmt: skip
    # and each update is the one before it with its own trade applied
    first = amm_trade(trades[1])
    assert sink.prices[0].pool is not None
    assert sink.prices[0].pool.reserves == PoolReserves(
        first.pool_base_token_reserves, first.pool_quote_token_reserves
    )
    assert pools.stats.prices == 3


def amm_frame(line: str) -> list[str]:
    """``line`` printed by the AMM called at the top level."""
    return [f"Program {AMM} invoke [1]", line, f"Program {AMM} success"]


def test_reserves_after_a_buy_and_a_sell_match_the_ledger(grad: Graduated) -> None:
    holder = grad.holder
    sold = amm_sell_event(grad.sell(holder, 10**9, 0))
    assert reserves_after_event(sold) == grad.reserves()
    bought = amm_trade(grad.buy(holder, 2 * 10**9, 10**9))
    assert isinstance(bought, BuyEvent)
    assert reserves_after_event(bought) == grad.reserves()
    with pytest.raises(ValueError, match="positive"):
        reserves_after_event(attrs.evolve(bought, base_amount_out=bought.pool_base_token_reserves))


async def test_a_hostile_program_cannot_inject_a_price_of_the_pool(grad: Graduated) -> None:
    """Only events the AMM printed while on top of the invoke stack count, and only those
    naming this pool: a program printing an AMM-shaped event itself (before, after or around
    a real AMM call) moves nothing."""
    real = amm_sell_event(grad.sell(grad.holder, 10**9, 0))
    pool, _ = grad.pool
    # a fake "dump" of our pool: its price would fire every stop loss
    fake = attrs.evolve(
        real, pool=pool, pool_quote_token_reserves=1, quote_amount_out_without_lp_fee=0
    )
    other_pool = attrs.evolve(real, pool=Pubkey.new_unique())
    logs = [
        f"Program {HOSTILE} invoke [1]",
        data_line(fake),
        f"Program {AMM} invoke [2]",
        data_line(other_pool),  # the AMM's own event, of another pool
        f"Program {TOKEN_PROGRAM_ID} invoke [3]",
        data_line(fake),  # printed by the token program's frame: not the AMM's
        f"Program {TOKEN_PROGRAM_ID} success",
        f"Program {AMM} success",
        data_line(fake),  # the hostile frame again
        f"Program {HOSTILE} success",
    ]
    sink, pools = Sink(), listener(grad)
    pools.handle(item(logs), sink.token, sink.price)
    assert sink.prices == []
    # the same transaction with a real AMM event of the pool: exactly that one counts
    logs[4:4] = [data_line(real)]
    pools.handle(item(logs), sink.token, sink.price)
    assert [u.pool.reserves if u.pool else None for u in sink.prices] == [
        reserves_after_event(real)
    ]


async def test_failed_malformed_and_unrelated_notifications_are_skipped(
    grad: Graduated, caplog: pytest.LogCaptureFixture
) -> None:
    real = amm_sell_event(grad.sell(grad.holder, 10**9, 0))
    ok = amm_frame(data_line(real))
    sink, pools = Sink(), listener(grad)
    with caplog.at_level(logging.WARNING):
        pools.handle(
            item(ok, err={"InstructionError": [2, {"Custom": 6004}]}), sink.token, sink.price
        )
        pools.handle("garbage", sink.token, sink.price)
        pools.handle(
            {"value": {"signature": "s", "err": None, "logs": [7]}}, sink.token, sink.price
        )
        pools.handle(item(amm_frame("Program data: !!!")), sink.token, sink.price)
        # an AMM event whose balances cannot be (a sell emptying the quote vault)
        broken = attrs.evolve(real, quote_amount_out_without_lp_fee=real.pool_quote_token_reserves)
        pools.handle(item(amm_frame(data_line(broken))), sink.token, sink.price)
    assert sink.prices == []
    assert (pools.stats.failed_txs, pools.stats.malformed) == (1, 2)
    assert "skipping a SellEvent" in caplog.text
    pools.handle(item(ok), sink.token, sink.price)
    assert len(sink.prices) == 1


def test_pool_updates_of_an_unknown_pool_are_none(grad: Graduated) -> None:
    result = grad.sell(grad.holder, 10**9, 0)
    updates = pool_updates(
        result.logs, mint=grad.mint, pool=Pubkey.new_unique(), signature="s", slot=None, seen_at=0.0
    )
    assert updates == []
