"""Solana pubsub over one reconnect-forever WebSocket, many subscriptions behind channels.

The shape is piker's `open_autorecon_ws`: `run()` owns the socket and reconnects forever with
jittered exponential back-off; each consumer holds a `Subscription` backed by its own bounded
memory channel and never sees a reconnect. On every connect, every live subscription is sent
again; the server answers with new subscription ids, which are mapped back to the same
consumer channel, so a consumer only notices a gap in the data.

Overflow policy: the reader must never block on one slow consumer (it serves all of them), so
when a subscription's channel is full the **oldest** queued notification is dropped to make
room, counted in `stats.dropped` and logged. Newest-wins suits every stream we consume: a
fresh account state or log line is worth more than a stale one.

Requests made before the socket is up wait for it. A heartbeat pings every
`heartbeat_interval` and treats a missing pong (under `trio.fail_after`) as a dead connection.

Every message is untrusted input. Malformed ones (not JSON, not UTF-8, nested past orjson's
1024 levels, not an object, no known shape) are logged, counted in `stats.malformed` and
skipped. A message larger than `max_message_size` cannot be skipped: the connection
(`chain.websocket`) closes with code 1009 as soon as a frame header announces a message past
the limit (skipping would mean reading it anyway). That is counted in `stats.oversize` and
logged, and the usual reconnect follows; consumers see a gap, as after any reconnect. A
notification's `result` is handed to its consumer as decoded, up to 1024 levels deep:
consumers check the shape they use and show it only through `untrusted.preview`.

The socket is read by `chain.websocket`, not trio-websocket: no reader task between the
socket and the dispatch, and every message of one read (64 KiB, 256 KiB in a burst)
dispatched in one go.

Inline handling (`Subscription.handle_inline`): a consumer whose work per item is synchronous
and short (the listeners: decode, route, start a task) may have its items handed to a
function called by the reader itself, with no channel and no task switch in between (a
trip through the scheduler per read, and the consumer's cold wake-up, ~0.2 ms, on the way
to a BUY). Such a subscription drops nothing (there is no queue: a slow handler slows the
reader, and the socket's buffer holds the rest). A handler that raises is logged and its
item skipped: the reader serves every subscription and must outlive any one item. A
handler returning True asks that the tasks it woke or started run before the reader
handles the next message (`let_others_go_first`).

Urgent work: a handler may instead return an async function (`Urgent`), which the reader
awaits as soon as the message is dispatched, before anything else (the messages after it
in the read, the next read, the tasks it wakes): the listeners' new token, whose BUY is
written from here (`trading/trader.py`: no scheduler pass before the request). It must be
short and never wait for a reply (other subscriptions wait meanwhile); what it raises is
logged and counted as a handler's. A cancellation (a reconnect, a shutdown) may meet it
at any checkpoint, and it must then leave nothing undone (the trader hands the BUY to its
position task); work not yet started when the reader is cancelled still runs, up to its
first checkpoint (`run_all_urgent`). No shield: a cancel scope cost the BUY ~40 µs cold.
The tasks it started run before the next message, as after a True.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import random
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Self, TypeGuard

import attrs
import trio
from solders.pubkey import Pubkey
from solders.signature import Signature

from . import untrusted, websocket
from ._timing import backoff_delay
from .errors import RpcBadReply, RpcError, error_from_rpc

__all__ = [
    "InlineHandler",
    "PubsubClient",
    "PubsubStats",
    "Subscription",
    "Urgent",
    "let_others_go_first",
    "run_all_urgent",
    "run_urgent",
    "urgent_all",
]

logger = logging.getLogger(__name__)

_UNSUBSCRIBE_GRACE = 2.0  # seconds a leaving consumer may spend telling the server
_MESSAGE_TOO_BIG = 1009  # RFC 6455 close code: our answer to an oversize message
#: a pump logs notification is 3.5-8 KiB. A read costs a syscall and a scheduler pass
#: (Trio's socket read checkpoints) whatever its size, so in a burst (a read that filled its
#: buffer) the next one asks 256 KiB (`chain.websocket`): ~18 µs of transport per event
#: back to back against ~30 at 64 KiB; a lone notification keeps the cheap 64 KiB read
_RECEIVE_BYTES = 64 * 1024
#: messages dispatched between two checkpoints (a read can hold hundreds): with inline
#: handlers (~25 µs an item) other tasks (a monitor about to sell) wait at most ~0.4 ms; a
#: channel consumer that drains what is queued each turn is never outrun
_BATCH = 16

#: work a handler hands back for the reader to await before anything else (module doc)
Urgent = Callable[[], Awaitable[object]]
#: an inline handler (`Subscription.handle_inline`): True when it woke or started a task
#: that must run before the next message is handled; or urgent work (module doc)
InlineHandler = Callable[[Any], bool | Urgent | None]


@attrs.define(eq=False)
class PubsubStats:
    """Counters; `reconnects` counts connections after the first.

    `dropped`: notifications a slow consumer lost; `malformed`: messages skipped as unusable;
    `oversize`: connections closed because a message passed `max_message_size`;
    `handler_errors`: notifications an inline handler raised on (logged and skipped).
    """

    messages_sent: int = 0
    messages_received: int = 0
    connections: int = 0
    reconnects: int = 0
    dropped: int = 0
    malformed: int = 0
    oversize: int = 0
    handler_errors: int = 0


def _is_int(value: object) -> TypeGuard[int]:
    """An id, as we send them (a `true` would otherwise match id 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


@attrs.define(eq=False)
class _Sub:
    """One consumer's subscription; outlives connections, unlike the server-side id."""

    method: str
    params: list[Any]
    unsubscribe_method: str
    one_shot: bool
    send: trio.MemorySendChannel[Any]
    receive: trio.MemoryReceiveChannel[Any]
    ready: trio.Event = attrs.field(factory=trio.Event)
    server_id: int | None = None
    generation: int = -1  # the connection its subscribe request was last sent on
    error: RpcError | None = None
    done: bool = False
    handler: InlineHandler | None = None  # set: items go to it, not to the channel


@attrs.define(eq=False)
class _Connection:
    ws: websocket.ClientWebSocket
    generation: int
    pending: dict[int, _Sub | None] = attrs.field(factory=dict)  # None: an unsubscribe ack
    by_server_id: dict[int, _Sub] = attrs.field(factory=dict)
    outbox: trio.MemorySendChannel[dict[str, Any]] = attrs.field(kw_only=True)


@attrs.frozen
class _Target:
    """Where a `ws://` or `wss://` URL points."""

    host: str
    port: int
    host_header: str
    resource: str
    ssl_context: ssl.SSLContext | None

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"a pubsub URL is ws://host[:port]/path or wss://…, not {url!r}")
        secure = parts.scheme == "wss"
        default_port = 443 if secure else 80
        port = parts.port or default_port
        host_header = parts.hostname if port == default_port else f"{parts.hostname}:{port}"
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        context = ssl.create_default_context() if secure else None
        return cls(parts.hostname, port, host_header, resource, context)


class Subscription:
    """Async iterator over the `params.result` of each notification of one subscription.

    Iteration ends when the subscription is one-shot and has delivered (signatureSubscribe);
    it raises `RpcError` if the server rejected the subscription on a reconnect.
    """

    def __init__(self, sub: _Sub, stats: PubsubStats | None = None) -> None:
        self._sub = sub
        self._stats = stats

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._sub.receive.receive()
        except trio.EndOfChannel:
            if self._sub.error is not None:
                raise self._sub.error from None
            raise StopAsyncIteration from None

    async def handle_inline(self, handler: InlineHandler) -> None:
        """Hand every item to ``handler`` in the reader task, until the subscription ends.

        The items queued before this call go first, in order; from then on each is handed
        over as the reader dispatches it (see the module docstring): in order, none
        dropped, no task switch. ``handler`` must be quick and must not block; if it raises,
        the exception is logged and the item skipped. When it returns True the reader lets
        the scheduler run the tasks it woke or started before it handles the next message.
        Returns when a one-shot subscription has delivered; iteration is not possible
        meanwhile.

        Raises:
            RpcError: the server rejected the subscription on a reconnect.
            RuntimeError: the subscription already has a handler.
        """
        sub = self._sub
        if sub.handler is not None:
            raise RuntimeError("this subscription already has an inline handler")
        receive = sub.receive
        try:
            while True:  # what came before the handler, in order
                try:
                    item = receive.receive_nowait()
                except trio.WouldBlock:
                    break
                except trio.EndOfChannel:
                    break  # the end: reported below
                answer = _call_handler(handler, item, sub.method, self._stats)
                if answer is not False:
                    if answer is not True:
                        await run_urgent(answer, self._stats)
                    await let_others_go_first()
            # no checkpoint since the queue was found empty: nothing can slip in between
            sub.handler = handler
            await self.__anext__()  # only the end comes now: the channel is not fed
        except StopAsyncIteration:
            return
        finally:
            sub.handler = None

    def receive_nowait(self) -> Any:
        """The next item if one is already queued, without a checkpoint.

        For consumers that drain a burst in one go after an ``await`` of the iterator.

        Raises:
            trio.WouldBlock: nothing is queued.
            trio.EndOfChannel: the subscription ended (iterate to learn why).
        """
        return self._sub.receive.receive_nowait()

    @property
    def server_id(self) -> int | None:
        """The id the server gave this subscription on the current connection."""
        return self._sub.server_id


@attrs.define(eq=False)
class PubsubClient:
    """A pubsub client for a Solana node's WebSocket endpoint.

    Run it with `await nursery.start(client.run)`; then any task may
    `async with client.logs_subscribe(program) as sub: async for item in sub: ...`.
    """

    url: str
    heartbeat_interval: float = attrs.field(default=15.0, kw_only=True)
    backoff_max: float = attrs.field(default=5.0, kw_only=True)
    backoff_base: float = attrs.field(default=0.1, kw_only=True)
    queue_size: int = attrs.field(default=256, kw_only=True)
    seed: int | None = attrs.field(default=None, kw_only=True)
    connect_timeout: float = attrs.field(default=10.0, kw_only=True)
    max_message_size: int = attrs.field(default=64 * 1024 * 1024, kw_only=True)
    stats: PubsubStats = attrs.field(init=False, factory=PubsubStats)
    _subs: set[_Sub] = attrs.field(init=False, factory=set)
    _conn: _Connection | None = attrs.field(init=False, default=None)
    _ids: itertools.count[int] = attrs.field(init=False, factory=lambda: itertools.count(1))
    _generations: itertools.count[int] = attrs.field(init=False, factory=itertools.count)
    _rng: random.Random = attrs.field(init=False)
    _target: _Target = attrs.field(init=False)
    #: an inline handler asked that the tasks it woke run before the next message
    _let_go: bool = attrs.field(init=False, default=False)
    #: urgent work handlers returned, awaited before the next message (module doc)
    _urgent: list[Urgent] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._target = _Target.parse(self.url)

    @property
    def connected(self) -> bool:
        """Whether a socket is up right now."""
        return self._conn is not None

    # -------------------------------------------------------------- the connection owner

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, serve, and reconnect forever; started at once (requests wait for a socket).

        Not waiting for the first connection keeps a bot whose WebSocket is briefly down from
        hanging at start-up; subscribers simply wait for the socket.
        """
        task_status.started()
        attempt = 0
        while True:
            if await self._connect_and_serve():
                attempt = 0
            delay = backoff_delay(
                attempt, base=self.backoff_base, cap=self.backoff_max, rng=self._rng
            )
            attempt += 1
            logger.info("pubsub %s: reconnecting in %.2fs", self.url, delay)
            await trio.sleep(delay)

    async def _open_stream(self) -> trio.abc.Stream:
        if self._target.ssl_context is not None:
            return await trio.open_ssl_over_tcp_stream(
                self._target.host,
                self._target.port,
                ssl_context=self._target.ssl_context,
                https_compatible=True,
            )
        return await trio.open_tcp_stream(self._target.host, self._target.port)

    async def _connect_and_serve(self) -> bool:
        """One connection's life; True if it got as far as a WebSocket handshake.

        No close handshake on our side: we only end a connection when its peer is dead (no
        pong) or we are shutting down; closing the TCP stream does for both.
        """
        target = self._target
        try:
            with trio.fail_after(self.connect_timeout):
                stream = await self._open_stream()
        except (OSError, trio.TooSlowError) as exc:
            logger.warning("pubsub %s: cannot connect: %r", self.url, exc)
            return False
        served = False
        try:
            async with stream:
                with trio.fail_after(self.connect_timeout):
                    ws = await websocket.connect(
                        stream,
                        target.host_header,
                        target.resource,
                        max_message_size=self.max_message_size,
                        receive_size=_RECEIVE_BYTES,
                    )
                served = True
                await self._serve(ws)
        # The handshake's errors arrive alone; the serving nursery's arrive grouped.
        except* (websocket.HandshakeError, trio.TooSlowError, OSError) as group:
            logger.warning("pubsub %s: handshake failed: %r", self.url, group.exceptions[0])
        except* trio.BrokenResourceError as group:
            logger.warning("pubsub %s: connection broken: %r", self.url, group.exceptions[0])
        return served

    async def _serve(self, ws: websocket.ClientWebSocket) -> None:
        outbox, outbox_receive = trio.open_memory_channel[dict[str, Any]](float("inf"))
        conn = _Connection(ws, next(self._generations), outbox=outbox)
        self.stats.connections += 1
        if self.stats.connections > 1:
            self.stats.reconnects += 1
        logger.info("pubsub %s: connected (%d subscriptions)", self.url, len(self._subs))
        try:
            async with trio.open_nursery() as nursery:
                self._conn = conn
                nursery.start_soon(self._heartbeat, conn, nursery.cancel_scope)
                nursery.start_soon(self._writer, conn, outbox_receive)
                for sub in list(self._subs):
                    nursery.start_soon(self._send_subscribe, conn, sub)
                await self._read_loop(conn)
                nursery.cancel_scope.cancel()
        finally:
            outbox.close()
            self._conn = None
            for sub in self._subs:
                sub.server_id = None

    async def _heartbeat(self, conn: _Connection, scope: trio.CancelScope) -> None:
        while True:
            await trio.sleep(self.heartbeat_interval)
            try:
                with trio.fail_after(self.heartbeat_interval):
                    await conn.ws.ping()
            except trio.TooSlowError:
                logger.warning(
                    "pubsub %s: no pong in %.1fs, reconnecting", self.url, self.heartbeat_interval
                )
                scope.cancel()
                return
            except websocket.ConnectionClosed:
                return

    async def _read_loop(self, conn: _Connection) -> None:
        """Dispatch every message of each read, with a checkpoint every `_BATCH` of them.

        Dispatching is synchronous (it only decodes and puts items in channels), so a read
        that holds many notifications is handed on in one go; the checkpoints keep a read
        of hundreds of small messages from starving the other tasks.
        """
        while True:
            try:
                messages = await conn.ws.receive_messages()
            except websocket.ConnectionClosed as exc:
                if exc.code == _MESSAGE_TOO_BIG:
                    self.stats.oversize += 1
                    logger.warning(
                        "pubsub %s: a message passed %d bytes; reconnecting (%d so far)",
                        self.url,
                        self.max_message_size,
                        self.stats.oversize,
                    )
                else:
                    logger.warning("pubsub %s: connection closed: %s", self.url, exc)
                return
            since = 0  # messages dispatched since the last checkpoint
            for message in messages:
                self.stats.messages_received += 1
                self._dispatch(conn, message)
                since += 1
                if self._urgent:
                    urgent, self._urgent = self._urgent, []
                    await run_all_urgent(urgent, self.stats)
                if self._let_go:
                    self._let_go = False
                    await let_others_go_first()
                    since = 0
                elif since == _BATCH:
                    await trio.lowlevel.checkpoint()
                    since = 0

    async def _send(self, conn: _Connection, message: dict[str, Any]) -> None:
        await conn.ws.send(untrusted.dumps(message))
        self.stats.messages_sent += 1

    async def _send_subscribe(self, conn: _Connection, sub: _Sub) -> None:
        """Send `sub`'s subscribe request on `conn`, once per connection."""
        if sub.generation == conn.generation or sub.done:
            return
        sub.generation = conn.generation
        request_id = next(self._ids)
        conn.pending[request_id] = sub
        request = {"jsonrpc": "2.0", "id": request_id, "method": sub.method, "params": sub.params}
        # A closed socket is seen by the reader too; the next connection re-sends.
        with contextlib.suppress(websocket.ConnectionClosed):
            await self._send(conn, request)

    # ----------------------------------------------------------------- incoming messages

    def _malformed(self, why: str, message: object) -> None:
        self.stats.malformed += 1
        logger.warning(
            "pubsub %s: skipping malformed message (%s): %s",
            self.url,
            why,
            untrusted.preview(message),
        )

    def _dispatch(self, conn: _Connection, message: str | bytes) -> None:
        try:
            msg = untrusted.loads(message)
        except ValueError as exc:  # not JSON, not UTF-8, or nested too deep
            self._malformed(f"not JSON: {exc}", message[:80])
            return
        if not isinstance(msg, dict):
            self._malformed("not an object", msg)
        elif msg.get("id") is not None:
            self._on_response(conn, msg)
        elif isinstance(msg.get("method"), str) and isinstance(msg.get("params"), dict):
            self._on_notification(conn, msg["params"], msg)
        else:
            self._malformed("neither a response nor a notification", msg)

    def _on_response(self, conn: _Connection, msg: dict[str, Any]) -> None:
        request_id = msg["id"]
        if not _is_int(request_id) or request_id not in conn.pending:
            self._malformed("response to no request of ours", msg)
            return
        sub = conn.pending.pop(request_id)
        if sub is None:
            return  # an unsubscribe's acknowledgement
        if "error" in msg:
            self._fail(sub, error_from_rpc(msg["error"]))
            return
        server_id = msg.get("result")
        if not _is_int(server_id):
            what = untrusted.preview(server_id, 80)
            self._fail(sub, RpcBadReply(f"malformed {sub.method} reply: {what}"))
            return
        if sub.done:  # the consumer left while we waited: undo it on the server
            self._unsubscribe_soon(conn, sub.unsubscribe_method, server_id)
            return
        sub.server_id = server_id
        conn.by_server_id[server_id] = sub
        sub.ready.set()

    def _on_notification(self, conn: _Connection, params: dict[str, Any], msg: object) -> None:
        server_id = params.get("subscription")
        if not _is_int(server_id) or "result" not in params:
            self._malformed("notification without subscription/result", msg)
            return
        sub = conn.by_server_id.get(server_id)
        if sub is None:
            logger.debug("pubsub: notification for unknown subscription %s", server_id)
            return
        self._deliver(sub, params["result"])
        if sub.one_shot:  # the server cancels a signature subscription after notifying
            del conn.by_server_id[server_id]
            sub.done = True
            sub.server_id = None
            self._subs.discard(sub)
            sub.send.close()

    def _deliver(self, sub: _Sub, item: Any) -> None:
        handler = sub.handler
        if handler is not None:
            answer = _call_handler(handler, item, sub.method, self.stats)
            if answer is not False:
                self._let_go = True
                if answer is not True:
                    self._urgent.append(answer)
            return
        try:
            sub.send.send_nowait(item)
        except trio.WouldBlock:
            sub.receive.receive_nowait()  # drop the oldest (see the module docstring)
            sub.send.send_nowait(item)
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                logger.warning(
                    "pubsub: slow %s consumer, %d notifications dropped so far",
                    sub.method,
                    self.stats.dropped,
                )
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the consumer is leaving; its exit unsubscribes

    def _fail(self, sub: _Sub, error: RpcError) -> None:
        logger.warning("pubsub %s: %s %s rejected: %s", self.url, sub.method, sub.params, error)
        sub.error = error
        sub.done = True
        self._subs.discard(sub)
        sub.send.close()
        sub.ready.set()

    def _unsubscribe_soon(self, conn: _Connection, method: str, server_id: int) -> None:
        """Queue an unsubscribe on `conn`'s writer; callable from the (synchronous) reader."""
        request_id = next(self._ids)
        conn.pending[request_id] = None
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": [server_id]}
        try:
            conn.outbox.send_nowait(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.WouldBlock):
            # The writer is gone (shutdown or a dropped socket): the server forgets the
            # subscription with the connection, so there is nothing left to cancel.
            conn.pending.pop(request_id, None)

    async def _writer(self, conn: _Connection, outbox: trio.MemoryReceiveChannel[Any]) -> None:
        async with outbox:
            async for message in outbox:
                try:
                    await self._send(conn, message)
                except websocket.ConnectionClosed:
                    return

    # ------------------------------------------------------------------- the consumer API

    def subscribe(
        self, method: str, params: list[Any], unsubscribe_method: str, *, one_shot: bool = False
    ) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe for the duration of an `async with`; leaving it unsubscribes.

        Entering waits for a socket and for the server's acknowledgement, so the first
        notification cannot be missed once the body runs.

        Raises:
            RpcError: the server rejected the subscription.
        """
        return self._subscription(method, params, unsubscribe_method, one_shot)

    @asynccontextmanager
    async def _subscription(
        self, method: str, params: list[Any], unsubscribe_method: str, one_shot: bool
    ) -> AsyncIterator[Subscription]:
        send, receive = trio.open_memory_channel[Any](self.queue_size)
        sub = _Sub(method, params, unsubscribe_method, one_shot, send, receive)
        self._subs.add(sub)
        try:
            with receive:
                conn = self._conn
                if conn is not None:
                    await self._send_subscribe(conn, sub)
                await sub.ready.wait()
                if sub.error is not None:
                    raise sub.error
                yield Subscription(sub, self.stats)
        finally:
            self._leave(sub)

    def _leave(self, sub: _Sub) -> None:
        was_done, sub.done = sub.done, True
        self._subs.discard(sub)
        sub.send.close()
        conn = self._conn
        if was_done or conn is None or sub.generation != conn.generation:
            return  # nothing of it lives on the current connection
        if sub.server_id is not None:
            conn.by_server_id.pop(sub.server_id, None)
            self._unsubscribe_soon(conn, sub.unsubscribe_method, sub.server_id)
            sub.server_id = None
        # else: still pending; `_on_response` unsubscribes when the id arrives

    def logs_subscribe(
        self, mentions: Pubkey | None, commitment: str = "processed"
    ) -> AbstractAsyncContextManager[Subscription]:
        """Logs of transactions mentioning `mentions` (all transactions if None).

        Items: `{"context": {"slot"}, "value": {"signature", "err", "logs"}}`.
        """
        target: object = "all" if mentions is None else {"mentions": [str(mentions)]}
        return self.subscribe(
            "logsSubscribe", [target, {"commitment": commitment}], "logsUnsubscribe"
        )

    def signature_subscribe(
        self, sig: Signature, commitment: str = "confirmed"
    ) -> AbstractAsyncContextManager[Subscription]:
        """One notification when `sig` reaches `commitment`, then the iteration ends.

        Item: `{"context": {"slot"}, "value": {"err": null | <TransactionError>}}`.
        """
        return self.subscribe(
            "signatureSubscribe",
            [str(sig), {"commitment": commitment}],
            "signatureUnsubscribe",
            one_shot=True,
        )

    def account_subscribe(
        self, pubkey: Pubkey, commitment: str = "processed", encoding: str = "base64"
    ) -> AbstractAsyncContextManager[Subscription]:
        """Every change of the account. Item: `{"context", "value": <account, encoded>}`."""
        return self.subscribe(
            "accountSubscribe",
            [str(pubkey), {"commitment": commitment, "encoding": encoding}],
            "accountUnsubscribe",
        )

    def slot_subscribe(self) -> AbstractAsyncContextManager[Subscription]:
        """Every slot the node processes. Item: `{"parent", "root", "slot"}`."""
        return self.subscribe("slotSubscribe", [], "slotUnsubscribe")

    def block_subscribe(
        self, mentions: Pubkey, commitment: str = "confirmed", *, encoding: str = "base64"
    ) -> AbstractAsyncContextManager[Subscription]:
        """Blocks with the transactions that mention `mentions` (not every node enables it).

        Item: `{"context": {"slot"}, "value": {"slot", "block": {..., "transactions"}, "err"}}`.
        """
        options = {
            "commitment": commitment,
            "encoding": encoding,
            "transactionDetails": "full",
            "maxSupportedTransactionVersion": 0,
            "showRewards": False,
        }
        return self.subscribe(
            "blockSubscribe",
            [{"mentionsAccountOrProgram": str(mentions)}, options],
            "blockUnsubscribe",
        )


def _call_handler(
    handler: InlineHandler, item: Any, method: str, stats: PubsubStats | None
) -> bool | Urgent:
    """``handler(item)``: its answer, or False after logging what it raised."""
    try:
        answer = handler(item)
        return answer if callable(answer) else bool(answer)
    except Exception:  # one item's bug must not stop the reader, which serves every consumer
        if stats is not None:
            stats.handler_errors += 1
        logger.exception(
            "pubsub: a %s handler failed; skipping the notification: %s",
            method,
            untrusted.preview(item),
        )
        return False


async def run_urgent(work: Urgent, stats: PubsubStats | None = None) -> None:
    """Await ``work`` (a handler's urgent work): what it raises is logged and counted in
    ``stats.handler_errors``, never passed on (the reader serves everyone), a
    cancellation excepted."""
    try:
        await work()
    except Exception:
        if stats is not None:
            stats.handler_errors += 1
        logger.exception("pubsub: a handler's urgent work failed")


async def run_all_urgent(works: list[Urgent], stats: PubsubStats | None = None) -> None:
    """``run_urgent`` each of ``works`` in order. Cancelled (a reconnect, a shutdown), the
    ones not yet run are run all the same: each goes as far as its first checkpoint, where
    the cancellation meets it, and must leave nothing undone there (the module doc)."""
    pending = iter(works)
    try:
        for work in pending:
            await run_urgent(work, stats)
    finally:
        for work in pending:
            with contextlib.suppress(trio.Cancelled):  # the first one goes on propagating
                await run_urgent(work, stats)


def urgent_all(works: list[Urgent]) -> Urgent | None:
    """One urgent work doing each of ``works`` in order (``run_urgent``: one failing does
    not stop the others); None for none."""
    if len(works) < 2:
        return works[0] if works else None
    return functools.partial(run_all_urgent, works)


async def let_others_go_first() -> None:
    """Let the tasks an inline handler just woke or started run before the next message.

    A task started with ``nursery.start_soon`` (or woken) runs in the scheduler's next
    batch, and Trio runs a batch in either order: after one checkpoint the reader could go
    first and handle more messages before it. After two, the reader's step in that batch
    is only its second checkpoint, so the other task runs before the reader handles
    anything.
    """
    await trio.lowlevel.checkpoint()
    await trio.lowlevel.checkpoint()
