"""Anchor's account validation, as the pump program applies it, with Anchor's error logs.

Anchor validates an instruction's accounts in two passes, which decides *which* error a
bad transaction gets when several things are wrong:

1. deserialisation, in account order: too few accounts (3005 AccountNotEnoughKeys), a
   ``Signer`` that did not sign (3010), a ``Program`` at the wrong address (3008), an
   ``Account<T>`` / ``InterfaceAccount<T>`` that does not exist (3012
   AccountNotInitialized) or belongs to another program (3007);
2. constraints, in account order: ``mut`` on a read-only account (2000 ConstraintMut),
   ``seeds`` that derive another address (2006 ConstraintSeeds, logged with the
   ``Left:``/``Right:`` pubkeys).

Errors raised by the handler itself (``require!``) are logged without a source location
(see :func:`thrown`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs
from solders.account import Account
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from trio_trader.pump._error_codes import ANCHOR_ERRORS, PUMP_ERRORS

from ._invoke import InvokeContext, ProgramFailure, custom_failure

__all__ = ["Acc", "ErrorTable", "anchor_error", "mismatch", "thrown", "validate"]

# Account kinds.
UNCHECKED = "unchecked"
SIGNER = "signer"
PROGRAM = "program"
ACCOUNT = "account"  # must exist and be owned by ``owner`` (or one of ``owners``)


@attrs.frozen
class Acc:
    """One account of an instruction's ``#[derive(Accounts)]`` struct."""

    name: str
    kind: str = UNCHECKED
    mut: bool = False
    address: tuple[Pubkey, ...] = ()  # a Program's allowed ids
    owners: tuple[Pubkey, ...] = ()  # allowed owners of an ``ACCOUNT``
    seeds: Callable[[Sequence[Pubkey]], Pubkey] | None = None  # expected address
    # ``has_one`` / ``relations``: the address a field of another account names (2001)
    has_one: Callable[[Sequence[Pubkey]], Pubkey] | None = None


ErrorTable = Mapping[int, tuple[str, str]]


def _message(code: int, errors: ErrorTable) -> tuple[str, str]:
    name, msg = errors.get(code) or ANCHOR_ERRORS.get(code) or ("Unknown", "")
    return name, msg


def anchor_error(
    ctx: InvokeContext,
    code: int,
    *,
    account: str | None = None,
    errors: ErrorTable = PUMP_ERRORS,
) -> ProgramFailure:
    """Log ``AnchorError …`` for an account error and return the failure to raise.

    ``errors`` is the program's own table (pump's by default, PumpSwap's for the AMM).
    """
    name, msg = _message(code, errors)
    where = f"caused by account: {account}" if account else "occurred"
    ctx.log(
        f"Program log: AnchorError {where}. Error Code: {name}. Error Number: {code}. "
        f"Error Message: {msg}."
    )
    return custom_failure(code)


def thrown(ctx: InvokeContext, code: int, *, errors: ErrorTable = PUMP_ERRORS) -> ProgramFailure:
    """Log a handler error (``require!``) and return the failure to raise.

    Mainnet prints ``AnchorError thrown in <file>:<line>``; the source location of the
    closed-source program is unknown, so the location-less form Anchor prints when no
    origin is recorded is used. Clients read only the code, name and message.
    """
    return anchor_error(ctx, code, errors=errors)


def validate(
    ctx: InvokeContext, spec: Sequence[Acc], *, accounts: Sequence[AccountMeta]
) -> list[Pubkey]:
    """Run both passes over ``accounts``; return their keys (IDL order).

    Raises:
        ProgramFailure: the first Anchor error, already logged.
    """
    if len(accounts) < len(spec):
        raise anchor_error(ctx, 3005)
    keys = [m.pubkey for m in accounts]
    for acc, meta in zip(spec, accounts, strict=False):
        _check_type(ctx, acc, meta)
    for acc, meta in zip(spec, accounts, strict=False):
        if acc.mut and not meta.is_writable:
            raise anchor_error(ctx, 2000, account=acc.name)
        for code, derive in ((2001, acc.has_one), (2006, acc.seeds)):
            if derive is not None:
                expected = derive(keys)
                if meta.pubkey != expected:
                    raise mismatch(ctx, code, acc.name, meta.pubkey, expected)
    return keys


def mismatch(
    ctx: InvokeContext, code: int, name: str, got: Pubkey, expected: Pubkey
) -> ProgramFailure:
    """Anchor's pubkey-constraint failure: the error, then ``Left:``/``Right:`` keys."""
    failure = anchor_error(ctx, code, account=name)
    ctx.log("Program log: Left:")
    ctx.log(f"Program log: {got}")
    ctx.log("Program log: Right:")
    ctx.log(f"Program log: {expected}")
    return failure


def _check_type(ctx: InvokeContext, acc: Acc, meta: AccountMeta) -> None:
    if acc.kind == SIGNER and not meta.is_signer:
        raise anchor_error(ctx, 3010, account=acc.name)
    if acc.kind == PROGRAM and meta.pubkey not in acc.address:
        raise anchor_error(ctx, 3008, account=acc.name)
    if acc.kind == ACCOUNT:
        account: Account | None = ctx.get(meta.pubkey)
        if account is None:
            raise anchor_error(ctx, 3012, account=acc.name)
        if acc.owners and account.owner not in acc.owners:
            raise anchor_error(ctx, 3007, account=acc.name)
