"""The block listener and blocks holding transactions newer than version 0.

Mainnet has carried version-1 transactions since 2026-09-15. A node fails a whole block
notification that holds one the client did not declare it can parse
(``{"slot", "block": null, "err": {"UnsupportedTransactionVersion": 1}}``); the listener
must log and count it, never drop it silently, and keep going.
"""

from __future__ import annotations

import logging

import pytest
import trio
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from trio_trader.chain.pubsub import PubsubClient
from trio_trader.listeners.block import BlockListener
from trio_trader.listeners.types import NewToken, PriceUpdate
from trio_trader.pump import instructions as I
from trio_trader.sim import SimNode, open_sim

SOL = 1_000_000_000


def _create(creator: Keypair, mint: Keypair, name: str) -> list:  # type: ignore[type-arg]
    return [
        I.create_v2(
            mint=mint.pubkey(),
            user=creator.pubkey(),
            creator=creator.pubkey(),
            name=name,
            symbol=name[:4].upper(),
            uri=f"https://example.invalid/{name}.json",
        )
    ]


def _legacy(sim: SimNode, creator: Keypair, name: str) -> Signature:
    mint = Keypair()
    blockhash = sim.node.latest_blockhash()[0]
    tx = Transaction.new_signed_with_payer(
        _create(creator, mint, name), creator.pubkey(), [creator, mint], blockhash
    )
    return sim.node.submit(bytes(tx))


def _v0(sim: SimNode, creator: Keypair, name: str) -> Signature:
    mint = Keypair()
    blockhash = sim.node.latest_blockhash()[0]
    message = MessageV0.try_compile(creator.pubkey(), _create(creator, mint, name), [], blockhash)
    return sim.node.submit(bytes(VersionedTransaction(message, [creator, mint])))


async def _wait(predicate: object) -> None:
    while not predicate():  # type: ignore[operator]
        await trio.sleep(0.05)


def test_an_error_notification_is_counted_and_logged_not_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = BlockListener(pubsub=None)  # type: ignore[arg-type]
    tokens: list[NewToken] = []
    prices: list[PriceUpdate] = []
    lost = {"slot": 41, "block": None, "err": {"UnsupportedTransactionVersion": 1}}
    other = {"slot": 42, "block": None, "err": "BlockStoreError"}
    with caplog.at_level(logging.WARNING):
        listener.handle({"context": {"slot": 41}, "value": lost}, tokens.append, prices.append)
        listener.handle({"context": {"slot": 42}, "value": other}, tokens.append, prices.append)
    assert listener.stats.unreadable_blocks == 2
    assert listener.stats.last_unreadable_slot == 42
    assert listener.stats.malformed == 0
    assert (tokens, prices) == ([], [])
    assert "block 41 lost: it holds a version-1 transaction" in caplog.text
    assert "block 42 lost: the node sent no block ('BlockStoreError')" in caplog.text


async def test_block_listener_counts_a_version_1_block_and_keeps_detecting(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    creator = Keypair()
    tokens: list[NewToken] = []
    with trio.fail_after(120), caplog.at_level(logging.WARNING):
        async with open_sim(seed=3, fund={creator.pubkey(): 10 * SOL}) as sim:
            pubsub = PubsubClient(sim.ws_url, backoff_base=0.01, seed=1)
            listener = BlockListener(pubsub)
            async with trio.open_nursery() as nursery:
                await nursery.start(pubsub.run)
                await nursery.start(listener.run, tokens.append, lambda _p: None)
                hidden = _legacy(sim, creator, "Hidden")
                sim.node.mark_version(hidden, 1)
                await _wait(lambda: listener.stats.unreadable_blocks >= 1)
                # A v0 transaction: readable only because the subscription declared
                # maxSupportedTransactionVersion 0 (without it the node fails this block too).
                seen = _v0(sim, creator, "Seen")
                await _wait(lambda: tokens)
                nursery.cancel_scope.cancel()
    assert [t.token_info.name for t in tokens] == ["Seen"]
    assert tokens[0].signature == str(seen)
    assert listener.stats.unreadable_blocks >= 1  # the node may retry the slot
    assert isinstance(listener.stats.last_unreadable_slot, int)
    assert listener.stats.malformed == 0
    assert "holds a version-1 transaction" in caplog.text
