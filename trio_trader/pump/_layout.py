"""Append-only borsh layouts: read a prefix of fields, write fields up to the first ``None``.

Every pump upgrade has appended fields to accounts and events, so one field list per type
describes every historical version: a version is a prefix of the list. A decoder walks the
list and stops where the bytes stop; the fields it did not reach are ``None``. Accounts and
events differ in what "the bytes stop" means:

* an **account** is a fixed-offset record, often padded (a 2025 curve is 150 bytes of which
  81 hold fields); a field that does not fit whole marks the end of that account's layout
  (``stop_at_partial=True``), and trailing padding is ignored;
* an **event** is exactly as long as its fields; one cut in half is corrupt and raises
  :class:`DecodeError`.

:func:`decode_account` / :func:`encode_account` hold the account side for both programs
(pump's curve and Global, PumpSwap's Pool and GlobalConfig); events are framed in
:mod:`._events`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from solders.pubkey import Pubkey

from ._borsh import DecodeError, Reader, Writer

__all__ = [
    "Field",
    "Kind",
    "account_reader",
    "decode_account",
    "decode_fields",
    "encode_account",
    "encode_fields",
]


@attrs.frozen
class Kind:
    """How one borsh type is read, written and zero-filled."""

    read: Callable[[Reader], Any]
    write: Callable[[Writer, Any], object]
    size: int | None  # None for variable-length types (string, vec)
    zero: Any


def _array(item: Kind, n: int) -> Kind:
    assert item.size is not None

    def read(r: Reader) -> tuple[Any, ...]:
        return tuple(item.read(r) for _ in range(n))

    def write(w: Writer, values: Sequence[Any]) -> None:
        if len(values) != n:
            raise ValueError(f"array needs exactly {n} items, got {len(values)}")
        for v in values:
            item.write(w, v)

    return Kind(read, write, item.size * n, (item.zero,) * n)


BOOL = Kind(Reader.bool, Writer.bool, 1, False)
U8 = Kind(Reader.u8, Writer.u8, 1, 0)
U16 = Kind(Reader.u16, Writer.u16, 2, 0)
U64 = Kind(Reader.u64, Writer.u64, 8, 0)
I64 = Kind(Reader.i64, Writer.i64, 8, 0)
U128 = Kind(Reader.u128, Writer.u128, 16, 0)
I128 = Kind(Reader.i128, Writer.i128, 16, 0)
PUBKEY = Kind(Reader.pubkey, Writer.pubkey, 32, Pubkey.default())
STRING = Kind(Reader.string, Writer.string, None, "")


def pubkey_array(n: int) -> Kind:
    return _array(PUBKEY, n)


Field = tuple[str, Kind]


def layout_size(fields: Sequence[Field]) -> int:
    """Total size of a fixed-size layout (accounts)."""
    sizes = [kind.size for _, kind in fields]
    if any(s is None for s in sizes):
        raise TypeError("layout has variable-length fields")
    return sum(s for s in sizes if s is not None)


def decode_fields(
    reader: Reader,
    fields: Sequence[Field],
    *,
    required: int,
    stop_at_partial: bool,
    what: str,
) -> dict[str, Any]:
    """Read ``fields`` in order until the data ends; unread fields are ``None``.

    Args:
        reader: positioned after the discriminator.
        fields: the newest layout, oldest fields first.
        required: how many leading fields the oldest layout has; fewer is an error.
        stop_at_partial: treat a field that does not fit whole as the end (accounts).
        what: the type's name, for error messages.

    Raises:
        DecodeError: fewer than ``required`` fields, or invalid field bytes.
    """
    values: dict[str, Any] = {}
    ended = False
    for index, (name, kind) in enumerate(fields):
        if not ended:
            partial = stop_at_partial and kind.size is not None and kind.size > reader.remaining
            ended = reader.remaining == 0 or partial
        if ended:
            if index < required:
                raise DecodeError(f"{what} truncated: field {name!r} is missing")
            values[name] = None
            continue
        values[name] = kind.read(reader)
    return values


def encode_fields(
    writer: Writer,
    fields: Sequence[Field],
    values: Mapping[str, Any],
    *,
    zero_fill: bool,
) -> Writer:
    """Write ``fields``; at a ``None`` either write the zero value or stop (``zero_fill``)."""
    for name, kind in fields:
        value = values[name]
        if value is None:
            if not zero_fill:
                break
            value = kind.zero
        kind.write(writer, value)
    return writer


def account_reader(data: bytes, disc: bytes, what: str) -> Reader:
    """A reader positioned after ``disc``, the account's discriminator.

    Raises:
        DecodeError: shorter than a discriminator, or another one.
    """
    data = bytes(data)
    if len(data) < 8:
        raise DecodeError(f"{what}: {len(data)} bytes is shorter than a discriminator")
    if data[:8] != disc:
        raise DecodeError(f"{what}: wrong discriminator {data[:8].hex()} (want {disc.hex()})")
    return Reader(data, 8)


def decode_account(
    data: bytes, disc: bytes, fields: Sequence[Field], *, required: int, what: str
) -> dict[str, Any]:
    """The fields of an account of any historical length: ``disc`` then fixed-offset fields,
    the ones that do not fit ``None`` (padding after the last field is ignored).

    Raises:
        DecodeError: wrong discriminator, or fewer than ``required`` fields fit.
    """
    reader = account_reader(data, disc, what)
    return decode_fields(reader, fields, required=required, stop_at_partial=True, what=what)


def encode_account(disc: bytes, fields: Sequence[Field], record: Any, *, size: int = 0) -> bytes:
    """``disc`` then every field of the attrs ``record`` (``None`` written as zero), padded
    with zero bytes to ``size``."""
    values = attrs.asdict(record, recurse=False)
    data = encode_fields(Writer(disc), fields, values, zero_fill=True).to_bytes()
    return data.ljust(size, b"\0")
