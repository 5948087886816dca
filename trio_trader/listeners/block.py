"""Token detection from ``blockSubscribe`` (an alternative to ``logsSubscribe``).

A block notification carries whole transactions with their ``meta.logMessages``; each
successful one is decoded exactly like a logs notification, so the outputs are the same.
Transactions may come base64-encoded (``["<b64>", "base64"]``) or as JSON with
``signatures``; both are read.

The subscription declares ``maxSupportedTransactionVersion: 0``, the newest version the
bot parses (``PubsubClient.block_subscribe``). Since 2026-09-15 mainnet blocks also hold
version-1 transactions, and a node then fails the *whole* notification instead of
leaving one transaction out: ``{"slot": s, "block": null, "err":
{"UnsupportedTransactionVersion": 1}}`` (agave ``rpc_subscriptions.rs``; the node retries
the slot on its next trigger, so the same slot may fail more than once). Every pump event
of that block is lost to this listener: each such notification is logged as a warning
with its slot and counted in :attr:`BlockStats.unreadable_blocks`, and the listener
carries on with the next block. ``logsSubscribe`` (the default listener) is not affected:
its notifications carry no encoded transaction.
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

from trio_trader.chain.pubsub import PubsubClient, Subscription, Urgent, urgent_all
from trio_trader.chain.untrusted import preview
from trio_trader.pump.addresses import PUMP_PROGRAM_ID

from .decode import Malformed, field, log_lines, optional_slot, read_transaction
from .logs import ListenerStats, PriceSink, TokenSink, _dispatch, run_listener
from .replay import CreateReplay

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class BlockStats(ListenerStats):
    """:class:`ListenerStats` plus the block notifications a node could not fill."""

    unreadable_blocks: int = 0
    last_unreadable_slot: int | None = None


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
    stats: BlockStats = attrs.field(factory=BlockStats)
    #: keep ``last_create`` (``[latency] rehearse_ms`` decodes it again)
    keeps_last_create: bool = False
    last_create: CreateReplay | None = None

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

    def handle(self, item: Any, on_token: TokenSink, on_price: PriceSink) -> Urgent | None:
        """Process one block notification; a bad transaction skips only itself. Returns
        the token sink's urgent work of every transaction, in order (``logs._dispatch``).

        A notification the node sent without its block (``err`` set, ``block`` null) is
        logged and counted, never skipped in silence: its pump events are lost.
        """
        self.stats.notifications += 1
        try:
            value = field(item, "value", dict)
            slot = optional_slot(value.get("slot"))
            err = value.get("err")
            block = value.get("block")
            if err is not None or block is None:
                self._unreadable(slot, err)
                return None
            if not isinstance(block, dict):
                raise Malformed("'block' is not an object")
            txs = field(block, "transactions", list) if block.get("transactions") else []
        except Malformed as exc:
            self.stats.malformed += 1
            log.warning("skipping malformed block notification (%s): %s", exc, preview(item))
            return None
        now = trio.current_time()
        urgent: list[Urgent] = []
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
            events = read_transaction(logs, signature=signature, slot=slot, seen_at=now)
            work = _dispatch(self.stats, events, on_token, on_price)
            if work is not None:
                urgent.append(work)
            if events.tokens and self.keeps_last_create:
                self.last_create = CreateReplay(logs, signature, slot)
        return urgent_all(urgent)

    def _unreadable(self, slot: int | None, err: object) -> None:
        """Count and log a notification without its block (``err`` is untrusted)."""
        self.stats.unreadable_blocks += 1
        if slot is not None:
            self.stats.last_unreadable_slot = slot
        version = err.get("UnsupportedTransactionVersion") if isinstance(err, dict) else None
        if isinstance(version, int) and not isinstance(version, bool):
            why = f"it holds a version-{version} transaction and the bot parses up to version 0"
        else:
            why = f"the node sent no block ({preview(err)})"
        log.warning(
            "block %s lost: %s; its pump events are missed (%d blocks lost so far)",
            slot,
            why,
            self.stats.unreadable_blocks,
        )
