"""The JSON-RPC server against raw HTTP: shapes, errors, batch, faults."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import base58
import httpx
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.sim.conftest import (
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    rpc_raw,
    transfer_tx,
    wait_for_status,
)
from trio_trader.sim import SimNode

FEE = 5000


async def test_slots_advance_and_blockhash_is_valid_for_150_blocks(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(300):
        assert await rpc(client, "getHealth") == "ok"
        version = await rpc(client, "getVersion")
        assert set(version) == {"solana-core", "feature-set"}
        first = await rpc(client, "getSlot", [{"commitment": "processed"}])
        await trio.sleep(4.0)
        later = await rpc(client, "getSlot", [{"commitment": "processed"}])
        assert later >= first + 10
        confirmed = await rpc(client, "getSlot", [{"commitment": "confirmed"}])
        finalized = await rpc(client, "getSlot", [{"commitment": "finalized"}])
        assert finalized < confirmed <= later
        height = await rpc(client, "getBlockHeight", [{"commitment": "processed"}])
        assert height >= later
        latest = await rpc(client, "getLatestBlockhash", [{"commitment": "processed"}])
        context, value = latest["context"], latest["value"]
        assert context["apiVersion"]
        assert context["slot"] >= later
        assert value["lastValidBlockHeight"] == context["slot"] + 150
        valid = await rpc(
            client, "isBlockhashValid", [value["blockhash"], {"commitment": "processed"}]
        )
        assert valid["value"] is True
        await trio.sleep(0.4 * 152)
        expired = await rpc(
            client, "isBlockhashValid", [value["blockhash"], {"commitment": "processed"}]
        )
        assert expired["value"] is False


async def test_transfer_lands_with_fee_and_balances(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    to = keypair("recipient").pubkey()
    with trio.fail_after(300):
        blockhash = await latest_blockhash(client)
        tx = transfer_tx(payer, to, LAMPORTS_PER_SOL, blockhash)
        encoded = base64.b64encode(bytes(tx)).decode()
        signature = await rpc(client, "sendTransaction", [encoded, {"encoding": "base64"}])
        assert signature == str(tx.signatures[0])
        status = await wait_for_status(client, signature, "confirmed")
        assert status["err"] is None
        assert status["status"] == {"Ok": None}
        assert status["confirmations"] >= 1

        got = await rpc(
            client,
            "getTransaction",
            [
                signature,
                {
                    "encoding": "json",
                    "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0,
                },
            ],
        )
        meta = got["meta"]
        assert meta["fee"] == FEE
        assert meta["err"] is None
        assert meta["status"] == {"Ok": None}
        keys = got["transaction"]["message"]["accountKeys"]
        assert keys[:2] == [str(payer.pubkey()), str(to)]
        assert meta["preBalances"][:2] == [10 * LAMPORTS_PER_SOL, 0]
        assert meta["postBalances"][:2] == [9 * LAMPORTS_PER_SOL - FEE, LAMPORTS_PER_SOL]
        assert got["version"] == "legacy"
        assert got["slot"] == status["slot"]
        assert got["blockTime"] >= 1_767_225_600
        assert got["transaction"]["signatures"] == [signature]
        assert any(
            "11111111111111111111111111111111 success" in line for line in meta["logMessages"]
        )

        balance = await rpc(client, "getBalance", [str(to), {"commitment": "confirmed"}])
        assert balance["value"] == LAMPORTS_PER_SOL
        info = await rpc(client, "getAccountInfo", [str(to), {"encoding": "base64"}])
        assert info["value"]["lamports"] == LAMPORTS_PER_SOL
        assert info["value"]["data"] == ["", "base64"]
        assert info["value"]["owner"] == "11111111111111111111111111111111"
        many = await rpc(client, "getMultipleAccounts", [[str(to), str(Pubkey.new_unique())]])
        assert many["value"][0]["lamports"] == LAMPORTS_PER_SOL
        assert many["value"][1] is None

        parsed = await rpc(
            client,
            "getTransaction",
            [signature, {"encoding": "jsonParsed", "commitment": "confirmed"}],
        )
        instruction = parsed["transaction"]["message"]["instructions"][0]
        assert instruction["parsed"]["info"]["lamports"] == LAMPORTS_PER_SOL
        assert parsed["transaction"]["message"]["accountKeys"][0]["signer"] is True


async def test_get_transaction_waits_for_the_requested_commitment(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    sim.faults.confirm_depth = 20  # far more slots than pass between two requests
    with trio.fail_after(300):
        tx = transfer_tx(payer, keypair("c").pubkey(), 1_000_000, await latest_blockhash(client))
        signature = await rpc(client, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
        status = await wait_for_status(client, signature, "processed")
        assert status["confirmationStatus"] == "processed"
        assert await rpc(client, "getTransaction", [signature, {"commitment": "confirmed"}]) is None
        await wait_for_status(client, signature, "confirmed")
        assert await rpc(client, "getTransaction", [signature, {"commitment": "confirmed"}])
        final = await wait_for_status(client, signature, "finalized")
        assert final["confirmations"] is None
        assert await rpc(client, "getTransaction", [signature])  # finalized by default
        processed = await rpc_raw(
            client, "getTransaction", [signature, {"commitment": "processed"}]
        )
        assert processed["error"]["code"] == -32602


async def test_expired_blockhash_is_rejected(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(300):
        blockhash = await latest_blockhash(client)
        await trio.sleep(0.4 * 155)
        tx = transfer_tx(payer, keypair("late").pubkey(), 1_000_000, blockhash)
        raw = base58.b58encode(bytes(tx)).decode()
        for skip in (False, True):
            answer = await rpc_raw(client, "sendTransaction", [raw, {"skipPreflight": skip}])
            assert answer["error"]["code"] == -32002
            assert (
                answer["error"]["message"] == "Transaction simulation failed: Blockhash not found"
            )
            assert answer["error"]["data"]["err"] == "BlockhashNotFound"
        unknown = transfer_tx(payer, keypair("late").pubkey(), 1_000_000, Hash.new_unique())
        answer = await rpc_raw(
            client, "sendTransaction", [base58.b58encode(bytes(unknown)).decode()]
        )
        assert answer["error"]["data"]["err"] == "BlockhashNotFound"
        assert sim.node.stats.landed == 0


async def test_duplicate_signature_is_already_processed(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    sim.faults.latency_min = sim.faults.latency_max = 2.0
    with trio.fail_after(300):
        tx = transfer_tx(payer, keypair("dup").pubkey(), 1_000_000, await latest_blockhash(client))
        raw = base58.b58encode(bytes(tx)).decode()
        signature = await rpc(client, "sendTransaction", [raw, {"skipPreflight": True}])
        # A rebroadcast while pending is accepted and ignored.
        assert await rpc(client, "sendTransaction", [raw, {"skipPreflight": True}]) == signature
        await wait_for_status(client, signature, "processed")
        again = await rpc_raw(client, "sendTransaction", [raw, {"skipPreflight": True}])
        assert again["error"]["code"] == -32002
        assert again["error"]["data"]["err"] == "AlreadyProcessed"
        assert "already been processed" in again["error"]["message"]
        assert sim.node.stats.landed == 1


async def test_send_transaction_answers_before_the_node_lands_it(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    """A real RPC node with ``skipPreflight`` answers once it has accepted and forwarded the
    transaction; a leader executes it later, elsewhere. So even with no landing delay, the
    reply is in the client's socket before the landing (execution, notifications) runs."""
    to = keypair("recipient").pubkey()
    blockhash = await latest_blockhash(client)
    tx = transfer_tx(payer, to, LAMPORTS_PER_SOL, blockhash)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "sendTransaction",
            "params": [
                base64.b64encode(bytes(tx)).decode(),
                {"encoding": "base64", "skipPreflight": True},
            ],
        }
    ).encode()
    host, port = sim.rpc_url.removeprefix("http://").split(":")
    at_landing: list[bytes] = []
    land = sim.node._land

    def peek_then_land(landing: Any) -> None:
        if landing.signatures[0] == tx.signatures[0]:
            try:  # what the client could read, without reading it
                at_landing.append(raw.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except BlockingIOError:
                at_landing.append(b"")
        land(landing)

    sim.node._land = peek_then_land  # type: ignore[method-assign]
    with socket.create_connection((host, int(port))) as raw, trio.fail_after(30):
        raw.setblocking(False)
        head = f"POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        raw.sendall(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
        while not at_landing:
            await trio.sleep(0.001)
        assert at_landing[0].startswith(b"HTTP/1.1 200"), at_landing  # answered first
        assert str(tx.signatures[0]).encode() in at_landing[0]
        status = await wait_for_status(client, str(tx.signatures[0]), "processed")
        assert status["err"] is None  # and it did land
