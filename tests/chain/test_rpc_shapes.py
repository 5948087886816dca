"""Every typed RpcClient method, given a result of the wrong shape, raises a counted RpcBadReply.

The node here answers well-formed JSON-RPC whose `result` is wrong: a field missing, of the
wrong type, out of range, a string where a list belongs, a huge integer (which orjson turns
into a float). Nothing else may escape: not KeyError, TypeError, AttributeError, ValueError.
The parsers are also fuzzed directly (hypothesis) with arbitrary JSON and with valid replies
in which one node is replaced by arbitrary JSON.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.chain.fakes import FakeNode, context
from tests.chain.hostile import nested
from trio_trader.chain import RpcClient
from trio_trader.chain import types as t
from trio_trader.chain.errors import RpcBadReply

KEY = Pubkey.new_unique()
SIG = Signature.new_unique()
HUGE = 10**30  # JSON integer beyond u64: orjson reads it as a float
DEEP_ERR = json.loads(nested(50))  # deep for an `err`, not for Python

Call = Callable[[RpcClient], Awaitable[Any]]


def account(data: object = None, **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "lamports": 10,
        "owner": str(KEY),
        "data": [base64.b64encode(b"abc").decode(), "base64"] if data is None else data,
        "executable": False,
        "rentEpoch": 0,
        "space": 3,
    }
    value.update(fields)
    return value


def transaction(**meta: Any) -> dict[str, Any]:
    """A valid `getTransaction` result (json encoding), with `meta` fields overridden."""
    base_meta: dict[str, Any] = {
        "err": None,
        "fee": 5000,
        "preBalances": [10_000, 1],
        "postBalances": [5_000, 1],
        "preTokenBalances": [],
        "postTokenBalances": [
            {
                "accountIndex": 1,
                "mint": str(KEY),
                "owner": str(KEY),
                "uiTokenAmount": {"amount": "100", "decimals": 6},
            }
        ],
        "logMessages": ["Program log: hi"],
        "loadedAddresses": {"writable": [], "readonly": []},
        "computeUnitsConsumed": 150,
    }
    base_meta.update(meta)
    return {
        "slot": 5,
        "blockTime": 1_700_000_000,
        "meta": base_meta,
        "transaction": {
            "signatures": [str(SIG)],
            "message": {"accountKeys": [str(KEY), str(Pubkey.new_unique())]},
        },
    }


def token_entry(data: object) -> dict[str, Any]:
    return {"pubkey": str(Pubkey.new_unique()), "account": account(data)}


def parsed_token(**info: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "mint": str(KEY),
        "owner": str(KEY),
        "tokenAmount": {"amount": "5", "decimals": 6, "uiAmountString": "0.000005"},
    }
    fields.update(info)
    return {"program": "spl-token", "parsed": {"type": "account", "info": fields}, "space": 165}


CASES: list[tuple[str, Call, Any]] = [
    ("getSlot", lambda rpc: rpc.get_slot(), HUGE),
    ("getSlot", lambda rpc: rpc.get_slot(), True),
    ("getBlockHeight", lambda rpc: rpc.get_block_height(), [1]),
    ("getBlockHeight", lambda rpc: rpc.get_block_height(), -1),
    ("getBalance", lambda rpc: rpc.get_balance(KEY), context("1")),
    ("getBalance", lambda rpc: rpc.get_balance(KEY), context(HUGE)),
    ("getBalance", lambda rpc: rpc.get_balance(KEY), {"context": {}}),
    ("getBalance", lambda rpc: rpc.get_balance(KEY), "x"),
    ("getLatestBlockhash", lambda rpc: rpc.get_latest_blockhash(), context([])),
    ("getLatestBlockhash", lambda rpc: rpc.get_latest_blockhash(), context({"blockhash": 5})),
    (
        "getLatestBlockhash",
        lambda rpc: rpc.get_latest_blockhash(),
        context({"blockhash": str(Hash.new_unique()), "lastValidBlockHeight": "9"}),
    ),
    ("getAccountInfo", lambda rpc: rpc.get_account_info(KEY), context("x")),
    ("getAccountInfo", lambda rpc: rpc.get_account_info(KEY), context(account("abc"))),
    ("getAccountInfo", lambda rpc: rpc.get_account_info(KEY), context(account(["!!", "base64"]))),
    ("getAccountInfo", lambda rpc: rpc.get_account_info(KEY), context(account(lamports=-1))),
    ("getAccountInfo", lambda rpc: rpc.get_account_info(KEY), context(account(owner=[1]))),
    ("getMultipleAccounts", lambda rpc: rpc.get_multiple_accounts([KEY]), context("xy")),
    ("getMultipleAccounts", lambda rpc: rpc.get_multiple_accounts([KEY]), context([None, None])),
    ("getMultipleAccounts", lambda rpc: rpc.get_multiple_accounts([KEY]), context([5])),
    ("getTokenAccountBalance", lambda rpc: rpc.get_token_account_balance(KEY), context("x")),
    *[
        ("getTokenAccountBalance", lambda rpc: rpc.get_token_account_balance(KEY), context(v))
        for v in (
            {"amount": "1e3"},
            {"amount": "-1"},
            {"amount": "١٢"},  # Arabic-Indic digits: isdigit() is True, int() accepts them
            {"amount": "²"},  # isdigit() is True, int() raises ValueError
            {"amount": "9" * 5000},  # int() refuses 4300+ digits with a ValueError
            {"amount": str(2**64)},
            {"amount": 5},
            {},
        )
    ],
    ("getSignatureStatuses", lambda rpc: rpc.get_signature_statuses([SIG]), context("x")),
    ("getSignatureStatuses", lambda rpc: rpc.get_signature_statuses([SIG]), context([5])),
    ("getSignatureStatuses", lambda rpc: rpc.get_signature_statuses([SIG]), context([{}])),
    (
        "getSignatureStatuses",
        lambda rpc: rpc.get_signature_statuses([SIG]),
        context([{"slot": 1, "err": DEEP_ERR, "confirmationStatus": "confirmed"}]),
    ),
    (
        "getSignatureStatuses",
        lambda rpc: rpc.get_signature_statuses([SIG]),
        context([{"slot": 1, "err": None, "confirmationStatus": ["confirmed"]}]),
    ),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), "x"),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), {"meta": [], "transaction": {}}),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(logMessages={"a": 1})),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(logMessages=5)),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(err=DEEP_ERR)),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(fee=HUGE)),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(preBalances="ab")),
    ("getTransaction", lambda rpc: rpc.get_transaction(SIG), transaction(postTokenBalances=7)),
    (
        "getTransaction",
        lambda rpc: rpc.get_transaction(SIG),
        transaction(loadedAddresses={"writable": 5, "readonly": []}),
    ),
    (
        "getTransaction",
        lambda rpc: rpc.get_transaction(SIG),
        transaction(postTokenBalances=[{"accountIndex": 1, "mint": str(KEY)}]),
    ),
    ("getRecentPrioritizationFees", lambda rpc: rpc.get_recent_prioritization_fees(), "x"),
    (
        "getRecentPrioritizationFees",
        lambda rpc: rpc.get_recent_prioritization_fees(),
        [{"prioritizationFee": -1}],
    ),
    ("sendTransaction", lambda rpc: rpc.send_transaction(b"\x01"), 5),
    ("sendTransaction", lambda rpc: rpc.send_transaction(b"\x01"), "not-a-signature"),
    ("requestAirdrop", lambda rpc: rpc.request_airdrop(KEY, 1), []),
    ("simulateTransaction", lambda rpc: rpc.simulate_transaction(b"\x01"), context("x")),
    (
        "simulateTransaction",
        lambda rpc: rpc.simulate_transaction(b"\x01"),
        context({"err": DEEP_ERR}),
    ),
    (
        "getMinimumBalanceForRentExemption",
        lambda rpc: rpc.get_minimum_balance_for_rent_exemption(0),
        None,
    ),
    ("getSignaturesForAddress", lambda rpc: rpc.get_signatures_for_address(KEY), {"a": 1}),
    ("getSignaturesForAddress", lambda rpc: rpc.get_signatures_for_address(KEY), [5]),
    (
        "getSignaturesForAddress",
        lambda rpc: rpc.get_signatures_for_address(KEY),
        [{"signature": 1, "slot": 1}],
    ),
    (
        "getSignaturesForAddress",
        lambda rpc: rpc.get_signatures_for_address(KEY),
        [{"signature": str(SIG), "slot": 1, "err": DEEP_ERR}],
    ),
    (
        "getSignaturesForAddress",
        lambda rpc: rpc.get_signatures_for_address(KEY, limit=1),
        [{"signature": str(SIG), "slot": 1}] * 2,
    ),
    *[
        (
            "getTokenAccountsByOwner",
            lambda rpc: rpc.get_token_accounts_by_owner(KEY, program_id=KEY),
            context(v),
        )
        for v in (
            "x",
            [5],
            [{"pubkey": "bad"}],
            [token_entry(parsed_token(tokenAmount={"amount": "5", "decimals": 300}))],
            [token_entry(parsed_token(mint=5))],
            [token_entry({"program": "spl-token", "parsed": {"type": "mint", "info": {}}})],
            [token_entry([base64.b64encode(b"\x01" * 100).decode(), "base64"])],  # too short
            [token_entry([base64.b64encode(bytes(165)).decode(), "base64"])],  # uninitialized
        )
    ],
    ("getGenesisHash", lambda rpc: rpc.get_genesis_hash(), 5),
    ("getGenesisHash", lambda rpc: rpc.get_genesis_hash(), "not a hash"),
]


@pytest.mark.parametrize(("method", "call", "result"), CASES)
async def test_wrong_shaped_result_is_a_counted_bad_reply(
    method: str, call: Call, result: Any
) -> None:
    node = FakeNode({method: lambda params: result})
    async with RpcClient(["http://node/"], transport=node.transport()) as rpc:
        with pytest.raises(RpcBadReply, match=f"malformed {method} reply"):
            await call(rpc)
    assert rpc.stats.bad_replies == 1


async def test_batch_reply_with_unhashable_ids_is_a_bad_reply() -> None:
    node = FakeNode({"getSlot": lambda params: 1})

    async def handle(request: Any) -> Any:
        response = await node.handle(request)
        body = response.json()
        body[0]["id"] = [body[0]["id"]]  # a list cannot even be a dict key
        body[1]["id"] = True  # nor is `true` our id 1
        return httpx.Response(200, json=body)

    async with RpcClient(["http://node/"], transport=httpx.MockTransport(handle)) as rpc:
        with pytest.raises(RpcBadReply, match="no response for"):
            await rpc.batch([("getSlot", []), ("getSlot", [])])
    assert rpc.stats.bad_replies == 1


# ------------------------------------------------------------------------------ fuzzing

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

PARSERS: list[Callable[[Any], object]] = [
    t.parse_transaction,
    t.parse_latest_blockhash,
    t.parse_signature_status,
    t.parse_signature_infos,
    t.parse_token_accounts,
    t.parse_genesis_hash,
    lambda value: t.parse_account_info("getAccountInfo", value),
    lambda value: t.u64("getSlot", value),
    lambda value: t.amount("getTokenAccountBalance", value),
]


@settings(max_examples=150, deadline=None)
@given(value=json_values)
def test_parsers_take_any_json(value: Any) -> None:
    for parse in PARSERS:
        with contextlib.suppress(RpcBadReply):
            parse(value)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*path, index))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value = copy.deepcopy(value)
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return value


VALID: list[tuple[Callable[[Any], object], Any]] = [
    (t.parse_transaction, transaction()),
    (
        t.parse_token_accounts,
        context(
            [
                token_entry(parsed_token()),
                token_entry(
                    [
                        base64.b64encode(
                            bytes(64) + (7).to_bytes(8, "little") + bytes(36) + b"\x01" + bytes(56)
                        ).decode(),
                        "base64",
                    ]
                ),
            ]
        ),
    ),
    (
        t.parse_signature_infos,
        [{"signature": str(SIG), "slot": 3, "err": None, "blockTime": None, "memo": None}],
    ),
]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_valid_replies_with_one_node_replaced_parse_or_are_bad_replies(data: Any) -> None:
    parse, valid = data.draw(st.sampled_from(VALID))
    parse(valid)  # the unmutated reply is fine
    path = data.draw(st.sampled_from(_paths(valid)))
    mutated = _replace(valid, path, data.draw(json_values))
    with contextlib.suppress(RpcBadReply):
        parse(mutated)


@pytest.mark.parametrize("data", ["\x80", "é=", "AAAA\u2028"])
def test_account_data_that_is_not_ascii_base64_is_a_bad_reply(data: str) -> None:
    """hypothesis found it: b64decode raises a bare ValueError (not binascii.Error) for a
    non-ASCII string, which escaped as a crash instead of a bad reply."""
    value = {"lamports": 1, "owner": str(Pubkey.default()), "executable": False,
             "data": [data, "base64"]}  # fmt: skip
    with pytest.raises(RpcBadReply):
        t.parse_account_info("getAccountInfo", value)
