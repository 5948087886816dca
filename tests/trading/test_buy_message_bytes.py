"""The BUY's message is written by ``compile_message`` from instruction specs: its bytes
must be exactly those ``build_transaction`` gives for the solders instructions, and
exactly those the bot sent before the specs existed (digests recorded from that code)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.chain.templates import compile_message
from trio_trader.chain.transactions import build_transaction, sign_message_bytes
from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as I
from trio_trader.pump.curve import INITIAL_RESERVES
from trio_trader.trading.orders import VENUE_CURVE, VENUE_CURVE_V2, BuyOrder
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareBuyer,
    _with_budget,
    salt_of,
)
from trio_trader.trading.token_info import TokenInfo

#: sha256 of the 16 BUYs of ``_golden_case``, signed by the builders and
#: ``build_transaction`` before this change (commit 7ad5d05)
GOLDEN = [
    "d02c96a7e8dbdb8e3ea9717ca99e713d65b6eb12cd705cb3bca7ddf4f9059ea3",
    "4faecbb2f35e0de12dbdb2e6d693f0d403521959b5032e32d1dd36b367066999",
    "c36075f3ffc581b233ece9f0fe2014e6e3d818ac21a8efd6c4523e307c10c68f",
    "43603c6e91f919fc25256e89db79717b74c337ad402ce7fc70d2aea5dd5ac89f",
    "11e9ea1b5eebaa74a3f73d5668f604aeedf03b44f3d2505157129bd39592dfe7",
    "39c48fb5e55c3354c80347430822256b7a602145bb0de097deef2a73dfa540aa",
    "0f5b1b6b86fd3b5e85d1a7896125e93c6cd987ffda1f02d4a8b03a841235cb7a",
    "0d10c689d406d6cc3af4d40bb6b9b8afeb8c66f6730f1576273e23bc92f023c4",
    "99ba05405ba3917098ed9c33c1ddde41a7890cef44e3c89e678f89b2d744a938",
    "2fc8d0ca483fb18dbe3f0869a7346287e0995aa36af92c35af732d6399060494",
    "8d8b48a1917ebe8a164ed1df792dec9011dbd04536148e21cddb6d85c8f67ae2",
    "802af035bf6e51ef21d459d453fff521bfb9a51388cc1338c486ea5d133d40f0",
    "9f6f8d75fac46059a8370aa3a45fec7f7684d7c105664d820759b617162f1f90",
    "6f1f12ef08c4767c299c5ff35df97324e569071592c0b380f2d2bd0c70e46328",
    "3622d3fb62787f5b45cf4dfe5fe1741b5464a46ab2f07144b52234047024524a",
    "cc356fdaa6f8c098f9979f63b53e8984ef2a6fd89e95e62290a39fa889a46ae7",
]


def _key(label: str, i: int) -> Pubkey:
    return Pubkey(hashlib.sha256(f"{label}{i}".encode()).digest())


def _golden_case(i: int, wallet: Pubkey) -> tuple[dict[str, Any], bool, Pubkey | None, Hash]:
    v2, token_2022 = bool(i & 1), bool(i & 2)
    quote = (None, A.USDC_MINT)[i >> 3 & 1] if v2 else None
    program = A.TOKEN_2022_PROGRAM_ID if token_2022 else A.TOKEN_PROGRAM_ID
    common = dict(user=wallet, mint=_key("mint", i), creator=_key("creator", i),
                  token_program=program, fee_recipient=A.FEE_RECIPIENTS[i % 8],
                  buyback_fee_recipient=A.BUYBACK_FEE_RECIPIENTS[(i * 3) % 8],
                  amount=10**6 * (i + 1) + 17, max_sol_cost=10**8 * (i + 1) + 3)  # fmt: skip
    return common, v2, quote, Hash(hashlib.sha256(f"bh{i}".encode()).digest())


def test_every_buy_is_byte_for_byte_what_it_was() -> None:
    payer = Keypair.from_seed(bytes([7]) * 32)
    wallet = payer.pubkey()
    for i, digest in enumerate(GOLDEN):
        common, v2, quote, blockhash = _golden_case(i, wallet)
        limit, price = 100_000 + i, 10 ** (i % 7)
        ata_args = dict(payer=wallet, owner=wallet, mint=common["mint"],
                        token_program=common["token_program"])  # fmt: skip
        buy_spec = I.buy_v2_spec(quote_mint=quote, **common) if v2 else I.buy_spec(**common)
        ata_spec = I.create_associated_token_account_idempotent_spec(**ata_args)
        specs = [I.set_compute_unit_limit_spec(limit), I.set_compute_unit_price_spec(price),
                 ata_spec, buy_spec]  # fmt: skip
        body = compile_message(wallet, specs, blockhash)
        raw = sign_message_bytes(payer, body, blockhash).raw
        assert hashlib.sha256(raw).hexdigest() == digest, i
        buy = I.buy_v2(quote_mint=quote, **common) if v2 else I.buy(**common)
        ixs = _with_budget(
            limit, price, [I.create_associated_token_account_idempotent(**ata_args), buy]
        )
        assert build_transaction(ixs, payer, blockhash).raw == raw


class _Blockhash:
    def __init__(self, blockhash: Hash) -> None:
        self.latest = (blockhash, 5_000)
        self.block_height = 4_000


class _Fee:
    micro_lamports = 0


keys = st.binary(min_size=32, max_size=32).map(Pubkey)
u64 = st.integers(0, 2**64 - 1)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.binary(min_size=32, max_size=32), mint=keys, creator=keys,
    blockhash=st.binary(min_size=32, max_size=32).map(Hash), amount=u64, max_cost=u64,
    limit=st.integers(0, 2**32 - 1), price=u64, v2=st.booleans(),
    program=st.sampled_from([A.TOKEN_PROGRAM_ID, A.TOKEN_2022_PROGRAM_ID]),
    quote=st.sampled_from([None, A.ZERO_KEY, A.WSOL_MINT, A.USDC_MINT]),
    mayhem=st.booleans(), holder=st.booleans(), attempt=st.integers(1, 9),
)  # fmt: skip
def test_the_buyers_buy_is_build_transactions_bytes(
    seed: bytes, mint: Pubkey, creator: Pubkey, blockhash: Hash, amount: int, max_cost: int,
    limit: int, price: int, v2: bool, program: Pubkey, quote: Pubkey | None, mayhem: bool,
    holder: bool, attempt: int,
) -> None:  # fmt: skip
    payer = Keypair.from_seed(seed)
    chain = ChainAccess(
        rpc=cast(Any, None), payer=payer, blockhash=_Blockhash(blockhash), priority_fee=_Fee(),
        confirmer=cast(Any, None), market=MarketParams(), instructions="v2" if v2 else "legacy",
    )  # fmt: skip
    info = TokenInfo(
        mint=mint, name="T", symbol="T", uri="u", bonding_curve=A.bonding_curve_pda(mint),
        associated_bonding_curve=A.associated_bonding_curve(mint, program), creator=creator,
        user=creator, token_program=program, is_mayhem_mode=mayhem, is_holder_reward=holder,
        virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
        virtual_token_reserves=INITIAL_RESERVES.virtual_token, quote_mint=quote,
    )  # fmt: skip
    order = BuyOrder(
        token_info=info, token_amount=amount, max_sol_cost=max_cost, sol_cost=0,
        slippage_bps=0, priority_fee=price, compute_unit_limit=limit, attempt=attempt,
        venue=VENUE_CURVE_V2 if chain.uses_v2(info) else VENUE_CURVE,
    )  # fmt: skip
    buyer = PlatformAwareBuyer(chain=chain, amount_lamports=1, slippage_bps=0)
    signed = chain.sign_buy(order, buyer._instructions(order, info.vault_creator))

    wallet, market, salt = payer.pubkey(), chain.market, salt_of(mint, attempt)
    common = dict(user=wallet, mint=mint, creator=info.vault_creator, token_program=program,
                  fee_recipient=market.fee_recipient(info, salt),
                  buyback_fee_recipient=market.buyback_recipient(salt), amount=amount,
                  max_sol_cost=max_cost)  # fmt: skip
    buy = I.buy_v2(quote_mint=quote, **common) if order.venue == VENUE_CURVE_V2 else I.buy(**common)
    ata = I.create_associated_token_account_idempotent(
        payer=wallet, owner=wallet, mint=mint, token_program=program
    )
    expected = build_transaction(_with_budget(limit, price, [ata, buy]), payer, blockhash)
    assert signed.raw == expected.raw
    assert signed.signature == expected.signature
    assert order.raw_transaction == base64.b64encode(expected.raw).decode()
    assert order.blockhash == str(blockhash)
    assert order.last_valid_block_height == 5_000
