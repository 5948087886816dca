"""The listeners' decode fast paths give exactly what the reference readers give.

`EventCodec.decode` reads fixed-size runs of fields with precompiled `struct` layouts: it
must agree with the field-by-field reader (`_layout.decode_fields`) on any input: same
values, or the same `DecodeError` message. The invoke-stack scan is pinned to its reference
too, so a later fast path there is held to the same standard.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from trio_trader.pump import _layout as L
from trio_trader.pump import events as ev
from trio_trader.pump._borsh import DecodeError, Reader
from trio_trader.pump._events import PROGRAM_DATA, program_data_lines

LAYOUTS = {
    ev.TradeEvent.DISCRIMINATOR: (ev.TradeEvent, ev._TRADE_FIELDS),
    ev.CreateEvent.DISCRIMINATOR: (ev.CreateEvent, ev._CREATE_FIELDS),
    ev.CompleteEvent.DISCRIMINATOR: (ev.CompleteEvent, ev._COMPLETE_FIELDS),
}
KEY = Pubkey.from_string("6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P")
OTHER = Pubkey.from_bytes(bytes(range(32)))


def reference(data: bytes) -> object:
    """The event as the field-by-field reader decodes it, or its error message."""
    cls, fields = LAYOUTS[data[:8]]
    try:
        values = L.decode_fields(
            Reader(data, 8), fields, required=cls.REQUIRED, stop_at_partial=False, what=cls.__name__
        )
    except DecodeError as exc:
        return f"DecodeError: {exc}"
    return cls(**values)


def fast(data: bytes) -> object:
    try:
        return ev.decode_event(data)
    except DecodeError as exc:
        return f"DecodeError: {exc}"


def full_trade() -> ev.TradeEvent:
    return ev.TradeEvent(
        mint=KEY, sol_amount=10**9, token_amount=35 * 10**12, is_buy=True, user=OTHER,
        timestamp=-5, virtual_sol_reserves=31 * 10**9, virtual_token_reserves=10**15,
        real_sol_reserves=10**9, real_token_reserves=7 * 10**14, fee_recipient=OTHER,
        fee_basis_points=95, fee=9_500_000, creator=KEY, creator_fee_basis_points=30,
        creator_fee=3_000_000, track_volume=False, total_unclaimed_tokens=1,
        total_claimed_tokens=2, current_sol_volume=3, last_update_timestamp=4, ix_name="buy",
        mayhem_mode=True, cashback_fee_basis_points=5, cashback=6, buyback_fee_basis_points=7,
        buyback_fee=8, shareholders=(ev.Shareholder(KEY, 5000), ev.Shareholder(OTHER, 5000)),
        quote_mint=OTHER, quote_amount=9, virtual_quote_reserves=10, real_quote_reserves=11,
        holder_rewards_bps=12, holder_rewards=13, unknown_u64_0=14,
    )  # fmt: skip


def full_create() -> ev.CreateEvent:
    return ev.CreateEvent(
        name="Bench Coin", symbol="BNCH", uri="https://x.example/m.json", mint=KEY,
        bonding_curve=OTHER, user=OTHER, creator=KEY, timestamp=1_700_000_000,
        virtual_token_reserves=1, virtual_sol_reserves=2, real_token_reserves=3,
        token_total_supply=4, token_program=OTHER, is_mayhem_mode=False,
        is_cashback_enabled=True, quote_mint=KEY, virtual_quote_reserves=5, creator_fee_bps=6,
        is_holder_reward=True,
    )  # fmt: skip


def full_complete() -> ev.CompleteEvent:
    return ev.CompleteEvent(user=KEY, mint=OTHER, bonding_curve=KEY, timestamp=7, quote_mint=KEY)


@pytest.mark.parametrize("event", [full_trade(), full_create(), full_complete()])
def test_every_cut_and_every_corrupted_byte_decodes_as_the_reference(event: object) -> None:
    data = ev.encode_event(event)  # type: ignore[arg-type]
    assert fast(data) == reference(data) == event
    for end in range(8, len(data) + 1):  # every historical or truncated length
        assert fast(data[:end]) == reference(data[:end])
    for index in range(8, len(data)):  # a bool (or any byte) of 2, 0xff
        for value in (2, 0xFF):
            corrupt = data[:index] + bytes([value]) + data[index + 1 :]
            assert fast(corrupt) == reference(corrupt)


@settings(max_examples=300, deadline=None)
@given(disc=st.sampled_from(sorted(LAYOUTS)), body=st.binary(max_size=420))
def test_random_bodies_decode_as_the_reference(disc: bytes, body: bytes) -> None:
    assert fast(disc + body) == reference(disc + body)


def test_the_cpi_form_decodes_the_same() -> None:
    data = ev.encode_event(full_trade())
    assert ev.decode_event(ev.EVENT_CPI_TAG + data) == full_trade()


def reference_lines(logs: Iterable[str], program_id: str) -> Iterator[str]:
    """`program_data_lines` as it was: every line split."""
    stack: list[str] = []
    for line in logs:
        if line.startswith(PROGRAM_DATA):
            if stack and stack[-1] == program_id:
                yield line
            continue
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[0] != "Program":
            continue
        program, verb = parts[1], parts[2]
        if verb == "invoke" and len(parts) == 4 and parts[3].startswith("["):
            try:
                depth = int(parts[3].strip("[]"))
            except ValueError:
                depth = len(stack) + 1
            del stack[max(depth - 1, 0) :]
            stack.append(program)
        elif verb in ("success", "failed:") and stack and stack[-1] == program:
            stack.pop()


PUMP = ev._PUMP
DATA = PROGRAM_DATA + base64.b64encode(ev.encode_event(full_trade())).decode()
WORDS = [
    "Program", PUMP, "Router1111", "invoke", "[1]", "[2]", "[x]", "success", "failed:",
    "log:", "consumed", "return:", " ", "", "[", "]", "invoke [1]",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(DATA),
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map("".join),
        ),
        max_size=30,
    )
)
def test_scan_yields_the_lines_the_split_scan_yields(logs: list[str]) -> None:
    assert list(program_data_lines(logs, PUMP)) == list(reference_lines(logs, PUMP))


def test_scan_follows_a_real_shaped_log() -> None:
    logs = [
        f"Program {PUMP} invoke [1]",
        "Program log: Instruction: Buy",
        "Program Router1111 invoke [2]",
        DATA,  # printed by another program: not pump's
        "Program Router1111 consumed 10 of 20 compute units",
        "Program Router1111 success",
        DATA,
        f"Program {PUMP} consumed 100 of 200 compute units",
        f"Program {PUMP} success",
        DATA,
    ]
    assert list(program_data_lines(logs, PUMP)) == [DATA]
    assert list(reference_lines(logs, PUMP)) == [DATA]
    assert attrs.evolve(full_trade()) == ev.parse_logs(logs)[0]


def fast_create(data: bytes) -> object:
    try:
        return ev.decode_create_event(data)
    except DecodeError as exc:
        return f"DecodeError: {exc}"


def test_create_fast_path_decodes_every_cut_and_corruption_as_the_reference() -> None:
    event = attrs.evolve(full_create(), name="Ünïcode ✓", uri="")
    data = ev.encode_event(event)
    assert ev.decode_create_event(data) == event
    assert ev.decode_create_event(data + b"\x07" * 9) == event  # a later upgrade's tail
    assert ev.decode_create_event(ev.EVENT_CPI_TAG + data) == event
    for end in range(8):  # no discriminator
        assert fast_create(data[:end]) == fast(data[:end])
    for end in range(8, len(data) + 1):  # every historical layout and every cut
        assert fast_create(data[:end]) == reference(data[:end])
    for index in range(8, len(data)):  # bad bools, string lengths, invalid UTF-8
        for value in (2, 0xC3, 0xFF):
            corrupt = data[:index] + bytes([value]) + data[index + 1 :]
            assert fast_create(corrupt) == reference(corrupt)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=420), strings=st.lists(st.text(max_size=12), min_size=3, max_size=3))
def test_create_fast_path_agrees_on_random_bodies(body: bytes, strings: list[str]) -> None:
    disc = ev.CreateEvent.DISCRIMINATOR
    assert fast_create(disc + body) == reference(disc + body)
    named = disc + b"".join(len(s.encode()).to_bytes(4, "little") + s.encode() for s in strings)
    assert fast_create(named + body) == reference(named + body)


def test_create_fast_path_refuses_other_events() -> None:
    assert (
        fast_create(ev.encode_event(full_trade())) == "DecodeError: not a CreateEvent: TradeEvent"
    )
    assert fast_create(b"\x00" * 40).startswith("DecodeError: not a pump")
