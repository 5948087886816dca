"""The position monitor: watches one position's price and sells it, even before its BUY lands.

It runs in the position scope beside the BUY-confirmation task (see ``trader.py``): one
task per position. Prices do not wake it: its price intake (``_take_price``, the listener of
its ``TradeFeed`` inbox) runs in the router's call for every trade of the coin, folds the
price into the exit state and checks the rules at once, so every price counts (the
trailing stop's peak, the stop loss's trough) however many come in one read. The first
rule that fires is kept (``_fired``: a later price may fall back inside the band before the
task runs) and wakes the task. Idle, the task is parked until a wake-up reschedules it
(:meth:`PositionMonitor.wake`): a rule fired on a price, ``buy_result_available_event``
being set, ``request_exit``, and the shared :class:`~trio_trader.trading.ticker.Ticker`
when a time-based check is due. No task and no nursery per wait, and no wake-up at all
without a reason: the time rules' deadline (``max_hold_time`` / ``sell_after``) is the only
time-based check; past it without a sale (the BUY not confirmed in the classic flow) the
check repeats every ``tick_interval``. Entry prices change only when the BUY's result
arrives, and a forced exit comes through ``request_exit``: so an idle position whose rules
do not fire is never woken. Each wake-up:

1. BUY FAILED and no SELL sent → the position is closed, written, and the scope cancelled.
2. An exit rule fired → the sell loop (``_sell_until_done``).

The sell loop is where the failure orderings are handled. After every failed SELL it asks
*why* before doing anything, and it always waits for the BUY's result first when that is
not known yet (a SELL that overtook its BUY fails with a missing token account; only the
BUY's outcome says whether to re-send or to stop):

* BUY failed → nothing is held: the position closes (``Position.apply_*`` does that).
* BUY confirmed → the tokens are held: re-send with a fresh blockhash (new signature).
  A slippage failure (6003) re-prices: each retry widens the slippage by
  ``reprice_step_bps``. After ``max_sell_attempts`` SELLs the emergency policy decides:
  one last SELL with ``min_sol_output = 0``, or leave the position open and alert.
* The curve refused the SELL because the coin graduated (6005 curve complete, 6081
  already migrated) → the next SELL goes to the coin's PumpSwap pool (the seller routes
  it). While the pool cannot be traded yet (``PoolNotReady``: the completing trade and
  the migration are separate transactions) the SELL is retried every tick, for at most
  ``migration_wait`` seconds, then the position is left open with an ALERT.

A position ends only when its tokens are sold or its BUY failed, so the loop has no other
way out except the attempt bound, which leaves the position open in the database for a
human or the next start's recovery.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import partial
from typing import Literal

import attrs
import trio

from trio_trader.listeners.types import PriceUpdate
from trio_trader.store import Repository
from trio_trader.trading.exits import ExitReason, ExitRules, ExitState, Price, check_quote
from trio_trader.trading.feed import PriceInbox
from trio_trader.trading.orders import VENUE_AMM, Order, OrderState, SellOrder
from trio_trader.trading.platform_aware import AfterWrite, PlatformAwareSeller, TradeError
from trio_trader.trading.position import BUY_FAILED, Position
from trio_trader.trading.pumpswap import PoolNotReady
from trio_trader.trading.ticker import Ticker, Wakeup
from trio_trader.trading.valuation import position_quote

log = logging.getLogger(__name__)

#: pump errors that no re-send fixes (6005/6081 are not: they route to the pool)
FATAL_SELL_ERRORS: frozenset[int] = frozenset()
#: sell slippage: proceeds after fees below ``min_sol_output``
SLIPPAGE_ERROR = 6003
#: PumpSwap's ``ExceededSlippage`` (pump_amm IDL), the pool's 6003
AMM_SLIPPAGE_ERROR = 6004
#: seconds a trade seen on the feed may stand in for a curve read on the first SELL
#: (about five slots)
SEEN_FACTS_MAX_AGE = 2.0


class _SellNotNeeded(Exception):
    """Raised before a SELL's send when its BUY turned out to have failed."""


@attrs.frozen(kw_only=True)
class SellPolicy:
    """How hard the monitor tries to get out.

    Attributes:
        pre_confirmation_sells: allow a SELL while the BUY is unconfirmed (False: the
            classic flow, exits are evaluated only once the BUY confirmed).
        max_sell_attempts: SELL transactions before the emergency policy.
        reprice_step_bps: extra slippage per slippage failure.
        emergency_policy: ``"zero_min_output"`` (one last SELL at any price) or
            ``"leave_open"`` (stop and alert).
        tick_interval: seconds between the checks of a position past its time rule's
            deadline but not sold yet (and between retries for a graduated coin's pool).
        migration_wait: seconds a graduated coin's SELL waits for its pool to be
            tradable before the position is left open with an ALERT.
    """

    pre_confirmation_sells: bool = True
    max_sell_attempts: int = 5
    reprice_step_bps: int = 1_000
    emergency_policy: Literal["zero_min_output", "leave_open"] = "zero_min_output"
    tick_interval: float = 1.0
    migration_wait: float = 120.0


@attrs.define(eq=False)
class SellStats:
    """Running counts of SELLs sent before their BUY confirmed (logged as a success rate)."""

    pre_confirmation_sent: int = 0
    pre_confirmation_succeeded: int = 0
    pre_confirmation_failed: int = 0

    def record(self, order: SellOrder) -> None:
        """Count a resolved pre-confirmation SELL and log the running success rate."""
        if not order.sent_before_buy_confirmed:
            return
        if order.state is OrderState.CONFIRMED:
            self.pre_confirmation_succeeded += 1
        else:
            self.pre_confirmation_failed += 1
        done = self.pre_confirmation_succeeded + self.pre_confirmation_failed
        log.info(
            "pre-confirmation SELLs: %d sent, %d resolved, %d succeeded (%.0f%%)",
            self.pre_confirmation_sent, done, self.pre_confirmation_succeeded,
            100.0 * self.pre_confirmation_succeeded / done,
        )  # fmt: skip


def _pnl_text(position: Position) -> str:
    """``"+0.012000000 SOL (+24.0 %)"`` (a USDC coin's in USDC, its fees in SOL apart)."""
    return position.pnl_text()


def _log_exit(position: Position, reason: str) -> None:
    log.info("%s: exit %s", position.mint, reason, extra=_keys(position))


def _keys(position: Position) -> dict[str, object]:
    """The structured keys of a position's log line (``--log-json``)."""
    return {"mint": str(position.mint), "position_id": position.id, "state": position.status}


async def save(repo: Repository, position: Position, order: Order | None = None) -> None:
    """Write the position (and a resolved order's trade row), even while being cancelled.

    ``update_position`` queues the write and never yields (``store/_repository.py``), so
    a cancelled caller cannot be interrupted in it: no shielded scope is needed.
    """
    resolved = order if order is not None and order.is_resolved else None
    await repo.update_position(position, resolved=resolved)  # one transaction


@attrs.define(eq=False)
class BuyResultEvent:
    """A ``trio.Event`` whose ``set()`` also calls ``on_set`` (the monitor's wake-up).

    The BUY-confirmation task sets it once the BUY is resolved; the monitor needs no task
    of its own waiting on it.
    """

    on_set: Callable[[], None] | None = None
    _event: trio.Event = attrs.field(factory=trio.Event, init=False)

    def set(self) -> None:
        """Set the event (waking its waiters) and call ``on_set``."""
        self._event.set()
        if self.on_set is not None:
            self.on_set()

    def is_set(self) -> bool:
        """Whether :meth:`set` was called."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Wait until :meth:`set` is called (at once if it was)."""
        await self._event.wait()


@attrs.define(eq=False, kw_only=True)
class PositionMonitor:
    """Watches one position; see the module docstring.

    ``buy_result_available_event`` is set by the BUY-confirmation task once the BUY is
    CONFIRMED or FAILED (and the position updated). ``scope`` is the position scope's
    cancel scope, cancelled when the BUY failed before any SELL was sent. ``ticker`` is
    the trader's shared scheduler; without one (a monitor on its own, e.g. in tests) the
    wait's own cancel scope carries the deadline.
    """

    position: Position
    seller: PlatformAwareSeller
    repo: Repository
    rules: ExitRules
    policy: SellPolicy
    prices: PriceInbox
    stats: SellStats = attrs.field(factory=SellStats)
    opened_at: float = attrs.field(factory=trio.current_time)
    scope: trio.CancelScope | None = None
    ticker: Ticker | None = None
    buy_result_available_event: BuyResultEvent = attrs.field(factory=BuyResultEvent)
    last_price: PriceUpdate | None = None
    #: called with every price update seen (the trader's graduation watch)
    on_price: Callable[[PriceUpdate], None] | None = None
    #: the last update's price for ``_priced_amount`` tokens (``valuation.position_quote``)
    _quote: tuple[int, int] | None = attrs.field(default=None, init=False)
    _priced_amount: int | None = attrs.field(default=None, init=False)
    _state: ExitState = attrs.field(init=False)
    _entry_of: tuple[int | None, int | None, int | None] = attrs.field(
        default=(None,) * 3, init=False
    )
    _forced: ExitReason | None = attrs.field(default=None, init=False)
    #: the first rule a price fired (kept: the next price may fall back before the task runs)
    _fired: ExitReason | None = attrs.field(default=None, init=False)
    #: the monitor's task while it is parked in ``_park`` (``wake`` reschedules it)
    _parked: trio.lowlevel.Task | None = attrs.field(default=None, init=False)
    _woken: bool = attrs.field(default=False, init=False)
    _wakeup: Wakeup | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._state = ExitState(opened_at=self.opened_at)
        self.buy_result_available_event.on_set = self.wake

    @property
    def peak_price(self) -> Price | None:
        """The highest price seen since the monitor started (the trailing stop's peak)."""
        return self._state.peak_price

    async def monitor(self) -> None:
        """Watch until the position is closed (or left open by the emergency policy)."""
        self.prices.listen(self._take_price)  # the newest price so far comes at once
        try:
            await self._watch()
        finally:
            self.prices.listen(None)
            if self.ticker is not None:
                self.ticker.cancel(self._wakeup)

    async def _watch(self) -> None:
        position = self.position
        while True:
            self._woken = False  # everything below is re-read: earlier wake-ups are moot
            if self._buy_failed_without_sell():
                await save(self.repo, position)
                if self.scope is not None:
                    self.scope.cancel()
                return
            if position.is_closed:
                await save(self.repo, position)
                return
            reason = self._fired or self._exit_reason()
            if reason is not None or self._sell_in_flight() or position.needs_sell_resend:
                await self._sell_until_done(str(reason or position.exit_reason or "resumed"))
                return
            await self._wait()

    def request_exit(self, reason: ExitReason) -> None:
        """Sell at the next wake-up whatever the rules say (shutdown); wakes the monitor."""
        self._forced = reason
        self.wake()

    def wake(self) -> None:
        """Re-check the position now (BUY result, forced exit, a time-based check is due).

        Cheap and never blocks: it reschedules the parked monitor, or, when the monitor is
        not waiting, makes its next wait return at once.
        """
        self._woken = True
        task, self._parked = self._parked, None
        if task is not None:
            trio.lowlevel.reschedule(task)

    # ------------------------------------------------------------------ waiting

    async def _wait(self) -> None:
        """Return on a :meth:`wake` (a rule fired on a price, among others) or the next
        time-based check."""
        self.seller.prepare_first_sell(self.position)  # off the exit's path (once per coin)
        deadline = self._next_check()
        if self.ticker is not None:
            self._schedule(deadline)
            deadline = math.inf
        if self._woken:
            return
        if deadline == math.inf:
            await self._park()
        else:
            with trio.CancelScope(deadline=deadline):
                await self._park()

    async def _park(self) -> None:
        """Sleep until :meth:`wake` reschedules this task, or a cancellation (the wait's
        deadline, the position's scope) ends the sleep.

        A wake-up is a plain reschedule: cancelling a scope instead raised and caught a
        ``Cancelled`` on every exit's way (~20 µs more per wake-up warm, several times that
        with the cold caches of a first exit).
        """
        self._parked = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._parked = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def _next_check(self) -> float:
        """When to re-check without a price or a wake-up (``inf``: never).

        The time rules' deadline; past it (the rule could not sell yet, e.g. the classic
        flow waiting for the BUY, or the deadline's float sum fell a hair short of the
        rule's difference), every ``tick_interval`` as before.
        """
        deadline = self.rules.next_deadline(self.opened_at)
        if deadline is None:
            return math.inf
        now = trio.current_time()
        return deadline if deadline > now else now + self.policy.tick_interval

    def _schedule(self, at: float) -> None:
        """Have the ticker wake this monitor at ``at`` (keeping an earlier pending one)."""
        assert self.ticker is not None
        current = self._wakeup
        if current is not None and current.pending:
            if current.at <= at:
                return
            self.ticker.cancel(current)
        self._wakeup = None if at == math.inf else self.ticker.call_at(at, self.wake)

    def _take_price(self, update: PriceUpdate) -> bool:
        """The inbox's listener: runs in the router's call, for every trade of the coin.
        True when this price fired an exit rule (and woke the task to sell)."""
        self._see_price(update)
        if self._fired is None:
            self._fired = self._exit_reason()
            if self._fired is not None:
                self.wake()
                return True
        return False

    def _see_price(self, update: PriceUpdate) -> None:
        self.last_price = update
        amount = self.position.token_amount
        self._quote = quote = position_quote(update, amount)
        self._priced_amount = amount
        self._state = self._state.with_quote(*quote)
        if self.on_price is not None:
            self.on_price(update)

    def _current_quote(self) -> tuple[int, int] | None:
        """The last update's price for the tokens held now (``valuation.position_quote``:
        on a pool it depends on the amount, which the BUY's result may change)."""
        last, amount = self.last_price, self.position.token_amount
        if last is None:
            return None
        if self._quote is None or amount != self._priced_amount:
            self._quote, self._priced_amount = position_quote(last, amount), amount
        return self._quote

    # ------------------------------------------------------------------ decisions

    def _buy_failed_without_sell(self) -> bool:
        position = self.position
        buy = position.buy_order
        if buy is None or buy.state is not OrderState.FAILED or position.sell_order is not None:
            return False
        if not position.is_closed:
            position.close(BUY_FAILED)
        log.info("%s: BUY failed before any SELL; position %s closed: PnL %s", position.mint,
                 position.id, _pnl_text(position), extra=_keys(position))  # fmt: skip
        return True

    def _buy_failed(self) -> bool:
        buy = self.position.buy_order
        return buy is not None and buy.state is OrderState.FAILED

    def _sell_in_flight(self) -> bool:
        sell = self.position.sell_order
        return sell is not None and sell.state in (OrderState.PENDING, OrderState.SENT)

    def _exit_reason(self) -> ExitReason | None:
        position = self.position
        buy = position.buy_order
        confirmed = buy is not None and buy.state is OrderState.CONFIRMED
        if not confirmed and not self.policy.pre_confirmation_sells:
            return None
        if self._forced is not None:
            return self._forced
        entry_of = (position.entry_cost, position.worst_entry_cost, position.token_amount)
        if entry_of != self._entry_of:  # the BUY's result (or a resumed row) moved it
            cost, worst, amount = self._entry_of = entry_of
            self._state = self._state.with_entry(
                Price.paid(cost, amount), Price.paid(worst, amount)
            )
        return check_quote(self.rules, self._state, self._current_quote(), trio.current_time)

    # ------------------------------------------------------------------ selling

    async def _sell_until_done(self, reason: str) -> None:
        position = self.position
        # The first SELL of an exit leaves before its log line: with INFO logging on, a
        # formatted, written line costs tens of µs, and no line is worth a later SELL.
        announce = position.sell_order is None
        if not announce:
            _log_exit(position, reason)
        extra_bps = 0
        while not position.is_closed:
            sell = position.sell_order
            if sell is None or not self._sell_in_flight():
                if position.awaiting_buy_result and sell is not None:
                    await self.buy_result_available_event.wait()  # why did the SELL fail?
                    continue
                if self._buy_failed():
                    position.close(BUY_FAILED)
                    await save(self.repo, position)
                    break
                decision = self._next_attempt(sell, extra_bps)
                if decision is None:
                    break
                extra_bps, zero = decision
                sell = await self._send_sell(reason, extra_bps, zero)
                if announce:
                    announce = False
                    _log_exit(position, reason)
                if sell is None:
                    if self._buy_failed():
                        continue  # closes the position as BUY_FAILED just above
                    break
            result = await self.seller.process_order(sell)
            position.apply_sell_result(result)
            self.stats.record(sell)
            await save(self.repo, position, sell)
        if announce:  # no SELL was sent (the BUY failed first, or the attempt bound)
            _log_exit(position, reason)
        # Every way out of the loop has written the position already (one write per change).
        if position.is_closed:
            log.info("%s: position %s closed (%s): PnL %s", position.mint, position.id,
                     position.exit_reason, _pnl_text(position), extra=_keys(position))  # fmt: skip

    def _next_attempt(self, failed: SellOrder | None, extra_bps: int) -> tuple[int, bool] | None:
        """(extra slippage, zero min output) for the next SELL, or None to stop and alert."""
        position = self.position
        if failed is not None:
            if failed.error_code in FATAL_SELL_ERRORS:
                log.error(
                    "ALERT %s: SELL failed with %s (curve done?); position %s left open",
                    position.mint, failed.error_name, position.id, extra=_keys(position),
                )  # fmt: skip
                return None
            slippage = AMM_SLIPPAGE_ERROR if failed.venue == VENUE_AMM else SLIPPAGE_ERROR
            if failed.error_code == slippage:
                extra_bps += self.policy.reprice_step_bps
        if position.sell_attempts < self.policy.max_sell_attempts:
            return extra_bps, False
        if (
            self.policy.emergency_policy == "zero_min_output"
            and position.sell_attempts == self.policy.max_sell_attempts
        ):
            log.warning("%s: %d SELLs failed; emergency SELL at any price", position.mint,
                        position.sell_attempts)  # fmt: skip
            return extra_bps, True
        log.error(
            "ALERT %s: %d SELL attempts failed; position %s left open",
            position.mint, position.sell_attempts, position.id, extra=_keys(position),
        )  # fmt: skip
        return None

    async def _send_sell(self, reason: str, extra_bps: int, zero: bool) -> SellOrder | None:
        position = self.position
        reserves = creator = None
        last = self.last_price
        if last is not None and last.pool is None and position.sell_order is None:
            # a pool's update is no curve to quote from; the newest trade's reserves and
            # creator spare the first SELL its curve read — while they are fresh: a time
            # rule firing long after the last trade reads the curve (a stale, lower price
            # would loosen the SELL's minimum output)
            reserves = last.reserves
            if trio.current_time() - last.seen_at <= SEEN_FACTS_MAX_AGE:
                creator = last.creator

        async def persist_signed(order: SellOrder) -> AfterWrite:
            if self._buy_failed():
                # The BUY failed while this SELL was being built: nothing is held, and a
                # SELL sent now could only fail on chain and burn its fee.
                raise _SellNotNeeded
            position.update_from_sell_order(order, exit_reason=reason)
            # a marker of the SELL in the journal before the send; the row naming it
            # right after the request is written (store/_repository.py: mark_sending)
            self.repo.mark_sending(position, order)
            return partial(self.repo.update_position_nowait, position)

        deadline = trio.current_time() + self.policy.migration_wait
        waited = 0
        try:
            while True:
                try:
                    sell = await self.seller.prepare_and_send_order(
                        position.token_info, position, reserves=reserves, creator=creator,
                        extra_slippage_bps=extra_bps, zero_min_output=zero,
                        before_send=persist_signed,
                    )  # fmt: skip
                    break
                except PoolNotReady as exc:
                    if trio.current_time() >= deadline:
                        raise
                    # once, not every tick: the migration takes its own transaction
                    level = logging.WARNING if waited == 0 else logging.DEBUG
                    log.log(level, "%s: graduated, pool not tradable yet (%s); retrying for "
                            "up to %.0f s", position.mint, exc,
                            deadline - trio.current_time())  # fmt: skip
                    waited += 1
                    await trio.sleep(self.policy.tick_interval)
        except _SellNotNeeded:
            log.info("%s: BUY failed while its SELL was being built; not sent", position.mint)
            return None
        except (TradeError, PoolNotReady) as exc:
            log.error("ALERT %s: cannot build a SELL (%s); position %s left open",
                      position.mint, exc, position.id, extra=_keys(position))  # fmt: skip
            return None
        position.update_from_sell_order(sell, exit_reason=reason)  # the same order: no new attempt
        if sell.sent_before_buy_confirmed:
            self.stats.pre_confirmation_sent += 1
            keys = {**_keys(position), "signature": sell.signature}
            log.info("%s: SELL attempt %d sent before its BUY confirmed", position.mint,
                     sell.attempt, extra=keys)  # fmt: skip
        # A SELL refused at once is already FAILED: the sell loop records its trade row.
        await save(self.repo, position)
        return sell
