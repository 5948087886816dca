"""One sender's transactions sent close together land in send order (``send_order_window``).

Without the window every send → land delay is drawn independently, so a SELL sent a few ms
after its BUY lands first about half the time; with it, only the reordering fault (or a
send outside the window, or another sender) puts a later send first.
"""

from __future__ import annotations

import math
import random

import pytest
import trio
from solders.keypair import Keypair

from tests.sim.conftest import LAMPORTS_PER_SOL, keypair, landing_ranks, transfer_tx
from trio_trader.sim.faults import Faults
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.node import Node

#: the default scenario's landing latency
LATENCY = {"latency_min": 0.1, "latency_max": 0.7}


async def _landing_ranks(
    faults: Faults,
    sends: list[tuple[Keypair, float]],
    *,
    seed: int = 5,
    first_held: bool = False,
) -> list[int]:
    """Send a transfer per ``(payer, pause before it)``; the send indices in landing order.

    ``first_held``: the reordering fault strikes the first send (and no other).
    """
    ledger = Ledger(seed=seed)
    for payer in {payer for payer, _ in sends}:
        ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, seed=seed, faults=faults)
    events = node.watch()
    sent: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        for i, (payer, pause) in enumerate(sends):
            await trio.sleep(pause)
            if first_held:
                node.faults.reorder_probability = 1.0 if i == 0 else 0.0
            blockhash, _ = node.latest_blockhash()
            tx = transfer_tx(payer, keypair(f"to-{i}").pubkey(), LAMPORTS_PER_SOL, blockhash)
            sent.append(str(node.submit(bytes(tx))))
        ranks = await landing_ranks(events, sent)
        nursery.cancel_scope.cancel()
    return ranks


class TickingClock(trio.abc.Clock):
    """A virtual clock that moves on by a random few µs at every read, as a real clock
    does between two reads of one step, and jumps to the next deadline whenever every
    task waits (an autojumping ``MockClock`` stands still within a step; it is final, and
    the run loop autojumps only a ``MockClock``, so this jumps in
    ``deadline_to_sleep_time``, which the loop asks only when no task is runnable).

    It never follows the real clock: a clock that ran at a multiple of real time turned a
    few ms of a loaded machine's scheduling delay into a gap wider than the send-order
    window, and the test failed for a reason that was not the one it checks."""

    def __init__(self) -> None:
        self._now = 0.0
        self._ticks = random.Random(1)

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        self._now += self._ticks.uniform(0, 50e-6)
        return self._now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        if math.isinf(deadline):
            return 0.01  # nothing scheduled: wait for I/O in real time, without jumping
        self._now = max(self._now, deadline)
        return 0.0


@pytest.fixture
def ticking_clock() -> TickingClock:
    return TickingClock()


def _overtaken(ranks: list[int]) -> int:
    """Pairs (0, 1), (2, 3), … whose second send landed before the first."""
    return sum(ranks.index(i + 1) < ranks.index(i) for i in range(0, len(ranks), 2))


def _pairs(payer: Keypair, n: int, gap: float, spacing: float) -> list[tuple[Keypair, float]]:
    """``n`` pairs of sends, ``gap`` apart within a pair, ``spacing`` between pairs."""
    return [(payer, gap if i % 2 else spacing) for i in range(2 * n)]


async def test_one_senders_sends_ms_apart_land_in_send_order(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    sends = _pairs(payer, 20, gap=0.004, spacing=1.0)  # a BUY, its SELL 4 ms later, …
    independent = await _landing_ranks(Faults(**LATENCY), sends)
    in_order = await _landing_ranks(Faults(**LATENCY, send_order_window=0.4), sends)
    assert _overtaken(independent) >= 5  # drawn independently: about half of them
    assert in_order == list(range(40))  # every pair, and every pair after the other


async def test_send_order_holds_while_the_clock_moves_within_a_step(
    ticking_clock: TickingClock, payer: Keypair
) -> None:
    """The node reads the time once per send: two reads, a few µs apart, once let a SELL
    clamped to its BUY's landing time land a hair before it (and fail)."""
    sends = _pairs(payer, 20, gap=0.004, spacing=1.0)
    ranks = await _landing_ranks(Faults(**LATENCY, send_order_window=0.4), sends)
    assert ranks == list(range(40))


async def test_the_reordering_fault_still_puts_a_later_send_first(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    faults = Faults(latency_min=0.1, latency_max=0.1, send_order_window=0.4)
    sends = [(payer, 0.0), (payer, 0.004)]
    assert await _landing_ranks(faults, sends) == [0, 1]
    assert await _landing_ranks(faults, sends, first_held=True) == [1, 0]


@pytest.mark.parametrize("other_sender", [False, True])
async def test_sends_outside_the_window_or_by_others_are_drawn_independently(
    autojump_clock: trio.testing.MockClock, payer: Keypair, other_sender: bool
) -> None:
    """Farther apart than the window, or by another fee payer: no ordering is imposed."""
    second = keypair("another payer") if other_sender else payer
    gap = 0.004 if other_sender else 0.5
    faults = Faults(latency_min=0.1, latency_max=1.5, send_order_window=0.4)
    sends = [(payer if i % 2 == 0 else second, gap if i % 2 else 2.0) for i in range(40)]
    assert _overtaken(await _landing_ranks(faults, sends)) >= 2


async def test_a_seeded_run_with_the_window_is_reproducible(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    def faults() -> Faults:
        return Faults(**LATENCY, send_order_window=0.4, reorder_probability=0.3)

    sends = _pairs(payer, 10, gap=0.004, spacing=0.2)
    first = await _landing_ranks(faults(), sends, seed=9)
    assert sorted(first) == list(range(20))
    assert first != sorted(first), "seed 9: the hold-back reorders some"
    assert await _landing_ranks(faults(), sends, seed=9) == first
