"""JSON-RPC over HTTP to any Solana node, on one long-lived `httpx.AsyncClient`.

httpx runs on Trio through anyio, and one client keeps the TCP/TLS connections warm: on the
hot path (a BUY) a fresh TLS handshake costs more than the request itself.

Failures are handled here so callers see only what survived the retries:

- HTTP 429 or JSON-RPC -32429 → wait `Retry-After` (or the back-off when absent) and retry the
  same endpoint: the quota is the server's to state, and other endpoints share our identity.
- HTTP 5xx, connection errors, -32005 "node unhealthy" → rotate to the next endpoint, with a
  jittered exponential back-off once every endpoint has failed during this call.
- Anything else (bad params, preflight failure, malformed reply) → raised at once.

`stats` counts HTTP requests actually sent (a batch is one), which is what a provider bills.
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self

import attrs
import httpx
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from . import types as t
from ._timing import TokenBucket, backoff_delay
from .errors import (
    INVALID_PARAMS,
    RpcError,
    RpcRateLimited,
    RpcUnavailable,
    error_from_rpc,
)
from .types import AccountInfo, SignatureStatus, TransactionInfo

__all__ = ["RpcClient", "RpcStats"]

logger = logging.getLogger(__name__)

_MAX_MULTIPLE_ACCOUNTS = 100  # getMultipleAccounts' limit per request
_MAX_SIGNATURE_STATUSES = 256  # getSignatureStatuses' limit per request


def _endpoint_tuple(endpoints: Iterable[str]) -> tuple[str, ...]:
    """attrs converter, typed so that callers may pass any iterable of URLs."""
    return tuple(endpoints)


@attrs.define(eq=False)
class RpcStats:
    """Counters of what the client sent; `requests_sent` counts HTTP requests, retries included."""

    requests_sent: int = 0
    by_method: Counter[str] = attrs.field(factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    failovers: int = 0


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
    """

    endpoints: tuple[str, ...] = attrs.field(converter=_endpoint_tuple)
    requests_per_second: float | None = attrs.field(default=None, kw_only=True)
    max_retries: int = attrs.field(default=5, kw_only=True)
    transport: httpx.AsyncBaseTransport | None = attrs.field(default=None, kw_only=True)
    burst: int = attrs.field(default=1, kw_only=True)
    backoff_base: float = attrs.field(default=0.1, kw_only=True)
    backoff_max: float = attrs.field(default=5.0, kw_only=True)
    seed: int | None = attrs.field(default=None, kw_only=True)
    stats: RpcStats = attrs.field(init=False, factory=RpcStats)
    _current: int = attrs.field(init=False, default=0)
    _client: httpx.AsyncClient | None = attrs.field(init=False, default=None)
    _budget: TokenBucket | None = attrs.field(init=False, default=None)
    _ids: itertools.count[int] = attrs.field(init=False, factory=lambda: itertools.count(1))
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if not self.endpoints:
            raise ValueError("RpcClient needs at least one endpoint")
        if self.requests_per_second is not None:
            self._budget = TokenBucket(self.requests_per_second, self.burst)
        self._rng = random.Random(self.seed)

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
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # ----------------------------------------------------------------- transport and retries

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        """Send one request and return its `result`.

        Raises:
            RpcRateLimited, RpcUnavailable: still failing after `max_retries` retries.
            TransactionError: a preflight failure (-32002) with its simulation `err`.
            RpcError: any other error member, or a malformed reply.
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
                raise error_from_rpc(body["error"])
            raise RpcError(f"malformed batch reply: expected a list, got {type(body).__name__}")
        by_id = {r.get("id"): r for r in body if isinstance(r, dict)}
        missing = [m for i, (m, _) in zip(ids, calls, strict=True) if i not in by_id]
        if missing:
            raise RpcError(f"malformed batch reply: no response for {missing}")
        return [self._result(by_id[i], m) for i, (m, _) in zip(ids, calls, strict=True)]

    @staticmethod
    def _result(body: Any, method: str) -> Any:
        if not isinstance(body, dict):
            raise RpcError(f"malformed {method} reply: expected an object")
        if "error" in body:
            raise error_from_rpc(body["error"])
        if "result" not in body:
            raise RpcError(f"malformed {method} reply: neither 'result' nor 'error'")
        return body["result"]

    async def _send(self, payload: Any, methods: list[str]) -> Any:
        """POST `payload`, retrying rate limits and unavailability; return the decoded JSON."""
        if self._client is None:
            raise RuntimeError("RpcClient is used outside `async with`")
        content = json.dumps(payload).encode()
        failed_here: set[int] = set()
        for attempt in itertools.count():
            if self._budget is not None:
                await self._budget.acquire()
            index = self._current
            try:
                return await self._post_once(index, content, methods)
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

    async def _post_once(self, index: int, content: bytes, methods: list[str]) -> Any:
        assert self._client is not None
        endpoint = self.endpoints[index]
        self.stats.requests_sent += 1
        self.stats.by_method.update(methods)
        try:
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
            response = await self._client.send(request)
        except httpx.TransportError as exc:
            raise RpcUnavailable(f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        retry_after = _retry_after(response.headers.get("retry-after"))
        if response.status_code == 429:
            raise RpcRateLimited(f"{endpoint}: HTTP 429", code=429, retry_after=retry_after)
        if response.status_code >= 500:
            raise RpcUnavailable(f"{endpoint}: HTTP {response.status_code}")
        try:
            body = json.loads(response.content)
        except ValueError:
            what = "an error page" if response.status_code >= 400 else "a malformed reply"
            raise RpcError(
                f"{what} from {endpoint} (HTTP {response.status_code}), not JSON: "
                f"{response.content[:80]!r}",
                code=response.status_code if response.status_code >= 400 else None,
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
        if response.status_code >= 400 and not isinstance(body, dict | list):
            raise RpcError(f"{endpoint}: HTTP {response.status_code}", code=response.status_code)
        return body

    # ----------------------------------------------------------------------- typed methods

    async def get_latest_blockhash(self, commitment: str = "processed") -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight) at `commitment`."""
        result = await self.call("getLatestBlockhash", [{"commitment": commitment}])
        return t.parse_latest_blockhash(result)

    async def _int(self, method: str, params: list[Any]) -> int:
        result = await self.call(method, params)
        if not isinstance(result, int) or isinstance(result, bool):
            raise RpcError(f"malformed {method} reply: {result!r:.80} is not an integer")
        return result

    async def get_block_height(self, commitment: str = "processed") -> int:
        """The current block height (the clock `lastValidBlockHeight` is measured on)."""
        return await self._int("getBlockHeight", [{"commitment": commitment}])

    async def get_slot(self, commitment: str = "processed") -> int:
        """The current slot at `commitment`."""
        return await self._int("getSlot", [{"commitment": commitment}])

    async def get_balance(self, pubkey: Pubkey, commitment: str = "processed") -> int:
        """Lamports held by `pubkey` (0 for an absent account)."""
        result = await self.call("getBalance", [str(pubkey), {"commitment": commitment}])
        value = t.context_value("getBalance", result)
        if not isinstance(value, int) or isinstance(value, bool):
            raise RpcError(f"malformed getBalance reply: {value!r:.80} is not an integer")
        return value

    async def get_account_info(
        self, pubkey: Pubkey, commitment: str = "processed"
    ) -> AccountInfo | None:
        """The account at `pubkey`, or None if it does not exist."""
        params = [str(pubkey), {"commitment": commitment, "encoding": "base64"}]
        result = await self.call("getAccountInfo", params)
        return t.parse_account_info("getAccountInfo", t.context_value("getAccountInfo", result))

    async def get_multiple_accounts(
        self, pubkeys: Sequence[Pubkey], commitment: str = "processed"
    ) -> list[AccountInfo | None]:
        """Accounts in the order of `pubkeys` (None where absent), 100 per request."""
        method = "getMultipleAccounts"
        accounts: list[AccountInfo | None] = []
        for start in range(0, len(pubkeys), _MAX_MULTIPLE_ACCOUNTS):
            chunk = [str(k) for k in pubkeys[start : start + _MAX_MULTIPLE_ACCOUNTS]]
            opts = {"commitment": commitment, "encoding": "base64"}
            value = t.context_value(method, await self.call(method, [chunk, opts]))
            if not isinstance(value, list) or len(value) != len(chunk):
                raise RpcError(f"malformed {method} reply: expected {len(chunk)} accounts")
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
        value = t.context_value(method, result)
        if value is None:
            return None
        amount = value.get("amount") if isinstance(value, dict) else None
        if not isinstance(amount, str) or not amount.isdigit():
            raise RpcError(f"malformed {method} reply: no integer 'amount'")
        return int(amount)

    async def send_transaction(
        self, raw: bytes, *, skip_preflight: bool = True, max_retries: int | None = 0
    ) -> Signature:
        """Submit signed transaction bytes; return the signature the node reports.

        `max_retries=0` stops the node from re-sending on its own: `Confirmer` rebroadcasts
        the same bytes itself, on a schedule it controls. None leaves the node's default.
        """
        opts: dict[str, Any] = {
            "encoding": "base64",
            "skipPreflight": skip_preflight,
            "preflightCommitment": "processed",
        }
        if max_retries is not None:
            opts["maxRetries"] = max_retries
        encoded = base64.b64encode(raw).decode()
        result = await self.call("sendTransaction", [encoded, opts])
        return t.signature("sendTransaction", result)

    async def simulate_transaction(self, raw: bytes) -> dict[str, Any]:
        """`simulateTransaction`'s value (`err`, `logs`, `unitsConsumed`, …); sigs unchecked."""
        opts = {"encoding": "base64", "commitment": "processed", "sigVerify": False}
        result = await self.call("simulateTransaction", [base64.b64encode(raw).decode(), opts])
        value = t.context_value("simulateTransaction", result)
        if not isinstance(value, dict):
            raise RpcError("malformed simulateTransaction reply: value is not an object")
        return value

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]:
        """Statuses in the order of `sigs`; None for a signature the node does not know."""
        method = "getSignatureStatuses"
        statuses: list[SignatureStatus | None] = []
        for start in range(0, len(sigs), _MAX_SIGNATURE_STATUSES):
            chunk = [str(s) for s in sigs[start : start + _MAX_SIGNATURE_STATUSES]]
            value = t.context_value(method, await self.call(method, [chunk]))
            if not isinstance(value, list) or len(value) != len(chunk):
                raise RpcError(f"malformed {method} reply: expected {len(chunk)} statuses")
            statuses.extend(t.parse_signature_status(v) for v in value)
        return statuses

    async def get_transaction(
        self, sig: Signature, commitment: str = "confirmed"
    ) -> TransactionInfo | None:
        """The executed transaction, or None if the node does not have it (yet)."""
        opts = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": commitment}
        return t.parse_transaction(await self.call("getTransaction", [str(sig), opts]))

    async def get_recent_prioritization_fees(self, accounts: Iterable[Pubkey] = ()) -> list[int]:
        """Per-slot minimum priority fees (micro-lamports per CU) of recent slots."""
        method = "getRecentPrioritizationFees"
        result = await self.call(method, [[str(a) for a in accounts]])
        if not isinstance(result, list):
            raise RpcError(f"malformed {method} reply: expected a list")
        fees = []
        for entry in result:
            fee = entry.get("prioritizationFee") if isinstance(entry, dict) else None
            if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
                raise RpcError(f"malformed {method} reply: bad prioritizationFee {fee!r:.40}")
            fees.append(fee)
        return fees

    async def request_airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """Ask a test node for lamports; return the airdrop's signature."""
        result = await self.call("requestAirdrop", [str(pubkey), lamports])
        return t.signature("requestAirdrop", result)

    async def get_minimum_balance_for_rent_exemption(self, size: int) -> int:
        """Lamports an account of `size` data bytes needs to be rent exempt."""
        return await self._int("getMinimumBalanceForRentExemption", [size])


_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


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
