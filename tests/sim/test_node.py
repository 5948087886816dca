"""The node on its own: slots, landing latency, reordering, drops, statuses, watchers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.sim.conftest import LAMPORTS_PER_SOL, keypair, landing_ranks, transfer_tx
from trio_trader.sim._node_types import AccountEvent, SlotEvent, TxEvent
from trio_trader.sim.faults import Faults
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.node import Node, SendError


@pytest.fixture
async def node(payer: Keypair) -> AsyncIterator[Node]:
    ledger = Ledger(seed=3)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, seed=3, genesis_time=1_767_225_600)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        yield node
        nursery.cancel_scope.cancel()


def _send(node: Node, payer: Keypair, to: Pubkey, lamports: int = LAMPORTS_PER_SOL) -> str:
    blockhash, _ = node.latest_blockhash()
    return str(node.submit(bytes(transfer_tx(payer, to, lamports, blockhash))))


async def test_slots_tick_on_trio_time_without_drift(
    autojump_clock: trio.testing.MockClock, node: Node
) -> None:
    start = trio.current_time()
    await trio.sleep(40.0 + 0.2)
    assert node.slot == 100
    assert node.block_height == 100
    assert trio.current_time() - start == pytest.approx(40.2)
    blockhash, last_valid = node.latest_blockhash()
    assert last_valid == 250
    assert node.is_blockhash_valid(blockhash)
    assert node.latest_blockhash("finalized")[1] == 100 - 32 + 150
    assert node.block_time() == 1_767_225_600 + 40


async def test_blockhashes_are_deterministic_from_the_seed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a = Node(Ledger(seed=1), seed=5)
    b = Node(Ledger(seed=1), seed=5)
    c = Node(Ledger(seed=1), seed=6)
    assert a.latest_blockhash() == b.latest_blockhash() != c.latest_blockhash()


async def test_blockhash_expires_after_150_blocks(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    blockhash, last_valid = node.latest_blockhash()
    tx = transfer_tx(payer, keypair("x").pubkey(), LAMPORTS_PER_SOL, blockhash)
    await trio.sleep(0.4 * 150 + 0.1)
    assert node.block_height == last_valid
    assert node.is_blockhash_valid(blockhash)
    await trio.sleep(0.4)
    assert not node.is_blockhash_valid(blockhash)
    with pytest.raises(SendError) as info:
        node.submit(bytes(tx))
    assert info.value.code == -32002
    assert info.value.data["err"] == "BlockhashNotFound"
    assert not node.is_blockhash_valid(Hash.new_unique())


async def test_malformed_and_badly_signed_transactions_are_refused(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    with pytest.raises(SendError) as info:
        node.submit(b"\x01\x02\x03")
    assert info.value.code == -32602
    blockhash, _ = node.latest_blockhash()
    raw = bytearray(bytes(transfer_tx(payer, keypair("y").pubkey(), LAMPORTS_PER_SOL, blockhash)))
    raw[5] ^= 0xFF  # corrupt the signature
    with pytest.raises(SendError) as info:
        node.submit(bytes(raw))
    assert info.value.code == -32003
    assert node.stats.rejected == 1


async def test_latency_and_commitment_progression(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    node.faults.latency_min = node.faults.latency_max = 1.0
    node.faults.confirm_depth = 3
    await trio.sleep(0.1)
    signature = _send(node, payer, keypair("a").pubkey())
    sig = Signature.from_string(signature)
    await trio.sleep(0.8)
    assert node.signature_status(sig) is None
    await trio.sleep(0.4)
    status = node.signature_status(sig)
    assert status is not None
    assert status.slot == 2
    assert status.confirmation_status == "processed"
    assert status.err is None
    await trio.sleep(0.4)  # t=1.7: slot 4, one short of confirm_depth
    status = node.signature_status(sig)
    assert status is not None
    assert status.confirmation_status == "processed"
    await trio.sleep(0.4)  # t=2.1: slot 5
    status = node.signature_status(sig)
    assert status is not None
    assert status.confirmation_status == "confirmed"
    assert status.confirmations == 3
    await trio.sleep(0.4 * 29)  # slot 34: 32 deep
    status = node.signature_status(sig)
    assert status is not None
    assert status.confirmation_status == "finalized"
    assert status.confirmations is None
    executed = node.transaction(sig)
    assert executed is not None
    assert executed.fee == 5000
    assert node.ledger.balance(keypair("a").pubkey()) == LAMPORTS_PER_SOL


async def _landing_order(seed: int, payer: Keypair) -> list[str]:
    ledger = Ledger(seed=seed)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, seed=seed, faults=Faults(latency_min=0.1, latency_max=0.1))
    events = node.watch()
    sent: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        node.faults.reorder_probability = 1.0  # hold back the first send
        sent.append(_send(node, payer, keypair("first").pubkey()))
        node.faults.reorder_probability = 0.0
        sent.append(_send(node, payer, keypair("second").pubkey()))
        landed: list[str] = []
        async for event in events:
            if isinstance(event, TxEvent):
                landed.append(str(event.executed.signature))
                if len(landed) == 2:
                    break
        nursery.cancel_scope.cancel()
    assert sorted(landed) == sorted(sent)
    return [sent.index(s) for s in landed]  # type: ignore[misc]


async def test_reordering_knob_makes_a_later_send_land_first(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    assert await _landing_order(11, payer) == [1, 0]
    assert await _landing_order(11, payer) == [1, 0]


async def test_dropped_transaction_never_lands_but_a_rebroadcast_may(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    node.faults.drop_probability = 1.0
    blockhash, _ = node.latest_blockhash()
    raw = bytes(transfer_tx(payer, keypair("d").pubkey(), LAMPORTS_PER_SOL, blockhash))
    sig = node.submit(raw)
    await trio.sleep(10)
    assert node.signature_status(sig) is None
    assert node.stats.dropped == 1
    assert node.stats.landed == 0
    assert node.ledger.balance(payer.pubkey()) == 10 * LAMPORTS_PER_SOL
    node.faults.drop_probability = 0.0
    assert node.submit(raw) == sig
    await trio.sleep(0.5)
    assert node.signature_status(Signature.from_string(str(sig))) is not None


async def test_in_flight_transaction_whose_blockhash_expires_is_dropped(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    node.faults.latency_min = node.faults.latency_max = 0.4 * 200
    sig = node.submit(
        bytes(
            transfer_tx(payer, keypair("e").pubkey(), LAMPORTS_PER_SOL, node.latest_blockhash()[0])
        )
    )
    await trio.sleep(0.4 * 210)
    assert node.signature_status(sig) is None
    assert node.stats.dropped == 1


async def test_watchers_see_slots_transactions_and_accounts(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    events = node.watch()
    to = keypair("w").pubkey()
    _send(node, payer, to)
    seen: list[object] = []
    with trio.fail_after(5):
        async for event in events:
            seen.append(event)
            if isinstance(event, SlotEvent) and event.slot == 2:
                break
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "TxEvent"
    accounts = {e.pubkey: e for e in seen if isinstance(e, AccountEvent)}
    recipient = accounts[to].account
    assert recipient is not None
    assert recipient.lamports == LAMPORTS_PER_SOL
    slots = [e for e in seen if isinstance(e, SlotEvent)]
    assert [(e.slot, e.parent, e.root) for e in slots] == [(1, 0, 0), (2, 1, 0)]
    events.close()


async def test_a_slow_watcher_never_blocks_the_node(autojump_clock: trio.testing.MockClock) -> None:
    node = Node(Ledger(seed=0), watch_buffer=4)
    slow = node.watch()
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        await trio.sleep(0.4 * 20 + 0.1)
        nursery.cancel_scope.cancel()
    assert node.slot == 20
    assert node.stats.watch_overflow == 16
    received = [event async for event in slow]  # closed by the node when it stops
    assert [e.slot for e in received if isinstance(e, SlotEvent)] == [1, 2, 3, 4]


async def test_history_is_bounded(autojump_clock: trio.testing.MockClock, payer: Keypair) -> None:
    ledger = Ledger(seed=0)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, history_limit=2)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        sigs = [
            Signature.from_string(_send(node, payer, keypair(f"h{i}").pubkey())) for i in range(3)
        ]
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert [node.signature_status(s) is not None for s in sigs] == [False, True, True]
    assert node.transaction(sigs[0]) is None
    assert node.stats.landed == 3


async def _seeded_order(seed: int, payer: Keypair) -> list[int]:
    ledger = Ledger(seed=0)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    faults = Faults(latency_min=0.05, latency_max=0.15, reorder_probability=0.5)
    node = Node(ledger, seed=seed, faults=faults)
    events = node.watch()
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        sent = []
        for i in range(8):
            sent.append(_send(node, payer, keypair(f"r{i}").pubkey()))
            await trio.sleep(0.01)
        ranks = await landing_ranks(events, sent)
        nursery.cancel_scope.cancel()
    return ranks


async def test_random_reordering_is_reproducible_from_the_seed(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    first = await _seeded_order(21, payer)
    assert first != sorted(first), "seed 21 reorders some of the 8 sends"
    assert sorted(first) == list(range(8))
    assert await _seeded_order(21, payer) == first
