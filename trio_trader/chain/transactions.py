"""Build and sign a transaction, ready for `sendTransaction`.

We build **v0** transactions (`VersionedTransaction` of a `MessageV0`) without lookup tables:
the bytes are those of a legacy message plus a version prefix and an empty lookup list, every
node since 1.14 accepts them, and a later switch to address lookup tables (to shrink a pump
buy's 18 accounts) changes only the `address_lookup_table_accounts` argument here.

The transaction is signed once and the same bytes are rebroadcast until confirmed: re-signing
with a new blockhash would create a second transaction that could land too.

A payer is a solders ``Keypair`` or a :class:`~trio_trader.chain.signer.Signer` (the bot's:
the same signature by libsodium at about half the instructions, ``chain/signer.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import attrs
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from trio_trader.chain.signer import Signer

__all__ = [
    "ONE_SIGNATURE",
    "PACKET_LIMIT",
    "Payer",
    "SignedTransaction",
    "build_transaction",
    "sign_message_bytes",
]

#: compact-u16 of 1: the signature count that starts a one-signer transaction's bytes
ONE_SIGNATURE = b"\x01"
#: the largest transaction a node accepts, in bytes
PACKET_LIMIT = 1232
#: who pays and signs: a solders keypair, or the bot's libsodium signer (same signatures)
Payer: TypeAlias = Keypair | Signer


@attrs.frozen
class SignedTransaction:
    """Signed wire bytes and the identity needed to track them."""

    raw: bytes = attrs.field(repr=lambda raw: f"<{len(raw)} bytes>")
    signature: Signature
    blockhash: Hash | None = None
    last_valid_block_height: int | None = None


def build_transaction(
    instructions: Sequence[Instruction],
    payer: Payer,
    blockhash: Hash,
    signers: Sequence[Keypair] = (),
    *,
    last_valid_block_height: int | None = None,
    payer_pubkey: Pubkey | None = None,
) -> SignedTransaction:
    """Compile `instructions` into a v0 message paid by `payer` and sign it.

    Args:
        instructions: in execution order.
        payer: fee payer, always the first signer.
        blockhash: a recent blockhash (from `BlockhashCache.latest`).
        signers: extra signers (e.g. a new mint keypair); the payer may be repeated.
        last_valid_block_height: recorded on the result for `Confirmer`.
        payer_pubkey: `payer.pubkey()`, if the caller has it cached (deriving it costs
            ~25 µs on the hot path).

    Raises:
        ValueError: a signer the message needs is missing, or the message is too large.
    """
    if not instructions:
        raise ValueError("a transaction needs at least one instruction")
    payer_key = payer.pubkey() if payer_pubkey is None else payer_pubkey
    message = MessageV0.try_compile(payer_key, list(instructions), [], blockhash)
    keypairs = {payer_key: payer.keypair if isinstance(payer, Signer) else payer}
    for signer in signers:
        keypairs.setdefault(signer.pubkey(), signer)
    try:
        if len(keypairs) == 1 and message.header.num_required_signatures == 1:
            # The hot path (a BUY or SELL): one signature over the message bytes, about
            # half the cost of the generic constructor, which re-derives every pubkey.
            body = to_bytes_versioned(message)
        else:
            tx = VersionedTransaction(message, list(keypairs.values()))
            signature, raw = tx.signatures[0], bytes(tx)
            body = None
    except Exception as exc:  # solders raises SignerError, not a ValueError subclass
        raise ValueError(f"cannot sign transaction: {exc}") from None
    if body is not None:
        return sign_message_bytes(payer, body, blockhash, last_valid_block_height)
    _check_size(raw)
    return SignedTransaction(raw, signature, blockhash, last_valid_block_height)


def sign_message_bytes(
    payer: Payer, body: bytes, blockhash: Hash, last_valid_block_height: int | None = None
) -> SignedTransaction:
    """A one-signer transaction of the serialised v0 message ``body``, signed by ``payer``:
    the signature count (1, a one-byte compact-u16), the signature, the message.

    Raises:
        ValueError: the transaction would not fit a packet.
    """
    signature = payer.sign_message(body)
    raw = b"".join((ONE_SIGNATURE, bytes(signature), body))
    _check_size(raw)
    return SignedTransaction(raw, signature, blockhash, last_valid_block_height)


def _check_size(raw: bytes) -> None:
    if len(raw) > PACKET_LIMIT:
        raise ValueError(f"transaction is {len(raw)} bytes; the packet limit is {PACKET_LIMIT}")
