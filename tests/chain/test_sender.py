"""`sendTransaction` over the direct h11 sender and its fan-out, against real local servers.

Every node here is a real HTTP/1.1 server on 127.0.0.1 (`keepalive.KeepAliveNode`), so
connection reuse, a server closing its end, a reply cut short and the absence of pipelining
are seen on the wire, not assumed.
"""

from __future__ import annotations

import base64
import gzip
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.signature import Signature
from solders.system_program import TransferParams, transfer

from tests.chain.keepalive import Act, KeepAliveNode, accept, refuse
from trio_trader.app import KEEP_WARM_SECONDS, rpc_client
from trio_trader.chain import RpcClient, RpcUnavailable, TransactionError, build_transaction
from trio_trader.chain.errors import RpcBadReply, RpcReplyTooLarge
from trio_trader.chain.sender import parse_endpoint
from trio_trader.config import ConfigError, parse_config
from trio_trader.sim import open_sim

SOL = 1_000_000_000
RAW = b"\x01signed transaction bytes"
SIG = Signature.new_unique()
OTHER = Signature.new_unique()


def accepting(signature: Signature = SIG, **kwargs: Any) -> Callable[[dict[str, Any]], Act]:
    def behaviour(request: dict[str, Any]) -> Act:
        act = accept(request, str(signature))
        return Act(act.body, **kwargs)

    return behaviour


async def node(nursery: trio.Nursery, behaviour: Callable[[dict[str, Any]], Act]) -> KeepAliveNode:
    return await KeepAliveNode(behaviour).start(nursery)


def sent_transaction(body: bytes) -> bytes:
    request = json.loads(body)
    assert request["method"] == "sendTransaction"
    return base64.b64decode(request["params"][0])


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (bounded) for background work; no timing is asserted, only the end state."""
    with trio.fail_after(10):
        while not predicate():
            await trio.sleep(0.01)


# ------------------------------------------------------------------------ direct sender


async def test_sends_reuse_one_kept_alive_connection(nursery: trio.Nursery) -> None:
    server = await node(nursery, accepting())
    async with RpcClient([server.url], seed=1) as rpc:
        assert rpc.sender is not None
        for _ in range(3):
            assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender.connections_opened == 1
        assert rpc.sender.idle_connections(server.url) == 1
    assert server.connections == 1
    assert [s.connection for s in server.seen] == [0, 0, 0]
    assert all(sent_transaction(s.body) == RAW for s in server.seen)
    assert rpc.stats.by_method["sendTransaction"] == 3


async def test_other_methods_go_over_their_own_kept_alive_pool_not_a_send_one(
    nursery: trio.Nursery,
) -> None:
    """Reads skip httpx too (its per-request Python was a long task step), on a pool of
    their own: a read never holds the idle connection a BUY's early write wants."""

    def behaviour(request: dict[str, Any]) -> Act:
        if request["method"] == "sendTransaction":
            return accept(request, str(SIG))
        return Act({"jsonrpc": "2.0", "id": request["id"], "result": 42})

    server = await node(nursery, behaviour)
    async with RpcClient([server.url], seed=1) as rpc:
        assert rpc.reader is not None
        assert rpc.sender is not None
        assert await rpc.send_transaction(RAW) == SIG
        assert [await rpc.get_slot() for _ in range(3)] == [42, 42, 42]
        assert rpc.reader.connections_opened == 1  # kept alive across the three
        assert rpc.sender.connections_opened == 1
        assert rpc.sender.idle_connections(server.url) == 1  # still there for the BUY
    assert server.connections == 2
    sends = [s.connection for s in server.seen if b"sendTransaction" in s.body]
    reads = [s.connection for s in server.seen if b"getSlot" in s.body]
    assert len(set(reads)) == 1
    assert set(reads).isdisjoint(sends)
    assert rpc.stats.by_method["getSlot"] == 3


async def test_a_test_transport_keeps_every_method_on_httpx() -> None:
    import httpx

    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        seen.append(body["method"])
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": 5})

    async with RpcClient(["http://node.invalid/"], transport=httpx.MockTransport(handler)) as rpc:
        assert (rpc.sender, rpc.reader) == (None, None)
        assert await rpc.get_slot() == 5
    assert seen == ["getSlot"]


async def test_connection_close_reply_opens_a_new_connection(nursery: trio.Nursery) -> None:
    server = await node(nursery, accepting(close=True))
    async with RpcClient([server.url], seed=1) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender is not None
        assert rpc.sender.idle_connections(server.url) == 0
        assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender.connections_opened == 2
    assert [s.connection for s in server.seen] == [0, 1]


async def test_server_silently_closing_an_idle_connection_is_retried_once(
    nursery: trio.Nursery,
) -> None:
    """The keep-alive race: the write lands on a socket the server has closed; nothing comes
    back, so the same bytes go once more on a fresh connection."""
    server = await node(nursery, accepting())
    server.close_idle = True
    async with RpcClient([server.url], seed=1, max_retries=0) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        await eventually(lambda: server.closed == 1 and len(server.seen) == 1)
        assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 2
    assert len(server.seen) == 2
    assert rpc.stats.requests_sent == 2  # the stale retry is inside one request


async def test_reply_cut_short_is_unclear_not_refused(nursery: trio.Nursery) -> None:
    server = await node(nursery, accepting(cut=10))
    async with RpcClient([server.url], seed=1, max_retries=0) as rpc:
        with pytest.raises(RpcUnavailable, match="broken HTTP reply"):
            await rpc.send_transaction(RAW)
        assert rpc.sender is not None
        assert rpc.sender.idle_connections(server.url) == 0
    assert len(server.seen) == 1  # it did reach the node: "maybe sent" is the truth


async def test_connection_dropped_without_reply_is_unclear(nursery: trio.Nursery) -> None:
    server = await node(nursery, accepting(silent_close=True))
    async with RpcClient([server.url], seed=1, max_retries=1, backoff_base=0.01) as rpc:
        with pytest.raises(RpcUnavailable):
            await rpc.send_transaction(RAW)
    assert len(server.seen) == 2  # first attempt and one retry, on fresh connections


async def test_a_definite_refusal_is_a_transaction_error(nursery: trio.Nursery) -> None:
    server = await node(nursery, refuse)
    async with RpcClient([server.url], seed=1) as rpc:
        with pytest.raises(TransactionError) as info:
            await rpc.send_transaction(RAW)
        assert info.value.name == "BlockhashNotFound"
        assert await_idle(rpc, server) == 1  # an error reply is still a complete exchange


def await_idle(rpc: RpcClient, server: KeepAliveNode) -> int:
    assert rpc.sender is not None
    return rpc.sender.idle_connections(server.url)


async def test_503_fails_over_and_429_waits(nursery: trio.Nursery) -> None:
    calls = 0

    def flaky(request: dict[str, Any]) -> Act:
        nonlocal calls
        calls += 1
        if calls == 1:
            return Act({"error": "slow down"}, status=429, headers=(("retry-after", "0"),))
        return Act({"error": "down"}, status=503)

    bad = await node(nursery, flaky)
    good = await node(nursery, accepting())
    async with RpcClient([bad.url, good.url], seed=1, backoff_base=0.01) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
    assert len(bad.seen) == 2
    assert len(good.seen) == 1
    assert rpc.stats.rate_limited == 1
    assert rpc.stats.failovers == 1


async def test_concurrent_sends_are_never_pipelined(nursery: trio.Nursery) -> None:
    server = await node(nursery, accepting(delay=0.05))
    async with RpcClient([server.url], seed=1) as rpc:
        async with trio.open_nursery() as sends:
            for _ in range(3):
                sends.start_soon(rpc.send_transaction, RAW)
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 3
        assert await rpc.send_transaction(RAW) == SIG  # reuses one of them
        assert rpc.sender.connections_opened == 3
    assert len(server.seen) == 4
    assert not any(s.pipelined for s in server.seen)
    assert len({s.connection for s in server.seen[:3]}) == 3


async def test_oversize_reply_is_refused_and_counted(nursery: trio.Nursery) -> None:
    def big(request: dict[str, Any]) -> Act:
        return Act({"jsonrpc": "2.0", "id": request["id"], "result": "x" * 5000})

    server = await node(nursery, big)
    async with RpcClient([server.url], seed=1, max_reply_bytes=1000) as rpc:
        with pytest.raises(RpcReplyTooLarge):
            await rpc.send_transaction(RAW)
        assert await_idle(rpc, server) == 0  # never drained and reused
    assert rpc.stats.bad_replies == 1
    assert rpc.stats.oversize_replies == 1


async def test_gzip_reply_is_inflated(nursery: trio.Nursery) -> None:
    def zipped(request: dict[str, Any]) -> Act:
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": str(SIG)})
        return Act(raw=gzip.compress(body.encode()), headers=(("content-encoding", "gzip"),))

    server = await node(nursery, zipped)
    async with RpcClient([server.url], seed=1) as rpc:
        assert await rpc.send_transaction(RAW) == SIG


async def test_a_result_that_is_no_signature_is_a_bad_reply(nursery: trio.Nursery) -> None:
    server = await node(nursery, lambda request: Act({"jsonrpc": "2.0", "id": 1, "result": 7}))
    async with RpcClient([server.url], seed=1) as rpc:
        with pytest.raises(RpcBadReply, match="sendTransaction"):
            await rpc.send_transaction(RAW)
    assert rpc.stats.bad_replies == 1


def test_endpoints_are_parsed_strictly() -> None:
    e = parse_endpoint("https://user:pw@rpc.example.com:8443/v1?api-key=k")
    assert (e.tls, e.host, e.port) == (True, "rpc.example.com", 8443)
    assert e.target == b"/v1?api-key=k"
    assert e.host_header == b"rpc.example.com:8443"
    assert parse_endpoint("http://127.0.0.1").port == 80
    for bad in ("ftp://x/", "http:///path", "localhost:8899", "http://x:99999/"):
        with pytest.raises(ValueError, match=r"URL|[Pp]ort"):
            parse_endpoint(bad)


async def test_unreachable_endpoint_is_unavailable() -> None:
    with trio.socket.socket() as probe:  # a port nobody listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with RpcClient([f"http://127.0.0.1:{port}/"], seed=1, max_retries=0) as rpc:
        with pytest.raises(RpcUnavailable, match="cannot connect"):
            await rpc.send_transaction(RAW)


async def test_keep_warm_has_a_connection_open_before_the_first_send(
    nursery: trio.Nursery,
) -> None:
    server = await node(nursery, accepting())
    async with RpcClient([server.url], seed=1, keep_warm=0.05) as rpc:
        assert rpc.sender is not None
        await eventually(lambda: rpc.sender is not None and rpc.sender.idle_connections(server.url))
        assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender.connections_opened == 1  # the send found the warm connection
        await eventually(lambda: len(server.seen) >= 3)  # and it is kept warm after it
    methods = [json.loads(s.body)["method"] for s in server.seen]
    assert methods[0] == "getHealth"
    assert methods.count("sendTransaction") == 1
    assert {s.connection for s in server.seen} == {0}
    assert rpc.stats.by_method["getHealth"] == methods.count("getHealth")


def test_a_live_run_keeps_its_send_connections_warm() -> None:
    assert rpc_client(parse_config({}, env={})).keep_warm == KEEP_WARM_SECONDS > 0


# --------------------------------------------------------------------------------- TLS

FIXTURES = Path(__file__).parent / "fixtures"
CERT = FIXTURES / "loopback-cert.pem"  # self-signed for 127.0.0.1, test use only


def server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERT, FIXTURES / "loopback-key.pem")
    return context


async def test_https_endpoint_over_tls_is_kept_alive(nursery: trio.Nursery) -> None:
    server = await KeepAliveNode(accepting(), tls=server_tls()).start(nursery)
    assert server.url.startswith("https://")
    async with RpcClient([server.url], seed=1) as rpc:
        assert rpc.sender is not None
        rpc.sender.ssl_context = ssl.create_default_context(cafile=str(CERT))
        assert await rpc.send_transaction(RAW) == SIG
        assert await rpc.send_transaction(RAW) == SIG
        assert rpc.sender.connections_opened == 1
    assert [sent_transaction(s.body) for s in server.seen] == [RAW, RAW]


async def test_https_endpoint_with_an_untrusted_certificate_is_refused(
    nursery: trio.Nursery,
) -> None:
    """The system's trust store does not know the test certificate: no request is sent."""
    server = await KeepAliveNode(accepting(), tls=server_tls()).start(nursery)
    async with RpcClient([server.url], seed=1, max_retries=0) as rpc:
        with pytest.raises(RpcUnavailable, match="cannot connect"):
            await rpc.send_transaction(RAW)
    assert server.seen == []


# ----------------------------------------------------------------------------- fan-out


async def fan(*nodes: KeepAliveNode, **kwargs: Any) -> RpcClient:
    return RpcClient(
        [nodes[0].url], send_endpoints=[n.url for n in nodes], seed=1, backoff_base=0.01, **kwargs
    )


async def test_fan_out_sends_the_same_bytes_everywhere_and_counts(nursery: trio.Nursery) -> None:
    a = await node(nursery, accepting())
    b = await node(nursery, accepting(delay=0.1))
    async with await fan(a, b) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        await eventually(lambda: rpc.stats.sends[b.url].accepted == 1)
        report = rpc.send_report()
    assert sent_transaction(a.seen[0].body) == sent_transaction(b.seen[0].body) == RAW
    assert report[a.url]["accepted"] == 1
    assert report[a.url]["first"] == 1
    assert report[b.url]["accepted"] == 1
    assert report[b.url]["first"] == 0
    assert report[a.url]["accept_ms_p50"] is not None


async def test_fan_out_refused_by_one_accepted_by_another_is_accepted(
    nursery: trio.Nursery,
) -> None:
    a = await node(nursery, refuse)
    b = await node(nursery, accepting(delay=0.05))
    async with await fan(a, b) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        sends = rpc.stats.sends
    assert (sends[a.url].refused, sends[b.url].accepted, sends[b.url].first) == (1, 1, 1)


async def test_fan_out_all_refusing_is_the_refusal(nursery: trio.Nursery) -> None:
    a = await node(nursery, refuse)
    b = await node(nursery, lambda r: refuse(r, "InsufficientFundsForFee"))
    async with await fan(a, b) as rpc:
        with pytest.raises(TransactionError) as info:
            await rpc.send_transaction(RAW)
    assert info.value.name in {"BlockhashNotFound", "InsufficientFundsForFee"}
    assert rpc.stats.sends[a.url].refused == rpc.stats.sends[b.url].refused == 1


async def test_fan_out_already_processed_wins_over_other_refusals(
    nursery: trio.Nursery,
) -> None:
    """One node saw these bytes land: that is the answer, not the other node's refusal."""
    a = await node(nursery, lambda r: refuse(r, "InsufficientFundsForFee"))
    b = await node(nursery, lambda r: Act(refuse(r, "AlreadyProcessed").body, delay=0.05))
    async with await fan(a, b) as rpc:
        with pytest.raises(TransactionError) as info:
            await rpc.send_transaction(RAW)
    assert info.value.name == "AlreadyProcessed"


async def test_fan_out_refusal_and_no_answer_is_unclear(nursery: trio.Nursery) -> None:
    a = await node(nursery, refuse)
    b = await node(nursery, accepting(status=503))
    async with await fan(a, b, max_retries=1) as rpc:
        with pytest.raises(RpcUnavailable, match="unclear on 2") as info:
            await rpc.send_transaction(RAW)
    assert not isinstance(info.value, TransactionError)
    assert len(b.seen) == 2  # retried on its own endpoint
    assert rpc.stats.sends[b.url].unclear == 1
    assert rpc.stats.sends[a.url].refused == 1


async def test_fan_out_one_endpoint_keeps_its_error_type(nursery: trio.Nursery) -> None:
    a = await node(nursery, lambda r: Act({"jsonrpc": "2.0", "id": r["id"], "result": [1]}))
    async with await fan(a) as rpc:
        with pytest.raises(RpcBadReply):
            await rpc.send_transaction(RAW)
    assert rpc.stats.sends[a.url].unclear == 1


async def test_fan_out_caller_cancelled_still_delivers_everywhere(nursery: trio.Nursery) -> None:
    a = await node(nursery, accepting(delay=0.05))
    b = await node(nursery, accepting(OTHER, delay=0.05))
    async with await fan(a, b) as rpc:
        with trio.move_on_after(0.01):
            await rpc.send_transaction(RAW)
        await eventually(lambda: all(s.accepted == 1 for s in rpc.stats.sends.values()))
    assert len(a.seen) == len(b.seen) == 1


async def test_fan_out_needs_async_with() -> None:
    rpc = RpcClient(["http://127.0.0.1:1/"], send_endpoints=["http://127.0.0.1:1/"])
    with pytest.raises(RuntimeError):
        await rpc.send_transaction(RAW)


# ------------------------------------------------------------------------------ config


def test_send_endpoints_default_to_none_and_are_validated() -> None:
    assert parse_config({}, env={}).rpc.send_endpoints == []
    urls = ["https://a.example/", "http://127.0.0.1:8899"]
    assert parse_config({"rpc": {"send_endpoints": urls}}, env={}).rpc.send_endpoints == urls
    for bad in ("wss://a.example/", "a.example", "http://a.example:70000/"):
        with pytest.raises(ConfigError, match=r"rpc\.send_endpoints: not an http\(s\) URL"):
            parse_config({"rpc": {"send_endpoints": [bad]}}, env={})


def test_the_bot_fans_out_to_the_configured_send_endpoints() -> None:
    urls = ["http://127.0.0.1:1/", "http://127.0.0.1:2/"]
    config = parse_config({"rpc": {"send_endpoints": urls}}, env={})
    rpc = rpc_client(config)
    assert rpc.send_endpoints == tuple(urls)
    assert set(rpc.stats.sends) == set(urls)


# ------------------------------------------------------------------ against the simulator


async def test_fan_out_to_the_simulator_lands_once_with_its_balances() -> None:
    """Two send endpoints (the sim's one HTTP server, under two URLs): the same bytes land
    once, and the sim's own hook saw every copy come off its socket."""
    payer, recipient = Keypair(), Keypair().pubkey()
    seen: list[bytes] = []
    async with open_sim(seed=12, fund={payer.pubkey(): 10 * SOL}) as sim:
        sim.rpc_server.on_request = lambda at, body, read_at: seen.append(body)
        urls = [sim.rpc_url, sim.rpc_url + "/"]
        async with RpcClient([sim.rpc_url], send_endpoints=urls, seed=1) as rpc:
            blockhash, last_valid = await rpc.get_latest_blockhash()
            ix = transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=recipient, lamports=SOL)
            )
            signed = build_transaction([ix], payer, blockhash, last_valid_block_height=last_valid)
            assert await rpc.send_transaction(signed.raw) == signed.signature
            await eventually(lambda: sum(s.sent for s in rpc.stats.sends.values()) == 2)
            with trio.fail_after(10):
                while await rpc.get_balance(recipient) != SOL:
                    await trio.sleep(0.05)
            # Again, once landed: every node says so, and that is what the caller hears.
            with pytest.raises(TransactionError) as info:
                await rpc.send_transaction(signed.raw)
            assert info.value.name == "AlreadyProcessed"
            assert rpc.sender is not None
            assert rpc.sender.connections_opened == 2  # one per endpoint URL, kept alive
    sends = [b for b in seen if b'"sendTransaction"' in b]
    assert len(sends) == 4
    assert {sent_transaction(b) for b in sends} == {signed.raw}
    assert sim.node.stats.landed == 1  # four copies, one landing
    assert sim.node.stats.failed == 0


# ------------------------------------------------------------------------ request bytes


async def raw_server(nursery: trio.Nursery, replies: int) -> tuple[str, list[bytes]]:
    """A bare Trio socket server: reads each request's bytes as they arrive (head, then
    Content-Length bytes of body) and answers it; the bytes are kept for the test."""
    requests: list[bytes] = []
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def serve(stream: trio.SocketStream) -> None:
        buffer = b""
        for _ in range(replies):
            while b"\r\n\r\n" not in buffer:
                buffer += await stream.receive_some(65536)
            head, _, rest = buffer.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += await stream.receive_some(65536)
            requests.append(head + b"\r\n\r\n" + rest[:length])
            buffer = rest[length:]
            request_id = json.loads(rest[:length])["id"]
            reply = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": str(SIG)})
            await stream.send_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(reply), reply.encode())
            )

    nursery.start_soon(trio.serve_listeners, serve, listeners)
    port = listeners[0].socket.getsockname()[1]
    return f"http://127.0.0.1:{port}/rpc?x=1", requests


async def test_the_request_bytes_are_a_plain_http_post_of_the_json_body(
    nursery: trio.Nursery,
) -> None:
    url, requests = await raw_server(nursery, replies=2)
    async with RpcClient((url,), direct_send=True) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        assert await rpc.send_transaction(RAW + b"2") == SIG  # the kept-alive connection
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 1
    assert len(requests) == 2
    for request, raw in zip(requests, (RAW, RAW + b"2"), strict=True):
        head, _, body = request.partition(b"\r\n\r\n")
        line, *fields = head.split(b"\r\n")
        assert line == b"POST /rpc?x=1 HTTP/1.1"
        headers = dict(field.split(b": ", 1) for field in fields)
        port = url.split(":")[2].split("/")[0]
        assert headers == {
            b"host": f"127.0.0.1:{port}".encode(),
            b"user-agent": b"trio-trader",
            b"content-type": b"application/json",
            b"content-length": b"%d" % len(body),
        }
        assert sent_transaction(body) == raw
        assert json.loads(body)["params"][1]["encoding"] == "base64"


def test_the_hand_written_request_is_what_h11_would_write() -> None:
    import h11

    from trio_trader.chain import sender

    endpoint = parse_endpoint("https://user:pw@node.example:8443/a/b?api-key=k")
    body = b'{"jsonrpc":"2.0","id":7,"method":"sendTransaction","params":["AQ=="]}'
    http = h11.Connection(h11.CLIENT)
    framed = [
        http.send(sender._request(endpoint.target, endpoint.host_header, len(body))),
        http.send(h11.Data(data=body)),
        http.send(h11.EndOfMessage()),
    ]
    assert b"".join(p or b"" for p in framed) == b"".join(
        (endpoint.head, b"%d\r\n\r\n" % len(body), body)
    )
    assert b"user:pw" not in endpoint.head  # no userinfo in Host


async def test_send_connections_disable_nagle(nursery: trio.Nursery) -> None:
    import socket

    url, _ = await raw_server(nursery, replies=1)
    async with RpcClient((url,), direct_send=True) as rpc:
        await rpc.send_transaction(RAW)
        assert rpc.sender is not None
        (connection,) = rpc.sender._idle[url]
        stream = connection.stream
        assert isinstance(stream, trio.SocketStream)
        assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_the_request_is_written_before_any_other_task_runs(nursery: trio.Nursery) -> None:
    """On a kept-alive connection, with a request budget to spare, nothing between
    `send_transaction` and the write yields: a task woken just before the call runs only
    once the bytes are out."""
    url, requests = await raw_server(nursery, replies=2)
    order: list[str] = []
    async with RpcClient((url,), direct_send=True, requests_per_second=1.0, burst=5) as rpc:
        await rpc.send_transaction(RAW)  # opens the connection (that does yield)
        assert rpc.sender is not None
        rpc.sender.on_request = lambda *_: order.append("written")
        woken = trio.Event()

        async def other() -> None:
            await woken.wait()
            order.append("other task ran")

        nursery.start_soon(other)
        await trio.testing.wait_all_tasks_blocked()
        woken.set()
        await rpc.send_transaction(RAW)
    assert order == ["written", "other task ran"]
    assert len(requests) == 2


# --------------------------------------------------------------- written now, read later


async def test_a_request_written_now_is_on_the_node_before_its_reply_is_read(
    nursery: trio.Nursery,
) -> None:
    """`write_transaction` writes on a kept-alive connection and returns without the
    reply; `finish_transaction` reads it later (the listener writes, the position task
    reads) and the connection goes back to the pool."""
    server = await node(nursery, accepting())
    written: list[str] = []
    async with RpcClient([server.url], seed=1) as rpc:
        assert await rpc.send_transaction(RAW) == SIG  # opens the connection
        encoded = base64.b64encode(RAW).decode()
        sent = await rpc.write_transaction(encoded, after_write=lambda: written.append("row"))
        assert sent is not None
        assert written == ["row"]
        await eventually(lambda: len(server.seen) == 2)  # on the node, reply still unread
        assert await_idle(rpc, server) == 0
        assert await rpc.finish_transaction(sent) == SIG
        assert await_idle(rpc, server) == 1
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 1
    assert [sent_transaction(s.body) for s in server.seen] == [RAW, RAW]
    assert rpc.stats.by_method["sendTransaction"] == 2
    assert written == ["row"]


async def test_nothing_is_written_now_without_a_kept_alive_connection_or_budget(
    nursery: trio.Nursery,
) -> None:
    """Opening a connection is a round trip, an empty request budget a wait: then nothing
    is sent (the caller sends the usual way); a fan-out with no kept-alive connection to
    any of its endpoints alike."""
    server = await node(nursery, accepting())
    encoded = base64.b64encode(RAW).decode()
    async with RpcClient([server.url], seed=1, requests_per_second=0.01, burst=1) as rpc:
        assert await rpc.write_transaction(encoded) is None  # no connection yet
        assert await rpc.send_transaction(RAW) == SIG  # the budget's only token
        assert await_idle(rpc, server) == 1
        assert await rpc.write_transaction(encoded) is None  # no token to spare
    async with await fan(server) as rpc:
        assert await rpc.write_transaction(encoded) is None  # no connection yet
        assert rpc.stats.sends[server.url].sent == 0
    assert len(server.seen) == 1


async def test_a_request_written_now_on_a_closed_connection_is_sent_again(
    nursery: trio.Nursery,
) -> None:
    """The keep-alive race on the early write: nothing comes back, so the reply's reader
    sends the same bytes on a new connection; `after_write` ran once."""
    server = await node(nursery, accepting())
    server.close_idle = True
    written: list[str] = []
    async with RpcClient([server.url], seed=1, max_retries=0) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        await eventually(lambda: server.closed == 1 and len(server.seen) == 1)
        encoded = base64.b64encode(RAW).decode()
        sent = await rpc.write_transaction(encoded, after_write=lambda: written.append("row"))
        assert sent is not None  # a write to a socket the peer closed succeeds once
        assert await rpc.finish_transaction(sent, after_write=lambda: written.append("x")) == SIG
        assert rpc.sender is not None
        assert rpc.sender.connections_opened == 2
    assert [sent_transaction(s.body) for s in server.seen] == [RAW, RAW]
    assert written == ["row", "x"]  # each write's hook (the trader's is run once: _WriteOnce)


async def test_a_refusal_read_after_an_early_write_is_a_transaction_error(
    nursery: trio.Nursery,
) -> None:
    server = await node(nursery, accepting())
    async with RpcClient([server.url], seed=1) as rpc:
        assert await rpc.send_transaction(RAW) == SIG
        server.behaviour = refuse
        sent = await rpc.write_transaction(base64.b64encode(RAW).decode())
        assert sent is not None
        with pytest.raises(TransactionError) as info:
            await rpc.finish_transaction(sent)
        assert info.value.name == "BlockhashNotFound"
        assert await_idle(rpc, server) == 1


async def test_a_request_is_written_now_over_a_kept_alive_tls_connection(
    nursery: trio.Nursery,
) -> None:
    """A live endpoint is https: the early write goes over its TLS session as well."""
    server = await KeepAliveNode(accepting(), tls=server_tls()).start(nursery)
    async with RpcClient([server.url], seed=1) as rpc:
        assert rpc.sender is not None
        rpc.sender.ssl_context = ssl.create_default_context(cafile=str(CERT))
        assert await rpc.send_transaction(RAW) == SIG
        sent = await rpc.write_transaction(base64.b64encode(RAW).decode())
        assert sent is not None
        await eventually(lambda: len(server.seen) == 2)  # on the node, reply still unread
        assert await rpc.finish_transaction(sent) == SIG
        assert rpc.sender.connections_opened == 1
    assert [sent_transaction(s.body) for s in server.seen] == [RAW, RAW]
