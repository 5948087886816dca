"""Property tests for the PumpSwap decoders: any bytes give a value or DecodeError, never
another exception; encoders round-trip."""

from __future__ import annotations

import base64
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from trio_trader.pump import DecodeError
from trio_trader.pump.addresses import PUMP_AMM_PROGRAM_ID
from trio_trader.pump.amm import events as ae
from trio_trader.pump.amm.accounts import GlobalConfig, Pool
from trio_trader.pump.amm.instructions import decode_amm_instruction
from trio_trader.pump.instructions import decode_pump_instruction

FAST = settings(max_examples=60, deadline=None)
U64 = st.integers(0, 2**64 - 1)
KEYS = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
DISCS = [
    Pool.DISCRIMINATOR,
    GlobalConfig.DISCRIMINATOR,
    ae.BuyEvent.DISCRIMINATOR,
    ae.SellEvent.DISCRIMINATOR,
    ae.CreatePoolEvent.DISCRIMINATOR,
    bytes.fromhex("66063d1201daebea"),
    bytes.fromhex("33e685a4017f83ad"),
    bytes.fromhex("c62e1552b4d9e870"),
    bytes.fromhex("b817ee6167c5d33d"),
    bytes.fromhex("5df6823ce7e940b2"),
    bytes.fromhex("c2ab1c46684d5b2f"),
]
BLOBS = st.tuples(st.sampled_from(DISCS), st.binary(max_size=1200)).map(lambda t: t[0] + t[1])


@FAST
@given(data=st.one_of(BLOBS, st.binary(max_size=64)))
def test_decoders_raise_only_decode_error(data: bytes) -> None:
    for decode in (
        Pool.decode,
        GlobalConfig.decode,
        ae.decode_amm_event,
        decode_amm_instruction,
        decode_pump_instruction,
    ):
        with contextlib.suppress(DecodeError):
            decode(data)
    line = "Program data: " + base64.b64encode(data).decode()
    logs = [
        f"Program {PUMP_AMM_PROGRAM_ID} invoke [1]",
        line,
        f"Program {PUMP_AMM_PROGRAM_ID} success",
    ]
    assert all(
        isinstance(e, ae.BuyEvent | ae.SellEvent | ae.CreatePoolEvent)
        for e in ae.parse_amm_logs(logs)
    )


@FAST
@given(
    nums=st.lists(U64, min_size=14, max_size=14),
    keys=st.lists(KEYS, min_size=7, max_size=7),
    vqr=st.integers(-(2**127), 2**127 - 1),
    flag=st.booleans(),
)
def test_sell_event_round_trips(nums: list[int], keys: list[Pubkey], vqr: int, flag: bool) -> None:
    event = ae.SellEvent(
        nums[0] >> 1,
        *nums[1:14],
        *keys[:6],
        coin_creator=keys[6],
        coin_creator_fee_basis_points=nums[0],
        coin_creator_fee=nums[1],
        cashback_fee_basis_points=nums[2],
        cashback=nums[3],
        buyback_fee_basis_points=nums[4],
        buyback_fee=nums[5],
        virtual_quote_reserves=vqr,
        can_boost=flag,
    )
    assert ae.decode_amm_event(ae.encode_amm_event(event)) == event


@FAST
@given(
    keys=st.lists(KEYS, min_size=7, max_size=7),
    nums=st.lists(U64, min_size=2, max_size=2),
    vqr=st.integers(-(2**127), 2**127 - 1),
    bump=st.integers(0, 255),
    index=st.integers(0, 65_535),
)
def test_pool_round_trips(
    keys: list[Pubkey], nums: list[int], vqr: int, bump: int, index: int
) -> None:
    pool = Pool(bump, index, *keys[:6], nums[0], keys[6], True, False, vqr, nums[1], True, False)
    raw = pool.encode()
    assert len(raw) == Pool.SIZE
    assert Pool.decode(raw) == pool
