"""Transactions newer than version 0 (mainnet since 2026-09-15), as the simulator shows them.

A client declares the highest version it can parse (``maxSupportedTransactionVersion``);
agave answers ``getTransaction`` for a newer one with -32015 and fails a whole
``blockSubscribe`` notification: ``{"slot", "block": null, "err":
{"UnsupportedTransactionVersion": 1}}`` (rpc_subscriptions.rs, ``filter_block_result_txs``).
The simulator cannot build a real version-1 transaction, so a test marks one
(``Node.mark_version``) or the market marks a share of its own (``version1_rate``).
"""

from __future__ import annotations

import random

import base58
import httpx
import pytest
import trio
from solders.keypair import Keypair
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from trio_websocket import open_websocket_url

from tests.sim.conftest import (
    keypair,
    latest_blockhash,
    rpc,
    rpc_raw,
    transfer_tx,
    wait_for_status,
    ws_notification,
    ws_request,
)
from trio_trader.sim import SimNode
from trio_trader.sim.ledger import Ledger
from trio_trader.sim.market import Market
from trio_trader.sim.node import Node
from trio_trader.sim.scenario import ScenarioError, parse_fault_settings, parse_scenario


async def _send(client: httpx.AsyncClient, payer: Keypair, to_label: str) -> str:
    tx = transfer_tx(payer, keypair(to_label).pubkey(), 10**6, await latest_blockhash(client))
    return str(await rpc(client, "sendTransaction", [base58.b58encode(bytes(tx)).decode()]))


async def test_get_transaction_refuses_a_version_1_transaction_below_version_1(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(60):
        signature = await _send(client, payer, "v1-to")
        sim.node.mark_version(Signature.from_string(signature), 1)
        await wait_for_status(client, signature, "confirmed")
        config = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
        refused = await rpc_raw(client, "getTransaction", [signature, config])
        assert refused["error"]["code"] == -32015
        assert "Transaction version (1) is not supported" in refused["error"]["message"]
        assert '"maxSupportedTransactionVersion": 1' in refused["error"]["message"]
        config["maxSupportedTransactionVersion"] = 1
        readable = await rpc(client, "getTransaction", [signature, config])
        assert readable["version"] == 1
        assert readable["meta"]["err"] is None


async def test_block_notification_fails_whole_for_a_newer_version_then_blocks_go_on(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    to = str(keypair("v1-block").pubkey())
    options = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}
    with trio.fail_after(120):
        async with open_websocket_url(sim.ws_url) as ws:
            params = [{"mentionsAccountOrProgram": to}, options]
            assert "result" in await ws_request(ws, "blockSubscribe", params, 1)
            first = await _send(client, payer, "v1-block")
            sim.node.mark_version(Signature.from_string(first), 1)
            failed = (await ws_notification(ws, "blockNotification"))["params"]["result"]
            slot = failed["value"]["slot"]
            assert failed["context"]["slot"] == slot
            assert failed["value"]["block"] is None
            assert failed["value"]["err"] == {"UnsupportedTransactionVersion": 1}
            second = await _send(client, payer, "v1-block")  # an ordinary one: delivered
            ok = (await ws_notification(ws, "blockNotification"))["params"]["result"]
            assert ok["value"]["err"] is None
            assert ok["value"]["slot"] > slot
            txs = ok["value"]["block"]["transactions"]
            assert [t["transaction"]["signatures"][0] for t in txs] == [second]


def test_mark_version_accepts_only_versions_above_0() -> None:
    node = Node(Ledger(seed=0), genesis_time=1)
    signature = Signature.new_unique()
    for bad in (0, 256):
        with pytest.raises(ValueError, match=r"within 1\.\.255"):
            node.mark_version(signature, bad)
    assert node.reported_version(signature) is None
    node.mark_version(signature, 1)
    assert node.reported_version(signature) == 1


def test_version1_rate_is_a_probability_knob() -> None:
    assert parse_fault_settings({"version1_rate": 0.25}).to_faults().version1_rate == 0.25
    with pytest.raises(ScenarioError, match="version1_rate"):
        parse_fault_settings({"version1_rate": 1.5})


@pytest.mark.parametrize(("rate", "marked"), [(0.0, None), (1.0, 1)])
async def test_market_marks_its_own_transactions_at_version1_rate(
    rate: float, marked: int | None
) -> None:
    scenario = parse_scenario({"name": "v", "wallets": {"creators": 1, "traders": 1}})
    node = Node(Ledger(seed=0), genesis_time=1)
    node.faults.version1_rate = rate
    market = Market(node, scenario, 1)
    market.fund()
    trader = market.traders[0]
    ix = transfer(TransferParams(from_pubkey=trader, to_pubkey=trader, lamports=1))
    signature = market._submit("trade", [ix], trader, random.Random(3))
    assert signature is not None
    assert node.reported_version(signature) == marked
