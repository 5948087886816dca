"""What the node remembers, over its real sockets: status cache, address history, identity."""

from __future__ import annotations

import base64
import json

import base58
import httpx
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from trio_websocket import open_websocket_url

from tests.sim.conftest import (
    GENESIS_TIME,
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    rpc_raw,
    transfer_tx,
    wait_for_status,
    ws_request,
)
from trio_trader.sim import SimNode, open_sim
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


async def signatures_for(client: httpx.AsyncClient, address: object, **config: object) -> list:
    result = await rpc(client, "getSignaturesForAddress", [str(address), config])
    assert isinstance(result, list)
    return result


async def test_signatures_for_address_newest_first_with_paging_and_failures(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    a, b = keypair("gsfa-a").pubkey(), keypair("gsfa-b").pubkey()
    with trio.fail_after(600):
        s1 = await send_transfer(client, payer, "gsfa-a")
        await wait_for_status(client, s1, "processed")
        s2 = await send_transfer(client, payer, "gsfa-b")
        await wait_for_status(client, s2, "processed")
        # More than the payer has: lands as a failure (fee charged) and is indexed too.
        too_much = transfer_tx(payer, a, 100 * LAMPORTS_PER_SOL, await latest_blockhash(client))
        s3 = await rpc(
            client,
            "sendTransaction",
            [
                base64.b64encode(bytes(too_much)).decode(),
                {"encoding": "base64", "skipPreflight": True},
            ],
        )
        failed = await wait_for_status(client, s3, "processed")
        assert failed["err"] is not None
        s4 = await send_transfer(client, payer, "gsfa-a", 2 * LAMPORTS_PER_SOL)
        await wait_for_status(client, s4, "finalized")

        entries = await signatures_for(client, a)
        assert [e["signature"] for e in entries] == [s4, s3, s1]
        tx1 = await rpc(client, "getTransaction", [s1, {"encoding": "json"}])
        assert entries[2] == {
            "signature": s1,
            "slot": tx1["slot"],
            "err": None,
            "memo": None,
            "blockTime": tx1["blockTime"],
            "confirmationStatus": "finalized",
        }
        assert entries[1]["err"] == failed["err"] == {"InstructionError": [0, {"Custom": 1}]}
        assert entries[1]["slot"] == failed["slot"]
        assert [e["signature"] for e in await signatures_for(client, b)] == [s2]
        newest_first = [s4, s3, s2, s1]
        # the signer, and a read-only program account, are indexed like any other key
        for address in (payer.pubkey(), "11111111111111111111111111111111"):
            found = await signatures_for(client, address, commitment="confirmed")
            assert [e["signature"] for e in found] == newest_first
        assert await signatures_for(client, keypair("gsfa-nobody").pubkey()) == []

        # Paging: `before` and `until` are exclusive, and any landed signature will do.
        page = await signatures_for(client, payer.pubkey(), limit=2)
        assert [e["signature"] for e in page] == [s4, s3]
        page = await signatures_for(client, payer.pubkey(), limit=2, before=s3)
        assert [e["signature"] for e in page] == [s2, s1]
        assert await signatures_for(client, payer.pubkey(), before=s1) == []
        assert [e["signature"] for e in await signatures_for(client, a, before=s2)] == [s1]
        window = await signatures_for(client, payer.pubkey(), before=s4, until=s1)
        assert [e["signature"] for e in window] == [s3, s2]
        until = await signatures_for(client, payer.pubkey(), until=s2)
        assert [e["signature"] for e in until] == [s4, s3]
        # Unknown bounds, as agave 2.x answers from its blockstore: an unknown `before`
        # finds nothing, an unknown `until` is ignored.
        unknown = str(keypair("never-sent").sign_message(b"x"))
        assert await signatures_for(client, payer.pubkey(), before=unknown) == []
        everything = await signatures_for(client, payer.pubkey(), until=unknown)
        assert [e["signature"] for e in everything] == newest_first

        # Commitment: a transaction not yet finalized only shows up under "confirmed".
        sim.faults.finalize_depth = 10_000
        s5 = await send_transfer(client, payer, "gsfa-a")
        await wait_for_status(client, s5, "confirmed")
        confirmed = await signatures_for(client, a, commitment="confirmed")
        assert [e["signature"] for e in confirmed] == [s5, s4, s3, s1]
        assert {e["confirmationStatus"] for e in confirmed} == {"confirmed"}
        assert await signatures_for(client, a) == []  # nothing is finalized any more


async def test_signatures_for_address_refuses_bad_params(
    autojump_clock: trio.testing.MockClock, client: httpx.AsyncClient, payer: Keypair
) -> None:
    address = str(payer.pubkey())
    with trio.fail_after(60):
        for config, message in [
            ({"limit": 0}, "Invalid limit; max 1000"),
            ({"limit": 1001}, "Invalid limit; max 1000"),
            ({"commitment": "processed"}, "Method does not support commitment below `confirmed`"),
            ({"before": "not-a-signature"}, "Invalid param: Invalid"),
        ]:
            answer = await rpc_raw(client, "getSignaturesForAddress", [address, config])
            assert answer["error"] == {"code": -32602, "message": message}, config
        answer = await rpc_raw(client, "getSignaturesForAddress", ["nope"])
        assert answer["error"]["code"] == -32602
        assert await rpc(client, "getSignaturesForAddress", [address, {"limit": 1000}]) == []


async def _genesis_of(sim: SimNode) -> str:
    async with httpx.AsyncClient(base_url=sim.rpc_url, timeout=60) as http:
        first = await rpc(http, "getGenesisHash")
        await trio.sleep(0.4 * 3)
        assert await rpc(http, "getGenesisHash") == first  # fixed for the node's life
        return str(first)


async def test_every_node_is_its_own_cluster_unless_given_a_genesis_hash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        runs = []
        for _ in range(2):
            async with open_sim(seed=7, genesis_time=GENESIS_TIME) as sim:
                runs.append(await _genesis_of(sim))
        assert runs[0] != runs[1], "two runs with one seed are still two clusters"
        assert all(len(base58.b58decode(h)) == 32 for h in runs)
        given = Hash.new_unique()
        async with open_sim(seed=7, genesis_hash=given) as sim:
            assert sim.node.genesis_hash == given
            assert await _genesis_of(sim) == str(given)


async def test_a_send_that_expires_in_flight_stays_unknown_everywhere(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    hold = 0.4 * (STATUS_CACHE_SLOTS + 20)
    sim.faults.latency_min = sim.faults.latency_max = hold
    with trio.fail_after(600):
        tx = transfer_tx(payer, keypair("expired").pubkey(), 10**6, await latest_blockhash(client))
        raw = base64.b64encode(bytes(tx)).decode()
        signature = await rpc(client, "sendTransaction", [raw, {"encoding": "base64"}])
        async with open_websocket_url(sim.ws_url) as ws:
            params = [signature, {"commitment": "processed"}]
            await ws_request(ws, "signatureSubscribe", params, 1)
            with trio.move_on_after(hold + 40.0):
                message = json.loads(await ws.get_message())
                raise AssertionError(f"unexpected message {message}")
        assert sim.node.stats.dropped == 1
        assert await statuses(client, signature, history=True) is None
        assert await rpc(client, "getTransaction", [signature, {"encoding": "json"}]) is None
        assert await signatures_for(client, payer.pubkey(), commitment="confirmed") == []
        again = await rpc_raw(
            client, "sendTransaction", [raw, {"encoding": "base64", "skipPreflight": True}]
        )
        assert again["error"]["data"]["err"] == "BlockhashNotFound"
        balance = await rpc(client, "getBalance", [str(payer.pubkey())])
        assert balance["value"] == 10 * LAMPORTS_PER_SOL  # not even a fee
