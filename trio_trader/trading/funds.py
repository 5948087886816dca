"""Can the wallet pay the next BUY? A balance kept fresh off the hot path.

A BUY the wallet cannot pay still lands and fails, and its fee is burnt; a run of them
(a burst of launches on a nearly empty wallet) burns fees for nothing. Reading the
balance before each BUY would put an RPC round trip on the detection path, so
:class:`WalletFunds` re-reads it in the background (like the blockhash cache) and keeps
it conservative in between:

* every BUY sent *reserves* its worst cost (``max_sol_cost``, the rent of every account
  it may create and the fees of the BUY and of the SELL that must follow it: the same
  bound as the start-up check, ``budget.one_buy_cost``) until it is resolved;
* a resolved BUY's reservation is released and its real SOL change applied to the cached
  balance at once (the next read may or may not include it yet: counting it twice only
  under-states what is available, never over-states it).

``available`` is therefore never more than what the wallet will have once every BUY in
flight has landed. Proceeds of SELLs are not counted until the next read.
"""

from __future__ import annotations

import logging

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.budget import TRANSACTIONS_PER_BUY, BuyRents
from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.trading.booking import transaction_fee
from trio_trader.trading.orders import BuyOrder

log = logging.getLogger(__name__)

#: seconds between balance reads
REFRESH_INTERVAL = 2.0


def worst_buy_cost(order: BuyOrder, rents: BuyRents) -> int:
    """The most one signed BUY (and the SELL after it) can take from the wallet."""
    return order.max_sol_cost + rents.total + TRANSACTIONS_PER_BUY * transaction_fee(order)


@attrs.define(eq=False)
class WalletFunds:
    """The wallet's spendable SOL, re-read every ``refresh_interval`` seconds."""

    rpc: RpcClient
    wallet: Pubkey
    rents: BuyRents
    refresh_interval: float = REFRESH_INTERVAL
    lamports: int | None = None
    reads: int = 0
    read_failures: int = 0
    _reserved: dict[str, int] = attrs.field(factory=dict)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Read now, report started, then re-read forever (a failed read keeps the last)."""
        await self.refresh()
        task_status.started()
        while True:
            await trio.sleep(self.refresh_interval)
            await self.refresh()

    async def refresh(self) -> None:
        try:
            self.lamports = await self.rpc.get_balance(self.wallet)
            self.reads += 1
        except RpcError as exc:
            self.read_failures += 1
            log.warning("wallet balance read failed (%s); keeping the last value", exc)

    @property
    def reserved(self) -> int:
        """Lamports held back for BUYs in flight."""
        return sum(self._reserved.values())

    @property
    def available(self) -> int | None:
        """What a new BUY may spend (``None`` before the first successful read)."""
        if self.lamports is None:
            return None
        return self.lamports - self.reserved

    def can_pay(self, order: BuyOrder) -> bool:
        """Whether the wallet can pay ``order`` at worst, on top of the BUYs in flight.

        Before any successful read the answer is yes: the start-up check has seen the
        balance, and a BUY that cannot be paid costs only its fee.
        """
        available = self.available
        return available is None or worst_buy_cost(order, self.rents) <= available

    def reserve(self, order: BuyOrder) -> None:
        """Hold the BUY's worst cost back until it is resolved."""
        self._reserved[order.signature or str(id(order))] = worst_buy_cost(order, self.rents)

    def release(self, order: BuyOrder) -> None:
        """The BUY is resolved: drop its reservation and apply its real SOL change."""
        held = self._reserved.pop(order.signature or str(id(order)), None)
        if held is not None and self.lamports is not None and order.sol_change is not None:
            self.lamports += order.sol_change
