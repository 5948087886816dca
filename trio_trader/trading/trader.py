"""``UniversalTrader``: detection → filters → one task (and one nursery) per bought token.

The root nursery (``run``) holds the long-lived services: the pubsub connection, the
blockhash and priority-fee caches, the shared ticker (every monitor's time-based
wake-ups, ``trading/ticker.py``), the listener feeding the trade-feed router and, through
its token sink (``_on_token``, the intake: filters and limits), every position task. A
position task (``_handle_token``) follows the seed plan step by step::

    Position.create_from_token_info
    buyer.prepare_and_send_order → BuyOrder(SENT) → update_from_buy_order → repo.update_position
        ├ before the send: funds check, the position (its id taken) and a marker of the
        │ signed BUY in the journal → repo.mark_sending
        └ right after the request is written: the position row with its signed BUY
          (PENDING, signature + raw bytes) → repo.insert_position_nowait
    async with open_nursery() as scope:                               (the position scope)
        _confirm_buy:    buyer.process_order → apply_buy_result → db → buy_result_available_event
        monitor.monitor: price / event / ticker → exits → SELL (maybe before the BUY confirms)

The seed inserts the bare row first and names the BUY after ``sendTransaction``, which
leaves a window where a crash hides a BUY that may land. Here the row is inserted once,
already holding the signed BUY, journaled and queued to the store's writer right after
the request's bytes are written (the send path's ``after_write`` hook, before the reply
is read): building it (~0.2 ms cold) is off the detection path, and so are the commit and
its fsync (the writer thread). Before the send only a marker of the BUY is journaled
(``repo.mark_sending``, a few dozen bytes, page cache). A killed process therefore
leaves either the row, with the signature that recovery confirms (``repo.begin_session``
replays the journal before the rows are read), or, killed between the write and the row,
the marker: the next start then waits for the ledger and adopts the BUY from the wallet's
history once it has landed or expired, as after a machine crash (which can lose the row
too). If the repository failed, no new BUY is sent (``DatabaseFailed``); open positions
keep selling.

An extreme fast BUY (no curve read first) takes the steps up to its request's write in the
listener's own task: the intake hands it back as urgent work (``_buy_now``), which the pubsub
reader awaits before it reads again, so no pass through the scheduler lies between the
create decoded and the write; its position task is started right after, with the order's
exchange in flight, to read the reply and do the rest (``BuyStart``;
``PlatformAwareBuyer.start_order`` / ``finish_order``); with ``send_endpoints`` it is
written on every endpoint with a kept-alive connection, the others sent by a task each,
and the position task collects the outcome. Without a kept-alive connection (or in a dry
run) the position task sends it, as any other BUY.

``max_active_mints`` counts live position tasks (the mint is registered by the sink
before the task starts, so two tokens arriving together cannot both slip past the
limit); ``max_buys`` counts BUYs actually sent. One position's failure is logged and
kept inside its task: it never takes the root nursery, or another position, down, and a
position whose task raised is resumed from its last state after a back-off (its tokens
must not wait for a restart).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.chain.blockhash import BlockhashCache
from trio_trader.chain.errors import RpcError
from trio_trader.chain.priority_fee import PriorityFee
from trio_trader.chain.pubsub import PubsubClient, Urgent
from trio_trader.listeners.block import BlockListener
from trio_trader.listeners.filters import TokenFilter
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import NewToken
from trio_trader.store import Repository, RepositoryFailed
from trio_trader.trading.exits import ExitReason, ExitRules
from trio_trader.trading.feed import PriceInbox, TradeFeed
from trio_trader.trading.funds import WalletFunds
from trio_trader.trading.monitor import PositionMonitor, SellPolicy, SellStats, save
from trio_trader.trading.orders import BuyOrder
from trio_trader.trading.platform_aware import (
    AfterWrite,
    BuyStart,
    PlatformAwareBuyer,
    PlatformAwareSeller,
    TradeError,
)
from trio_trader.trading.pool_watch import PoolWatch
from trio_trader.trading.position import Position
from trio_trader.trading.reconcile import Reconciler, ReconcileReport
from trio_trader.trading.rehearsal import Rehearsal, start_rehearsing
from trio_trader.trading.spin import start_spinning
from trio_trader.trading.ticker import Ticker
from trio_trader.trading.token_info import TokenInfo

log = logging.getLogger(__name__)

#: reason of a position whose BUY could not even be sent
BUY_NOT_SENT = "buy_not_sent"
#: seconds between retries of a BUY confirmation that raised
CONFIRM_RETRY_DELAY = 1.0
#: first and longest pause before resuming a position whose task raised
CRASH_RETRY_DELAY = 1.0
CRASH_RETRY_MAX = 60.0


class CannotPay(TradeError):
    """The wallet cannot pay a BUY at its worst cost on top of the BUYs in flight."""


class DatabaseFailed(TradeError):
    """The repository failed a write: no new BUY is sent (open positions still sell)."""


@attrs.frozen(kw_only=True)
class TraderSettings:
    """The trader's knobs (built from the config by the app)."""

    max_active_mints: int = 3
    max_buys: int = 0  # 0: unlimited
    listener: str = "logs"
    commitment: str = "processed"
    token_filter: TokenFilter = attrs.field(factory=TokenFilter)
    rules: ExitRules = attrs.field(factory=ExitRules)
    policy: SellPolicy = attrs.field(factory=SellPolicy)
    #: take tokens the wallet holds without an open position as positions (and sell them)
    adopt_orphans: bool = False
    #: pages (of 1000) of getSignaturesForAddress read at start-up: each unknown signature
    #: costs a getTransaction before the bot trades, so the walk is bounded (and logged)
    history_max_pages: int = 2
    #: ``[latency] spin``: a task keeps the event loop polling instead of sleeping
    #: (``trading/spin.py``: lower wake-up latency for a whole core)
    spin: bool = False
    #: ``[latency] rehearse_ms`` in seconds: the last create and a BUY of it re-run, never
    #: sent, this often (``trading/rehearsal.py``); 0: off
    rehearse: float = 0.0


@attrs.define(eq=False)
class TraderStats:
    """Counters for logs, the dashboard and the run summary."""

    tokens_seen: int = 0
    #: always 0 since the intake is a direct call (it has no queue to overflow); kept for
    #: the reports and benchmarks that print it
    tokens_dropped: int = 0
    filtered: int = 0
    skipped_capacity: int = 0
    skipped_max_buys: int = 0
    buys_sent: int = 0
    buys_not_sent: int = 0
    skipped_funds: int = 0
    skipped_quote: int = 0
    positions_started: int = 0
    positions_recovered: int = 0
    position_errors: int = 0
    skipped_paused: int = 0


@attrs.define(eq=False, kw_only=True)
class UniversalTrader:
    """Runs detection and every position; see the module docstring."""

    pubsub: PubsubClient
    blockhash: BlockhashCache
    priority_fee: PriorityFee
    buyer: PlatformAwareBuyer
    seller: PlatformAwareSeller
    repo: Repository
    settings: TraderSettings
    feed: TradeFeed = attrs.field(factory=TradeFeed)
    stats: TraderStats = attrs.field(factory=TraderStats)
    sell_stats: SellStats = attrs.field(factory=SellStats)
    #: the monitors' shared scheduler (time rules' deadlines), run in the root nursery
    ticker: Ticker = attrs.field(factory=Ticker)
    position_tasks: dict[Pubkey, Position | None] = attrs.field(factory=dict)
    buy_count: int = 0
    listener: LogsListener | BlockListener | None = None
    funds: WalletFunds | None = None
    _buys_in_progress: int = attrs.field(default=0, init=False)
    _accepting: bool = attrs.field(default=True, init=False)
    #: ``trio_trader pause``: no new BUYs; open positions are still managed
    paused: bool = attrs.field(default=False, init=False)
    #: mints whose position the operator asked to sell (until the position task ends)
    _exit_requests: set[Pubkey] = attrs.field(factory=set, init=False)
    _positions: trio.Nursery | None = attrs.field(default=None, init=False)
    _monitors: dict[Pubkey, PositionMonitor] = attrs.field(factory=dict, init=False)
    reconciliation: ReconcileReport | None = attrs.field(default=None, init=False)
    #: set once start-up recovery is done and every recovered position is running
    _recovered: trio.Event = attrs.field(factory=trio.Event, init=False)
    #: ``[latency] rehearse_ms`` (None when off)
    rehearsal: Rehearsal | None = attrs.field(default=None, init=False)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the services, resume unfinished positions, then trade until cancelled."""
        async with trio.open_nursery() as root:
            self._positions = root
            if self.settings.spin:
                start_spinning(root)
            await root.start(self.ticker.run)
            await root.start(self.pubsub.run)
            await root.start(self.blockhash.run)
            await root.start(self.priority_fee.run)
            if self.funds is not None:
                await root.start(self.funds.run)
            await self._recover(root)
            self._recovered.set()
            self.listener = self._listener()
            await root.start(self.listener.run, self._on_token, self.feed.publish)
            if self.settings.rehearse > 0:
                rehearsal = Rehearsal(
                    self.settings.rehearse,
                    self._last_create,
                    self.buyer.rehearse,
                    busy=lambda: self._buys_in_progress > 0,
                )
                if start_rehearsing(root, rehearsal):
                    self.rehearsal = rehearsal
            task_status.started()

    def _last_create(self) -> TokenInfo | None:
        """The listener's last create decoded again (``Rehearsal.replay``)."""
        last = None if self.listener is None else self.listener.last_create
        return None if last is None else last.token_info()

    def stop_buying(self) -> None:
        """Take no new tokens; open positions keep running (graceful shutdown)."""
        self._accepting = False

    async def liquidate(self) -> None:
        """Stop buying, ask every position to sell now, and wait until none is left.

        In manual mode (``never_sell``) nothing is sold: the positions stay open in the
        database. Callers bound the wait (``move_on_after``); whatever is still running
        when they cancel is resumed by the next start. A stop during start-up recovery
        (which, after a crash, first waits out the last run's blockhashes) lets it finish
        first, so the positions it resumes are sold too.
        """
        self.stop_buying()
        await self._recovered.wait()
        while self.position_tasks:
            if not self.settings.rules.never_sell:
                for monitor in self._monitors.values():
                    monitor.request_exit(ExitReason.SHUTDOWN)
            await trio.sleep(0.1)

    def request_manual_exit(self, mint: Pubkey) -> bool:
        """Sell the position of ``mint`` now (``trio_trader sell``), through its monitor.

        Like an exit rule firing: the SELL may leave before the BUY confirms. The request
        holds for the position task's life, so a monitor that does not exist yet (the BUY
        is being sent) or is restarted after a crash sells too. False when this run has no
        position task for ``mint``.
        """
        if mint not in self.position_tasks:
            return False
        self._exit_requests.add(mint)
        monitor = self._monitors.get(mint)
        if monitor is not None:
            monitor.request_exit(ExitReason.MANUAL)
        return True

    @property
    def active_positions(self) -> int:
        """Live position tasks (the ``max_active_mints`` count)."""
        return len(self.position_tasks)

    def _listener(self) -> LogsListener | BlockListener:
        keep = self.settings.rehearse > 0  # the rehearsal decodes the last create again
        if self.settings.listener == "block":
            # blockSubscribe has no "processed" blocks: confirmed is the fastest it offers.
            return BlockListener(self.pubsub, commitment="confirmed", keeps_last_create=keep)
        return LogsListener(
            self.pubsub,
            commitment=self.settings.commitment,
            wants=self.feed.holds,
            keeps_last_create=keep,
        )

    # ------------------------------------------------------------------ intake

    def _on_token(self, token: NewToken) -> Urgent | None:
        """Listener sink: filter the token and start its BUY, without blocking.

        Called in the listener's task: a channel to a separate intake task would cost the
        BUY a pass through Trio's scheduler (~0.1–0.5 ms, with whatever else runs in it).
        Registering the mint here, before its BUY starts, keeps ``max_active_mints``
        exact: two tokens in one notification cannot both slip past the limit.

        A BUY that reads nothing first (extreme fast mode, ``buyer.sends_at_once``) is
        handed back as urgent work (``_buy_now``), which the listener's task awaits before
        it handles anything else; any other starts its position task here, as before.
        """
        self.stats.tokens_seen += 1
        info = token.token_info
        if not self._accepting or info.mint in self.position_tasks:
            return None
        skip = self._intake_refusal(token)
        if skip is not None:
            log.info(
                "skip %s: %s (new token, created in %s)", info.display_name, skip, token.signature
            )
            return None
        self.position_tasks[info.mint] = None
        self._buys_in_progress += 1  # until its BUY is sent (or given up)
        if self.buyer.sends_at_once(info):
            return partial(self._buy_now, info)
        assert self._positions is not None
        self._positions.start_soon(self._position_task, info, None)
        return None

    async def _buy_now(self, token_info: TokenInfo) -> None:
        """The BUY up to its request written, in the listener's task (urgent work: no
        scheduler pass between the create decoded and the write), then its position task,
        which reads the reply and carries on as ``_handle_token`` does.

        Every step before the write is the position task's own (``_persist_signed``: the
        funds check, the marker, the position); nothing here waits for a reply, and an
        error, or a write that cannot be made at once, leaves the rest to the position
        task (``BuyStart``). That task is started whatever happens here, so a registered
        mint always has its task.
        """
        start = BuyStart()
        try:
            await self.buyer.start_order(
                token_info, start, before_send=partial(self._persist_signed, token_info)
            )
        finally:
            assert self._positions is not None
            self._positions.start_soon(self._position_task, token_info, None, start)

    def _intake_refusal(self, token: NewToken) -> str | None:
        """Why this token is not bought now (and the counter that says so), or None."""
        info = token.token_info
        if self.paused:
            self.stats.skipped_paused += 1
            return "buying is paused"
        reason = self.settings.token_filter.rejects(token, now_unix=time.time())
        if reason is not None:
            self.stats.filtered += 1
            return reason
        refused = self.buyer.refusal(info)
        if refused is not None:
            # A token quote needs v2 and a budget in that token (trade.quote_mints);
            # a custom quote mint is never traded.
            self.stats.skipped_quote += 1
            return refused
        if self.active_positions >= self.settings.max_active_mints:
            self.stats.skipped_capacity += 1
            return f"{self.active_positions} positions active"
        limit = self.settings.max_buys
        if limit and self.buy_count + self._buys_in_progress >= limit:
            self.stats.skipped_max_buys += 1
            return f"max_buys {limit} reached"
        return None

    # ------------------------------------------------------------------ one position

    async def _position_task(
        self, token_info: TokenInfo, recovered: Position | None, start: BuyStart | None = None
    ) -> None:
        """One position's task: errors stay here; the mint is unregistered at the end.

        An unexpected exception (a bug, a reply nobody foresaw) is logged and the position
        is resumed from its in-memory state after a growing pause: its row is already
        written, and ``_resume`` copes with every state (BUY unsent, PENDING, SENT,
        resolved; SELL in flight or failed).
        """
        self.stats.positions_started += 1
        position, delay = recovered, CRASH_RETRY_DELAY
        try:
            while True:
                try:
                    if position is None:
                        await self._handle_token(token_info, start)
                    else:
                        await self._resume(position)
                    return
                except Exception:
                    self.stats.position_errors += 1
                    position = self.position_tasks.get(token_info.mint)
                    if position is None or position.id is None:
                        log.exception(
                            "position of %s crashed before its row existed", token_info.mint
                        )
                        return
                    log.exception("position %s (%s) crashed; resuming in %.0f s",
                                  position.id, token_info.mint, delay)  # fmt: skip
                await trio.sleep(delay)
                delay = min(2 * delay, CRASH_RETRY_MAX)
        finally:
            self.position_tasks.pop(token_info.mint, None)
            self._exit_requests.discard(token_info.mint)

    async def _handle_token(self, token_info: TokenInfo, start: BuyStart | None = None) -> None:
        """Buy one token and run its position scope (the seed plan's ``_handle_token``);
        ``start``: the BUY as far as ``_buy_now`` took it (its request written, maybe)."""
        mint = token_info.mint
        with self.feed.subscribe(mint) as prices:
            try:
                persist = partial(self._persist_signed, token_info)
                if start is None:
                    buy_order = await self.buyer.prepare_and_send_order(
                        token_info, before_send=persist
                    )
                else:
                    buy_order = await self.buyer.finish_order(
                        token_info, start, before_send=persist
                    )
            except (TradeError, RpcError, ValueError) as exc:
                if self.position_tasks.get(mint) is not None:
                    raise  # signed and maybe sent: resumed (confirmed or expired) as a crash
                # No position means no marker either (``_persist_signed`` makes both at once).
                if isinstance(exc, CannotPay):
                    self.stats.skipped_funds += 1
                self.stats.buys_not_sent += 1
                log.warning("BUY of %s not sent: %s", token_info.display_name, exc)
                return
            finally:
                self._buys_in_progress -= 1
            position = self.position_tasks[mint]
            assert position is not None  # ``_persist_signed`` ran: the order is SENT or FAILED
            self.buy_count += 1
            self.stats.buys_sent += 1  # ``_persist_signed`` attached this very order already
            # Logged here, once the BUY is out: formatting it on the way cost the BUY time.
            log.info("new token %s: BUY %s %s", token_info.display_name, buy_order.signature,
                     buy_order.state.value)  # fmt: skip
            if buy_order.is_resolved:  # refused by the node at once: it never landed
                self._release_funds(buy_order)
                position.apply_buy_result(buy_order.to_result())
                await save(self.repo, position, buy_order)
                return
            await save(self.repo, position)  # shielded: the BUY is out, its row must say so
            monitor = self._monitor(position, prices, opened_at=buy_order.sent_at)
            async with self._pool_watch(monitor, resumed=False):
                await self._run_scope(position, buy_order, monitor)

    async def _persist_signed(self, token_info: TokenInfo, order: BuyOrder) -> AfterWrite:
        """The BUY's ``before_send``: the funds check, then the position and its marker."""
        if self.funds is not None and not self.funds.can_pay(order):
            raise CannotPay(
                f"the wallet cannot pay this BUY and its fees and rent "
                f"({self.funds.available} lamports available)"
            )
        # Before the send: the position's id and a marker of the BUY in the journal;
        # the row with its signed (PENDING) BUY is inserted right after the request is
        # written (the hook returned), journaled and queued: building it and its
        # commit are off this path; the next start replays the journal, or reconciles
        # a marker no row followed (store/_repository.py: mark_sending).
        # The position is made here, holding the order, and becomes the live one only
        # once the marker is accepted: a refused one leaves no position naming a BUY
        # that was never sent (it would be resumed, i.e. sent).
        position = Position.create_from_token_info(token_info)
        position.update_from_buy_order(order)
        try:
            self.repo.mark_sending(position, order)
        except RepositoryFailed as exc:
            self.stop_buying()
            log.error("no new BUYs: the database failed (%s); open positions keep "
                      "selling; restart the bot once the disk is fixed", exc)  # fmt: skip
            raise DatabaseFailed(str(exc)) from exc
        self.position_tasks[token_info.mint] = position
        if self.funds is not None:
            self.funds.reserve(order)
        return partial(self.repo.insert_position_nowait, position)

    def _monitor(
        self,
        position: Position,
        prices: PriceInbox,
        *,
        opened_at: float | None,
    ) -> PositionMonitor:
        return PositionMonitor(
            position=position,
            seller=self.seller,
            repo=self.repo,
            rules=self.settings.rules,
            policy=self.settings.policy,
            prices=prices,
            stats=self.sell_stats,
            opened_at=trio.current_time() if opened_at is None else opened_at,
            ticker=self.ticker,
        )

    async def _run_scope(
        self, position: Position, buy_order: BuyOrder | None, monitor: PositionMonitor
    ) -> None:
        """The position scope: BUY confirmation and the monitor, linked by the event."""
        self._monitors[position.mint] = monitor
        if position.mint in self._exit_requests:
            monitor.request_exit(ExitReason.MANUAL)
        try:
            async with trio.open_nursery() as scope:
                monitor.scope = scope.cancel_scope
                if buy_order is not None and not buy_order.is_resolved:
                    scope.start_soon(self._confirm_buy, position, buy_order, monitor)
                else:
                    monitor.buy_result_available_event.set()
                scope.start_soon(monitor.monitor)
        finally:
            self._monitors.pop(position.mint, None)

    async def _confirm_buy(
        self, position: Position, buy_order: BuyOrder, monitor: PositionMonitor
    ) -> None:
        """Resolve the BUY, update the position and the DB, then wake the monitor."""
        try:
            while not buy_order.is_resolved:
                try:
                    result = await self.buyer.process_order(buy_order)
                except Exception:
                    log.exception("confirming BUY of %s; retrying", position.mint)
                    await trio.sleep(CONFIRM_RETRY_DELAY)
                    continue
                self._release_funds(buy_order)
                position.apply_buy_result(result)
                await save(self.repo, position, buy_order)
        finally:
            monitor.buy_result_available_event.set()

    @property
    def monitors(self) -> Mapping[Pubkey, PositionMonitor]:
        """The running monitors by mint (read only: the dashboard)."""
        return self._monitors

    def _release_funds(self, buy_order: BuyOrder) -> None:
        if self.funds is not None:
            self.funds.release(buy_order)

    # ------------------------------------------------------------------ restart recovery

    async def _recover(self, root: trio.Nursery) -> None:
        """Reconcile with the chain, then resume every unresolved order and open position.

        Unresolved orders come first: a position may be closed (its SELL confirmed) while its
        BUY's own confirmation was still being processed; resolving that BUY completes its
        PnL. Open positions with nothing in flight still hold tokens: they are monitored again.
        Reconciliation (``trading/reconcile.py``) books what landed while the bot was down
        and adopts what the wallet did or holds without the database knowing, first.
        """
        # First the store replays what the last run had queued (its journal) and says
        # whether rows may still be missing (a machine crash): then reconciliation waits.
        lost = False if self.buyer.chain.paper else await self.repo.begin_session()
        unresolved = await self.repo.get_unresolved_positions()
        seen = {p.id for p in unresolved}
        still_open = [p for p in await self.repo.get_open_positions() if p.id not in seen]
        for position in await self._reconcile([*unresolved, *still_open], lost):
            if position.mint in self.position_tasks:
                continue
            self.position_tasks[position.mint] = position
            self.stats.positions_recovered += 1
            log.info("resuming position %s (%s, %s)", position.id, position.mint, position.status)
            root.start_soon(self._position_task, position.token_info, position)

    async def _reconcile(self, positions: list[Position], lost: bool) -> list[Position]:
        """The positions to resume after reconciling; the database's alone if it fails."""
        chain = self.buyer.chain
        if chain.paper:
            # A dry run's positions never touched the chain: the wallet's real history and
            # holdings are not theirs to book (trading/dry_run.py).
            log.info("dry run: start-up reconciliation with the chain skipped")
            return positions
        reconciler = Reconciler(
            rpc=chain.rpc,
            wallet=chain.wallet,
            repo=self.repo,
            adopt_orphans=self.settings.adopt_orphans,
            max_pages=self.settings.history_max_pages,
        )
        self.reconciliation = reconciler.report
        try:
            resumed = await reconciler.run(positions, rows_may_be_lost=lost)
        except Exception:
            # Never let a bug here keep the known positions from being sold; a row with no
            # BUY is not closed blind, though (the wallet may hold its tokens).
            log.exception("start-up reconciliation failed; resuming from the database")
            return [p for p in positions if p.buy_order is not None]
        if lost and reconciler.report.history_read:
            # Before any position task sends again: the dead run's markers are accounted
            # for; a history unread leaves the debt for the next start (store journal).
            self.repo.reconciled()
        return resumed

    async def _resume(self, position: Position) -> None:
        if position.buy_order is None:
            await self._resolve_unsent(position)
            return
        buy = position.buy_order
        opened_at = None
        if buy.sent_at_wall is not None:
            opened_at = trio.current_time() - max(0.0, time.time() - buy.sent_at_wall)
        with self.feed.subscribe(position.mint) as prices:
            monitor = self._monitor(position, prices, opened_at=opened_at)
            async with self._pool_watch(monitor, resumed=True):
                await self._run_scope(position, buy, monitor)

    async def _resolve_unsent(self, position: Position) -> None:
        """A row without a BUY order whose mint the wallet does not hold: nothing bought.

        The signed BUY is written before it is sent (``_handle_token``), so a row of this
        version that names no BUY order proves that no BUY of it ever left. A row migrated
        from the old schema names none either, yet its tokens may be held: reconciliation
        adopts those holdings into the row (giving it a BUY order) before this runs, and
        keeps such rows from being resumed when the holdings cannot be read.
        """
        log.info("position %s (%s): its BUY was never sent; closed", position.id, position.mint)
        position.close(BUY_NOT_SENT)
        await save(self.repo, position)

    # ------------------------------------------------------------------ graduated coins

    @asynccontextmanager
    async def _pool_watch(self, monitor: PositionMonitor, *, resumed: bool) -> AsyncIterator[None]:
        """Beside a position's scope: once its coin graduates, its PumpSwap pool's prices
        reach the feed (``trading/pool_watch.py``); leaving ends that subscription."""
        watch = PoolWatch(
            position=monitor.position, pubsub=self.pubsub, publish=self.feed.publish,
            commitment=self.settings.commitment,
        )  # fmt: skip
        monitor.on_price = watch.see
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(watch.run, self.seller.chain, resumed=resumed))
            try:
                yield
            finally:
                nursery.cancel_scope.cancel()
