"""What every instruction builder (pump, PumpSwap) shares to write its account list.

Short ``AccountMeta`` constructors, so a 27-account list stays one line an account and a
wrong flag is easy to spot against the IDL table; and the default buyback fee recipient.
"""

from __future__ import annotations

from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from .addresses import BUYBACK_FEE_RECIPIENTS

__all__ = ["buyback_or_first", "r", "rs", "w", "ws"]


def buyback_or_first(recipient: Pubkey | None) -> Pubkey:
    """The caller's buyback fee recipient, else the first of :data:`BUYBACK_FEE_RECIPIENTS`.

    The official SDKs pick one at random only to spread write locks; a fixed default keeps
    our transactions deterministic, so tests and the simulator can compare them byte for byte.
    """
    return recipient or BUYBACK_FEE_RECIPIENTS[0]


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
