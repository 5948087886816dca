"""JSON shapes of Solana's RPC: accounts, token amounts, transactions.

Everything here is a pure function from solders values (and the ledger's
``ExecutedTransaction``) to the exact JSON a mainnet RPC node returns, so that a client
written against mainnet parses the simulator's answers with no special case. Shapes
follow agave's ``rpc-client-types`` / ``transaction-status`` crates.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import base58
from solders.account import Account
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from trio_trader.pump import addresses as A
from trio_trader.sim._node_types import is_writable
from trio_trader.sim._tokens import (
    MINT_SIZE,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_PROGRAMS,
    ui_token_amount,
)

U64_MAX = 2**64 - 1
TOKEN_ACCOUNT_SIZE = 165

DecimalsOf = Callable[[Pubkey], int | None]


class EncodingError(ValueError):
    """An encoding the request asked for that this server cannot produce."""


# ------------------------------------------------------------ token layouts
def _coption_key(data: bytes, offset: int) -> str | None:
    if int.from_bytes(data[offset : offset + 4], "little") == 0:
        return None
    return str(Pubkey.from_bytes(data[offset + 4 : offset + 36]))


def mint_decimals(account: Account | None) -> int | None:
    if account is None or account.owner not in TOKEN_PROGRAMS or len(account.data) < MINT_SIZE:
        return None
    return bytes(account.data)[44]


def is_token_account(account: Account | None) -> bool:
    if account is None or account.owner not in TOKEN_PROGRAMS:
        return False
    data = bytes(account.data)
    if len(data) == TOKEN_ACCOUNT_SIZE:
        return True
    return len(data) > TOKEN_ACCOUNT_SIZE and data[TOKEN_ACCOUNT_SIZE] == 2  # AccountType::Account


def token_account_fields(account: Account) -> tuple[Pubkey, Pubkey, int]:
    """``(mint, owner, amount)`` of a token account (either program)."""
    data = bytes(account.data)
    return (
        Pubkey.from_bytes(data[0:32]),
        Pubkey.from_bytes(data[32:64]),
        int.from_bytes(data[64:72], "little"),
    )


_EXTENSIONS = {7: "immutableOwner", 8: "memoTransfer", 9: "nonTransferable"}


def _extensions(data: bytes) -> list[dict[str, Any]]:
    out = []
    offset = TOKEN_ACCOUNT_SIZE + 1
    while offset + 4 <= len(data):
        kind = int.from_bytes(data[offset : offset + 2], "little")
        length = int.from_bytes(data[offset + 2 : offset + 4], "little")
        if kind == 0:
            break
        out.append({"extension": _EXTENSIONS.get(kind, "unparseableExtension")})
        offset += 4 + length
    return out


def parse_token_account(account: Account, decimals_of: DecimalsOf) -> dict[str, Any] | None:
    """The ``jsonParsed`` form of a token or mint account, None for anything else."""
    data = bytes(account.data)
    program = "spl-token" if account.owner == TOKEN_PROGRAM else "spl-token-2022"
    if is_token_account(account):
        mint, owner, amount = token_account_fields(account)
        decimals = decimals_of(mint)
        if decimals is None:
            return None
        info: dict[str, Any] = {
            "isNative": int.from_bytes(data[109:113], "little") == 1,
            "mint": str(mint),
            "owner": str(owner),
            "state": {1: "initialized", 2: "frozen"}.get(data[108], "uninitialized"),
            "tokenAmount": ui_token_amount(amount, decimals),
        }
        delegate = _coption_key(data, 72)
        if delegate is not None:
            info["delegate"] = delegate
            delegated = int.from_bytes(data[121:129], "little")
            info["delegatedAmount"] = ui_token_amount(delegated, decimals)
        close_authority = _coption_key(data, 129)
        if close_authority is not None:
            info["closeAuthority"] = close_authority
        if account.owner == TOKEN_2022_PROGRAM:
            info["extensions"] = _extensions(data)
        parsed = {"info": info, "type": "account"}
    elif account.owner in TOKEN_PROGRAMS and len(data) >= MINT_SIZE and data[45] == 1:
        parsed = {
            "info": {
                "decimals": data[44],
                "freezeAuthority": _coption_key(data, 46),
                "isInitialized": True,
                "mintAuthority": _coption_key(data, 0),
                "supply": str(int.from_bytes(data[36:44], "little")),
            },
            "type": "mint",
        }
    else:
        return None
    return {"program": program, "parsed": parsed, "space": len(data)}


# ----------------------------------------------------------------- accounts
MAX_BASE58_BYTES = 128
TOO_LARGE_FOR_BASE58 = "error: data too large for bs58 encoding"


def encode_data(data: bytes, encoding: str) -> Any:
    """Account or transaction bytes in a UiAccountData shape (agave's ``encode_bs58`` rule:
    over 128 bytes, base58 data is replaced by an error string)."""
    if encoding == "base64":
        return [base64.b64encode(data).decode(), "base64"]
    text = (
        base58.b58encode(data).decode() if len(data) <= MAX_BASE58_BYTES else TOO_LARGE_FOR_BASE58
    )
    if encoding == "base58":
        return [text, "base58"]
    if encoding == "binary":
        return text
    raise EncodingError(f"Invalid params: unsupported encoding: {encoding}")


def encode_account(
    account: Account,
    *,
    encoding: str = "binary",
    data_slice: dict[str, int] | None = None,
    decimals_of: DecimalsOf = lambda _mint: None,
) -> dict[str, Any]:
    """A ``UiAccount``; ``jsonParsed`` falls back to base64 for non-token accounts."""
    raw = bytes(account.data)
    data: Any = None
    if encoding == "jsonParsed":
        data = parse_token_account(account, decimals_of)
        encoding = "base64"
    if data is None:
        if data_slice is not None:
            offset = int(data_slice.get("offset", 0))
            raw = raw[offset : offset + int(data_slice.get("length", len(raw)))]
        data = encode_data(raw, encoding)
    return {
        "data": data,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": U64_MAX,
        "space": len(account.data),
    }


# ------------------------------------------------------------ transactions
def token_balances_json(entries: Sequence[Any]) -> list[dict[str, Any]]:
    """The ledger's pre/post token balances, already in their JSON form."""
    return list(entries)


def _inner_json(inner: Any, keys: Sequence[Pubkey], parsed: bool) -> list[dict[str, Any]]:
    out = []
    for group in inner or []:
        instructions = []
        for ix in group["instructions"]:
            if parsed and "programIdIndex" in ix:
                instructions.append(
                    _parsed_instruction(
                        keys[ix["programIdIndex"]],
                        [keys[i] for i in ix["accounts"]],
                        base58.b58decode(ix["data"]),
                        ix.get("stackHeight"),
                    )
                )
            else:
                instructions.append(ix)
        out.append({"index": group["index"], "instructions": instructions})
    return out


def _parsed_instruction(
    program: Pubkey, accounts: Sequence[Pubkey], data: bytes, stack_height: int | None
) -> dict[str, Any]:
    """jsonParsed instruction: System transfers parsed, anything else left raw."""
    if program == A.SYSTEM_PROGRAM_ID and len(data) == 12 and data[:4] == b"\x02\x00\x00\x00":
        return {
            "parsed": {
                "info": {
                    "destination": str(accounts[1]),
                    "lamports": int.from_bytes(data[4:], "little"),
                    "source": str(accounts[0]),
                },
                "type": "transfer",
            },
            "program": "system",
            "programId": str(program),
            "stackHeight": stack_height,
        }
    return {
        "accounts": [str(a) for a in accounts],
        "data": base58.b58encode(data).decode(),
        "programId": str(program),
        "stackHeight": stack_height,
    }


def transaction_version(tx: VersionedTransaction) -> str | int:
    return "legacy" if str(tx.version()).endswith("Legacy") else 0


def encode_message(tx: VersionedTransaction, parsed: bool) -> dict[str, Any]:
    message = tx.message
    keys = list(message.account_keys)
    header = message.header
    out: dict[str, Any] = {}
    if parsed:
        out["accountKeys"] = [
            {
                "pubkey": str(key),
                "signer": message.is_signer(i),
                "source": "transaction",
                "writable": is_writable(message, i),
            }
            for i, key in enumerate(keys)
        ]
        out["instructions"] = [
            _parsed_instruction(
                keys[ix.program_id_index],
                [keys[i] for i in bytes(ix.accounts)],
                bytes(ix.data),
                None,
            )
            for ix in message.instructions
        ]
    else:
        out["accountKeys"] = [str(key) for key in keys]
        out["header"] = {
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            "numRequiredSignatures": header.num_required_signatures,
        }
        out["instructions"] = [
            {
                "accounts": list(bytes(ix.accounts)),
                "data": base58.b58encode(bytes(ix.data)).decode(),
                "programIdIndex": ix.program_id_index,
                "stackHeight": None,
            }
            for ix in message.instructions
        ]
    out["recentBlockhash"] = str(message.recent_blockhash)
    if transaction_version(tx) == 0:
        out["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "readonlyIndexes": list(bytes(lookup.readonly_indexes)),
                "writableIndexes": list(bytes(lookup.writable_indexes)),
            }
            for lookup in getattr(message, "address_table_lookups", [])
        ]
    return out


def encode_meta(executed: Any, keys: Sequence[Pubkey], parsed: bool) -> dict[str, Any]:
    err = executed.err
    meta: dict[str, Any] = {
        "computeUnitsConsumed": int(executed.compute_units_consumed),
        "err": err,
        "fee": int(executed.fee),
        "innerInstructions": _inner_json(executed.inner_instructions, keys, parsed),
        "logMessages": list(executed.logs),
        "postBalances": [int(b) for b in executed.post_balances],
        "postTokenBalances": token_balances_json(executed.post_token_balances),
        "preBalances": [int(b) for b in executed.pre_balances],
        "preTokenBalances": token_balances_json(executed.pre_token_balances),
        "rewards": [],
        "status": {"Ok": None} if err is None else {"Err": err},
    }
    if not parsed:
        meta["loadedAddresses"] = {"readonly": [], "writable": []}
    return meta


def unsupported_version(version: str | int, max_version: object) -> int | None:
    """The version a client cannot take at ``maxSupportedTransactionVersion``, or None.

    Without the option a node encodes only legacy transactions; with it, versions up to
    it (what agave does for getTransaction, getBlock and blockSubscribe).
    """
    if version == "legacy":
        return None
    assert isinstance(version, int)
    if not isinstance(max_version, int) or isinstance(max_version, bool) or max_version < version:
        return version
    return None


def encode_transaction(
    tx: VersionedTransaction,
    executed: Any,
    *,
    encoding: str,
    block_time: int | None,
    version: int | None = None,
) -> dict[str, Any]:
    """The ``result`` of getTransaction (``json``, ``jsonParsed``, ``base64``, ``base58``).

    ``version`` overrides the version the bytes have (``Node.mark_version``).
    """
    keys = [Pubkey.from_string(str(k)) for k in executed.account_keys] or list(
        tx.message.account_keys
    )
    parsed = encoding == "jsonParsed"
    transaction: Any
    if encoding in ("json", "jsonParsed"):
        transaction = {
            "message": encode_message(tx, parsed),
            "signatures": [str(s) for s in tx.signatures],
        }
    elif encoding == "base64":
        transaction = encode_data(bytes(tx), encoding)
    elif encoding == "base58":
        transaction = [base58.b58encode(bytes(tx)).decode(), "base58"]
    else:
        raise EncodingError(f"Invalid params: unsupported encoding: {encoding}")
    return {
        "blockTime": block_time,
        "meta": encode_meta(executed, keys, parsed),
        "slot": int(executed.slot),
        "transaction": transaction,
        "version": transaction_version(tx) if version is None else version,
    }
