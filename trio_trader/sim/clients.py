"""Client-side instructions the simulator's market (and tests) send that the pure ``pump``
package does not build: WSOL wrap / unwrap as ``@pump-fun/pump-swap-sdk`` 1.20.0 does
(docs/protocol-pumpswap.md §4.1), pump's ``migrate`` / ``migrate_v2``, and a ``create_v2``
quoted in a token (the three optional trailing accounts of PROTOCOL.md §4.2).

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
from ._pump_migrate_v2 import migrate_v2_instruction

__all__ = [
    "migrate_instruction",
    "migrate_v2_instruction",
    "quoted_create_v2",
    "sync_native",
    "unwrap_sol",
    "wrap_sol",
    "wsol_ata",
]


def quoted_create_v2(
    create_v2: Instruction, quote_mint: Pubkey, quote_token_program: Pubkey = A.TOKEN_PROGRAM_ID
) -> Instruction:
    """``create_v2`` (from :func:`trio_trader.pump.instructions.create_v2`) for a curve
    quoted in ``quote_mint``: appends ``quote_mint``, the curve's quote ATA (W) and
    ``quote_token_program``."""
    mint = create_v2.accounts[0].pubkey
    curve = A.bonding_curve_pda(mint)
    extra = [
        AccountMeta(quote_mint, False, False),
        AccountMeta(
            A.associated_token_address(curve, quote_mint, quote_token_program), False, True
        ),
        AccountMeta(quote_token_program, False, False),
    ]
    return Instruction(create_v2.program_id, bytes(create_v2.data), [*create_v2.accounts, *extra])


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
