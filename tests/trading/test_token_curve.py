"""The token's curve comes from its CreateEvent, checked by hashes; the BUY and the SELLs
name the token's curve accounts instead of deriving them again (one PDA less on the way
to the BUY, none for the curve on the way to a SELL)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.conftest import SAMPLES
from tests.trading.venue_fakes import token
from trio_trader.listeners.decode import decode_transaction
from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as I
from trio_trader.pump.curve import INITIAL_RESERVES
from trio_trader.pump.events import CreateEvent, decode_event, encode_event
from trio_trader.trading.orders import VENUE_CURVE, VENUE_CURVE_V2, BuyOrder
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareBuyer,
    PlatformAwareSeller,
)
from trio_trader.trading.token_info import TokenInfo

keys = st.binary(min_size=32, max_size=32).map(Pubkey)
PUMP = str(A.PUMP_PROGRAM_ID)


def _program_data(value: Any) -> Iterator[str]:
    """Every ``Program data:`` payload in a sample (JSON values or log text)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _program_data(item)
    elif isinstance(value, list):
        for item in value:
            yield from _program_data(item)
    elif isinstance(value, str):
        for text in value.splitlines():
            if "Program data: " in text:
                yield text.split("Program data: ", 1)[1].strip()


def test_every_create_event_in_the_samples_names_its_mints_curve() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("mainnet samples not available (../shared/pumpfun/samples)")
    creates = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix not in (".json", ".log"):
            continue
        text = path.read_text()
        value = json.loads(text) if path.suffix == ".json" else text
        for payload in _program_data(value):
            data = base64.b64decode(payload)
            if data[:8] == CreateEvent.DISCRIMINATOR:
                event = decode_event(data)
                assert isinstance(event, CreateEvent)
                creates.append(event)
    assert creates, "no CreateEvent in the samples"
    for event in creates:
        assert event.bonding_curve == A.bonding_curve_pda(event.mint)
        assert A.is_bonding_curve_of(event.bonding_curve, event.mint)
        info = TokenInfo.from_create_event(event)
        program = event.token_program or A.TOKEN_PROGRAM_ID
        assert info.curve == (
            A.bonding_curve_pda(event.mint),
            A.associated_bonding_curve(event.mint, program),
        )


@settings(max_examples=200, deadline=None)
@given(mint=keys, other=keys)
def test_only_the_mints_own_curve_passes_the_hash_check(mint: Pubkey, other: Pubkey) -> None:
    assert A.is_bonding_curve_of(A.bonding_curve_pda(mint), mint)
    for wrong in (
        A.bonding_curve_v2_pda(mint),  # another seed
        A.creator_vault_pda(mint),  # another seed
        mint,
        other,
        A.associated_bonding_curve(mint, A.TOKEN_PROGRAM_ID),
    ):
        assert not A.is_bonding_curve_of(wrong, mint)
    if other != mint:
        assert not A.is_bonding_curve_of(A.bonding_curve_pda(other), mint)


def _create(mint: Pubkey, curve: Pubkey, program: Pubkey | None = None) -> CreateEvent:
    return CreateEvent(
        "a", "b", "c", mint, curve, Pubkey.new_unique(), token_program=program,
        virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
        virtual_token_reserves=INITIAL_RESERVES.virtual_token,
        real_token_reserves=INITIAL_RESERVES.real_token,
    )  # fmt: skip


def test_the_decode_derives_one_pda_the_curves_token_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mint = Pubkey.new_unique()
    curve = A.bonding_curve_pda(mint)
    seen: list[tuple[Pubkey, tuple[bytes, ...]]] = []
    real = A._pda

    def recorded(program: Pubkey, *seeds: bytes) -> Pubkey:
        seen.append((program, seeds))
        return real(program, *seeds)

    monkeypatch.setattr(A, "_pda", recorded)
    info = TokenInfo.from_create_event(_create(mint, curve, A.TOKEN_2022_PROGRAM_ID))
    ata_seeds = (bytes(curve), bytes(A.TOKEN_2022_PROGRAM_ID), bytes(mint))
    assert seen == [(A.ASSOCIATED_TOKEN_PROGRAM_ID, ata_seeds)]
    assert info.curve == (curve, A.associated_bonding_curve(mint, A.TOKEN_2022_PROGRAM_ID))


def test_an_event_naming_another_curve_is_skipped_and_the_others_decode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, bad = Pubkey.new_unique(), Pubkey.new_unique()
    wrong = A.bonding_curve_pda(good)  # a real curve, of another mint
    with pytest.raises(ValueError, match="not the mint's"):
        TokenInfo.from_create_event(_create(bad, wrong))

    def line(event: CreateEvent) -> str:
        return "Program data: " + base64.b64encode(encode_event(event)).decode()

    logs = [f"Program {PUMP} invoke [1]", line(_create(bad, wrong)),
            line(_create(good, wrong)), f"Program {PUMP} success"]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        tokens, _ = decode_transaction(logs, signature="sig", slot=1, seen_at=0.0)
    assert [t.token_info.mint for t in tokens] == [good]
    assert [r.getMessage() for r in caplog.records if "not the mint's" in r.getMessage()]


class _Blockhash:
    latest = (Hash.default(), 5_000)
    block_height = 4_000


class _Fee:
    micro_lamports = 0


@pytest.mark.parametrize("v2", [False, True])
def test_the_buy_and_the_sell_name_the_tokens_curve_and_derive_it_not(
    v2: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = A.TOKEN_2022_PROGRAM_ID
    info = token(token_program=program)
    chain = ChainAccess(
        rpc=cast(Any, None), payer=Keypair(), blockhash=_Blockhash(), priority_fee=_Fee(),
        confirmer=cast(Any, None), market=MarketParams(), instructions="v2" if v2 else "legacy",
    )  # fmt: skip
    order = BuyOrder(
        token_info=info, token_amount=10**6, max_sol_cost=10**8, sol_cost=0, slippage_bps=0,
        priority_fee=0, compute_unit_limit=100_000,
        venue=VENUE_CURVE_V2 if v2 else VENUE_CURVE,
    )  # fmt: skip
    seen: list[tuple[bytes, ...]] = []
    real = A._pda

    def recorded(program_id: Pubkey, *seeds: bytes) -> Pubkey:
        seen.append(seeds)
        return real(program_id, *seeds)

    monkeypatch.setattr(A, "_pda", recorded)
    buyer = PlatformAwareBuyer(chain=chain, amount_lamports=1, slippage_bps=0)
    _, (_, accounts, _) = buyer._instructions(order, info.creator)
    curve, curve_ata = info.curve
    at = (10, 11) if v2 else (3, 4)  # pump.json: bonding_curve, associated_bonding_curve
    assert (accounts[at[0]][0], accounts[at[1]][0]) == (curve, curve_ata)
    seller = PlatformAwareSeller(chain=chain, slippage_bps=0)
    shape = seller._curve_shape(info, 1, info.creator, v2, close=True)
    sell = shape.program_instructions(5, 1)[0]
    assert (sell.accounts[at[0]].pubkey, sell.accounts[at[1]].pubkey) == (curve, curve_ata)
    curve_seeds = (b"bonding-curve", bytes(info.mint))
    ata_seeds = (bytes(curve), bytes(program), bytes(info.mint))
    assert (b"creator-vault", bytes(info.creator)) in seen  # the recorder sees the path
    assert curve_seeds not in seen
    assert ata_seeds not in seen


def test_a_token_with_its_curve_builds_the_same_accounts_as_deriving() -> None:
    for program in (A.TOKEN_PROGRAM_ID, A.TOKEN_2022_PROGRAM_ID):
        info = token(token_program=program)
        user, fee = Pubkey.new_unique(), A.FEE_RECIPIENTS[1]
        for curve in (info.curve, None):
            specs = [
                I.buy_spec(user=user, mint=info.mint, creator=info.creator, token_program=program,
                           fee_recipient=fee, amount=7, max_sol_cost=9, curve=curve),
                I.buy_v2_spec(user=user, mint=info.mint, creator=info.creator,
                              token_program=program, fee_recipient=fee, amount=7,
                              max_sol_cost=9, curve=curve),
            ]  # fmt: skip
            sells = [
                I.sell(user=user, mint=info.mint, creator=info.creator, token_program=program,
                       fee_recipient=fee, amount=7, min_sol_output=9, curve=curve),
                I.sell_v2(user=user, mint=info.mint, creator=info.creator,
                          token_program=program, fee_recipient=fee, amount=7, min_sol_output=9,
                          curve=curve),
            ]  # fmt: skip
            if curve is not None:
                given_specs, given_sells = specs, sells
        assert given_specs == specs
        assert given_sells == sells
