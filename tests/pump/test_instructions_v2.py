"""buy_v2 / sell_v2 / buy_exact_quote_in_v2: bytes and accounts against the pump-sdk 2.0.0
builders (SOL on Token-2022, USDC on SPL Token) and the pump.json IDL."""

from __future__ import annotations

from typing import Any

import pytest
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import flags, idl_flags, pk, sdk_instruction, vectors
from trio_trader.pump import DecodeError
from trio_trader.pump import addresses as a
from trio_trader.pump import instructions as ix


def _case(name: str) -> dict[str, Any]:
    (case,) = [c for c in vectors()["v2"] if c["name"] == name]
    return case


def _common(case: dict[str, Any], quote_mint: Pubkey | None) -> dict[str, Any]:
    return {
        "user": pk(case["user"]),
        "mint": pk(case["mint"]),
        "creator": pk(case["creator"]),
        "token_program": pk(case["token_program"]),
        "fee_recipient": pk(case["fee_recipient"]),
        "buyback_fee_recipient": pk(case["buyback_fee_recipient"]),
        "quote_mint": quote_mint,
    }


@pytest.mark.parametrize("name", ["sol_t22", "usdc_spl"])
def test_v2_builders_match_the_sdk(name: str) -> None:
    case = _case(name)
    common = _common(case, pk(case["quote_mint"]))
    built = {
        "buy_v2": ix.buy_v2(**common, amount=1_000_000_000_000, max_sol_cost=35_000_000),
        "sell_v2": ix.sell_v2(**common, amount=5, min_sol_output=6),
        "buy_exact_quote_in_v2": ix.buy_exact_quote_in_v2(
            **common, spendable_quote_in=7_000_000, min_tokens_out=8
        ),
    }
    for kind, instruction in built.items():
        assert instruction == sdk_instruction(case[kind]), kind


def test_sol_curve_zero_quote_mint_means_wsol() -> None:
    """A SOL curve stores the zero key; the v2 accounts name wrapped SOL (normalizeQuoteMint)."""
    case = _case("sol_t22")
    expected = sdk_instruction(case["buy_v2"])
    for quote in (None, a.ZERO_KEY, a.WSOL_MINT):
        built = ix.buy_v2(**_common(case, quote), amount=1_000_000_000_000, max_sol_cost=35_000_000)
        assert built == expected


def test_v2_account_counts_and_flags_follow_the_idl(idl: dict[str, Any]) -> None:
    case = _case("usdc_spl")
    common = _common(case, a.USDC_MINT)
    buy = ix.buy_v2(**common, amount=1, max_sol_cost=2)
    sell = ix.sell_v2(**common, amount=1, min_sol_output=2)
    exact = ix.buy_exact_quote_in_v2(**common, spendable_quote_in=1, min_tokens_out=2)
    assert (len(buy.accounts), len(sell.accounts), len(exact.accounts)) == (27, 26, 27)
    assert flags(buy) == idl_flags(idl, "buy_v2")
    assert flags(sell) == idl_flags(idl, "sell_v2")
    assert flags(exact) == idl_flags(idl, "buy_exact_quote_in_v2")


def test_v2_quote_side_accounts_are_atas_under_the_quote_program() -> None:
    user, mint, creator = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    built = ix.sell_v2(
        user=user,
        mint=mint,
        creator=creator,
        token_program=a.TOKEN_2022_PROGRAM_ID,
        fee_recipient=a.FEE_RECIPIENTS[1],
        amount=1,
        min_sol_output=0,
        quote_mint=a.USDC_MINT,
    )
    keys = [m.pubkey for m in built.accounts]
    ata = a.associated_token_address
    assert keys[2] == a.USDC_MINT
    assert keys[4] == a.TOKEN_PROGRAM_ID
    assert keys[8] == a.BUYBACK_FEE_RECIPIENTS[0]  # default buyback recipient
    assert keys[11] == ata(a.bonding_curve_pda(mint), mint, a.TOKEN_2022_PROGRAM_ID)
    assert keys[12] == ata(a.bonding_curve_pda(mint), a.USDC_MINT, a.TOKEN_PROGRAM_ID)
    assert keys[15] == ata(user, a.USDC_MINT, a.TOKEN_PROGRAM_ID)
    assert keys[16] == a.creator_vault_pda(creator)
    assert keys[18] == a.sharing_config_pda(mint)


def test_v2_data_bytes() -> None:
    common = _common(_case("sol_t22"), None)
    buy = ix.buy_v2(**common, amount=1_000_000_000_000, max_sol_cost=35_000_000)
    assert buy.data.hex() == "b817ee6167c5d33d" + "0010a5d4e8000000" + "c00e160200000000"
    sell = ix.sell_v2(**common, amount=5, min_sol_output=6)
    assert sell.data.hex() == "5df6823ce7e940b2" + "0500000000000000" + "0600000000000000"
    with pytest.raises(ValueError, match="64 bits"):
        ix.sell_v2(**common, amount=2**64, min_sol_output=0)


def test_decode_v2_instructions_round_trip() -> None:
    common = _common(_case("sol_t22"), None)
    cases = [
        (ix.buy_v2(**common, amount=11, max_sol_cost=12), "buy_v2", ix.BuyV2Args(11, 12)),
        (ix.sell_v2(**common, amount=13, min_sol_output=14), "sell_v2", ix.SellV2Args(13, 14)),
        (
            ix.buy_exact_quote_in_v2(**common, spendable_quote_in=15, min_tokens_out=16),
            "buy_exact_quote_in_v2",
            ix.BuyExactQuoteInV2Args(15, 16),
        ),
    ]
    for built, name, args in cases:
        assert ix.decode_pump_instruction(bytes(built.data)) == (name, args)
        with pytest.raises(DecodeError, match="truncated"):
            ix.decode_pump_instruction(bytes(built.data)[:-1])
