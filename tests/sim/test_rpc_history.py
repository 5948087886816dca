"""What the node remembers, over its real sockets: status cache, address history, identity."""

from __future__ import annotations

import base64
import json

import httpx
import trio
from solders.keypair import Keypair
from trio_websocket import open_websocket_url

from tests.sim.conftest import (
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    transfer_tx,
    wait_for_status,
    ws_request,
)
from trio_trader.sim import SimNode
from trio_trader.sim.node import STATUS_CACHE_SLOTS


async def send_transfer(
    client: httpx.AsyncClient, payer: Keypair, to_label: str, lamports: int = LAMPORTS_PER_SOL
) -> str:
    tx = transfer_tx(payer, keypair(to_label).pubkey(), lamports, await latest_blockhash(client))
    params = [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
    return str(await rpc(client, "sendTransaction", params))


async def statuses(client: httpx.AsyncClient, signature: str, *, history: bool) -> object:
    config = {"searchTransactionHistory": history}
    return (await rpc(client, "getSignatureStatuses", [[signature], config]))["value"][0]


async def test_an_old_signature_is_only_found_with_history_and_never_notified(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(600):
        old = await send_transfer(client, payer, "old")
        landed = (await wait_for_status(client, old, "processed"))["slot"]
        while sim.node.slot <= landed + STATUS_CACHE_SLOTS:
            await trio.sleep(0.4)
        assert await statuses(client, old, history=False) is None
        found = await statuses(client, old, history=True)
        assert isinstance(found, dict)
        assert (found["slot"], found["confirmationStatus"]) == (landed, "finalized")

        async with open_websocket_url(sim.ws_url) as ws:
            params = [old, {"commitment": "processed"}]
            old_sub = (await ws_request(ws, "signatureSubscribe", params, 1))["result"]
            fresh = await send_transfer(client, payer, "fresh")
            request = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "signatureSubscribe",
                "params": [fresh, {"commitment": "processed"}],
            }
            await ws.send_message(json.dumps(request))
            # Every message from here on is read: none may be about the old signature.
            fresh_sub = None
            while True:
                message = json.loads(await ws.get_message())
                if message.get("id") == 2:
                    fresh_sub = message["result"]
                    continue
                assert message.get("method") == "signatureNotification", message
                assert message["params"]["subscription"] == fresh_sub, message
                assert message["params"]["result"]["value"] == {"err": None}
                break
            # A few slots later still nothing, and the old subscription is still live.
            with trio.move_on_after(0.4 * 5):
                message = json.loads(await ws.get_message())
                raise AssertionError(f"unexpected message {message}")
            answer = await ws_request(ws, "signatureUnsubscribe", [old_sub], 3)
            assert answer["result"] is True
