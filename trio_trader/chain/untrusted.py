"""JSON from the network is untrusted input: decode it depth-safely, never `repr` it whole.

`json.loads` recurses once per nesting level, so one reply of 100 000 nested brackets raises
`RecursionError`, which no caller expects and which took the whole bot down once. orjson
refuses anything deeper than 1024 levels with a `JSONDecodeError` (a `ValueError`) instead,
and is several times faster on the hot path.

A document just under that limit still breaks `repr`, `str`, `json.dumps` and `copy.deepcopy`
(CPython's recursion limit is 1000), so log lines and error messages show untrusted values only
through `preview`, which stops a few levels down and truncates long strings and lists; and a
value kept for later (a transaction `err`, stored in the database) is checked with `bounded`.
"""

from __future__ import annotations

import reprlib
from typing import Any

import orjson

__all__ = ["MAX_DEPTH", "bounded", "dumps", "loads", "preview"]

MAX_DEPTH = 1024
"""orjson's fixed nesting limit: deeper documents are a `ValueError`."""

_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel = 4
_PREVIEW.maxstring = 80
_PREVIEW.maxother = 80
_PREVIEW.maxlong = 40
_PREVIEW.maxlist = _PREVIEW.maxtuple = _PREVIEW.maxdict = 8


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode one JSON document.

    Raises:
        ValueError: not JSON, not UTF-8, deeper than `MAX_DEPTH`, or a number out of range.
    """
    return orjson.loads(data)


def dumps(value: Any) -> bytes:
    """Encode a request we build ourselves (plain dicts, lists, str, int, bool, None)."""
    return orjson.dumps(value)


def preview(value: object, limit: int = 200) -> str:
    """A short `repr` of an untrusted value, safe at any depth and size."""
    text = _PREVIEW.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded(value: object, *, depth: int, items: int) -> bool:
    """Whether `value` nests at most `depth` containers deep and holds at most `items` nodes.

    Iterative, so it is itself safe on any input; use it on values small by nature (an error
    object) before keeping them.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    seen = 0
    while stack:
        node, level = stack.pop()
        seen += 1
        if seen > items:
            return False
        if not isinstance(node, dict | list | tuple):
            continue
        if level > depth or seen + len(stack) + len(node) > items:
            return False
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children)
    return True
