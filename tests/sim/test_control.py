"""The operator's run-time fault knobs of a running node, over JSON-RPC at ``/sim``."""

from __future__ import annotations

from typing import Any

import attrs
import base58
import httpx
import trio
from solders.keypair import Keypair

from tests.sim.conftest import (
    keypair,
    latest_blockhash,
    rpc,
    rpc_raw,
    transfer_tx,
    wait_for_status,
)
from trio_trader.sim import SimNode
from trio_trader.sim.faults import Faults


async def control(client: httpx.AsyncClient, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 9, "method": method, "params": list(params)}
    response = await client.post("/sim", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_knobs_are_read_and_changed_one_at_a_time_while_running(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(60):
        assert (await control(client, "simGetFaults"))["result"] == attrs.asdict(Faults())
        changed = await control(client, "simSetFaults", {"rpc_429_rate": 1.0, "retry_after": 4})
        expected = {**attrs.asdict(Faults()), "rpc_429_rate": 1.0, "retry_after": 4}
        assert changed["result"] == expected
        assert attrs.asdict(sim.faults) == expected

        limited = await client.post("/", json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "4"
        # the operator's path is never rate-limited, so the knob can be turned back
        restored = await control(client, "simSetFaults", {"rpc_429_rate": 0.0})
        assert restored["result"]["rpc_429_rate"] == 0.0
        assert restored["result"]["retry_after"] == 4
        assert await rpc(client, "getHealth") == "ok"


async def test_slow_confirmation_set_at_run_time_holds_a_transaction_at_processed(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(120):
        assert "result" in await control(client, "simSetFaults", {"confirm_depth": 10})
        tx = transfer_tx(payer, keypair("slow").pubkey(), 10**6, await latest_blockhash(client))
        signature = await rpc(client, "sendTransaction", [base58.b58encode(bytes(tx)).decode()])
        landed = await wait_for_status(client, signature, "processed")
        await trio.sleep(0.4 * 5)
        (status,) = (await rpc(client, "getSignatureStatuses", [[signature]]))["value"]
        assert status["confirmationStatus"] == "processed"
        confirmed = await wait_for_status(client, signature, "confirmed")
        assert confirmed["confirmations"] >= 10
        assert confirmed["slot"] == landed["slot"]
        processed = await rpc(client, "getSlot", [{"commitment": "processed"}])
        assert await rpc(client, "getSlot", [{"commitment": "confirmed"}]) == processed - 10


async def test_a_bad_change_is_refused_whole_and_names_the_knob(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    before = attrs.asdict(sim.faults)
    with trio.fail_after(60):
        bad_rate = await control(
            client, "simSetFaults", {"latency_max": 1.0, "drop_probability": 1.5}
        )
        assert bad_rate["error"]["code"] == -32602
        assert "drop_probability must be within 0..1, got 1.5" in bad_rate["error"]["message"]
        unknown = await control(client, "simSetFaults", {"drop_rate": 0.1})
        assert unknown["error"]["code"] == -32602
        assert "drop_rate" in unknown["error"]["message"]
        not_an_object = await control(client, "simSetFaults", [0.1])
        assert not_an_object["error"]["code"] == -32602
        # the operator's methods are not part of the Solana endpoint
        hidden = await rpc_raw(client, "simGetFaults")
        assert hidden["error"] == {"code": -32601, "message": "Method not found"}
        solana_on_sim = await control(client, "getSlot")
        assert solana_on_sim["error"]["code"] == -32601
    assert attrs.asdict(sim.faults) == before
