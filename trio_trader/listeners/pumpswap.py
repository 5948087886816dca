"""Prices of one graduated coin from its PumpSwap pool: ``logsSubscribe`` mentioning the pool.

Once a held coin's curve completed, pump refuses its trades and the coin trades on its
canonical pool; the pump listener hears nothing more of it. :class:`PoolListener`
subscribes to the logs of transactions that mention that one pool (never to the whole
AMM: on mainnet that is thousands of events a second) and turns each Buy/Sell event of it
into a :class:`PriceUpdate` whose ``pool`` holds the reserves after the trade and its fee
rates, for the same ``TradeFeed`` the curve's prices go to.

Only events the AMM program itself emitted count (``parse_amm_logs`` follows the invoke
stack: another program printing a ``Program data:`` line with a fake SellEvent is not the
AMM), and only those naming this pool: a transaction that mentions it may trade another
pool as well. Failed transactions changed nothing and are skipped. The pubsub client
re-subscribes after a reconnect by itself, as for the other listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.chain.pubsub import PubsubClient, Subscription
from trio_trader.chain.untrusted import preview
from trio_trader.pump.amm import BuyEvent, SellEvent, parse_amm_logs
from trio_trader.pump.amm.quote import event_fees, reserves_after_event

from .decode import Malformed, context_slot, field, log_lines
from .logs import ListenerStats, PriceSink, TokenSink, run_listener
from .types import NewToken, PoolPrice, PriceUpdate

log = logging.getLogger(__name__)


def pool_price_update(
    event: BuyEvent | SellEvent, *, mint: Pubkey, signature: str, slot: int | None, seen_at: float
) -> PriceUpdate:
    """One pool trade as a price update of ``mint`` (the event itself names no mint).

    Raises:
        ValueError: the event leaves the pool without a positive balance.
    """
    reserves = reserves_after_event(event)
    is_buy = isinstance(event, BuyEvent)
    if isinstance(event, BuyEvent):  # what the user paid / received, fees included
        base_amount, quote_amount = event.base_amount_out, event.user_quote_amount_in
    else:
        base_amount, quote_amount = event.base_amount_in, event.user_quote_amount_out
    return PriceUpdate(
        mint=mint,
        virtual_sol_reserves=reserves.effective_quote,
        virtual_token_reserves=reserves.base,
        real_sol_reserves=reserves.quote,
        real_token_reserves=reserves.base,
        is_buy=is_buy,
        user=event.user,
        sol_amount=quote_amount,
        token_amount=base_amount,
        signature=signature,
        slot=slot,
        seen_at=seen_at,
        pool=PoolPrice(address=event.pool, reserves=reserves, fees=event_fees(event)),
    )


def pool_updates(
    logs: Sequence[str],
    *,
    mint: Pubkey,
    pool: Pubkey,
    signature: str,
    slot: int | None,
    seen_at: float,
) -> list[PriceUpdate]:
    """The price updates of ``pool`` in one successful transaction's logs, in order."""
    updates: list[PriceUpdate] = []
    for event in parse_amm_logs(logs):
        if not isinstance(event, BuyEvent | SellEvent) or event.pool != pool:
            continue
        try:
            updates.append(
                pool_price_update(event, mint=mint, signature=signature, slot=slot, seen_at=seen_at)
            )
        except ValueError as exc:
            log.warning("skipping a %s of pool %s in %s: %s",
                        type(event).__name__, pool, signature, exc)  # fmt: skip
    return updates


@attrs.define(eq=False)
class PoolListener:
    """``logsSubscribe(mentions=[pool])`` → price updates of ``mint`` on its pool."""

    pubsub: PubsubClient
    mint: Pubkey
    pool: Pubkey
    commitment: str = "processed"
    stats: ListenerStats = attrs.field(factory=ListenerStats)

    def subscription(self) -> AbstractAsyncContextManager[Subscription]:
        return self.pubsub.logs_subscribe(self.pool, commitment=self.commitment)

    async def run(
        self, on_price: PriceSink, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Subscribe and hand every update of the pool to ``on_price`` until cancelled
        (leaving unsubscribes)."""
        await run_listener(self, _no_tokens, on_price, task_status=task_status)

    def handle(self, item: Any, on_token: TokenSink, on_price: PriceSink) -> None:
        """Process one notification (``{"context": {"slot"}, "value": {...}}``)."""
        del on_token  # a pool never announces a new token
        self.stats.notifications += 1
        try:
            value = field(item, "value", dict)
            signature = field(value, "signature", str)
            logs = log_lines(field(value, "logs", list))
            slot = context_slot(item)
        except Malformed as exc:
            self.stats.malformed += 1
            log.warning("skipping malformed pool logs notification (%s): %s", exc, preview(item))
            return
        if value.get("err") is not None:
            self.stats.failed_txs += 1
            return
        for update in pool_updates(
            logs,
            mint=self.mint,
            pool=self.pool,
            signature=signature,
            slot=slot,
            seen_at=trio.current_time(),
        ):
            self.stats.prices += 1
            if on_price(update):  # a position's exit fired: its SELL goes first
                self.stats.woke += 1


def _no_tokens(token: NewToken) -> None:
    """The token sink of a pool listener: ``handle`` never calls it."""
