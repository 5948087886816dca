"""Pure JSON-shape helpers of the RPC server."""

from __future__ import annotations

import pytest

from trio_trader.sim._tokens import ui_amount_string, ui_token_amount
from trio_trader.sim._tx_errors import tx_error_message


@pytest.mark.parametrize(
    ("amount", "decimals", "text"),
    [
        (826925208216021, 6, "826925208.216021"),
        (1_000_000, 6, "1"),
        (1_500_000, 6, "1.5"),
        (5, 6, "0.000005"),
        (0, 6, "0"),
        (42, 0, "42"),
    ],
)
def test_ui_amount_string_is_exact_and_trimmed(amount: int, decimals: int, text: str) -> None:
    assert ui_amount_string(amount, decimals) == text


def test_ui_token_amount_zero_is_null_only_in_transaction_balances() -> None:
    assert ui_token_amount(0, 6)["uiAmount"] == 0.0
    assert ui_token_amount(0, 6, zero_is_null=True)["uiAmount"] is None
    assert ui_token_amount(2_500_000, 6) == {
        "amount": "2500000",
        "decimals": 6,
        "uiAmount": 2.5,
        "uiAmountString": "2.5",
    }


@pytest.mark.parametrize(
    ("err", "text"),
    [
        (
            {"InstructionError": [2, {"Custom": 6003}]},
            "Error processing Instruction 2: custom program error: 0x1773",
        ),
        (
            {"InstructionError": [0, "InvalidAccountData"]},
            "Error processing Instruction 0: invalid account data for instruction",
        ),
        ("BlockhashNotFound", "Blockhash not found"),
        ("InsufficientFundsForFee", "Insufficient funds for fee"),
        (
            {"InsufficientFundsForRent": {"account_index": 1}},
            "Transaction results in an account (1) with insufficient funds for rent",
        ),
        ("SomethingNew", "SomethingNew"),
    ],
)
def test_transaction_error_texts_match_agave(err: object, text: str) -> None:
    assert tx_error_message(err) == text
