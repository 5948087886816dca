"""Follow a held coin onto its PumpSwap pool when it graduates, so its price rules keep working.

After its curve completes, a coin trades only on its canonical pool and the pump listener
hears nothing more of it: without this, a graduated position could only leave by a time
rule. One :class:`PoolWatch` runs beside each position (``UniversalTrader``) and waits
for graduation, known from

* a price update of the curve whose trade bought its last real token (the ``TradeEvent``
  of the buy that set ``complete``; the monitor hands every update to :meth:`PoolWatch.see`),
* a SELL of the position the curve already refused with 6005/6081, or one sent to the
  pool (a position resumed after a restart), or
* the curve account read ``complete`` when a position is resumed (it may have graduated
  while the bot was down).

Then it subscribes to the logs of the coin's canonical pool (``listeners/pumpswap.py``),
one subscription per graduated held position, and publishes the pool's prices into the
trade feed until the position's task ends (which unsubscribes).
"""

from __future__ import annotations

import logging

import attrs
import trio

from trio_trader.chain.errors import RpcError
from trio_trader.chain.pubsub import PubsubClient
from trio_trader.listeners.logs import PriceSink
from trio_trader.listeners.pumpswap import PoolListener
from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.trading.orders import VENUE_AMM
from trio_trader.trading.platform_aware import ChainAccess, TradeError, graduated_failure
from trio_trader.trading.position import Position

log = logging.getLogger(__name__)


def sold_as_graduated(position: Position) -> bool:
    """The position's SELLs already met the graduation: refused by the curve, or on the pool."""
    sell = position.sell_order
    return graduated_failure(sell) or (sell is not None and sell.venue == VENUE_AMM)


@attrs.define(eq=False, kw_only=True)
class PoolWatch:
    """One position's graduation watch and, once graduated, its pool listener."""

    position: Position
    pubsub: PubsubClient
    publish: PriceSink
    commitment: str = "processed"
    graduated: trio.Event = attrs.field(factory=trio.Event)
    listener: PoolListener | None = None

    def see(self, update: PriceUpdate) -> None:
        """A price update of the position's mint: the curve's completing buy graduates it."""
        if update.pool is None and update.is_buy and update.real_token_reserves == 0:
            self.graduated.set()

    async def run(self, chain: ChainAccess, *, resumed: bool) -> None:
        """Wait for graduation, then publish the pool's prices until cancelled.

        An unexpected error ends the watch only (logged): the position keeps its time
        rules and its SELL still routes to the pool, as before this watch existed.
        """
        try:
            await self._watch(chain, resumed=resumed)
        except Exception:
            log.exception("%s: following its pool failed; time rules only from here",
                          self.position.mint)  # fmt: skip

    async def _watch(self, chain: ChainAccess, *, resumed: bool) -> None:
        info = self.position.token_info
        if sold_as_graduated(self.position):
            self.graduated.set()
        elif resumed:
            await self._read_curve(chain)
        await self.graduated.wait()
        pool = canonical_pool_pda(info.mint, info.quote_mint)
        log.info("%s: graduated; following its PumpSwap pool %s", info.display_name, pool)
        self.listener = PoolListener(self.pubsub, info.mint, pool, commitment=self.commitment)
        await self.listener.run(self.publish)

    async def _read_curve(self, chain: ChainAccess) -> None:
        """A resumed position's coin may have graduated while the bot was down."""
        try:
            curve = await chain.read_curve_state(self.position.token_info)
        except (RpcError, TradeError) as exc:
            # the completing trade's event would still graduate it; a SELL still routes
            log.warning("%s: curve read failed (%s); waiting for its trades",
                        self.position.mint, exc)  # fmt: skip
            return
        if curve.complete:
            self.graduated.set()
