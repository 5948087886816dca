"""The simulated market on the real Node + Ledger, on a MockClock.

Every test runs the market for a stretch of simulated time (``autojump_clock``), watching
the node's transaction events, and then asserts on the ledger: balances, curve states and
the pump events the transactions emitted.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from fractions import Fraction

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.pump.addresses import USDC_MINT, ZERO_KEY
from trio_trader.pump.amm.events import BuyEvent, CreatePoolEvent, SellEvent
from trio_trader.pump.events import CompleteEvent, CreateEvent, TradeEvent
from trio_trader.sim import ledger_summary
from trio_trader.sim.ledger import ExecutedTransaction, Ledger
from trio_trader.sim.market import Market, MarketSummary, run_market
from trio_trader.sim.node import Node, TxEvent
from trio_trader.sim.scenario import Scenario, load_scenario, parse_scenario

GENESIS = 1_700_000_000


@attrs.define
class Run:
    node: Node
    market: Market
    executed: list[ExecutedTransaction]

    def trades(self, mint: Pubkey) -> list[TradeEvent]:
        """The mint's TradeEvents in landing order (the create's initial buy first)."""
        return [
            e
            for tx in self.executed
            for e in tx.events
            if isinstance(e, TradeEvent) and e.mint == mint
        ]


async def _drain(
    receive: trio.MemoryReceiveChannel[object], out: list[ExecutedTransaction]
) -> None:
    async with receive:
        async for event in receive:
            if isinstance(event, TxEvent):
                out.append(event.executed)


@asynccontextmanager
async def market_running(
    scenario: Scenario, *, seed: int, node_seed: int = 0
) -> AsyncIterator[Run]:
    """A fresh ledger and node with ``scenario``'s market on them; cancelled on exit."""
    node = Node(
        Ledger(seed=node_seed),
        slot_time=scenario.slot_time,
        faults=scenario.faults.to_faults(),
        seed=node_seed,
        genesis_time=GENESIS,
    )
    executed: list[ExecutedTransaction] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_drain, node.watch(), executed)
        await nursery.start(node.run)
        market = await nursery.start(functools.partial(run_market, node, scenario, seed=seed))
        yield Run(node, market, executed)
        nursery.cancel_scope.cancel()


async def run_for(scenario: Scenario, seconds: float, *, seed: int) -> tuple[Run, MarketSummary]:
    async with market_running(scenario, seed=seed) as run:
        await trio.sleep(seconds)
        return run, run.market.summary()


def price(e: TradeEvent) -> Fraction:
    return Fraction(e.virtual_sol_reserves, e.virtual_token_reserves)


# --------------------------------------------------------------------- acceptance


async def test_scripted_60s_is_busy_and_deterministic_per_seed(autojump_clock: object) -> None:
    scenario = load_scenario("scripted_60s")
    # 60 s plus half a slot: a stop exactly on a slot boundary races that slot's tick
    first, summary_a = await run_for(scenario, 60.2, seed=11)
    stats = first.market.stats
    assert stats.tokens_created >= 50
    assert stats.trades_landed >= 1_000
    assert stats.creates_failed == 0
    assert stats.send_errors == 0
    # the market's own count agrees with every landed transaction the node announced
    assert first.node.stats.watch_overflow == 0
    landed_ok = sum(1 for tx in first.executed if tx.err is None)
    assert landed_ok == stats.tokens_created + stats.trades_landed
    assert sum(1 for tx in first.executed if tx.err is not None) == stats.trades_failed
    # every funded wallet appears, and some of them hold tokens
    assert len(summary_a.sol_balances) == len(first.market.wallets)
    assert sum(1 for amount in summary_a.token_balances.values() if amount > 0) > 50

    ledger_a = ledger_summary(first.node, list(first.market.wallets))
    assert ledger_a["transactions"]["landed"] == landed_ok

    second, summary_b = await run_for(scenario, 60.2, seed=11)
    assert summary_b == summary_a
    assert attrs.asdict(second.node.stats) == attrs.asdict(first.node.stats)
    # the JSON ledger summary that ``--ledger-out`` writes is identical too
    assert ledger_summary(second.node, list(second.market.wallets)) == ledger_a


async def test_default_market_launches_every_few_seconds_and_trades_every_slot(
    autojump_clock: object,
) -> None:
    """The market ``python -m trio_trader sim`` runs when no scenario is named."""
    # a seed whose market has no quiet slot after the warm-up: most seeds leave 1-5 of the
    # ~67 slots without a trade, with or without the scenario's landing-order model
    async with market_running(load_scenario("default"), seed=5) as run:
        await trio.sleep(30.2)
        stats, last_slot = run.market.stats, run.node.slot
        traded = {
            int(tx.slot)
            for tx in run.executed
            if any(isinstance(e, TradeEvent) for e in tx.events)
            and not any(isinstance(e, CreateEvent) for e in tx.events)
        }
    assert stats.tokens_created >= 10  # one launch every 2.5 s on average
    assert stats.trades_landed >= 30 * 10
    # after a warm-up of ~3 s: while one coin is live, its early buyers (who land
    # 0.1-0.7 s after sending) may leave a slot empty before the next launch
    assert set(range(8, last_slot)) <= traded


async def test_another_seed_gives_another_market(autojump_clock: object) -> None:
    scenario = load_scenario("scripted_60s")
    _, a = await run_for(scenario, 6.0, seed=1)
    _, b = await run_for(scenario, 6.0, seed=2)
    # not only other keys: other amounts
    assert sorted(a.sol_balances.values()) != sorted(b.sol_balances.values())
    assert sorted(a.token_balances.values()) != sorted(b.token_balances.values())


# ---------------------------------------------------------------------- profiles


async def test_instant_rug_creator_sells_everything_and_price_falls(
    autojump_clock: object,
) -> None:
    scenario = load_scenario("instant_rug")
    async with market_running(scenario, seed=5) as run:
        await trio.sleep(30.0)
        market = run.market
        rugged = [t for t in market.tokens if trio.current_time() - t.launched_at > 5.0]
        assert len(rugged) >= 3
        for token in rugged:
            trades = run.trades(token.mint)
            launch = trades[0]  # the creator's buy inside the create transaction
            assert launch.user == token.creator
            assert launch.is_buy
            dumps = [e for e in trades if e.user == token.creator and not e.is_buy]
            assert len(dumps) == 1
            assert dumps[0].token_amount == launch.token_amount
            assert price(dumps[0]) < price(launch)
            assert market.holding(token.creator, token) == 0


async def test_pump_dump_rises_then_everyone_sells(autojump_clock: object) -> None:
    scenario = load_scenario("pump_dump")
    async with market_running(scenario, seed=3) as run:
        await trio.sleep(40.0)
        market = run.market
        profile = scenario.profiles[0]
        settled = trio.current_time() - profile.pump_seconds.max - 2 * profile.trade_interval.max
        done = [t for t in market.tokens if t.launched_at < settled]
        assert len(done) >= 3
        for token in done:
            trades = run.trades(token.mint)
            launch, peak, last = trades[0], max(trades, key=price), trades[-1]
            assert price(peak) > price(launch)
            assert price(last) < price(peak)
            assert not last.is_buy
            for owner in token.participants:
                assert market.holding(owner, token) == 0, owner


async def test_curve_complete_whale_completes_the_curve(autojump_clock: object) -> None:
    scenario = load_scenario("curve_complete")
    async with market_running(scenario, seed=4) as run:
        await trio.sleep(30.0)
        completes = [e for tx in run.executed for e in tx.events if isinstance(e, CompleteEvent)]
        assert completes
        assert run.market.stats.curves_completed == len(completes)
        for event in completes:
            curve = run.node.ledger.bonding_curve(event.mint)
            assert curve is not None
            assert curve.complete
            assert curve.real_token_reserves == 0
            assert event.user in run.market.whales


async def test_steady_random_walk_buys_and_sells_on_the_same_token(
    autojump_clock: object,
) -> None:
    scenario = load_scenario("steady")
    async with market_running(scenario, seed=8) as run:
        await trio.sleep(60.0)
        assert run.market.stats.tokens_created >= 2
        both = [
            token
            for token in run.market.tokens
            if {e.is_buy for e in run.trades(token.mint)[1:]} == {True, False}
        ]
        assert both
        for token in both:
            prices = [price(e) for e in run.trades(token.mint)]
            rises = sum(1 for a, b in itertools.pairwise(prices) if b > a)
            falls = sum(1 for a, b in itertools.pairwise(prices) if b < a)
            assert rises
            assert falls


async def test_quiet_market_only_launches(autojump_clock: object) -> None:
    scenario = load_scenario("quiet")
    async with market_running(scenario, seed=9) as run:
        await trio.sleep(30.0)
        stats = run.market.stats
        assert stats.tokens_created >= 2
        assert stats.trades_submitted == 0
        creates = [e for tx in run.executed for e in tx.events if isinstance(e, CreateEvent)]
        assert len(creates) == stats.tokens_created
        for tx in run.executed:
            trades = [e for e in tx.events if isinstance(e, TradeEvent)]
            assert all(e.user == e.creator for e in trades)  # only creators' initial buys


# ------------------------------------------------------------------------ faults


async def test_dropped_transactions_are_counted_once_their_blockhash_expires(
    autojump_clock: object,
) -> None:
    base = load_scenario("steady")
    scenario = attrs.evolve(
        base, faults=attrs.evolve(base.faults, drop_probability=0.5, latency_max=0.3)
    )
    async with market_running(scenario, seed=2) as run:
        await trio.sleep(90.0)  # > 150 slots: blockhashes of the first 30 s have expired
        run.market.summary()
        stats = run.market.stats
        assert stats.dropped > 0
        assert stats.tokens_created > 0
        assert stats.trades_landed > 0
        assert run.node.stats.dropped >= stats.dropped
        settled = (
            stats.tokens_created
            + stats.creates_failed
            + stats.trades_landed
            + stats.trades_failed
            + stats.dropped
        )
        submitted = stats.launches_submitted + stats.trades_submitted
        assert settled + run.market.in_flight + stats.send_errors == submitted


async def test_latency_reorder_and_drops_keep_a_seed_reproducible(
    autojump_clock: object,
) -> None:
    """Quotes go stale in flight, so some trades fail on slippage — the same ones each run."""
    base = load_scenario("steady")
    faults = attrs.evolve(
        base.faults,
        latency_min=0.1,
        latency_max=1.5,
        reorder_probability=0.3,
        drop_probability=0.1,
    )
    scenario = attrs.evolve(
        base,
        faults=faults,
        launches=attrs.evolve(base.launches, rate_per_second=0.5),
        profiles=tuple(
            attrs.evolve(p, trade_interval=attrs.evolve(p.trade_interval, min=0.4, max=1.0))
            for p in base.profiles
        ),
    )
    first, a = await run_for(scenario, 20.0, seed=6)
    second, b = await run_for(scenario, 20.0, seed=6)
    assert first.market.stats.trades_failed > 0
    assert first.node.stats.dropped > 0
    assert a == b
    assert attrs.asdict(first.market.stats) == attrs.asdict(second.market.stats)


def test_market_repr_never_shows_a_secret_key() -> None:
    scenario = parse_scenario({"name": "r", "wallets": {"creators": 1, "traders": 1}})
    market = Market(Node(Ledger(seed=0), genesis_time=GENESIS), scenario, 1)
    text = repr(market)
    for keypair in market._keys.values():
        assert str(keypair) not in text
        assert str(keypair)[:20] not in text


async def test_graduated_coins_migrate_and_keep_trading_on_their_pool(
    autojump_clock: object,
) -> None:
    """Completion → pump's migrate → PumpSwap trades whose events move the price."""
    scenario = load_scenario("graduation")
    async with market_running(scenario, seed=4) as run:
        await trio.sleep(45.0)
        events = [e for tx in run.executed for e in tx.events]
        completes = [e for e in events if isinstance(e, CompleteEvent)]
        pools = [e for e in events if isinstance(e, CreatePoolEvent)]
        assert completes
        assert {e.base_mint for e in pools} == {e.mint for e in completes}
        assert run.market.stats.pools_created == len(pools)
        assert run.market.stats.trades_failed == 0
        for created in pools:
            found = run.node.ledger.pool(created.base_mint)
            assert found is not None
            assert found[0] == created.pool
            swaps = [
                e for e in events if isinstance(e, BuyEvent | SellEvent) and e.pool == created.pool
            ]
            assert any(isinstance(e, BuyEvent) for e in swaps)
            assert any(isinstance(e, SellEvent) for e in swaps)
            prices = {
                Fraction(e.pool_quote_token_reserves, e.pool_base_token_reserves) for e in swaps
            }
            assert len(prices) > 1  # the price moves
            curve = run.node.ledger.bonding_curve(created.base_mint)
            assert curve is not None
            assert curve.complete
            assert curve.virtual_token_reserves == 0  # migrated


async def test_usdc_coins_are_launched_and_traded_with_v2_in_usdc(autojump_clock: object) -> None:
    scenario = load_scenario("graduation")
    async with market_running(scenario, seed=4) as run:
        await trio.sleep(30.0)
        usdc = [t for t in run.market.tokens if t.quoted_in_token]
        assert usdc
        for token in usdc:
            trades = run.trades(token.mint)
            assert trades
            assert {t.quote_mint for t in trades} == {USDC_MINT}
            assert {t.ix_name for t in trades} <= {"buy_v2", "sell_v2"}
            curve = run.node.ledger.bonding_curve(token.mint)
            assert curve is not None
            assert curve.quote_mint == USDC_MINT
        assert all(t.quote_mint == ZERO_KEY for t in run.market.tokens if t not in usdc)


def test_scenarios_without_usdc_draw_no_usdc_coins() -> None:
    assert load_scenario("default").launches.usdc_share == 0.0
    assert load_scenario("graduation").launches.usdc_share > 0
