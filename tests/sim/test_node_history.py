"""The node forgets like a real one: the status cache, expired in-flight transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from solders.keypair import Keypair
from solders.signature import Signature

from tests.sim.conftest import LAMPORTS_PER_SOL, keypair, transfer_tx
from trio_trader.sim._node_types import MAX_PROCESSING_AGE
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.node import MAX_SIGNATURES_FOR_ADDRESS, STATUS_CACHE_SLOTS, Node, SendError


@pytest.fixture
async def node(payer: Keypair) -> AsyncIterator[Node]:
    ledger = Ledger(seed=3)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, seed=3, genesis_time=1_767_225_600)
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        yield node
        nursery.cancel_scope.cancel()


async def until_slot(node: Node, slot: int) -> None:
    """Wait until the node has just reached ``slot`` (checked 8 times per slot)."""
    while node.slot < slot:
        await trio.sleep(node.slot_time / 8)
    assert node.slot == slot


def _refusal(node: Node, raw: bytes) -> object:
    with pytest.raises(SendError) as info:
        node.submit(raw)
    assert info.value.code == -32002
    return info.value.data["err"]  # type: ignore[index]


async def test_status_cache_is_150_slots_like_blockhash_validity() -> None:
    assert STATUS_CACHE_SLOTS == MAX_PROCESSING_AGE == 150


async def test_a_landed_signature_leaves_the_status_cache_after_150_slots(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair
) -> None:
    to = keypair("cache").pubkey()
    await until_slot(node, 5)
    blockhash, last_valid = node.latest_blockhash()
    raw = bytes(transfer_tx(payer, to, LAMPORTS_PER_SOL, blockhash))
    sig = node.submit(raw)
    await trio.sleep(node.slot_time / 8)
    landed = node.signature_status(sig, search_history=False)
    assert landed is not None
    assert landed.slot == 5
    assert last_valid == 5 + STATUS_CACHE_SLOTS

    await until_slot(node, 5 + STATUS_CACHE_SLOTS)
    assert node.signature_status(sig, search_history=False) is not None
    assert _refusal(node, raw) == "AlreadyProcessed"  # blockhash still valid: a duplicate

    await until_slot(node, 5 + STATUS_CACHE_SLOTS + 1)
    assert node.signature_status(sig, search_history=False) is None
    history = node.signature_status(sig, search_history=True)
    assert history is not None
    assert (history.slot, history.confirmation_status, history.err) == (5, "finalized", None)
    # The cache forgot it, and its blockhash died in the same slot: the node refuses
    # the resend on age, so the transfer can never land twice.
    assert _refusal(node, raw) == "BlockhashNotFound"
    with pytest.raises(SendError) as info:
        node.simulate(raw)
    assert info.value.data["err"] == "BlockhashNotFound"  # type: ignore[index]
    await trio.sleep(1.0)
    assert node.ledger.balance(to) == LAMPORTS_PER_SOL
    assert (node.stats.landed, node.stats.rejected) == (1, 2)


@pytest.mark.parametrize("knob", ["latency", "reorder"])
async def test_a_transaction_held_in_flight_past_its_blockhash_never_lands(
    autojump_clock: trio.testing.MockClock, node: Node, payer: Keypair, knob: str
) -> None:
    hold = node.slot_time * (MAX_PROCESSING_AGE + 10)
    if knob == "latency":
        node.faults.latency_min = node.faults.latency_max = hold
    else:
        node.faults.reorder_probability = 1.0
        node.faults.reorder_delay_min = node.faults.reorder_delay_max = hold
    to = keypair(f"held-{knob}").pubkey()
    blockhash, _ = node.latest_blockhash()
    raw = bytes(transfer_tx(payer, to, LAMPORTS_PER_SOL, blockhash))
    sig = node.submit(raw)
    events = node.watch()
    await trio.sleep(hold + 60.0)
    node.faults.latency_min = node.faults.latency_max = 0.0
    node.faults.reorder_probability = 0.0
    assert node.signature_status(sig, search_history=True) is None
    assert node.transaction(sig) is None
    assert node.stats.dropped == 1
    assert node.stats.landed == node.stats.failed == 0
    assert node.ledger.balance(to) == 0
    assert node.ledger.balance(payer.pubkey()) == 10 * LAMPORTS_PER_SOL  # not even a fee
    # A rebroadcast of the same bytes is refused, so it stays unknown for good.
    assert _refusal(node, raw) == "BlockhashNotFound"
    await trio.sleep(10.0)
    assert node.signature_status(Signature.from_string(str(sig))) is None
    seen = []
    while True:
        try:
            seen.append(events.receive_nowait())
        except trio.WouldBlock:
            break
    assert not [e for e in seen if type(e).__name__ == "TxEvent"]
    events.close()


async def test_the_address_index_is_bounded_by_the_history(
    autojump_clock: trio.testing.MockClock, payer: Keypair
) -> None:
    ledger = Ledger(seed=0)
    ledger.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    node = Node(ledger, history_limit=2)
    recipients = [keypair(f"idx{i}").pubkey() for i in range(3)]
    sigs = []
    async with trio.open_nursery() as nursery:
        await nursery.start(node.run)
        for to in recipients:
            blockhash, _ = node.latest_blockhash()
            sigs.append(node.submit(bytes(transfer_tx(payer, to, LAMPORTS_PER_SOL, blockhash))))
            await trio.sleep(node.slot_time)
        await trio.sleep(node.slot_time * 40)
        nursery.cancel_scope.cancel()
    assert node.stats.landed == 3
    newest = [e.signature for e in node.signatures_for_address(payer.pubkey())]
    assert newest == [sigs[2], sigs[1]]  # the first landing is forgotten everywhere
    assert node.signatures_for_address(recipients[0]) == []
    assert [e.signature for e in node.signatures_for_address(recipients[1])] == [sigs[1]]
    assert node.signatures_for_address(payer.pubkey(), before=sigs[0]) == []  # unknown now
    entry = node.signatures_for_address(payer.pubkey(), limit=1)[0]
    assert (entry.err, entry.confirmation_status) == (None, "finalized")
    assert entry.block_time == node.block_time(entry.slot)
    for bad in (0, MAX_SIGNATURES_FOR_ADDRESS + 1):
        with pytest.raises(ValueError, match="Invalid limit; max 1000"):
            node.signatures_for_address(payer.pubkey(), limit=bad)
