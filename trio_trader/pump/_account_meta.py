"""Short constructors for ``AccountMeta``, so an account list reads like the IDL's table.

Shared by every instruction builder (pump, PumpSwap): one letter a flag keeps a 27-account
list one line an account, where a wrong flag is easy to spot against the IDL.
"""

from __future__ import annotations

from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

__all__ = ["r", "rs", "w", "ws"]


def r(pubkey: Pubkey) -> AccountMeta:
    """Read-only, not a signer."""
    return AccountMeta(pubkey, is_signer=False, is_writable=False)


def rs(pubkey: Pubkey) -> AccountMeta:
    """Read-only signer."""
    return AccountMeta(pubkey, is_signer=True, is_writable=False)


def w(pubkey: Pubkey) -> AccountMeta:
    """Writable, not a signer."""
    return AccountMeta(pubkey, is_signer=False, is_writable=True)


def ws(pubkey: Pubkey) -> AccountMeta:
    """Writable signer."""
    return AccountMeta(pubkey, is_signer=True, is_writable=True)
