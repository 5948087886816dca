"""A SELL's message compiled once per account structure, patched at exit.

A position's SELLs name the same accounts attempt after attempt (while the creator, fee and
buyback recipients, venue, close-or-not and token program stay the same); only the recent
blockhash and the numbers in the instruction data change: the compute-unit limit and price,
``amount`` and ``min_sol_output``. ``MessageV0.try_compile`` orders the keys from the
accounts alone and copies the data, and every one of those data has a fixed length
(``[2] ‖ u32``, ``[3] ‖ u64``, discriminator ‖ u64 ‖ u64), so two such SELLs compile to
bytes that differ only there, at the same offsets.

A :class:`SellTemplate` is the serialised message compiled once and those offsets;
:meth:`SellTemplate.sign` writes the blockhash and the numbers into a copy and signs it:
the bytes (and so the signature) are exactly ``build_transaction``'s, without building an
``Instruction`` or compiling. :class:`TemplateCache` keeps templates under the caller's
key, which must determine every account (the seller's ``CurveSellShape``): a SELL naming
any other account has another key and is compiled in full.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import attrs
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey

from trio_trader.chain.transactions import (
    PACKET_LIMIT,
    Payer,
    SignedTransaction,
    build_transaction,
    sign_message_bytes,
)

__all__ = [
    "AccountSpec",
    "InstructionSpec",
    "SellTemplate",
    "TemplateCache",
    "compile_message",
    "compile_sell_template",
    "message_layout",
]

#: templates kept: far more than the positions open at once (about 0.6 KB each)
DEFAULT_MAX_TEMPLATES = 512

_VERSION_PREFIX = 0x80  # a v0 message's first byte
_HEADER_LEN = 3
_KEY_LEN = 32
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TWO_U64 = struct.Struct("<QQ")
#: compute-budget ``SetComputeUnitLimit`` / ``SetComputeUnitPrice`` instruction tags
_CU_LIMIT_TAG, _CU_PRICE_TAG = 2, 3
#: the data lengths a SELL's first three instructions must have (budget, budget, sell)
_SELL_DATA_LENGTHS = (1 + 4, 1 + 8, 8 + 8 + 8)


#: an instruction's account as ``AccountMeta`` holds it: (key, is_signer, is_writable)
AccountSpec = tuple[Pubkey, bool, bool]
#: an instruction as plain values: (program id, accounts, data)
InstructionSpec = tuple[Pubkey, Sequence[AccountSpec], bytes]
#: ``try_compile``'s key classes by (is_signer, is_writable), in the order it lists them
_SIGNER_WRITABLE, _SIGNER, _WRITABLE, _READONLY = 3, 1, 2, 0
#: ``try_compile``'s limit: an account index is one byte
_MAX_KEYS = 256


def compile_message(
    payer_key: Pubkey, instructions: Sequence[InstructionSpec], blockhash: Hash
) -> bytes:
    """``to_bytes_versioned(MessageV0.try_compile(payer_key, ixs, [], blockhash))`` for the
    instructions these specs describe, without building an ``Instruction``: a BUY names
    a new mint, so no compiled message can be reused, and solders' compile and serialise
    cost ~130 µs with cold caches (``docs/benchmarks.md``).

    As ``try_compile`` (solana ``CompiledKeys``): each key's flags are the union of its
    uses, a program id is a key of its own, the payer is a writable signer; the keys are
    listed payer first, then writable signers, read-only signers, writable and read-only
    accounts, each class in the order of its keys' bytes.

    Raises:
        ValueError: no instructions, more keys than a one-byte index reaches, or a length
            over a compact-u16's range.
    """
    if not instructions:
        raise ValueError("a transaction needs at least one instruction")
    # ``__bytes__()``, not ``bytes()``: a third of the cost; keyed by bytes, whose hash is
    # cheaper than a Pubkey's (``docs/benchmarks.md``: 10 % fewer instructions)
    flags: dict[bytes, int] = {}
    flag_of = flags.get
    compiled = []
    for program_id, accounts, data in instructions:
        program = program_id.__bytes__()
        flags[program] = flag_of(program, _READONLY)
        keys = []
        for key, is_signer, is_writable in accounts:
            raw = key.__bytes__()
            flags[raw] = flag_of(raw, _READONLY) | is_signer | is_writable << 1
            keys.append(raw)
        compiled.append((program, keys, data))
    payer = payer_key.__bytes__()
    flags.pop(payer, None)
    classes: tuple[list[bytes], ...] = ([], [], [], [])
    for raw, flag in flags.items():
        classes[flag].append(raw)
    for keys in classes:
        keys.sort()
    ordered = [payer, *classes[_SIGNER_WRITABLE], *classes[_SIGNER], *classes[_WRITABLE],
               *classes[_READONLY]]  # fmt: skip
    if len(ordered) > _MAX_KEYS:
        raise ValueError(f"a message names {len(ordered)} keys; an index reaches {_MAX_KEYS}")
    index = {raw: at for at, raw in enumerate(ordered)}
    signers = 1 + len(classes[_SIGNER_WRITABLE]) + len(classes[_SIGNER])
    parts = [
        bytes((_VERSION_PREFIX, signers, len(classes[_SIGNER]), len(classes[_READONLY]))),
        _compact(len(ordered)), *ordered, bytes(blockhash), _compact(len(compiled)),
    ]  # fmt: skip
    for program, keys, data in compiled:
        indexes = bytes([index[raw] for raw in keys])
        parts += (bytes((index[program],)), _compact(len(keys)), indexes,
                  _compact(len(data)), data)  # fmt: skip
    parts.append(b"\x00")  # no address lookup tables
    return b"".join(parts)


def _compact(value: int) -> bytes:
    """``value`` as a compact-u16 (7 bits a byte, low first, the high bit: more follows)."""
    if value < 0x80:
        return bytes((value,))
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{value} does not fit a compact-u16")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@attrs.frozen
class SellTemplate:
    """A compiled one-signer SELL message and where its variable bytes sit."""

    body: bytes = attrs.field(repr=lambda body: f"<{len(body)} bytes>")
    blockhash_at: int
    limit_at: int  # the u32 of SetComputeUnitLimit
    price_at: int  # the u64 of SetComputeUnitPrice
    args_at: int  # the sell's ``amount`` and ``min_sol_output``, after its discriminator

    def sign(
        self,
        payer: Payer,
        blockhash: Hash,
        limit: int,
        price: int,
        amount: int,
        min_output: int,
        last_valid_block_height: int | None = None,
    ) -> SignedTransaction:
        """The message with these values written in, signed by ``payer``.

        Raises:
            ValueError: a value out of its field's range (as ``pump.instructions``).
        """
        message = bytearray(self.body)
        message[self.blockhash_at : self.blockhash_at + _KEY_LEN] = bytes(blockhash)
        try:
            _U32.pack_into(message, self.limit_at, limit)
            _U64.pack_into(message, self.price_at, price)
            _TWO_U64.pack_into(message, self.args_at, amount, min_output)
        except struct.error as exc:  # as the instruction builders' ValueError
            raise ValueError(f"a SELL value does not fit its field: {exc}") from None
        return sign_message_bytes(payer, bytes(message), blockhash, last_valid_block_height)


def compile_sell_template(
    instructions: Sequence[Instruction], payer_key: Pubkey, blockhash: Hash | None = None
) -> SellTemplate | None:
    """Compile a SELL: ``[SetComputeUnitLimit, SetComputeUnitPrice, sell, …]`` paid by
    ``payer_key``. None if it is not one (another signer, other data lengths) or its bytes
    are not read as expected: the caller then signs it the generic way, never a SELL
    patched at the wrong offsets, and never an exception on the way out of a position.

    Raises:
        ValueError: no instructions, or the message does not fit a packet.
    """
    if not instructions:
        raise ValueError("a transaction needs at least one instruction")
    message = MessageV0.try_compile(
        payer_key, list(instructions), [], Hash.default() if blockhash is None else blockhash
    )
    body = to_bytes_versioned(message)
    if 1 + 64 + len(body) > PACKET_LIMIT:
        raise ValueError(f"transaction is {1 + 64 + len(body)} bytes; the limit is {PACKET_LIMIT}")
    layout = message_layout(body)
    if layout is None:
        return None
    blockhash_at, data_at = layout
    datas = [body[at : at + length] for at, length in data_at]
    if (
        datas != [bytes(ix.data) for ix in instructions]  # never patch a layout misread
        or message.header.num_required_signatures != 1
        or tuple(length for _, length in data_at[:3]) != _SELL_DATA_LENGTHS
        or (datas[0][0], datas[1][0]) != (_CU_LIMIT_TAG, _CU_PRICE_TAG)
    ):
        return None
    return SellTemplate(body, blockhash_at, data_at[0][0] + 1, data_at[1][0] + 1, data_at[2][0] + 8)


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


def message_layout(body: bytes) -> tuple[int, tuple[tuple[int, int], ...]] | None:
    """A v0 message's blockhash offset and each instruction's (data offset, data length);
    None if ``body`` is not a v0 message.

    The layout: the version prefix, the 3-byte header, the keys, the blockhash, then per
    instruction its program index, account indexes and data, each array behind its
    compact-u16 length.
    """
    if not body or body[0] != _VERSION_PREFIX:
        return None
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
    """SELL templates by a key that determines every account, least recently used dropped.

    A template compiled for one key is only ever used for that key: the caller's key must
    change whenever any account of the SELL would (``CurveSellShape`` in the seller).
    """

    payer: Payer = attrs.field(repr=False)
    payer_key: Pubkey
    max_templates: int = DEFAULT_MAX_TEMPLATES
    #: SELLs signed from a kept template / compiled in full (a new key)
    hits: int = attrs.field(default=0, init=False)
    misses: int = attrs.field(default=0, init=False)
    _templates: OrderedDict[Hashable, SellTemplate | None] = attrs.field(
        factory=OrderedDict, init=False
    )

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._templates

    def prepare(self, key: Hashable, instructions: Sequence[Instruction]) -> None:
        """Compile ``key``'s template from ``instructions`` now (off the exit's path): any
        values of the patched numbers do."""
        if key not in self._templates:
            self._keep(key, compile_sell_template(instructions, self.payer_key))

    def sign(
        self,
        key: Hashable,
        instructions: Callable[[], Sequence[Instruction]],
        blockhash: Hash,
        limit: int,
        price: int,
        amount: int,
        min_output: int,
        last_valid_block_height: int | None = None,
    ) -> SignedTransaction:
        """The SELL of ``key`` with these values, signed: the bytes ``build_transaction``
        gives for ``instructions()`` (called, and compiled in full, only on a miss).

        Raises:
            ValueError: as ``build_transaction`` (a signer missing, too large).
        """
        template = self._templates.get(key)
        if template is not None:
            self._templates.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
            ixs = instructions()
            template = compile_sell_template(ixs, self.payer_key, blockhash)
            if template is None:  # not a SELL's layout: the generic path signs it
                return build_transaction(
                    ixs, self.payer, blockhash,
                    last_valid_block_height=last_valid_block_height, payer_pubkey=self.payer_key,
                )  # fmt: skip
            self._keep(key, template)
        return template.sign(
            self.payer, blockhash, limit, price, amount, min_output, last_valid_block_height
        )

    def _keep(self, key: Hashable, template: SellTemplate | None) -> None:
        self._templates[key] = template
        self._templates.move_to_end(key)
        while len(self._templates) > self.max_templates:
            self._templates.popitem(last=False)
