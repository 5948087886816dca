"""The operator's run-time fault knobs of a running node, over JSON-RPC at ``/sim``."""

from __future__ import annotations

from typing import Any

import attrs
import base58
import httpx
import pytest
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
from trio_trader.sim._control_methods import is_loopback_host, is_loopback_origin
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


async def control_from(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, *params: Any
) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 9, "method": method, "params": list(params)}
    return await client.post("/sim", json=body, headers=headers)


async def test_only_local_requests_may_turn_the_knobs(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient
) -> None:
    before = attrs.asdict(sim.faults)
    port = sim.rpc_url.rsplit(":", 1)[1]
    with trio.fail_after(60):
        for headers in [
            {"Host": "evil.example"},
            {"Host": f"evil.example:{port}"},
            {"Host": f"127.0.0.1.evil.example:{port}"},
            {"Origin": "http://evil.example"},  # DNS rebinding: right Host, foreign page
            {"Origin": f"http://evil.example:{port}"},
            {"Origin": "null"},
        ]:
            refused = await control_from(client, headers, "simSetFaults", {"drop_probability": 1.0})
            assert refused.status_code == 403, headers
            error = refused.json()["error"]
            assert error["code"] == -32600
            assert error["message"].startswith("Forbidden: /sim only answers local requests")
            assert refused.json()["id"] is None
        assert attrs.asdict(sim.faults) == before
        # The Solana endpoint itself is not the operator's: any Host may use it.
        foreign = await client.post(
            "/",
            json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
            headers={"Host": "rpc.example"},
        )
        assert foreign.json()["result"] == "ok"
        for headers in [
            {},  # httpx sends Host: 127.0.0.1:<port>
            {"Host": f"localhost:{port}"},
            {"Host": "[::1]:8899", "Origin": "http://localhost:3000"},
            {"Host": "127.1.2.3", "Origin": f"https://127.0.0.1:{port}"},
        ]:
            allowed = await control_from(client, headers, "simSetFaults", {"retry_after": 3})
            assert allowed.status_code == 200, headers
            assert allowed.json()["result"]["retry_after"] == 3
    assert attrs.asdict(sim.faults) == {**before, "retry_after": 3}


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("localhost", True),
        ("LOCALHOST:8899", True),
        ("127.0.0.1", True),
        ("127.255.0.9:1", True),
        ("[::1]", True),
        ("[::1]:8899", True),
        ("localhost.evil.example", False),
        ("evil.example", False),
        ("10.0.0.1:8899", False),
        ("0.0.0.0:8899", False),
        ("::1", False),  # a bare IPv6 address is not a Host value
        ("[::2]:80", False),
        ("[::1", False),
        ("127.0.0.1:", False),
        ("127.0.0.1:99999", False),
        ("127.0.0.1:80:80", False),
        ("user@127.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_host_values(value: str, local: bool) -> None:
    assert is_loopback_host(value) is local
    assert is_loopback_origin(f"http://{value}") is local
    assert not is_loopback_origin(value)  # an origin always has a scheme
    assert not is_loopback_origin(f"file://{value}")
