"""The early life of a launch: bundled buys in the creation slot, snipers, early dumps.

The default scenario gives every coin this life (as real pump.fun coins have it); these
tests run a small market on the real Node + Ledger under MockClock and check it on the
ledger's own events and balances.
"""

from __future__ import annotations

import trio

from tests.sim.test_market import market_running, price
from trio_trader.pump.events import CreateEvent
from trio_trader.sim.scenario import load_scenario, parse_scenario

EARLY_LIFE = {
    "name": "early_life",
    "wallets": {"creators": 2, "traders": 12},
    "launches": {"rate_per_second": 0.5, "max_tokens": 4, "create_v2_share": 0.5},
    "faults": {"latency_min": 0.1, "latency_max": 0.7, "vote_delay_median": 1.5},
    "profiles": [
        {
            "kind": "random_walk",
            "traders": {"min": 1, "max": 1},
            "trade_interval": {"min": 5.0, "max": 6.0},
            "lifetime": {"min": 20.0, "max": 20.0},
            "bundle_buys": {"min": 2, "max": 3},
            "snipers": {"min": 2, "max": 3},
            "sniper_delay": {"min": 0.3, "max": 1.6},
            "early_buy_sol": {"min": 0.5, "max": 1.0},
            "early_dump_after": {"min": 3.0, "max": 6.0},
        }
    ],
}


async def test_bundles_land_in_the_creation_slot_then_snipers_then_dumps(
    autojump_clock: object,
) -> None:
    scenario = parse_scenario(EARLY_LIFE)
    async with market_running(scenario, seed=21) as run:
        await trio.sleep(30.0)
        market = run.market
        assert len(market.tokens) == 4
        assert market.stats.tokens_created == 4
        for token in market.tokens:
            assert 2 <= len(token.bundlers) <= 3
            created = [
                tx
                for tx in run.executed
                if any(isinstance(e, CreateEvent) and e.mint == token.mint for e in tx.events)
            ]
            assert len(created) == 1
            creation_slot = int(created[0].slot)
            trades = run.trades(token.mint)
            in_creation_slot = [
                e for tx in run.executed if int(tx.slot) == creation_slot
                for e in tx.events if e in trades
            ]  # fmt: skip
            buyers = [e.user for e in in_creation_slot if e.is_buy]
            assert buyers[0] == token.creator  # the create's own buy first
            assert buyers[1:] == token.bundlers  # then the bundle, in its order
            bundle_prices = [price(e) for e in in_creation_slot]
            assert bundle_prices == sorted(bundle_prices)  # each buy pays more
            early = set(token.bundlers)
            snipes = [
                e for e in trades[len(in_creation_slot) :]
                if e.is_buy and e.timestamp - trades[0].timestamp <= 2
            ]  # fmt: skip
            snipers = {e.user for e in snipes} - early - {token.creator}
            assert 2 <= len(snipers) <= 3
            for wallet in early | snipers:
                sells = [e for e in trades if e.user == wallet and not e.is_buy]
                bought = sum(e.token_amount for e in trades if e.user == wallet and e.is_buy)
                assert sum(e.token_amount for e in sells) == bought  # dumped everything
                assert market.holding(wallet, token) == 0


def test_default_scenario_has_early_life_and_mainnet_like_confirmation() -> None:
    scenario = load_scenario("default")
    assert scenario.faults.vote_delay_median > 0
    assert scenario.faults.latency_max > 0
    for profile in scenario.profiles:
        assert profile.snipers.max > 0
        assert profile.bundle_buys.max > 0
    assert any(p.kind == "instant_rug" for p in scenario.profiles)
