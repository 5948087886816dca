"""PositionMonitor decisions with a scripted seller and the real repository (MockClock).

The repository runs SQLite in a worker thread. With ``autojump_threshold=0`` Trio's
MockClock counts a thread wait as idleness and jumps to the next deadline *during* a DB
write, so these tests use a clock that only jumps after 50 ms of real idleness.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump.addresses import TOKEN_2022_PROGRAM_ID
from trio_trader.store import Repository, open_repository
from trio_trader.trading.exits import ExitReason, ExitRules
from trio_trader.trading.feed import PriceInbox
from trio_trader.trading.monitor import PositionMonitor, SellPolicy
from trio_trader.trading.orders import BuyOrder, OrderState, SellOrder
from trio_trader.trading.position import Position
from trio_trader.trading.pumpswap import PoolNotReady
from trio_trader.trading.ticker import Ticker
from trio_trader.trading.token_info import TokenInfo

TOKENS = 1_000_000_000


def token_info() -> TokenInfo:
    return TokenInfo(
        mint=Pubkey.new_unique(), name="T", symbol="T", uri="u",
        bonding_curve=Pubkey.new_unique(), associated_bonding_curve=Pubkey.new_unique(),
        creator=Pubkey.new_unique(), user=Pubkey.new_unique(), token_program=TOKEN_2022_PROGRAM_ID,
    )  # fmt: skip


def sent(order: BuyOrder | SellOrder) -> None:
    order.attach_transaction(
        signature=Keypair().sign_message(b"x"), raw_transaction=b"raw",
        blockhash="11111111111111111111111111111111", last_valid_block_height=100,
    )  # fmt: skip
    order.mark_sent(sent_at=trio.current_time(), sent_at_wall=0.0)


@attrs.define(eq=False)
class ScriptedSeller:
    """Sends instantly; each SELL's outcome is the next entry of ``outcomes``."""

    outcomes: list[int | None]  # None: confirmed; an int: failed with that error code
    orders: list[SellOrder] = attrs.field(factory=list)
    kwargs: list[dict[str, Any]] = attrs.field(factory=list)
    pool_not_ready: int = 0  # builds that raise PoolNotReady first (a pool not migrated)
    not_ready_after_graduation: int = 0  # pool_not_ready set when a SELL fails with 6005
    builds: int = 0
    prepared: list[Pubkey] = attrs.field(factory=list)

    async def prepare_and_send_order(
        self, token_info: TokenInfo, position: Position, **kw: Any
    ) -> SellOrder:
        self.builds += 1
        if self.pool_not_ready:
            self.pool_not_ready -= 1
            raise PoolNotReady("pool not found (not migrated)")
        order = SellOrder(
            token_info=token_info, token_amount=position.sellable_token_amount or 0,
            min_sol_output=1, sol_output=2, attempt=position.next_sell_attempt,
        )  # fmt: skip
        order.attach_transaction(
            signature=Keypair().sign_message(b"x"), raw_transaction=b"raw",
            blockhash="11111111111111111111111111111111", last_valid_block_height=100,
        )  # fmt: skip
        before_send = kw.pop("before_send", None)
        after_write = None if before_send is None else await before_send(order)
        if after_write is not None:
            after_write()  # as the send path runs it, once the request is written
        order.mark_sent(sent_at=trio.current_time(), sent_at_wall=0.0)
        self.orders.append(order)
        self.kwargs.append(kw)
        return order

    def prepare_first_sell(self, position: Position) -> None:
        self.prepared.append(position.mint)

    async def process_order(self, order: SellOrder) -> Any:
        await trio.sleep(0.1)
        code = self.outcomes.pop(0)
        if code is None:
            return order.mark_confirmed(slot=1, fee_lamports=5000, sol_change=90, token_change=-1)
        if code == 6005:
            self.pool_not_ready = self.not_ready_after_graduation
        return order.mark_failed(error_code=code, error_name=str(code), slot=1, fee_lamports=5000,
                                 sol_change=-5000, token_change=0)  # fmt: skip


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture(params=["own deadline", "shared ticker"])
async def ticker(request: pytest.FixtureRequest, nursery: trio.Nursery) -> Ticker | None:
    """Every monitor test runs twice: standalone, and woken by a running shared ticker."""
    if request.param == "own deadline":
        return None
    shared = Ticker()
    nursery.start_soon(shared.run)
    return shared


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    async with open_repository(tmp_path / "m.db") as r:
        yield r


async def open_position(repo: Repository) -> tuple[Position, BuyOrder]:
    info = token_info()
    position = Position.create_from_token_info(info)
    await repo.insert_position(position)
    buy = BuyOrder(token_info=info, token_amount=TOKENS, max_sol_cost=120, sol_cost=100)
    sent(buy)
    position.update_from_buy_order(buy)
    await repo.update_position(position)
    return position, buy


def make_monitor(
    position: Position,
    seller: ScriptedSeller,
    repo: Repository,
    rules: ExitRules,
    ticker: Ticker | None = None,
    cls: type[PositionMonitor] = PositionMonitor,
    **policy: Any,
) -> tuple[PositionMonitor, PriceInbox]:
    inbox = PriceInbox(position.mint)
    monitor = cls(
        position=position, seller=seller, repo=repo, rules=rules,  # type: ignore[arg-type]
        policy=SellPolicy(tick_interval=5.0, **policy), prices=inbox, ticker=ticker,
    )  # fmt: skip
    return monitor, inbox


def price_update(position: Position, vsol: int) -> PriceUpdate:
    """A trade on ``position``'s curve leaving ``vsol`` lamports for 1e10 base units."""
    return PriceUpdate(
        mint=position.mint, virtual_sol_reserves=vsol, virtual_token_reserves=10**10,
        real_sol_reserves=0, real_token_reserves=1, is_buy=True, user=Pubkey.default(),
        sol_amount=1, token_amount=1, signature="s", slot=1, seen_at=0.0,
    )  # fmt: skip


@attrs.define(eq=False, kw_only=True)
class CountingMonitor(PositionMonitor):
    """Counts its checks of the exit rules: one per wake-up."""

    checks: int = 0

    def _exit_reason(self) -> ExitReason | None:
        self.checks += 1
        return super()._exit_reason()


@attrs.frozen
class Watched:
    """A monitor that counts its checks, its position, BUY, seller and price channel."""

    monitor: CountingMonitor
    position: Position
    buy: BuyOrder
    seller: ScriptedSeller
    prices: PriceInbox


async def watched(
    repo: Repository, rules: ExitRules, ticker: Ticker | None, *, confirmed: bool = True,
    **policy: Any,
) -> Watched:  # fmt: skip
    """An open position, a seller that confirms its one SELL, and a :class:`CountingMonitor`."""
    position, buy = await open_position(repo)
    seller = ScriptedSeller([None])
    monitor, prices = make_monitor(position, seller, repo, rules, ticker, CountingMonitor, **policy)
    assert isinstance(monitor, CountingMonitor)
    if confirmed:
        resolve_buy(position, buy, monitor, ok=True)  # entry: 100 lamports for 1e9 units
    return Watched(monitor, position, buy, seller, prices)


def resolve_buy(position: Position, buy: BuyOrder, monitor: PositionMonitor, ok: bool) -> None:
    if ok:
        result = buy.mark_confirmed(slot=1, fee_lamports=5000, sol_change=-100, token_change=TOKENS)
    else:
        result = buy.mark_failed(error_code=6002, slot=1, fee_lamports=5000, sol_change=-5000,
                                 token_change=0)  # fmt: skip
    position.apply_buy_result(result)
    monitor.buy_result_available_event.set()


async def test_failed_sell_waits_for_the_buy_result_then_resends(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[3012, None])  # overtook its BUY, then sells
    monitor, _prices = make_monitor(position, seller, repo, ExitRules(sell_after=0.0), ticker)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            await trio.sleep(30)
            assert len(seller.orders) == 1  # no blind re-send while the BUY is unknown
            assert seller.orders[0].sent_before_buy_confirmed
            resolve_buy(position, buy, monitor, ok=True)
    assert [o.state for o in seller.orders] == [OrderState.FAILED, OrderState.CONFIRMED]
    assert position.is_closed
    stored = await repo.get_position(position.id or 0)
    assert stored.is_closed
    assert stored.realized_pnl_lamports == position.realized_pnl_lamports == -5000 + 90 - 100
    assert monitor.stats.pre_confirmation_failed == 1


async def test_buy_failed_without_a_sell_closes_and_cancels_the_scope(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[])
    monitor, _prices = make_monitor(position, seller, repo, ExitRules(take_profit_bps=5000), ticker)
    sibling_cancelled = False

    async def sibling() -> None:
        nonlocal sibling_cancelled
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            sibling_cancelled = True
            raise

    with trio.fail_after(100):
        async with trio.open_nursery() as scope:
            monitor.scope = scope.cancel_scope
            scope.start_soon(sibling)
            scope.start_soon(monitor.monitor)
            await trio.sleep(5)
            resolve_buy(position, buy, monitor, ok=False)
    assert sibling_cancelled
    assert seller.orders == []
    assert (await repo.get_position(position.id or 0)).status == "failed"


@pytest.mark.parametrize("code", [6005, 6081])
async def test_a_sell_refused_by_a_graduated_curve_is_sent_again(
    repo: Repository, clock: trio.testing.MockClock, code: int, ticker: Ticker | None
) -> None:
    # 6005 / 6081 used to end in an ALERT with the tokens unsold: now the next SELL is
    # built (the seller routes it to the pool) and the position closes.
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[code, None])
    monitor, _prices = make_monitor(position, seller, repo, ExitRules(sell_after=1.0), ticker)
    resolve_buy(position, buy, monitor, ok=True)
    with trio.fail_after(100):
        await monitor.monitor()
    assert [o.state for o in seller.orders] == [OrderState.FAILED, OrderState.CONFIRMED]
    assert seller.kwargs[1]["extra_slippage_bps"] == 0  # not a slippage failure
    assert position.is_closed
    assert (await repo.get_position(position.id or 0)).is_closed


async def test_pool_not_ready_is_retried_each_tick_until_it_is(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[6005, None], not_ready_after_graduation=3)
    monitor, _prices = make_monitor(position, seller, repo, ExitRules(sell_after=1.0), ticker)
    resolve_buy(position, buy, monitor, ok=True)
    with trio.fail_after(100):
        await monitor.monitor()
    assert seller.builds == 5  # the curve SELL, three waits for the pool, the pool SELL
    assert position.is_closed
    assert position.sell_attempts == 2  # a wait for the pool sends nothing


async def test_pool_never_ready_leaves_the_position_open_after_the_wait(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[], pool_not_ready=10_000)
    monitor, _prices = make_monitor(
        position, seller, repo, ExitRules(sell_after=1.0), ticker, migration_wait=30.0
    )
    resolve_buy(position, buy, monitor, ok=True)
    start = trio.current_time()
    with trio.fail_after(100):
        await monitor.monitor()
    assert seller.orders == []
    assert trio.current_time() - start >= 30.0
    assert position.is_open
    assert (await repo.get_position(position.id or 0)).is_open


async def test_slippage_failures_widen_then_emergency_zero_min_output(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[6003, 6003, None])
    monitor, _prices = make_monitor(
        position, seller, repo, ExitRules(sell_after=0.0), ticker, max_sell_attempts=2,
        reprice_step_bps=500,
    )  # fmt: skip
    resolve_buy(position, buy, monitor, ok=True)
    with trio.fail_after(100):
        await monitor.monitor()
    assert [k.get("extra_slippage_bps") for k in seller.kwargs] == [0, 500, 1000]
    assert [k.get("zero_min_output") for k in seller.kwargs] == [False, False, True]
    assert position.is_closed


async def test_price_update_triggers_take_profit_and_shutdown_forces_exit(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[None])
    monitor, prices = make_monitor(position, seller, repo, ExitRules(take_profit_bps=1000), ticker)
    resolve_buy(position, buy, monitor, ok=True)  # entry: 100 lamports for 1e9 units

    def update(vsol: int) -> PriceUpdate:
        return price_update(position, vsol)

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            prices.deliver(update(1_000))  # 1e-7 per unit = entry: hold
            await trio.sleep(5)
            assert seller.orders == []
            assert seller.prepared[0] == position.mint  # the SELL's message, while it waits
            prices.deliver(update(1_100))  # +10 %: take profit
    assert position.exit_reason == ExitReason.TAKE_PROFIT

    position2, buy2 = await open_position(repo)
    seller2 = ScriptedSeller(outcomes=[None])
    monitor2, _ = make_monitor(position2, seller2, repo, ExitRules(), ticker)
    resolve_buy(position2, buy2, monitor2, ok=True)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor2.monitor)
            await trio.sleep(50)
            assert seller2.orders == []  # no rule: holds
            monitor2.request_exit(ExitReason.SHUTDOWN)
    assert position2.exit_reason == ExitReason.SHUTDOWN
    assert position2.is_closed


async def test_the_first_sell_gets_the_newest_trades_reserves_and_creator_a_retry_neither(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[2006, None])  # a stale creator: refused, then sold
    monitor, prices = make_monitor(position, seller, repo, ExitRules(take_profit_bps=1000), ticker)
    resolve_buy(position, buy, monitor, ok=True)  # entry: 100 lamports for 1e9 units
    creator = Pubkey.new_unique()
    trigger = attrs.evolve(price_update(position, 1_100), creator=creator)  # +10 %
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            prices.deliver(trigger)
    assert [(k["reserves"], k["creator"]) for k in seller.kwargs] == [
        (trigger.reserves, creator),  # the SELL needs no curve read
        (None, None),  # the retry reads the curve (its creator may have changed)
    ]
    assert [o.state for o in seller.orders] == [OrderState.FAILED, OrderState.CONFIRMED]
    assert position.is_closed


async def test_a_first_sell_long_after_the_last_trade_reads_the_curve(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    position, buy = await open_position(repo)
    seller = ScriptedSeller(outcomes=[None])
    monitor, prices = make_monitor(position, seller, repo, ExitRules(max_hold_time=30), ticker)
    resolve_buy(position, buy, monitor, ok=True)
    seen = attrs.evolve(
        price_update(position, 1_000), creator=Pubkey.new_unique(), seen_at=trio.current_time()
    )  # the entry price: no rule fires on it
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.monitor)
            prices.deliver(seen)
    assert position.exit_reason == ExitReason.MAX_HOLD_TIME
    # 30 s after the last trade its creator is no longer trusted: the seller reads the curve
    assert [(k["reserves"], k["creator"]) for k in seller.kwargs] == [(seen.reserves, None)]
    assert position.is_closed


# ---------------------------------------------------------------------- wake-ups


async def _deliver_in_one_go(w: Watched, *vsols: int) -> None:
    """Trades of one read: delivered back to back, no checkpoint between them."""
    for vsol in vsols:
        w.prices.deliver(price_update(w.position, vsol))


async def test_an_idle_position_with_price_rules_is_woken_only_by_its_prices(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    """No periodic tick: the old monitor re-checked every ``tick_interval`` (200× here); and
    prices that fire nothing are checked in the intake without waking the task."""
    rules = ExitRules(take_profit_bps=5000, stop_loss_bps=5000, trailing_stop_bps=2000)
    w = await watched(repo, rules, ticker)
    with trio.fail_after(3000):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            await trio.sleep(1000)
            assert w.monitor.checks == 1
            # +40 % peak, then down 19 % of it (the trailing stop is 20 %): nothing fires
            await _deliver_in_one_go(w, 1_100, 1_400, 1_134, 1_200)
            await trio.sleep(1000)
            assert w.monitor.checks == 1 + 4  # one check per price, in the intake
            assert w.seller.orders == []
            assert w.monitor.peak_price is not None
            assert w.monitor.peak_price.fraction == Fraction(1_400, 10**10)
            w.prices.deliver(price_update(w.position, 1_500))  # +50 %: take profit
    assert w.monitor.checks == 6
    assert w.position.exit_reason == ExitReason.TAKE_PROFIT
    assert w.position.is_closed


async def test_a_time_rule_wakes_the_monitor_at_its_deadline_and_not_before(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    w = await watched(repo, ExitRules(max_hold_time=30.0, take_profit_bps=5000), ticker)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            await trio.sleep(29.9)
            assert w.monitor.checks == 1
            assert w.seller.orders == []
    assert w.seller.orders[0].sent_at == w.monitor.opened_at + 30.0  # at the deadline, exactly
    assert w.position.exit_reason == ExitReason.MAX_HOLD_TIME
    assert w.monitor.checks == 2
    if ticker is not None:
        assert ticker.scheduled == 0  # fired, nothing left behind


async def test_classic_flow_past_its_deadline_sells_as_soon_as_the_buy_confirms(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    """The BUY's result wakes the monitor (no tick needed); past the deadline it re-checks
    every tick while the BUY is pending, as before."""
    w = await watched(
        repo, ExitRules(sell_after=1.0), ticker, confirmed=False, pre_confirmation_sells=False
    )
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            await trio.sleep(12.0)
            assert w.seller.orders == []  # not confirmed: the classic flow holds
            assert w.monitor.checks == 1 + 1 + 2  # start, deadline at 1 s, ticks at 6 s and 11 s
            confirmed_at = trio.current_time()
            resolve_buy(w.position, w.buy, w.monitor, ok=True)
    assert w.seller.orders[0].sent_at == confirmed_at  # woken by the BUY's result at once
    assert not w.seller.orders[0].sent_before_buy_confirmed
    assert w.position.exit_reason == ExitReason.SELL_AFTER


async def test_a_forced_exit_wakes_the_monitor_at_once(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    w = await watched(repo, ExitRules(max_hold_time=600.0), ticker)
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            await trio.sleep(7.5)
            asked = trio.current_time()
            w.monitor.request_exit(ExitReason.MANUAL)
    assert w.seller.orders[0].sent_at == asked
    assert w.position.exit_reason == ExitReason.MANUAL
    if ticker is not None:
        assert ticker.scheduled == 0  # the monitor's 600 s wake-up left with it


async def test_a_finished_monitor_leaves_its_inbox(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    w = await watched(repo, ExitRules(max_hold_time=30.0), ticker)
    with trio.fail_after(100):
        await w.monitor.monitor()
    assert w.seller.orders[0].sent_at == w.monitor.opened_at + 30.0
    late = price_update(w.position, 5_000)
    w.prices.deliver(late)  # a trade after the sale: kept in the inbox, no monitor runs
    assert w.monitor.last_price is None
    assert w.prices.latest is late


# ------------------------------------------------- every price counts, wake-ups do not


@pytest.mark.parametrize(
    ("rules", "burst", "reason"),
    [
        # the peak (+40 %) and the fall back (-20 % of it) inside one burst
        (ExitRules(trailing_stop_bps=1500), (1_200, 1_400, 1_120, 1_300), ExitReason.TRAILING_STOP),
        # take profit touched (+50 %) and fallen back before the task could run
        (ExitRules(take_profit_bps=5000), (1_300, 1_500, 1_100), ExitReason.TAKE_PROFIT),
        # the trough (-30 %) between two holding prices
        (
            ExitRules(stop_loss_bps=2500, take_profit_bps=5000),
            (1_000, 700, 1_050),
            ExitReason.STOP_LOSS,
        ),
    ],
)
async def test_a_burst_of_prices_fires_the_rule_any_one_of_them_fires(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None,
    rules: ExitRules, burst: tuple[int, ...], reason: ExitReason,
) -> None:  # fmt: skip
    w = await watched(repo, rules, ticker)  # entry: 1_000 per 1e10 base units
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            await trio.sleep(1)
            await _deliver_in_one_go(w, *burst)
    assert w.position.exit_reason == reason
    assert w.position.is_closed
    assert w.monitor.last_price is not None
    assert w.monitor.last_price.virtual_sol_reserves == burst[-1]  # the newest price
    # the first SELL is quoted from the newest trade, not the one that fired the rule
    assert w.seller.kwargs[0]["reserves"] == price_update(w.position, burst[-1]).reserves


async def test_idle_positions_cost_one_deadline_each_in_the_shared_ticker(
    repo: Repository, clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    shared = Ticker()
    nursery.start_soon(shared.run)
    rules = ExitRules(max_hold_time=100.0, stop_loss_bps=5000)
    with trio.fail_after(500):
        async with trio.open_nursery() as positions:
            all_ = [await watched(repo, rules, shared) for _ in range(50)]
            for w in all_:
                positions.start_soon(w.monitor.monitor)
            await trio.sleep(50)
            assert shared.scheduled == 50
            assert [w.monitor.checks for w in all_] == [1] * 50
    assert [w.position.exit_reason for w in all_] == [ExitReason.MAX_HOLD_TIME] * 50
    assert all(w.seller.orders[0].sent_at == w.monitor.opened_at + 100.0 for w in all_)
    assert shared.scheduled == 0


async def test_wake_ups_of_a_parked_monitor_reschedule_it_once_and_never_after_a_cancel(
    repo: Repository, clock: trio.testing.MockClock, ticker: Ticker | None
) -> None:
    """The idle monitor is parked, not waiting in a cancelled scope: two wake-ups in one
    step reschedule it once (a second reschedule would be Trio's internal error), and a
    wake-up after the position's scope cancelled the park touches no task."""
    w = await watched(repo, ExitRules(max_hold_time=1000.0, take_profit_bps=5000), ticker)
    seen: list[int] = []
    with trio.fail_after(3000):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(w.monitor.monitor)
            for wakes in (2, 1, 0):  # two wake-ups in one step, then one, then none
                await trio.sleep(10)
                seen.append(w.monitor.checks)
                for _ in range(wakes):
                    w.monitor.wake()  # the second: the task is runnable, only the flag is set
            nursery.cancel_scope.cancel()  # the position scope ends the park
    assert seen == [1, 2, 3]  # parked, then one re-check per step with wake-ups
    w.monitor.wake()  # nothing parked: no reschedule of a finished task
    assert w.monitor.checks == 3
    assert w.seller.orders == []
    assert not w.position.is_closed
