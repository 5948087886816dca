"""The libsodium signer: solders' signatures byte for byte, the GIL kept, the secret hidden."""

from __future__ import annotations

import base64
import copy
import ctypes
import pickle
from typing import Any, cast

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.keypair import Keypair

from trio_trader.chain.signer import Signer, sodium_available
from trio_trader.chain.templates import TemplateCache
from trio_trader.chain.transactions import build_transaction, sign_message_bytes
from trio_trader.chain.wallet import Wallet
from trio_trader.pump import instructions as I
from trio_trader.trading.platform_aware import ChainAccess, MarketParams

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(min_size=0, max_size=1232)


def test_pynacls_libsodium_is_loaded() -> None:
    # a dependency (pyproject): without it every signature would cost solders' price
    assert sodium_available()
    assert Signer(Keypair()).uses_sodium


@settings(max_examples=300, deadline=None)
@given(seed=seeds, message=messages)
def test_signatures_are_solders_byte_for_byte(seed: bytes, message: bytes) -> None:
    keypair = Keypair.from_seed(seed)
    expected = keypair.sign_message(message)
    for signer in (Signer(keypair), Signer(keypair, sodium=False)):
        assert signer.sign_message(message) == expected
        assert signer.pubkey() == keypair.pubkey()


@settings(max_examples=50, deadline=None)
@given(seed=seeds, body=st.binary(min_size=100, max_size=1100), blockhash=seeds.map(Hash))
def test_signed_transactions_are_the_keypairs_bytes(
    seed: bytes, body: bytes, blockhash: Hash
) -> None:
    keypair = Keypair.from_seed(seed)
    fast = sign_message_bytes(Signer(keypair), body, blockhash, 7)
    assert fast == sign_message_bytes(keypair, body, blockhash, 7)


def test_the_generic_path_signs_with_the_signers_keypair() -> None:
    """A transaction with a second signer goes through solders' constructor."""
    payer, mint = Keypair(), Keypair()
    create = I.create(
        mint=mint.pubkey(), user=payer.pubkey(), creator=payer.pubkey(), name="n", symbol="s",
        uri="u",
    )  # fmt: skip
    blockhash = Hash.new_unique()
    with_signer = build_transaction([create], Signer(payer), blockhash, [mint])
    assert with_signer == build_transaction([create], payer, blockhash, [mint])
    one = I.set_compute_unit_limit(1)
    assert build_transaction([one], Signer(payer), blockhash) == build_transaction(
        [one], payer, blockhash
    )


def test_the_call_keeps_the_gil() -> None:
    """``ctypes.PyDLL``'s functions run with the GIL held (``CDLL``'s and cffi's drop it, and
    the store's writer thread could take it for up to 5 ms on the BUY's path)."""
    detached = Signer(Keypair())._detached
    assert detached is not None
    flags = cast(Any, detached)._flags_
    assert flags & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]


def _secret_forms(keypair: Keypair) -> list[str]:
    raw = bytes(keypair)
    forms = []
    for secret in (raw, raw[:32]):  # the keypair bytes and the seed alone
        forms += [base58.b58encode(secret).decode(), secret.hex(), secret.hex().upper()]
        forms += [base64.b64encode(secret).decode(), str(list(secret))[1:-1]]
    return forms


class _Blockhash:
    latest = (Hash.default(), 1)
    block_height = 0


class _Fee:
    micro_lamports = 0


def test_no_object_holding_the_secret_shows_it() -> None:
    keypair = Keypair()
    signer = Signer(keypair)
    chain = ChainAccess(
        rpc=cast(Any, None), payer=keypair, blockhash=_Blockhash(), priority_fee=_Fee(),
        confirmer=cast(Any, None), market=MarketParams(),
    )  # fmt: skip
    holders: list[object] = [
        signer, Signer(keypair, sodium=False), chain, chain.sell_templates,
        TemplateCache(signer, signer.pubkey()), Wallet(keypair),
    ]  # fmt: skip
    forms = _secret_forms(keypair) + _secret_forms(chain.stand_in)
    for holder in holders:
        for text in (repr(holder), str(holder), f"{holder!r:>5}"):
            leaked = [form for form in forms if form in text]
            assert not leaked, f"{type(holder).__name__} shows its secret"
    assert str(keypair.pubkey()) in repr(signer)


def test_a_signer_is_not_pickled_and_copies_are_itself() -> None:
    signer = Signer(Keypair())
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(signer)
    assert copy.copy(signer) is signer
    assert copy.deepcopy(signer) is signer
