"""JSON-RPC framing, error codes, preflight, simulation, faults and small methods."""

from __future__ import annotations

import base64

import base58
import httpx
import pytest
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


async def test_preflight_failure_has_solanas_shape_and_nothing_lands(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(300):
        tx = transfer_tx(
            payer, keypair("rich").pubkey(), 100 * LAMPORTS_PER_SOL, await latest_blockhash(client)
        )
        raw = base64.b64encode(bytes(tx)).decode()
        answer = await rpc_raw(client, "sendTransaction", [raw, {"encoding": "base64"}])
        error = answer["error"]
        assert error["code"] == -32002
        assert error["message"] == (
            "Transaction simulation failed: "
            "Error processing Instruction 0: custom program error: 0x1"
        )
        assert error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
        assert any("insufficient lamports" in line for line in error["data"]["logs"])
        await trio.sleep(2)
        assert sim.node.stats.submitted == 0
        statuses = await rpc(client, "getSignatureStatuses", [[str(tx.signatures[0])]])
        assert statuses["value"] == [None]

        # With skipPreflight the same transaction lands, fails, and pays its fee.
        signature = await rpc(
            client, "sendTransaction", [raw, {"encoding": "base64", "skipPreflight": True}]
        )
        status = await wait_for_status(client, signature, "confirmed")
        assert status["err"] == {"InstructionError": [0, {"Custom": 1}]}
        assert status["status"] == {"Err": {"InstructionError": [0, {"Custom": 1}]}}
        balance = await rpc(client, "getBalance", [str(payer.pubkey())])
        assert balance["value"] == 10 * LAMPORTS_PER_SOL - 5000
        assert sim.node.stats.failed == 1


async def test_simulate_transaction_reports_without_changing_state(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    to = keypair("sim-to").pubkey()
    with trio.fail_after(300):
        tx = transfer_tx(payer, to, LAMPORTS_PER_SOL, await latest_blockhash(client))
        result = await rpc(client, "simulateTransaction", [base58.b58encode(bytes(tx)).decode()])
        assert result["value"]["err"] is None
        assert result["value"]["unitsConsumed"] == 150
        assert result["value"]["logs"][0].startswith(
            "Program 11111111111111111111111111111111 invoke"
        )
        assert (await rpc(client, "getBalance", [str(to)]))["value"] == 0

        unknown = transfer_tx(payer, to, LAMPORTS_PER_SOL, Hash.new_unique())
        raw = base58.b58encode(bytes(unknown)).decode()
        result = await rpc(client, "simulateTransaction", [raw])
        assert result["value"]["err"] == "BlockhashNotFound"
        replaced = await rpc(client, "simulateTransaction", [raw, {"replaceRecentBlockhash": True}])
        assert replaced["value"]["err"] is None
        assert replaced["value"]["replacementBlockhash"]["lastValidBlockHeight"] >= 150


async def test_batch_answers_each_request_in_order(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
        {"jsonrpc": "2.0", "id": 2, "method": "noSuchMethod", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "getBalance", "params": ["not-a-key"]},
        {"jsonrpc": "2.0", "id": 4, "method": "getMinimumBalanceForRentExemption", "params": [165]},
        "garbage",
    ]
    with trio.fail_after(60):
        response = await client.post("/", json=batch)
    answers = response.json()
    assert [a["id"] for a in answers] == [1, 2, 3, 4, None]
    assert answers[0]["result"] == "ok"
    assert answers[1]["error"] == {"code": -32601, "message": "Method not found"}
    assert answers[2]["error"]["code"] == -32602
    assert answers[3]["result"] == 1_488_440  # (128 + 165) × 5,080: mainnet 2026 (sim.rent)
    assert answers[4]["error"]["code"] == -32600


async def test_parse_error_and_empty_batch(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(60):
        bad = await client.post(
            "/", content=b"{not json", headers={"content-type": "application/json"}
        )
        empty = await client.post("/", json=[])
    assert bad.json() == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }
    assert empty.json()["error"]["code"] == -32600


@pytest.mark.parametrize(("knob", "status"), [("rpc_429_rate", 429), ("rpc_5xx_rate", 503)])
async def test_http_faults(
    autojump_clock: trio.testing.MockClock,
    sim: SimNode,
    client: httpx.AsyncClient,
    knob: str,
    status: int,
) -> None:
    setattr(sim.faults, knob, 1.0)
    sim.faults.retry_after = 3
    with trio.fail_after(60):
        response = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
        assert response.status_code == status
        if status == 429:
            assert response.headers["retry-after"] == "3"
        setattr(sim.faults, knob, 0.0)
        assert await rpc(client, "getHealth") == "ok"
    assert sim.rpc_server.app.faulted == 1


async def test_http_fault_rate_is_seeded(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    sim.faults.rpc_429_rate = 0.5
    codes = []
    with trio.fail_after(60):
        for _ in range(40):
            response = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
            codes.append(response.status_code)
    assert 5 < codes.count(429) < 35
    assert set(codes) == {200, 429}


async def test_request_airdrop_lands_as_a_transaction(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    who = Pubkey.new_unique()
    with trio.fail_after(300):
        signature = await rpc(client, "requestAirdrop", [str(who), 2 * LAMPORTS_PER_SOL])
        await wait_for_status(client, signature, "confirmed")
        assert (await rpc(client, "getBalance", [str(who)]))["value"] == 2 * LAMPORTS_PER_SOL
        second = await rpc(client, "requestAirdrop", [str(who), 2 * LAMPORTS_PER_SOL])
        assert second != signature
        await wait_for_status(client, second, "processed")
        assert (await rpc(client, "getBalance", [str(who)]))["value"] == 4 * LAMPORTS_PER_SOL


async def test_prioritization_fees_come_from_landed_transactions(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    from solders.compute_budget import set_compute_unit_price
    from solders.message import Message
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction

    to = keypair("fees").pubkey()
    with trio.fail_after(300):
        blockhash = await latest_blockhash(client)
        ixs = [
            set_compute_unit_price(12_345),
            transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=LAMPORTS_PER_SOL)
            ),
        ]
        tx = Transaction([payer], Message(ixs, payer.pubkey()), blockhash)
        signature = await rpc(client, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
        status = await wait_for_status(client, signature, "processed")
        fees = await rpc(client, "getRecentPrioritizationFees", [[str(to)]])
        by_slot = {f["slot"]: f["prioritizationFee"] for f in fees}
        assert by_slot[status["slot"]] == 12_345
        assert sum(by_slot.values()) == 12_345
        other = await rpc(client, "getRecentPrioritizationFees", [[str(Pubkey.new_unique())]])
        assert all(f["prioritizationFee"] == 0 for f in other)
        assert len(fees) <= 150


async def test_account_encodings_follow_agave_rules(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    from trio_trader.pump.addresses import GLOBAL

    with trio.fail_after(60):
        too_big = await rpc_raw(client, "getAccountInfo", [str(GLOBAL)])
        assert too_big["error"]["code"] == -32600
        assert "please use Base64 encoding" in too_big["error"]["message"]
        sliced = await rpc(
            client,
            "getAccountInfo",
            [str(GLOBAL), {"encoding": "base58", "dataSlice": {"offset": 0, "length": 8}}],
        )
        full = await rpc(client, "getAccountInfo", [str(GLOBAL), {"encoding": "base64"}])
        raw = base64.b64decode(full["value"]["data"][0])
        assert base58.b58decode(sliced["value"]["data"][0]) == raw[:8]
        assert sliced["value"]["space"] == len(raw)
        # jsonParsed falls back to base64 for an account no parser knows.
        parsed = await rpc(client, "getAccountInfo", [str(GLOBAL), {"encoding": "jsonParsed"}])
        assert parsed["value"]["data"] == full["value"]["data"]
