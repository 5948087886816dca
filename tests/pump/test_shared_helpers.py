"""The pieces pump and PumpSwap share: the invoke-stack log scanner, the event and account
codecs, i128 / trailing-bool borsh, the pool seeds, the buyback default and the fee-tier pick."""

from __future__ import annotations

import base64
import logging
from typing import ClassVar

import attrs
import pytest
from solders.pubkey import Pubkey

from trio_trader.pump import _layout as L
from trio_trader.pump._account_meta import buyback_or_first
from trio_trader.pump._borsh import DecodeError, Reader, Writer
from trio_trader.pump._events import (
    EVENT_CPI_TAG,
    EventCodec,
    parse_program_events,
    program_data_lines,
)
from trio_trader.pump.accounts import Fees, FeeTier, pick_fee_tier
from trio_trader.pump.addresses import (
    BUYBACK_FEE_RECIPIENTS,
    PUMP_AMM_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from trio_trader.pump.amm.addresses import pool_pda, pool_pda_and_bump
from trio_trader.pump.amm.quote import calculate_fee_tier

PUMP = str(PUMP_PROGRAM_ID)
AMM = str(PUMP_AMM_PROGRAM_ID)
TOKEN = str(TOKEN_PROGRAM_ID)


def _data(tag: str) -> str:
    return "Program data: " + base64.b64encode(tag.encode()).decode()


def _tags(lines: list[str]) -> list[str]:
    return [base64.b64decode(x.removeprefix("Program data: ")).decode() for x in lines]


MIXED_LOG = [
    _data("outside"),
    f"Program {PUMP} invoke [1]",
    _data("pump-1"),
    f"Program {AMM} invoke [2]",  # migrate CPIs the AMM
    _data("amm-1"),
    f"Program {TOKEN} invoke [3]",
    _data("token"),
    f"Program {TOKEN} success",
    _data("amm-2"),
    f"Program {AMM} consumed 100 of 200 compute units",
    f"Program {AMM} success",
    _data("pump-2"),
    f"Program {PUMP} failed: custom program error: 0x1773",
    _data("after-fail"),
    f"Program {AMM} invoke [1]",
    _data("amm-3"),
    f"Program {AMM} success",
]


def test_one_scanner_gives_each_program_exactly_its_own_lines() -> None:
    assert _tags(list(program_data_lines(MIXED_LOG, PUMP))) == ["pump-1", "pump-2"]
    assert _tags(list(program_data_lines(MIXED_LOG, AMM))) == ["amm-1", "amm-2", "amm-3"]
    assert _tags(list(program_data_lines(MIXED_LOG, TOKEN))) == ["token"]


def test_scanner_drops_frames_whose_end_the_node_cut_away() -> None:
    logs = [
        f"Program {PUMP} invoke [1]",
        f"Program {AMM} invoke [2]",
        # the AMM's success and pump's end were truncated; a new top-level frame starts
        f"Program {PUMP} invoke [1]",
        _data("pump-again"),
        f"Program {PUMP} success",
        _data("no-frame"),
    ]
    assert _tags(list(program_data_lines(logs, PUMP))) == ["pump-again"]
    assert list(program_data_lines(logs, AMM)) == []


def test_scanner_pushes_a_frame_with_an_unreadable_depth_and_ignores_foreign_ends() -> None:
    logs = [
        f"Program {PUMP} invoke [x]",  # depth not a number: pushed on top
        f"Program {AMM} success",  # not the frame on top: ignored
        "Program log: Instruction: Buy",
        "Programme data: look-alike",
        _data("pump"),
    ]
    assert _tags(list(program_data_lines(logs, PUMP))) == ["pump"]


@attrs.frozen
class Ping:
    DISCRIMINATOR: ClassVar[bytes] = b"PINGPING"
    REQUIRED: ClassVar[int] = 1

    seq: int
    note: str | None = None


@attrs.frozen
class Pong:
    DISCRIMINATOR: ClassVar[bytes] = b"PONGPONG"
    REQUIRED: ClassVar[int] = 2

    seq: int
    who: Pubkey
    late: int | None = None


_PING_FIELDS: tuple[L.Field, ...] = (("seq", L.U64), ("note", L.STRING))
_PONG_FIELDS: tuple[L.Field, ...] = (("seq", L.U64), ("who", L.PUBKEY), ("late", L.I128))
CODEC: EventCodec[Ping | Pong] = EventCodec(
    [(Ping, _PING_FIELDS), (Pong, _PONG_FIELDS)], "test Ping/Pong"
)


def test_event_codec_round_trips_each_type_and_the_cpi_form() -> None:
    events = [Ping(1), Ping(2, "hi"), Pong(3, Pubkey.new_unique()), Pong(4, Pubkey(bytes(32)), -7)]
    for event in events:
        raw = CODEC.encode(event)
        assert raw[:8] == event.DISCRIMINATOR
        assert CODEC.decode(raw) == event
        assert CODEC.decode(EVENT_CPI_TAG + raw) == event
    for event in (events[1], events[3]):  # every field set: later bytes are a future field
        assert CODEC.decode(CODEC.encode(event) + b"\x09" * 5) == event
    assert CODEC.encode(Ping(5)) == b"PINGPING" + (5).to_bytes(8, "little")
    assert CODEC.knows(b"PONGPONG")
    assert not CODEC.knows(b"PINGPONG")


def test_event_codec_errors_name_the_codec_and_the_type() -> None:
    with pytest.raises(DecodeError, match="not a test Ping/Pong event: 50494e47504f4e47"):
        CODEC.decode(b"PINGPONG" + bytes(40))
    with pytest.raises(DecodeError, match="no discriminator"):
        CODEC.decode(EVENT_CPI_TAG + b"PONG")
    with pytest.raises(DecodeError, match="Pong truncated: field 'who' is missing"):
        CODEC.decode(b"PONGPONG" + bytes(8))
    with pytest.raises(DecodeError, match="truncated i128"):
        CODEC.decode(b"PONGPONG" + bytes(8 + 32 + 15))


def test_parse_program_events_keeps_the_programs_decodable_events_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    who = Pubkey.new_unique()

    def line(raw: bytes) -> str:
        return "Program data: " + base64.b64encode(raw).decode()

    logs = [
        f"Program {AMM} invoke [1]",
        line(CODEC.encode(Pong(1, who))),
        line(b"OTHEREVT" + bytes(8)),  # another event of the program: skipped silently
        "Program data: %%%",
        line(b"PINGPING" + bytes(3)),  # cut in half
        line(CODEC.encode(Ping(2, "x"))),
        f"Program {AMM} success",
        line(CODEC.encode(Ping(3))),  # outside the program's frame
    ]
    test_log = logging.getLogger("tests.pump.shared")
    with caplog.at_level(logging.WARNING, logger="tests.pump.shared"):
        events = parse_program_events(logs, AMM, CODEC, log=test_log, what="Ping")
    assert events == [Pong(1, who), Ping(2, "x")]
    messages = [r.getMessage() for r in caplog.records if r.name == "tests.pump.shared"]
    assert len(messages) == 2
    assert messages[0].startswith("undecodable base64 in Ping log line Program data: %%%")
    assert messages[1].startswith("skipping malformed Ping event: truncated u64")


@attrs.frozen
class Rec:
    a: int
    b: bool | None = None
    c: Pubkey | None = None


_REC_FIELDS: tuple[L.Field, ...] = (("a", L.U64), ("b", L.BOOL), ("c", L.PUBKEY))
DISC = b"RECORD!!"


def test_account_codec_pads_zero_fills_and_reads_any_prefix() -> None:
    key = Pubkey.new_unique()
    full = L.encode_account(DISC, _REC_FIELDS, Rec(7, True, key), size=64)
    assert len(full) == 64
    assert full == DISC + (7).to_bytes(8, "little") + b"\x01" + bytes(key) + bytes(15)
    assert L.decode_account(full, DISC, _REC_FIELDS, required=1, what="Rec") == {
        "a": 7,
        "b": True,
        "c": key,
    }
    # None is written as zero; an unpadded encode is exactly the fields
    assert L.encode_account(DISC, _REC_FIELDS, Rec(1)) == DISC + b"\x01" + bytes(7 + 1 + 32)
    # an older, shorter account: the pubkey does not fit whole, so it is absent
    short = full[: 8 + 8 + 1 + 31]
    assert L.decode_account(short, DISC, _REC_FIELDS, required=1, what="Rec") == {
        "a": 7,
        "b": True,
        "c": None,
    }


def test_account_codec_rejects_other_accounts_and_short_data() -> None:
    data = L.encode_account(DISC, _REC_FIELDS, Rec(7))
    with pytest.raises(DecodeError, match="Rec: wrong discriminator 5245434f52442121 \\(want"):
        L.decode_account(data, b"OTHER!!!", _REC_FIELDS, required=1, what="Rec")
    with pytest.raises(DecodeError, match="Rec: 5 bytes is shorter than a discriminator"):
        L.decode_account(data[:5], DISC, _REC_FIELDS, required=1, what="Rec")
    with pytest.raises(DecodeError, match="Rec truncated: field 'b' is missing"):
        L.decode_account(data[:16], DISC, _REC_FIELDS, required=2, what="Rec")
    reader = L.account_reader(data, DISC, "Rec")
    assert (reader.pos, reader.u64()) == (8, 7)


@pytest.mark.parametrize("value", [-(2**127), -1, 0, 1, 2**127 - 1])
def test_i128_round_trips_its_whole_range(value: int) -> None:
    raw = Writer().i128(value).to_bytes()
    assert raw == value.to_bytes(16, "little", signed=True)
    assert Reader(raw).i128() == value
    assert L.I128.read(Reader(raw)) == value


@pytest.mark.parametrize("value", [2**127, -(2**127) - 1])
def test_i128_out_of_range_is_a_value_error(value: int) -> None:
    with pytest.raises(ValueError, match="does not fit in 128 bits"):
        Writer().i128(value)


def test_trailing_bool_is_false_when_absent_and_strict_when_present() -> None:
    assert Reader(b"").trailing_bool("x") is False
    assert Reader(b"\x01").trailing_bool("x") is True
    assert Reader(b"\x00").trailing_bool("x") is False
    with pytest.raises(DecodeError, match="invalid bool 2 for track_volume"):
        Reader(b"\x02").trailing_bool("track_volume")


def test_pool_pda_and_bump_is_the_pool_pda_with_its_canonical_bump() -> None:
    creator, base, quote = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
    address, bump = pool_pda_and_bump(7, creator, base, quote)
    assert address == pool_pda(7, creator, base, quote)
    seeds = [b"pool", (7).to_bytes(2, "little"), bytes(creator), bytes(base), bytes(quote)]
    assert Pubkey.create_program_address([*seeds, bytes([bump])], PUMP_AMM_PROGRAM_ID) == address
    with pytest.raises(ValueError, match="not a u16"):
        pool_pda_and_bump(0x10000, creator, base, quote)


def test_buyback_default_is_the_first_documented_recipient() -> None:
    chosen = BUYBACK_FEE_RECIPIENTS[5]
    assert buyback_or_first(chosen) == chosen
    assert buyback_or_first(None) == BUYBACK_FEE_RECIPIENTS[0]


def test_fee_tier_pick_is_the_same_for_pump_and_pumpswap() -> None:
    tiers = tuple(FeeTier(cap, Fees(cap // 10, 1, 2)) for cap in (1_000, 5_000, 9_000))
    for market_cap, want in [(0, 100), (999, 100), (1_000, 100), (5_000, 500), (10**18, 900)]:
        assert pick_fee_tier(tiers, market_cap).lp_fee_bps == want
        assert calculate_fee_tier(tiers, market_cap) == pick_fee_tier(tiers, market_cap)
    with pytest.raises(ValueError, match="cannot be empty"):
        calculate_fee_tier((), 1)
