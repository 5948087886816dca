"""LiteSVM as an instruction engine for the ledger.

The ledger never hands a user's transaction to LiteSVM whole: LiteSVM would charge its own
fee, check its own signatures and could not interleave the Python pump program. Instead
each non-pump instruction (and each CPI the pump emulation makes into the token, system or
associated-token programs) runs here as a one-instruction LiteSVM transaction:

* signature verification and the blockhash check are off, so any account the instruction
  marks as signer (the user, a new mint, a pump PDA acting as token authority) is accepted
  without a real signature — the ledger has already verified the user's signatures;
* a sim-owned *sponsor* keypair is the fee payer, and its balance is reset after every run,
  so LiteSVM's own fee never reaches a real account and no lamports leak in or out;
* a ``SetComputeUnitLimit(remaining)`` instruction goes first so the programs see the
  compute budget the user's transaction has left; its two log lines and 150 CU are removed;
* the transaction history is off, so identical one-instruction messages (two idempotent
  ATA creates in a row) are not rejected as already processed.

:func:`tx_error_json` turns solders' error objects into the JSON shape ``getTransaction``
returns (``{"InstructionError": [0, {"Custom": 1}]}``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs
import base58
from solders.account import Account
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import CompiledInstruction, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    TransactionErrorDuplicateInstruction,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
)

from .rent import MAINNET_RENT

__all__ = ["SvmOutcome", "SvmRunner", "shift_log_depth", "tx_error_json", "with_lamports"]

# LiteSVM's fee payer for the one-instruction transactions; reset after each run.
_SPONSOR_LAMPORTS = 10**18
_COMPUTE_BUDGET_CU = 150
_INVOKE_RE = re.compile(r"^(Program \S+ invoke \[)(\d+)(\])$")


def with_lamports(acct: Account, lamports: int) -> Account:
    """``acct`` with its balance replaced, every other field kept."""
    return Account(
        lamports=lamports,
        data=bytes(acct.data),
        owner=acct.owner,
        executable=acct.executable,
        rent_epoch=acct.rent_epoch,
    )


def instruction_error_json(err: object) -> object:
    """One ``InstructionError`` payload: ``{"Custom": n}``, ``"InvalidAccountData"``…"""
    if isinstance(err, InstructionErrorCustom):
        return {"Custom": err.code}
    if isinstance(err, InstructionErrorBorshIO):
        return {"BorshIoError": err.value}
    return str(err).rsplit(".", 1)[-1]


def tx_error_json(err: object) -> object:
    """A solders ``TransactionErrorType`` as the RPC's JSON value."""
    if isinstance(err, TransactionErrorInstructionError):
        return {"InstructionError": [err.index, instruction_error_json(err.err)]}
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        return {"InsufficientFundsForRent": {"account_index": err.account_index}}
    if isinstance(err, TransactionErrorDuplicateInstruction):
        return {"DuplicateInstruction": err.index}
    return str(err).rsplit(".", 1)[-1]


def shift_log_depth(logs: Sequence[str], by: int) -> list[str]:
    """Re-number ``invoke [n]`` lines, for logs of a call made as a CPI."""
    return [_INVOKE_RE.sub(lambda m: f"{m[1]}{int(m[2]) + by}{m[3]}", line) for line in logs]


@attrs.frozen
class SvmOutcome:
    """What one LiteSVM run did.

    ``err`` is the JSON payload of the *instruction* error (``{"Custom": 1}``) or a
    transaction-level JSON error for non-instruction failures; ``None`` on success.
    ``inner`` lists every instruction LiteSVM executed below the top level, already in
    the RPC's JSON form with account indices into ``keys``.
    """

    err: object | None
    err_index: int | None
    logs: list[str]
    compute_units: int
    inner: list[dict[str, Any]]


@attrs.define(eq=False)
class SvmRunner:
    """Owns the LiteSVM instance; the single source of account state."""

    svm: LiteSVM = attrs.field(factory=LiteSVM)
    sponsor: Keypair = attrs.field(factory=Keypair)

    def __attrs_post_init__(self) -> None:
        self.svm.with_sigverify(False)
        self.svm.with_blockhash_check(False)
        self.svm.with_transaction_history(0)
        self.svm.set_rent(MAINNET_RENT)  # before any account is created (see sim.rent)
        self._reset_sponsor()

    def _reset_sponsor(self) -> None:
        self.svm.set_account(
            self.sponsor.pubkey(),
            Account(lamports=_SPONSOR_LAMPORTS, data=b"", owner=Pubkey.default()),
        )

    def get(self, pubkey: Pubkey) -> Account | None:
        """The account, or ``None`` when it does not exist (zero lamports)."""
        acct = self.svm.get_account(pubkey)
        if acct is None or acct.lamports == 0:
            return None
        return acct

    def put(self, pubkey: Pubkey, account: Account | None) -> None:
        """Write (or, with ``None``, delete) an account."""
        if account is None:
            account = Account(lamports=0, data=b"", owner=Pubkey.default())
        self.svm.set_account(pubkey, account)

    def rent_exempt(self, size: int) -> int:
        return int(self.svm.minimum_balance_for_rent_exemption(size))

    def run(
        self,
        instructions: Sequence[Instruction],
        *,
        keys: Sequence[Pubkey],
        compute_limit: int,
        depth: int = 0,
    ) -> SvmOutcome:
        """Execute ``instructions`` atomically (LiteSVM rolls back a failed run).

        Args:
            instructions: run in order as one LiteSVM transaction.
            keys: the user's transaction account keys, to index inner instructions.
            compute_limit: the user's remaining compute budget.
            depth: 0 for a top-level instruction; n for a CPI made n levels down (by the
                emulated pump program): logs are re-numbered and the instructions
                themselves become inner instructions.
        """
        prefix = set_compute_unit_limit(max(0, min(compute_limit, 1_400_000)))
        msg = Message.new_with_blockhash(
            [prefix, *instructions], self.sponsor.pubkey(), Hash.default()
        )
        result = self.svm.send_transaction(Transaction.new_unsigned(msg))
        self._reset_sponsor()
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err_json = tx_error_json(result.err())
            err: object | None = err_json
            err_index: int | None = None
            if isinstance(err_json, dict) and "InstructionError" in err_json:
                idx, inner_err = err_json["InstructionError"]
                err, err_index = inner_err, idx - 1
            elif isinstance(err_json, dict) and "InsufficientFundsForRent" in err_json:
                # LiteSVM's index is into its own message; the ledger wants the user's.
                svm_index = err_json["InsufficientFundsForRent"]["account_index"]
                key = msg.account_keys[svm_index]
                user_index = list(keys).index(key) if key in keys else svm_index
                err = {"InsufficientFundsForRent": {"account_index": user_index}}
        else:
            assert isinstance(result, TransactionMetadata)
            meta, err, err_index = result, None, None
        return SvmOutcome(
            err=err,
            err_index=err_index,
            logs=shift_log_depth(list(meta.logs())[2:], depth),
            compute_units=max(0, int(meta.compute_units_consumed()) - _COMPUTE_BUDGET_CU),
            inner=self._inner_json(msg, meta, keys, depth=depth),
        )

    @staticmethod
    def _inner_json(
        msg: Message, meta: TransactionMetadata, keys: Sequence[Pubkey], *, depth: int
    ) -> list[dict[str, Any]]:
        """LiteSVM's inner instructions re-indexed into the user's account keys.

        A key the user's transaction does not hold (only the sponsor) is dropped; it
        never appears in a CPI because the sponsor is not an account of any instruction.
        """
        index = {k: i for i, k in enumerate(keys)}
        svm_keys = msg.account_keys

        def entry(ci: CompiledInstruction, height: int) -> dict[str, Any]:
            return {
                "programIdIndex": index.get(svm_keys[ci.program_id_index], -1),
                "accounts": [index.get(svm_keys[a], -1) for a in bytes(ci.accounts)],
                "data": base58.b58encode(bytes(ci.data)).decode(),
                "stackHeight": height,
            }

        out: list[dict[str, Any]] = []
        inner_lists = list(meta.inner_instructions())
        for n, top in enumerate(msg.instructions[1:], start=1):
            if depth:
                out.append(entry(top, 1 + depth))
            for inner in inner_lists[n] if n < len(inner_lists) else []:
                out.append(entry(inner.instruction(), (inner.stack_height() or 2) + depth))
        return out
