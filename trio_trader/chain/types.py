"""Typed results of the JSON-RPC methods we use, and the parsers that build them.

A node's reply is untrusted input: every parser checks the shape it relies on and raises
`RpcError` naming the method and the missing piece, so a malformed reply is one clear error at
the client and never an `AttributeError` deep in the trader.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from .errors import RpcError

__all__ = [
    "AccountInfo",
    "SignatureStatus",
    "TokenBalance",
    "TransactionInfo",
    "parse_account_info",
    "parse_latest_blockhash",
    "parse_signature_status",
    "parse_transaction",
]

T = TypeVar("T")


@attrs.frozen
class AccountInfo:
    """An account as `getAccountInfo` returns it with `encoding: "base64"`."""

    lamports: int
    owner: Pubkey
    data: bytes
    executable: bool


@attrs.frozen
class SignatureStatus:
    """One entry of `getSignatureStatuses`; `confirmations` is None once rooted."""

    slot: int
    confirmations: int | None
    err: object
    confirmation_status: str | None


@attrs.frozen
class TokenBalance:
    """One entry of `meta.preTokenBalances` / `postTokenBalances`, amount in base units."""

    account_index: int
    mint: Pubkey
    owner: Pubkey | None
    amount: int
    decimals: int


@attrs.frozen
class TransactionInfo:
    """What `getTransaction` tells about an executed transaction.

    `account_keys` are the static keys followed by the lookup-table keys (writable, then
    readonly), which is the order the balance arrays are indexed in.
    """

    signature: Signature | None
    slot: int
    block_time: int | None
    err: object
    fee: int
    log_messages: tuple[str, ...]
    account_keys: tuple[Pubkey, ...]
    pre_balances: tuple[int, ...]
    post_balances: tuple[int, ...]
    pre_token_balances: tuple[TokenBalance, ...]
    post_token_balances: tuple[TokenBalance, ...]
    compute_units_consumed: int | None = None

    def sol_change(self, owner: Pubkey) -> int:
        """Lamports gained (negative: spent, fee included) by `owner`'s system account."""
        return sum(
            post - pre
            for key, pre, post in zip(
                self.account_keys, self.pre_balances, self.post_balances, strict=False
            )
            if key == owner
        )

    def token_change(self, owner: Pubkey, mint: Pubkey) -> int:
        """Base units of `mint` gained by all of `owner`'s token accounts in this transaction.

        A token account created in the transaction has no pre entry and one closed in it has no
        post entry; summing each side separately counts both correctly as 0.
        """

        def total(balances: tuple[TokenBalance, ...]) -> int:
            return sum(b.amount for b in balances if b.owner == owner and b.mint == mint)

        return total(self.post_token_balances) - total(self.pre_token_balances)


def _fail(method: str, what: str) -> RpcError:
    return RpcError(f"malformed {method} reply: {what}")


def _get(obj: object, key: str, kind: type[T] | tuple[type, ...], method: str) -> T:
    if not isinstance(obj, dict) or key not in obj:
        raise _fail(method, f"missing {key!r}")
    value = obj[key]
    # bool is an int subclass; a count or amount that is `true` is malformed.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(method, f"{key!r} is {type(value).__name__}, not {kind}")
    return value  # type: ignore[return-value]


def _opt_int(obj: dict[str, Any], key: str, method: str) -> int | None:
    if obj.get(key) is None:
        return None
    return _get(obj, key, int, method)


def _parse(method: str, what: str, parse: Callable[[str], T], text: object) -> T:
    if not isinstance(text, str):
        raise _fail(method, f"{what} is not a string")
    try:
        return parse(text)
    except Exception:  # solders raises its own types (ParseHashError is not a ValueError)
        raise _fail(method, f"{what} {text!r:.100} is not valid") from None


def pubkey(method: str, text: object) -> Pubkey:
    """Parse a base58 address from a reply, as an `RpcError` if it is not one."""
    return _parse(method, "pubkey", Pubkey.from_string, text)


def signature(method: str, text: object) -> Signature:
    """Parse a base58 signature from a reply, as an `RpcError` if it is not one."""
    return _parse(method, "signature", Signature.from_string, text)


def context_value(method: str, result: object) -> Any:
    """The `value` of an `{"context": {...}, "value": ...}` result."""
    if not isinstance(result, dict) or "value" not in result:
        raise _fail(method, "missing 'value'")
    return result["value"]


def parse_latest_blockhash(result: object) -> tuple[Hash, int]:
    """`getLatestBlockhash` → (blockhash, lastValidBlockHeight)."""
    method = "getLatestBlockhash"
    value = context_value(method, result)
    blockhash = _parse(method, "blockhash", Hash.from_string, _get(value, "blockhash", str, method))
    return blockhash, _get(value, "lastValidBlockHeight", int, method)


def parse_account_info(method: str, value: object) -> AccountInfo | None:
    """One account of `getAccountInfo`/`getMultipleAccounts` (base64), or None if absent."""
    if value is None:
        return None
    data = _get(value, "data", list, method)
    if len(data) != 2 or data[1] != "base64" or not isinstance(data[0], str):
        raise _fail(method, "account data is not [<base64>, 'base64']")
    try:
        raw = base64.b64decode(data[0], validate=True)
    except binascii.Error:
        raise _fail(method, "account data is not valid base64") from None
    return AccountInfo(
        lamports=_get(value, "lamports", int, method),
        owner=pubkey(method, _get(value, "owner", str, method)),
        data=raw,
        executable=_get(value, "executable", bool, method),
    )


def parse_signature_status(value: object) -> SignatureStatus | None:
    """One entry of `getSignatureStatuses`' value list (None: unknown to the node)."""
    method = "getSignatureStatuses"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(method, "status is not an object")
    status = value.get("confirmationStatus")
    return SignatureStatus(
        slot=_get(value, "slot", int, method),
        confirmations=_opt_int(value, "confirmations", method),
        err=value.get("err"),
        confirmation_status=status if isinstance(status, str) else None,
    )


def _token_balances(method: str, entries: object) -> tuple[TokenBalance, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise _fail(method, "token balances are not a list")
    balances = []
    for entry in entries:
        amount = _get(_get(entry, "uiTokenAmount", dict, method), "amount", str, method)
        if not amount.isdigit():
            raise _fail(method, f"token amount {amount!r:.40} is not an integer")
        owner = entry.get("owner")
        balances.append(
            TokenBalance(
                account_index=_get(entry, "accountIndex", int, method),
                mint=pubkey(method, _get(entry, "mint", str, method)),
                owner=None if owner is None else pubkey(method, owner),
                amount=int(amount),
                decimals=_get(entry["uiTokenAmount"], "decimals", int, method),
            )
        )
    return tuple(balances)


def _account_keys(method: str, message: object, meta: dict[str, Any]) -> tuple[Pubkey, ...]:
    """Static keys + loaded keys, accepting `json` (strings) and `jsonParsed` (objects) shapes.

    With `jsonParsed` the node already appends the lookup-table keys (each marked with
    `"source": "lookupTable"`); with `json` they are in `meta.loadedAddresses`.
    """
    keys: list[Pubkey] = []
    for entry in _get(message, "accountKeys", list, method):
        keys.append(pubkey(method, entry["pubkey"] if isinstance(entry, dict) else entry))
    loaded = meta.get("loadedAddresses")
    if isinstance(loaded, dict):
        for part in ("writable", "readonly"):
            keys.extend(pubkey(method, k) for k in loaded.get(part) or ())
    return tuple(keys)


def _int_list(method: str, meta: dict[str, Any], key: str) -> tuple[int, ...]:
    values: Sequence[object] = _get(meta, key, list, method)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise _fail(method, f"{key!r} holds a non-integer")
    return tuple(values)  # type: ignore[arg-type]


def parse_transaction(result: object) -> TransactionInfo | None:
    """`getTransaction` (json or jsonParsed encoding, legacy or v0) → TransactionInfo."""
    method = "getTransaction"
    if result is None:
        return None
    meta = _get(result, "meta", dict, method)
    transaction = _get(result, "transaction", dict, method)
    sigs = transaction.get("signatures")
    logs = meta.get("logMessages") or []
    if not all(isinstance(line, str) for line in logs):
        raise _fail(method, "logMessages holds a non-string")
    info = TransactionInfo(
        signature=signature(method, sigs[0]) if isinstance(sigs, list) and sigs else None,
        slot=_get(result, "slot", int, method),
        block_time=_opt_int(result, "blockTime", method),  # type: ignore[arg-type]
        err=meta.get("err"),
        fee=_get(meta, "fee", int, method),
        log_messages=tuple(logs),
        account_keys=_account_keys(method, transaction.get("message"), meta),
        pre_balances=_int_list(method, meta, "preBalances"),
        post_balances=_int_list(method, meta, "postBalances"),
        pre_token_balances=_token_balances(method, meta.get("preTokenBalances")),
        post_token_balances=_token_balances(method, meta.get("postTokenBalances")),
        compute_units_consumed=_opt_int(meta, "computeUnitsConsumed", method),
    )
    if not len(info.account_keys) == len(info.pre_balances) == len(info.post_balances):
        raise _fail(method, "account keys and balances differ in length")
    return info
