"""Property tests: decoders fail only with DecodeError, encoders round-trip, the curve
never gives tokens or SOL away. Example counts stay modest so this file runs in seconds."""

from __future__ import annotations

import base64
import contextlib

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from trio_trader.pump import DecodeError
from trio_trader.pump import curve as c
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees, FeeTier, Global
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.pump.events import (
    EVENT_CPI_TAG,
    CompleteEvent,
    CreateEvent,
    Shareholder,
    TradeEvent,
    decode_event,
    encode_event,
    parse_logs,
)
from trio_trader.pump.instructions import decode_compute_budget, decode_pump_instruction

U64 = st.integers(0, 2**64 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
KEYS = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
TEXT = st.text(max_size=40)
FAST = settings(max_examples=60, deadline=None)

DISCS = [
    BondingCurve.DISCRIMINATOR,
    Global.DISCRIMINATOR,
    FeeConfig.DISCRIMINATOR,
    TradeEvent.DISCRIMINATOR,
    CreateEvent.DISCRIMINATOR,
    CompleteEvent.DISCRIMINATOR,
    bytes.fromhex("e445a52e51cb9a1d") + TradeEvent.DISCRIMINATOR,
    bytes.fromhex("66063d1201daebea"),
    bytes.fromhex("d6904cec5f8b31b4"),
    bytes.fromhex("181ec828051c0777"),
    b"",
]


@FAST
@given(prefix=st.sampled_from(DISCS), body=st.binary(max_size=400))
def test_decoders_raise_only_decode_error(prefix, body):
    data = prefix + body
    decoders = [
        BondingCurve.decode,
        Global.decode,
        FeeConfig.decode,
        decode_event,
        decode_pump_instruction,
        decode_compute_budget,
    ]
    for decode in decoders:
        with contextlib.suppress(DecodeError):
            decode(data)


def _fill(cls, draw_values, cut):
    """An instance with every field, then the fields from ``cut`` on set to None."""
    fields = attrs.fields(cls)
    values = draw_values
    required = sum(1 for f in fields if f.default is attrs.NOTHING)
    cut = max(cut, required)
    return cls(
        **{
            f.name: (v if i < cut else None)
            for i, (f, v) in enumerate(zip(fields, values, strict=True))
        }
    )


SHAREHOLDERS = st.lists(st.builds(Shareholder, KEYS, st.integers(0, 2**16 - 1)), max_size=3).map(
    tuple
)
TRADE_VALUES = st.tuples(
    KEYS,
    U64,
    U64,
    st.booleans(),
    KEYS,
    I64,
    U64,
    U64,
    U64,
    U64,
    KEYS,
    U64,
    U64,
    KEYS,
    U64,
    U64,
    st.booleans(),
    U64,
    U64,
    U64,
    I64,
    TEXT,
    st.booleans(),
    U64,
    U64,
    U64,
    U64,
    SHAREHOLDERS,
    KEYS,
    U64,
    U64,
    U64,
    U64,
    U64,
    U64,  # 2026-10 unknown_u64_0
)
CREATE_VALUES = st.tuples(
    TEXT,
    TEXT,
    TEXT,
    KEYS,
    KEYS,
    KEYS,
    KEYS,
    I64,
    U64,
    U64,
    U64,
    U64,
    KEYS,
    st.booleans(),
    st.booleans(),
    KEYS,
    U64,
    U64,
    st.booleans(),
)


@FAST
@given(values=TRADE_VALUES, cut=st.integers(0, 34))
def test_trade_event_round_trips_at_every_layout(values, cut):
    event = _fill(TradeEvent, values, cut)
    assert decode_event(encode_event(event)) == event


@FAST
@given(values=CREATE_VALUES, cut=st.integers(0, 19))
def test_create_event_round_trips_at_every_layout(values, cut):
    event = _fill(CreateEvent, values, cut)
    assert decode_event(encode_event(event)) == event


@FAST
@given(values=st.tuples(KEYS, KEYS, KEYS, I64, KEYS), cut=st.integers(0, 5))
def test_complete_event_round_trips(values, cut):
    event = _fill(CompleteEvent, values, cut)
    assert decode_event(encode_event(event)) == event


CURVE_VALUES = st.tuples(
    U64,
    U64,
    U64,
    U64,
    U64,
    st.booleans(),
    KEYS,
    st.booleans(),
    st.booleans(),
    KEYS,
    U64,
    st.booleans(),
    st.booleans(),
)


@FAST
@given(values=CURVE_VALUES)
def test_bonding_curve_round_trips(values):
    curve = BondingCurve(*values, 0, 0, 0)  # the three unnamed 2026-10 u64s (zero-filled)
    data = curve.encode()
    assert len(data) == BondingCurve.SIZE
    assert BondingCurve.decode(data) == curve


@FAST
@given(
    head=st.tuples(st.booleans(), KEYS, KEYS, U64, U64, U64, U64, U64),
    recipients=st.lists(KEYS, min_size=8, max_size=8),
    bps=U64,
)
def test_global_round_trips(head, recipients, bps):
    glob = Global(*head, fee_recipients=tuple(recipients[:7]), buyback_basis_points=bps)
    decoded = Global.decode(glob.encode())
    assert decoded.fee_recipients == glob.fee_recipients
    assert decoded.buyback_basis_points == bps
    assert Global.decode(decoded.encode()) == decoded


FEES = st.builds(Fees, U64, U64, U64)
TIERS = st.lists(st.builds(FeeTier, st.integers(0, 2**128 - 1), FEES), max_size=4).map(tuple)


@FAST
@given(bump=st.integers(0, 255), admin=KEYS, flat=FEES, tiers=TIERS, stable=TIERS, exotic=FEES)
def test_fee_config_round_trips(bump, admin, flat, tiers, stable, exotic):
    config = FeeConfig(bump, admin, flat, tiers, stable, exotic)
    assert FeeConfig.decode(config.encode()) == config


# Realistic curves: from fresh to almost complete, any fee schedule up to 10 %.
RESERVES = st.integers(1, 793_100_000_000_000).map(
    lambda sold: (
        c.apply_buy(c.INITIAL_RESERVES, c.quote_buy(sold, c.INITIAL_RESERVES, c.FeeRates(0, 0)))
        if sold < 793_100_000_000_000
        else c.INITIAL_RESERVES
    )
)
RATES = st.builds(c.FeeRates, st.integers(0, 500), st.integers(0, 500))


@FAST
@given(reserves=RESERVES, rates=RATES, fraction=st.floats(0.0, 1.0))
def test_buy_then_sell_never_returns_more_than_paid(reserves, rates, fraction):
    amount = max(1, int(reserves.real_token * fraction))
    amount = min(amount, reserves.real_token)
    if amount <= 0:
        return
    bought = c.quote_buy(amount, reserves, rates)
    after = c.apply_buy(reserves, bought)
    sold = c.quote_sell(amount, after, rates)
    assert sold.sol_out <= bought.sol_cost
    assert sold.net <= bought.total
    back = c.apply_sell(after, sold)
    # the curve keeps at least what it had: the product never shrinks
    assert back.real_sol >= reserves.real_sol
    assert back.virtual_sol * back.virtual_token >= reserves.virtual_sol * reserves.virtual_token
    for value in (*attrs.astuple(bought), *attrs.astuple(sold), *attrs.astuple(back)):
        assert 0 <= value < 2**64


@FAST
@given(reserves=RESERVES, rates=RATES, budget=st.integers(0, 100_000_000_000))
def test_budget_quotes_stay_within_budget(reserves, rates, budget):
    q = c.quote_buy_for_sol(budget, reserves, rates)
    assert q.total <= budget
    assert q.amount <= reserves.real_token
    exact = c.quote_buy_exact_sol_in(budget, reserves, rates)
    assert exact.total <= budget
    assert exact.amount <= q.amount  # the exact-in formula never beats the optimum


def _bisect_buy_for_sol(budget: int, reserves: c.Reserves, rates: c.FeeRates) -> int:
    """The amount ``quote_buy_for_sol`` returned before its search started from the
    closed form: a plain bisection over the whole curve."""
    lo, hi = 0, min(reserves.real_token, reserves.virtual_token - 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if c.quote_buy(mid, reserves, rates).total <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@FAST
@given(
    reserves=RESERVES,
    rates=RATES,
    budget=st.one_of(st.integers(-5, 5_000), st.integers(0, 10**12), st.integers(0, 2**63)),
)
def test_budget_quote_is_the_bisection_answer(reserves, rates, budget):
    # the galloping search from the estimate finds exactly the amount bisection finds
    assert c.quote_buy_for_sol(budget, reserves, rates).amount == _bisect_buy_for_sol(
        budget, reserves, rates
    )


# Uniformly random bytes die at the first bool (any byte > 1), so they never reach the
# strings, vectors and late fields. Mutating *valid* encodings does: cut them anywhere,
# overwrite any byte, or splice random bytes in, and every decoder must still either
# return a value or raise DecodeError.
VALID_ENCODINGS = st.one_of(
    TRADE_VALUES.map(lambda v: encode_event(TradeEvent(*v))),
    CREATE_VALUES.map(lambda v: encode_event(CreateEvent(*v))),
    CURVE_VALUES.map(lambda v: BondingCurve(*v).encode()),
    st.builds(
        lambda b, admin, flat, tiers: FeeConfig(b, admin, flat, tiers, tiers, flat).encode(),
        st.integers(0, 255), KEYS, FEES, TIERS,
    ),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(data=VALID_ENCODINGS, cut=st.integers(0, 5000), at=st.integers(0), byte=st.integers(0, 255))
def test_mutated_valid_bytes_raise_only_decode_error(data, cut, at, byte):
    mutated = bytearray(data[:cut] if cut < len(data) else data)
    if mutated:
        mutated[at % len(mutated)] = byte
    for candidate in (bytes(mutated), EVENT_CPI_TAG + bytes(mutated)):
        for decode in (BondingCurve.decode, Global.decode, FeeConfig.decode, decode_event):
            with contextlib.suppress(DecodeError):
                decode(candidate)


LOG_LINES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            f"Program {PUMP_PROGRAM_ID} invoke [1]",
            f"Program {PUMP_PROGRAM_ID} invoke [x]",
            f"Program {PUMP_PROGRAM_ID} success",
            f"Program {PUMP_PROGRAM_ID} failed: custom program error: 0x1773",
            "Program Other invoke [2]",
            "Program Other success",
            "Program",
            "Program data: ",
            "Program data: ===",
        ]
    ),
    st.binary(max_size=300).map(lambda b: "Program data: " + base64.b64encode(b).decode()),
    VALID_ENCODINGS.map(lambda b: "Program data: " + base64.b64encode(b).decode()),
)


@FAST
@given(logs=st.lists(LOG_LINES, max_size=12))
def test_parse_logs_never_raises_on_arbitrary_log_lines(logs):
    events = parse_logs(logs)
    assert all(isinstance(e, TradeEvent | CreateEvent | CompleteEvent) for e in events)
    assert len(events) <= sum(line.startswith("Program data: ") for line in logs)


@FAST
@given(reserves=RESERVES, rates=RATES, amount=st.integers(1, 793_100_000_000_000))
def test_no_buy_is_free_and_every_quote_fits_u64(reserves, rates, amount):
    amount = min(amount, reserves.real_token)
    q = c.quote_buy(amount, reserves, rates)
    assert q.sol_cost >= 1  # even one base unit costs a lamport
    assert q.total >= q.sol_cost
    after = c.apply_buy(reserves, q)
    # the constant product never shrinks: the curve is never paid less than it gives
    assert after.virtual_sol * after.virtual_token >= reserves.virtual_sol * reserves.virtual_token
    assert 0 <= after.real_token < reserves.real_token
    for value in (*attrs.astuple(q), *attrs.astuple(after)):
        assert 0 <= value < 2**64
