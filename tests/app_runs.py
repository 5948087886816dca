"""Tests that run the whole app (``app.run``) beside a simulator they drive.

A loaded machine can take seconds to start the bot (identity, funds, pump accounts, then
the listener's subscription), so such a test acts on events, never on fixed delays: it
launches its coin once the bot's listener has subscribed, and the run's ``--duration``
counts from the launch instead of from the start of the run. A launch 0.5 s after the
start, with the duration counted from the start, failed on a loaded machine: the bot was
not trading yet when the coin came.
"""

from __future__ import annotations

import pytest
import trio
from solders.keypair import Keypair

from tests.scenario.harness import SOL, Harness
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.sim import SimNode
from trio_trader.startup import StopControl


def listening(sim: SimNode) -> bool:
    """A client (the bot's listener) has subscribed to the logs of the pump program."""
    return any(
        getattr(sub, "mentions", None) == PUMP_PROGRAM_ID
        for connection in sim.ws_server.connections
        for sub in connection.subs.values()
    )


async def until_listening(sim: SimNode) -> None:
    """Return once the bot listens: the simulator registers a subscription before it
    answers it, so a coin launched from then on reaches the bot's listener."""
    while not listening(sim):
        await trio.sleep(0.01)


async def launch_coin(sim: SimNode, creator: Keypair, name: str) -> None:
    """A coin launched by ``creator`` (its ``create_v2`` and its own buy), over RPC."""
    async with RpcClient((sim.rpc_url,)) as rpc:  # type: ignore[arg-type]
        launcher = Harness(
            sim=sim, rpc=rpc, repo=None, bot=None, creator=creator,  # type: ignore[arg-type]
            wallet=creator, funding=100 * SOL, buyer=None, seller=None,  # type: ignore[arg-type]
        )  # fmt: skip
        await launcher.launch(name)


def duration_counts_from(monkeypatch: pytest.MonkeyPatch, event: trio.Event) -> None:
    """``--duration`` counted from ``event`` (the launch) instead of the start of the run;
    it still ends the run as a duration does (``control.reason == "duration"``)."""
    count_down = StopControl.stop_after

    async def stop_after(control: StopControl, seconds: float) -> None:
        await event.wait()
        await count_down(control, seconds)

    monkeypatch.setattr(StopControl, "stop_after", stop_after)
