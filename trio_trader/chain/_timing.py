"""Back-off and request budgets on Trio's clock, shared by the RPC and pubsub clients.

Both use `trio.current_time()`/`trio.sleep` only, so tests drive them with `MockClock`.
"""

from __future__ import annotations

import random

import attrs
import trio

__all__ = ["TokenBucket", "backoff_delay"]


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential back-off with "full jitter": uniform in [d/2, d], d = min(cap, base·2^attempt).

    Jitter spreads the retries of many clients (or many of our tasks) that failed together, so
    a recovering node is not hit by a synchronised wave; keeping the lower half guarantees the
    delay still grows.
    """
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return rng.uniform(ceiling / 2, ceiling)


@attrs.define(eq=False)
class TokenBucket:
    """A request budget: at most `burst` at once, refilled at `rate` tokens per second.

    `acquire` is fair (FIFO through a lock): a task that arrived first is served first, so a
    burst of callers is spaced 1/rate apart instead of racing for each refill.
    """

    rate: float
    burst: int = 1
    _tokens: float = attrs.field(init=False)
    _updated: float | None = attrs.field(init=False, default=None)
    _lock: trio.Lock = attrs.field(init=False, factory=trio.Lock)

    def __attrs_post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"a request budget needs rate > 0 and burst ≥ 1, not {self}")
        self._tokens = float(self.burst)

    def _refill(self) -> None:
        now = trio.current_time()
        if self._updated is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self) -> bool:
        """Spend a token if one is to spare and nobody waits (never yields); False if not."""
        if self._lock.locked():  # somebody is ahead: taking it now would jump the queue
            return False
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def acquire(self) -> None:
        """Wait until one request may be sent, and spend its token.

        With a token to spare and nobody waiting, it is spent without yielding: a
        `sendTransaction` under a budget goes out before any other task runs.
        """
        if self.try_acquire():
            return
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await trio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
