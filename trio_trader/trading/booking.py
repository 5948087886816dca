"""Booking a landed order: what it cost at the curve, and what to book when it cannot be read.

Two amounts describe a trade, and they answer different questions:

* the wallet's SOL change (``sol_change``) is the money: it includes the transaction fee
  and any rent the transaction paid (a BUY's token account and volume accumulator) or got
  back (a SELL that closed the token account). Net PnL sums these.
* the SOL that crossed the bonding curve, pump fees included (``pump_sol``) is the price:
  the BUY's ``sol_amount + fee + creator_fee`` and the SELL's ``sol_amount − fee −
  creator_fee``, read from the pump TradeEvent the transaction logged. Exit rules and the
  trading PnL use it, so a rule never fires on rent.

When a landed order's transaction cannot be fetched at all (a node that reports the
status but keeps answering null to ``getTransaction``), booking it as 0 SOL / 0 tokens
would strand the tokens: the SELL would have nothing to sell. ``estimated_booking`` books
it from what is certain instead: pump's ``buy``/``sell`` move exactly ``token_amount``
tokens, the transaction fee follows from the signed compute budget, and the SOL at the
curve is the order's quote (bounded by its limit). The order is flagged
``balances_estimated`` and the error is logged: the PnL of that position is an estimate.

A coin quoted in a token (USDC) is paid in that token: ``pump_sol`` is then the
TradeEvent's ``quote_amount`` plus (BUY) or minus (SELL) the fees, all in the token's base
units, and the wallet's change of the token (``wallet_quote_change``) is booked beside
the SOL change, which then holds only the transaction fee and rent.
"""

from __future__ import annotations

import logging

import attrs
from solders.pubkey import Pubkey

from trio_trader import budget
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump.addresses import TOKEN_PROGRAM_ID, WSOL_MINT, associated_token_address
from trio_trader.pump.amm import SellEvent, parse_amm_logs
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.pump.events import DecodeError, TradeEvent, parse_logs
from trio_trader.trading.orders import VENUE_AMM, BuyOrder, Order, SellOrder

log = logging.getLogger(__name__)


def pump_sol(tx: TransactionInfo, wallet: Pubkey, order: Order) -> int | None:
    """The order's SOL at the curve, pump fees included, from its TradeEvent (or ``None``).

    A SELL on the coin's PumpSwap pool (``venue == VENUE_AMM``) books the AMM SellEvent's
    ``user_quote_amount_out`` instead: the proceeds after the LP, protocol and creator
    fees, the same meaning as a curve SELL's net.
    """
    if isinstance(order, SellOrder) and order.venue == VENUE_AMM:
        return _amm_sell_proceeds(tx, wallet, order)
    try:
        events = parse_logs(tx.log_messages)
    except (DecodeError, ValueError) as exc:  # a hostile or garbled log must not crash
        log.warning("%s %s: unreadable pump events (%s)", order.side, order.mint, exc)
        return None
    is_buy = isinstance(order, BuyOrder)
    total: int | None = None
    for event in events:
        if not isinstance(event, TradeEvent) or event.is_buy is not is_buy:
            continue
        if event.user != wallet or event.mint != order.token_info.mint:
            continue
        if event.fee is None:
            return None  # a 2024 event: the fee was charged but not logged
        fees = event.fee + (event.creator_fee or 0)
        crossed = _curve_amount(event, order)
        amount = crossed + fees if is_buy else crossed - fees
        total = amount if total is None else total + amount
    return total


def _curve_amount(event: TradeEvent, order: Order) -> int:
    """The quote that crossed the curve, before fees: ``quote_amount`` for a coin quoted in
    a token (USDC), ``sol_amount`` for SOL."""
    if order.token_info.quote_token is not None and event.quote_amount is not None:
        return event.quote_amount
    return event.sol_amount


def wallet_quote_change(tx: TransactionInfo, wallet: Pubkey, order: Order) -> int | None:
    """The wallet's change of the coin's quote token in ``tx`` (``None`` for a SOL coin)."""
    quote = order.token_info.quote_token
    return None if quote is None else tx.token_change(wallet, quote)


def _amm_sell_proceeds(tx: TransactionInfo, wallet: Pubkey, order: SellOrder) -> int | None:
    info = order.token_info
    pool = canonical_pool_pda(info.mint, info.quote_mint)
    total: int | None = None
    for event in parse_amm_logs(tx.log_messages):  # malformed lines are logged and skipped
        if isinstance(event, SellEvent) and event.user == wallet and event.pool == pool:
            total = event.user_quote_amount_out + (total or 0)
    return total


def wallet_sol_change(tx: TransactionInfo, wallet: Pubkey, order: Order) -> int:
    """The order's SOL change of the wallet: its system account's, plus, for a SELL on a
    pool, the change of its WSOL account (the SELL closes it to unwrap the proceeds).

    A WSOL account the wallet already held before the SELL is unwrapped along with the
    proceeds; its lamports (rent and any WSOL in it) were the wallet's, not this trade's,
    so they are taken out again: the position books exactly what the trade earned, and the
    wallet's SOL grows by that plus what it had wrapped (outside the bot's books). For a
    WSOL account created and closed by the SELL itself, the correction is zero.
    """
    change = tx.sol_change(wallet)
    if isinstance(order, SellOrder) and order.venue == VENUE_AMM:
        wsol = associated_token_address(wallet, WSOL_MINT, TOKEN_PROGRAM_ID)
        change += tx.sol_change(wsol)
    return change


def transaction_fee(order: Order) -> int:
    """The fee a one-signer transaction with the order's compute budget pays."""
    return budget.transaction_fee(
        compute_unit_limit=order.compute_unit_limit,
        priority_fee_micro_lamports=order.priority_fee,
    )


@attrs.frozen(kw_only=True)
class Booking:
    """What to book for a landed order whose transaction is unreadable."""

    sol_change: int
    token_change: int
    fee: int
    pump_sol: int
    quote_change: int | None = None


def wallet_changes(order: Order, quote: int, fee: int) -> tuple[int, int | None]:
    """(SOL change, quote-token change) of a trade that moved ``quote`` (signed, in the
    coin's quote units) and paid ``fee`` lamports: a SOL coin's quote is SOL, a token
    coin's is that token (its SOL change is the fee alone)."""
    if order.token_info.quote_token is None:
        return quote - fee, None
    return -fee, quote


def estimated_booking(order: Order) -> Booking:
    """Book a landed order from its quote; see the module docstring."""
    fee = transaction_fee(order)
    buy = isinstance(order, BuyOrder)
    sol, quote = wallet_changes(order, -order.sol_amount if buy else order.sol_amount, fee)
    return Booking(
        sol_change=sol,
        token_change=order.token_amount if buy else -order.token_amount,
        fee=fee,
        pump_sol=order.sol_amount,
        quote_change=quote,
    )
