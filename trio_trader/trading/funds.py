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

A coin quoted in a token (USDC) is paid in that token: its BUY needs ``max_sol_cost`` of
the token (the wallet's associated token account, read with the SOL balance; ``quotes``
names the tokens to read) and, in SOL, only the rent and the two fees. Both are reserved
and released the same way, each in its own unit.
"""

from __future__ import annotations

import logging

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.budget import TRANSACTIONS_PER_BUY, BuyRents
from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump.addresses import TOKEN_PROGRAM_ID, associated_token_address
from trio_trader.trading.booking import transaction_fee
from trio_trader.trading.orders import BuyOrder

log = logging.getLogger(__name__)

#: seconds between balance reads
REFRESH_INTERVAL = 2.0


def worst_buy_cost(order: BuyOrder, rents: BuyRents) -> int:
    """The most lamports one signed BUY (and the SELL after it) can take from the wallet.

    A BUY paid in a token (USDC) takes no SOL at the curve, and the creator vault it may
    open is a token account (the trader pays its rent) rather than a bare SOL account.
    """
    fees = rents.total + TRANSACTIONS_PER_BUY * transaction_fee(order)
    if order.token_info.quote_token is None:
        return order.max_sol_cost + fees
    return fees - rents.creator_vault + rents.token_account


def quote_ata(wallet: Pubkey, quote: Pubkey) -> Pubkey:
    """The wallet's account of a quote token (USDC is an SPL Token mint)."""
    return associated_token_address(wallet, quote, TOKEN_PROGRAM_ID)


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
    #: the quote tokens whose balance is read (``trade.quote_mints``' USDC)
    quotes: tuple[Pubkey, ...] = ()
    #: base units per quote token (``None`` until read; a missing account reads 0)
    quote_units: dict[Pubkey, int] = attrs.field(factory=dict)
    _reserved: dict[str, int] = attrs.field(factory=dict)
    _reserved_quote: dict[str, tuple[Pubkey, int]] = attrs.field(factory=dict)

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
            for quote in self.quotes:
                units = await self.rpc.get_token_account_balance(quote_ata(self.wallet, quote))
                if quote not in self.quote_units:
                    log.info("wallet holds %d base units of quote %s", units or 0, quote)
                self.quote_units[quote] = units or 0
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

    def quote_available(self, quote: Pubkey) -> int | None:
        """Base units of ``quote`` a new BUY may spend (``None`` before it was read)."""
        units = self.quote_units.get(quote)
        if units is None:
            return None
        held = sum(n for mint, n in self._reserved_quote.values() if mint == quote)
        return units - held

    def can_pay(self, order: BuyOrder) -> bool:
        """Whether the wallet can pay ``order`` at worst, on top of the BUYs in flight:
        its SOL, and for a coin quoted in a token also that token's ``max_sol_cost``.

        Before any successful read the answer is yes: the start-up check has seen the
        balance, and a BUY that cannot be paid costs only its fee.
        """
        available = self.available
        if available is not None and worst_buy_cost(order, self.rents) > available:
            return False
        quote = order.token_info.quote_token
        if quote is None:
            return True
        units = self.quote_available(quote)
        return units is None or order.max_sol_cost <= units

    def reserve(self, order: BuyOrder) -> None:
        """Hold the BUY's worst cost back until it is resolved."""
        key = order.signature or str(id(order))
        self._reserved[key] = worst_buy_cost(order, self.rents)
        quote = order.token_info.quote_token
        if quote is not None:
            self._reserved_quote[key] = (quote, order.max_sol_cost)

    def release(self, order: BuyOrder) -> None:
        """The BUY is resolved: drop its reservation and apply its real SOL (and quote
        token) change."""
        key = order.signature or str(id(order))
        held = self._reserved.pop(key, None)
        if held is not None and self.lamports is not None and order.sol_change is not None:
            self.lamports += order.sol_change
        quoted = self._reserved_quote.pop(key, None)
        if quoted is not None and order.quote_change is not None:
            mint = quoted[0]
            if mint in self.quote_units:
                self.quote_units[mint] += order.quote_change
