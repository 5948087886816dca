"""The v0 message layout ``chain/templates`` patches is read right, for any shape."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey

from trio_trader.chain.templates import TemplateCache, compile_sell_template, message_layout

keys = st.binary(min_size=32, max_size=32).map(Pubkey)
hashes = st.binary(min_size=32, max_size=32).map(Hash)
payers = st.binary(min_size=32, max_size=32).map(Keypair.from_seed)


@st.composite
def any_instructions(draw: st.DrawFn, payer: Pubkey) -> list[Instruction]:
    """Arbitrary shapes, with data lengths that need a two-byte compact-u16 too."""
    pool = draw(st.lists(keys, min_size=1, max_size=12, unique=True))
    metas = st.builds(AccountMeta, st.sampled_from(pool), st.just(False), st.booleans())
    payer_meta = st.builds(AccountMeta, st.just(payer), st.booleans(), st.booleans())
    ix = st.builds(Instruction, st.sampled_from(pool), st.binary(max_size=300),
                   st.lists(metas | payer_meta, max_size=8))  # fmt: skip
    return draw(st.lists(ix, min_size=1, max_size=5))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), payer=payers, blockhash=hashes)
def test_the_blockhash_and_every_data_are_found_where_they_are(
    data: st.DataObject, payer: Keypair, blockhash: Hash
) -> None:
    ixs = data.draw(any_instructions(payer.pubkey()))
    body = to_bytes_versioned(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash))
    layout = message_layout(body)
    assert layout is not None
    blockhash_at, data_at = layout
    assert body[blockhash_at : blockhash_at + 32] == bytes(blockhash)
    assert [body[at : at + n] for at, n in data_at] == [bytes(ix.data) for ix in ixs]
    assert data_at[-1][0] + data_at[-1][1] == len(body) - 1  # then the empty lookup list


def test_a_message_that_is_not_a_sell_has_no_template() -> None:
    payer, other = Keypair(), Keypair()
    budget = [Instruction(Pubkey.new_unique(), b"\x02" + bytes(4), []),
              Instruction(Pubkey.new_unique(), b"\x03" + bytes(8), [])]  # fmt: skip
    sell = Instruction(Pubkey.new_unique(), bytes(24), [AccountMeta(payer.pubkey(), True, True)])
    assert compile_sell_template([*budget, sell], payer.pubkey()) is not None
    cosigned = Instruction(sell.program_id, bytes(24), [AccountMeta(other.pubkey(), True, True)])
    assert compile_sell_template([*budget, cosigned], payer.pubkey()) is None
    longer = Instruction(sell.program_id, bytes(25), sell.accounts)
    assert compile_sell_template([*budget, longer], payer.pubkey()) is None
    assert compile_sell_template([*reversed(budget), sell], payer.pubkey()) is None
    cache = TemplateCache(payer, payer.pubkey())
    with pytest.raises(ValueError, match="cannot sign"):  # as build_transaction without it
        cache.sign("key", lambda: [*budget, cosigned], Hash.default(), 1, 1, 1, 1)
    with pytest.raises(ValueError, match="at least one"):
        compile_sell_template([], payer.pubkey())


def test_a_body_that_is_not_a_v0_message_has_no_layout() -> None:
    # a legacy message starts with its header (first byte < 0x80): never patched, the SELL
    # is then signed the generic way instead of raising on the way out of a position
    payer = Keypair()
    ix = Instruction(Pubkey.new_unique(), bytes(24), [AccountMeta(payer.pubkey(), True, True)])
    v0 = to_bytes_versioned(MessageV0.try_compile(payer.pubkey(), [ix], [], Hash.default()))
    assert message_layout(v0) is not None
    assert message_layout(v0[1:]) is None  # the same message without its version prefix
    assert message_layout(b"") is None
