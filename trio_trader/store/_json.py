"""The store's JSON encoder: orjson on the hot path, the standard library when it refuses.

A sent order's row is encoded twice on the Trio thread (the order's column, then the
journal line that carries it), right after the request is written, and the send marker
before it, so the encoder is on the sending task's path:
orjson takes a few µs where ``json.dumps`` takes tens. Its text is compact, UTF-8 (not
``\\uXXXX`` escapes) and keeps the keys in the order given; ``json.loads`` reads it as
it reads ``json.dumps``'s. orjson refuses integers beyond 64 bits and non-string
keys: such a value (an unusual ``error`` from a node) is encoded by ``json`` instead,
never lost. Anything else it cannot encode becomes its ``str`` (``default``), as before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact JSON bytes of ``value`` (see the module docstring)."""
    try:
        return orjson.dumps(value, default=str)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode()
