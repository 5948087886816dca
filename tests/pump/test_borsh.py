"""Borsh primitives: exact bytes, and DecodeError (only) on short or invalid input."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from trio_trader.pump._borsh import DecodeError, Reader, Writer, anchor_discriminator
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Global
from trio_trader.pump.events import CompleteEvent, CreateEvent, TradeEvent


def test_writer_then_reader_round_trips_every_primitive():
    key = Pubkey.new_unique()
    data = (
        Writer(b"\xaa")
        .u8(7)
        .bool(True)
        .u16(65535)
        .u32(1)
        .u64(2**64 - 1)
        .i64(-5)
        .u128(2**100)
        .pubkey(key)
        .string("héllo")
        .to_bytes()
    )
    r = Reader(data, 1)
    assert (r.u8(), r.bool(), r.u16(), r.u32(), r.u64(), r.i64(), r.u128()) == (
        7,
        True,
        65535,
        1,
        2**64 - 1,
        -5,
        2**100,
    )
    assert r.pubkey() == key
    assert r.string() == "héllo"
    assert r.remaining == 0


def test_little_endian_layout_of_u64_and_string():
    assert Writer().u64(1).to_bytes() == b"\x01" + b"\0" * 7
    assert Writer().string("buy").to_bytes() == b"\x03\0\0\0buy"


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (b"\x01\x02", Reader.u64),
        (b"\x05\0\0\0ab", Reader.string),
        (b"\x02", Reader.bool),
        (b"\x02\0\0\0\xff\xfe", Reader.string),
        (b"", Reader.u8),
    ],
)
def test_short_or_invalid_input_raises_decode_error(data, read):
    with pytest.raises(DecodeError):
        read(Reader(data))


def test_writer_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError, match="64 bits"):
        Writer().u64(2**64)
    with pytest.raises(ValueError, match="64 bits"):
        Writer().u64(-1)


def test_discriminators_match_the_idl(idl):
    ours = {
        "BondingCurve": BondingCurve.DISCRIMINATOR,
        "Global": Global.DISCRIMINATOR,
        "FeeConfig": FeeConfig.DISCRIMINATOR,
        "TradeEvent": TradeEvent.DISCRIMINATOR,
        "CreateEvent": CreateEvent.DISCRIMINATOR,
        "CompleteEvent": CompleteEvent.DISCRIMINATOR,
    }
    published = {x["name"]: bytes(x["discriminator"]) for x in idl["accounts"] + idl["events"]}
    for name, disc in ours.items():
        assert published[name] == disc, name
    assert anchor_discriminator("event", "TradeEvent") == TradeEvent.DISCRIMINATOR
    assert anchor_discriminator("account", "BondingCurve") == BondingCurve.DISCRIMINATOR
