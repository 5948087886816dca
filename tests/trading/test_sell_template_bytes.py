"""A curve SELL signed from its template is byte for byte the full compile's
(``build_transaction``), and a template is never used for another account structure."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.chain.templates import TemplateCache
from trio_trader.chain.transactions import SignedTransaction, build_transaction
from trio_trader.pump import addresses as A
from trio_trader.trading.platform_aware import _with_budget
from trio_trader.trading.sell_shape import CurveSellShape

keys = st.binary(min_size=32, max_size=32).map(Pubkey)
hashes = st.binary(min_size=32, max_size=32).map(Hash)
payers = st.binary(min_size=32, max_size=32).map(Keypair.from_seed)
#: what changes at exit: limit, price, amount, min output, blockhash, last valid height
Exit = tuple[int, int, int, int, Hash, int | None]
exits = st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1),
                  st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), hashes,
                  st.none() | st.integers(0, 2**63))  # fmt: skip


def shapes(user: Pubkey) -> st.SearchStrategy[CurveSellShape]:
    return st.builds(
        CurveSellShape, user=st.just(user), mint=keys, creator=keys,
        token_program=st.sampled_from([A.TOKEN_PROGRAM_ID, A.TOKEN_2022_PROGRAM_ID]),
        fee_recipient=keys, buyback_fee_recipient=keys, v2=st.booleans(),
        cashback=st.booleans(), quote_mint=st.none() | keys, close=st.booleans(),
    )  # fmt: skip


def full_ixs(shape: CurveSellShape, exit_: Exit) -> Callable[[], list[Instruction]]:
    limit, price, amount, min_out = exit_[:4]
    return lambda: _with_budget(limit, price, shape.program_instructions(amount, min_out))


def signed(cache: TemplateCache, shape: CurveSellShape, exit_: Exit) -> SignedTransaction:
    limit, price, amount, min_out, blockhash, last_valid = exit_
    return cache.sign(shape, full_ixs(shape, exit_), blockhash, limit, price, amount, min_out,
                      last_valid)  # fmt: skip


def full_compile(payer: Keypair, shape: CurveSellShape, exit_: Exit) -> SignedTransaction:
    """The path before templates (``ChainAccess.sign``)."""
    return build_transaction(full_ixs(shape, exit_)(), payer, exit_[4],
                             last_valid_block_height=exit_[5])  # fmt: skip


def assert_same(got: SignedTransaction, want: SignedTransaction) -> None:
    assert got.raw == want.raw
    assert got.signature == want.signature
    assert got.blockhash == want.blockhash
    assert got.last_valid_block_height == want.last_valid_block_height


def prepared(payer: Keypair, shape: CurveSellShape, **kw: int) -> TemplateCache:
    cache = TemplateCache(payer, payer.pubkey(), **kw)
    cache.prepare(shape, _with_budget(0, 0, shape.program_instructions(0, 0)))
    return cache


@settings(max_examples=200, deadline=None)
@given(data=st.data(), payer=payers, attempts=st.lists(exits, min_size=1, max_size=4))
def test_a_prepared_sell_signs_the_full_compiles_bytes(
    data: st.DataObject, payer: Keypair, attempts: list[Exit]
) -> None:
    shape = data.draw(shapes(payer.pubkey()))
    cache = prepared(payer, shape)
    for n, exit_ in enumerate(attempts, 1):
        assert_same(signed(cache, shape, exit_), full_compile(payer, shape, exit_))
        assert (cache.hits, cache.misses) == (n, 0)
    assert len(cache) == 1


@settings(max_examples=60, deadline=None)
@given(data=st.data(), payer=payers, first=exits, second=exits)
def test_an_unprepared_sell_is_compiled_in_full_then_kept_for_the_retry(
    data: st.DataObject, payer: Keypair, first: Exit, second: Exit
) -> None:
    shape = data.draw(shapes(payer.pubkey()))
    cache = TemplateCache(payer, payer.pubkey())
    for exit_ in (first, second):
        assert_same(signed(cache, shape, exit_), full_compile(payer, shape, exit_))
    assert (cache.misses, cache.hits) == (1, 1)


#: one account of the prepared SELL changed under the position, as the exit sees it
CHANGES: dict[str, dict[str, object]] = {
    "creator changed (admin_cto)": {"creator": Pubkey.new_unique()},
    "fee recipient rotated (next attempt)": {"fee_recipient": Pubkey.new_unique()},
    "buyback recipient rotated": {"buyback_fee_recipient": Pubkey.new_unique()},
    "legacy to v2": {"v2": True},
    "close dropped after a failed close": {"close": False},
    "cashback coin": {"cashback": True},
    "token program": {"token_program": A.TOKEN_2022_PROGRAM_ID},
}


@pytest.mark.parametrize("change", list(CHANGES))
@settings(max_examples=10, deadline=None)
@given(payer=payers, exit_=exits)
def test_a_sell_naming_other_accounts_is_compiled_in_full(
    change: str, payer: Keypair, exit_: Exit
) -> None:
    before = CurveSellShape(
        user=payer.pubkey(), mint=Pubkey.new_unique(), creator=Pubkey.new_unique(),
        token_program=A.TOKEN_PROGRAM_ID, fee_recipient=Pubkey.new_unique(),
        buyback_fee_recipient=Pubkey.new_unique(), v2=False, cashback=False, quote_mint=None,
        close=True,
    )  # fmt: skip
    after = attrs.evolve(before, **CHANGES[change])
    accounts = [ix.accounts for ix in after.program_instructions(0, 0)]
    assert accounts != [ix.accounts for ix in before.program_instructions(0, 0)]
    cache = prepared(payer, before)
    assert_same(signed(cache, after, exit_), full_compile(payer, after, exit_))
    assert (cache.hits, cache.misses) == (0, 1)
    assert len(cache) == 2


def _shape(payer: Keypair) -> CurveSellShape:
    return CurveSellShape(
        user=payer.pubkey(), mint=Pubkey.new_unique(), creator=Pubkey.new_unique(),
        token_program=A.TOKEN_PROGRAM_ID, fee_recipient=Pubkey.new_unique(),
        buyback_fee_recipient=Pubkey.new_unique(), v2=False, cashback=False, quote_mint=None,
        close=True,
    )  # fmt: skip


def test_the_templates_kept_are_bounded_least_recently_used_first() -> None:
    payer = Keypair()
    cache = TemplateCache(payer, payer.pubkey(), max_templates=3)
    shapes_ = [_shape(payer) for _ in range(5)]
    exit_: Exit = (1, 1, 1, 1, Hash.default(), None)
    for shape in shapes_[:3]:
        cache.prepare(shape, full_ixs(shape, exit_)())
    signed(cache, shapes_[0], exit_)  # used: now the most recent
    for shape in shapes_[3:]:
        cache.prepare(shape, full_ixs(shape, exit_)())
    assert len(cache) == 3
    assert [s in cache for s in shapes_] == [True, False, False, True, True]
    assert_same(signed(cache, shapes_[1], exit_), full_compile(payer, shapes_[1], exit_))
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 3)
    assert shapes_[0] not in cache  # the least recently used made room


def test_values_out_of_their_fields_range_are_refused() -> None:
    payer = Keypair()
    shape = _shape(payer)
    cache = prepared(payer, shape)
    for exit_ in [(2**32, 1, 1, 1, Hash.default(), None), (1, 1, -1, 1, Hash.default(), None)]:
        with pytest.raises(ValueError, match="does not fit"):  # as the full compile
            full_compile(payer, shape, exit_)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="does not fit its field"):
            signed(cache, shape, exit_)  # type: ignore[arg-type]
