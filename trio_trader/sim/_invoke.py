"""What a Python-emulated program sees while one top-level instruction runs.

The pump emulation reads and writes accounts through :class:`InvokeContext`, makes its
CPIs into the real token/system/ATA programs through :meth:`InvokeContext.cpi` (LiteSVM,
logs one level deeper) and fails by raising :class:`ProgramFailure`, which carries the
instruction-error payload the RPC shows (``{"Custom": 6003}``). Atomicity is the
ledger's job: it restores every account of the transaction when an instruction fails, so
a program may write state before it discovers an error, exactly like a real program
whose writes are discarded by the runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import base58
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump.amm.events import AmmEvent
from trio_trader.pump.events import Event

from ._migration_event import CompletePumpAmmMigrationEvent
from ._svm import SvmRunner, with_lamports

__all__ = [
    "InvokeContext",
    "ProgramFailure",
    "SimEvent",
    "TransactionLevelFailure",
    "custom_failure",
]

#: every event the emulated programs emit: pump's, PumpSwap's and pump's migration event
SimEvent = Event | AmmEvent | CompletePumpAmmMigrationEvent


class ProgramFailure(Exception):
    """An emulated instruction failed.

    Attributes:
        err: the instruction-error payload (``{"Custom": 6002}``, ``"InvalidAccountData"``).
        message: the text after ``Program <id> failed: `` in the log.
    """

    def __init__(self, err: object, message: str) -> None:
        super().__init__(message)
        self.err = err
        self.message = message


class TransactionLevelFailure(Exception):
    """A CPI broke a transaction-level rule (an account left below rent exemption)."""

    def __init__(self, err: object) -> None:
        super().__init__(str(err))
        self.err = err


def custom_failure(code: int) -> ProgramFailure:
    return ProgramFailure({"Custom": code}, f"custom program error: {code:#x}")


@attrs.define(eq=False)
class InvokeContext:
    """State of one top-level instruction being emulated."""

    svm: SvmRunner
    keys: Sequence[Pubkey]
    metas: Sequence[AccountMeta]
    data: bytes
    compute_limit: int  # CU left for this instruction when it started
    blocktime: int
    logs: list[str] = attrs.field(factory=list)
    inner: list[dict[str, Any]] = attrs.field(factory=list)
    events: list[SimEvent] = attrs.field(factory=list)
    consumed: int = 0

    # -- accounts --------------------------------------------------------------------
    def get(self, pubkey: Pubkey) -> Account | None:
        return self.svm.get(pubkey)

    def put(self, pubkey: Pubkey, account: Account) -> None:
        self.svm.put(pubkey, account)

    def write(self, pubkey: Pubkey, data: bytes, owner: Pubkey) -> None:
        """Replace an existing account's data and owner, keeping its lamports."""
        acct = self.svm.get(pubkey)
        assert acct is not None
        self.put(pubkey, Account(lamports=acct.lamports, data=data, owner=owner))

    def lamports(self, pubkey: Pubkey) -> int:
        acct = self.svm.get(pubkey)
        return 0 if acct is None else acct.lamports

    def move_lamports(self, src: Pubkey, dst: Pubkey, amount: int) -> None:
        """Debit a program-owned account directly (no CPI), as the real program does."""
        if amount == 0:
            return
        s = self.svm.get(src)
        if s is None or s.lamports < amount:
            raise ProgramFailure("InsufficientFunds", "insufficient funds")
        self.put(src, with_lamports(s, s.lamports - amount))
        d = self.svm.get(dst)
        if d is None:
            d = Account(lamports=0, data=b"", owner=A.SYSTEM_PROGRAM_ID)
        self.put(dst, with_lamports(d, d.lamports + amount))

    def rent_exempt(self, size: int) -> int:
        return self.svm.rent_exempt(size)

    # -- execution -------------------------------------------------------------------
    def log(self, line: str) -> None:
        self.logs.append(line)

    def charge(self, units: int) -> None:
        """Consume compute units; running out fails like a real program."""
        self.consumed += units
        if self.consumed > self.compute_limit:
            self.consumed = self.compute_limit
            raise ProgramFailure("ComputationalBudgetExceeded", "Computational budget exceeded")

    def cpi(self, instruction: Instruction, *, depth: int = 1) -> None:
        """Run one CPI through LiteSVM (signers as the instruction's metas say).

        ``depth`` 2 is a CPI made by a program the emulation itself pretends to call.
        """
        out = self.svm.run(
            [instruction],
            keys=self.keys,
            compute_limit=self.compute_limit - self.consumed,
            depth=depth,
        )
        self.logs.extend(out.logs)
        self.inner.extend(out.inner)
        self.charge(out.compute_units)
        if out.err is not None:
            if out.err_index is None:
                raise TransactionLevelFailure(out.err)
            raise ProgramFailure(out.err, _failure_text(out.err))

    def emit_cpi_event(
        self, program: Pubkey, event_authority: Pubkey, data: bytes, *, depth: int = 1
    ) -> None:
        """Anchor's ``emit_cpi!``: a self-CPI carrying the event, with its log frame.

        ``depth`` is the emitting program's own stack height (2 for a program the
        emulation pretends to call, like PumpSwap's ``create_pool`` under pump's migrate).
        """
        self.inner.append(
            {
                "programIdIndex": _index(self.keys, program),
                "accounts": [_index(self.keys, event_authority)],
                "data": base58.b58encode(data).decode(),
                "stackHeight": depth + 1,
            }
        )
        units = 2003
        remaining = self.compute_limit - self.consumed
        self.log(f"Program {program} invoke [{depth + 1}]")
        self.log(f"Program {program} consumed {units} of {remaining} compute units")
        self.log(f"Program {program} success")
        self.charge(units)


def _index(keys: Sequence[Pubkey], key: Pubkey) -> int:
    try:
        return list(keys).index(key)
    except ValueError:
        return -1


def _failure_text(err: object) -> str:
    if isinstance(err, dict) and "Custom" in err:
        return f"custom program error: {int(err['Custom']):#x}"
    return str(err)
