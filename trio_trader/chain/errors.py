"""Errors raised by the chain layer, grouped by what the caller should do about them.

```
RpcError                     the node answered, but not with a usable result: do not retry blindly
 ├── RpcRateLimited          HTTP 429 / JSON-RPC -32429: wait `retry_after` seconds, then retry
 ├── RpcUnavailable          HTTP 5xx, connection errors, -32005 node unhealthy, every endpoint
 │                           down: retry later or on another endpoint
 ├── RpcBadReply             the reply itself is unusable: not JSON, not UTF-8, nested too deep,
 │   │                       or the wrong shape (a field missing, of the wrong type, out of range)
 │   └── RpcReplyTooLarge    the body passed `RpcClient.max_reply_bytes`; refused mid-stream
 └── TransactionError        the node refused or executed a transaction that failed (-32002
                             preflight failure, or a failed `meta.err`): the transaction is dead;
                             `err` is the JSON error, `program_error_code` the custom code if any
```

The client retries `RpcRateLimited` and `RpcUnavailable` itself (see `rpc.RpcClient`); what
reaches the caller has already survived those retries. `error_from_rpc` turns a JSON-RPC `error`
object into the right class, so every reply is classified in one place.
"""

from __future__ import annotations

from typing import Any

from .untrusted import bounded, preview

__all__ = [
    "NODE_UNHEALTHY",
    "PREFLIGHT_FAILURE",
    "RATE_LIMITED",
    "RpcBadReply",
    "RpcError",
    "RpcRateLimited",
    "RpcReplyTooLarge",
    "RpcUnavailable",
    "TransactionError",
    "error_from_rpc",
    "is_transaction_err",
    "transaction_error_parts",
]

# Solana's JSON-RPC server error codes (solana-rpc-client-api `custom_error.rs`).
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_NOT_AVAILABLE = -32004
NODE_UNHEALTHY = -32005
MIN_CONTEXT_SLOT_NOT_REACHED = -32016
# Not from Solana itself: the code hosted providers use for their request quotas.
RATE_LIMITED = -32429
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

_UNAVAILABLE_CODES = frozenset({NODE_UNHEALTHY, MIN_CONTEXT_SLOT_NOT_REACHED})
_RATE_LIMITED_CODES = frozenset({RATE_LIMITED, 429})


class RpcError(Exception):
    """The node's answer cannot be used; `code`/`message`/`data` as in the JSON-RPC error."""

    def __init__(self, message: str, *, code: int | None = None, data: object = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data


class RpcRateLimited(RpcError):
    """The node asked us to slow down; `retry_after` is its `Retry-After` in seconds, if given."""

    def __init__(
        self,
        message: str = "rate limited",
        *,
        code: int | None = None,
        data: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, data=data)
        self.retry_after = retry_after


class RpcUnavailable(RpcError):
    """The node (or every node) cannot serve us now: 5xx, connection error, unhealthy."""


class RpcBadReply(RpcError):
    """The node's reply is malformed: not JSON, too deep, or not the shape the method returns.

    Raised at once (no retry: the same node would likely answer the same way) and counted in
    `RpcStats.bad_replies`.
    """


class RpcReplyTooLarge(RpcBadReply):
    """The reply body is larger than `limit` bytes; it was refused before being read whole."""

    def __init__(self, message: str, *, limit: int, code: int | None = None) -> None:
        super().__init__(message, code=code)
        self.limit = limit


ERR_MAX_DEPTH = 8
ERR_MAX_ITEMS = 64
"""Solana's `TransactionError` JSON is at most 3 levels and a handful of values; anything
bigger is not one, and must not reach a log line or the database as if it were."""


def is_transaction_err(err: object) -> bool:
    """Whether `err` is small enough to be a `TransactionError` JSON (or None)."""
    return bounded(err, depth=ERR_MAX_DEPTH, items=ERR_MAX_ITEMS)


class TransactionError(RpcError):
    """A transaction failed; `err` is Solana's JSON `TransactionError`.

    `name` is the error variant (`"BlockhashNotFound"`, `"InsufficientFundsForRent"`, or the
    instruction error inside `InstructionError`, e.g. `"Custom"`); `program_error_code` is the
    number inside `{"Custom": n}`. Mapping that number to a program's own error name is the
    program layer's job (`pump.errors`), since this layer knows no program.
    """

    def __init__(
        self,
        message: str,
        *,
        err: object,
        code: int | None = None,
        data: object = None,
    ) -> None:
        super().__init__(message, code=code, data=data)
        self.err = err
        self.name, self.program_error_code, self.instruction_index = transaction_error_parts(err)


def transaction_error_parts(err: object) -> tuple[str, int | None, int | None]:
    """Split a JSON `TransactionError` into (variant name, custom code, instruction index).

    The shapes are serde's: a unit variant is a string (`"AccountInUse"`), others are a one-key
    object (`{"InsufficientFundsForRent": {"account_index": 2}}`), and an instruction error is
    `{"InstructionError": [index, "InvalidAccountData" | {"Custom": 6003}]}`.
    """
    if isinstance(err, str):
        return err, None, None
    if not isinstance(err, dict) or len(err) != 1:
        return "Unknown", None, None
    (variant, payload), *_ = err.items()
    if variant != "InstructionError":
        return str(variant), None, None
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        return "InstructionError", None, None
    index, inner = payload
    if isinstance(inner, str):
        return inner, None, index
    if isinstance(inner, dict) and len(inner) == 1:
        (name, value), *_ = inner.items()
        code = value if name == "Custom" and isinstance(value, int) else None
        return str(name), code, index
    return "InstructionError", None, index


def error_from_rpc(error: object, *, retry_after: float | None = None) -> RpcError:
    """Classify a JSON-RPC `error` member (`{"code", "message", "data"}`) into our tree."""
    if not isinstance(error, dict):
        return RpcBadReply(f"malformed JSON-RPC error member: {preview(error)}")
    code = error.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = error.get("message", "no message")
    if not isinstance(message, str):
        message = preview(message)
    elif len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    data: Any = error.get("data")
    if code in _RATE_LIMITED_CODES:
        return RpcRateLimited(message, code=code, data=data, retry_after=retry_after)
    if code in _UNAVAILABLE_CODES:
        return RpcUnavailable(message, code=code, data=data)
    if code == PREFLIGHT_FAILURE and isinstance(data, dict) and data.get("err") is not None:
        if is_transaction_err(data["err"]):
            return TransactionError(message, err=data["err"], code=code, data=data)
        return RpcBadReply(f"{message}: an 'err' that is no TransactionError", code=code)
    return RpcError(message, code=code, data=data)


_MAX_MESSAGE = 1000  # an error message is a sentence; the rest would only flood the logs
