"""No reply can kill the bot: RpcClient against a hostile HTTP node on 127.0.0.1.

Each case sends one poisonous reply, checks that the client raises a typed error (never a
RecursionError, KeyError or TypeError), that `stats` counted it, and that the very next good
reply is served normally. Log records are captured at WARNING, so a log line that tried to
`repr` a deep document would fail the test (pytest's handler re-raises formatting errors).
"""

from __future__ import annotations

import gzip
import json
import logging

import pytest
import trio

from tests.chain.hostile import (
    Answer,
    HostileHttpNode,
    Reply,
    endless,
    envelope,
    good,
    nested,
    nested_objects,
    raw,
)
from trio_trader.chain import RpcClient, RpcError
from trio_trader.chain.errors import RpcBadReply, RpcReplyTooLarge
from trio_trader.chain.untrusted import MAX_DEPTH

pytestmark = pytest.mark.usefixtures("warnings_logged")

DEEP = 100_000
NEAR_LIMIT = MAX_DEPTH - 1  # accepted by the parser, but deeper than `repr` can go


@pytest.fixture
def warnings_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


@pytest.fixture(params=[True, False], ids=["direct", "httpx"])
def direct(request: pytest.FixtureRequest) -> bool:
    """Both ways a read leaves: the direct reader (the bot's, with no test transport) and
    httpx (a test transport's): each keeps every guarantee below."""
    return bool(request.param)


async def serve(nursery: trio.Nursery, *replies: Reply) -> HostileHttpNode:
    node = HostileHttpNode(list(replies))
    await node.start(nursery)
    return node


def test_orjson_refuses_100k_nesting_with_a_value_error() -> None:
    """The claim the client relies on: no RecursionError from the parser, at any depth."""
    from trio_trader.chain import untrusted

    for document in (nested(DEEP), nested_objects(DEEP), b"[" * DEEP):
        with pytest.raises(ValueError, match="depth"):
            untrusted.loads(document)
    with pytest.raises(RecursionError):
        json.loads(nested(DEEP))  # what the client used before
    assert untrusted.loads(nested(NEAR_LIMIT))  # the limit is orjson's 1024 levels


@pytest.mark.parametrize(
    ("poison", "error", "match"),
    [
        (envelope(nested(DEEP)), RpcBadReply, "not JSON.*depth"),
        (raw(nested_objects(DEEP)), RpcBadReply, "not JSON.*depth"),
        (envelope(nested(NEAR_LIMIT)), RpcBadReply, "not an integer"),
        (raw(b"\x00\x01\x02garbage}{"), RpcBadReply, "not JSON"),
        (raw(b'{"jsonrpc":"2.0","id":1,"result":"\xff\xfe\xfd"}'), RpcBadReply, "UTF-8"),
        (raw(b""), RpcBadReply, "not JSON"),
        (raw(b"[1, 2, 3]"), RpcBadReply, "expected an object"),
        (raw(b'{"jsonrpc":"2.0","id":1}'), RpcBadReply, "neither 'result' nor 'error'"),
        (envelope(b"18446744073709551616000"), RpcBadReply, "not an integer"),  # > u64
        (envelope(b"-5"), RpcBadReply, "not an integer"),
        (envelope(b'"42"'), RpcBadReply, "not an integer"),
        (
            raw(b'{"jsonrpc":"2.0","id":1,"error":' + nested(NEAR_LIMIT) + b"}"),
            RpcBadReply,
            r"error member: \[\[\[",
        ),
        (
            raw(
                b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":'
                + nested(MAX_DEPTH - 3)
                + b"}}"
            ),
            RpcError,
            r"\[\[\[",
        ),
        (
            raw(gzip.compress(b"x")[:-4] + b"\x00garbage", headers=(("Content-Encoding", "gzip"),)),
            RpcBadReply,
            "undecodable compressed reply",
        ),
        (raw(b"x", headers=(("Content-Encoding", "br"),)), RpcBadReply, "Content-Encoding 'br'"),
    ],
    ids=[
        "100k-deep-result",
        "100k-deep-objects",
        "1023-deep-result",
        "garbage",
        "not-utf8",
        "empty",
        "a-list",
        "no-result",
        "huge-int",
        "negative-int",
        "string-int",
        "deep-error-member",
        "deep-error-message",
        "bad-gzip",
        "brotli",
    ],
)
async def test_poisonous_reply_is_a_typed_error_and_the_next_one_works(
    nursery: trio.Nursery, direct: bool, poison: Reply, error: type[RpcError], match: str
) -> None:
    node = await serve(nursery, poison, good(42))
    async with RpcClient([node.url], direct_send=direct, max_retries=0) as rpc:
        with trio.fail_after(10):
            with pytest.raises(error, match=match) as info:
                await rpc.get_slot()
            assert await rpc.get_slot() == 42
    if isinstance(info.value, RpcBadReply):
        assert rpc.stats.bad_replies == 1
    assert len(str(info.value)) < 1200  # a deep or huge value shows as a short preview
    assert rpc.stats.requests_sent == 2


async def test_streamed_oversize_body_is_refused_before_it_is_all_read(
    nursery: trio.Nursery,
    direct: bool,
) -> None:
    total = 256 * 1024 * 1024  # the node would go on for 256 MiB
    node = await serve(nursery, raw(endless(b"[" * 65536, total)), good(7))
    limit = 1024 * 1024
    async with RpcClient(
        [node.url], direct_send=direct, max_reply_bytes=limit, max_retries=0
    ) as rpc:
        with trio.fail_after(30):
            with pytest.raises(RpcReplyTooLarge, match=f"passed .*{limit}") as info:
                await rpc.get_slot()
            assert info.value.limit == limit
            assert await rpc.get_slot() == 7
    assert (rpc.stats.bad_replies, rpc.stats.oversize_replies) == (1, 1)
    # the client hung up early: the node could not send its body
    assert node.completed == [False, True]
    assert node.body_bytes_sent[0] < total // 4


async def test_declared_oversize_body_is_refused_on_its_header(
    nursery: trio.Nursery, direct: bool
) -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":1}'
    node = await serve(nursery, raw(body, declared_length=10**12), good(8))
    async with RpcClient(
        [node.url], direct_send=direct, max_reply_bytes=1024, max_retries=0
    ) as rpc:
        with trio.fail_after(10):
            with pytest.raises(RpcReplyTooLarge, match="declares 1000000000000 bytes"):
                await rpc.get_slot()
            assert await rpc.get_slot() == 8
    assert rpc.stats.oversize_replies == 1


async def test_a_reply_within_the_limit_is_read_whole(nursery: trio.Nursery, direct: bool) -> None:
    """The limit refuses only what passes it: a chunked reply just under it is served."""
    result = "x" * 5000
    text = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result}).encode()

    def chunked(request: dict[str, object]) -> Answer:
        return Answer([text[i : i + 100] for i in range(0, len(text), 100)])

    node = await serve(nursery, chunked)
    async with RpcClient([node.url], direct_send=direct, max_reply_bytes=len(text)) as rpc:
        with trio.fail_after(10):
            assert await rpc.call("getVersion") == result
    assert rpc.stats.bad_replies == 0


def test_max_reply_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_reply_bytes"):
        RpcClient(["http://127.0.0.1:1/"], max_reply_bytes=0)


async def test_a_compressed_reply_is_inflated_within_the_limit(
    nursery: trio.Nursery, direct: bool
) -> None:
    text = json.dumps({"jsonrpc": "2.0", "id": 1, "result": 99}).encode()
    node = await serve(nursery, raw(gzip.compress(text), headers=(("Content-Encoding", "gzip"),)))
    async with RpcClient([node.url], direct_send=direct) as rpc:
        with trio.fail_after(10):
            assert await rpc.get_slot() == 99


async def test_a_compression_bomb_is_refused(nursery: trio.Nursery, direct: bool) -> None:
    """64 KiB on the wire that would inflate to 64 MiB: refused at the limit."""
    bomb = gzip.compress(b'{"jsonrpc":"2.0","id":1,"result":"' + b"0" * (64 * 1024 * 1024))
    assert len(bomb) < 100_000
    node = await serve(nursery, raw(bomb, headers=(("Content-Encoding", "gzip"),)), good(3))
    async with RpcClient([node.url], direct_send=direct, max_reply_bytes=1024 * 1024) as rpc:
        with trio.fail_after(10):
            with pytest.raises(RpcReplyTooLarge, match="inflates past"):
                await rpc.get_slot()
            assert await rpc.get_slot() == 3
    assert rpc.stats.oversize_replies == 1
