"""The wallet's ed25519 signature computed by libsodium (PyNaCl's), byte for byte solders'.

Why: ``Keypair.sign_message`` (solders, ed25519-dalek) runs ~530 k instructions a
signature, libsodium's ``crypto_sign_detached`` ~280 k; cold, as a BUY 100 ms after the
last finds the caches, ~100 µs against ~135 (``docs/benchmarks.md``, "pdasign"). Ed25519
signatures are deterministic (RFC 8032): one key and one message give the same 64 bytes
whichever library computes them (tested against solders over many keys and messages).

How it is called: through ``ctypes.PyDLL`` on the libsodium that PyNaCl ships in its
``nacl._sodium`` extension, which keeps the GIL for the call. PyNaCl's own bindings (cffi)
and ``ctypes.CDLL`` release it: the store's writer thread could then take it and keep it
for up to the interpreter's 5 ms switch interval, on the BUY's path. Measured, PyNaCl's
public ``crypto_sign`` was no faster than solders cold (a new output buffer each call).

The secret: a :class:`Signer` keeps the 64-byte libsodium secret key (seed ‖ public key)
in a buffer of its own and the ``Keypair`` it came from; ``repr``/``str`` show the public
key only, pickling is refused, copying returns the same signer.

If PyNaCl's library cannot be loaded (not installed, a build without the symbol), the
signer signs with solders: the same bytes, at solders' cost (logged once).

Public API::

    Signer(keypair, *, sodium=True)
    signer.pubkey() -> Pubkey
    signer.keypair -> Keypair          (for solders' multi-signer transaction constructor)
    signer.sign_message(message: bytes) -> Signature
    signer.uses_sodium -> bool
    sodium_available() -> bool
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any, NoReturn

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = ["Signer", "sodium_available"]

log = logging.getLogger(__name__)

_SIGNATURE_LEN = 64
_SECRET_LEN = 64


def _load_sodium() -> Callable[..., int] | None:
    """libsodium's ``crypto_sign_detached`` from PyNaCl's extension, GIL held; None when
    it cannot be had (logged)."""
    try:
        import nacl.bindings  # noqa: F401  (runs sodium_init)
        from nacl import _sodium

        detached = ctypes.PyDLL(_sodium.__file__).crypto_sign_detached
    except (ImportError, OSError, AttributeError) as exc:
        log.info("PyNaCl's libsodium not loaded (%s): signing with solders", type(exc).__name__)
        return None
    # (sig out, siglen out or NULL, message, message length, 64-byte secret key)
    detached.argtypes = (
        ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p
    )  # fmt: skip
    detached.restype = ctypes.c_int
    return detached


_DETACHED = _load_sodium()


def sodium_available() -> bool:
    """Whether signers sign with libsodium (PyNaCl is installed and its library loads)."""
    return _DETACHED is not None


class Signer:
    """Signs as its ``Keypair`` would, with libsodium when available; never shows the secret.

    One thread at a time: the signature is written into the signer's own buffer (a buffer per
    call costs a cold allocation on the BUY's path); the bot signs on the Trio thread only.
    """

    __slots__ = ("_detached", "_keypair", "_out", "_pubkey", "_secret", "sign_message")

    def __init__(self, keypair: Keypair, *, sodium: bool = True) -> None:
        self._keypair = keypair
        self._pubkey = keypair.pubkey()
        self._out = ctypes.create_string_buffer(_SIGNATURE_LEN)
        self._secret: ctypes.Array[ctypes.c_char] | None = None
        self._detached = _DETACHED if sodium else None
        #: ``sign_message(message: bytes) -> Signature``: libsodium's, else the keypair's
        self.sign_message: Callable[[bytes], Signature] = keypair.sign_message
        if self._detached is not None:
            self._secret = ctypes.create_string_buffer(bytes(keypair), _SECRET_LEN)
            self.sign_message = self._sodium_sign

    def _sodium_sign(self, message: bytes) -> Signature:
        detached = self._detached
        if detached is None or detached(self._out, None, message, len(message), self._secret):
            raise RuntimeError("libsodium could not sign the message")
        return Signature.from_bytes(self._out.raw)

    @property
    def uses_sodium(self) -> bool:
        return self._secret is not None

    @property
    def keypair(self) -> Keypair:
        """The keypair (solders' ``VersionedTransaction`` wants one for each signer)."""
        return self._keypair

    def pubkey(self) -> Pubkey:
        """The signer's address (kept: solders derives it anew on every ``Keypair.pubkey``)."""
        return self._pubkey

    def __repr__(self) -> str:
        return f"Signer({self._pubkey})"

    def __str__(self) -> str:
        return str(self._pubkey)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Signer holds the wallet's secret: it is not pickled")

    def __copy__(self) -> Signer:
        return self  # immutable: a copy would only be a second home for the secret

    def __deepcopy__(self, memo: Any) -> Signer:
        return self
