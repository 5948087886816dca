"""Helpers shared by the emulated pump instructions: Global, events, transfers."""

from __future__ import annotations

import base64

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer

from trio_trader.pump import addresses as A
from trio_trader.pump._borsh import DecodeError, Writer
from trio_trader.pump.accounts import BondingCurve, Global
from trio_trader.pump.events import EVENT_CPI_TAG, Event, encode_event

from ._invoke import InvokeContext
from ._pump_checks import anchor_error
from ._tokens import TOKEN_PROGRAM, mint_decimals

__all__ = [
    "create_ata",
    "create_pda",
    "emit",
    "emit_payload",
    "read_curve",
    "read_global",
    "system_transfer",
    "token_transfer",
]


def read_global(ctx: InvokeContext) -> Global:
    acct = ctx.get(A.GLOBAL)
    assert acct is not None  # validated as an existing account
    return Global.decode(bytes(acct.data))


def read_curve(ctx: InvokeContext, key: Pubkey) -> BondingCurve:
    acct = ctx.get(key)
    if acct is None:
        raise anchor_error(ctx, 3012, account="bonding_curve")
    try:
        return BondingCurve.decode(bytes(acct.data))
    except DecodeError:
        raise anchor_error(ctx, 3002, account="bonding_curve") from None


def create_ata(
    ctx: InvokeContext,
    *,
    payer: Pubkey,
    owner: Pubkey,
    mint: Pubkey,
    token_program: Pubkey,
    depth: int = 1,
) -> Pubkey:
    """ATA program ``CreateIdempotent`` (a real CPI); returns the address."""
    ata = A.associated_token_address(owner, mint, token_program)
    ctx.cpi(
        Instruction(
            A.ASSOCIATED_TOKEN_PROGRAM_ID,
            bytes([1]),
            [
                AccountMeta(payer, True, True),
                AccountMeta(ata, False, True),
                AccountMeta(owner, False, False),
                AccountMeta(mint, False, False),
                AccountMeta(A.SYSTEM_PROGRAM_ID, False, False),
                AccountMeta(token_program, False, False),
            ],
        ),
        depth=depth,
    )
    return ata


def emit(ctx: InvokeContext, event: Event) -> None:
    """``emit!`` + ``emit_cpi!``: the ``Program data:`` line, then the self-CPI."""
    emit_payload(ctx, encode_event(event), A.PUMP_PROGRAM_ID, A.EVENT_AUTHORITY)
    ctx.events.append(event)


def emit_payload(
    ctx: InvokeContext, payload: bytes, program: Pubkey, authority: Pubkey, *, depth: int = 1
) -> None:
    """The ``Program data:`` line and the Anchor event self-CPI of ``program``."""
    ctx.log(f"Program data: {base64.b64encode(payload).decode()}")
    ctx.emit_cpi_event(program, authority, EVENT_CPI_TAG + payload, depth=depth)


def create_pda(
    ctx: InvokeContext,
    payer: Pubkey,
    key: Pubkey,
    size: int,
    owner: Pubkey,
    *,
    lamports: int | None = None,
    depth: int = 1,
) -> None:
    """System ``CreateAccount`` with the new account signing (a keypair or a PDA)."""
    ctx.cpi(
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=key,
                lamports=ctx.rent_exempt(size) if lamports is None else lamports,
                space=size,
                owner=owner,
            )
        ),
        depth=depth,
    )


def system_transfer(
    ctx: InvokeContext, src: Pubkey, dst: Pubkey, lamports: int, *, depth: int = 1
) -> None:
    if lamports > 0:
        params = TransferParams(from_pubkey=src, to_pubkey=dst, lamports=lamports)
        ctx.cpi(transfer(params), depth=depth)


def token_transfer(
    ctx: InvokeContext,
    *,
    token_program: Pubkey,
    source: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: int,
    depth: int = 1,
) -> None:
    """``Transfer`` (SPL Token) or ``TransferChecked`` (Token-2022), authority signing."""
    if token_program == TOKEN_PROGRAM:
        data = Writer().u8(3).u64(amount).to_bytes()
        metas = [
            AccountMeta(source, False, True),
            AccountMeta(destination, False, True),
            AccountMeta(authority, True, False),
        ]
    else:
        decimals = mint_decimals(ctx.get(mint)) or 0
        data = Writer().u8(12).u64(amount).u8(decimals).to_bytes()
        metas = [
            AccountMeta(source, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(destination, False, True),
            AccountMeta(authority, True, False),
        ]
    ctx.cpi(Instruction(token_program, data, metas), depth=depth)
