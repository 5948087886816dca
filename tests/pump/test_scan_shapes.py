"""The invoke-stack scan kept per shape gives exactly the split scan's lines, hit or miss.

`program_data_lines` answers a transaction whose shape it has seen (as many lines, the same
fixed lines, its other lines data or skipped lines) from that shape. These tests hold it to
the split scan (`reference_lines`, the rule as first written) on real mainnet logs and on hostile
edits of them, each checked twice (the first call keeps the shape, the second is answered
from it) and after a transaction of the same shape whose uncached lines differ in kind.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import load_sample
from tests.listeners.test_fast_decode import reference_lines
from trio_trader.pump import _events
from trio_trader.pump._events import PROGRAM_DATA, program_data_lines
from trio_trader.pump.events import parse_logs

PUMP = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
ROUTER = "Rout3rXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
SAMPLES = (
    "s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json",
    "s02_chainstack_getTransaction_create_then_buy_2024-08-20.json",
    "s03_chainstack_blockSubscribe_router_buy_2025-05-13.json",
)


def sample_logs(name: str) -> list[str]:
    tx = load_sample(name)
    meta = tx.get("result", tx)["meta"]
    logs: list[str] = meta["logMessages"]
    return logs


def data_lines(logs: list[str]) -> list[int]:
    return [i for i, line in enumerate(logs) if line.startswith(PROGRAM_DATA)]


def check(logs: list[str], program: str = PUMP) -> list[str]:
    """The scan's lines, twice (keeping the shape, then from it), both the reference's."""
    expected = list(reference_lines(logs, program))
    assert program_data_lines(list(logs), program) == expected  # fresh list: no identity
    assert program_data_lines(list(logs), program) == expected
    return expected


@pytest.fixture(autouse=True)
def empty_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_events, "_LINE_OPS", {})
    monkeypatch.setattr(_events, "_SHAPES", {})


# Hostile or damaged versions of a real log: each returns the edited lines.
def look_alike_at_depth_2(logs: list[str]) -> list[str]:
    """Another program, invoked by pump, prints pump's data line as its own."""
    out = list(logs)
    at = data_lines(logs)[0]
    fake = [f"Program {ROUTER} invoke [2]", logs[at], f"Program {ROUTER} success"]
    return out[:at] + fake + out[at:]


def pump_inside_a_router(logs: list[str]) -> list[str]:
    """A router at depth 1 invokes pump (one deeper) and prints a look-alike itself."""
    out = [f"Program {ROUTER} invoke [1]", logs[data_lines(logs)[0]]]
    deeper = re.compile(r" invoke \[(\d+)\]$")
    for line in logs:
        out.append(deeper.sub(lambda m: f" invoke [{int(m[1]) + 1}]", line))
    return [*out, logs[data_lines(logs)[-1]], f"Program {ROUTER} success"]


def failed_inner_invoke(logs: list[str]) -> list[str]:
    """A program pump calls fails right before the data line (its frame pops as failed)."""
    at = data_lines(logs)[0]
    inner = [f"Program {ROUTER} invoke [2]", f"Program {ROUTER} failed: custom program error"]
    return logs[:at] + inner + logs[at:]


def truncated(logs: list[str]) -> list[str]:
    """The node cut the log after the first data line ("Log truncated")."""
    return [*logs[: data_lines(logs)[0] + 1], "Log truncated"]


def success_lines_cut(logs: list[str]) -> list[str]:
    """Every ``success`` line gone: the depths of later invokes must drop the dead frames."""
    return [line for line in logs if not line.endswith(" success")]


def data_line_reworded(logs: list[str]) -> list[str]:
    """Pump's data line turned into a plain log line, and a log line into a data line."""
    out = list(logs)
    at = data_lines(logs)[0]
    out[at] = "Program log: " + out[at]
    for i, line in enumerate(out):
        if line.startswith("Program log:") and i != at:
            out[i] = PROGRAM_DATA + base64.b64encode(b"x" * 12).decode()
            break
    return out


def long_stack_line(logs: list[str]) -> list[str]:
    """An invoke line too long to cache, before the data line: it must still move the stack."""
    at = data_lines(logs)[0]
    long = f"Program {'R' * 250} invoke [2]"
    return [*logs[:at], long, *logs[at:]]


EDITS: list[Callable[[list[str]], list[str]]] = [
    look_alike_at_depth_2,
    pump_inside_a_router,
    failed_inner_invoke,
    truncated,
    success_lines_cut,
    data_line_reworded,
    long_stack_line,
]


@pytest.mark.parametrize("name", SAMPLES)
def test_real_logs_give_the_reference_lines_from_the_shape_too(name: str) -> None:
    logs = sample_logs(name)
    expected = check(logs)
    assert expected  # pump's own events are there
    assert parse_logs(logs) == parse_logs(list(logs))  # the decoded events, twice


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.__name__)
@pytest.mark.parametrize("name", SAMPLES)
def test_hostile_and_damaged_real_logs_give_the_reference_lines(
    name: str, edit: Callable[[list[str]], list[str]]
) -> None:
    logs = sample_logs(name)
    check(logs)  # the original's shape is kept first: the edit must not be answered by it
    check(edit(logs))
    check(logs)


def test_a_look_alike_line_of_another_program_at_depth_2_is_never_pumps() -> None:
    logs = sample_logs(SAMPLES[0])
    edited = look_alike_at_depth_2(logs)
    assert check(edited) == check(logs)  # the extra copy, printed by the router, is not pump's


def test_a_shape_whose_uncached_lines_changed_kind_is_scanned_again() -> None:
    """Same cached lines, but a skipped line became a data line of pump's, and a data line
    became an uncacheable (long) invoke line: neither may be answered from the shape."""
    data = PROGRAM_DATA + base64.b64encode(bytes(range(40))).decode()
    base = [
        f"Program {PUMP} invoke [1]",
        "Program log: amount 12",  # skipped, uncached (a digit)
        data,
        f"Program {PUMP} success",
    ]
    assert check(base) == [data]
    as_data = [base[0], data, data, base[3]]
    assert check(as_data) == [data, data]
    long_push = [base[0], "Program log: amount 13", f"Program {'R' * 250} invoke [2]", base[3]]
    assert check(long_push) == []
    then_data = [*long_push[:3], data, base[3]]
    assert check(then_data) == []  # the long line's frame is on top: not pump's


@pytest.mark.parametrize("name", SAMPLES)
def test_a_same_length_log_with_another_program_on_the_stack_is_scanned_again(name: str) -> None:
    """Shapes are found by the lines' lengths: a log of the very same lengths whose pump
    frames are another program's (an id of the same length) must not be answered from the
    real log's shape."""
    logs = sample_logs(name)
    assert check(logs)
    impostor = [line.replace(PUMP, ROUTER) if " invoke [" in line else line for line in logs]
    assert list(map(len, impostor)) == list(map(len, logs))
    assert check(impostor) == []  # pump never invoked: none of the lines is pump's
    assert check(impostor, ROUTER) == check(logs)  # the same lines, now the router's
    swapped = [line.replace(PUMP, ROUTER) for line in logs]
    assert check(swapped) == []


def kept() -> dict[tuple[str, int], list[object]]:
    """A copy of the shape cache (its lists are changed in place)."""
    return {key: list(shapes) for key, shapes in _events._SHAPES.items()}


def test_the_shape_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_events, "_SHAPES_MAX", 10)
    data = PROGRAM_DATA + base64.b64encode(bytes(40)).decode()
    for n in range(50):  # as many lines each time: one key, a few shapes
        logs = [f"Program P{n} invoke [1]", f"Program {PUMP} invoke [2]", data]
        assert check(logs) == [data]
        assert len(_events._SHAPES[(PUMP, 3)]) <= _events._SHAPES_PER_KEY
    for n in range(50):  # a new line count each time: a new key
        logs = [f"Program {PUMP} invoke [1]", *[data] * (n + 1)]
        assert check(logs) == [data] * (n + 1)
        assert len(_events._SHAPES) <= 10
    long_logs = [f"Program {PUMP} invoke [1]", *[data] * (_events._SHAPE_LINES_MAX + 1)]
    before = kept()
    assert len(check(long_logs)) == _events._SHAPE_LINES_MAX + 1
    assert before == kept()  # too long to keep
    huge = [f"Program {'R' * _events._SHAPE_FIXED_MAX} invoke [1]", f"Program {PUMP} invoke [2]"]
    assert check([*huge, data]) == [data]
    assert before == kept()  # its fixed lines (stack lines, kept whole) are too long


def test_shapes_of_one_line_count_are_each_answered_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Logs of the same line count but different fixed lines do not push each other out
    (up to a few per count): a known one is answered without a scan."""
    data = PROGRAM_DATA + base64.b64encode(bytes(40)).decode()
    logs = [[f"Program P{n} invoke [1]", f"Program {PUMP} invoke [2]", data] for n in range(3)]
    for each in logs:
        check(each)
    scans: list[int] = []
    original = _events._scan
    monkeypatch.setattr(_events, "_scan", lambda *args: scans.append(1) or original(*args))
    for each in logs:
        assert check(each) == [data]
    assert scans == []


WORDS = [
    "Program", PUMP, ROUTER, "invoke", "[1]", "[2]", "[3]", "[0]", "[x]", "success",
    "failed:", "log:", "data:", "consumed", "7", " ", "", "[", "]", "invoke [1]",
]  # fmt: skip
LINE = st.one_of(
    st.just(PROGRAM_DATA + "AAAA"),
    st.just(PROGRAM_DATA + "BBBB"),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=25), st.lists(st.tuples(st.integers(0, 24), LINE), max_size=4))
def test_random_logs_and_same_shaped_variants_give_the_reference_lines(
    logs: list[str], edits: list[tuple[int, str]]
) -> None:
    """A log, then the same log with some lines swapped for others (often the same shape,
    with data, skipped and stack lines trading places), each against the reference."""
    for program in (PUMP, ROUTER):
        check(logs, program)
        variant = list(logs)
        for at, line in edits:
            if at < len(variant):
                variant[at] = line
        check(variant, program)


@pytest.mark.parametrize("name", SAMPLES)
def test_pump_inside_a_router_keeps_its_own_lines_and_not_the_routers(name: str) -> None:
    logs = sample_logs(name)
    assert check(pump_inside_a_router(logs)) == check(logs)
