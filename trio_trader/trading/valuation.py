"""What a position's tokens are worth at the last price: the one number the exit rules see.

On the bonding curve the exit rules compare the curve's spot price with the entry price
(``trading/exits.py``), as they always have. Once the coin graduated, its price updates
come from the PumpSwap pool (``PriceUpdate.pool``), and there the position is valued by
the pool's own quote for selling *all* its tokens: the constant-product output less the
lp, protocol and coin-creator fees (``pump.amm.quote_amm_sell``, the seller's quote). The
entry price is what the tokens cost at the curve with pump's fees, so take profit, stop
loss and the trailing stop compare what the position would bring with what it cost.

The fee rates are those the pool's last trade paid (its event's); the next trade pays
another tier only when the pool's market cap crosses one (420 SOL for the first).
"""

from __future__ import annotations

import logging

from trio_trader.listeners.types import PoolPrice, PriceUpdate
from trio_trader.pump.amm import quote_amm_sell
from trio_trader.trading.exits import Price

log = logging.getLogger(__name__)


def pool_sell_value(pool: PoolPrice, token_amount: int) -> int:
    """Quote units (lamports on a WSOL pool) a SELL of ``token_amount`` would bring now,
    AMM fees deducted; 0 when the pool could not pay it (the seller's quote refuses it)."""
    try:
        return quote_amm_sell(token_amount, pool.reserves, pool.fees).net
    except ValueError as exc:
        log.debug("pool %s cannot pay a sell of %d: %s", pool.address, token_amount, exc)
        return 0


def position_price(update: PriceUpdate, token_amount: int | None) -> Price:
    """The price the exit rules compare with the entry price, in quote units per token
    base unit, as an exact integer pair: the curve's spot price, or on a pool what selling
    ``token_amount`` brings per token (the pool's spot price while the amount is unknown)."""
    return Price(*position_quote(update, token_amount))


def position_quote(update: PriceUpdate, token_amount: int | None) -> tuple[int, int]:
    """`position_price` as its two integers ``(lamports, tokens)``, ``tokens`` > 0: the
    monitor's price intake builds no `Price` per trade (``exits.check_quote``)."""
    if update.pool is None or not token_amount or token_amount <= 0:
        tokens = update.virtual_token_reserves
        if tokens <= 0:
            return 0, 1  # as ``PriceUpdate.price``: no tokens left, no price
        return update.virtual_sol_reserves, tokens
    return pool_sell_value(update.pool, token_amount), token_amount
