"""RpcClient against a fake JSON-RPC node (httpx.MockTransport), on Trio's MockClock."""

from __future__ import annotations

import base64
import itertools
import json
from functools import partial
from typing import Any

import httpx
import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.chain.fakes import FakeNode, RpcFault, context
from tests.conftest import load_sample
from trio_trader.chain import (
    RpcClient,
    RpcError,
    RpcRateLimited,
    RpcUnavailable,
    TransactionError,
)
from trio_trader.chain.rpc import _retry_after

A = "http://a.test/"
B = "http://b.test/"
SIG = Signature.new_unique()
BLOCKHASH = Hash.new_unique()


def client(node: FakeNode, *endpoints: str, **kwargs: Any) -> RpcClient:
    return RpcClient(endpoints or (A,), transport=node.transport(), seed=1, **kwargs)


async def test_call_returns_result_and_counts_requests() -> None:
    node = FakeNode({"getSlot": lambda params: 4242})
    async with client(node) as rpc:
        assert await rpc.get_slot() == 4242
        assert await rpc.get_slot("confirmed") == 4242
    assert node.calls[1][2] == [{"commitment": "confirmed"}]
    assert rpc.stats.requests_sent == 2
    assert rpc.stats.by_method["getSlot"] == 2


async def test_429_retry_after_is_honoured(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getBlockHeight": lambda params: 77})
    node.http_faults.append(httpx.Response(429, headers={"Retry-After": "3"}, text="slow down"))
    async with client(node) as rpc:
        with trio.fail_after(60):
            assert await rpc.get_block_height() == 77
    (t0, _, _), (t1, _, _) = node.requests
    assert t1 - t0 >= 3
    assert rpc.stats.rate_limited == 1
    assert rpc.stats.requests_sent == 2


async def test_json_rpc_rate_limit_code_is_retried(autojump_clock: trio.abc.Clock) -> None:
    calls = iter([RpcFault(-32429, "Too many requests"), 5])

    def handler(params: list[Any]) -> Any:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    node = FakeNode({"getSlot": handler})
    async with client(node) as rpc:
        with trio.fail_after(60):
            assert await rpc.get_slot() == 5
    assert rpc.stats.rate_limited == 1


async def test_rate_limit_gives_up_after_max_retries(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 1})
    node.http_faults.extend(httpx.Response(429, headers={"Retry-After": "1"}) for _ in range(3))
    async with client(node, max_retries=2) as rpc:
        with trio.fail_after(60), pytest.raises(RpcRateLimited) as info:
            await rpc.get_slot()
    assert info.value.retry_after == 1.0
    assert len(node.requests) == 3


async def test_5xx_fails_over_to_the_second_endpoint(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 9})

    async def handle(request: httpx.Request) -> httpx.Response:
        if str(request.url) == A:
            node.requests.append((trio.current_time(), A, None))
            return httpx.Response(503, text="upstream down")
        return await node.handle(request)

    async with RpcClient([A, B], transport=httpx.MockTransport(handle)) as rpc:
        with trio.fail_after(60):
            assert await rpc.get_slot() == 9
            assert await rpc.get_slot() == 9
        assert rpc.endpoint == B
    # A failed once, then B served both calls: the client stays on the endpoint that works.
    assert [url for _, url, _ in node.requests] == [A, B, B]
    assert rpc.stats.failovers == 1


async def test_connection_errors_back_off_then_raise_unavailable(
    autojump_clock: trio.abc.Clock,
) -> None:
    attempts: list[float] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        attempts.append(trio.current_time())
        raise httpx.ConnectError("connection refused", request=request)

    rpc = RpcClient([A, B], transport=httpx.MockTransport(handle), max_retries=4, seed=3)
    async with rpc:
        with trio.fail_after(60), pytest.raises(RpcUnavailable, match="failed 5 times on 2"):
            await rpc.get_slot()
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] == 0  # the second endpoint was untried: no reason to wait
    assert all(gap > 0 for gap in gaps[1:])  # every endpoint failed: back off
    assert gaps[3] > gaps[1] / 2  # and the back-off grows (with jitter in [d/2, d])


async def test_5xx_then_recovery_on_a_single_endpoint(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 3})
    node.http_faults.extend([httpx.Response(502), httpx.Response(500)])
    async with client(node) as rpc:
        with trio.fail_after(60):
            assert await rpc.get_slot() == 3
    assert rpc.stats.retries == 2
    assert len(node.requests) == 3


async def test_node_unhealthy_is_unavailable_and_retried(autojump_clock: trio.abc.Clock) -> None:
    replies = iter([RpcFault(-32005, "Node is behind by 42 slots"), 11])

    def handler(params: list[Any]) -> Any:
        item = next(replies)
        if isinstance(item, Exception):
            raise item
        return item

    async with client(FakeNode({"getSlot": handler})) as rpc:
        with trio.fail_after(60):
            assert await rpc.get_slot() == 11


async def test_request_budget_spaces_requests(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 1})
    async with client(node, requests_per_second=10) as rpc:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(rpc.get_slot)
    times = [t for t, _, _ in node.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5
    assert all(gap == pytest.approx(0.1) for gap in gaps)


async def test_request_budget_allows_a_burst(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 1})
    async with client(node, requests_per_second=2, burst=3) as rpc:
        for _ in range(4):
            await rpc.get_slot()
    times = [t - node.requests[0][0] for t, _, _ in node.requests]
    assert times == pytest.approx([0, 0, 0, 0.5])


async def test_batch_is_one_http_request_with_results_in_order() -> None:
    node = FakeNode(
        {
            "getSlot": lambda params: 10,
            "getBlockHeight": lambda params: 20,
            "getBalance": lambda params: context(30),
        }
    )

    async def reversed_order(request: httpx.Request) -> httpx.Response:
        response = await node.handle(request)
        return httpx.Response(200, json=list(reversed(response.json())))

    key = str(Pubkey.new_unique())
    async with RpcClient([A], transport=httpx.MockTransport(reversed_order)) as rpc:
        results = await rpc.batch([("getSlot", []), ("getBlockHeight", []), ("getBalance", [key])])
    assert results == [10, 20, context(30)]
    assert rpc.stats.requests_sent == 1
    assert rpc.stats.by_method == {"getSlot": 1, "getBlockHeight": 1, "getBalance": 1}
    assert node.methods() == ["getSlot", "getBlockHeight", "getBalance"]


async def test_batch_raises_an_item_error() -> None:
    node = FakeNode({"getSlot": lambda params: 10})
    async with client(node) as rpc:
        with pytest.raises(RpcError, match="Method not found") as info:
            await rpc.batch([("getSlot", []), ("getNothing", [])])
    assert info.value.code == -32601


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (httpx.Response(200, text="<html>gateway</html>"), "not JSON"),
        (httpx.Response(200, json={"jsonrpc": "2.0", "id": 1}), "neither 'result' nor 'error'"),
        (httpx.Response(200, json=[1, 2]), "expected an object"),
        (httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": "x"}), "not an integer"),
    ],
)
async def test_malformed_reply_is_a_clear_rpc_error(reply: httpx.Response, match: str) -> None:
    node = FakeNode()
    node.http_faults.append(reply)
    async with client(node) as rpc:
        with pytest.raises(RpcError, match=match):
            await rpc.get_slot()


async def test_malformed_typed_result_is_an_rpc_error() -> None:
    node = FakeNode({"getLatestBlockhash": lambda params: context({"blockhash": "not-base58!"})})
    async with client(node) as rpc:
        with pytest.raises(RpcError, match="malformed getLatestBlockhash reply"):
            await rpc.get_latest_blockhash()


async def test_preflight_failure_is_a_transaction_error() -> None:
    sim = {
        "err": {"InstructionError": [2, {"Custom": 6003}]},
        "logs": ["Program log: slippage"],
        "accounts": None,
        "unitsConsumed": 5000,
    }

    def send(params: list[Any]) -> Any:
        raise RpcFault(
            -32002, "Transaction simulation failed: Error processing Instruction 2", data=sim
        )

    async with client(FakeNode({"sendTransaction": send})) as rpc:
        with pytest.raises(TransactionError) as info:
            await rpc.send_transaction(b"\x01" * 10, skip_preflight=False)
    error = info.value
    assert error.code == -32002
    assert error.err == sim["err"]
    assert error.program_error_code == 6003
    assert error.name == "Custom"
    assert error.instruction_index == 2


async def test_send_transaction_wire_format() -> None:
    node = FakeNode({"sendTransaction": lambda params: str(SIG)})
    raw = bytes(range(50))
    async with client(node) as rpc:
        assert await rpc.send_transaction(raw) == SIG
    _, method, params = node.calls[0]
    assert method == "sendTransaction"
    assert base64.b64decode(params[0]) == raw
    assert params[1]["encoding"] == "base64"
    assert params[1]["skipPreflight"] is True
    assert params[1]["maxRetries"] == 0


async def test_latest_blockhash_and_accounts() -> None:
    owner = Pubkey.new_unique()
    data = b"\x17\xb7\xf87" + bytes(45)
    account = {
        "data": [base64.b64encode(data).decode(), "base64"],
        "executable": False,
        "lamports": 73551852,
        "owner": str(owner),
        "rentEpoch": 18446744073709551615,
        "space": len(data),
    }
    node = FakeNode(
        {
            "getLatestBlockhash": lambda params: context(
                {"blockhash": str(BLOCKHASH), "lastValidBlockHeight": 3090}
            ),
            "getAccountInfo": lambda params: context(account if params[0] != "missing" else None),
            "getMultipleAccounts": lambda params: context([account, None]),
            "getBalance": lambda params: context(5_000_000),
        }
    )
    async with client(node) as rpc:
        assert await rpc.get_latest_blockhash() == (BLOCKHASH, 3090)
        info = await rpc.get_account_info(Pubkey.new_unique())
        many = await rpc.get_multiple_accounts([Pubkey.new_unique(), Pubkey.new_unique()])
        assert await rpc.get_balance(owner) == 5_000_000
    assert info is not None
    assert (info.lamports, info.owner, info.data, info.executable) == (73551852, owner, data, False)
    assert many == [info, None]
    assert node.calls[1][2][1] == {"commitment": "processed", "encoding": "base64"}


async def test_account_info_from_real_sample() -> None:
    sample = load_sample("s04_chainstack_getAccountInfo_bonding_curve_49b_2024-08.json")
    node = FakeNode({"getAccountInfo": lambda params: sample["result"]})
    async with client(node) as rpc:
        info = await rpc.get_account_info(Pubkey.new_unique())
    assert info is not None
    assert len(info.data) == 49
    assert str(info.owner) == "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
    assert info.lamports == 73551852


async def test_token_account_balance_missing_account_is_none() -> None:
    def balance(params: list[Any]) -> Any:
        if params[0] == str(present):
            return context({"amount": "605426095720", "decimals": 6, "uiAmount": 605426.09572})
        raise RpcFault(-32602, "Invalid param: could not find account")

    present = Pubkey.new_unique()
    async with client(FakeNode({"getTokenAccountBalance": balance})) as rpc:
        assert await rpc.get_token_account_balance(present) == 605426095720
        assert await rpc.get_token_account_balance(Pubkey.new_unique()) is None


async def test_signature_statuses_and_fees_and_misc() -> None:
    status = {
        "slot": 72,
        "confirmations": 10,
        "err": None,
        "status": {"Ok": None},
        "confirmationStatus": "confirmed",
    }
    fees = [{"slot": 348125, "prioritizationFee": 0}, {"slot": 348126, "prioritizationFee": 1000}]
    airdrop = Signature.new_unique()
    node = FakeNode(
        {
            "getSignatureStatuses": lambda params: context([status, None]),
            "getRecentPrioritizationFees": lambda params: fees,
            "requestAirdrop": lambda params: str(airdrop),
            "getMinimumBalanceForRentExemption": lambda params: 890880 + params[0] * 6960,
            "simulateTransaction": lambda params: context({"err": None, "logs": ["ok"]}),
        }
    )
    key = Keypair().pubkey()
    async with client(node) as rpc:
        first, second = await rpc.get_signature_statuses([SIG, Signature.new_unique()])
        assert await rpc.get_recent_prioritization_fees([key]) == [0, 1000]
        assert await rpc.request_airdrop(key, 10**9) == airdrop
        assert await rpc.get_minimum_balance_for_rent_exemption(0) == 890880
        assert (await rpc.simulate_transaction(b"\x00"))["logs"] == ["ok"]
    assert second is None
    assert first is not None
    assert (first.slot, first.confirmations, first.err, first.confirmation_status) == (
        72,
        10,
        None,
        "confirmed",
    )
    assert node.calls[0][2][0][0] == str(SIG)
    assert len(node.calls[0][2][0]) == 2
    assert node.calls[1][2] == [[str(key)]]
    assert node.calls[2][2] == [str(key), 10**9]


async def test_get_transaction_parses_real_sample_and_requests_json_v0() -> None:
    sample = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")
    node = FakeNode({"getTransaction": lambda params: sample["result"]})
    async with client(node) as rpc:
        tx = await rpc.get_transaction(SIG)
    assert tx is not None
    assert node.calls[0][2] == [
        str(SIG),
        {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"},
    ]
    assert tx.slot == 284677332
    assert tx.fee == 32000
    assert tx.err is None


async def test_get_transaction_null_is_none() -> None:
    async with client(FakeNode({"getTransaction": lambda params: None})) as rpc:
        assert await rpc.get_transaction(SIG) is None


async def test_using_the_client_outside_its_context_is_an_error() -> None:
    rpc = RpcClient([A])
    with pytest.raises(RuntimeError, match="outside"):
        await rpc.get_slot()


async def test_http_error_page_is_a_clear_rpc_error() -> None:
    node = FakeNode()
    node.http_faults.append(httpx.Response(403, text="<html>Forbidden</html>"))
    async with client(node) as rpc:
        with pytest.raises(RpcError, match=r"an error page from .* \(HTTP 403\)") as info:
            await rpc.get_slot()
    assert info.value.code == 403


async def _one_shot_http_node(stream: trio.SocketStream) -> None:
    """A minimal HTTP/1.1 JSON-RPC node: answers one getSlot per connection, then closes."""
    async with stream:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if b"content-length" in line.lower()
        )
        while len(body) < length:
            body += await stream.receive_some(65536)
        request = json.loads(body)
        reply = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": 31337}).encode()
        await stream.send_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )


async def test_real_http_transport_on_trio(nursery: trio.Nursery) -> None:
    """httpx's default transport runs on Trio (through anyio) against a socket on 127.0.0.1."""
    (listener,) = await nursery.start(
        partial(trio.serve_tcp, _one_shot_http_node, 0, host="127.0.0.1")
    )
    port = listener.socket.getsockname()[1]
    with trio.fail_after(10):
        async with RpcClient([f"http://127.0.0.1:{port}/"]) as rpc:
            assert await rpc.get_slot() == 31337
            assert await rpc.get_slot() == 31337
    assert rpc.stats.requests_sent == 2


async def test_concurrent_failures_rotate_once(autojump_clock: trio.abc.Clock) -> None:
    node = FakeNode({"getSlot": lambda params: 9})
    hits: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        await trio.sleep(0.1)  # both calls are in flight on A when A fails
        if str(request.url) == A:
            return httpx.Response(503)
        return await node.handle(request)

    async with RpcClient([A, B], transport=httpx.MockTransport(handle)) as rpc:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(rpc.get_slot)
                nursery.start_soon(rpc.get_slot)
    assert rpc.endpoint == B
    assert rpc.stats.failovers == 1
    assert sorted(hits) == [A, A, B, B]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)],
)
def test_retry_after_header_forms(header: str, expected: float | None) -> None:
    assert _retry_after(header) == expected
