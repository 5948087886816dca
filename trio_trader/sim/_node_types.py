"""Values the simulated node hands out: events, statuses, errors, counters.

Kept apart from ``node.py`` so the RPC and websocket servers can import the shapes
without the clockwork, and so the ledger contract the node relies on is written down
in one place (``LedgerLike``): the node only needs the few calls listed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import attrs
from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from trio_trader.pump.amm.accounts import Pool

MAX_PROCESSING_AGE = 150
"""Blocks a blockhash stays usable (``lastValidBlockHeight = height + 150``)."""


class ExecutedLike(Protocol):
    """What the node reads from the ledger's ``ExecutedTransaction``."""

    @property
    def signature(self) -> Signature: ...
    @property
    def slot(self) -> int: ...
    @property
    def err(self) -> object: ...
    @property
    def fee(self) -> int: ...
    @property
    def logs(self) -> Sequence[str]: ...
    @property
    def account_keys(self) -> Sequence[Pubkey]: ...
    @property
    def pre_balances(self) -> Sequence[int]: ...
    @property
    def post_balances(self) -> Sequence[int]: ...
    @property
    def pre_token_balances(self) -> Sequence[Any]: ...
    @property
    def post_token_balances(self) -> Sequence[Any]: ...
    @property
    def compute_units_consumed(self) -> int: ...
    @property
    def inner_instructions(self) -> Any: ...


class LedgerLike(Protocol):
    """The part of ``sim.ledger.Ledger`` the node and servers use."""

    def airdrop(self, pubkey: Pubkey, lamports: int) -> None: ...
    def get_account(self, pubkey: Pubkey) -> Account | None: ...
    def balance(self, pubkey: Pubkey) -> int: ...
    def token_balance(self, owner: Pubkey, mint: Pubkey) -> int: ...
    def rent_exempt_minimum(self, size: int) -> int: ...
    def age_bonding_curve(self, mint: Pubkey, size: int = ...) -> None: ...
    def pool(self, mint: Pubkey, quote_mint: Pubkey | None = ...) -> tuple[Pubkey, Pool] | None: ...
    def mint_quote_tokens(self, owner: Pubkey, amount: int, mint: Pubkey = ...) -> Pubkey: ...
    def execute(
        self, tx: Transaction | VersionedTransaction, *, slot: int, blocktime: int
    ) -> Any: ...
    def simulate(
        self,
        tx: Transaction | VersionedTransaction,
        *,
        slot: int,
        blocktime: int,
        sig_verify: bool,
    ) -> Any: ...


class SendError(Exception):
    """A submission the node refuses, carrying the JSON-RPC error Solana would send.

    ``code``/``message``/``data`` are exactly the ``error`` object of the RPC
    response, so the server forwards them untouched.
    """

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def simulation_failure_data(
    err: object, logs: Sequence[str] = (), units: int = 0
) -> dict[str, Any]:
    """The ``data`` of a -32002 preflight failure (RpcSimulateTransactionResult)."""
    return {
        "accounts": None,
        "err": err,
        "innerInstructions": None,
        "loadedAccountsDataSize": None,
        "logs": list(logs),
        "replacementBlockhash": None,
        "returnData": None,
        "unitsConsumed": units,
    }


def blockhash_not_found() -> SendError:
    return SendError(
        -32002,
        "Transaction simulation failed: Blockhash not found",
        simulation_failure_data("BlockhashNotFound"),
    )


def already_processed() -> SendError:
    return SendError(
        -32002,
        "Transaction simulation failed: This transaction has already been processed",
        simulation_failure_data("AlreadyProcessed"),
    )


class TxStatus(NamedTuple):
    """One entry of getSignatureStatuses; ``confirmations`` is None once finalized."""

    slot: int
    confirmations: int | None
    err: object
    confirmation_status: str


class AddressSignature(NamedTuple):
    """One entry of getSignaturesForAddress (``memo`` is always null here)."""

    signature: Signature
    slot: int
    err: object
    block_time: int
    confirmation_status: str


@attrs.frozen
class SlotEvent:
    slot: int
    parent: int
    root: int


@attrs.frozen
class TxEvent:
    executed: Any  # the ledger's ExecutedTransaction


@attrs.frozen
class AccountEvent:
    """An account a landed transaction could have written, with its state right after."""

    pubkey: Pubkey
    slot: int
    account: Account | None = None


NodeEvent = SlotEvent | TxEvent | AccountEvent


@attrs.define(eq=False)
class NodeStats:
    """Counters for the ledger summary and for tests.

    ``landed`` counts successful transactions, ``failed`` those that landed with an
    error (fee charged), ``dropped`` accepted submissions that never landed (the
    drop fault, or a blockhash that expired while the transaction was in flight).
    """

    submitted: int = 0
    rejected: int = 0
    landed: int = 0
    failed: int = 0
    dropped: int = 0
    watch_overflow: int = 0


def is_writable(message: Any, index: int) -> bool:
    """Whether a static account key is writable, from the message header alone.

    (The legacy ``Message`` of solders has no ``is_maybe_writable``; the header rule is
    the same for both versions.)
    """
    header = message.header
    signers = header.num_required_signatures
    if index < signers:
        return bool(index < signers - header.num_readonly_signed_accounts)
    return bool(index < len(message.account_keys) - header.num_readonly_unsigned_accounts)
