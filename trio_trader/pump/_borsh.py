"""Borsh reading and writing for the pump program's accounts, events and instructions.

Everything the pump program stores or emits is little-endian borsh behind an 8-byte
Anchor discriminator. The program has only ever *appended* fields, so the decoders read
a prefix: :class:`Reader` lets them ask "is there more?" (:attr:`Reader.remaining`) before
each field, and raises :class:`DecodeError` - never ``struct.error`` or ``IndexError`` -
when a field is cut in half. That way a caller handling untrusted bytes (a log line, an
account from a node) needs one ``except DecodeError`` and nothing else.
"""

from __future__ import annotations

import builtins
import hashlib
import struct

from solders.pubkey import Pubkey

__all__ = ["DecodeError", "Reader", "Writer", "anchor_discriminator"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")

U64_MAX = 2**64 - 1


class DecodeError(ValueError):
    """Bytes that are not (a known layout of) what the caller asked to decode."""


def anchor_discriminator(namespace: str, name: str) -> bytes:
    """``sha256(f"{namespace}:{name}")[:8]``, Anchor's tag for accounts, events and instructions."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


class Reader:
    """A cursor over ``bytes`` with borsh primitives.

    Every read checks the length first, so a short buffer raises :class:`DecodeError`
    naming the field that did not fit.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = bytes(data)
        self._pos = pos

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int, what: str = "bytes") -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise DecodeError(
                f"truncated {what}: need {n} bytes at offset {self._pos}, have {self.remaining}"
            )
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self, what: str = "u8") -> int:
        return self.take(1, what)[0]

    def bool(self, what: str = "bool") -> bool:
        value = self.u8(what)
        if value > 1:
            raise DecodeError(f"invalid bool {value} for {what} at offset {self._pos - 1}")
        return value == 1

    def trailing_bool(self, what: str = "bool") -> builtins.bool:
        """An argument an upgrade appended (``OptionBool``) that older clients omit: absent
        reads false, as the programs treat it."""
        return self.bool(what) if self.remaining else False

    def u16(self, what: str = "u16") -> int:
        return int(_U16.unpack(self.take(2, what))[0])

    def u32(self, what: str = "u32") -> int:
        return int(_U32.unpack(self.take(4, what))[0])

    def u64(self, what: str = "u64") -> int:
        return int(_U64.unpack(self.take(8, what))[0])

    def i64(self, what: str = "i64") -> int:
        return int(_I64.unpack(self.take(8, what))[0])

    def u128(self, what: str = "u128") -> int:
        return int.from_bytes(self.take(16, what), "little")

    def i128(self, what: str = "i128") -> int:
        return int.from_bytes(self.take(16, what), "little", signed=True)

    def pubkey(self, what: str = "pubkey") -> Pubkey:
        return Pubkey.from_bytes(self.take(32, what))

    def string(self, what: str = "string") -> str:
        raw = self.take(self.u32(what), what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"{what} is not UTF-8: {exc}") from None

    def vec_len(self, item_size: int, what: str = "vec") -> int:
        """Read a u32 count and check that ``count * item_size`` bytes follow."""
        count = self.u32(what)
        if count * item_size > self.remaining:
            raise DecodeError(f"truncated {what}: {count} items of {item_size} bytes do not fit")
        return count


class Writer:
    """Builds borsh bytes; range-checks integers so a bug cannot write a wrapped value."""

    __slots__ = ("_parts",)

    def __init__(self, prefix: bytes = b"") -> None:
        self._parts: list[bytes] = [prefix] if prefix else []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def _int(self, value: int, size: int, signed: bool, what: str) -> Writer:
        try:
            self._parts.append(int(value).to_bytes(size, "little", signed=signed))
        except OverflowError:
            raise ValueError(f"{what} {value} does not fit in {size * 8} bits") from None
        return self

    def u8(self, value: int) -> Writer:
        return self._int(value, 1, False, "u8")

    def bool(self, value: bool) -> Writer:
        return self.u8(1 if value else 0)

    def u16(self, value: int) -> Writer:
        return self._int(value, 2, False, "u16")

    def u32(self, value: int) -> Writer:
        return self._int(value, 4, False, "u32")

    def u64(self, value: int) -> Writer:
        return self._int(value, 8, False, "u64")

    def i64(self, value: int) -> Writer:
        return self._int(value, 8, True, "i64")

    def u128(self, value: int) -> Writer:
        return self._int(value, 16, False, "u128")

    def i128(self, value: int) -> Writer:
        return self._int(value, 16, True, "i128")

    def pubkey(self, value: Pubkey) -> Writer:
        return self.raw(bytes(value))

    def string(self, value: str) -> Writer:
        data = value.encode("utf-8")
        return self.u32(len(data)).raw(data)

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)
