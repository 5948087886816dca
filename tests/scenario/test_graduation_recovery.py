"""A crash right after a graduated coin's pool SELL was sent: the next run finds that SELL by
its signature (start-up reconciliation), books it from the landed transaction (the WSOL
round trip and the AMM SellEvent included) and never sends a second SELL."""

from __future__ import annotations

from pathlib import Path

import trio
from solders.keypair import Keypair
from solders.signature import Signature

from tests.scenario.graduation import complete_curve, migrate
from tests.scenario.harness import Crash, Harness, running_bot
from trio_trader.app import build_bot
from trio_trader.config import parse_config
from trio_trader.pump.amm import SellEvent, parse_amm_logs
from trio_trader.trading.orders import VENUE_AMM, OrderState, SellOrder

CONFIG = {
    "exits": {"sell_after": 3.0, "tick_interval": 0.1},
    "trade": {"rebroadcast_interval": 0.2},
}


async def active(h: Harness) -> bool:
    positions = await h.positions()
    return bool(positions) and positions[0].status == "active"


async def test_crash_right_after_the_pool_sell_was_sent_books_that_sell(tmp_path: Path) -> None:
    wallet = Keypair()
    sent: list[SellOrder] = []

    async def die(order: SellOrder) -> None:
        if order.venue == VENUE_AMM:
            sent.append(order)
            raise Crash

    with trio.fail_after(40):
        async with running_bot(tmp_path, config=CONFIG, wallet=wallet, start=False) as h:
            h.seller.after = die
            try:
                async with trio.open_nursery() as first:
                    await first.start(h.bot.trader.run)
                    mint = await h.launch()
                    await h.wait_until(lambda: active(h))
                    await complete_curve(h, mint)
                    await migrate(h, mint)
                    await trio.sleep_forever()
            except* Crash:
                pass
            (row,) = await h.positions()
            assert row.sell_order is not None
            assert row.sell_order.venue == VENUE_AMM
            assert row.sell_order.state is OrderState.PENDING
            assert row.sell_order.signature == sent[0].signature

            bot = await build_bot(
                parse_config(CONFIG, env={}), rpc=h.rpc, keypair=wallet, repo=h.repo,
                ws_url=h.sim.ws_url,
            )  # fmt: skip
            async with trio.open_nursery() as nursery:
                await nursery.start(bot.trader.run)
                await h.wait_until(lambda: h.all_closed(1), timeout=20)
                nursery.cancel_scope.cancel()
            (position,) = await h.assert_books_balance()
            sells = await h.trades(position.id, "sell")
            landed = h.sim.node.transaction(Signature.from_string(sent[0].signature or ""))
    assert position.status == "closed"
    assert [(t.state, t.signature, t.venue) for t in sells] == [
        ("confirmed", sent[0].signature, VENUE_AMM)
    ]
    assert landed is not None
    (event,) = [e for e in parse_amm_logs(landed.logs) if isinstance(e, SellEvent)]
    assert position.sell_order is not None
    assert position.sell_order.pump_sol == event.user_quote_amount_out
    assert h.token_balance(mint) == 0
