"""Token detection from ``blockSubscribe`` (an alternative to ``logsSubscribe``).

A block notification carries whole transactions with their ``meta.logMessages``; each
successful one is decoded exactly like a logs notification, so the outputs are the same.
Transactions may come base64-encoded (``["<b64>", "base64"]``) or as JSON with
``signatures``; both are read.
"""

from __future__ import annotations

import base64
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import attrs
import trio
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from trio_trader.chain.pubsub import PubsubClient, Subscription
from trio_trader.chain.untrusted import preview
from trio_trader.pump.addresses import PUMP_PROGRAM_ID

from .decode import Malformed, decode_transaction, field, log_lines, optional_slot
from .logs import ListenerStats, PriceSink, TokenSink, _dispatch, run_listener

log = logging.getLogger(__name__)


def _signature(tx: object) -> str:
    """The first signature of a block's transaction: `["<b64>", "base64"]` or JSON."""
    if isinstance(tx, list) and len(tx) == 2 and tx[1] == "base64" and isinstance(tx[0], str):
        try:
            signatures = VersionedTransaction.from_bytes(base64.b64decode(tx[0])).signatures
        except Exception:  # binascii.Error, or solders' own error types for bad bytes
            raise Malformed("transaction bytes do not decode") from None
        if signatures:
            return str(signatures[0])
    elif isinstance(tx, dict):
        listed = tx.get("signatures")
        if isinstance(listed, list) and listed and isinstance(listed[0], str):
            return listed[0]
    raise Malformed("transaction has no readable signature")


@attrs.define(eq=False)
class BlockListener:
    """``blockSubscribe(mentions=[pump program])`` → new tokens and price updates."""

    pubsub: PubsubClient
    program: Pubkey = PUMP_PROGRAM_ID
    commitment: str = "confirmed"
    stats: ListenerStats = attrs.field(factory=ListenerStats)

    def subscription(self) -> AbstractAsyncContextManager[Subscription]:
        return self.pubsub.block_subscribe(self.program, commitment=self.commitment)

    async def run(
        self,
        on_token: TokenSink,
        on_price: PriceSink,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Subscribe and hand every event to the sinks (which must not block) until cancelled."""
        await run_listener(self, on_token, on_price, task_status=task_status)

    def handle(self, item: Any, on_token: TokenSink, on_price: PriceSink) -> None:
        """Process one block notification; a bad transaction skips only itself."""
        self.stats.notifications += 1
        try:
            value = field(item, "value", dict)
            slot = optional_slot(value.get("slot"))
            block = value.get("block") or {}
            if not isinstance(block, dict):
                raise Malformed("'block' is not an object")
            txs = field(block, "transactions", list) if block.get("transactions") else []
        except Malformed as exc:
            self.stats.malformed += 1
            log.warning("skipping malformed block notification (%s): %s", exc, preview(item))
            return
        now = trio.current_time()
        for entry in txs:
            try:
                meta = field(entry, "meta", dict)
                if meta.get("err") is not None:
                    self.stats.failed_txs += 1
                    continue
                logs = log_lines(meta.get("logMessages"))
                signature = _signature(field(entry, "transaction", object))
            except Malformed as exc:
                self.stats.malformed += 1
                log.warning("skipping malformed transaction in block %s (%s)", slot, exc)
                continue
            tokens, prices = decode_transaction(logs, signature=signature, slot=slot, seen_at=now)
            _dispatch(self.stats, tokens, prices, on_token, on_price)
