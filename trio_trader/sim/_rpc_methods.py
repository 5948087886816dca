"""The JSON-RPC methods of the simulated node, one function each.

A method takes the node and the request's ``params`` list and returns the ``result``
or raises :class:`SendError` carrying the JSON-RPC error object Solana would send.
Parameter handling mirrors agave's ``rpc.rs``: positional params, an optional trailing
config object, the same defaults (base58 for sendTransaction, finalized commitment for
getTransaction), the same limits (100 accounts, 256 signatures) and the same messages
where a client might match on them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import base58
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.sim._node_types import SendError, simulation_failure_data
from trio_trader.sim._rpc_encoding import (
    MAX_BASE58_BYTES,
    EncodingError,
    encode_account,
    encode_transaction,
    is_token_account,
    mint_decimals,
    token_account_fields,
    transaction_version,
    unsupported_version,
)
from trio_trader.sim._tokens import TOKEN_PROGRAMS, ui_token_amount
from trio_trader.sim._tx_errors import tx_error_message
from trio_trader.sim.node import MAX_SIGNATURES_FOR_ADDRESS, Node

API_VERSION = "2.2.14"
FEATURE_SET = 3294202862

Method = Callable[[Node, list[Any]], Any]


def invalid_params(message: str) -> SendError:
    return SendError(-32602, message)


# ------------------------------------------------------------------ params
def _param(params: list[Any], index: int, name: str) -> Any:
    if len(params) <= index:
        raise invalid_params(f"Invalid params: missing field `{name}`.")
    return params[index]


def _list_param(params: list[Any], index: int, name: str, *, max_len: int) -> list[Any]:
    values = _param(params, index, name)
    if not isinstance(values, list):
        raise invalid_params("Invalid params: invalid type: expected a sequence.")
    if len(values) > max_len:
        raise invalid_params(f"Too many inputs provided; max {max_len}")
    return values


def _config(params: list[Any], index: int) -> dict[str, Any]:
    if len(params) <= index or params[index] is None:
        return {}
    config = params[index]
    if not isinstance(config, dict):
        raise invalid_params("Invalid params: invalid type: expected a config map.")
    return config


def _pubkey(value: Any) -> Pubkey:
    try:
        return Pubkey.from_string(str(value))
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None


def _signature(value: Any) -> Signature:
    try:
        return Signature.from_string(str(value))
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None


def _context(node: Node, config: dict[str, Any]) -> dict[str, Any]:
    slot = max(0, node.commitment_slot(config.get("commitment", "finalized")))
    min_slot = config.get("minContextSlot")
    if isinstance(min_slot, int) and min_slot > slot:
        raise SendError(-32016, "Minimum context slot has not been reached", {"contextSlot": slot})
    return {"slot": slot, "apiVersion": API_VERSION}


def _with_context(node: Node, config: dict[str, Any], value: Any) -> dict[str, Any]:
    return {"context": _context(node, config), "value": value}


def _wire_bytes(encoded: Any, encoding: str) -> bytes:
    if not isinstance(encoded, str):
        raise invalid_params("Invalid params: invalid type: expected a string.")
    try:
        if encoding == "base64":
            return base64.b64decode(encoded, validate=True)
        if encoding == "base58":
            return base58.b58decode(encoded)
    except (binascii.Error, ValueError) as exc:
        raise invalid_params(f"invalid {encoding} encoding: {exc}") from None
    raise invalid_params(
        f"Invalid params: unknown variant `{encoding}`, expected `base58` or `base64`."
    )


def _decimals_of(node: Node) -> Callable[[Pubkey], int | None]:
    return lambda mint: mint_decimals(node.ledger.get_account(mint))


def _account_json(node: Node, pubkey: Pubkey, config: dict[str, Any]) -> dict[str, Any] | None:
    account = node.ledger.get_account(pubkey)
    if account is None:
        return None
    encoding = config.get("encoding", "binary")
    if encoding in ("binary", "base58"):
        size = len(account.data)
        if isinstance(config.get("dataSlice"), dict):
            size = min(size, int(config["dataSlice"].get("length", size)))
        if size > MAX_BASE58_BYTES:
            raise SendError(
                -32600,
                f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, "
                "please use Base64 encoding.",
            )
    try:
        return encode_account(
            account,
            encoding=config.get("encoding", "binary"),
            data_slice=config.get("dataSlice"),
            decimals_of=_decimals_of(node),
        )
    except EncodingError as exc:
        raise invalid_params(str(exc)) from None


# ----------------------------------------------------------------- cluster
def get_health(node: Node, params: list[Any]) -> Any:
    return "ok"


def get_version(node: Node, params: list[Any]) -> Any:
    return {"feature-set": FEATURE_SET, "solana-core": API_VERSION}


def get_genesis_hash(node: Node, params: list[Any]) -> Any:
    return str(node.genesis_hash)


def get_slot(node: Node, params: list[Any]) -> Any:
    return _context(node, _config(params, 0))["slot"]


def get_block_height(node: Node, params: list[Any]) -> Any:
    return _context(node, _config(params, 0))["slot"]  # one block per slot here


def get_latest_blockhash(node: Node, params: list[Any]) -> Any:
    config = _config(params, 0)
    context = _context(node, config)
    blockhash, last_valid = node.latest_blockhash(config.get("commitment", "finalized"))
    return {
        "context": context,
        "value": {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid},
    }


def is_blockhash_valid(node: Node, params: list[Any]) -> Any:
    try:
        blockhash = Hash.from_string(str(_param(params, 0, "blockhash")))
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
    return _with_context(node, _config(params, 1), node.is_blockhash_valid(blockhash))


def get_minimum_balance_for_rent_exemption(node: Node, params: list[Any]) -> Any:
    size = _param(params, 0, "data_len")
    if not isinstance(size, int) or size < 0:
        raise invalid_params("Invalid params: invalid type: expected usize.")
    return node.ledger.rent_exempt_minimum(size)  # the ledger's Rent sysvar (sim.rent)


def get_recent_prioritization_fees(node: Node, params: list[Any]) -> Any:
    keys = params[0] if params and params[0] is not None else []
    if not isinstance(keys, list) or len(keys) > 128:
        raise invalid_params("Too many inputs provided; max 128")
    accounts = [_pubkey(k) for k in keys]
    return [
        {"prioritizationFee": fee, "slot": slot}
        for slot, fee in node.recent_prioritization_fees(accounts)
    ]


# ---------------------------------------------------------------- accounts
def get_balance(node: Node, params: list[Any]) -> Any:
    pubkey = _pubkey(_param(params, 0, "pubkey"))
    return _with_context(node, _config(params, 1), node.ledger.balance(pubkey))


def get_account_info(node: Node, params: list[Any]) -> Any:
    pubkey = _pubkey(_param(params, 0, "pubkey"))
    config = _config(params, 1)
    return _with_context(node, config, _account_json(node, pubkey, config))


def get_multiple_accounts(node: Node, params: list[Any]) -> Any:
    keys = _list_param(params, 0, "pubkeys", max_len=100)
    config = _config(params, 1)
    pubkeys = [_pubkey(k) for k in keys]
    config.setdefault("encoding", "base64")
    return _with_context(node, config, [_account_json(node, k, config) for k in pubkeys])


def get_token_account_balance(node: Node, params: list[Any]) -> Any:
    pubkey = _pubkey(_param(params, 0, "pubkey"))
    account = node.ledger.get_account(pubkey)
    if account is None:
        raise invalid_params("Invalid param: could not find account")
    if not is_token_account(account):
        raise invalid_params("Invalid param: not a Token account")
    mint, _owner, amount = token_account_fields(account)
    decimals = mint_decimals(node.ledger.get_account(mint))
    if decimals is None:
        raise invalid_params("Invalid param: could not find mint")
    return _with_context(node, _config(params, 1), ui_token_amount(amount, decimals))


def get_token_accounts_by_owner(node: Node, params: list[Any]) -> Any:
    owner = _pubkey(_param(params, 0, "owner"))
    token_filter = _param(params, 1, "filter")
    config = _config(params, 2)
    config.setdefault("encoding", "base64")
    mint = program = None
    if isinstance(token_filter, dict) and "mint" in token_filter:
        mint = _pubkey(token_filter["mint"])
    elif isinstance(token_filter, dict) and "programId" in token_filter:
        program = _pubkey(token_filter["programId"])
        if program not in TOKEN_PROGRAMS:
            raise invalid_params(f"Invalid param: unrecognized Token program id: {program}")
    else:
        raise invalid_params('Invalid params: expected {"mint": …} or {"programId": …}.')
    found = []
    for key in node.token_accounts_of(owner):
        account = node.ledger.get_account(key)
        if not is_token_account(account) or account is None:
            continue
        account_mint, account_owner, _amount = token_account_fields(account)
        if account_owner != owner or (mint is not None and account_mint != mint):
            continue
        if program is not None and account.owner != program:
            continue
        found.append({"account": _account_json(node, key, config), "pubkey": str(key)})
    return _with_context(node, config, found)


def request_airdrop(node: Node, params: list[Any]) -> Any:
    pubkey = _pubkey(_param(params, 0, "pubkey"))
    lamports = _param(params, 1, "lamports")
    if not isinstance(lamports, int):
        raise invalid_params("Invalid params: invalid type: expected u64.")
    return str(node.airdrop(pubkey, lamports))


# ------------------------------------------------------------ transactions
def send_transaction(node: Node, params: list[Any]) -> Any:
    """Accept and forward; never execute before answering (unless preflight simulates).

    As a real RPC node with ``skipPreflight``: the signature is the answer once the node
    has accepted the transaction; the landing runs later, in the node's landing task —
    even with no landing delay, only after this reply is on the socket (``RpcServer``
    writes it before it next yields; ``tests/sim/test_rpc_server.py`` pins the order).
    """
    config = _config(params, 1)
    raw = _wire_bytes(_param(params, 0, "data"), config.get("encoding", "base58"))
    if not config.get("skipPreflight", False):
        executed = node.simulate(raw, sig_verify=True)
        if executed.err is not None:
            raise SendError(
                -32002,
                f"Transaction simulation failed: {tx_error_message(executed.err)}",
                simulation_failure_data(
                    executed.err, executed.logs, int(executed.compute_units_consumed)
                ),
            )
    return str(node.submit(raw))


def simulate_transaction(node: Node, params: list[Any]) -> Any:
    config = _config(params, 1)
    raw = _wire_bytes(_param(params, 0, "data"), config.get("encoding", "base58"))
    replace = bool(config.get("replaceRecentBlockhash", False))
    sig_verify = bool(config.get("sigVerify", False))
    if replace and sig_verify:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    context = _context(node, config)
    try:
        executed = node.simulate(raw, sig_verify=sig_verify, replace_blockhash=replace)
    except SendError as exc:
        if not isinstance(exc.data, dict) or "err" not in exc.data:
            raise
        return {"context": context, "value": exc.data}
    value = simulation_failure_data(
        executed.err, executed.logs, int(executed.compute_units_consumed)
    )
    if replace:
        blockhash, last_valid = node.latest_blockhash()
        value["replacementBlockhash"] = {
            "blockhash": str(blockhash),
            "lastValidBlockHeight": last_valid,
        }
    return {"context": context, "value": value}


def get_signature_statuses(node: Node, params: list[Any]) -> Any:
    sigs = _list_param(params, 0, "signatures", max_len=256)
    config = _config(params, 1)
    search = bool(config.get("searchTransactionHistory", False))
    values: list[dict[str, Any] | None] = []
    for sig in sigs:
        status = node.signature_status(_signature(sig), search_history=search)
        if status is None:
            values.append(None)
            continue
        values.append(
            {
                "confirmationStatus": status.confirmation_status,
                "confirmations": status.confirmations,
                "err": status.err,
                "slot": status.slot,
                "status": {"Ok": None} if status.err is None else {"Err": status.err},
            }
        )
    return {"context": {"slot": node.slot, "apiVersion": API_VERSION}, "value": values}


def get_signatures_for_address(node: Node, params: list[Any]) -> Any:
    address = _pubkey(_param(params, 0, "address"))
    config = _config(params, 1)
    commitment = config.get("commitment", "finalized")
    if commitment == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")
    limit = config.get("limit")
    if limit is None:
        limit = MAX_SIGNATURES_FOR_ADDRESS
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid_params("Invalid params: invalid type: expected usize.")
    if not 1 <= limit <= MAX_SIGNATURES_FOR_ADDRESS:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
    before = config.get("before")
    until = config.get("until")
    _context(node, config)  # minContextSlot
    entries = node.signatures_for_address(
        address,
        limit=limit,
        before=None if before is None else _signature(before),
        until=None if until is None else _signature(until),
        commitment=commitment,
    )
    return [
        {
            "signature": str(entry.signature),
            "slot": entry.slot,
            "err": entry.err,
            "memo": None,
            "blockTime": entry.block_time,
            "confirmationStatus": entry.confirmation_status,
        }
        for entry in entries
    ]


def get_transaction(node: Node, params: list[Any]) -> Any:
    signature = _signature(_param(params, 0, "signature"))
    config: dict[str, Any]
    if len(params) > 1 and isinstance(params[1], str):
        config = {"encoding": params[1]}
    else:
        config = _config(params, 1)
    commitment = config.get("commitment", "finalized")
    if commitment == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")
    tx = node.signed_transaction(signature)
    executed = node.transaction(signature)
    if tx is None or executed is None:
        return None
    if int(executed.slot) > node.commitment_slot(commitment):
        return None
    marked = node.reported_version(signature)
    version = transaction_version(tx) if marked is None else marked
    refused = unsupported_version(version, config.get("maxSupportedTransactionVersion"))
    if refused is not None:
        raise SendError(
            -32015,
            f"Transaction version ({refused}) is not supported by the requesting client. "
            "Please try the request again with the following configuration parameter: "
            f'"maxSupportedTransactionVersion": {refused}',
        )
    try:
        return encode_transaction(
            tx,
            executed,
            encoding=config.get("encoding", "json"),
            block_time=node.block_time(int(executed.slot)),
            version=marked,
        )
    except EncodingError as exc:
        raise invalid_params(str(exc)) from None


METHODS: dict[str, Method] = {
    "getAccountInfo": get_account_info,
    "getBalance": get_balance,
    "getBlockHeight": get_block_height,
    "getGenesisHash": get_genesis_hash,
    "getHealth": get_health,
    "getLatestBlockhash": get_latest_blockhash,
    "getMinimumBalanceForRentExemption": get_minimum_balance_for_rent_exemption,
    "getMultipleAccounts": get_multiple_accounts,
    "getRecentPrioritizationFees": get_recent_prioritization_fees,
    "getSignatureStatuses": get_signature_statuses,
    "getSignaturesForAddress": get_signatures_for_address,
    "getSlot": get_slot,
    "getTokenAccountBalance": get_token_account_balance,
    "getTokenAccountsByOwner": get_token_accounts_by_owner,
    "getTransaction": get_transaction,
    "getVersion": get_version,
    "isBlockhashValid": is_blockhash_valid,
    "requestAirdrop": request_airdrop,
    "sendTransaction": send_transaction,
    "simulateTransaction": simulate_transaction,
}
