"""BondingCurve, Global and FeeConfig against real account bytes and hand-made layouts."""

from __future__ import annotations

import base64

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.pump import DecodeError
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees, FeeTier, Global
from trio_trader.pump.addresses import FEE_RECIPIENTS, ZERO_KEY


def _rent_exempt_minimum(size: int) -> int:
    """Solana's rent-exempt minimum: (128 + size) bytes × 3480 lamports/byte-year × 2 years."""
    return (128 + size) * 3480 * 2


def _curve_sample(name: str) -> tuple[bytes, int]:
    sample = load_sample(name)
    if "result" in sample:
        value = sample["result"]["value"]
        return base64.b64decode(value["data"][0]), value["lamports"]
    return base64.b64decode(sample["data"]), sample["lamports"]


def test_2024_curve_of_49_bytes_decodes_with_late_fields_none():
    data, lamports = _curve_sample("s04_chainstack_getAccountInfo_bonding_curve_49b_2024-08.json")
    assert len(data) == 49
    curve = BondingCurve.decode(data)
    assert curve.virtual_token_reserves == 1_070_419_577_927_421
    assert curve.virtual_sol_reserves == 30_072_319_932
    assert curve.real_token_reserves == 790_519_577_927_421
    assert curve.real_sol_reserves == 72_319_932
    assert curve.token_total_supply == 10**15
    assert curve.complete is False
    assert curve.creator is None
    assert curve.is_mayhem_mode is None
    assert curve.is_holder_reward is None
    # The account holds rent plus exactly the real SOL reserves.
    assert lamports == _rent_exempt_minimum(49) + curve.real_sol_reserves
    # A curve made from the default Global keeps these differences for life.
    assert curve.virtual_token_reserves - curve.real_token_reserves == 279_900_000_000_000
    assert curve.virtual_sol_reserves - curve.real_sol_reserves == 30_000_000_000


def test_2025_curve_of_150_bytes_decodes_creator_and_padding():
    data, lamports = _curve_sample("s05_carbon_bonding_curve_150b_2025.json")
    assert len(data) == 150
    curve = BondingCurve.decode(data)
    assert curve.creator == Pubkey.from_string("CkdtUhQdH2sHXJYTJTNFbF1K5W33WVgVHG7zffaMkEmv")
    assert curve.real_sol_reserves == 2_485_430
    assert curve.virtual_sol_reserves == 30_002_485_430
    assert curve.virtual_quote_reserves == curve.virtual_sol_reserves
    assert curve.real_quote_reserves == curve.real_sol_reserves
    # The zero padding reads as the zero value of the fields added later.
    assert curve.is_mayhem_mode is False
    assert curve.quote_mint == ZERO_KEY
    assert curve.creator_fee_bps == 0
    assert lamports == _rent_exempt_minimum(150) + curve.real_sol_reserves


def test_curve_encode_writes_the_166_byte_layout_and_round_trips():
    data, _ = _curve_sample("s05_carbon_bonding_curve_150b_2025.json")
    curve = BondingCurve.decode(data)
    encoded = curve.encode()
    assert len(encoded) == 166
    assert encoded[:150] == data  # same fields, same zero padding
    assert BondingCurve.decode(encoded) == curve
    assert curve.encode(size=150) == data  # the length the program wrote it at


@pytest.mark.parametrize("size", [48, 167])
def test_curve_encode_refuses_a_length_no_layout_has(size):
    with pytest.raises(ValueError, match="size"):
        BondingCurve(1, 2, 3, 4, 5, False).encode(size=size)


def test_encoding_an_old_curve_zero_fills_missing_fields():
    data, _ = _curve_sample("s04_chainstack_getAccountInfo_bonding_curve_49b_2024-08.json")
    encoded = BondingCurve.decode(data).encode()
    assert encoded[:49] == data
    assert encoded[49:] == bytes(166 - 49)
    again = BondingCurve.decode(encoded)
    assert again.creator == ZERO_KEY
    assert again.is_cashback_coin is False


# Lengths the program has written (PROTOCOL §5.1) → how many fields each holds; 123 is
# the 2026-09 layout cut between creator_fee_bps and can_edit_creator_fee.
HISTORICAL_CURVE_LENGTHS = {
    49: 6,
    81: 7,
    82: 8,
    83: 9,
    115: 10,
    123: 11,
    124: 12,
    125: 13,
    133: 14,
    141: 15,
    149: 16,
    150: 16,
    151: 16,
    166: 16,
}


@pytest.mark.parametrize(("length", "present"), sorted(HISTORICAL_CURVE_LENGTHS.items()))
def test_every_historical_curve_length_decodes_its_prefix(length, present):
    full = BondingCurve(
        1_073_000_000_000_001, 30_000_000_002, 793_100_000_000_003, 4, 10**15, True,
        Pubkey.new_unique(), True, True, Pubkey.new_unique(), 250, True, True, 300_701,
        4_349_721, 7_680_000_000_000,
    )  # fmt: skip
    data = full.encode()[:length]
    assert len(data) == length
    curve = BondingCurve.decode(data)
    names = [f.name for f in attrs.fields(BondingCurve)]
    values, expected = attrs.asdict(curve, recurse=False), attrs.asdict(full, recurse=False)
    assert {n: values[n] for n in names[:present]} == {n: expected[n] for n in names[:present]}
    assert {n: values[n] for n in names[present:]} == dict.fromkeys(names[present:])


def test_curve_bytes_past_the_last_field_are_ignored():
    full = BondingCurve(1, 2, 3, 4, 5, False, Pubkey.new_unique(), is_holder_reward=True)
    data = full.encode()
    assert BondingCurve.decode(data[:149] + b"\xff" * 17) == BondingCurve.decode(data)
    assert BondingCurve.decode(data + b"\xff" * 10) == BondingCurve.decode(data)


# A real 166-byte curve of a holder-reward coin, first traded after the 2026-10-08 deploy
# (5rL1fAmw…Hpump, getAccountInfo at slot 454,639,101, 25,397,973 lamports), from
# aquecerandroi-oss/project-hunter's public fixture t48g_rpc_curve_new166_5rL1_raw.json.
_CURVE_166_HOLDER_REWARD = (
    "F7f4N2DYrGCBFmRlV88DAHMiJP0GAAAAgX5RGcbQAgBzdgABAAAAAACAxqR+jQMAAGdW5kfhd0ZBKwCG928Sxwlb"
    "k+zTm4sxENVPtPDwNGi2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE56ykAAAAA"
    "ABlfQgAAAAAAAACsI/wGAAAAAAAAAAAAAAAAAAAAAAAAAA=="
)


def test_real_166_byte_curve_decodes_every_field_and_accounts_for_its_lamports():
    data = base64.b64decode(_CURVE_166_HOLDER_REWARD)
    assert len(data) == BondingCurve.SIZE == 166
    curve = BondingCurve.decode(data)
    assert curve.virtual_token_reserves == 1_072_399_200_294_529
    assert curve.real_sol_reserves == 16_807_539
    assert curve.creator == Pubkey.from_string("7xPr9BDh6c5VHYQzywz8QYpVhiM8siL4gD5hmmjG2ptu")
    assert curve.quote_mint == ZERO_KEY
    assert (curve.is_holder_reward, curve.is_mayhem_mode, curve.complete) == (True, False, False)
    assert (curve.unknown_u64_0, curve.unknown_u64_1) == (2_747_193, 4_349_721)
    assert curve.unknown_u64_2 == 7_680_000_000_000
    # mainnet's rent since 2026: 5,080 lamports per byte (128 bytes of overhead included);
    # the curve holds that, its real reserves, and the two unnamed u64s.
    rent = (128 + 166) * 5_080
    extra = curve.unknown_u64_0 + curve.unknown_u64_1
    assert rent + curve.real_sol_reserves + extra == 25_397_973
    assert curve.encode() == data  # byte for byte: every non-zero byte is a field


@pytest.mark.parametrize("length", [0, 7, 8, 48])
def test_truncated_curve_raises_decode_error(length):
    data, _ = _curve_sample("s05_carbon_bonding_curve_150b_2025.json")
    with pytest.raises(DecodeError):
        BondingCurve.decode(data[:length])


def test_wrong_discriminator_raises_decode_error():
    data, _ = _curve_sample("s05_carbon_bonding_curve_150b_2025.json")
    with pytest.raises(DecodeError, match="discriminator"):
        Global.decode(data)
    with pytest.raises(DecodeError, match="discriminator"):
        BondingCurve.decode(b"\0" * 8 + data[8:])


def test_global_of_512_bytes_decodes_2025_settings():
    sample = load_sample("s06_carbon_global_512b_2025.json")
    data = base64.b64decode(sample["data"])
    assert len(data) == 512
    glob = Global.decode(data)
    assert glob.initialized is True
    assert glob.fee_recipient == FEE_RECIPIENTS[0]
    assert glob.initial_virtual_token_reserves == 1_073_000_000_000_000
    assert glob.initial_virtual_sol_reserves == 30_000_000_000
    assert glob.initial_real_token_reserves == 793_100_000_000_000
    assert glob.token_total_supply == 10**15
    assert glob.fee_basis_points == 95
    assert glob.creator_fee_basis_points == 5
    assert glob.enable_migrate is True
    assert glob.fee_recipients == FEE_RECIPIENTS[1:]
    assert glob.create_v2_enabled is False
    # reserved_fee_recipient would end at byte 515: not part of a 512-byte Global.
    assert glob.reserved_fee_recipient is None
    assert glob.buyback_fee_recipients is None
    assert glob.all_reserved_fee_recipients() == ()


def test_global_encode_is_1088_bytes_and_round_trips():
    sample = load_sample("s06_carbon_global_512b_2025.json")
    data = base64.b64decode(sample["data"])
    glob = Global.decode(data)
    encoded = glob.encode()
    assert len(encoded) == Global.SIZE == 1088
    assert encoded[Global.FIELDS_END :] == b"\0"  # the byte no IDL names
    assert Global.decode(encoded[: Global.FIELDS_END]) == Global.decode(encoded)  # 1087 B
    assert encoded[:451] == data[:451]  # every field the 512-byte account holds
    full = attrs.evolve(
        Global.decode(encoded),
        buyback_fee_recipients=tuple(Pubkey.new_unique() for _ in range(8)),
        buyback_basis_points=2500,
        is_holder_reward_enabled=True,
    )
    assert Global.decode(full.encode()) == full
    for length in (1045, 1054):
        partial = Global.decode(full.encode()[:length])
        assert partial.buyback_basis_points == 2500
        assert partial.is_holder_reward_enabled is None


def test_global_shorter_than_its_2024_fields_is_rejected():
    sample = load_sample("s06_carbon_global_512b_2025.json")
    with pytest.raises(DecodeError):
        Global.decode(base64.b64decode(sample["data"])[:112])


def _fee_config() -> FeeConfig:
    return FeeConfig(
        bump=254,
        admin=Pubkey.new_unique(),
        flat_fees=Fees(0, 100, 0),
        fee_tiers=(
            FeeTier(0, Fees(0, 95, 30)),
            FeeTier(100_000_000_000, Fees(0, 50, 20)),
            FeeTier(500_000_000_000, Fees(0, 10, 5)),
        ),
        stable_fee_tiers=(FeeTier(1_000, Fees(0, 80, 20)),),
        exotic_flat_fees=Fees(0, 60, 10),
    )


def test_fee_config_round_trips_and_pads_to_4097_bytes():
    config = _fee_config()
    encoded = config.encode()
    assert len(encoded) == 4097
    assert encoded[:8] == bytes.fromhex("8f3492bbdb7b4c9b")
    assert encoded[65:69] == (3).to_bytes(4, "little")  # fee_tiers count at offset 65
    assert FeeConfig.decode(encoded) == config


def test_fee_config_without_later_fields_reads_them_as_empty():
    config = _fee_config()
    first_layout = 8 + 1 + 32 + 24 + 4 + 3 * 40
    decoded = FeeConfig.decode(config.encode()[:first_layout])
    assert decoded.fee_tiers == config.fee_tiers
    assert decoded.stable_fee_tiers == ()
    assert decoded.exotic_flat_fees is None
    with pytest.raises(DecodeError):
        FeeConfig.decode(config.encode()[: first_layout - 1])


def test_fee_config_picks_first_tier_below_threshold_else_last_reached():
    config = attrs.evolve(
        _fee_config(),
        fee_tiers=(
            FeeTier(10_000, Fees(0, 95, 30)),
            FeeTier(20_000, Fees(0, 50, 20)),
        ),
    )
    assert config.rates_for(0) == Fees(0, 95, 30)
    assert config.rates_for(19_999) == Fees(0, 95, 30)
    assert config.rates_for(20_000) == Fees(0, 50, 20)
    assert config.rates_for(10**18) == Fees(0, 50, 20)
    assert attrs.evolve(config, fee_tiers=()).rates_for(5) == Fees(0, 100, 0)


def test_get_fees_return_data_decodes_to_95_and_30_bps():
    # "Program return: pfeeUx… AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA" (PROTOCOL §6.1)
    fees = Fees.decode(base64.b64decode("AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA"))
    assert fees == Fees(lp_fee_bps=0, protocol_fee_bps=95, creator_fee_bps=30)
    assert fees.encode() == base64.b64decode("AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA")


def test_fee_tier_is_40_bytes_u128_threshold_first():
    tier = FeeTier(2**100 + 1, Fees(1, 95, 30))
    data = tier.encode()
    assert len(data) == 40
    assert data[:16] == (2**100 + 1).to_bytes(16, "little")
    assert FeeTier.decode(data) == tier
    with pytest.raises(DecodeError):
        FeeTier.decode(data[:39])
    with pytest.raises(DecodeError):
        FeeTier.decode(data + b"\0")
