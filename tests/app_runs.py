"""Tests that run the whole app (``app.run`` / ``cli.main run``) on a simulator.

A loaded machine can take seconds to start the bot (the database, the simulator's
market, identity, funds, pump accounts, then the listener's subscription), so such a
test acts on events, never on fixed delays:

* a test that drives the simulator launches its coin once the bot's listener has
  subscribed (``harness.until_listening``), and the run's ``--duration`` counts from the
  launch (:func:`duration_counts_from`);
* a ``run --sim`` test has the market's launches and ``--duration`` count from the moment
  the bot trades (:func:`sim_clock_starts_when_trading`).

A launch 0.5 s after the start, with the duration counted from the start, failed on a
loaded machine: the bot was not trading yet when the coin came. A ``run --sim
--duration 4`` traded for only ~0.5 s of its 4 at a load of 7 on 2 cores.
"""

from __future__ import annotations

import pytest
import trio
from solders.keypair import Keypair

from tests.scenario.harness import SOL, Harness
from trio_trader import app
from trio_trader.app import Bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.sim import SimNode
from trio_trader.sim.market import Market
from trio_trader.startup import StopControl


async def launch_coin(sim: SimNode, creator: Keypair, name: str) -> None:
    """A coin launched by ``creator`` (its ``create_v2`` and its own buy), over RPC."""
    async with RpcClient((sim.rpc_url,)) as rpc:  # type: ignore[arg-type]
        launcher = Harness(
            sim=sim, rpc=rpc, repo=None, bot=None, creator=creator,  # type: ignore[arg-type]
            wallet=creator, funding=100 * SOL, buyer=None, seller=None,  # type: ignore[arg-type]
        )  # fmt: skip
        await launcher.launch(name)


def duration_counts_from(monkeypatch: pytest.MonkeyPatch, event: trio.Event) -> None:
    """``--duration`` counted from ``event`` instead of the start of the run; it still
    ends the run as a duration does (``control.reason == "duration"``)."""
    count_down = StopControl.stop_after

    async def stop_after(control: StopControl, seconds: float) -> None:
        await event.wait()
        await count_down(control, seconds)

    monkeypatch.setattr(StopControl, "stop_after", stop_after)


def sim_clock_starts_when_trading(monkeypatch: pytest.MonkeyPatch) -> None:
    """For ``run --sim``: the market's first launch and ``--duration`` wait until the bot
    trades (its listener subscribed, its command server up), so the launches the test
    counts on come while the bot listens, and it trades for the whole duration."""
    trading = trio.Event()
    start_trader = app._start_trader
    launcher = Market._launcher

    async def start_then_mark(nursery: trio.Nursery, bot: Bot) -> None:
        await start_trader(nursery, bot)
        trading.set()

    async def launch_once_trading(market: Market, nursery: trio.Nursery) -> None:
        await trading.wait()
        await launcher(market, nursery)

    monkeypatch.setattr(app, "_start_trader", start_then_mark)
    monkeypatch.setattr(Market, "_launcher", launch_once_trading)
    duration_counts_from(monkeypatch, trading)
