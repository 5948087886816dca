"""Parsing getTransaction replies (real mainnet samples) into TransactionInfo."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.conftest import load_sample
from trio_trader.chain import RpcError
from trio_trader.chain.errors import error_from_rpc, transaction_error_parts
from trio_trader.chain.types import parse_signature_status, parse_transaction

S01 = "s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json"
RENT = "InsufficientFundsForRent"
S02 = "s02_chainstack_getTransaction_create_then_buy_2024-08-20.json"


def _json_encoding(result: dict[str, Any], loaded: int) -> dict[str, Any]:
    """Turn a jsonParsed reply into the `encoding: "json"` v0 shape we request.

    Keys become strings, and the last `loaded` keys move to `meta.loadedAddresses` as if they
    came from a lookup table (first one writable, the rest readonly).
    """
    result = copy.deepcopy(result)
    keys = [k["pubkey"] for k in result["transaction"]["message"]["accountKeys"]]
    static, from_table = keys[: len(keys) - loaded], keys[len(keys) - loaded :]
    result["transaction"]["message"]["accountKeys"] = static
    result["meta"]["loadedAddresses"] = {"writable": from_table[:1], "readonly": from_table[1:]}
    return result


def test_buy_then_sell_sample_balances() -> None:
    tx = parse_transaction(load_sample(S01)["result"])
    assert tx is not None
    trader = Pubkey.from_string("2vr538qDgHCPYmr2mjt5LSjQ3kBYjtw3SDSveUKBVkef")
    curve = Pubkey.from_string("6fogeBTRjgm9Kb9dVtqpjDf6bGvjGgdScmTu5nCVPJPn")
    mint = Pubkey.from_string("HfJVjBdkhAD2ynVM8PdTSii4ECZdsxNTCx5wpEqUpump")
    assert tx.signature == Signature.from_string(
        "33LHUzKfhBvU68kYib22oFx2XdQKQZ2sfvTmmdCFEr6YidyP8S3WwAurjz6Suewvr2WUByV79K3stNCZDe7wq3De"
    )
    assert (tx.slot, tx.fee, tx.err, tx.block_time) == (284677332, 32000, None, 1724126293)
    assert tx.compute_units_consumed == 68322
    assert len(tx.account_keys) == 15
    assert len(tx.log_messages) == 34
    # bought then sold in one transaction: the trader paid fees + curve fees, tokens net zero
    assert tx.sol_change(trader) == 706655008 - 708131176
    assert tx.sol_change(curve) == 1
    assert tx.token_change(trader, mint) == 0
    assert tx.pre_token_balances[1].owner == trader
    assert tx.pre_token_balances[0].amount == 826925208216021
    assert tx.pre_token_balances[0].decimals == 6


def test_create_then_buy_sample_token_account_created_in_the_transaction() -> None:
    tx = parse_transaction(load_sample(S02)["result"])
    assert tx is not None
    creator = Pubkey.from_string("Fswrw3tgQL597kCexxLEhft6a7Su4CDoqwRMqqj4BEp5")
    mint = Pubkey.from_string("ER2N5eaDoC68kNhj7LyaScimzq7deaqxiw88rewvxaKp")
    assert tx.sol_change(creator) == 122171125343 - 123308602893
    assert tx.sol_change(mint) == 1461600  # the new mint account's rent
    # no pre entry (the ATA did not exist), post 37951768.488745 tokens
    assert tx.token_change(creator, mint) == 37951768488745
    assert tx.token_change(creator, Pubkey.new_unique()) == 0
    assert tx.sol_change(Pubkey.new_unique()) == 0


def test_json_encoding_v0_appends_lookup_table_keys_in_balance_order() -> None:
    parsed = load_sample(S02)["result"]
    tx = parse_transaction(_json_encoding(parsed, loaded=3))
    assert tx is not None
    keys = parsed["transaction"]["message"]["accountKeys"]
    expected = [Pubkey.from_string(k["pubkey"]) for k in keys]
    assert list(tx.account_keys) == expected
    # the last key came from a lookup table and still lines up with its balance
    assert tx.sol_change(expected[-1]) == 0
    assert tx.sol_change(expected[3]) == 1101231920


def test_failed_transaction_keeps_err() -> None:
    result = copy.deepcopy(load_sample(S01)["result"])
    result["meta"]["err"] = {"InstructionError": [2, {"Custom": 6002}]}
    tx = parse_transaction(result)
    assert tx is not None
    assert tx.err == {"InstructionError": [2, {"Custom": 6002}]}


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r.pop("meta"), "missing 'meta'"),
        (lambda r: r["meta"]["postBalances"].pop(), "differ in length"),
        (lambda r: r["meta"].__setitem__("fee", "32000"), "'fee' is str"),
        (lambda r: r["meta"]["preBalances"].__setitem__(0, None), "non-integer"),
        (
            lambda r: r["meta"]["postTokenBalances"][0]["uiTokenAmount"].update(amount="1.5"),
            "not an integer",
        ),
        (lambda r: r["transaction"]["message"]["accountKeys"].__setitem__(0, "zz"), "not valid"),
    ],
)
def test_malformed_transaction_is_rpc_error(mutate: Any, match: str) -> None:
    result = copy.deepcopy(load_sample(S01)["result"])
    mutate(result)
    with pytest.raises(RpcError, match=match):
        parse_transaction(result)


def test_signature_status_rooted_has_no_confirmations() -> None:
    status = parse_signature_status(
        {"slot": 5, "confirmations": None, "err": None, "confirmationStatus": "finalized"}
    )
    assert status is not None
    assert status.confirmations is None
    assert status.confirmation_status == "finalized"
    with pytest.raises(RpcError):
        parse_signature_status({"confirmations": 1})


@pytest.mark.parametrize(
    ("err", "parts"),
    [
        ("BlockhashNotFound", ("BlockhashNotFound", None, None)),
        ({"InstructionError": [2, {"Custom": 6003}]}, ("Custom", 6003, 2)),
        ({"InstructionError": [0, "InsufficientFunds"]}, ("InsufficientFunds", None, 0)),
        ({RENT: {"account_index": 1}}, (RENT, None, None)),
        ([1, 2], ("Unknown", None, None)),
    ],
)
def test_transaction_error_parts(err: object, parts: tuple[str, int | None, int | None]) -> None:
    assert transaction_error_parts(err) == parts


def test_error_classification() -> None:
    assert type(error_from_rpc({"code": -32005, "message": "Node is unhealthy"})).__name__ == (
        "RpcUnavailable"
    )
    limited = error_from_rpc({"code": -32429, "message": "slow"}, retry_after=2.0)
    assert type(limited).__name__ == "RpcRateLimited"
    assert limited.retry_after == 2.0  # type: ignore[attr-defined]
    plain = error_from_rpc({"code": -32601, "message": "Method not found"})
    assert type(plain) is RpcError
    assert str(plain) == "Method not found (code -32601)"
    # a preflight failure without a simulation err (e.g. sig verification) stays a plain error
    assert type(error_from_rpc({"code": -32002, "message": "x", "data": {"err": None}})) is RpcError
    assert "malformed" in str(error_from_rpc("boom"))
