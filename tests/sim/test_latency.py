"""The mainnet-like confirmation model: vote delays, the confirmed tip, and what honours it."""

from __future__ import annotations

import base64
import itertools
import json
import random
import statistics

import httpx
import trio
import trio.testing
from solders.keypair import Keypair
from solders.signature import Signature
from trio_websocket import open_websocket_url

from tests.sim.conftest import (
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    transfer_tx,
    ws_notification,
    ws_request,
)
from trio_trader.sim import SimNode
from trio_trader.sim.faults import Faults
from trio_trader.sim.latency import ConfirmationClock, draw_vote_delay
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.node import Node

MAINNET_LIKE = {"vote_delay_median": 1.5, "vote_delay_sigma": 0.6, "vote_delay_max": 32}


def mainnet_like(**extra: float) -> Faults:
    faults = Faults(**MAINNET_LIKE)  # type: ignore[arg-type]
    for name, value in extra.items():
        setattr(faults, name, value)
    return faults


def test_fixed_model_draws_nothing_and_returns_the_depth() -> None:
    rng = random.Random(1)
    state = rng.getstate()
    assert draw_vote_delay(Faults(confirm_depth=3), rng) == 3
    assert rng.getstate() == state  # seeded runs without the model stay as they were


def test_log_normal_delays_have_mainnets_shape() -> None:
    faults = mainnet_like()
    rng = random.Random(5)
    delays = [draw_vote_delay(faults, rng) for _ in range(5_000)]
    assert min(delays) >= faults.confirm_depth
    assert max(delays) <= faults.vote_delay_max
    assert statistics.median(delays) == 2  # ceil of a 1.5-slot median
    late = sum(1 for d in delays if d >= 4) / len(delays)
    assert 0.02 < late < 0.2  # a tail, not a constant
    assert draw_vote_delay(mainnet_like(vote_delay_max=2), random.Random(5)) <= 2


def test_clock_is_a_function_of_the_seed_and_never_moves_back() -> None:
    faults = mainnet_like(vote_delay_sigma=1.2)
    tips = []
    for _run in range(2):
        clock = ConfirmationClock(seed=9)
        run_tips = []
        for slot in range(1, 400):
            clock.produced(slot, faults)
            run_tips.append(clock.confirmed_tip(slot, faults))
        tips.append(run_tips)
    assert tips[0] == tips[1]
    assert all(b >= a for a, b in itertools_pairs(tips[0]))
    assert all(tip <= slot - faults.confirm_depth for slot, tip in enumerate(tips[0], start=1))
    lags = [slot - tip for slot, tip in enumerate(tips[0], start=1)]
    assert max(lags) > 3  # some slots wait for their votes
    assert clock.finalized_tip(399, faults) == min(399 - 32, tips[0][-1])
    other = ConfirmationClock(seed=10)
    other_lags = []
    for slot in range(1, 400):
        other.produced(slot, faults)
        other_lags.append(slot - other.confirmed_tip(slot, faults))
    assert other_lags != lags  # another seed, other draws


def itertools_pairs(values: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(values))


class ScriptedDelays(random.Random):
    """A generator whose log-normal draws are given in advance."""

    def __init__(self, delays: list[float]) -> None:
        super().__init__(0)
        self.delays = delays

    def lognormvariate(self, mu: float, sigma: float) -> float:
        return self.delays.pop(0)


def test_a_later_slots_votes_confirm_its_ancestors() -> None:
    faults = mainnet_like()
    clock = ConfirmationClock(seed=0)
    clock._rng = ScriptedDelays([5.0, 1.0, 1.0, 1.0])  # slot 1's votes are late
    clock.produced(1, faults)
    clock.produced(2, faults)
    assert clock.confirmed_tip(2, faults) == -1
    clock.produced(3, faults)
    assert clock.confirmed_tip(3, faults) == 2  # slot 2 confirmed, and slot 1 with it
    clock.produced(4, faults)
    assert clock.confirmed_tip(4, faults) == 3


async def test_node_confirms_after_the_drawn_delay(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    ledger = Ledger(seed=1)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, slot_time=0.4, faults=mainnet_like(), seed=3, genesis_time=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        lags = []
        for k in range(30):
            await trio.sleep(0.13)
            blockhash, _ = node.latest_blockhash()
            tx = transfer_tx(payer, keypair(f"to{k}").pubkey(), 1000 + k, blockhash)
            node.submit(bytes(tx))
            sig = tx.signatures[0]
            while node.signature_status(sig) is None:
                await trio.sleep(0.1)
            status = node.signature_status(sig)
            assert status is not None
            assert status.confirmation_status == "processed"
            landed = status.slot
            while (status := node.signature_status(sig)) and status.confirmation_status == (
                "processed"
            ):
                assert node.commitment_slot("confirmed") < landed
                await trio.sleep(0.1)
            assert status is not None
            assert status.confirmation_status == "confirmed"
            assert node.commitment_slot("confirmed") >= landed
            lags.append(node.slot - landed)
        assert min(lags) >= 1
        assert len(set(lags)) > 1  # not a constant delay
        await trio.sleep(0.4 * 40)
        last = node.signature_status(sig)
        assert last is not None
        assert last.confirmation_status == "finalized"
        assert node.commitment_slot("finalized") <= node.commitment_slot("confirmed")
        nursery.cancel_scope.cancel()


async def test_rpc_and_websocket_honour_the_vote_delay(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    """signatureSubscribe(confirmed) and getTransaction(confirmed) answer when the status
    says confirmed, not a fixed slot after landing."""
    for name, value in {**MAINNET_LIKE, "vote_delay_median": 4.0, "confirm_depth": 2}.items():
        setattr(sim.faults, name, value)
    with trio.fail_after(120):
        async with open_websocket_url(sim.ws_url) as ws:
            tx = transfer_tx(
                payer,
                keypair("latency-to").pubkey(),
                LAMPORTS_PER_SOL,
                await latest_blockhash(client),
            )
            signature = str(tx.signatures[0])
            await ws_request(ws, "signatureSubscribe", [signature, {"commitment": "confirmed"}], 1)
            await rpc(
                client,
                "sendTransaction",
                [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
            )
            while sim.node.signature_status(Signature.from_string(signature)) is None:
                await trio.sleep(0.05)
            confirmed_params = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
            assert await rpc(client, "getTransaction", [signature, confirmed_params]) is None
            note = await ws_notification(ws, "signatureNotification")
            assert note["params"]["result"]["value"] == {"err": None}
            status = sim.node.signature_status(Signature.from_string(signature))
            assert status is not None
            assert status.confirmation_status == "confirmed"
            assert status.confirmations is not None
            assert status.confirmations >= 2
            found = await rpc(client, "getTransaction", [signature, confirmed_params])
            assert found is not None
            assert found["slot"] == status.slot
            json.dumps(found)
