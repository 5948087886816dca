"""Pool and GlobalConfig: bytes written by the SDK's Anchor coder with the newest IDL, every
historical length, encode round trips."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.pump.pumpswap_fixtures import amm_idl, pk, vectors
from trio_trader.pump import DecodeError
from trio_trader.pump.amm.accounts import GlobalConfig, Pool


def _disc(name: str) -> bytes:
    (entry,) = [e for e in amm_idl()["accounts"] if e["name"] == name]
    return bytes(entry["discriminator"])


def _expected_pool(v: dict[str, Any]) -> Pool:
    return Pool(
        pool_bump=v["poolBump"],
        index=v["index"],
        creator=pk(v["creator"]),
        base_mint=pk(v["baseMint"]),
        quote_mint=pk(v["quoteMint"]),
        lp_mint=pk(v["lpMint"]),
        pool_base_token_account=pk(v["poolBaseTokenAccount"]),
        pool_quote_token_account=pk(v["poolQuoteTokenAccount"]),
        lp_supply=int(v["lpSupply"]),
        coin_creator=pk(v["coinCreator"]),
        is_mayhem_mode=v["isMayhemMode"],
        is_cashback_coin=v["isCashbackCoin"],
        virtual_quote_reserves=int(v["virtualQuoteReserves"]),
        creator_fee_bps=int(v["creatorFeeBps"]),
        can_edit_creator_fee=v["canEditCreatorFee"],
        is_holder_reward=v["isHolderReward"],
    )


def test_discriminators_match_the_idl() -> None:
    assert _disc("Pool") == Pool.DISCRIMINATOR
    assert _disc("GlobalConfig") == GlobalConfig.DISCRIMINATOR


def test_pool_decodes_sdk_bytes_and_encodes_them_back() -> None:
    enc = vectors()["encodings"]["pool"]
    raw = bytes.fromhex(enc["hex"])
    assert len(raw) == 271  # newest layout: is_holder_reward ends at 271
    pool = Pool.decode(raw)
    assert pool == _expected_pool(enc["value"])
    assert pool.virtual_quote_reserves == -(2**127)  # i128, signed
    assert pool.encode() == raw.ljust(Pool.SIZE, b"\0")
    assert Pool.decode(pool.encode()) == pool


@pytest.mark.parametrize(
    ("length", "last_field"),
    [
        (211, "lp_supply"),
        (243, "coin_creator"),
        (244, "is_mayhem_mode"),
        (245, "is_cashback_coin"),
        (261, "virtual_quote_reserves"),
        (270, "can_edit_creator_fee"),
        (300, "is_holder_reward"),
    ],
)
def test_pool_historical_lengths(length: int, last_field: str) -> None:
    full = Pool.decode(bytes.fromhex(vectors()["encodings"]["pool"]["hex"]))
    raw = full.encode()[:length]
    names = [f.name for f in attrs.fields(Pool)]
    cut = names.index(last_field) + 1
    older = Pool.decode(raw)
    for name in names[:cut]:
        assert getattr(older, name) == getattr(full, name), name
    for name in names[cut:]:
        assert getattr(older, name) is None, name


def test_pool_rejects_bad_input() -> None:
    raw = bytes.fromhex(vectors()["encodings"]["pool"]["hex"])
    with pytest.raises(DecodeError, match="missing"):
        Pool.decode(raw[:210])
    with pytest.raises(DecodeError, match="discriminator"):
        Pool.decode(bytes(8) + raw[8:])
    with pytest.raises(DecodeError):
        Pool.decode(raw[:5])


def test_pool_without_coin_creator() -> None:
    full = Pool.decode(bytes.fromhex(vectors()["encodings"]["pool"]["hex"]))
    assert full.has_coin_creator
    assert not attrs.evolve(full, coin_creator=Pubkey.default()).has_coin_creator
    assert not Pool.decode(full.encode()[:211]).has_coin_creator


def test_global_config_decodes_sdk_bytes() -> None:
    enc = vectors()["encodings"]["global_config"]
    raw = bytes.fromhex(enc["hex"])
    v = enc["value"]
    gc = GlobalConfig.decode(raw)
    assert len(raw) == GlobalConfig.SIZE == 949
    assert gc.admin == pk(v["admin"])
    assert gc.protocol_fee_recipients == tuple(pk(k) for k in v["protocolFeeRecipients"])
    assert gc.reserved_fee_recipients == tuple(pk(k) for k in v["reservedFeeRecipients"])
    assert gc.buyback_fee_recipients == tuple(pk(k) for k in v["buybackFeeRecipients"])
    assert gc.buyback_basis_points == 5000
    assert gc.boost_authority == pk(v["boostAuthority"])
    assert gc.boost_enabled
    assert gc.creator_fee_configurable
    assert gc.max_configurable_creator_fee_bps == 100
    assert gc.buy_disabled
    assert gc.sell_disabled
    assert gc.encode() == raw
    assert gc.fee_recipients_for(False) == gc.protocol_fee_recipients
    reserved = (pk(v["reservedFeeRecipient"]), *gc.reserved_fee_recipients)
    assert gc.fee_recipients_for(True) == reserved


@pytest.mark.parametrize(
    ("length", "first_missing"),
    [
        (313, "coin_creator_fee_basis_points"),
        (321, "admin_set_coin_creator_authority"),
        (353, "whitelist_pda"),
        (642, "is_cashback_enabled"),
        (643, "buyback_fee_recipients"),
        (907, "boost_authority"),
        (940, "creator_fee_configurable"),
    ],
)
def test_global_config_historical_lengths(length: int, first_missing: str) -> None:
    raw = bytes.fromhex(vectors()["encodings"]["global_config"]["hex"])
    gc = GlobalConfig.decode(raw[:length])
    assert getattr(gc, first_missing) is None
    assert gc.protocol_fee_recipients == GlobalConfig.decode(raw).protocol_fee_recipients
    with pytest.raises(DecodeError):
        GlobalConfig.decode(raw[:312])
