"""Client-side instruction sequences the simulator's market (and tests) send to PumpSwap
and for pump's migration: WSOL wrap / unwrap as ``@pump-fun/pump-swap-sdk`` 1.20.0 does
(docs/protocol-pumpswap.md §4.1), and the ``migrate`` builder.

Buy on a WSOL pool: create the user's WSOL ATA idempotently, System-transfer the quote
budget into it, ``SyncNative``; create the base ATA idempotently; ``buy``; close the WSOL
ATA (the unspent SOL and its rent return to the user). Sell: create the WSOL ATA
idempotently, ``sell``, close it.
"""

from __future__ import annotations

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as ixs

from ._pump_migrate import migrate_instruction

__all__ = ["migrate_instruction", "sync_native", "unwrap_sol", "wrap_sol", "wsol_ata"]


def wsol_ata(user: Pubkey) -> Pubkey:
    """The user's WSOL associated token account (SPL Token)."""
    return A.associated_token_address(user, A.WSOL_MINT, A.TOKEN_PROGRAM_ID)


def sync_native(account: Pubkey) -> Instruction:
    """SPL Token ``SyncNative`` (data ``[17]``): count the lamports of a WSOL account."""
    return Instruction(A.TOKEN_PROGRAM_ID, bytes([17]), [AccountMeta(account, False, True)])


def wrap_sol(user: Pubkey, lamports: int) -> list[Instruction]:
    """Create the WSOL ATA (idempotent), move ``lamports`` into it, ``SyncNative``."""
    ata = wsol_ata(user)
    out = [
        ixs.create_associated_token_account_idempotent(
            payer=user, owner=user, mint=A.WSOL_MINT, token_program=A.TOKEN_PROGRAM_ID
        )
    ]
    if lamports > 0:
        out.append(transfer(TransferParams(from_pubkey=user, to_pubkey=ata, lamports=lamports)))
        out.append(sync_native(ata))
    return out


def unwrap_sol(user: Pubkey) -> Instruction:
    """Close the user's WSOL ATA: its lamports (balance and rent) go back to the user."""
    return ixs.close_account(
        account=wsol_ata(user), destination=user, owner=user, token_program=A.TOKEN_PROGRAM_ID
    )
