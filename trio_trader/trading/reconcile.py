"""Start-up reconciliation: the wallet on chain against the database, before anything resumes.

The database is the bot's memory, the chain is the truth. While the bot was down (or
before this schema existed) things may have happened that the rows do not say; each
step below brings the rows in line with the ledger, exact to the lamport where the chain
tells the amounts, and writes every change before any position task starts:

0. **Rows that may be lost** (``run(rows_may_be_lost=True)``: the store's
   ``begin_session`` found that the last run died with a machine crash, so rows of
   orders it sent may be missing even from its journal): wait until every transaction
   it could have sent has landed or expired (``trading/horizon.py``), so that the steps
   below see all of them.
1. **Unresolved orders that landed.** Each PENDING/SENT order's signature is looked up
   with ``getTransaction`` (which, unlike the status cache, remembers old transactions).
   Found → booked CONFIRMED or FAILED from the transaction itself, so a BUY or SELL that
   landed long before the restart is never declared expired. Not found → left to the
   normal confirmation (rebroadcast until it lands or its blockhash expires).
2. **Unknown transactions.** ``getSignaturesForAddress(wallet, until=<newest landed
   signature the database knows>)``, at most ``max_pages`` pages. Each successful one the
   database does not name is read; the pump ``TradeEvent``\\ s whose ``user`` is the wallet
   are booked:

   * a BUY of a mint with no open position → a new position with a CONFIRMED BUY built
     from the transaction (signature, slot, fee, wallet SOL and token deltas);
   * a BUY of a mint whose open row has no BUY order (a migrated or bare row) → that
     row's BUY;
   * a BUY of a mint whose open position already has a CONFIRMED BUY and no SELL in
     flight (a second BUY: never sent by this bot) → logged as an ALERT and merged into
     that position (its tokens and cost add up, the trade is recorded as BUY attempt
     2…), so one SELL sells everything and the PnL stays the wallet's delta. With that
     position's BUY or SELL still in flight the merge could be overwritten: it is only
     reported (ALERT) and its tokens are left for the next start;
   * a SELL of a mint with an open position → booked as a CONFIRMED SELL; it closes the
     position when it sold all the position's tokens (exit reason ``sold_outside``),
     else it lowers the position's token amount and adds to ``sol_received``;
   * a SELL of a mint with no open position → only logged.
   * a FAILED transaction (the store may have lost the row of an order that was sent
     and failed: its fee is still the wallet's) naming a pump mint → booked as a FAILED
     SELL attempt of that mint's open position (which then sells again), else as a
     position whose BUY FAILED (closed, PnL = the fee); one naming no mint → logged.

3. **Token holdings.** ``getTokenAccountsByOwner`` (SPL Token and Token-2022): each mint
   held with no open position is logged as a WARNING ``orphan tokens`` line; with
   ``adopt_orphans`` and a tradable curve it becomes a position (CONFIRMED BUY with no
   signature, ``sol_spent`` 0: its cost is unknown, so its realised PnL is its proceeds)
   that is monitored and sold like any other.
4. **Rows with no BUY order** (migrated from the old schema, or a bare row): when the
   wallet holds that mint, the holding is adopted into the row (CONFIRMED BUY with no
   signature; ``sol_spent`` kept from the row when the old schema recorded it, else 0);
   otherwise the row is resumed and closed as ``buy_not_sent`` as before. If the holdings
   cannot be read, such rows are neither closed nor resumed this run.

A failing RPC read ends only its own step (logged); the positions are resumed from
what is known. Public API::

    Reconciler(rpc=, wallet=, repo=, adopt_orphans=False, max_pages=2, page_limit=1000)
    await reconciler.run(positions) -> list[Position]     (the positions to resume)
    reconciler.report: ReconcileReport
"""

from __future__ import annotations

import logging
import time

import attrs
import trio
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump.errors import error_from_transaction_err
from trio_trader.store import Repository
from trio_trader.trading import wallet_scan
from trio_trader.trading.booking import pump_sol, wallet_quote_change, wallet_sol_change
from trio_trader.trading.horizon import wait_until_sent_expired
from trio_trader.trading.monitor import save
from trio_trader.trading.orders import BuyOrder, Order, OrderState, SellOrder, TradeResult
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

log = logging.getLogger(__name__)

#: exit reason of a position whose tokens were sold by a transaction the bot did not send
SOLD_OUTSIDE = "sold_outside"
_IN_FLIGHT = frozenset({OrderState.PENDING, OrderState.SENT})


@attrs.define(eq=False)
class ReconcileReport:
    """What reconciliation found and did (for logs, tests and the run summary)."""

    resolved_on_chain: int = 0
    unknown_transactions: int = 0
    adopted_buys: int = 0
    adopted_sells: int = 0
    merged_buys: int = 0
    unbooked: int = 0
    orphans: dict[Pubkey, int] = attrs.field(factory=dict)
    orphans_adopted: int = 0
    rows_adopted: int = 0
    rows_deferred: int = 0
    history_bound_hit: bool = False
    #: failed transactions of the wallet the database did not know, booked (their fees)
    adopted_failed: int = 0
    #: after an unclean end: the block height waited past first (``trading/horizon.py``)
    waited_for_height: int | None = None
    #: the wallet's history was read (step 2): every landed transaction is accounted for
    history_read: bool = False


@attrs.define(eq=False, kw_only=True)
class Reconciler:
    """Runs the steps of the module docstring once, at start-up."""

    rpc: RpcClient
    wallet: Pubkey
    repo: Repository
    adopt_orphans: bool = False
    max_pages: int = 2
    page_limit: int = wallet_scan.MAX_PAGE_LIMIT
    report: ReconcileReport = attrs.field(factory=ReconcileReport)
    _open: dict[Pubkey, Position] = attrs.field(factory=dict, init=False)
    _new: list[Position] = attrs.field(factory=list, init=False)

    async def run(
        self, positions: list[Position], *, rows_may_be_lost: bool = False
    ) -> list[Position]:
        """Reconcile; returns the positions to resume (``positions`` updated, plus new ones).

        ``rows_may_be_lost`` (the store's ``begin_session``): the last run died and may have
        sent orders whose rows are missing; wait until they landed or expired first.
        """
        if rows_may_be_lost:
            self.report.waited_for_height = await wait_until_sent_expired(self.rpc)
        await self._resolve_landed(positions)
        for position in positions:
            if position.is_open:
                self._open.setdefault(position.mint, position)
        try:
            await self._scan_history()
            self.report.history_read = True
        except RpcError as exc:
            log.error("reconciliation: wallet history unreadable (%s); skipped", exc)
        try:
            holdings = await wallet_scan.token_holdings(self.rpc, self.wallet)
        except RpcError as exc:
            log.error("reconciliation: token accounts unreadable (%s); skipped", exc)
            holdings = None
        deferred = await self._rows_without_buy(holdings)
        if holdings is not None:
            await self._orphans(holdings)
        return [
            p
            for p in [*positions, *self._new]
            if p not in deferred and (p.is_open or _in_flight(p))
        ]

    # ------------------------------------------------------------------ 1. landed orders

    async def _resolve_landed(self, positions: list[Position]) -> None:
        for position in positions:
            for order in (position.buy_order, position.sell_order):
                if order is None or order.is_resolved or order.signature is None:
                    continue
                tx = await self._transaction(order.signature)
                if tx is None:
                    continue  # not landed (yet): the normal confirmation decides
                result = book_landed(order, tx, self.wallet)
                log.info("%s %s landed while the bot was down: %s",
                         order.side, order.mint, result.state)  # fmt: skip
                if isinstance(order, BuyOrder):
                    position.apply_buy_result(result)
                else:
                    position.apply_sell_result(result)
                await save(self.repo, position, order)
                self.report.resolved_on_chain += 1

    async def _transaction(self, signature: str) -> TransactionInfo | None:
        try:
            return await self.rpc.get_transaction(Signature.from_string(signature), "confirmed")
        except (RpcError, ValueError) as exc:
            log.warning("getTransaction %s: %s", signature, exc)
            return None

    # ------------------------------------------------------------------ 2. unknown txs

    async def _scan_history(self) -> None:
        until = await self.repo.newest_landed_signature()
        known = await self.repo.known_signatures()
        entries, bound_hit = await wallet_scan.wallet_history(
            self.rpc, self.wallet, until=until, page_limit=self.page_limit,
            max_pages=self.max_pages,
        )  # fmt: skip
        if bound_hit:
            self.report.history_bound_hit = True
            log.warning("reconciliation: wallet history longer than %d pages of %d; older "
                        "transactions not checked", self.max_pages, self.page_limit)  # fmt: skip
        for entry in entries:
            if entry.signature in known:
                continue
            tx = await self._transaction(entry.signature)
            if tx is None:
                log.warning("reconciliation: %s listed but not readable; skipped", entry.signature)
                continue
            if entry.err is not None or tx.err is not None:
                await self._book_failed(entry.signature, tx)  # traded nothing, paid its fee
                continue
            for trade in wallet_scan.wallet_trades(tx, self.wallet):
                self.report.unknown_transactions += 1
                if trade.token_change > 0:
                    await self._adopt_buy(entry.signature, tx, trade)
                elif trade.token_change < 0:
                    await self._adopt_sell(entry.signature, tx, trade)

    async def _adopt_buy(
        self, signature: str, tx: TransactionInfo, trade: wallet_scan.WalletTrade
    ) -> None:
        position = self._open.get(trade.mint)
        if position is not None and position.buy_order is not None:
            await self._second_buy(position, signature, tx, trade)
            return
        if position is None:
            token_info = await self._token_info(trade.mint)
            if token_info is None:
                self.report.unbooked += 1
                log.error("ALERT: BUY %s of %s not booked: the token cannot be read",
                          signature, trade.mint)  # fmt: skip
                return
            position = Position.create_from_token_info(token_info)
        order = landed_buy(position.token_info, signature, tx, trade, self.wallet)
        position.update_from_buy_order(order)
        position.apply_buy_result(order.to_result())
        if position.id is None:
            await self.repo.insert_position(position)
            self._open[trade.mint] = position
            self._new.append(position)
        await save(self.repo, position, order)
        self.report.adopted_buys += 1
        log.warning("adopted BUY %s of %s: %d tokens for %d lamports (position %s)",
                    signature, trade.mint, trade.token_change, -trade.sol_change,
                    position.id)  # fmt: skip

    async def _second_buy(
        self,
        position: Position,
        signature: str,
        tx: TransactionInfo,
        trade: wallet_scan.WalletTrade,
    ) -> None:
        buy = position.buy_order
        assert buy is not None
        selling = position.sell_order is not None and position.sell_order.state in _IN_FLIGHT
        if buy.state is not OrderState.CONFIRMED or selling:
            self.report.unbooked += 1
            log.error("ALERT: second BUY %s of %s while position %s has an order in flight; "
                      "not booked", signature, trade.mint, position.id)  # fmt: skip
            return
        order = landed_buy(position.token_info, signature, tx, trade, self.wallet)
        order.attempt = buy.attempt + 1
        position.token_amount = (position.token_amount or 0) + trade.token_change
        position.sol_spent = (position.sol_spent or 0) - trade.sol_change
        if position.quote_mint is not None:
            position.quote_spent = (position.quote_spent or 0) - (trade.quote_change or 0)
        position.entry_price = None  # display only; the average is not the first BUY's
        await self.repo.update_position(position, resolved=order)
        self.report.merged_buys += 1
        log.error("ALERT: second BUY %s of %s (%d tokens) merged into position %s",
                  signature, trade.mint, trade.token_change, position.id)  # fmt: skip

    async def _adopt_sell(
        self, signature: str, tx: TransactionInfo, trade: wallet_scan.WalletTrade
    ) -> None:
        position = self._open.get(trade.mint)
        buy = position.buy_order if position is not None else None
        if position is None or buy is None or buy.state is not OrderState.CONFIRMED:
            self.report.unbooked += 1
            log.warning("SELL %s of %s (%d tokens, %+d lamports): no open position holds "
                        "them; not booked", signature, trade.mint, -trade.token_change,
                        trade.sol_change)  # fmt: skip
            return
        sold = -trade.token_change
        order = landed_sell(position, signature, tx, trade, self.wallet)
        held = position.token_amount or 0
        if sold >= held:
            position.token_amount = max(held, sold)
            position.update_from_sell_order(order, exit_reason=SOLD_OUTSIDE)
            position.apply_sell_result(order.to_result())
            self._open.pop(trade.mint, None)
        else:
            position.token_amount = held - sold
            position.sol_received = (position.sol_received or 0) + trade.sol_change
            if position.quote_mint is not None:
                position.quote_received = (position.quote_received or 0) + (trade.quote_change or 0)
            position.sell_attempts += 1
        await save(self.repo, position, order)
        self.report.adopted_sells += 1
        log.warning("adopted SELL %s of %s: %d tokens for %+d lamports (position %s%s)",
                    signature, trade.mint, sold, trade.sol_change, position.id,
                    ", closed" if position.is_closed else "")  # fmt: skip

    async def _book_failed(self, signature: str, tx: TransactionInfo) -> None:
        mint = wallet_scan.traded_mint(tx, self._open)
        change = tx.sol_change(self.wallet)
        self.report.unknown_transactions += 1
        if mint is None:
            self.report.unbooked += 1
            log.warning("failed transaction %s of the wallet (%+d lamports) names no pump "
                        "mint; not booked", signature, change)  # fmt: skip
            return
        position = self._open.get(mint)
        buy = position.buy_order if position is not None else None
        if position is not None and buy is not None and buy.state is OrderState.CONFIRMED:
            sell = SellOrder(
                token_info=position.token_info, token_amount=position.token_amount or 0,
                min_sol_output=0, sol_output=0, attempt=position.next_sell_attempt,
                signature=signature,
            )  # fmt: skip
            result = book_landed(sell, tx, self.wallet)
            position.update_from_sell_order(sell, exit_reason=position.exit_reason or "resumed")
            position.apply_sell_result(result)
            order: Order = sell
        elif position is None:
            token_info = await self._token_info(mint)
            if token_info is None:
                self.report.unbooked += 1
                log.error("ALERT: failed transaction %s of %s (%+d lamports) not booked: the "
                          "token cannot be read", signature, mint, change)  # fmt: skip
                return
            position = Position.create_from_token_info(token_info)
            order = BuyOrder(token_info=token_info, token_amount=0, max_sol_cost=0, sol_cost=0,
                             signature=signature)  # fmt: skip
            result = book_landed(order, tx, self.wallet)
            position.update_from_buy_order(order)
            position.apply_buy_result(result)
            await self.repo.insert_position(position)
        else:
            self.report.unbooked += 1
            log.error("ALERT: failed transaction %s of %s (%+d lamports) not booked: position "
                      "%s has its BUY in flight", signature, mint, change, position.id)  # fmt: skip
            return
        await save(self.repo, position, order)
        self.report.adopted_failed += 1
        log.warning("booked failed %s %s of %s: %+d lamports (position %s)", order.side,
                    signature, mint, change, position.id)  # fmt: skip

    # ------------------------------------------------------------------ 3./4. holdings

    async def _rows_without_buy(self, holdings: dict[Pubkey, int] | None) -> list[Position]:
        """Adopt held tokens into open rows that name no BUY; returns the rows to defer."""
        rows = [p for p in self._open.values() if p.buy_order is None]
        if holdings is None:
            for row in rows:
                log.error("position %s (%s) has no BUY order and the wallet's holdings are "
                          "unknown: left open, not resumed", row.id, row.mint)  # fmt: skip
            self.report.rows_deferred += len(rows)
            return rows
        for row in rows:
            held = holdings.get(row.mint, 0)
            if not held:
                continue  # nothing bought: the trader closes it as buy_not_sent
            order = held_buy(row.token_info, held, cost=row.sol_spent or 0)
            row.update_from_buy_order(order)
            row.apply_buy_result(order.to_result())
            await save(self.repo, row)
            self.report.rows_adopted += 1
            log.warning("position %s (%s) names no BUY but the wallet holds %d of it: "
                        "adopted", row.id, row.mint, held)  # fmt: skip
        return []

    async def _orphans(self, holdings: dict[Pubkey, int]) -> None:
        for mint, held in holdings.items():
            if mint in self._open or mint in wallet_scan.QUOTE_TOKENS:
                continue  # USDC / WSOL are the wallet's money, not a position
            self.report.orphans[mint] = held
            log.warning("orphan tokens: the wallet holds %d of %s with no open position%s",
                        held, mint, "; adopting" if self.adopt_orphans else "")  # fmt: skip
            if self.adopt_orphans:
                await self._adopt_orphan(mint, held)

    async def _adopt_orphan(self, mint: Pubkey, held: int) -> None:
        try:
            token_info = await self._token_info(mint)
            tradable = token_info is not None and await wallet_scan.curve_is_tradable(
                self.rpc, token_info
            )
        except RpcError as exc:
            log.error("orphan %s: cannot read its curve (%s); not adopted", mint, exc)
            return
        if token_info is None or not tradable:
            log.warning("orphan %s: no tradable bonding curve; not adopted", mint)
            return
        position = Position.create_from_token_info(token_info)
        order = held_buy(token_info, held, cost=0)
        position.update_from_buy_order(order)
        position.apply_buy_result(order.to_result())
        await self.repo.insert_position(position)
        self._open[mint] = position
        self._new.append(position)
        self.report.orphans_adopted += 1

    async def _token_info(self, mint: Pubkey) -> TokenInfo | None:
        known = await self.repo.get_token_info(mint)
        if known is not None:
            return known
        return await wallet_scan.token_info_from_chain(self.rpc, mint)


# ---------------------------------------------------------------------- order builders


def book_landed(order: Order, tx: TransactionInfo, wallet: Pubkey) -> TradeResult:
    """Resolve an unresolved order from its landed transaction (as the confirmer would)."""
    if order.state is OrderState.PENDING:
        wall = float(tx.block_time) if tx.block_time is not None else time.time()
        order.mark_sent(sent_at=trio.current_time(), sent_at_wall=wall)
    sol = wallet_sol_change(tx, wallet, order)  # a pool SELL's WSOL unwrap is booking's
    tokens = tx.token_change(wallet, order.token_info.mint)
    quote = wallet_quote_change(tx, wallet, order)
    if tx.err is None:
        return order.mark_confirmed(
            slot=tx.slot, fee_lamports=tx.fee, sol_change=sol, token_change=tokens,
            pump_sol=pump_sol(tx, wallet, order), quote_change=quote,
        )  # fmt: skip
    parts = error_from_transaction_err(tx.err)
    return order.mark_failed(
        error=tx.err,
        error_code=parts.code if parts else None,
        error_name=parts.name if parts else "TransactionFailed",
        error_message=parts.explanation if parts else str(tx.err),
        slot=tx.slot,
        fee_lamports=tx.fee,
        sol_change=sol,
        token_change=tokens,
        quote_change=quote,
    )


def _paid(trade: wallet_scan.WalletTrade) -> int:
    """What a trade moved in its coin's quote: lamports, or the quote token's units."""
    return trade.sol_change if trade.quote_change is None else trade.quote_change


def landed_buy(
    token_info: TokenInfo,
    signature: str,
    tx: TransactionInfo,
    trade: wallet_scan.WalletTrade,
    wallet: Pubkey,
) -> BuyOrder:
    """A CONFIRMED BUY of a transaction the bot did not send (amounts from the chain)."""
    order = BuyOrder(
        token_info=token_info,
        token_amount=trade.token_change,
        max_sol_cost=-_paid(trade),
        sol_cost=-_paid(trade),
        state=OrderState.CONFIRMED,
        signature=signature,
        sent_at_wall=float(tx.block_time) if tx.block_time is not None else None,
        confirmed_slot=tx.slot,
        fee_lamports=tx.fee,
        sol_change=trade.sol_change,
        token_change=trade.token_change,
        quote_change=trade.quote_change,
    )
    order.pump_sol = pump_sol(tx, wallet, order)  # the price paid: exit rules, not rent
    return order


def landed_sell(
    position: Position,
    signature: str,
    tx: TransactionInfo,
    trade: wallet_scan.WalletTrade,
    wallet: Pubkey,
) -> SellOrder:
    """A CONFIRMED SELL of a transaction the bot did not send (amounts from the chain)."""
    order = SellOrder(
        token_info=position.token_info,
        token_amount=-trade.token_change,
        min_sol_output=0,
        sol_output=_paid(trade),
        attempt=position.next_sell_attempt,
        state=OrderState.CONFIRMED,
        signature=signature,
        sent_at_wall=float(tx.block_time) if tx.block_time is not None else None,
        confirmed_slot=tx.slot,
        fee_lamports=tx.fee,
        sol_change=trade.sol_change,
        token_change=trade.token_change,
        quote_change=trade.quote_change,
    )
    order.pump_sol = pump_sol(tx, wallet, order)
    return order


def held_buy(token_info: TokenInfo, held: int, *, cost: int) -> BuyOrder:
    """A CONFIRMED BUY standing for tokens held with no known transaction (no signature).

    ``cost`` (the books) is what the wallet is known to have paid, often 0. The price the
    exit rules measure from is the tokens' value at the curve when they were adopted
    (spot price, no fees): what they paid once is unknown or includes rent (a migrated
    row's ``sol_spent`` was the whole wallet change), and a 0 entry would disable every
    price rule. So take profit / stop loss of an adopted holding count from adoption.
    """
    vs, vt = token_info.virtual_sol_reserves, token_info.virtual_token_reserves
    value = held * vs // vt if vs and vt else None
    return BuyOrder(
        token_info=token_info,
        token_amount=held,
        max_sol_cost=cost,
        sol_cost=cost,
        state=OrderState.CONFIRMED,
        sol_change=-cost,
        token_change=held,
        pump_sol=value or None,
        quote_change=None if token_info.quote_token is None else 0,  # its cost is unknown
    )


def _in_flight(position: Position) -> bool:
    return any(
        order is not None and order.state in _IN_FLIGHT
        for order in (position.buy_order, position.sell_order)
    )
