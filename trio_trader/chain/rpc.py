"""JSON-RPC over HTTP to any Solana node, on one long-lived `httpx.AsyncClient`.

httpx runs on Trio through anyio, and one client keeps the TCP/TLS connections warm: on the
hot path (a BUY) a fresh TLS handshake costs more than the request itself.

Failures are handled here so callers see only what survived the retries:

- HTTP 429 or JSON-RPC -32429 → wait `Retry-After` (or the back-off when absent) and retry the
  same endpoint: the quota is the server's to state, and other endpoints share our identity.
- HTTP 5xx, connection errors, -32005 "node unhealthy" → rotate to the next endpoint, with a
  jittered exponential back-off once every endpoint has failed during this call.
- Anything else (bad params, preflight failure, malformed reply) → raised at once.

Every reply is untrusted input. Its body is read as a stream and refused past
`max_reply_bytes` (`RpcReplyTooLarge`) before it is all in memory; it is decoded by orjson,
which refuses nesting past 1024 levels instead of overflowing the stack; and each typed method
checks the shape it returns (`types.py`). Whatever is wrong with a reply surfaces as one
`RpcBadReply`, logged and counted in `stats.bad_replies`, never as a `KeyError`, `TypeError`
or `RecursionError` in the caller.

`stats` counts HTTP requests actually sent (a batch is one), which is what a provider bills.

`sendTransaction` skips httpx: it goes over `sender.H11Sender`'s kept-alive HTTP/1.1
connections (unless a test transport is given), and with `send_endpoints` it is sent at once
to every one of them (`fanout.start_fan_out`: written in the caller's task where a kept-alive
connection waits, by a task elsewhere): the first acceptance wins, and each endpoint's
acceptances, refusals, unclear outcomes and latency are counted in `stats.sends`.
`write_transaction` writes a `sendTransaction` at once and `finish_transaction` reads its reply
later (an idle connection and a budget token to spare, on one endpoint at least; else nothing
is sent).

With the direct sender, every other method skips httpx too, over a second pool of its own
(`reader`): httpx + httpcore run ~0.3–0.5 ms of Python per request in one task step (build,
pool, h11, then the reply's head), and the confirmer's `getTransaction`, the blockhash
refresh and the status polls each took such a step while a create's notification could be
waiting for the loop (docs/benchmarks.md, "long task steps"). Its own pool, so a read never
holds a connection a BUY's `write_transaction` wants idle; at most `_READS_IN_FLIGHT` at once
(httpx's own connection limit), so a burst of reads cannot open sockets without bound.
The reply is checked as a send's is (`_direct_reply`: status, Content-Encoding, size, JSON).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import functools
import itertools
import logging
import math
import random
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs
import httpx
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from . import types as t
from . import untrusted
from ._timing import TokenBucket, backoff_delay
from .errors import (
    INVALID_PARAMS,
    RpcBadReply,
    RpcError,
    RpcRateLimited,
    RpcReplyTooLarge,
    RpcUnavailable,
    error_from_rpc,
)
from .fanout import EndpointSends, FanOut, start_fan_out
from .sender import Exchange, H11Sender, HttpReply
from .types import (
    AccountInfo,
    SignatureInfo,
    SignatureStatus,
    TokenAccount,
    TransactionInfo,
)

__all__ = ["RpcClient", "RpcStats", "SendInFlight"]

logger = logging.getLogger(__name__)
E = TypeVar("E", bound=RpcError)

_MAX_MULTIPLE_ACCOUNTS = 100  # getMultipleAccounts' limit per request
_MAX_SIGNATURE_STATUSES = 256  # getSignatureStatuses' limit per request
_MAX_SIGNATURES_FOR_ADDRESS = 1000  # getSignaturesForAddress' limit per request
DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024
_ENCODINGS = frozenset({"identity", "gzip", "x-gzip", "deflate"})  # Content-Encodings we read
# A parser is written against the shapes it checks; one it did not foresee must still end as
# a bad reply, not as one of these escaping into the trader.
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError, RecursionError)


def _endpoint_tuple(endpoints: Iterable[str]) -> tuple[str, ...]:
    """attrs converter, typed so that callers may pass any iterable of URLs."""
    return tuple(endpoints)


@attrs.define(eq=False)
class RpcStats:
    """Counters of what the client sent; `requests_sent` counts HTTP requests, retries included.

    `bad_replies` counts replies refused as malformed (`RpcBadReply`), the too large ones
    (`RpcReplyTooLarge`) included; `oversize_replies` counts those alone.
    """

    requests_sent: int = 0
    by_method: Counter[str] = attrs.field(factory=Counter)
    #: send endpoint URL → its fan-out outcomes and latency (empty without `send_endpoints`)
    sends: dict[str, EndpointSends] = attrs.field(factory=dict)
    retries: int = 0
    rate_limited: int = 0
    failovers: int = 0
    bad_replies: int = 0
    oversize_replies: int = 0


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # The only wall-clock read in this layer: the header is an absolute date.
    return max(0.0, when.timestamp() - time.time())


@attrs.define(eq=False)
class RpcClient:
    """A Solana JSON-RPC client with retries, fail-over, a request budget and typed results.

    Args:
        endpoints: HTTP(S) URLs, tried in order; the client stays on one until it fails.
        requests_per_second: cap on HTTP requests (token bucket of `burst`), None for no cap.
        max_retries: retries per call after the first attempt, over all endpoints.
        transport: an httpx transport (tests pass `httpx.MockTransport`).
        max_reply_bytes: a reply body larger than this is refused while it streams in.
        send_endpoints: if any, `sendTransaction` goes to all of them at once instead of to
            `endpoint` (first acceptance wins; see `fanout.start_fan_out`).
        direct_send: send `sendTransaction` over `H11Sender` rather than httpx; by default
            only when no `transport` is given (a test transport is no socket).
        keep_warm: with the direct sender, seconds after which an endpoint's connection
            with no exchange gets a `getHealth`: a connection is open before the first BUY,
            and one the server dropped while idle is found and replaced off the hot path.
    """

    endpoints: tuple[str, ...] = attrs.field(converter=_endpoint_tuple)
    requests_per_second: float | None = attrs.field(default=None, kw_only=True)
    max_retries: int = attrs.field(default=5, kw_only=True)
    transport: httpx.AsyncBaseTransport | None = attrs.field(default=None, kw_only=True)
    burst: int = attrs.field(default=1, kw_only=True)
    backoff_base: float = attrs.field(default=0.1, kw_only=True)
    backoff_max: float = attrs.field(default=5.0, kw_only=True)
    seed: int | None = attrs.field(default=None, kw_only=True)
    max_reply_bytes: int = attrs.field(default=DEFAULT_MAX_REPLY_BYTES, kw_only=True)
    send_endpoints: tuple[str, ...] = attrs.field(
        default=(), converter=_endpoint_tuple, kw_only=True
    )
    direct_send: bool | None = attrs.field(default=None, kw_only=True)
    keep_warm: float | None = attrs.field(default=None, kw_only=True)
    stats: RpcStats = attrs.field(init=False, factory=RpcStats)
    _current: int = attrs.field(init=False, default=0)
    _client: httpx.AsyncClient | None = attrs.field(init=False, default=None)
    sender: H11Sender | None = attrs.field(init=False, default=None)
    #: with the direct sender, every other method's pool (see the module docstring)
    reader: H11Sender | None = attrs.field(init=False, default=None)
    _read_slots: trio.CapacityLimiter = attrs.field(
        init=False, factory=lambda: trio.CapacityLimiter(_READS_IN_FLIGHT)
    )
    _background: trio.Nursery | None = attrs.field(init=False, default=None)
    _background_cm: Any = attrs.field(init=False, default=None)
    _budget: TokenBucket | None = attrs.field(init=False, default=None)
    _ids: itertools.count[int] = attrs.field(init=False, factory=lambda: itertools.count(1))
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if not self.endpoints:
            raise ValueError("RpcClient needs at least one endpoint")
        if self.max_reply_bytes < 1:
            raise ValueError(f"max_reply_bytes must be positive, not {self.max_reply_bytes}")
        if self.requests_per_second is not None:
            self._budget = TokenBucket(self.requests_per_second, self.burst)
        self._rng = random.Random(self.seed)
        self.stats.sends = {url: EndpointSends() for url in self.send_endpoints}

    @property
    def endpoint(self) -> str:
        """The endpoint requests currently go to."""
        return self.endpoints[self._current]

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            transport=self.transport,
            headers={"content-type": "application/json"},
            timeout=_TIMEOUT,
        )
        direct = self.transport is None if self.direct_send is None else self.direct_send
        if direct:
            self.sender = H11Sender(self.max_reply_bytes)
            self.reader = H11Sender(self.max_reply_bytes, max_idle=_READS_KEPT_ALIVE)
        warm = self.sender is not None and self.keep_warm is not None
        if self.send_endpoints or warm:
            # The slower endpoints of a fan-out finish after the caller has its answer:
            # their bytes must still go out (another leader, another block engine).
            self._background_cm = trio.open_nursery()
            self._background = await self._background_cm.__aenter__()
            if warm:
                assert self.keep_warm is not None
                self._background.start_soon(self._keep_warm, self.keep_warm)
        return self

    async def _keep_warm(self, interval: float) -> None:
        """Every `interval`, a `getHealth` to each send endpoint that had no exchange since."""
        assert self.sender is not None
        body = untrusted.dumps({"jsonrpc": "2.0", "id": 0, "method": "getHealth"})
        while True:
            for url in self.send_endpoints or (self.endpoint,):
                if trio.current_time() - self.sender.last_used.get(url, -math.inf) < interval:
                    continue
                self.stats.requests_sent += 1
                self.stats.by_method["getHealth"] += 1
                try:
                    await self.sender.post(url, body)
                except RpcError as exc:  # the next BUY will try (and fail over) itself
                    logger.debug("keep-warm request to %s failed: %s", url, exc)
                except Exception:  # never let a background nicety take the client down
                    logger.warning("keep-warm request to %s failed", url, exc_info=True)
            await trio.sleep(interval)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._background is not None:
            background, cm, self._background = self._background, self._background_cm, None
            background.cancel_scope.cancel()  # late fan-out sends are not waited for
            await cm.__aexit__(None, None, None)  # the body's exception, if any, stays as is
            if self.send_endpoints:
                logger.info("sendTransaction per endpoint: %s", self.send_report())
        for pool in (self.sender, self.reader):
            if pool is not None:
                await pool.aclose()
        self.sender = self.reader = None
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # ----------------------------------------------------------------- transport and retries

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        """Send one request and return its `result`.

        Raises:
            RpcRateLimited, RpcUnavailable: still failing after `max_retries` retries.
            TransactionError: a preflight failure (-32002) with its simulation `err`.
            RpcBadReply: a malformed reply (`RpcReplyTooLarge`: a too large one).
            RpcError: any other error member.
        """
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            request["params"] = params
        body = await self._send(request, [method])
        return self._result(body, method)

    async def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Send several requests in one HTTP request; results in the order of `calls`.

        An error in any one raises it (after retrying the whole batch if it is a rate limit or
        an unhealthy node), so a caller never mistakes an error for a result.
        """
        if not calls:
            return []
        first = next(self._ids)
        ids = [first, *(next(self._ids) for _ in calls[1:])]
        requests = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        body = await self._send(requests, [m for m, _ in calls])
        if not isinstance(body, list):
            if isinstance(body, dict) and "error" in body:
                raise self._counted(error_from_rpc(body["error"]))
            raise self._bad(f"malformed batch reply: expected a list, got {type(body).__name__}")
        by_id = {r["id"]: r for r in body if isinstance(r, dict) and _is_id(r.get("id"))}
        missing = [m for i, (m, _) in zip(ids, calls, strict=True) if i not in by_id]
        if missing:
            raise self._bad(f"malformed batch reply: no response for {missing}")
        return [self._result(by_id[i], m) for i, (m, _) in zip(ids, calls, strict=True)]

    def _result(self, body: Any, method: str) -> Any:
        if not isinstance(body, dict):
            raise self._bad(f"malformed {method} reply: expected an object")
        if "error" in body:
            raise self._counted(error_from_rpc(body["error"]))
        if "result" not in body:
            raise self._bad(f"malformed {method} reply: neither 'result' nor 'error'")
        return body["result"]

    def _bad(self, message: str) -> RpcBadReply:
        return self._counted(RpcBadReply(message))

    def _counted(self, error: E) -> E:
        """Count and log `error` if it is a bad reply; return it for the caller to raise."""
        if isinstance(error, RpcBadReply):
            self.stats.bad_replies += 1
            if isinstance(error, RpcReplyTooLarge):
                self.stats.oversize_replies += 1
            logger.warning("bad reply from %s: %s", self.endpoint, error)
        return error

    @contextlib.contextmanager
    def _parsing(self, method: str) -> Iterator[None]:
        """Around a typed method's parsing: any failure is a counted `RpcBadReply`."""
        try:
            yield
        except RpcBadReply as exc:
            raise self._counted(exc) from None
        except _SHAPE_ERRORS as exc:
            logger.warning("unforeseen %s reply shape", method, exc_info=True)
            raise self._bad(f"malformed {method} reply: {type(exc).__name__}") from None

    async def _send(
        self, payload: Any, methods: list[str], after_write: Callable[[], None] | None = None
    ) -> Any:
        """POST `payload`, retrying rate limits and unavailability; return the decoded JSON
        (`after_write`: see `send_transaction`)."""
        if self._client is None:
            raise RuntimeError("RpcClient is used outside `async with`")
        content = untrusted.dumps(payload)
        failed_here: set[int] = set()
        for attempt in itertools.count():
            if self._budget is not None:
                await self._budget.acquire()
            index = self._current
            try:
                return await self._post_once(self.endpoints[index], content, methods, after_write)
            except RpcRateLimited as exc:
                self.stats.rate_limited += 1
                if attempt >= self.max_retries:
                    raise
                delay = exc.retry_after
                if delay is None:
                    delay = self._backoff(attempt)
                logger.warning("%s rate limited %s; retrying in %.2fs", exc.message, methods, delay)
            except RpcUnavailable as exc:
                failed_here.add(index)
                if attempt >= self.max_retries:
                    raise RpcUnavailable(
                        f"{methods} failed {attempt + 1} times on {len(failed_here)} "
                        f"endpoint(s); last: {exc.message}",
                        code=exc.code,
                        data=exc.data,
                    ) from exc
                if self._current == index:  # a concurrent call may have rotated already
                    self._rotate()
                # Trying an endpoint that has not failed yet is worth doing at once; back off
                # only when every endpoint has failed during this call.
                delay = self._backoff(attempt) if self._current in failed_here else 0.0
                logger.warning("%s unavailable (%s); retrying in %.2fs", methods, exc, delay)
            self.stats.retries += 1
            await trio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _rotate(self) -> None:
        if len(self.endpoints) > 1:
            self._current = (self._current + 1) % len(self.endpoints)
            self.stats.failovers += 1
            logger.warning("failing over to RPC endpoint %s", self.endpoint)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max, rng=self._rng)

    async def _post_once(
        self,
        endpoint: str,
        content: bytes,
        methods: list[str],
        after_write: Callable[[], None] | None = None,
    ) -> Any:
        assert self._client is not None
        self.stats.requests_sent += 1
        self.stats.by_method.update(methods)
        if self.sender is not None and methods == ["sendTransaction"]:
            reply = await self._direct_post(self.sender, endpoint, content, after_write)
            return self._direct_reply(reply, endpoint)
        if self.reader is not None:
            async with self._read_slots:
                reply = await self._direct_post(self.reader, endpoint, content, None)
            return self._direct_reply(reply, endpoint)
        url = httpx.URL(endpoint)
        request = httpx.Request(
            "POST",
            url,
            # given a stream, httpx leaves every header to us, Host included
            headers={
                "host": url.netloc.decode("ascii"),
                "content-type": "application/json",
                "content-length": str(len(content)),
            },
            stream=_Body(content),
            extensions={"timeout": _TIMEOUT.as_dict()},
        )
        try:
            response = await self._client.send(request, stream=True)
            try:
                status = response.status_code
                retry_after = _retry_after(response.headers.get("retry-after"))
                _check_status(status, retry_after, endpoint)
                raw = await self._read_body(response, endpoint)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise RpcUnavailable(f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        return self._decode(raw, status, retry_after, endpoint)

    async def _direct_post(
        self,
        pool: H11Sender,
        endpoint: str,
        content: bytes,
        after_write: Callable[[], None] | None,
    ) -> HttpReply:
        try:
            return await pool.post(endpoint, content, after_write=after_write)
        except RpcReplyTooLarge as exc:
            raise self._counted(exc) from None

    def _direct_reply(self, reply: HttpReply, endpoint: str) -> Any:
        """`_post_once`'s checks, on a reply `H11Sender` has already read whole (and bounded)."""
        retry_after = _retry_after(reply.headers.get("retry-after"))
        _check_status(reply.status, retry_after, endpoint)
        encoding = reply.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in _ENCODINGS:
            raise self._bad(f"reply from {endpoint} has Content-Encoding {encoding!r:.40}")
        raw = reply.body if encoding == "identity" else self._inflate(reply.body, endpoint)
        return self._decode(raw, reply.status, retry_after, endpoint)

    async def _read_body(self, response: httpx.Response, endpoint: str) -> bytes:
        """The body, refused once it passes `max_reply_bytes` (declared, streamed or inflated).

        We never ask for a compressed reply; one that comes anyway (gzip or deflate) is
        inflated here under the same limit, so a small bomb cannot expand without bound.
        """
        limit = self.max_reply_bytes
        declared = response.headers.get("content-length", "")
        # [:20]: Python refuses int() of thousands of digits with a ValueError
        if declared.isascii() and declared.isdigit() and int(declared[:20]) > limit:
            raise self._too_large(f"reply from {endpoint} declares {declared:.24} bytes")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in _ENCODINGS:
            raise self._bad(f"reply from {endpoint} has Content-Encoding {encoding!r:.40}")
        chunks: list[bytes] = []
        size = 0
        if response.is_stream_consumed:  # a transport that answered with bytes in memory
            chunks, size = [response.content], len(response.content)
        # Stopping mid-stream must not abandon httpx's stack of async generators (Trio
        # warns for each one garbage-collected unfinished): cancelling lets the next socket
        # read raise Cancelled *inside* the innermost one, which closes them all, connection
        # included, on its way out.
        with trio.CancelScope() as refuse:
            async for chunk in _raw_chunks(response):
                size += len(chunk)
                if size > limit:
                    chunks.clear()
                    refuse.cancel()
                elif not refuse.cancel_called:
                    chunks.append(chunk)
        if size > limit:
            raise self._too_large(f"reply from {endpoint} passed {limit} bytes")
        body = b"".join(chunks)
        if encoding == "identity":
            return body
        return self._inflate(body, endpoint)

    def _inflate(self, body: bytes, endpoint: str) -> bytes:
        limit = self.max_reply_bytes
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
        try:
            plain = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise self._bad(f"undecodable compressed reply from {endpoint}: {exc}") from None
        if len(plain) > limit or inflater.unconsumed_tail:
            raise self._too_large(f"reply from {endpoint} inflates past {limit} bytes")
        return plain

    def _too_large(self, message: str) -> RpcReplyTooLarge:
        limit = self.max_reply_bytes
        return self._counted(RpcReplyTooLarge(f"{message}, over {limit}", limit=limit))

    def _decode(self, raw: bytes, status: int, retry_after: float | None, endpoint: str) -> Any:
        try:
            body = untrusted.loads(raw)
        except ValueError as exc:
            if status >= 400:
                raise RpcError(
                    f"an error page from {endpoint} (HTTP {status}), not JSON: {raw[:80]!r}",
                    code=status,
                ) from None
            raise self._bad(
                f"a malformed reply from {endpoint} (HTTP {status}), not JSON ({exc}): {raw[:80]!r}"
            ) from None
        # A single request's rate-limit or unhealthy error is retried like its HTTP form.
        if isinstance(body, dict) and "error" in body:
            error = error_from_rpc(body["error"], retry_after=retry_after)
            if isinstance(error, RpcRateLimited | RpcUnavailable):
                raise error
        if isinstance(body, list):
            for item in body:
                if isinstance(item, dict) and "error" in item:
                    error = error_from_rpc(item["error"], retry_after=retry_after)
                    if isinstance(error, RpcRateLimited | RpcUnavailable):
                        raise error
        if status >= 400 and not isinstance(body, dict | list):
            raise RpcError(f"{endpoint}: HTTP {status}", code=status)
        return body

    # ----------------------------------------------------------------------- typed methods
    # Each parses its `result` inside `_parsing`, so a malformed one is a counted RpcBadReply.

    async def get_latest_blockhash(self, commitment: str = "processed") -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight) at `commitment`."""
        result = await self.call("getLatestBlockhash", [{"commitment": commitment}])
        with self._parsing("getLatestBlockhash"):
            return t.parse_latest_blockhash(result)

    async def _u64(self, method: str, params: list[Any]) -> int:
        result = await self.call(method, params)
        with self._parsing(method):
            return t.u64(method, result)

    async def get_block_height(self, commitment: str = "processed") -> int:
        """The current block height (the clock `lastValidBlockHeight` is measured on)."""
        return await self._u64("getBlockHeight", [{"commitment": commitment}])

    async def get_slot(self, commitment: str = "processed") -> int:
        """The current slot at `commitment`."""
        return await self._u64("getSlot", [{"commitment": commitment}])

    async def get_balance(self, pubkey: Pubkey, commitment: str = "processed") -> int:
        """Lamports held by `pubkey` (0 for an absent account)."""
        result = await self.call("getBalance", [str(pubkey), {"commitment": commitment}])
        with self._parsing("getBalance"):
            return t.u64("getBalance", t.context_value("getBalance", result))

    async def get_account_info(
        self, pubkey: Pubkey, commitment: str = "processed"
    ) -> AccountInfo | None:
        """The account at `pubkey`, or None if it does not exist."""
        method = "getAccountInfo"
        params = [str(pubkey), {"commitment": commitment, "encoding": "base64"}]
        result = await self.call(method, params)
        with self._parsing(method):
            return t.parse_account_info(method, t.context_value(method, result))

    async def get_multiple_accounts(
        self, pubkeys: Sequence[Pubkey], commitment: str = "processed"
    ) -> list[AccountInfo | None]:
        """Accounts in the order of `pubkeys` (None where absent), 100 per request."""
        method = "getMultipleAccounts"
        accounts: list[AccountInfo | None] = []
        for start in range(0, len(pubkeys), _MAX_MULTIPLE_ACCOUNTS):
            chunk = [str(k) for k in pubkeys[start : start + _MAX_MULTIPLE_ACCOUNTS]]
            opts = {"commitment": commitment, "encoding": "base64"}
            result = await self.call(method, [chunk, opts])
            with self._parsing(method):
                value = t.context_value(method, result)
                if not isinstance(value, list) or len(value) != len(chunk):
                    raise RpcBadReply(f"malformed {method} reply: expected {len(chunk)} accounts")
                accounts.extend(t.parse_account_info(method, v) for v in value)
        return accounts

    async def get_token_account_balance(
        self, pubkey: Pubkey, commitment: str = "processed"
    ) -> int | None:
        """Raw token amount of a token account; None when the account does not exist.

        Nodes answer a missing account with -32602 "could not find account" rather than a null
        value, so that one error is translated to None here.
        """
        method = "getTokenAccountBalance"
        try:
            result = await self.call(method, [str(pubkey), {"commitment": commitment}])
        except RpcError as exc:
            if exc.code == INVALID_PARAMS and "could not find account" in exc.message.lower():
                return None
            raise
        with self._parsing(method):
            value = t.context_value(method, result)
            if value is None:
                return None
            if not isinstance(value, dict):
                raise RpcBadReply(f"malformed {method} reply: value is not an object")
            return t.amount(method, value.get("amount"))

    async def get_token_accounts_by_owner(
        self, owner: Pubkey, *, program_id: Pubkey, commitment: str = "confirmed"
    ) -> list[TokenAccount]:
        """Every token account of `program_id` (SPL Token or Token-2022) that `owner` holds.

        Asked as `jsonParsed` (which carries `decimals`); a node answers base64 for an
        account it cannot parse, and those are decoded here with `decimals=None`.
        """
        method = "getTokenAccountsByOwner"
        opts = {"commitment": commitment, "encoding": "jsonParsed"}
        result = await self.call(method, [str(owner), {"programId": str(program_id)}, opts])
        with self._parsing(method):
            return t.parse_token_accounts(result)

    async def get_signatures_for_address(
        self,
        address: Pubkey,
        *,
        before: Signature | None = None,
        until: Signature | None = None,
        limit: int = _MAX_SIGNATURES_FOR_ADDRESS,
        commitment: str = "confirmed",
    ) -> list[SignatureInfo]:
        """Signatures of transactions that touched `address`, newest first, one page.

        Searches back from `before` (exclusive; newest if None) down to `until` (exclusive),
        at most `limit` (1..1000) of them; page on by passing the last one as `before`.
        Solana answers only at "confirmed" or "finalized".
        """
        if not 1 <= limit <= _MAX_SIGNATURES_FOR_ADDRESS:
            raise ValueError(f"limit must be in 1..{_MAX_SIGNATURES_FOR_ADDRESS}, not {limit}")
        method = "getSignaturesForAddress"
        opts: dict[str, Any] = {"commitment": commitment, "limit": limit}
        if before is not None:
            opts["before"] = str(before)
        if until is not None:
            opts["until"] = str(until)
        result = await self.call(method, [str(address), opts])
        with self._parsing(method):
            infos = t.parse_signature_infos(result)
            if len(infos) > limit:
                raise RpcBadReply(f"malformed {method} reply: {len(infos)} entries > {limit}")
            return infos

    async def get_genesis_hash(self) -> str:
        """The cluster's genesis hash (base58): tells mainnet, devnet and a simulator apart."""
        result = await self.call("getGenesisHash", [])
        with self._parsing("getGenesisHash"):
            return t.parse_genesis_hash(result)

    async def send_transaction(
        self,
        raw: bytes | str,
        *,
        skip_preflight: bool = True,
        max_retries: int | None = 0,
        after_write: Callable[[], None] | None = None,
    ) -> Signature:
        """Submit signed transaction bytes; return the signature the node reports.

        `raw`: the bytes, or their base64 text as an order keeps them (sent as is).
        `max_retries=0` stops the node from re-sending on its own: `Confirmer` rebroadcasts
        the same bytes itself, on a schedule it controls. None leaves the node's default.
        `after_write`: called by the direct sender right after a request's bytes are
        written, before its reply is read (every write: a retry's and each fan-out
        endpoint's too, so it must be idempotent); the httpx path never calls it.
        """
        params = _send_params(raw, skip_preflight, max_retries)
        if self.send_endpoints:
            return await self._fan_out(params, after_write)
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": "sendTransaction"}
        request["params"] = params
        return self._signature(await self._send(request, ["sendTransaction"], after_write))

    def _signature(self, body: Any) -> Signature:
        result = self._result(body, "sendTransaction")
        with self._parsing("sendTransaction"):
            return t.signature("sendTransaction", result)

    async def write_transaction(
        self, raw: str, *, after_write: Callable[[], None] | None = None
    ) -> SendInFlight | None:
        """`send_transaction`'s request (its defaults) written now, its reply left to
        `finish_transaction`: the caller goes on before the round trip (``trio_trader``:
        the listener's task writes the BUY, its position task reads the reply).

        With `send_endpoints`, written at once on every endpoint that can take it, the
        others sent by a task each (`fanout.start_fan_out`), all started here. None when
        it cannot be written at once anywhere, nothing sent (`send_transaction` then): no
        direct sender, a request budget with no token to spare, or no kept-alive
        connection (opening one is a round trip). `after_write` as `send_transaction`'s.
        """
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": "sendTransaction"}
        request["params"] = _send_params(raw, True, 0)
        content = untrusted.dumps(request)
        if self.send_endpoints:
            fan = await self._start_fan_out(content, after_write, written_or_nothing=True)
            return SendInFlight(raw, fan=fan) if fan.written else None
        exchange = await self._write_now(self.endpoint, content, after_write)
        return None if exchange is None else SendInFlight(raw, exchange)

    async def _write_now(
        self, endpoint: str, content: bytes, after_write: Callable[[], None] | None
    ) -> Exchange | None:
        """`content` written on a kept-alive connection to `endpoint` now, with a budget
        token to spare; None (nothing sent, no token taken) when it cannot be."""
        sender, budget = self.sender, self._budget
        if sender is None or not sender.idle_connections(endpoint):
            return None
        if budget is not None and not budget.try_acquire():
            return None
        self.stats.requests_sent += 1  # an attempt, as `_post_once` counts them
        self.stats.by_method["sendTransaction"] += 1
        return await sender.write_now(endpoint, content, after_write=after_write)

    async def finish_transaction(
        self, sent: SendInFlight, *, after_write: Callable[[], None] | None = None
    ) -> Signature:
        """The signature the node reports for the request `write_transaction` wrote
        (a fan-out's: its outcome, as `send_transaction` decides it).

        Raises as `send_transaction`. A reply that asks for a retry (rate limited,
        unavailable, the connection closed before any reply) sends the same bytes again
        the usual way, with `send_transaction`'s own retries: a signed transaction lands
        once at most, however often it is sent.
        """
        if sent.fan is not None:  # every branch retries on its own endpoint
            return await sent.fan.result()
        assert sent.exchange is not None
        endpoint = sent.exchange.endpoint.url
        try:
            body = await self._reply_of(sent.exchange)
        except (RpcRateLimited, RpcUnavailable) as exc:
            if isinstance(exc, RpcUnavailable) and self._current == self.endpoints.index(endpoint):
                self._rotate()
            await self._pause_before_resend(exc, endpoint, self._backoff(0), at_once=True)
            return await self.send_transaction(sent.raw, after_write=after_write)
        return self._signature(body)

    async def _reply_of(self, exchange: Exchange) -> Any:
        """The decoded reply to a request `_write_now` wrote (`_direct_reply`'s checks)."""
        assert self.sender is not None
        try:
            reply = await self.sender.reply(exchange)
        except RpcReplyTooLarge as exc:
            raise self._counted(exc) from None
        return self._direct_reply(reply, exchange.endpoint.url)

    async def _fan_out(
        self, params: list[Any], after_write: Callable[[], None] | None
    ) -> Signature:
        """The same request to every send endpoint at once; see `fanout.start_fan_out`."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": "sendTransaction"}
        request["params"] = params
        fan = await self._start_fan_out(untrusted.dumps(request), after_write)
        return await fan.result()

    async def _start_fan_out(
        self,
        content: bytes,
        after_write: Callable[[], None] | None,
        *,
        written_or_nothing: bool = False,
    ) -> FanOut:
        """`content` written at once where it can be, a task per endpoint started
        (`written_or_nothing`: none when nothing could be written)."""
        if self._background is None:
            raise RuntimeError("RpcClient is used outside `async with`")
        send = functools.partial(self._send_to, after_write=after_write)
        # The hook once after every write at once, not after the first: it is the row
        # (~0.2 ms cold), which must follow the bytes, not hold the next endpoint's back.
        write = functools.partial(self._write_now, after_write=None)
        fan = await start_fan_out(
            self._background, self.send_endpoints, send, content, self.stats.sends,
            write=write, written_or_nothing=written_or_nothing,
        )  # fmt: skip
        if fan.written and after_write is not None:
            after_write()
        return fan

    async def _send_to(
        self,
        endpoint: str,
        content: bytes,
        early: Exchange | None = None,
        after_write: Callable[[], None] | None = None,
    ) -> Signature:
        """One fan-out branch: the reply to the `early` exchange (written at once), or the
        request sent; `_send`'s retries of rate limits and unavailability, on `endpoint`
        alone (the other endpoints are being tried already).

        An early exchange that asks for a retry is sent again as `finish_transaction`
        does, then with the usual retries: unavailable at once (most often the keep-alive
        race, which `H11Sender.post` retries at once too), rate limited after the wait."""
        if early is not None:
            try:
                return self._signature(await self._reply_of(early))
            except (RpcRateLimited, RpcUnavailable) as exc:
                await self._pause_before_resend(exc, endpoint, self._backoff(0), at_once=True)
        method = ["sendTransaction"]
        for attempt in itertools.count():
            if self._budget is not None:
                await self._budget.acquire()
            try:
                body = await self._post_once(endpoint, content, method, after_write)
                return self._signature(body)
            except (RpcRateLimited, RpcUnavailable) as exc:
                if attempt >= self.max_retries:
                    if isinstance(exc, RpcRateLimited):
                        self.stats.rate_limited += 1
                    raise
                await self._pause_before_resend(exc, endpoint, self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pause_before_resend(
        self,
        exc: RpcRateLimited | RpcUnavailable,
        endpoint: str,
        backoff: float,
        *,
        at_once: bool = False,
    ) -> None:
        """Count a retry of `sendTransaction` on `endpoint` and wait for it: what a rate
        limit asks for (its `Retry-After`, else `backoff`); unavailable, `backoff` (none
        `at_once`)."""
        if isinstance(exc, RpcRateLimited):
            self.stats.rate_limited += 1
            delay = exc.retry_after if exc.retry_after is not None else backoff
        else:
            delay = 0.0 if at_once else backoff
        self.stats.retries += 1
        logger.warning("sendTransaction to %s: %s; retrying in %.2fs", endpoint, exc, delay)
        await trio.sleep(delay)

    def send_report(self) -> dict[str, dict[str, Any]]:
        """Per send endpoint: acceptances (and first ones), refusals, unclear, latency."""
        return {url: sends.summary() for url, sends in self.stats.sends.items()}

    async def simulate_transaction(self, raw: bytes) -> dict[str, Any]:
        """`simulateTransaction`'s value (`err`, `logs`, `unitsConsumed`, …); sigs unchecked.

        Only `err` is checked (a `TransactionError`-sized value or None); the rest is the
        node's, as untrusted as it came.
        """
        method = "simulateTransaction"
        opts = {"encoding": "base64", "commitment": "processed", "sigVerify": False}
        result = await self.call(method, [base64.b64encode(raw).decode(), opts])
        with self._parsing(method):
            value = t.context_value(method, result)
            if not isinstance(value, dict):
                raise RpcBadReply(f"malformed {method} reply: value is not an object")
            t.transaction_err(method, value.get("err"))
            return value

    async def get_signature_statuses(
        self, sigs: Sequence[Signature], *, search_history: bool = False
    ) -> list[SignatureStatus | None]:
        """Statuses in the order of `sigs`; None for a signature the node does not know.

        Without `search_history` a node answers from its recent status cache only (about
        150 slots, a minute): an older transaction is None there although it landed. With
        it, the node also searches its ledger: slower, but the only way to find a
        transaction that landed while we were down.
        """
        method = "getSignatureStatuses"
        statuses: list[SignatureStatus | None] = []
        for start in range(0, len(sigs), _MAX_SIGNATURE_STATUSES):
            chunk = [str(s) for s in sigs[start : start + _MAX_SIGNATURE_STATUSES]]
            params: list[Any] = [chunk]
            if search_history:
                params.append({"searchTransactionHistory": True})
            result = await self.call(method, params)
            with self._parsing(method):
                value = t.context_value(method, result)
                if not isinstance(value, list) or len(value) != len(chunk):
                    raise RpcBadReply(f"malformed {method} reply: expected {len(chunk)} statuses")
                statuses.extend(t.parse_signature_status(v) for v in value)
        return statuses

    async def get_transaction(
        self, sig: Signature, commitment: str = "confirmed"
    ) -> TransactionInfo | None:
        """The executed transaction, or None if the node does not have it (yet)."""
        opts = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": commitment}
        result = await self.call("getTransaction", [str(sig), opts])
        with self._parsing("getTransaction"):
            return t.parse_transaction(result)

    async def get_recent_prioritization_fees(self, accounts: Iterable[Pubkey] = ()) -> list[int]:
        """Per-slot minimum priority fees (micro-lamports per CU) of recent slots."""
        method = "getRecentPrioritizationFees"
        result = await self.call(method, [[str(a) for a in accounts]])
        with self._parsing(method):
            if not isinstance(result, list):
                raise RpcBadReply(f"malformed {method} reply: expected a list")
            fees = []
            for entry in result:
                fee = entry.get("prioritizationFee") if isinstance(entry, dict) else None
                fees.append(t.u64(method, fee))
            return fees

    async def request_airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """Ask a test node for lamports; return the airdrop's signature."""
        result = await self.call("requestAirdrop", [str(pubkey), lamports])
        with self._parsing("requestAirdrop"):
            return t.signature("requestAirdrop", result)

    async def get_minimum_balance_for_rent_exemption(self, size: int) -> int:
        """Lamports an account of `size` data bytes needs to be rent exempt."""
        return await self._u64("getMinimumBalanceForRentExemption", [size])


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it arrives (none left if it was in memory from the start)."""
    if not response.is_stream_consumed:
        async for chunk in response.aiter_raw():
            yield chunk


@attrs.frozen(eq=False)
class SendInFlight:
    """A `sendTransaction` written by `RpcClient.write_transaction`, its reply unread:
    one endpoint's `exchange`, or a `fan` out to the send endpoints (its branches running).
    """

    raw: str
    exchange: Exchange | None = None
    fan: FanOut | None = None


def _send_params(raw: bytes | str, skip_preflight: bool, max_retries: int | None) -> list[Any]:
    """`sendTransaction`'s params: the base64 bytes and the options."""
    opts: dict[str, Any] = {
        "encoding": "base64",
        "skipPreflight": skip_preflight,
        "preflightCommitment": "processed",
    }
    if max_retries is not None:
        opts["maxRetries"] = max_retries
    encoded = raw if isinstance(raw, str) else base64.b64encode(raw).decode()
    return [encoded, opts]


def _check_status(status: int, retry_after: float | None, endpoint: str) -> None:
    if status == 429:
        raise RpcRateLimited(f"{endpoint}: HTTP 429", code=429, retry_after=retry_after)
    if status >= 500:
        raise RpcUnavailable(f"{endpoint}: HTTP {status}")


def _is_id(value: object) -> bool:
    """Our request ids are ints; a reply's id of another type (a list is not even hashable)
    answers nothing of ours."""
    return isinstance(value, int) and not isinstance(value, bool)


_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: the direct reads' bounds: httpx's defaults (100 connections, 20 kept alive), kept
_READS_IN_FLIGHT = 100
_READS_KEPT_ALIVE = 20


class _Body(httpx.AsyncByteStream):
    """A request body that is a plain async iterator rather than an async generator.

    The confirmer cancels its losing requests mid-flight. httpx's own body stream is an
    async generator, and one abandoned half-sent is finalised by the garbage collector
    later, which Trio reports as a ResourceWarning. A plain iterator has nothing to finalise.
    """

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self._body is None:
            raise StopAsyncIteration
        body, self._body = self._body, None
        return body
