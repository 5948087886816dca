"""Hostile peers on 127.0.0.1: an HTTP JSON-RPC node that answers with whatever bytes a test
gives it (nested 100 000 deep, endless, not UTF-8, ...), and documents to send."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import attrs
import trio


@attrs.frozen
class Answer:
    """One HTTP response: `body` bytes (sent with a Content-Length) or chunks (sent chunked).

    `declared_length` overrides the Content-Length header of a bytes body.
    """

    body: bytes | Iterable[bytes]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    declared_length: int | None = None


Reply = Callable[[dict[str, Any]], Answer]


def good(result: Any) -> Reply:
    """A well-formed JSON-RPC answer with `result`."""
    return lambda request: Answer(
        json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
    )


def raw(body: bytes | Iterable[bytes], **kwargs: Any) -> Reply:
    """These exact bytes, whatever was asked."""
    return lambda request: Answer(body, **kwargs)


def envelope(result_json: bytes) -> Reply:
    """A JSON-RPC answer whose `result` is the given JSON text, spliced in as bytes."""
    return lambda request: Answer(
        b'{"jsonrpc":"2.0","id":%d,"result":%s}' % (request["id"], result_json)
    )


def nested(depth: int, inner: bytes = b"1") -> bytes:
    """A JSON document of `depth` nested arrays around `inner`."""
    return b"[" * depth + inner + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def notification_text(sid: object, result: bytes, method: str = "logsNotification") -> str:
    """A pubsub notification for subscription `sid` whose `result` is the given JSON text."""
    return (
        b'{"jsonrpc":"2.0","method":"%s","params":{"result":%s,"subscription":%s}}'
        % (method.encode(), result, json.dumps(sid).encode())
    ).decode()


def endless(chunk: bytes, total: int) -> Iterable[bytes]:
    """`total` bytes (roughly) in `chunk`-sized pieces, made as they are sent."""
    return itertools.repeat(chunk, total // len(chunk))


@attrs.define(eq=False)
class HostileHttpNode:
    """Answers the n-th HTTP request with `replies[n]`, one request per connection.

    Records per request the body bytes it managed to send and whether it sent them all, so a
    test can tell a client that stopped reading from one that read everything.
    """

    replies: list[Reply]
    port: int = 0
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    body_bytes_sent: list[int] = attrs.field(factory=list)
    completed: list[bool] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, nursery: trio.Nursery) -> None:
        listeners = await nursery.start(partial(trio.serve_tcp, self._serve, 0, host="127.0.0.1"))
        self.port = listeners[0].socket.getsockname()[1]

    async def _serve(self, stream: trio.SocketStream) -> None:
        async with stream:
            request = await _read_request(stream)
            if request is None:
                return
            self.requests.append(request)
            answer = self.replies.pop(0)(request)
            index = len(self.body_bytes_sent)
            self.body_bytes_sent.append(0)
            self.completed.append(False)
            try:
                await self._send(stream, answer, index)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return  # the client hung up: what a client refusing a reply does
            self.completed[index] = True

    async def _send(self, stream: trio.SocketStream, answer: Answer, index: int) -> None:
        head = [f"HTTP/1.1 {answer.status} X", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in answer.headers]
        head.append("Connection: close")
        if isinstance(answer.body, bytes):
            length = len(answer.body) if answer.declared_length is None else answer.declared_length
            head.append(f"Content-Length: {length}")
            await stream.send_all(("\r\n".join(head) + "\r\n\r\n").encode())
            await stream.send_all(answer.body)
            self.body_bytes_sent[index] += len(answer.body)
            return
        head.append("Transfer-Encoding: chunked")
        await stream.send_all(("\r\n".join(head) + "\r\n\r\n").encode())
        for chunk in answer.body:
            await stream.send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.body_bytes_sent[index] += len(chunk)
        await stream.send_all(b"0\r\n\r\n")


async def _read_request(stream: trio.SocketStream) -> dict[str, Any] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        more = await stream.receive_some(65536)
        if not more:
            return None
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if b"content-length" in line.lower()
    )
    while len(body) < length:
        body += await stream.receive_some(65536)
    request: dict[str, Any] = json.loads(body)
    return request
