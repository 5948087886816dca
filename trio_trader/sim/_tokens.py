"""Reading SPL Token / Token-2022 account bytes, and the RPC's token-balance JSON.

Both token programs share the first 165 bytes of a token account (mint @0, owner @32,
amount u64 @64) and the first 82 bytes of a mint (supply u64 @36, decimals u8 @44);
Token-2022 appends an account-type byte (1 = mint, 2 = account) at offset 165 followed by
its extensions. That is all the ledger needs: balances for ``getTransaction``'s
``preTokenBalances`` / ``postTokenBalances`` and for :meth:`Ledger.token_balance`.
"""

from __future__ import annotations

from typing import Any

import attrs
from solders.account import Account
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A

__all__ = [
    "MINT_SIZE",
    "TOKEN_2022_PROGRAM",
    "TOKEN_PROGRAM",
    "TokenAccount",
    "mint_decimals",
    "parse_token_account",
    "token_balance_json",
    "ui_amount_string",
    "ui_token_amount",
]

TOKEN_PROGRAM = A.TOKEN_PROGRAM_ID
TOKEN_2022_PROGRAM = A.TOKEN_2022_PROGRAM_ID
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
_ACCOUNT_SIZE = 165
MINT_SIZE = 82


@attrs.frozen
class TokenAccount:
    mint: Pubkey
    owner: Pubkey
    amount: int
    program: Pubkey


def parse_token_account(acct: Account | None) -> TokenAccount | None:
    """The token account in ``acct``, or ``None`` if it is not an initialized one."""
    if acct is None or acct.owner not in TOKEN_PROGRAMS:
        return None
    data = bytes(acct.data)
    if len(data) < _ACCOUNT_SIZE:
        return None
    if len(data) > _ACCOUNT_SIZE and data[_ACCOUNT_SIZE] != 2:
        return None  # a Token-2022 mint (or other) with extensions
    if data[108] == 0:  # state: 0 = uninitialized
        return None
    return TokenAccount(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=int.from_bytes(data[64:72], "little"),
        program=acct.owner,
    )


def mint_decimals(acct: Account | None) -> int | None:
    """Decimals of a mint account, ``None`` if ``acct`` is not an initialized mint."""
    if acct is None or acct.owner not in TOKEN_PROGRAMS:
        return None
    data = bytes(acct.data)
    if len(data) < MINT_SIZE or data[45] == 0:  # is_initialized @45
        return None
    if len(data) > _ACCOUNT_SIZE and data[_ACCOUNT_SIZE] != 1:
        return None
    return data[44]


def ui_amount_string(amount: int, decimals: int) -> str:
    """``"826925208.216021"``, ``"0"``, ``"1"``: the RPC's trimmed decimal string."""
    if decimals == 0:
        return str(amount)
    digits = str(amount).rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def ui_token_amount(amount: int, decimals: int, *, zero_is_null: bool = False) -> dict[str, Any]:
    """A ``UiTokenAmount``; transaction token balances print a zero ``uiAmount`` as null."""
    ui: float | None = amount / 10**decimals
    if zero_is_null and amount == 0:
        ui = None
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": ui,
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def token_balance_json(index: int, tok: TokenAccount, decimals: int) -> dict[str, Any]:
    """One entry of ``preTokenBalances`` / ``postTokenBalances``."""
    return {
        "accountIndex": index,
        "mint": str(tok.mint),
        "owner": str(tok.owner),
        "programId": str(tok.program),
        "uiTokenAmount": ui_token_amount(tok.amount, decimals, zero_is_null=True),
    }
