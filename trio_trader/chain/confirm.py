"""Confirming a sent transaction: subscription raced against polling, with rebroadcast.

`Confirmer.confirm` runs, in one nursery whose first finisher cancels the rest:

- `signatureSubscribe` at "confirmed" (when a pubsub client is given): the fastest signal;
- `getSignatureStatuses` polling every `poll_interval`: the fallback when the socket is down
  or a notification is lost, and the one that notices expiry: once the block height passes
  the blockhash's `lastValidBlockHeight` and the node still does not know the signature, the
  transaction can never land → "expired";
- rebroadcast of the *same signed bytes* every `rebroadcast_interval`: `sendTransaction` is
  sent with `maxRetries: 0`, so re-sending is our job; identical bytes cannot land twice.

Then `getTransaction` gives the authoritative `meta.err`, fee and balance changes. A node may
answer null for a moment after reporting confirmation (its ledger lags its status cache), so
that call is retried a few times before giving up with `transaction=None`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import attrs
import trio

from .errors import RpcError
from .pubsub import PubsubClient
from .rpc import RpcClient
from .transactions import SignedTransaction
from .types import TransactionInfo

__all__ = ["Confirmation", "Confirmer"]

logger = logging.getLogger(__name__)

_CONFIRMED = frozenset({"confirmed", "finalized"})

Status = Literal["confirmed", "failed", "expired"]


@attrs.frozen
class Confirmation:
    """How a transaction ended. `err` is Solana's JSON error (None on success)."""

    status: Status
    slot: int | None
    err: object
    transaction: TransactionInfo | None
    rebroadcasts: int = 0


@attrs.frozen
class _Landed:
    slot: int | None
    err: object
    via: str


@attrs.define(eq=False)
class Confirmer:
    """Confirms transactions through `rpc` (and `pubsub`, if given)."""

    rpc: RpcClient
    pubsub: PubsubClient | None
    rebroadcast_interval: float = attrs.field(default=0.5, kw_only=True)
    poll_interval: float = attrs.field(default=0.4, kw_only=True)
    fetch_attempts: int = attrs.field(default=5, kw_only=True)

    async def confirm(
        self,
        signed: SignedTransaction,
        *,
        last_valid_block_height: int,
        block_height: Callable[[], int],
    ) -> Confirmation:
        """Wait until `signed` is confirmed, failed, or expired; never raises `RpcError`.

        Args:
            signed: the transaction already sent once by the caller.
            last_valid_block_height: of the blockhash it was signed with.
            block_height: the current block height (e.g. `BlockhashCache.block_height`).
        """
        landed: list[_Landed] = []
        rebroadcasts = [0]
        async with trio.open_nursery() as nursery:

            def finish(result: _Landed) -> None:
                if not landed:
                    landed.append(result)
                    nursery.cancel_scope.cancel()

            if self.pubsub is not None:
                nursery.start_soon(self._subscribe, self.pubsub, signed, finish)
            nursery.start_soon(
                self._poll, signed, last_valid_block_height, block_height, finish,
                # with a subscription racing it, a poll right after the send can only say
                # "unknown yet": start one interval later (saves a request per order)
                self.poll_interval if self.pubsub is not None else 0.0,
            )  # fmt: skip
            nursery.start_soon(self._rebroadcast, signed, rebroadcasts)
        result = landed[0]
        logger.info("%s: ended via %s at slot %s", signed.signature, result.via, result.slot)
        if result.via == "expiry":
            return Confirmation("expired", None, None, None, rebroadcasts[0])
        tx = await self._fetch(signed)
        err = tx.err if tx is not None else result.err
        slot = tx.slot if tx is not None else result.slot
        status: Status = "confirmed" if err is None else "failed"
        return Confirmation(status, slot, err, tx, rebroadcasts[0])

    async def _subscribe(
        self, pubsub: PubsubClient, signed: SignedTransaction, finish: Callable[[_Landed], None]
    ) -> None:
        try:
            async with pubsub.signature_subscribe(signed.signature, "confirmed") as sub:
                async for item in sub:
                    value = item.get("value") if isinstance(item, dict) else None
                    if not isinstance(value, dict) or "err" not in value:
                        logger.warning("odd signatureNotification %.200r; polling", item)
                        return
                    context = item.get("context")
                    slot = context.get("slot") if isinstance(context, dict) else None
                    finish(_Landed(slot if isinstance(slot, int) else None, value["err"], "pubsub"))
                    return
        except RpcError as exc:
            logger.warning("signatureSubscribe failed, polling only: %s", exc)

    async def _poll(
        self,
        signed: SignedTransaction,
        last_valid_block_height: int,
        block_height: Callable[[], int],
        finish: Callable[[_Landed], None],
        first_delay: float,
    ) -> None:
        await trio.sleep(first_delay)
        while True:
            # Read the height *before* the status: if the status is still unknown after the
            # height had passed, the transaction can no longer land.
            expired = block_height() > last_valid_block_height
            try:
                (status,) = await self.rpc.get_signature_statuses([signed.signature])
            except RpcError as exc:
                logger.warning("getSignatureStatuses failed: %s", exc)
            else:
                if status is not None and status.confirmation_status in _CONFIRMED:
                    finish(_Landed(status.slot, status.err, "polling"))
                    return
                if status is None and expired:
                    finish(_Landed(None, None, "expiry"))
                    return
            await trio.sleep(self.poll_interval)

    async def _rebroadcast(self, signed: SignedTransaction, count: list[int]) -> None:
        while True:
            await trio.sleep(self.rebroadcast_interval)
            try:
                await self.rpc.send_transaction(signed.raw)
            except RpcError as exc:  # e.g. "already processed": harmless
                logger.debug("rebroadcast of %s: %s", signed.signature, exc)
            count[0] += 1

    async def _fetch(self, signed: SignedTransaction) -> TransactionInfo | None:
        for attempt in range(self.fetch_attempts):
            try:
                tx = await self.rpc.get_transaction(signed.signature, "confirmed")
            except RpcError as exc:
                logger.warning("getTransaction %s failed: %s", signed.signature, exc)
            else:
                if tx is not None:
                    return tx
            if attempt + 1 < self.fetch_attempts:
                await trio.sleep(self.poll_interval)
        logger.warning("%s confirmed but getTransaction returned nothing", signed.signature)
        return None
