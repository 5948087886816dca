"""A SELL signed from its compiled template is byte for byte the full compile's, and a
template is never used for another account structure (``chain/templates``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.chain.templates import MessageTemplate, TemplateCache, compile_template
from trio_trader.chain.transactions import SignedTransaction, build_transaction
from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as I

keys = st.binary(min_size=32, max_size=32).map(Pubkey)
hashes = st.binary(min_size=32, max_size=32).map(Hash)
payers = st.binary(min_size=32, max_size=32).map(Keypair.from_seed)
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
#: the data a SELL changes at exit: limit, price, amount, min output, blockhash
exits = st.tuples(u32, u64, u64, u64, hashes, st.none() | st.integers(0, 2**63))

Build = Callable[[int, int, int, int], list[Instruction]]


@st.composite
def sell_shapes(draw: st.DrawFn, payer: Pubkey) -> Build:
    """A curve SELL's instructions as ``ChainAccess.sign`` signs them, by its exit data."""
    mint, creator, fee, buyback = draw(keys), draw(keys), draw(keys), draw(keys)
    token_program = draw(st.sampled_from([A.TOKEN_PROGRAM_ID, A.TOKEN_2022_PROGRAM_ID]))
    v2, close, cashback = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    quote_mint = draw(st.none() | keys)
    return _builder(payer, mint, creator, fee, buyback, token_program, v2, close, cashback,
                    quote_mint)  # fmt: skip


def _builder(
    user: Pubkey, mint: Pubkey, creator: Pubkey, fee: Pubkey, buyback: Pubkey,
    token_program: Pubkey, v2: bool, close: bool, cashback: bool, quote_mint: Pubkey | None,
) -> Build:  # fmt: skip
    common = dict(user=user, mint=mint, creator=creator, token_program=token_program,
                  fee_recipient=fee, buyback_fee_recipient=buyback)  # fmt: skip

    def build(limit: int, price: int, amount: int, min_out: int) -> list[Instruction]:
        sell = (
            I.sell_v2(**common, quote_mint=quote_mint, amount=amount, min_sol_output=min_out)
            if v2
            else I.sell(**common, cashback=cashback, amount=amount, min_sol_output=min_out)
        )
        ixs = [I.set_compute_unit_limit(limit), I.set_compute_unit_price(price), sell]
        if close:
            ata = A.associated_token_address(user, mint, token_program)
            ixs.append(I.close_account(account=ata, destination=user, owner=user,
                                       token_program=token_program))  # fmt: skip
        return ixs

    return build


def _fresh_builder(payer: Pubkey, *, close: bool = True) -> Build:
    """A legacy SELL of a new coin (new mint, creator and recipients)."""
    mint, creator, fee, buyback = (Pubkey.new_unique() for _ in range(4))
    return _builder(payer, mint, creator, fee, buyback, A.TOKEN_PROGRAM_ID, False, close,
                    False, None)  # fmt: skip


def assert_same(got: SignedTransaction, want: SignedTransaction) -> None:
    assert got.raw == want.raw
    assert got.signature == want.signature
    assert got.blockhash == want.blockhash
    assert got.last_valid_block_height == want.last_valid_block_height


def full(ixs: list[Instruction], payer: Keypair, exit_: tuple[object, ...]) -> SignedTransaction:
    blockhash, last_valid = exit_[4], exit_[5]
    assert isinstance(blockhash, Hash)
    assert last_valid is None or isinstance(last_valid, int)
    return build_transaction(ixs, payer, blockhash, last_valid_block_height=last_valid)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), payer=payers, attempts=st.lists(exits, min_size=1, max_size=4))
def test_a_prepared_sell_signs_the_full_compiles_bytes(
    data: st.DataObject, payer: Keypair, attempts: list[tuple[int, int, int, int, Hash, int | None]]
) -> None:
    build = data.draw(sell_shapes(payer.pubkey()))
    cache = TemplateCache(payer, payer.pubkey())
    cache.prepare(build(0, 0, 0, 0))  # off the exit's path: any data of the same lengths
    for n, (limit, price, amount, min_out, blockhash, last_valid) in enumerate(attempts, 1):
        ixs = build(limit, price, amount, min_out)
        got = cache.sign(ixs, blockhash, last_valid_block_height=last_valid)
        assert_same(got, full(ixs, payer, (limit, price, amount, min_out, blockhash, last_valid)))
        assert (cache.hits, cache.misses) == (n, 0)
    assert len(cache) == 1


@settings(max_examples=60, deadline=None)
@given(data=st.data(), payer=payers, first=exits, second=exits)
def test_an_unprepared_sell_is_compiled_in_full_then_kept_for_the_retry(
    data: st.DataObject, payer: Keypair, first: tuple[int, int, int, int, Hash, int | None],
    second: tuple[int, int, int, int, Hash, int | None],
) -> None:  # fmt: skip
    build = data.draw(sell_shapes(payer.pubkey()))
    cache = TemplateCache(payer, payer.pubkey())
    for exit_ in (first, second):
        ixs = build(*exit_[:4])
        got = cache.sign(ixs, exit_[4], last_valid_block_height=exit_[5])
        assert_same(got, full(ixs, payer, exit_))
    assert (cache.misses, cache.hits) == (1, 1)


#: one account of the prepared SELL changed under the position, as the exit sees it
CHANGES: dict[str, Callable[[dict[str, object]], None]] = {
    "creator changed (admin_cto)": lambda s: s.update(creator=Pubkey.new_unique()),
    "fee recipient rotated (next attempt)": lambda s: s.update(fee=Pubkey.new_unique()),
    "buyback recipient rotated": lambda s: s.update(buyback=Pubkey.new_unique()),
    "legacy to v2": lambda s: s.update(v2=not s["v2"]),
    "close dropped after a failed close": lambda s: s.update(close=False),
    "cashback coin": lambda s: s.update(cashback=not s["cashback"], v2=False),
    "token program": lambda s: s.update(token_program=A.TOKEN_2022_PROGRAM_ID),
}


@pytest.mark.parametrize("change", list(CHANGES))
@settings(max_examples=15, deadline=None)
@given(payer=payers, exit_=exits)
def test_a_sell_naming_other_accounts_is_compiled_in_full(
    change: str, payer: Keypair, exit_: tuple[int, int, int, int, Hash, int | None]
) -> None:
    shape: dict[str, object] = dict(
        user=payer.pubkey(), mint=Pubkey.new_unique(), creator=Pubkey.new_unique(),
        fee=Pubkey.new_unique(), buyback=Pubkey.new_unique(), token_program=A.TOKEN_PROGRAM_ID,
        v2=False, close=True, cashback=False, quote_mint=None,
    )  # fmt: skip
    cache = TemplateCache(payer, payer.pubkey())
    prepared = _builder(**shape)(0, 0, 0, 0)  # type: ignore[arg-type]
    cache.prepare(prepared)
    CHANGES[change](shape)
    ixs = _builder(**shape)(*exit_[:4])  # type: ignore[arg-type]
    assert [ix.accounts for ix in ixs] != [ix.accounts for ix in prepared]
    got = cache.sign(ixs, exit_[4], last_valid_block_height=exit_[5])
    assert_same(got, full(ixs, payer, exit_))
    assert (cache.hits, cache.misses) == (0, 1)
    assert len(cache) == 2


@st.composite
def any_instructions(draw: st.DrawFn, payer: Pubkey) -> list[tuple[Pubkey, list[AccountMeta], int]]:
    """Arbitrary one-signer shapes: data lengths that need a two-byte compact-u16 too."""
    pool = [payer, *draw(st.lists(keys, min_size=1, max_size=12, unique=True))]
    metas = st.builds(AccountMeta, st.sampled_from(pool[1:]), st.just(False), st.booleans())
    payer_meta = st.builds(AccountMeta, st.just(payer), st.booleans(), st.booleans())
    shape = st.tuples(st.sampled_from(pool[1:]), st.lists(metas | payer_meta, max_size=8),
                      st.integers(0, 300))  # fmt: skip
    return draw(st.lists(shape, min_size=1, max_size=4))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), payer=payers, blockhash=hashes)
def test_the_message_layout_is_read_right_for_any_shape(
    data: st.DataObject, payer: Keypair, blockhash: Hash
) -> None:
    shapes = data.draw(any_instructions(payer.pubkey()))
    datas = [data.draw(st.binary(min_size=n, max_size=n)) for _, _, n in shapes]
    ixs = [Instruction(p, d, m) for (p, m, _), d in zip(shapes, datas, strict=True)]
    zeros = [Instruction(p, bytes(n), m) for p, m, n in shapes]
    try:
        want = build_transaction(ixs, payer, blockhash)
    except ValueError:  # too large for a packet: the template refuses it too
        with pytest.raises(ValueError, match="limit"):
            compile_template(zeros, payer.pubkey())
        return
    template = compile_template(zeros, payer.pubkey())
    assert template is not None
    assert_same(template.sign(datas, payer, blockhash), want)


def test_a_template_refuses_data_of_another_length() -> None:
    payer = Keypair()
    build = _fresh_builder(payer.pubkey(), close=False)
    template = compile_template(build(1, 1, 1, 1), payer.pubkey())
    assert isinstance(template, MessageTemplate)
    datas = [ix.data for ix in build(1, 1, 1, 1)]
    with pytest.raises(ValueError, match="template's 24"):
        template.sign([*datas[:2], datas[2] + b"\x00"], payer, Hash.default())
    with pytest.raises(ValueError, match="4 instruction datas for 3"):
        template.sign([*datas, b""], payer, Hash.default())


def test_a_message_needing_another_signer_is_left_to_the_full_compile() -> None:
    payer, other = Keypair(), Keypair()
    ixs = [Instruction(A.SYSTEM_PROGRAM_ID, b"\x01", [AccountMeta(other.pubkey(), True, True)])]
    assert compile_template(ixs, payer.pubkey()) is None
    cache = TemplateCache(payer, payer.pubkey())
    with pytest.raises(ValueError, match="cannot sign"):  # as build_transaction without it
        cache.sign(ixs, Hash.default())


def test_the_templates_kept_are_bounded_least_recently_used_first() -> None:
    payer = Keypair()
    cache = TemplateCache(payer, payer.pubkey(), max_templates=3)
    builds = [_fresh_builder(payer.pubkey()) for _ in range(5)]
    for build in builds[:3]:
        cache.prepare(build(0, 0, 0, 0))
    cache.sign(builds[0](1, 1, 1, 1), Hash.default())  # used: now the most recent
    for build in builds[3:]:
        cache.prepare(build(0, 0, 0, 0))
    assert len(cache) == 3
    assert (cache.hits, cache.misses) == (1, 0)
    cache.sign(builds[0](2, 2, 2, 2), Hash.default())  # kept
    assert (cache.hits, cache.misses) == (2, 0)
    cache.sign(builds[1](2, 2, 2, 2), Hash.default())  # the least recently used: dropped
    assert (cache.hits, cache.misses) == (2, 1)
    assert len(cache) == 3
