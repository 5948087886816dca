"""Fault knobs of the simulated node.

A real Solana RPC endpoint is slow, reorders, drops, rate-limits and hangs up on
websockets; a bot that only ever met a perfect node has untested error paths. Every
misbehaviour the simulator can show is one field here, independently settable and
mutable while the node runs (tests flip a knob between two sends). All draws come
from the node's seeded ``random.Random`` so a run is reproducible.
"""

from __future__ import annotations

import random

import attrs

FINALIZE_DEPTH = 32
"""Slots after which a landed transaction is finalized (rooted), as on mainnet."""


@attrs.define(eq=False)
class Faults:
    """Misbehaviour of the node, its RPC server and its websocket server.

    Attributes:
        latency_min: least send→land delay, seconds of Trio time.
        latency_max: greatest send→land delay (uniformly drawn between the two).
        send_order_window: seconds within which one sender's transactions land in the
            order they were sent: a transaction whose fee payer sent another at most this
            long before lands no earlier than that one's drawn landing (its hold-back, below,
            aside). 0 (default): every delay is drawn independently, so a transaction sent
            milliseconds after another lands first half the time. See ``Node.submit``.
        reorder_probability: chance that a transaction is held back for an extra
            ``reorder_delay_min..reorder_delay_max`` seconds, so transactions sent
            after it land before it (the sender's window does not wait for a hold-back).
        drop_probability: chance that an accepted submission never lands (a later
            rebroadcast of the same bytes gets a fresh draw, as on a real cluster).
        rpc_429_rate: chance that an HTTP request is answered 429 with ``Retry-After``.
        retry_after: the ``Retry-After`` header value, whole seconds.
        rpc_5xx_rate: chance that an HTTP request is answered 503.
        ws_disconnect_rate: chance, checked at every slot for each open websocket,
            that the server drops the connection without a close handshake.
        confirm_depth: slots after landing before a transaction is "confirmed"
            (raise it to model slow confirmation); with the log-normal vote delay,
            the least delay.
        vote_delay_median: 0 (default) confirms every slot exactly ``confirm_depth``
            slots later; > 0 draws each slot's vote delay, in slots, from a log-normal
            distribution with this median (mainnet: ~1–2 slots with a long tail; see
            ``sim.latency``).
        vote_delay_sigma: the log-normal's shape (its log's standard deviation).
        vote_delay_max: the longest vote delay drawn, in slots.
        finalize_depth: slots after landing before it is "finalized".
        version1_rate: chance that a transaction the market sends is reported as a
            version-1 transaction (mainnet has carried them since 2026-09-15): a client
            that asks ``maxSupportedTransactionVersion`` 0 then gets ``-32015`` from
            ``getTransaction`` and an error notification, without a block, from
            ``blockSubscribe`` for its slot. The bytes stay v0/legacy; only the reported
            version changes. Only market transactions: a bot's own are never version 1.
    """

    latency_min: float = 0.0
    latency_max: float = 0.0
    send_order_window: float = 0.0
    reorder_probability: float = 0.0
    reorder_delay_min: float = 0.4
    reorder_delay_max: float = 1.2
    drop_probability: float = 0.0
    rpc_429_rate: float = 0.0
    retry_after: int = 1
    rpc_5xx_rate: float = 0.0
    ws_disconnect_rate: float = 0.0
    confirm_depth: int = 1
    finalize_depth: int = FINALIZE_DEPTH
    vote_delay_median: float = 0.0
    vote_delay_sigma: float = 0.6
    vote_delay_max: int = 64
    version1_rate: float = 0.0

    def draw_delay(self, rng: random.Random) -> float:
        """The send→land delay of one submission, including any reordering hold-back."""
        return self.draw_latency(rng) + self.draw_holdback(rng)

    def draw_latency(self, rng: random.Random) -> float:
        """The send→land delay of one submission, without the reordering hold-back."""
        low, high = sorted((max(0.0, self.latency_min), max(0.0, self.latency_max)))
        return rng.uniform(low, high) if high > low else low

    def draw_holdback(self, rng: random.Random) -> float:
        """The reordering fault's extra delay of one submission (0 when it does not strike)."""
        if self.reorder_probability > 0 and rng.random() < self.reorder_probability:
            lo, hi = sorted((self.reorder_delay_min, self.reorder_delay_max))
            return rng.uniform(lo, hi) if hi > lo else lo
        return 0.0

    def draw_drop(self, rng: random.Random) -> bool:
        return self.drop_probability > 0 and rng.random() < self.drop_probability

    def draw_http_fault(self, rng: random.Random) -> int | None:
        """HTTP status to answer instead of serving the request (429 / 503), or None."""
        if self.rpc_429_rate > 0 and rng.random() < self.rpc_429_rate:
            return 429
        if self.rpc_5xx_rate > 0 and rng.random() < self.rpc_5xx_rate:
            return 503
        return None

    def draw_ws_disconnect(self, rng: random.Random) -> bool:
        return self.ws_disconnect_rate > 0 and rng.random() < self.ws_disconnect_rate
