"""Decoding and showing untrusted JSON: depth-safe at any depth, bounded in size."""

from __future__ import annotations

import pytest

from tests.chain.hostile import nested
from trio_trader.chain import untrusted
from trio_trader.chain.errors import is_transaction_err


def test_preview_is_short_and_safe_at_any_depth_and_size() -> None:
    deep = untrusted.loads(nested(untrusted.MAX_DEPTH - 1))
    with pytest.raises(RecursionError):
        repr(deep)  # why `preview` exists
    assert untrusted.preview(deep) == "[[[[[...]]]]]"
    huge = {"logs": ["x" * 10_000] * 10_000, "n": 10**100}
    text = untrusted.preview(huge)
    assert len(text) <= 200
    assert text.startswith("{'logs': ['xxx")
    assert len(untrusted.preview("y" * 1000, limit=50)) == 50


@pytest.mark.parametrize(
    ("value", "depth", "items", "expected"),
    [
        (None, 1, 1, True),
        ("AccountInUse", 1, 1, True),
        ({"InstructionError": [0, {"Custom": 6003}]}, 3, 64, True),
        ({"InstructionError": [0, {"Custom": 6003}]}, 2, 64, False),
        ({"InstructionError": [0, {"Custom": 6003}]}, 3, 5, False),
        ([[[]]], 3, 10, True),
        ([[[[]]]], 3, 10, False),
        (list(range(100)), 1, 64, False),
    ],
)
def test_bounded_counts_levels_and_nodes(
    value: object, depth: int, items: int, expected: bool
) -> None:
    assert untrusted.bounded(value, depth=depth, items=items) is expected


def test_transaction_errs_are_small_values() -> None:
    assert is_transaction_err(None)
    assert is_transaction_err({"InsufficientFundsForRent": {"account_index": 2}})
    assert not is_transaction_err(untrusted.loads(nested(20)))
    assert not is_transaction_err({"InstructionError": list(range(1000))})


@pytest.mark.parametrize(
    "document", [b"", b"{", b"\xff", b"[1,]", b"NaN", b"1e400", nested(untrusted.MAX_DEPTH + 1)]
)
def test_loads_refuses_with_a_value_error(document: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - orjson's message varies by case
        untrusted.loads(document)


def test_dumps_is_compact_json() -> None:
    assert untrusted.dumps({"a": [1, "b", None, True]}) == b'{"a":[1,"b",null,true]}'
