"""Typed results of the JSON-RPC methods we use, and the parsers that build them.

A node's reply is untrusted input: every parser checks the shape it relies on and raises
`RpcBadReply` naming the method and the missing piece, so a malformed reply is one clear error
at the client and never a `KeyError`, `TypeError` or `AttributeError` deep in the trader.
Integers are Solana's u64 (a negative or a float is malformed: orjson turns an integer beyond
u64 into a float), token amounts are decimal strings of at most 20 digits, and a transaction
`err` must be small enough to be one (`errors.is_transaction_err`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from .errors import RpcBadReply, is_transaction_err
from .untrusted import preview

__all__ = [
    "AccountInfo",
    "SignatureInfo",
    "SignatureStatus",
    "TokenAccount",
    "TokenBalance",
    "TransactionInfo",
    "parse_account_info",
    "parse_genesis_hash",
    "parse_latest_blockhash",
    "parse_signature_infos",
    "parse_signature_status",
    "parse_token_accounts",
    "parse_transaction",
    "transaction_err",
    "u64",
]

T = TypeVar("T")

U64_MAX = 2**64 - 1
_TOKEN_ACCOUNT_SIZE = 165  # SPL token account: mint 0..32, owner 32..64, amount 64..72, state 108


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
class SignatureInfo:
    """One entry of `getSignaturesForAddress`, newest first; `err` None for a success."""

    signature: Signature
    slot: int
    err: object
    block_time: int | None
    confirmation_status: str | None


@attrs.frozen
class TokenAccount:
    """One token account of `getTokenAccountsByOwner`; `amount` in base units.

    `decimals` comes from a `jsonParsed` answer; a node that cannot parse the account answers
    base64 instead, whose bytes hold no decimals (they live in the mint): then it is None.
    """

    pubkey: Pubkey
    mint: Pubkey
    owner: Pubkey
    amount: int
    decimals: int | None


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


def _fail(method: str, what: str) -> RpcBadReply:
    return RpcBadReply(f"malformed {method} reply: {what}")


def _get(obj: object, key: str, kind: type[T] | tuple[type, ...], method: str) -> T:
    if not isinstance(obj, dict) or key not in obj:
        raise _fail(method, f"missing {key!r}")
    value = obj[key]
    # bool is an int subclass; a count or amount that is `true` is malformed.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(method, f"{key!r} is {type(value).__name__}, not {kind}")
    if kind is int and not 0 <= value <= U64_MAX:  # type: ignore[operator]
        raise _fail(method, f"{key!r} is {preview(value)}, not a u64")
    return value  # type: ignore[return-value]


def _opt_int(obj: dict[str, Any], key: str, method: str) -> int | None:
    if obj.get(key) is None:
        return None
    return _get(obj, key, int, method)


def _opt_str(obj: dict[str, Any], key: str, method: str) -> str | None:
    if obj.get(key) is None:
        return None
    return _get(obj, key, str, method)


def _list(obj: object, key: str, method: str) -> list[Any]:
    """`obj[key]` as a list, `[]` when absent or null (optional arrays of Solana's replies)."""
    if not isinstance(obj, dict) or obj.get(key) is None:
        return []
    return _get(obj, key, list, method)


def u64(method: str, value: object) -> int:
    """An integer result (a slot, a balance, a fee), as Solana's u64."""
    if not _is_u64(value):
        raise _fail(method, f"{preview(value, 80)} is not an integer in u64 range")
    return value  # type: ignore[return-value]


def transaction_err(method: str, err: object) -> object:
    """A reply's `err`, checked to be small enough to be a Solana `TransactionError`."""
    if not is_transaction_err(err):
        raise _fail(method, f"'err' {preview(err, 80)} is no TransactionError")
    return err


def amount(method: str, text: object) -> int:
    """A token amount: a decimal string of a u64 (`"1000"`), never `"-1"`, `"1e3"` or `"١"`."""
    if not (isinstance(text, str) and 0 < len(text) <= 20 and text.isascii() and text.isdigit()):
        raise _fail(method, f"token amount {preview(text, 60)} is not an integer string")
    value = int(text)
    if value > U64_MAX:
        raise _fail(method, f"token amount {text} is not a u64")
    return value


def _parse(method: str, what: str, parse: Callable[[str], T], text: object) -> T:
    if not isinstance(text, str):
        raise _fail(method, f"{what} is not a string")
    try:
        return parse(text)
    except Exception:  # solders raises its own types (ParseHashError is not a ValueError)
        raise _fail(method, f"{what} {preview(text, 100)} is not valid") from None


def pubkey(method: str, text: object) -> Pubkey:
    """Parse a base58 address from a reply, as an `RpcBadReply` if it is not one."""
    return _parse(method, "pubkey", Pubkey.from_string, text)


def signature(method: str, text: object) -> Signature:
    """Parse a base58 signature from a reply, as an `RpcBadReply` if it is not one."""
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
    except ValueError:  # binascii.Error, or a non-ASCII string (found by hypothesis)
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
    return SignatureStatus(
        slot=_get(value, "slot", int, method),
        confirmations=_opt_int(value, "confirmations", method),
        err=transaction_err(method, value.get("err")),
        confirmation_status=_opt_str(value, "confirmationStatus", method),
    )


def _decimals(obj: object, method: str) -> int:
    decimals = _get(obj, "decimals", int, method)
    if decimals > 255:
        raise _fail(method, f"decimals {decimals} is not a u8")
    return decimals


def _token_balances(method: str, entries: list[Any]) -> tuple[TokenBalance, ...]:
    balances = []
    for entry in entries:
        ui_amount = _get(entry, "uiTokenAmount", dict, method)
        owner = entry.get("owner")
        balances.append(
            TokenBalance(
                account_index=_get(entry, "accountIndex", int, method),
                mint=pubkey(method, _get(entry, "mint", str, method)),
                owner=None if owner is None else pubkey(method, owner),
                amount=amount(method, _get(ui_amount, "amount", str, method)),
                decimals=_decimals(ui_amount, method),
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
        key = _get(entry, "pubkey", str, method) if isinstance(entry, dict) else entry
        keys.append(pubkey(method, key))
    loaded = meta.get("loadedAddresses")
    if isinstance(loaded, dict):
        for part in ("writable", "readonly"):
            keys.extend(pubkey(method, k) for k in _list(loaded, part, method))
    return tuple(keys)


def _is_u64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= U64_MAX


def _int_list(method: str, meta: dict[str, Any], key: str) -> tuple[int, ...]:
    values: Sequence[object] = _get(meta, key, list, method)
    if not all(_is_u64(v) for v in values):
        raise _fail(method, f"{key!r} holds a non-integer (or one outside u64)")
    return tuple(values)  # type: ignore[arg-type]


def parse_transaction(result: object) -> TransactionInfo | None:
    """`getTransaction` (json or jsonParsed encoding, legacy or v0) → TransactionInfo."""
    method = "getTransaction"
    if result is None:
        return None
    meta = _get(result, "meta", dict, method)
    transaction = _get(result, "transaction", dict, method)
    sigs = _list(transaction, "signatures", method)
    logs = _list(meta, "logMessages", method)
    if not all(isinstance(line, str) for line in logs):
        raise _fail(method, "logMessages holds a non-string")
    info = TransactionInfo(
        signature=signature(method, sigs[0]) if sigs else None,
        slot=_get(result, "slot", int, method),
        block_time=_opt_int(result, "blockTime", method),  # type: ignore[arg-type]
        err=transaction_err(method, meta.get("err")),
        fee=_get(meta, "fee", int, method),
        log_messages=tuple(logs),
        account_keys=_account_keys(method, transaction.get("message"), meta),
        pre_balances=_int_list(method, meta, "preBalances"),
        post_balances=_int_list(method, meta, "postBalances"),
        pre_token_balances=_token_balances(method, _list(meta, "preTokenBalances", method)),
        post_token_balances=_token_balances(method, _list(meta, "postTokenBalances", method)),
        compute_units_consumed=_opt_int(meta, "computeUnitsConsumed", method),
    )
    if not len(info.account_keys) == len(info.pre_balances) == len(info.post_balances):
        raise _fail(method, "account keys and balances differ in length")
    return info


def parse_signature_infos(result: object) -> list[SignatureInfo]:
    """`getSignaturesForAddress` → its entries, in the node's order (newest first)."""
    method = "getSignaturesForAddress"
    if not isinstance(result, list):
        raise _fail(method, "expected a list")
    infos = []
    for entry in result:
        if not isinstance(entry, dict):
            raise _fail(method, "an entry is not an object")
        infos.append(
            SignatureInfo(
                signature=signature(method, _get(entry, "signature", str, method)),
                slot=_get(entry, "slot", int, method),
                err=transaction_err(method, entry.get("err")),
                block_time=_opt_int(entry, "blockTime", method),
                confirmation_status=_opt_str(entry, "confirmationStatus", method),
            )
        )
    return infos


def _parsed_token_account(method: str, key: Pubkey, data: dict[str, Any]) -> TokenAccount:
    """The `jsonParsed` form: `{"program", "parsed": {"type": "account", "info": {...}}}`."""
    parsed = _get(data, "parsed", dict, method)
    if parsed.get("type") != "account":
        raise _fail(method, f"{key} is not a token account")
    info = _get(parsed, "info", dict, method)
    token_amount = _get(info, "tokenAmount", dict, method)
    return TokenAccount(
        pubkey=key,
        mint=pubkey(method, _get(info, "mint", str, method)),
        owner=pubkey(method, _get(info, "owner", str, method)),
        amount=amount(method, _get(token_amount, "amount", str, method)),
        decimals=_decimals(token_amount, method),
    )


def _raw_token_account(method: str, key: Pubkey, raw: bytes) -> TokenAccount:
    """SPL token layout (Token-2022 appends extensions after the same 165 bytes)."""
    if len(raw) < _TOKEN_ACCOUNT_SIZE or raw[108] == 0:  # state 0: uninitialized
        raise _fail(method, f"{key} is not an initialized token account")
    return TokenAccount(
        pubkey=key,
        mint=Pubkey.from_bytes(raw[0:32]),
        owner=Pubkey.from_bytes(raw[32:64]),
        amount=int.from_bytes(raw[64:72], "little"),
        decimals=None,
    )


def parse_token_accounts(result: object) -> list[TokenAccount]:
    """`getTokenAccountsByOwner` with `jsonParsed` (or the base64 a node falls back to)."""
    method = "getTokenAccountsByOwner"
    entries = context_value(method, result)
    if not isinstance(entries, list):
        raise _fail(method, "value is not a list")
    accounts = []
    for entry in entries:
        key = pubkey(method, _get(entry, "pubkey", str, method))
        data: object = _get(_get(entry, "account", dict, method), "data", (dict, list), method)
        if isinstance(data, dict):
            accounts.append(_parsed_token_account(method, key, data))
            continue
        info = parse_account_info(method, entry["account"])
        assert info is not None  # the account is a dict, checked above
        accounts.append(_raw_token_account(method, key, info.data))
    return accounts


def parse_genesis_hash(result: object) -> str:
    """`getGenesisHash` → the base58 hash naming the cluster (mainnet, devnet, a simulator)."""
    method = "getGenesisHash"
    return str(_parse(method, "genesis hash", Hash.from_string, result))
