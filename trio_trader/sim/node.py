"""The simulated Solana node: slots, blockhashes, landing and statuses on a Trio clock.

The ledger (``sim.ledger.Ledger``) is synchronous and knows nothing of time; this
module gives it a cluster's shape. Slots tick every ``slot_time`` seconds of Trio time
(drift-free with ``trio.sleep_until``, so tests run on ``MockClock``); every slot has a
deterministic blockhash valid for 150 blocks; a submitted transaction waits for a
latency drawn from :class:`~trio_trader.sim.faults.Faults`, then lands in whatever
slot is current and moves processed → confirmed → finalized as slots pass and their
votes come in (``sim.latency``: a fixed depth, or mainnet's log-normal vote delay).

Landing is driven by one task and a heap ordered by landing time, not a task per
transaction, so the order in which transactions land is exactly the order of their
drawn landing times — which is what makes the reordering fault reproducible. One fee
payer's sends close together land in send order (``Faults.send_order_window``, see
``Node._in_send_order``), the reordering fault's hold-back aside.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import trio
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from trio_trader.pump import addresses as A
from trio_trader.sim._node_types import (
    MAX_PROCESSING_AGE,
    AccountEvent,
    AddressSignature,
    LedgerLike,
    NodeEvent,
    NodeStats,
    SendError,
    SlotEvent,
    TxEvent,
    TxStatus,
    already_processed,
    blockhash_not_found,
    is_writable,
    simulation_failure_data,
)
from trio_trader.sim._tokens import TOKEN_PROGRAMS
from trio_trader.sim._tx_errors import tx_error_message
from trio_trader.sim.faults import Faults
from trio_trader.sim.latency import ConfirmationClock

__all__ = [
    "MAX_SIGNATURES_FOR_ADDRESS",
    "STATUS_CACHE_SLOTS",
    "AccountEvent",
    "AddressSignature",
    "Node",
    "NodeEvent",
    "NodeStats",
    "SendError",
    "SlotEvent",
    "TxEvent",
    "TxStatus",
]

log = logging.getLogger(__name__)

COMPUTE_BUDGET_PROGRAM = A.COMPUTE_BUDGET_PROGRAM_ID
STATUS_CACHE_SLOTS = MAX_PROCESSING_AGE
"""Slots a landed signature stays in the node's status cache.

Every answer about a signature that does not search the transaction history —
getSignatureStatuses without ``searchTransactionHistory``, signatureSubscribe, the
"already processed" duplicate check at send — only knows signatures that landed at
most this many slots ago, like a real node whose status cache lives as long as the
blockhashes a transaction may use (150 blocks).
"""
MAX_SIGNATURES_FOR_ADDRESS = 1000
"""Most entries one getSignaturesForAddress call returns (also its default limit)."""
FAUCET_LAMPORTS = 10**17
SENDERS_REMEMBERED = 4096
"""Senders whose last send ``_in_send_order`` keeps before it forgets those out of window."""
MAX_TX_SIZE = 1232


def decode_transaction(raw: bytes) -> VersionedTransaction:
    """Deserialise wire bytes as Solana's RPC does, with its error wording."""
    if len(raw) > MAX_TX_SIZE:
        raise SendError(
            -32602,
            f"base64 encoded solana_transaction::versioned::VersionedTransaction too large: "
            f"{len(raw)} bytes (max: encoded/raw 1644/{MAX_TX_SIZE})",
        )
    try:
        tx = VersionedTransaction.from_bytes(raw)
        tx.sanitize()
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise SendError(
            -32602,
            f"failed to deserialize solana_transaction::versioned::VersionedTransaction: {exc}",
        ) from exc
    if not tx.signatures:
        raise SendError(-32602, "invalid transaction: transaction has no signatures")
    return tx


def compute_unit_price(tx: VersionedTransaction) -> int:
    """The SetComputeUnitPrice value in micro-lamports (0 when absent)."""
    message = tx.message
    keys = message.account_keys
    for ix in message.instructions:
        if keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM:
            data = bytes(ix.data)
            if len(data) == 9 and data[0] == 3:
                return int.from_bytes(data[1:], "little")
    return 0


def writable_keys(tx: VersionedTransaction) -> list[Pubkey]:
    message = tx.message
    return [k for i, k in enumerate(message.account_keys) if is_writable(message, i)]


class Node:
    """A local Solana cluster of one leader, driven by Trio time.

    Args:
        ledger: the synchronous ledger that executes transactions.
        slot_time: seconds of Trio time per slot.
        faults: misbehaviour knobs, mutable while running (``node.faults``).
        seed: seeds blockhashes and every random draw.
        genesis_time: unix time of slot 0 (``blockTime`` base); wall clock by default.
        watch_buffer: events a watcher may fall behind before events are dropped for it.
        history_limit: landed transactions kept for getTransaction, statuses with
            history and getSignaturesForAddress; older ones are forgotten.
        genesis_hash: the cluster's identity (getGenesisHash). Random by default, so
            two nodes — two simulator runs — are two clusters, like two
            ``solana-test-validator`` starts; the seed does not fix it.
    """

    def __init__(
        self,
        ledger: LedgerLike,
        *,
        slot_time: float = 0.4,
        faults: Faults | None = None,
        seed: int = 0,
        genesis_time: int | None = None,
        watch_buffer: int = 4096,
        history_limit: int = 50_000,
        genesis_hash: Hash | None = None,
    ) -> None:
        if slot_time <= 0:
            raise ValueError(f"slot_time must be positive, got {slot_time}")
        self.ledger = ledger
        self.slot_time = slot_time
        self.faults = faults if faults is not None else Faults()
        self.seed = seed
        self.genesis_time = int(time.time()) if genesis_time is None else genesis_time
        self.genesis_hash = Hash(secrets.token_bytes(32)) if genesis_hash is None else genesis_hash
        self.stats = NodeStats()
        self.rng = random.Random(seed)
        self._votes = ConfirmationClock(seed)
        self._watch_buffer = watch_buffer
        self._history_limit = max(history_limit, 1)
        self._slot = 0
        self._start: float | None = None
        self._hash_height: dict[Hash, int] = {}
        self._slot_hashes: deque[Hash] = deque()
        self._queue: list[tuple[float, int, Signature, VersionedTransaction]] = []
        self._queued: set[Signature] = set()
        # fee payer → (sent at, drawn landing time) of its last send (``_in_send_order``)
        self._sender_landings: dict[Pubkey, tuple[float, float]] = {}
        self._seq = 0
        self._landed_total = 0
        self._airdrops = 0
        self._wakeup = trio.Event()
        self._executed: dict[Signature, Any] = {}
        self._transactions: dict[Signature, VersionedTransaction] = {}
        self._versions: dict[Signature, int] = {}  # reported versions (mark_version)
        # Address history: every landed signature in order, and per address the
        # (landing number, signature) of the landed transactions that name it.
        self._landed_seq: dict[Signature, int] = {}
        self._by_address: dict[Pubkey, deque[tuple[int, Signature]]] = {}
        self._slot_fees: deque[tuple[int, list[tuple[int, list[Pubkey]]]]] = deque()
        self._watchers: list[trio.MemorySendChannel[NodeEvent]] = []
        self._token_accounts: dict[Pubkey, set[Pubkey]] = {}
        self._faucet = Keypair.from_seed(hashlib.sha256(b"faucet:%d" % seed).digest())
        self.ledger.airdrop(self._faucet.pubkey(), FAUCET_LAMPORTS)
        self._new_blockhash(0)

    # ----------------------------------------------------------------- clock
    @property
    def slot(self) -> int:
        return self._slot

    @property
    def block_height(self) -> int:
        """Blocks since genesis: every slot produces a block here (no skipped slots)."""
        return self._slot

    def block_time(self, slot: int | None = None) -> int:
        """Unix ``blockTime`` of a slot (the current one by default)."""
        slot = self._slot if slot is None else slot
        return self.genesis_time + int(slot * self.slot_time)

    def commitment_slot(self, commitment: str | None = "processed") -> int:
        """The newest slot that has reached ``commitment``.

        Negative right after genesis, while no slot has reached it yet; callers that
        show a slot clamp it at 0.
        """
        if commitment in ("confirmed", "singleGossip", "single"):
            return self._votes.confirmed_tip(self._slot, self.faults)
        if commitment in ("finalized", "max", "root") or commitment is None:
            return self._votes.finalized_tip(self._slot, self.faults)
        return self._slot

    def slot_status(self, slot: int) -> str:
        """Commitment reached by a past slot: processed, confirmed or finalized."""
        if slot <= self._votes.finalized_tip(self._slot, self.faults):
            return "finalized"
        if slot <= self._votes.confirmed_tip(self._slot, self.faults):
            return "confirmed"
        return "processed"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Advance slots and land transactions until cancelled."""
        self._start = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._land_loop)
                task_status.started()
                while True:
                    await trio.sleep_until(self._start + (self._slot + 1) * self.slot_time)
                    self._advance_slot()
        finally:
            for watcher in self._watchers:
                watcher.close()
            self._watchers.clear()

    def _advance_slot(self) -> None:
        self._slot += 1
        self._votes.produced(self._slot, self.faults)
        self._new_blockhash(self._slot)
        while self._slot_fees and self._slot_fees[0][0] <= self._slot - MAX_PROCESSING_AGE:
            self._slot_fees.popleft()
        root = max(0, self._votes.finalized_tip(self._slot, self.faults))
        self._emit(SlotEvent(slot=self._slot, parent=self._slot - 1, root=root))

    def _new_blockhash(self, slot: int) -> None:
        digest = hashlib.sha256(b"trio-trader-sim:%d:%d" % (self.seed, slot)).digest()
        blockhash = Hash(digest)
        self._hash_height[blockhash] = slot
        self._slot_hashes.append(blockhash)
        while len(self._slot_hashes) > 2 * MAX_PROCESSING_AGE:
            del self._hash_height[self._slot_hashes.popleft()]

    # ------------------------------------------------------------ blockhashes
    def blockhash_at(self, slot: int) -> Hash:
        """Blockhash of a recent slot (within the last 300)."""
        index = len(self._slot_hashes) - 1 - (self._slot - slot)
        return self._slot_hashes[max(0, index)]

    def latest_blockhash(self, commitment: str | None = "processed") -> tuple[Hash, int]:
        """``(blockhash, last_valid_block_height)`` of the newest slot at ``commitment``."""
        slot = max(0, self.commitment_slot(commitment))
        return self.blockhash_at(slot), slot + MAX_PROCESSING_AGE

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        height = self._hash_height.get(blockhash)
        return height is not None and self.block_height <= height + MAX_PROCESSING_AGE

    # ------------------------------------------------------------- submitting
    def submit(self, raw: bytes) -> Signature:
        """Accept a signed transaction for landing, or refuse it as Solana's RPC would.

        Raises:
            SendError: malformed bytes (-32602), a bad signature (-32003), an unknown or
                expired blockhash or an already processed signature (-32002).
        """
        tx = decode_transaction(raw)
        signature = tx.signatures[0]
        try:
            self._check_admissible(tx, verify=True)
        except SendError:
            self.stats.rejected += 1
            raise
        if signature in self._queued:
            return signature  # a rebroadcast of a pending transaction: ignored, like a leader
        self.stats.submitted += 1
        if self.faults.draw_drop(self.rng):
            self.stats.dropped += 1
            log.debug("dropping %s (fault)", signature)
            return signature
        now = trio.current_time()  # read once: two reads differ, and order is at stake
        latency, holdback = self.faults.draw_latency(self.rng), self.faults.draw_holdback(self.rng)
        if self.faults.send_order_window <= 0:
            self._enqueue_at(tx, now + (latency + holdback))
        else:
            self._enqueue_at(tx, self._in_send_order(tx, now, now + latency) + holdback)
        return signature

    def _in_send_order(self, tx: VersionedTransaction, now: float, landing: float) -> float:
        """``landing``, put off so that the fee payer's transactions sent within
        ``faults.send_order_window`` of each other land in the order they were sent.

        Two transactions one client sends through the same RPC node a few ms apart take
        the same path to the same leader, forwarded in arrival order; the leader runs
        transactions that write the same accounts (a BUY and its SELL: the curve, the
        wallet's token account) one after the other, in arrival order at equal fees. So
        they land in send order, unless one of them meets trouble on the way: that is the
        reordering fault's hold-back, added after this and not waited for here. A tie
        lands in send order (the queue breaks ties by arrival).
        """
        window = self.faults.send_order_window
        payer = tx.message.account_keys[0]
        previous = self._sender_landings.get(payer)
        if previous is not None and now - previous[0] <= window:
            landing = max(landing, previous[1])
        if len(self._sender_landings) >= SENDERS_REMEMBERED:
            self._sender_landings = {
                key: sent for key, sent in self._sender_landings.items() if now - sent[0] <= window
            }
        self._sender_landings[payer] = (now, landing)
        return landing

    def submit_bundle(self, raws: Sequence[bytes]) -> list[Signature]:
        """Land several transactions together, in order, in one slot (a Jito-style bundle).

        Each is checked as :meth:`submit` checks it; one latency (and one drop) is drawn
        for the whole bundle, so all of them land in the same slot, in the given order.
        Unlike a real bundle, a transaction that fails on chain does not undo the others.

        Raises:
            SendError: the first transaction refused; then nothing is enqueued.
        """
        txs = [decode_transaction(raw) for raw in raws]
        for tx in txs:
            try:
                self._check_admissible(tx, verify=True)
            except SendError:
                self.stats.rejected += 1
                raise
        fresh = [tx for tx in txs if tx.signatures[0] not in self._queued]
        self.stats.submitted += len(fresh)
        if fresh and self.faults.draw_drop(self.rng):
            self.stats.dropped += len(fresh)
            return [tx.signatures[0] for tx in txs]
        delay = self.faults.draw_delay(self.rng) if fresh else 0.0
        for tx in fresh:
            self._enqueue(tx, delay)
        return [tx.signatures[0] for tx in txs]

    def _check_admissible(self, tx: VersionedTransaction, *, verify: bool) -> None:
        # Age first, then the status cache, as a bank checks: a landed transaction
        # whose blockhash has expired is "Blockhash not found", not "already processed".
        if not self.is_blockhash_valid(tx.message.recent_blockhash):
            raise blockhash_not_found()
        if self.signature_status(tx.signatures[0], search_history=False) is not None:
            raise already_processed()
        if verify and not all(tx.verify_with_results()):
            raise SendError(-32003, "Transaction signature verification failure")

    def _enqueue(self, tx: VersionedTransaction, delay: float) -> None:
        self._enqueue_at(tx, trio.current_time() + delay)

    def _enqueue_at(self, tx: VersionedTransaction, land_at: float) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (land_at, self._seq, tx.signatures[0], tx))
        self._queued.add(tx.signatures[0])
        self._wakeup.set()

    def simulate(
        self, raw: bytes, *, sig_verify: bool = False, replace_blockhash: bool = False
    ) -> Any:
        """Run a transaction against current state without keeping its effects.

        Raises:
            SendError: malformed bytes, or (unless ``replace_blockhash``) an unusable
                blockhash / processed signature; its ``data["err"]`` is the simulation err.
        """
        tx = decode_transaction(raw)
        if sig_verify and not all(tx.verify_with_results()):
            raise SendError(-32003, "Transaction signature verification failure")
        if not replace_blockhash:
            self._check_admissible(tx, verify=False)
        try:
            return self.ledger.simulate(
                tx, slot=self._slot, blocktime=self.block_time(), sig_verify=sig_verify
            )
        except Exception as exc:
            err = getattr(exc, "err", None)  # the ledger's TransactionRejected
            if err is None:
                raise
            raise SendError(
                -32002,
                f"Transaction simulation failed: {tx_error_message(err)}",
                simulation_failure_data(err),
            ) from exc

    def airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """Transfer from the node's faucet in a real transaction that lands next."""
        if lamports <= 0:
            raise SendError(-32602, "Invalid params: lamports must be positive")
        ix = transfer(
            TransferParams(from_pubkey=self._faucet.pubkey(), to_pubkey=pubkey, lamports=lamports)
        )
        # A memo-free transfer of the same amount twice would repeat a signature; the
        # sequence number in the compute-unit price makes every airdrop distinct.
        self._airdrops += 1
        price_ix = _compute_unit_price_ix(self._airdrops)
        blockhash, _ = self.latest_blockhash()
        legacy = Transaction.new_signed_with_payer(
            [price_ix, ix], self._faucet.pubkey(), [self._faucet], blockhash
        )
        tx = VersionedTransaction.from_legacy(legacy)
        self.stats.submitted += 1
        self._enqueue(tx, 0.0)
        return tx.signatures[0]

    # ---------------------------------------------------------------- landing
    async def _land_loop(self) -> None:
        while True:
            self._wakeup = trio.Event()
            deadline = self._queue[0][0] if self._queue else math.inf
            with trio.move_on_at(deadline):
                await self._wakeup.wait()
            now = trio.current_time()
            while self._queue and self._queue[0][0] <= now:
                _, _, signature, tx = heapq.heappop(self._queue)
                self._queued.discard(signature)
                self._land(tx)
            await trio.lowlevel.checkpoint()

    def _land(self, tx: VersionedTransaction) -> None:
        signature = tx.signatures[0]
        if signature in self._executed:
            return
        if not self.is_blockhash_valid(tx.message.recent_blockhash):
            self.stats.dropped += 1
            log.debug("%s expired in flight", signature)
            return
        try:
            executed = self.ledger.execute(tx, slot=self._slot, blocktime=self.block_time())
        except Exception:
            # The ledger refused to include it at all (e.g. no fee payer): on a real
            # cluster such a transaction simply never appears.
            log.exception("ledger refused %s", signature)
            self.stats.dropped += 1
            return
        self._remember(signature, executed, tx)
        if executed.err is None:
            self.stats.landed += 1
        else:
            self.stats.failed += 1
        writable = writable_keys(tx)
        self._record_fee(compute_unit_price(tx), writable)
        self._emit(TxEvent(executed))
        self._scan_accounts(writable)

    def _remember(self, signature: Signature, executed: Any, tx: VersionedTransaction) -> None:
        """Keep a landed transaction in the bounded history and the address index."""
        self._executed[signature] = executed
        self._transactions[signature] = tx
        seq = self._landed_total
        self._landed_total += 1
        self._landed_seq[signature] = seq
        for key in set(executed.account_keys):
            self._by_address.setdefault(key, deque()).append((seq, signature))
        if len(self._executed) > self._history_limit:
            # Forget the oldest, like a node without long-term storage; a signature
            # this old is far past its blockhash's life, so no duplicate can land.
            oldest = next(iter(self._executed))
            forgotten = self._executed.pop(oldest)
            self._transactions.pop(oldest, None)
            self._versions.pop(oldest, None)
            del self._landed_seq[oldest]
            for key in set(forgotten.account_keys):
                entries = self._by_address[key]
                entries.popleft()  # the oldest landing is the first entry of each of its keys
                if not entries:
                    del self._by_address[key]

    def _record_fee(self, price: int, writable: list[Pubkey]) -> None:
        if not self._slot_fees or self._slot_fees[-1][0] != self._slot:
            self._slot_fees.append((self._slot, []))
        self._slot_fees[-1][1].append((price, writable))

    def _scan_accounts(self, keys: Iterable[Pubkey]) -> None:
        """Index token accounts by owner and tell watchers which accounts changed."""
        for key in keys:
            account = self.ledger.get_account(key)
            if account is not None and account.owner in TOKEN_PROGRAMS:
                data = bytes(account.data)
                if len(data) >= 165:
                    owner = Pubkey.from_bytes(data[32:64])
                    self._token_accounts.setdefault(owner, set()).add(key)
            if self._watchers:
                self._emit(AccountEvent(pubkey=key, slot=self._slot, account=account))

    # ---------------------------------------------------------------- queries
    def transaction(self, signature: Signature) -> Any:
        """The ledger's ExecutedTransaction for a landed signature, else None."""
        return self._executed.get(signature)

    def mark_version(self, signature: Signature, version: int) -> None:
        """Report ``signature``'s transaction as ``version`` (a test hook: the sim cannot
        build a real version-1 transaction; its bytes stay what was sent)."""
        if not 1 <= version <= 255:
            raise ValueError(f"transaction version must be within 1..255, got {version}")
        self._versions[signature] = version

    def reported_version(self, signature: Signature) -> int | None:
        """The version :meth:`mark_version` set, or None (the bytes' own version)."""
        return self._versions.get(signature)

    def signed_transaction(self, signature: Signature) -> VersionedTransaction | None:
        """The landed transaction itself (the message getTransaction returns)."""
        return self._transactions.get(signature)

    def signature_status(
        self, signature: Signature, *, search_history: bool = True
    ) -> TxStatus | None:
        """The status of a landed signature, or None.

        Without ``search_history`` only the status cache is searched: a signature that
        landed more than :data:`STATUS_CACHE_SLOTS` slots ago is unknown (None).
        """
        executed = self._executed.get(signature)
        if executed is None:
            return None
        slot = int(executed.slot)
        if not search_history and self._slot - slot > STATUS_CACHE_SLOTS:
            return None
        status = self.slot_status(slot)
        confirmations = None if status == "finalized" else self._slot - slot
        return TxStatus(slot, confirmations, executed.err, status)

    def signatures_for_address(
        self,
        address: Pubkey,
        *,
        limit: int = MAX_SIGNATURES_FOR_ADDRESS,
        before: Signature | None = None,
        until: Signature | None = None,
        commitment: str = "finalized",
    ) -> list[AddressSignature]:
        """Landed transactions naming ``address`` in their account keys, newest first.

        Only transactions whose slot has reached ``commitment`` ("confirmed" or
        "finalized") count. ``before`` / ``until`` are exclusive bounds given as any
        landed signature; as agave 2.x answers from its blockstore, an unknown (or not
        yet committed, or forgotten) ``before`` gives an empty list and an unknown
        ``until`` is ignored.

        Raises:
            ValueError: ``limit`` outside 1..MAX_SIGNATURES_FOR_ADDRESS.
        """
        if not 1 <= limit <= MAX_SIGNATURES_FOR_ADDRESS:
            raise ValueError(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
        top = self.commitment_slot(commitment)
        upper = self._committed_seq(before, top) if before is not None else self._landed_total
        if upper is None:
            return []
        lower = self._committed_seq(until, top) if until is not None else None
        out: list[AddressSignature] = []
        for seq, signature in reversed(self._by_address.get(address, ())):
            if len(out) == limit or (lower is not None and seq <= lower):
                break
            executed = self._executed[signature]
            slot = int(executed.slot)
            if seq >= upper or slot > top:
                continue
            out.append(
                AddressSignature(
                    signature, slot, executed.err, self.block_time(slot), self.slot_status(slot)
                )
            )
        return out

    def _committed_seq(self, signature: Signature, top_slot: int) -> int | None:
        """Landing number of a remembered signature whose slot is at most ``top_slot``."""
        seq = self._landed_seq.get(signature)
        if seq is None or int(self._executed[signature].slot) > top_slot:
            return None
        return seq

    def token_accounts_of(self, owner: Pubkey) -> list[Pubkey]:
        """Token accounts (both programs) whose owner field is ``owner``, as seen so far."""
        return sorted(self._token_accounts.get(owner, ()), key=bytes)

    def note_token_account(self, owner: Pubkey, account: Pubkey) -> None:
        """Index a token account created outside a transaction (e.g. by a scenario)."""
        self._token_accounts.setdefault(owner, set()).add(account)

    def recent_prioritization_fees(self, accounts: Sequence[Pubkey] = ()) -> list[tuple[int, int]]:
        """``(slot, micro_lamports)`` for the last 150 slots, as getRecentPrioritizationFees.

        Per slot: the lowest price that got a transaction in (writing to any of
        ``accounts`` when given), 0 for a slot without such transactions.
        """
        by_slot = dict(self._slot_fees)
        wanted = set(accounts)
        out = []
        for slot in range(max(0, self._slot - MAX_PROCESSING_AGE + 1), self._slot + 1):
            prices = [
                price
                for price, writable in by_slot.get(slot, [])
                if not wanted or wanted.intersection(writable)
            ]
            out.append((slot, min(prices) if prices else 0))
        return out

    # ----------------------------------------------------------------- events
    def watch(self) -> trio.MemoryReceiveChannel[NodeEvent]:
        """A channel of node events (slots, transactions, accounts) for one consumer.

        The node never waits for a watcher: when the buffer is full the event is
        dropped and counted in ``stats.watch_overflow``. Close the channel when done.
        """
        send, receive = trio.open_memory_channel[NodeEvent](self._watch_buffer)
        self._watchers.append(send)
        return receive

    def _emit(self, event: NodeEvent) -> None:
        for watcher in list(self._watchers):
            try:
                watcher.send_nowait(event)
            except trio.WouldBlock:
                self.stats.watch_overflow += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._watchers.remove(watcher)
                watcher.close()


def _compute_unit_price_ix(micro_lamports: int) -> Instruction:
    data = bytes([3]) + micro_lamports.to_bytes(8, "little")
    return Instruction(COMPUTE_BUDGET_PROGRAM, data, [])
