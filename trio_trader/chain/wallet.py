"""The trading wallet: a keypair that never shows its secret.

`solders.keypair.Keypair.__str__` *is* the base58 secret key, so a Keypair that reaches a log
line, an f-string or an exception message leaks the wallet. `Wallet` wraps it with a
`__repr__`/`__str__` that show only the public key, and its loaders build error messages from
facts about the input (its length, its type) and never from the input itself. They are
raised *outside* the `except` block, so not even `__context__` links to the library's error
(`json.JSONDecodeError.doc` is the whole file; `from None` only hides it from tracebacks,
while error trackers and debuggers still walk `__context__`).

A keypair file that group or others may read (or write) is warned about, once per path: the
file is the wallet, and `solana-keygen` writes it 0600.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs
import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey

__all__ = ["Wallet", "WalletError"]

logger = logging.getLogger(__name__)

A = TypeVar("A")
R = TypeVar("R")
_KEYPAIR_LEN = 64
_SEED_LEN = 32


class WalletError(ValueError):
    """A keypair could not be loaded; the message never contains key material."""


_warned_paths: set[str] = set()


def _warn_if_exposed(path: Path) -> None:
    """Log once per path if group or others have any access to the keypair file."""
    if os.name != "posix":  # mode bits mean nothing there; ACLs are the OS's business
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # reading it will fail and say so
    key = os.path.realpath(path)
    if mode & 0o077 and key not in _warned_paths:
        _warned_paths.add(key)
        logger.warning(
            "keypair file %s has mode %04o: group/others may read or write the wallet's "
            "secret key; run `chmod 600 %s`",
            path,
            mode,
            path,
        )


def _quietly(parse: Callable[[A], R], value: A) -> R | None:
    """`parse(value)`, or None on any error, dropping the error (it may quote the secret)."""
    try:
        return parse(value)
    except Exception:
        return None


def _keypair_from_bytes(raw: bytes, source: str) -> Keypair:
    if len(raw) == _SEED_LEN:
        return Keypair.from_seed(raw)
    if len(raw) != _KEYPAIR_LEN:
        raise WalletError(f"{source}: a keypair is {_KEYPAIR_LEN} bytes, not {len(raw)}")
    keypair = _quietly(Keypair.from_bytes, raw)
    if keypair is None:  # the second half must be the public key of the first half
        raise WalletError(f"{source}: not a valid ed25519 keypair")
    return keypair


def _keypair_from_json_array(text: str, source: str) -> Keypair:
    values = _quietly(json.loads, text)
    if values is None:
        raise WalletError(f"{source}: not JSON (expected an array of 64 integers)")
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values
    ):
        raise WalletError(f"{source}: expected a JSON array of integers 0..255")
    return _keypair_from_bytes(bytes(values), source)


@attrs.define(eq=False, repr=False)
class Wallet:
    """A signing keypair; `repr`/`str` show only `pubkey`."""

    keypair: Keypair

    @property
    def pubkey(self) -> Pubkey:
        """The wallet's address."""
        return self.keypair.pubkey()

    def __repr__(self) -> str:
        return f"Wallet({self.pubkey})"

    def __str__(self) -> str:
        return str(self.pubkey)

    @classmethod
    def generate(cls) -> Wallet:
        """A fresh random wallet (tests, simulator)."""
        return cls(Keypair())

    @classmethod
    def from_keypair_file(cls, path: str | os.PathLike[str]) -> Wallet:
        """Load a Solana CLI keypair file (`solana-keygen new -o …`: a JSON array of 64 ints).

        Raises:
            WalletError: unreadable or malformed file; the message names the path only.
        """
        source = f"keypair file {os.fspath(path)!r}"
        _warn_if_exposed(Path(path))
        text = _quietly(Path(path).read_text, "utf-8")
        if text is None:
            raise WalletError(f"{source}: cannot read it, or it is not UTF-8 text")
        return cls(_keypair_from_json_array(text, source))

    @classmethod
    def from_env(cls, var: str) -> Wallet:
        """Load the secret from environment variable `var`.

        Accepts base58 of the 64-byte keypair (Phantom's export) or of a 32-byte seed, or the
        Solana CLI's JSON array.

        Raises:
            WalletError: unset or malformed; the message names the variable only.
        """
        source = f"environment variable {var}"
        value = os.environ.get(var, "").strip()
        if not value:
            raise WalletError(f"{source} is not set")
        if value.startswith("["):
            return cls(_keypair_from_json_array(value, source))
        raw = _quietly(base58.b58decode, value)
        if raw is None:
            raise WalletError(f"{source}: not base58")
        return cls(_keypair_from_bytes(raw, source))
