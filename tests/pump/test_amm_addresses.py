"""PumpSwap PDAs and fixed accounts against their seeds and the SDKs' own derivations."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import pk, vectors
from trio_trader.pump import addresses as a
from trio_trader.pump.amm import addresses as x
from trio_trader.pump.amm.quote import NATIVE_MINT_2022


def test_fixed_accounts_equal_their_seeds_and_the_sdk() -> None:
    c = vectors()["constants"]
    assert x.GLOBAL_CONFIG == x.global_config_pda() == pk(c["global_config"])
    assert x.AMM_EVENT_AUTHORITY == x.amm_event_authority_pda() == pk(c["event_authority"])
    assert x.AMM_FEE_CONFIG == x.amm_fee_config_pda() == pk(c["fee_config"])
    assert (
        x.AMM_GLOBAL_VOLUME_ACCUMULATOR
        == x.amm_global_volume_accumulator_pda()
        == pk(c["global_volume_accumulator"])
    )
    assert pk(c["native_mint_2022"]) == NATIVE_MINT_2022
    assert c["pool_account_new_size"] == x.POOL_MIN_SIZE_FOR_TRADE


@pytest.mark.parametrize("index", range(3))
def test_pool_pdas_match_the_sdk(index: int) -> None:
    v = vectors()["pdas"][index]
    mint = pk(v["mint"])
    assert a.pool_authority_pda(mint) == pk(v["pool_authority"])
    assert x.canonical_pool_pda(mint) == pk(v["canonical_pool_wsol"])
    assert x.canonical_pool_pda(mint, a.ZERO_KEY) == pk(v["canonical_pool_zero_key"])
    assert x.canonical_pool_pda(mint, a.WSOL_MINT) == pk(v["pump_sdk_canonical_pool"])
    assert x.canonical_pool_pda(mint, a.USDC_MINT) == pk(v["canonical_pool_usdc"])
    assert x.pool_v2_pda(mint) == pk(v["pool_v2"])
    assert x.lp_mint_pda(x.canonical_pool_pda(mint)) == pk(v["lp_mint"])
    creator = Pubkey.from_bytes(bytes([4]) * 32)
    wallet_pool = pk(v["pool_index_3_creator_wallet"])
    assert x.pool_pda(3, _wallet(4), mint, a.WSOL_MINT) == wallet_pool
    assert x.pool_pda(3, creator, mint, a.WSOL_MINT) != wallet_pool


def _wallet(seed: int) -> Pubkey:
    from solders.keypair import Keypair

    return Keypair.from_seed(bytes([seed]) * 32).pubkey()


def test_creator_and_user_pdas_match_the_sdk() -> None:
    v = vectors()["creator_pdas"]
    creator, user = pk(v["coin_creator"]), pk(v["user"])
    authority = x.coin_creator_vault_authority_pda(creator)
    assert authority == pk(v["coin_creator_vault_authority"]) == pk(v["pump_sdk_amm_creator_vault"])
    assert authority != a.creator_vault_pda(creator)  # "creator_vault" (AMM) vs "creator-vault"
    vault_ata = x.coin_creator_vault_ata(creator, a.WSOL_MINT, a.TOKEN_PROGRAM_ID)
    assert vault_ata == pk(v["coin_creator_vault_ata_wsol"])
    assert x.amm_user_volume_accumulator_pda(user) == pk(v["amm_user_volume_accumulator"])
    assert x.amm_user_volume_accumulator_pda(user) != a.user_volume_accumulator_pda(user)


def test_canonical_pool_helpers() -> None:
    mint = Pubkey.new_unique()
    assert x.is_canonical_pool(mint, a.pool_authority_pda(mint))
    assert not x.is_canonical_pool(mint, Pubkey.new_unique())
    assert x.canonical_pool_quote_mint(None) == a.WSOL_MINT
    assert x.canonical_pool_quote_mint(a.USDC_MINT) == a.USDC_MINT
    assert a.normalize_quote_mint(a.ZERO_KEY) == a.WSOL_MINT
    assert a.normalize_quote_mint(a.USDC_MINT) == a.USDC_MINT
    with pytest.raises(ValueError, match="u16"):
        x.pool_pda(65_536, mint, mint, a.WSOL_MINT)
