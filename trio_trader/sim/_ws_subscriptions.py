"""Solana pubsub subscriptions: parsing a subscribe request, matching node events.

Each subscription kind turns node events into ``(slot, result)`` pairs; the connection
(``ws_server``) holds every pair back until its slot reaches the subscription's
commitment, which is how one mechanism gives processed / confirmed / finalized
notifications for logs, signatures, accounts and blocks alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.pump import addresses as A
from trio_trader.sim._node_types import (
    AccountEvent,
    NodeEvent,
    SendError,
    SlotEvent,
    TxEvent,
)
from trio_trader.sim._rpc_encoding import (
    EncodingError,
    encode_account,
    encode_transaction,
    mint_decimals,
)
from trio_trader.sim.node import Node

VOTE_PROGRAM = Pubkey.from_string("Vote111111111111111111111111111111111111111")
COMMITMENTS = ("processed", "confirmed", "finalized")

Pending = tuple[int, Any]  # (slot the notification belongs to, params.result)


def invalid(message: str) -> SendError:
    return SendError(-32602, message)


def _config(params: list[Any], index: int) -> dict[str, Any]:
    if len(params) <= index or params[index] is None:
        return {}
    if not isinstance(params[index], dict):
        raise invalid("Invalid params: expected a config map.")
    config: dict[str, Any] = params[index]
    return config


def _commitment(config: dict[str, Any]) -> str:
    commitment = config.get("commitment", "finalized")
    if commitment not in COMMITMENTS:
        raise invalid(f"Invalid params: unknown variant `{commitment}`.")
    return str(commitment)


def _pubkey(value: Any) -> Pubkey:
    try:
        return Pubkey.from_string(str(value))
    except ValueError:
        raise invalid("Invalid Request: Invalid pubkey provided") from None


@attrs.define(eq=False)
class Subscription:
    """One live subscription; ``on_event`` returns the notifications an event causes."""

    method: str  # the notification method, e.g. "logsNotification"
    commitment: str
    one_shot: bool = False

    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        return []

    def initial(self, node: Node) -> list[Pending]:
        """Notifications due at subscribe time (a signature that already landed)."""
        return []


@attrs.define(eq=False)
class LogsSubscription(Subscription):
    mentions: Pubkey | None = None
    with_votes: bool = False

    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        if not isinstance(event, TxEvent):
            return []
        executed = event.executed
        keys = list(executed.account_keys)
        if self.mentions is not None and self.mentions not in keys:
            return []
        if not self.with_votes and VOTE_PROGRAM in keys:
            return []
        value = {
            "signature": str(executed.signature),
            "err": executed.err,
            "logs": list(executed.logs),
        }
        slot = int(executed.slot)
        return [(slot, {"context": {"slot": slot}, "value": value})]


@attrs.define(eq=False)
class SignatureSubscription(Subscription):
    signature: Signature = attrs.field(factory=Signature.default)
    received: bool = False

    def _notify(self, slot: int, err: object) -> list[Pending]:
        out: list[Pending] = []
        if self.received:
            out.append((-1, {"context": {"slot": slot}, "value": "receivedSignature"}))
        out.append((slot, {"context": {"slot": slot}, "value": {"err": err}}))
        return out

    def initial(self, node: Node) -> list[Pending]:
        # Only the status cache is searched, as a real node does: a signature that
        # landed longer ago than STATUS_CACHE_SLOTS is not reported, the
        # subscription just waits (for a landing that will never come).
        status = node.signature_status(self.signature, search_history=False)
        return [] if status is None else self._notify(status.slot, status.err)

    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        if isinstance(event, TxEvent) and event.executed.signature == self.signature:
            return self._notify(int(event.executed.slot), event.executed.err)
        return []


@attrs.define(eq=False)
class AccountSubscription(Subscription):
    pubkey: Pubkey = attrs.field(factory=Pubkey.default)
    encoding: str = "binary"
    last: Account | None = None

    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        if not isinstance(event, AccountEvent) or event.pubkey != self.pubkey:
            return []
        account = event.account
        if account is None:
            account = Account(lamports=0, data=b"", owner=A.SYSTEM_PROGRAM_ID)
        if account == self.last:
            return []
        self.last = account
        value = encode_account(
            account,
            encoding=self.encoding,
            decimals_of=lambda mint: mint_decimals(node.ledger.get_account(mint)),
        )
        return [(event.slot, {"context": {"slot": event.slot}, "value": value})]


@attrs.define(eq=False)
class SlotSubscription(Subscription):
    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        if isinstance(event, SlotEvent):
            return [(-1, {"parent": event.parent, "root": event.root, "slot": event.slot})]
        return []


@attrs.define(eq=False)
class BlockSubscription(Subscription):
    """Blocks as they reach the commitment; a block is complete when the next slot starts."""

    mentions: Pubkey | None = None
    encoding: str = "json"
    details: str = "full"
    max_version: int | None = None
    collected: dict[int, list[Any]] = attrs.field(factory=dict)

    def on_event(self, node: Node, event: NodeEvent) -> list[Pending]:
        if isinstance(event, TxEvent):
            executed = event.executed
            if self.mentions is None or self.mentions in list(executed.account_keys):
                self.collected.setdefault(int(executed.slot), []).append(executed)
            return []
        if not isinstance(event, SlotEvent):
            return []
        done = event.parent
        executed_list = self.collected.pop(done, [])
        for stale in [s for s in self.collected if s < done]:
            del self.collected[stale]
        if self.mentions is not None and not executed_list:
            return []
        return [
            (done, {"context": {"slot": done}, "value": self._block(node, done, executed_list)})
        ]

    def _block(self, node: Node, slot: int, executed_list: Sequence[Any]) -> dict[str, Any]:
        block: dict[str, Any] = {
            "blockHeight": slot,
            "blockTime": node.block_time(slot),
            "blockhash": str(node.blockhash_at(slot)),
            "parentSlot": max(0, slot - 1),
            "previousBlockhash": str(node.blockhash_at(max(0, slot - 1))),
        }
        if self.details == "full":
            txs = []
            for executed in executed_list:
                tx = node.signed_transaction(executed.signature)
                if tx is None:
                    continue
                encoded = encode_transaction(tx, executed, encoding=self.encoding, block_time=None)
                if encoded["version"] == 0 and self.max_version is None:
                    return {"slot": slot, "block": None, "err": "UnsupportedTransactionVersion"}
                txs.append({k: encoded[k] for k in ("transaction", "meta", "version")})
            block["transactions"] = txs
        elif self.details == "signatures":
            block["signatures"] = [str(e.signature) for e in executed_list]
        block["rewards"] = []
        return {"slot": slot, "block": block, "err": None}


def parse_subscribe(method: str, params: list[Any]) -> Subscription:
    """Build the subscription a ``*Subscribe`` request asks for.

    Raises:
        SendError: unknown method (-32601) or bad params (-32602).
    """
    try:
        return _PARSERS[method](params)
    except KeyError:
        raise SendError(-32601, "Method not found") from None
    except EncodingError as exc:
        raise invalid(str(exc)) from None


def _logs(params: list[Any]) -> Subscription:
    if not params:
        raise invalid("Invalid params: missing field `filter`.")
    flt = params[0]
    config = _config(params, 1)
    commitment = _commitment(config)
    if flt in ("all", "allWithVotes"):
        return LogsSubscription("logsNotification", commitment, with_votes=flt == "allWithVotes")
    if isinstance(flt, dict) and isinstance(flt.get("mentions"), list):
        if len(flt["mentions"]) != 1:
            raise invalid("Invalid Request: Only 1 address supported")
        return LogsSubscription(
            "logsNotification", commitment, mentions=_pubkey(flt["mentions"][0])
        )
    raise invalid("Invalid params: unknown logs filter.")


def _signature(params: list[Any]) -> Subscription:
    if not params:
        raise invalid("Invalid params: missing field `signature`.")
    try:
        sig = Signature.from_string(str(params[0]))
    except ValueError:
        raise invalid("Invalid Request: Invalid signature provided") from None
    config = _config(params, 1)
    return SignatureSubscription(
        "signatureNotification",
        _commitment(config),
        one_shot=True,
        signature=sig,
        received=bool(config.get("enableReceivedNotification", False)),
    )


def _account(params: list[Any]) -> Subscription:
    if not params:
        raise invalid("Invalid params: missing field `pubkey`.")
    config = _config(params, 1)
    encoding = config.get("encoding", "binary")
    if encoding not in ("binary", "base58", "base64", "jsonParsed"):
        raise invalid(f"Invalid params: unsupported encoding: {encoding}")
    return AccountSubscription(
        "accountNotification", _commitment(config), pubkey=_pubkey(params[0]), encoding=encoding
    )


def _slot(params: list[Any]) -> Subscription:
    return SlotSubscription("slotNotification", "processed")


def _block(params: list[Any]) -> Subscription:
    if not params:
        raise invalid("Invalid params: missing field `filter`.")
    flt = params[0]
    config = _config(params, 1)
    commitment = _commitment(config)
    if commitment == "processed":
        raise invalid("Method does not support commitment below `confirmed`")
    mentions = None
    if isinstance(flt, dict) and "mentionsAccountOrProgram" in flt:
        mentions = _pubkey(flt["mentionsAccountOrProgram"])
    elif flt != "all":
        raise invalid("Invalid params: unknown block filter.")
    encoding = config.get("encoding", "json")
    if encoding not in ("json", "jsonParsed", "base64", "base58"):
        raise invalid(f"Invalid params: unsupported encoding: {encoding}")
    details = config.get("transactionDetails", "full")
    if details not in ("full", "signatures", "none"):
        raise invalid(f"Invalid params: unknown variant `{details}`.")
    return BlockSubscription(
        "blockNotification",
        commitment,
        mentions=mentions,
        encoding=encoding,
        details=details,
        max_version=config.get("maxSupportedTransactionVersion"),
    )


_PARSERS = {
    "logsSubscribe": _logs,
    "signatureSubscribe": _signature,
    "accountSubscribe": _account,
    "slotSubscribe": _slot,
    "blockSubscribe": _block,
}
UNSUBSCRIBE = {
    "logsUnsubscribe": "logsNotification",
    "signatureUnsubscribe": "signatureNotification",
    "accountUnsubscribe": "accountNotification",
    "slotUnsubscribe": "slotNotification",
    "blockUnsubscribe": "blockNotification",
}
