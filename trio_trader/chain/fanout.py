"""The same signed bytes to several send endpoints at once (RPC nodes, a block engine's
JSON-RPC `sendTransaction`): a fan-out, first acceptance wins.

`start_fan_out` writes the request at once, in the caller's task, on every endpoint with an
idle kept-alive connection (`sender.H11Sender.write_now`, behind the caller's budget), before
any task is started: the caller's bytes leave without a pass through the scheduler first
(the listener's task writes an extreme fast BUY so, the seller's task a SELL). Then a task per
endpoint reads its reply (`H11Sender.reply`), or sends the whole request where nothing could
be written at once (no idle connection, no budget token); `FanOut.result` decides as soon as
one accepts. The slower endpoints still finish in the background, so the bytes reach every
one and each is counted in its `EndpointSends`.

Between two endpoints' writes lies the scheduling point that ends Trio's `send_all` (shielded:
other ready tasks run, no cancellation is raised there): the endpoints' bytes leave in the
order listed, each one pass after the one before.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import trio
from solders.signature import Signature

from .errors import RpcError, RpcUnavailable, TransactionError
from .sender import Exchange

__all__ = ["ALREADY_PROCESSED", "EndpointSends", "FanOut", "start_fan_out"]

logger = logging.getLogger(__name__)

ALREADY_PROCESSED = "AlreadyProcessed"  # a refusal that means these very bytes landed
_LATENCY_SAMPLES = 1000


@attrs.define(eq=False)
class EndpointSends:
    """One send endpoint's record: what it answered to each fanned-out transaction.

    `accepted` counts acceptances, `first` those that came before every other endpoint's;
    `refused` definite refusals (`TransactionError`), `unclear` the rest (no answer, 5xx
    after retries, a bad reply). Latency (ms, send to acceptance) is kept for the last 1000.
    """

    sent: int = 0
    accepted: int = 0
    first: int = 0
    refused: int = 0
    unclear: int = 0
    latency_ms: deque[float] = attrs.field(factory=lambda: deque(maxlen=_LATENCY_SAMPLES))

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latency_ms)
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "first": self.first,
            "refused": self.refused,
            "unclear": self.unclear,
            "accept_ms_p50": _quantile(ordered, 0.5),
            "accept_ms_p99": _quantile(ordered, 0.99),
        }


def _quantile(ordered: Sequence[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


#: an endpoint's request written at once (`H11Sender.write_now` behind the caller's budget):
#: its exchange, or None when it cannot be (nothing sent: a task sends it)
WriteNow = Callable[[str, bytes], Awaitable[Exchange | None]]
#: one endpoint's whole send: the reply to its exchange written at once (then retries), or
#: the request sent from the start when the exchange is None
SendFrom = Callable[[str, bytes, Exchange | None], Awaitable[Signature]]


@attrs.define(eq=False)
class FanOut:
    """One transaction fanned out: each endpoint's branch reports here, `result` decides.

    `written`: how many endpoints had the request written at once by the caller's task.
    """

    endpoints: Sequence[str]
    stats: dict[str, EndpointSends]
    written: int = 0
    _accepted: list[Signature] = attrs.field(init=False, factory=list)
    _errors: list[BaseException] = attrs.field(init=False, factory=list)
    _remaining: int = attrs.field(init=False)
    _decided: trio.Event = attrs.field(init=False, factory=trio.Event)

    def __attrs_post_init__(self) -> None:
        self._remaining = len(self.endpoints)

    async def result(self) -> Signature:
        """The first acceptance, as soon as it comes. Without one: if every endpoint
        refused (`TransactionError`), that refusal (an `AlreadyProcessed` one first: these
        bytes landed); otherwise the outcome is unclear and an `RpcUnavailable` says so:
        the transaction may have reached a node, and the caller must treat it as maybe sent.
        """
        await self._decided.wait()
        if self._accepted:
            return self._accepted[0]
        errors = self._errors
        refusals = [e for e in errors if isinstance(e, TransactionError)]
        if refusals and len(refusals) == len(errors):
            landed = [e for e in refusals if e.name == ALREADY_PROCESSED]
            raise (landed or refusals)[0]
        if len(errors) == 1 and isinstance(errors[0], RpcError):
            raise errors[0]  # one endpoint: its own error, type and all
        reasons = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        count = len(self.endpoints)
        raise RpcUnavailable(f"sendTransaction unclear on {count} endpoint(s): {reasons}")

    async def branch(
        self, endpoint: str, send: SendFrom, content: bytes, early: _Written | None
    ) -> None:
        """One endpoint's send to its end, counted in its `EndpointSends` (`sent` was
        counted at the write when `early`; latency runs from the write)."""
        record = self.stats.setdefault(endpoint, EndpointSends())
        if early is None:
            record.sent += 1
            exchange, started = None, trio.current_time()
        else:
            exchange, started = early
        try:
            signature = await send(endpoint, content, exchange)
        except TransactionError as exc:
            record.refused += 1
            self._errors.append(exc)
        except Exception as exc:  # a branch must never take the client's nursery down
            record.unclear += 1
            self._errors.append(exc)
            if not isinstance(exc, RpcError):
                logger.error("sendTransaction to %s failed unexpectedly", endpoint, exc_info=True)
        except BaseException as exc:  # cancelled at shutdown: unclear, and let it through
            record.unclear += 1
            self._errors.append(exc)
            raise
        else:
            record.accepted += 1
            record.latency_ms.append((trio.current_time() - started) * 1e3)
            if not self._accepted:
                record.first += 1
            self._accepted.append(signature)
        finally:
            self._remaining -= 1
            if self._accepted or self._remaining == 0:
                self._decided.set()


#: an endpoint's exchange written at once and `trio.current_time()` just before the write
_Written = tuple[Exchange, float]


async def start_fan_out(
    background: trio.Nursery,
    endpoints: Sequence[str],
    send: SendFrom,
    content: bytes,
    stats: dict[str, EndpointSends],
    *,
    write: WriteNow | None = None,
    written_or_nothing: bool = False,
) -> FanOut:
    """The request written at once, in the caller's task, on every endpoint `write` can
    (an idle kept-alive connection, a budget token), before any task is started; then a
    task per endpoint in `background`: the reply read for those written, the whole send
    for the others. `FanOut.result` collects them.

    Each write is followed by the scheduling point that ends Trio's `send_all` (other
    tasks may run before the next endpoint's write), so a cancellation can come between
    two writes. Once the bytes are out somewhere every endpoint must still get them and
    every write be counted: the branches are started all the same and the cancellation
    is left to the caller's next checkpoint (its scope stays cancelled), so the caller
    gets the `FanOut` to collect. Cancelled before any write: nothing sent, raised.

    `written_or_nothing`: when no endpoint could be written at once, start no task either
    (nothing sent, `FanOut.written` 0): the caller sends the usual way later.
    """
    fan = FanOut(endpoints, stats)
    written: dict[str, _Written] = {}
    try:
        for endpoint in endpoints if write is not None else ():
            assert write is not None
            at = trio.current_time()
            try:
                exchange = await write(endpoint, content)
            except Exception:  # a hook's bug: this endpoint is sent by its task instead
                logger.exception("sendTransaction to %s: the write at once failed", endpoint)
                continue
            if exchange is not None:
                stats.setdefault(endpoint, EndpointSends()).sent += 1
                written[endpoint] = (exchange, at)
    except trio.Cancelled:
        if not written:
            raise
    fan.written = len(written)
    if written_or_nothing and not written:
        return fan
    for endpoint in endpoints:
        background.start_soon(fan.branch, endpoint, send, content, written.get(endpoint))
    return fan
