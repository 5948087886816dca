"""``compile_message`` writes exactly the bytes solders' ``MessageV0.try_compile`` gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey

from trio_trader.chain.templates import InstructionSpec, _compact, compile_message
from trio_trader.chain.transactions import build_transaction, sign_message_bytes

keys = st.binary(min_size=32, max_size=32).map(Pubkey)
hashes = st.binary(min_size=32, max_size=32).map(Hash)
payers = st.binary(min_size=32, max_size=32).map(Keypair.from_seed)


@st.composite
def any_specs(draw: st.DrawFn, payer: Pubkey) -> list[InstructionSpec]:
    """Arbitrary instructions: repeated keys with mixed flags, the payer anywhere (also
    read-only or unsigned), signers other than the payer, data needing a 2-byte length."""
    pool = [*draw(st.lists(keys, min_size=1, max_size=20, unique=True)), payer]
    account = st.tuples(st.sampled_from(pool), st.booleans(), st.booleans())
    spec = st.tuples(st.sampled_from(pool), st.lists(account, max_size=12),
                     st.binary(max_size=300))  # fmt: skip
    return draw(st.lists(spec, min_size=1, max_size=6))


def _solders(payer: Pubkey, specs: list[InstructionSpec], blockhash: Hash) -> bytes:
    ixs = [Instruction(program, data, [AccountMeta(*meta) for meta in accounts])
           for program, accounts, data in specs]  # fmt: skip
    return bytes(to_bytes_versioned(MessageV0.try_compile(payer, ixs, [], blockhash)))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), payer=payers, blockhash=hashes)
def test_the_message_is_try_compiles_byte_for_byte(
    data: st.DataObject, payer: Keypair, blockhash: Hash
) -> None:
    specs = data.draw(any_specs(payer.pubkey()))
    assert compile_message(payer.pubkey(), specs, blockhash) == _solders(
        payer.pubkey(), specs, blockhash
    )


def test_a_signed_one_signer_message_is_build_transactions() -> None:
    payer, blockhash = Keypair.from_seed(bytes(range(32))), Hash(bytes(32))
    program, other = Pubkey.new_unique(), Pubkey.new_unique()
    specs: list[InstructionSpec] = [(program, [(payer.pubkey(), True, True), (other, False, True)],
                                     b"\x01" * 200)]  # fmt: skip
    ixs = [Instruction(program, b"\x01" * 200, [AccountMeta(payer.pubkey(), True, True),
                                                 AccountMeta(other, False, True)])]  # fmt: skip
    body = compile_message(payer.pubkey(), specs, blockhash)
    assert sign_message_bytes(payer, body, blockhash, 7) == build_transaction(
        ixs, payer, blockhash, last_valid_block_height=7
    )


def test_bad_input_is_a_clear_value_error() -> None:
    payer = Pubkey.new_unique()
    with pytest.raises(ValueError, match="at least one"):
        compile_message(payer, [], Hash.default())
    too_many = [
        (Pubkey.new_unique(), [(Pubkey.new_unique(), False, False)], b"") for _ in range(130)
    ]
    with pytest.raises(ValueError, match="keys"):
        compile_message(payer, too_many, Hash.default())
    with pytest.raises(ValueError, match="compact-u16"):
        _compact(0x10000)
    with pytest.raises(ValueError, match="packet limit"):
        sign_message_bytes(Keypair(), bytes(1300), Hash.default())


@pytest.mark.parametrize("value", [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0xFFFF])
def test_lengths_are_written_as_solders_writes_them(value: int) -> None:
    payer, program = Pubkey.new_unique(), Pubkey.new_unique()
    specs: list[InstructionSpec] = [(program, [], bytes(value))]
    body = compile_message(payer, specs, Hash.default())
    assert body == _solders(payer, specs, Hash.default())
    assert body.endswith(_compact(value) + bytes(value) + b"\x00")
