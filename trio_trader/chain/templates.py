"""A SELL's message compiled once per coin, patched at exit.

A position's SELLs name the same accounts attempt after attempt (while the creator, fee and
buyback recipients, venue, close-or-not and token program stay the same); only the recent
blockhash and the instruction data (compute-unit limit and price, amount, minimum output)
change. ``MessageV0.try_compile`` orders the keys from the accounts alone and copies the
data, so the compiled bytes of two such SELLs differ only in the 32 blockhash bytes and
in the data bytes, at the same offsets when every instruction's data keeps its length.

A :class:`MessageTemplate` is the serialised message compiled once with those offsets;
:meth:`MessageTemplate.sign` writes the blockhash and the data into a copy and signs it:
the bytes (and so the signature) are exactly ``build_transaction``'s. :class:`TemplateCache`
keys templates by the exact instruction structure (program, account metas, data length of
every instruction), so any difference in an account is a different key: a miss compiles
in full.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import attrs
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey

from trio_trader.chain.transactions import (
    ONE_SIGNATURE,
    PACKET_LIMIT,
    SignedTransaction,
    build_transaction,
)

__all__ = ["MessageTemplate", "TemplateCache", "TemplateKey", "compile_template", "template_key"]

#: per instruction: its program, its account metas, its data length
TemplateKey = tuple[tuple[Pubkey, tuple[AccountMeta, ...], int], ...]

#: templates kept: far more than the positions open at once (about 0.6 KB each, plus the
#: key's metas, mostly shared with ``pump.instructions``' per-coin caches)
DEFAULT_MAX_TEMPLATES = 512

_VERSION_PREFIX = 0x80  # a v0 message's first byte
_HEADER_LEN = 3
_KEY_LEN = 32


@attrs.frozen
class MessageTemplate:
    """A compiled one-signer v0 message and where its blockhash and data bytes sit."""

    body: bytes = attrs.field(repr=lambda body: f"<{len(body)} bytes>")
    blockhash_at: int
    #: (offset, length) of each instruction's data, in instruction order
    data_at: tuple[tuple[int, int], ...]

    def sign(
        self,
        datas: Sequence[bytes],
        payer: Keypair,
        blockhash: Hash,
        *,
        last_valid_block_height: int | None = None,
    ) -> SignedTransaction:
        """The message with ``blockhash`` and ``datas`` written in, signed by ``payer``.

        Raises:
            ValueError: not one data per instruction, or a data of another length (the
                caller's key is then wrong: never expected).
        """
        if len(datas) != len(self.data_at):
            raise ValueError(f"{len(datas)} instruction datas for {len(self.data_at)}")
        message = bytearray(self.body)
        at = self.blockhash_at
        message[at : at + _KEY_LEN] = bytes(blockhash)
        for (at, length), data in zip(self.data_at, datas, strict=True):
            if len(data) != length:
                raise ValueError(f"instruction data is {len(data)} bytes, the template's {length}")
            message[at : at + length] = data
        body = bytes(message)
        signature = payer.sign_message(body)
        raw = b"".join((ONE_SIGNATURE, bytes(signature), body))
        return SignedTransaction(raw, signature, blockhash, last_valid_block_height)


def template_key(instructions: Sequence[Instruction]) -> TemplateKey:
    """What the compiled message's bytes depend on besides the blockhash and data bytes."""
    return _key_and_datas(instructions)[0]


def compile_template(
    instructions: Sequence[Instruction], payer_key: Pubkey, blockhash: Hash | None = None
) -> MessageTemplate | None:
    """Compile ``instructions`` paid by ``payer_key``; None if not a one-signer message.

    Raises:
        ValueError: no instructions, or the message does not fit a packet.
    """
    if not instructions:
        raise ValueError("a transaction needs at least one instruction")
    message = MessageV0.try_compile(
        payer_key, list(instructions), [], Hash.default() if blockhash is None else blockhash
    )
    if message.header.num_required_signatures != 1:
        return None  # another signer: the generic path signs it
    body = to_bytes_versioned(message)
    if 1 + 64 + len(body) > PACKET_LIMIT:
        raise ValueError(f"transaction is {1 + 64 + len(body)} bytes; the limit is {PACKET_LIMIT}")
    blockhash_at, data_at = _offsets(body)
    for (at, length), ix in zip(data_at, instructions, strict=True):
        if body[at : at + length] != ix.data:  # the layout read wrong: never patch blindly
            raise AssertionError("message layout not understood")
    return MessageTemplate(body, blockhash_at, data_at)


def _compact_u16(buf: bytes, at: int) -> tuple[int, int]:
    """The compact-u16 at ``at`` and the offset after it."""
    value = shift = 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _offsets(body: bytes) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The blockhash's offset and each instruction's (data offset, length) in a v0 message:
    prefix, header, keys, blockhash, then per instruction its program index, account
    indexes and data, each array behind its compact-u16 length."""
    if body[0] != _VERSION_PREFIX:
        raise AssertionError("not a v0 message")
    count, at = _compact_u16(body, 1 + _HEADER_LEN)
    blockhash_at = at + count * _KEY_LEN
    count, at = _compact_u16(body, blockhash_at + _KEY_LEN)
    data_at = []
    for _ in range(count):
        accounts, at = _compact_u16(body, at + 1)  # past the program index
        length, at = _compact_u16(body, at + accounts)
        data_at.append((at, length))
        at += length
    return blockhash_at, tuple(data_at)


@attrs.define
class TemplateCache:
    """SELL templates by exact instruction structure, the least recently used dropped."""

    payer: Keypair = attrs.field(repr=False)
    payer_key: Pubkey
    max_templates: int = DEFAULT_MAX_TEMPLATES
    #: SELLs signed from a kept template / compiled in full (a new account structure)
    hits: int = attrs.field(default=0, init=False)
    misses: int = attrs.field(default=0, init=False)
    _templates: OrderedDict[TemplateKey, MessageTemplate | None] = attrs.field(
        factory=OrderedDict, init=False
    )

    def __len__(self) -> int:
        return len(self._templates)

    def prepare(self, instructions: Sequence[Instruction]) -> None:
        """Compile the template of ``instructions``' structure now (off the exit's path)."""
        key = template_key(instructions)
        if key not in self._templates:
            self._keep(key, compile_template(instructions, self.payer_key))

    def sign(
        self,
        instructions: Sequence[Instruction],
        blockhash: Hash,
        *,
        last_valid_block_height: int | None = None,
    ) -> SignedTransaction:
        """Sign ``instructions`` from their template (compiled now on a miss): the same
        bytes as ``build_transaction(instructions, payer, blockhash)``."""
        key, datas = _key_and_datas(instructions)
        try:
            template = self._templates[key]
            self._templates.move_to_end(key)
            self.hits += 1
        except KeyError:
            self.misses += 1
            template = compile_template(instructions, self.payer_key, blockhash)
            self._keep(key, template)
        if template is None:
            return build_transaction(
                instructions, self.payer, blockhash,
                last_valid_block_height=last_valid_block_height, payer_pubkey=self.payer_key,
            )  # fmt: skip
        return template.sign(
            datas, self.payer, blockhash, last_valid_block_height=last_valid_block_height
        )

    def _keep(self, key: TemplateKey, template: MessageTemplate | None) -> None:
        self._templates[key] = template
        while len(self._templates) > self.max_templates:
            self._templates.popitem(last=False)


def _key_and_datas(instructions: Sequence[Instruction]) -> tuple[TemplateKey, list[bytes]]:
    """``template_key`` and the data bytes, each read once (solders copies on each read)."""
    datas = [ix.data for ix in instructions]
    key = tuple(
        (ix.program_id, tuple(ix.accounts), len(data))
        for ix, data in zip(instructions, datas, strict=True)
    )
    return key, datas
