"""The pubsub server against raw WebSocket messages: shapes, commitment, faults."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import trio
from solders.keypair import Keypair
from trio_websocket import open_websocket_url

from tests.sim.conftest import (
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    transfer_tx,
    wait_closed_abruptly,
    wait_for_status,
    ws_notification,
    ws_request,
)
from trio_trader.sim import SimNode


async def _send_transfer(client: httpx.AsyncClient, payer: Keypair, to_label: str) -> str:
    tx = transfer_tx(
        payer, keypair(to_label).pubkey(), LAMPORTS_PER_SOL, await latest_blockhash(client)
    )
    return str(
        await rpc(
            client,
            "sendTransaction",
            [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
        )
    )


async def test_slot_subscribe_notifies_every_slot(
    autojump_clock: trio.testing.MockClock, sim: SimNode
) -> None:
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            answer = await ws_request(ws, "slotSubscribe", [])
            sub = answer["result"]
            assert isinstance(sub, int)
            first = await ws_notification(ws, "slotNotification")
            second = await ws_notification(ws, "slotNotification")
            assert first["params"]["subscription"] == sub
            a, b = first["params"]["result"], second["params"]["result"]
            assert set(a) == {"parent", "root", "slot"}
            assert b["slot"] == a["slot"] + 1
            assert b["parent"] == a["slot"]
            assert (await ws_request(ws, "slotUnsubscribe", [sub], rid=2))["result"] is True
            again = await ws_request(ws, "slotUnsubscribe", [sub], rid=3)
            assert again["error"]["code"] == -32602


async def test_logs_and_signature_notifications_respect_commitment(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    sim.faults.confirm_depth = 5
    mention = str(payer.pubkey())
    with trio.fail_after(120):
        async with open_websocket_url(sim.ws_url) as ws:
            processed = (
                await ws_request(
                    ws, "logsSubscribe", [{"mentions": [mention]}, {"commitment": "processed"}], 1
                )
            )["result"]
            confirmed = (
                await ws_request(
                    ws, "logsSubscribe", [{"mentions": [mention]}, {"commitment": "confirmed"}], 2
                )
            )["result"]
            unrelated = (
                await ws_request(
                    ws, "logsSubscribe", [{"mentions": [str(keypair("nobody").pubkey())]}], 3
                )
            )["result"]
            tx = transfer_tx(
                payer, keypair("logs-to").pubkey(), LAMPORTS_PER_SOL, await latest_blockhash(client)
            )
            signature = str(tx.signatures[0])
            sig_sub = (
                await ws_request(
                    ws, "signatureSubscribe", [signature, {"commitment": "confirmed"}], 4
                )
            )["result"]
            await rpc(
                client,
                "sendTransaction",
                [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
            )

            got: dict[int, tuple[dict, int]] = {}
            while len(got) < 3:
                message = json.loads(await ws.get_message())
                assert message.get("method") in ("logsNotification", "signatureNotification"), (
                    message
                )
                got[message["params"]["subscription"]] = (message, sim.node.slot)
            assert unrelated not in got

            message, _ = got[processed]
            assert message["method"] == "logsNotification"
            result = message["params"]["result"]
            landed = result["context"]["slot"]
            assert result["value"]["signature"] == signature
            assert result["value"]["err"] is None
            assert any(line.endswith("success") for line in result["value"]["logs"])

            message, slot_seen = got[confirmed]
            assert message["params"]["result"]["value"] == result["value"]
            assert slot_seen >= landed + 5

            message, slot_seen = got[sig_sub]
            assert message["params"]["result"] == {
                "context": {"slot": landed},
                "value": {"err": None},
            }
            assert slot_seen >= landed + 5
            # signatureSubscribe is one-shot: it is gone after its notification.
            answer = await ws_request(ws, "signatureUnsubscribe", [sig_sub], 5)
            assert answer["error"]["code"] == -32602


async def test_signature_subscribe_after_landing_notifies_at_once(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(60):
        signature = await _send_transfer(client, payer, "late-sub")
        await trio.sleep(2)
        async with open_websocket_url(sim.ws_url) as ws:
            sub = (
                await ws_request(ws, "signatureSubscribe", [signature, {"commitment": "processed"}])
            )["result"]
            message = await ws_notification(ws, "signatureNotification")
            assert message["params"]["subscription"] == sub
            assert message["params"]["result"]["value"] == {"err": None}


async def test_account_and_block_notifications(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    to = keypair("acct-to").pubkey()
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            acct = (
                await ws_request(
                    ws,
                    "accountSubscribe",
                    [str(to), {"encoding": "base64", "commitment": "processed"}],
                    1,
                )
            )["result"]
            block = (
                await ws_request(
                    ws,
                    "blockSubscribe",
                    [
                        {"mentionsAccountOrProgram": str(to)},
                        {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
                    ],
                    2,
                )
            )["result"]
            signature = await _send_transfer(client, payer, "acct-to")

            message = await ws_notification(ws, "accountNotification")
            assert message["params"]["subscription"] == acct
            value = message["params"]["result"]["value"]
            assert value["lamports"] == LAMPORTS_PER_SOL
            assert value["data"] == ["", "base64"]
            assert value["owner"] == "11111111111111111111111111111111"
            assert value["executable"] is False
            assert value["space"] == 0

            message = await ws_notification(ws, "blockNotification")
            assert message["params"]["subscription"] == block
            result = message["params"]["result"]
            assert result["value"]["err"] is None
            slot = result["value"]["slot"]
            assert result["context"]["slot"] == slot
            txs = result["value"]["block"]["transactions"]
            assert [t["transaction"]["signatures"][0] for t in txs] == [signature]
            assert txs[0]["meta"]["fee"] == 5000
            assert result["value"]["block"]["parentSlot"] == max(0, slot - 1)


async def test_logs_all_account_and_block_subscriptions_stop_after_unsubscribe(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    to = str(keypair("unsub-to").pubkey())
    subscribe = {
        "logs": ("logsSubscribe", ["all", {"commitment": "processed"}]),
        "account": ("accountSubscribe", [to, {"encoding": "base64", "commitment": "processed"}]),
        "block": (
            "blockSubscribe",
            [{"mentionsAccountOrProgram": to}, {"commitment": "confirmed"}],
        ),
    }
    notification = {"logs": "logsNotification", "account": "accountNotification"}
    notification["block"] = "blockNotification"
    with trio.fail_after(120):
        async with open_websocket_url(sim.ws_url) as ws:
            subs = {}
            for rid, (kind, (method, params)) in enumerate(subscribe.items(), start=1):
                subs[kind] = (await ws_request(ws, method, params, rid))["result"]
            first = await _send_transfer(client, payer, "unsub-to")
            await wait_for_status(client, first, "confirmed")
            seen: dict[str, dict] = {}
            while len(seen) < 3:
                message = json.loads(await ws.get_message())
                kind = next(k for k, m in notification.items() if m == message["method"])
                assert message["params"]["subscription"] == subs[kind]
                seen[kind] = message["params"]["result"]
            assert seen["logs"]["value"]["signature"] == first
            assert seen["account"]["value"]["lamports"] == LAMPORTS_PER_SOL
            block = seen["block"]["value"]["block"]
            assert [t["transaction"]["signatures"][0] for t in block["transactions"]] == [first]

            for rid, kind in enumerate(subs, start=10):
                method = subscribe[kind][0].replace("Subscribe", "Unsubscribe")
                assert (await ws_request(ws, method, [subs[kind]], rid))["result"] is True
                again = await ws_request(ws, method, [subs[kind]], rid + 10)
                assert again["error"]["code"] == -32602
            second = await _send_transfer(client, payer, "unsub-to")
            await wait_for_status(client, second, "finalized")
            # anything still subscribed would have been written before this answer
            await ws.send_message(
                json.dumps({"jsonrpc": "2.0", "id": 99, "method": "slotSubscribe"})
            )
            while (message := json.loads(await ws.get_message())).get("id") != 99:
                assert message.get("method") not in notification.values(), message
    balance = await rpc(client, "getBalance", [to, {"commitment": "processed"}])
    assert balance["value"] == 2 * LAMPORTS_PER_SOL


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("fooSubscribe", [], -32601),
        ("logsSubscribe", [{"mentions": ["not-a-key"]}], -32602),
        ("signatureSubscribe", ["xyz"], -32602),
        ("blockSubscribe", ["all", {"commitment": "processed"}], -32602),
    ],
)
async def test_bad_requests_get_json_rpc_errors(
    autojump_clock: trio.testing.MockClock, sim: SimNode, method: str, params: list, code: int
) -> None:
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            answer = await ws_request(ws, method, params)
            assert answer["error"]["code"] == code
            await ws.send_message("{oops")
            assert json.loads(await ws.get_message())["error"]["code"] == -32700


async def test_disconnect_websockets_drops_connections_abruptly(
    autojump_clock: trio.testing.MockClock, sim: SimNode
) -> None:
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            await ws_request(ws, "slotSubscribe", [])
            await trio.sleep(0.5)
            assert sim.disconnect_websockets() == 1
            assert await wait_closed_abruptly(ws) == 1006
    assert sim.ws_server.disconnects == 1


async def test_disconnect_rate_fault_closes_the_socket(
    autojump_clock: trio.testing.MockClock, sim: SimNode
) -> None:
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            await ws_request(ws, "slotSubscribe", [])
            sim.faults.ws_disconnect_rate = 1.0
            assert await wait_closed_abruptly(ws) == 1006
        sim.faults.ws_disconnect_rate = 0.0
        async with open_websocket_url(sim.ws_url) as ws:  # the server still accepts
            await ws_request(ws, "slotSubscribe", [])
            await ws_notification(ws, "slotNotification")


async def test_received_notification_then_status_and_block_signatures(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    with trio.fail_after(60):
        async with open_websocket_url(sim.ws_url) as ws:
            tx = transfer_tx(
                payer, keypair("recv").pubkey(), LAMPORTS_PER_SOL, await latest_blockhash(client)
            )
            signature = str(tx.signatures[0])
            params = [signature, {"commitment": "confirmed", "enableReceivedNotification": True}]
            sub = (await ws_request(ws, "signatureSubscribe", params, 1))["result"]
            details = {"commitment": "confirmed", "transactionDetails": "signatures"}
            block = (await ws_request(ws, "blockSubscribe", ["all", details], 2))["result"]
            await rpc(
                client,
                "sendTransaction",
                [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
            )
            first = await ws_notification(ws, "signatureNotification")
            assert first["params"]["subscription"] == sub
            assert first["params"]["result"]["value"] == "receivedSignature"
            second = await ws_notification(ws, "signatureNotification")
            assert second["params"]["result"]["value"] == {"err": None}
            while True:
                note = await ws_notification(ws, "blockNotification")
                assert note["params"]["subscription"] == block
                value = note["params"]["result"]["value"]
                assert "transactions" not in value["block"]
                if value["block"]["signatures"]:
                    assert value["block"]["signatures"] == [signature]
                    break


async def test_client_leaving_mid_stream_is_not_an_error(
    autojump_clock: trio.testing.MockClock, sim: SimNode, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(60):
        for _ in range(3):
            async with open_websocket_url(sim.ws_url) as ws:
                await ws_request(ws, "slotSubscribe", [])
                await ws_notification(ws, "slotNotification")
        await trio.sleep(2)
        assert not sim.ws_server.connections
        async with open_websocket_url(sim.ws_url) as ws:
            await ws_request(ws, "slotSubscribe", [])
            await ws_notification(ws, "slotNotification")
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
