"""Dry run: real quotes and real signed transactions, simulated instead of sent.

``run --dry-run`` wires :class:`DryRunChain` in place of :class:`ChainAccess`. Everything
before the send is the live bot's: the live feed, curves read from the node, quotes,
compute budget, priority fee, the transaction built and signed with the wallet's key.
Only the send/confirm seam differs, and nothing ever reaches ``sendTransaction``:

* a BUY is handed to ``simulateTransaction`` instead, with ``sigVerify`` (the very bytes a
  live run would send, signature checked; no ``replaceRecentBlockhash``, so a stale
  blockhash fails as it would live). A simulation error is the order
  FAILED with the program error, like a landed failure but with no fee (nothing was
  charged). A clean simulation is the order CONFIRMED at once: the SOL at the curve is
  read from the simulated pump TradeEvent (``booking.pump_sol``, the quote when the logs
  carry none), the tokens are exactly ``token_amount`` (pump's ``buy`` moves exactly
  that), and the wallet's SOL change is that cost plus the fee the signed compute budget
  pays. Rent for the token account is not booked: a paper position never owns one.
* a SELL cannot be simulated: the wallet never received the BUY's tokens, so the node
  would refuse it (no token account). It is booked as a paper fill at its quote, read from
  the live curve when it was signed (``SellOrder.sol_output``, pump fees taken off), less
  the transaction fee. Exits therefore fire on the live feed and fill at the live price.

Start-up reconciliation (``trading/reconcile.py``) is skipped (``ChainAccess.paper``):
the wallet's real history and holdings are not the paper positions', and booking a real
BUY into the paper books would paper-sell it while the real tokens stay. A restarted dry
run resumes its open paper positions from its database alone.

The BUY's simulation runs against the real wallet, so it needs the SOL the BUY would cost
(the funds check at startup and before each BUY stays on, and is what a live run will
need too); nothing is ever spent. The positions and PnL go to a database marked
``mode = dry-run`` (``store``) and are shown as paper by ``report``.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, ClassVar

import attrs
import trio

from trio_trader.chain import types as t
from trio_trader.chain.errors import RpcBadReply, RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.types import TransactionInfo
from trio_trader.trading.booking import pump_sol, transaction_fee, wallet_changes
from trio_trader.trading.orders import BuyOrder, Order, OrderState, TradeResult
from trio_trader.trading.platform_aware import AfterWrite, ChainAccess, _error_parts

log = logging.getLogger(__name__)

#: ``error_name`` of a dry-run order whose simulation could not be run at all
SIMULATION_UNAVAILABLE = "SimulationUnavailable"


@attrs.define(eq=False, kw_only=True)
class DryRunChain(ChainAccess):
    """:class:`ChainAccess` that simulates instead of sending; see the module docstring."""

    paper: ClassVar[bool] = True

    #: the simulated logs of each signed BUY, by signature, until it is processed
    _logs: dict[str, tuple[str, ...]] = attrs.field(factory=dict, init=False)

    async def send(self, order: Order, after_write: AfterWrite | None = None) -> None:
        """Simulate a BUY (FAILED on its error); a SELL is a paper fill. Never sends.

        ``after_write`` (the row after the "send") runs on the way out, as a send's does.
        """
        try:
            await self._simulate(order)
        finally:
            if after_write is not None:
                after_write()

    async def _simulate(self, order: Order) -> None:
        if isinstance(order, BuyOrder):
            try:
                value = await simulate_signed(self.rpc, order.raw_bytes())
            except RpcError as exc:
                order.mark_failed(
                    error=str(exc),
                    error_name=SIMULATION_UNAVAILABLE,
                    error_message=f"simulateTransaction failed: {exc}",
                )
                return
            err = value.get("err")
            if err is not None:
                code, name, message = _error_parts(order, err)
                order.mark_failed(
                    error=err,
                    error_code=code,
                    error_name=name or "SimulationFailed",
                    error_message=message or str(err),
                )
                return
            self._logs[order.signature or ""] = _log_lines(value.get("logs"))
        order.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())

    async def process(self, order: Order) -> TradeResult:
        """Book the simulated (BUY) or quoted (SELL) fill at once: no waiting."""
        if order.is_resolved:
            return order.to_result()
        if order.state is OrderState.PENDING:
            # A row from before a crash: it was never simulated here, so simulate now.
            await self.send(order)
            if order.is_resolved:
                return order.to_result()
        fee = transaction_fee(order)
        if isinstance(order, BuyOrder):
            logs = self._logs.pop(order.signature or "", ())
            cost = _simulated_pump_sol(logs, self, order)
            sol, quote = wallet_changes(order, -cost, fee)  # a USDC coin pays in USDC
            return order.mark_confirmed(
                slot=None, fee_lamports=fee, sol_change=sol,
                token_change=order.token_amount, pump_sol=cost, quote_change=quote,
            )  # fmt: skip
        proceeds = order.sol_amount
        sol, quote = wallet_changes(order, proceeds, fee)
        return order.mark_confirmed(
            slot=None, fee_lamports=fee, sol_change=sol,
            token_change=-order.token_amount, pump_sol=proceeds, quote_change=quote,
        )  # fmt: skip


async def simulate_signed(rpc: RpcClient, raw: bytes) -> dict[str, Any]:
    """``simulateTransaction``'s value with the signatures verified (``RpcError``, or
    ``RpcBadReply`` for a malformed reply; ``err`` checked to be a TransactionError)."""
    method = "simulateTransaction"
    opts = {"encoding": "base64", "commitment": "processed", "sigVerify": True}
    result = await rpc.call(method, [base64.b64encode(raw).decode(), opts])
    value = t.context_value(method, result)
    if not isinstance(value, dict):
        raise RpcBadReply(f"malformed {method} reply: value is not an object")
    t.transaction_err(method, value.get("err"))
    return value


def _log_lines(logs: object) -> tuple[str, ...]:
    """The simulation's log lines; anything malformed in them is dropped (untrusted reply)."""
    if not isinstance(logs, list):
        return ()
    return tuple(line for line in logs if isinstance(line, str))


def _simulated_pump_sol(logs: tuple[str, ...], chain: ChainAccess, order: BuyOrder) -> int:
    """The BUY's SOL at the curve from its simulated TradeEvent, else its quote."""
    tx = TransactionInfo(
        signature=None, slot=0, block_time=None, err=None, fee=0, log_messages=logs,
        account_keys=(), pre_balances=(), post_balances=(),
        pre_token_balances=(), post_token_balances=(),
    )  # fmt: skip
    cost = pump_sol(tx, chain.wallet, order)
    if cost is None:
        log.warning("dry-run BUY %s: no TradeEvent in the simulation; booked at its quote",
                    order.mint)  # fmt: skip
        return order.sol_cost
    return cost
