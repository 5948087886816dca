"""Error codes: the IDL's table, Anchor's, explanations and parsing of meta.err."""

from __future__ import annotations

import pytest

from trio_trader.pump._error_codes import PUMP_ERRORS
from trio_trader.pump.errors import ProgramError, describe_error, error_from_transaction_err


def test_every_idl_error_has_its_code_name_and_message(idl):
    assert len(idl["errors"]) >= 94
    table = {code: entry for code, entry in PUMP_ERRORS.items()}
    for entry in idl["errors"]:
        assert table.pop(entry["code"]) == (entry["name"], entry.get("msg") or ""), entry
        described = describe_error(entry["code"])
        assert described.name == entry["name"]
        assert described.explanation  # our own line, else the IDL message, else the name
    assert table == {}  # no code the IDL does not know


def test_bot_facing_errors_have_plain_explanations():
    sell = describe_error(6003)
    assert sell == ProgramError(
        6003, "TooLittleSolReceived", "sell slippage exceeded: price fell below your minimum"
    )
    assert sell.hex == "0x1773"
    assert "slippage" in describe_error(6002).explanation
    assert "PumpSwap" in describe_error(6005).explanation
    assert "bonding_curve_v2" in describe_error(6062).explanation
    assert describe_error(6023).name == "NotEnoughTokensToSell"
    # codes without our own explanation fall back to the IDL message
    assert describe_error(6013).explanation == "fee_basis_points greater than maximum"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (100, "InstructionMissing"),
        (101, "InstructionFallbackNotFound"),
        (102, "InstructionDidNotDeserialize"),
        (2000, "ConstraintMut"),
        (2003, "ConstraintRaw"),
        (2006, "ConstraintSeeds"),
        (2020, "ConstraintAccountIsNone"),
        (3000, "AccountDiscriminatorAlreadySet"),
        (3007, "AccountOwnedByWrongProgram"),
        (3012, "AccountNotInitialized"),
        (3017, "AccountDuplicateReallocs"),
    ],
)
def test_anchor_codes(code, name):
    assert describe_error(code).name == name


def test_anchor_ranges_are_complete():
    for code in [*range(100, 103), *range(2000, 2021), *range(3000, 3018)]:
        assert describe_error(code).name != "Unknown", code


def test_unknown_code():
    unknown = describe_error(424242)
    assert unknown.name == "Unknown"
    assert "424242" in unknown.explanation


def test_error_from_transaction_err_shapes():
    assert error_from_transaction_err({"InstructionError": [2, {"Custom": 6003}]}).code == 6003
    assert error_from_transaction_err([3, {"Custom": 2006}]).name == "ConstraintSeeds"
    assert error_from_transaction_err({"InstructionError": [0, "InvalidAccountData"]}) is None
    assert error_from_transaction_err({"InstructionError": [0, {"Custom": "x"}]}) is None
    assert error_from_transaction_err({"InstructionError": [0, {"Custom": True}]}) is None
    assert error_from_transaction_err("AccountNotFound") is None
    assert error_from_transaction_err(None) is None
    assert error_from_transaction_err({"InsufficientFundsForRent": {"account_index": 0}}) is None


def test_native_program_codes_are_named():
    """A BUY without enough SOL (System program) or a SELL without the tokens (Token
    program) fails with Custom 1 inside the instruction: the user sees what it means."""
    insufficient = error_from_transaction_err({"InstructionError": [3, {"Custom": 1}]})
    assert insufficient is not None
    assert insufficient.name == "InsufficientFunds"
    assert "not enough balance" in insufficient.explanation
    assert describe_error(11).name == "NonNativeHasBalance"
    assert describe_error(99).name == "Unknown"
