"""Fixed addresses equal their seeds' derivation, and PDAs match real mainnet accounts."""

from __future__ import annotations

import base64

import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.pump import addresses as a
from trio_trader.pump.accounts import Global


@pytest.mark.parametrize(
    ("derive", "fixed"),
    [
        (a.global_pda, a.GLOBAL),
        (a.event_authority_pda, a.EVENT_AUTHORITY),
        (a.mint_authority_pda, a.MINT_AUTHORITY),
        (a.global_volume_accumulator_pda, a.GLOBAL_VOLUME_ACCUMULATOR),
        (a.fee_config_pda, a.FEE_CONFIG),
        (a.mayhem_global_params_pda, a.MAYHEM_GLOBAL_PARAMS),
        (a.mayhem_sol_vault_pda, a.MAYHEM_SOL_VAULT),
    ],
)
def test_fixed_address_equals_its_pda(derive, fixed):
    assert derive() == fixed


def test_quote_control_pda_matches_protocol_doc():
    assert a.quote_control_pda() == Pubkey.from_string(
        "6z6GDdfb2AjR9ZhJmAUQ5cipJCVxQvLJhB2H8mCwTFBP"
    )


def test_fee_recipient_lists_have_eight_distinct_keys_each():
    lists = (a.FEE_RECIPIENTS, a.RESERVED_FEE_RECIPIENTS, a.BUYBACK_FEE_RECIPIENTS)
    for keys in lists:
        assert len(keys) == 8
        assert len(set(keys)) == 8
    assert not set(a.FEE_RECIPIENTS) & set(a.RESERVED_FEE_RECIPIENTS)
    assert not set(a.FEE_RECIPIENTS) & set(a.BUYBACK_FEE_RECIPIENTS)


def test_fee_recipients_equal_those_stored_in_the_real_global_account():
    sample = load_sample("s06_carbon_global_512b_2025.json")
    glob = Global.decode(base64.b64decode(sample["data"]))
    assert glob.all_fee_recipients() == a.FEE_RECIPIENTS


def test_legacy_create_pdas_match_sample_s08():
    ix = load_sample("s08_carbon_create_ix_2025-03.json")
    keys = [Pubkey.from_string(m["pubkey"]) for m in ix["accounts"]]
    mint = keys[0]
    assert a.bonding_curve_pda(mint) == keys[2]
    assert a.associated_bonding_curve(mint, a.TOKEN_PROGRAM_ID) == keys[3]
    assert a.metadata_pda(mint) == keys[6]


def test_token_2022_pdas_match_sample_s09_buy():
    sample = load_sample("s09_vixen_buy_token2022_2026-02-09.json")
    keys = [Pubkey.from_bytes(bytes(k)) for k in sample["instructions"][0]["accounts"]]
    mint, user, token_program = keys[2], keys[6], keys[8]
    assert token_program == a.TOKEN_2022_PROGRAM_ID
    assert a.bonding_curve_pda(mint) == keys[3]
    assert a.associated_bonding_curve(mint, token_program) == keys[4]
    assert a.associated_token_address(user, mint, token_program) == keys[5]
    assert a.user_volume_accumulator_pda(user) == keys[13]
    # With the wrong token program the ATA is a different account (seeds check fails on chain).
    assert a.associated_bonding_curve(mint, a.TOKEN_PROGRAM_ID) != keys[4]


def test_creator_vault_matches_sample_s10_sell_for_the_events_creator():
    sample = load_sample("s10_vixen_sell_token2022_2026-02-09.json")
    keys = [Pubkey.from_bytes(bytes(k)) for k in sample["instructions"][0]["accounts"]]
    creator = Pubkey.from_string("43gqyYu6kxa6pkvMJm4gvpYCAejja4sps6CZDeqvX9ux")  # TradeEvent
    assert a.creator_vault_pda(creator) == keys[8]


def test_mayhem_token_vault_is_the_sol_vaults_token_2022_ata():
    mint = Pubkey.from_string("FXLjNRSQXuFM8fhKLEg2QeuUxs4Eu2hhc28tZhzrpump")
    expected, _ = Pubkey.find_program_address(
        [bytes(a.MAYHEM_SOL_VAULT), bytes(a.TOKEN_2022_PROGRAM_ID), bytes(mint)],
        a.ASSOCIATED_TOKEN_PROGRAM_ID,
    )
    assert a.mayhem_token_vault(mint) == expected
    state, _ = Pubkey.find_program_address([b"mayhem-state", bytes(mint)], a.MAYHEM_PROGRAM_ID)
    assert a.mayhem_state_pda(mint) == state
    v2, _ = Pubkey.find_program_address([b"bonding-curve-v2", bytes(mint)], a.PUMP_PROGRAM_ID)
    assert a.bonding_curve_v2_pda(mint) == v2
    assert a.bonding_curve_v2_pda(mint) != a.bonding_curve_pda(mint)
