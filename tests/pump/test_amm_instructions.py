"""PumpSwap buy / sell: account lists and bytes against the pump-swap-sdk 1.20.0 builders
(with and without coin creator, cashback, Token-2022 base, USDC quote) and the IDL."""

from __future__ import annotations

from typing import Any

import pytest
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import amm_idl, flags, idl_flags, pk, sdk_instruction, vectors
from trio_trader.pump import DecodeError
from trio_trader.pump import addresses as a
from trio_trader.pump.amm import addresses as x
from trio_trader.pump.amm import instructions as ai
from trio_trader.pump.amm.accounts import Pool

CASES = ["wsol_creator", "wsol_creator_cashback_t22", "wsol_no_creator_mayhem", "usdc_creator_t22"]


def _case(name: str) -> dict[str, Any]:
    (case,) = [c for c in vectors()["swaps"] if c["name"] == name]
    return case


def _pool(case: dict[str, Any]) -> Pool:
    p = case["pool"]
    return Pool(
        pool_bump=255,
        index=0,
        creator=pk(p["creator"]),
        base_mint=pk(p["base_mint"]),
        quote_mint=pk(p["quote_mint"]),
        lp_mint=pk(p["lp_mint"]),
        pool_base_token_account=pk(p["pool_base_token_account"]),
        pool_quote_token_account=pk(p["pool_quote_token_account"]),
        lp_supply=4_193_388_292_423,
        coin_creator=pk(p["coin_creator"]),
        is_mayhem_mode=p["is_mayhem_mode"],
        is_cashback_coin=p["is_cashback_coin"],
        virtual_quote_reserves=0,
        creator_fee_bps=0,
        can_edit_creator_fee=False,
    )


def _common(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "pool_address": pk(case["pool_key"]),
        "pool": _pool(case),
        "user": pk(case["user"]),
        "base_token_program": pk(case["base_token_program"]),
        "quote_token_program": pk(case["quote_token_program"]),
        "protocol_fee_recipient": pk(case["protocol_fee_recipient"]),
        "buyback_fee_recipient": pk(case["buyback_fee_recipient"]),
    }


@pytest.mark.parametrize("name", CASES)
def test_sell_matches_the_sdk(name: str) -> None:
    case = _case(name)
    built = ai.amm_sell(
        **_common(case), base_amount_in=1_000_000_000_000, min_quote_amount_out=4_000_000
    )
    (expected,) = case["sell"]
    assert built == sdk_instruction(expected)


@pytest.mark.parametrize("name", CASES)
def test_buy_matches_the_sdk(name: str) -> None:
    case = _case(name)
    built = ai.amm_buy(
        **_common(case),
        base_amount_out=1_000_000_000_000,
        max_quote_amount_in=500_000_000,
        track_volume=True,  # the SDK always sends {0: true}
    )
    (expected,) = case["buy"]
    assert built == sdk_instruction(expected)


def test_account_counts_match_the_breaking_change_doc() -> None:
    """BREAKING_FEE_RECIPIENT.md: buy 26 (27 cashback), sell 24 (26 cashback)."""
    counts = {}
    for name in CASES:
        common = _common(_case(name))
        sell = ai.amm_sell(**common, base_amount_in=1, min_quote_amount_out=0)
        buy = ai.amm_buy(**common, base_amount_out=1, max_quote_amount_in=2)
        counts[name] = (len(buy.accounts), len(sell.accounts))
    assert counts["wsol_creator"] == (26, 24)
    assert counts["usdc_creator_t22"] == (26, 24)
    assert counts["wsol_creator_cashback_t22"] == (27, 26)
    assert counts["wsol_no_creator_mayhem"] == (25, 23)  # no pool_v2 without a coin creator


def test_fixed_accounts_follow_the_idl_and_remaining_ones_the_sdk() -> None:
    case = _case("wsol_creator_cashback_t22")
    common = _common(case)
    pool = common["pool"]
    user = common["user"]
    sell = ai.amm_sell(**common, base_amount_in=1, min_quote_amount_out=0)
    buy = ai.amm_buy(**common, base_amount_out=1, max_quote_amount_in=2)
    assert flags(sell)[:21] == idl_flags(amm_idl(), "sell")
    assert flags(buy)[:23] == idl_flags(amm_idl(), "buy")
    uva = x.amm_user_volume_accumulator_pda(user)
    uva_ata = x.quote_ata(uva, a.WSOL_MINT, a.TOKEN_PROGRAM_ID)
    buyback = common["buyback_fee_recipient"]
    buyback_ata = x.quote_ata(buyback, a.WSOL_MINT, a.TOKEN_PROGRAM_ID)
    tail = [(m.pubkey, m.is_writable) for m in sell.accounts[21:]]
    assert tail == [
        (uva_ata, True),
        (uva, True),
        (x.pool_v2_pda(pool.base_mint), False),
        (buyback, False),
        (buyback_ata, True),
    ]
    buy_tail = [(m.pubkey, m.is_writable) for m in buy.accounts[23:]]
    assert buy_tail == [
        (uva_ata, True),
        (x.pool_v2_pda(pool.base_mint), False),
        (buyback, False),
        (buyback_ata, True),
    ]


def test_default_buyback_recipient_is_the_first_documented() -> None:
    common = _common(_case("wsol_creator")) | {"buyback_fee_recipient": None}
    sell = ai.amm_sell(**common, base_amount_in=1, min_quote_amount_out=0)
    assert sell.accounts[-2].pubkey == a.BUYBACK_FEE_RECIPIENTS[0]


def test_old_pool_without_coin_creator_field() -> None:
    """A 2025-04 pool (211 bytes) has no coin_creator: the vault of the zero key, no pool_v2."""
    pool = _pool(_case("wsol_creator"))
    old = Pool.decode(pool.encode()[:211])
    common = _common(_case("wsol_creator")) | {"pool": old}
    sell = ai.amm_sell(**common, base_amount_in=1, min_quote_amount_out=0)
    assert len(sell.accounts) == 23
    assert sell.accounts[18].pubkey == x.coin_creator_vault_authority_pda(Pubkey.default())


def test_extend_account() -> None:
    user, pool = Pubkey.new_unique(), Pubkey.new_unique()
    ext = ai.amm_extend_account(account=pool, user=user)
    assert ext.program_id == a.PUMP_AMM_PROGRAM_ID
    assert flags(ext) == idl_flags(amm_idl(), "extend_account")
    assert [m.pubkey for m in ext.accounts] == [
        pool,
        user,
        a.SYSTEM_PROGRAM_ID,
        x.AMM_EVENT_AUTHORITY,
        a.PUMP_AMM_PROGRAM_ID,
    ]
    assert ai.pool_needs_extend(299)
    assert not ai.pool_needs_extend(300)


def test_discriminators_match_the_idl() -> None:
    by_name = {i["name"]: bytes(i["discriminator"]) for i in amm_idl()["instructions"]}
    assert by_name["buy"] == ai.AMM_BUY_DISCRIMINATOR
    assert by_name["sell"] == ai.AMM_SELL_DISCRIMINATOR
    assert by_name["buy_exact_quote_in"] == ai.AMM_BUY_EXACT_QUOTE_IN_DISCRIMINATOR
    assert by_name["extend_account"] == ai.AMM_EXTEND_ACCOUNT_DISCRIMINATOR


def test_decode_round_trips_and_errors() -> None:
    common = _common(_case("wsol_creator"))
    sell = ai.amm_sell(**common, base_amount_in=7, min_quote_amount_out=8)
    buy = ai.amm_buy(**common, base_amount_out=9, max_quote_amount_in=10, track_volume=True)
    exact = ai.amm_buy_exact_quote_in(**common, spendable_quote_in=11, min_base_amount_out=12)
    ext = ai.amm_extend_account(account=Pubkey.new_unique(), user=Pubkey.new_unique())
    assert len(exact.accounts) == len(buy.accounts)
    assert ai.decode_amm_instruction(bytes(sell.data)) == ("sell", ai.AmmSellArgs(7, 8))
    assert ai.decode_amm_instruction(bytes(buy.data)) == ("buy", ai.AmmBuyArgs(9, 10, True))
    assert ai.decode_amm_instruction(bytes(buy.data)[:24]) == ("buy", ai.AmmBuyArgs(9, 10, False))
    decoded = ai.decode_amm_instruction(bytes(exact.data))
    assert decoded == ("buy_exact_quote_in", ai.AmmBuyExactQuoteInArgs(11, 12, False))
    assert ai.decode_amm_instruction(bytes(ext.data))[0] == "extend_account"
    with pytest.raises(DecodeError, match="truncated"):
        ai.decode_amm_instruction(bytes(sell.data)[:20])
    with pytest.raises(DecodeError, match="not a PumpSwap"):
        ai.decode_amm_instruction(bytes(8))
    with pytest.raises(DecodeError, match="no discriminator"):
        ai.decode_amm_instruction(b"\x01")
    with pytest.raises(DecodeError, match="invalid bool"):
        ai.decode_amm_instruction(bytes(buy.data)[:24] + b"\x02")
