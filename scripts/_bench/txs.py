"""Signed pump transactions for the benchmarks, built exactly as the bot and the market do.

Everything here is deterministic (keypairs from labels), so two runs build the same bytes
and the figures do not depend on random account layouts.
"""

from __future__ import annotations

import hashlib

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.chain.transactions import build_transaction
from trio_trader.pump import addresses, instructions
from trio_trader.pump.curve import INITIAL_RESERVES, FeeRates, max_sol_cost, quote_buy_for_sol
from trio_trader.trading.token_info import TokenInfo

SOL = 1_000_000_000
TOKEN_PROGRAM = addresses.TOKEN_2022_PROGRAM_ID
FEE_RECIPIENT = addresses.FEE_RECIPIENTS[0]
#: generous rates for quoting a creator's first buy (the ledger's are lower)
QUOTE_RATES = FeeRates(95, 30)


def keypair(label: str, index: int = 0) -> Keypair:
    """A keypair derived from a label, stable across runs."""
    return Keypair.from_seed(hashlib.sha256(f"trio-trader-bench:{label}:{index}".encode()).digest())


def token_info(mint: Pubkey, creator: Pubkey) -> TokenInfo:
    """A detected ``create_v2`` token with the reserves its create event carried."""
    return TokenInfo(
        mint=mint, name="Bench", symbol="BNCH", uri="u",
        bonding_curve=addresses.bonding_curve_pda(mint),
        associated_bonding_curve=addresses.associated_bonding_curve(mint, TOKEN_PROGRAM),
        creator=creator, user=creator, token_program=TOKEN_PROGRAM,
        created_at=1_780_000_000, virtual_sol_reserves=31_000_000_000,
        virtual_token_reserves=1_038_000_000_000_000, real_token_reserves=758_000_000_000_000,
        signature="1" * 64,
    )  # fmt: skip


def create_instructions(
    creator: Pubkey, mint: Pubkey, creator_buy: int, name: str
) -> list[Instruction]:
    """``create_v2`` + the creator's ATA + its first buy, like a real launch."""
    quote = quote_buy_for_sol(creator_buy, INITIAL_RESERVES, QUOTE_RATES)
    return [
        instructions.set_compute_unit_limit(400_000),
        instructions.create_v2(
            mint=mint, user=creator, creator=creator, name=name, symbol="BNCH", uri="u"
        ),
        instructions.create_associated_token_account_idempotent(
            payer=creator, owner=creator, mint=mint, token_program=TOKEN_PROGRAM
        ),
        instructions.buy(
            user=creator, mint=mint, creator=creator, token_program=TOKEN_PROGRAM,
            fee_recipient=FEE_RECIPIENT, amount=quote.amount,
            max_sol_cost=max_sol_cost(quote.total, 500),
        ),
    ]  # fmt: skip


def create_tx(
    creator: Keypair, mint: Keypair, blockhash: Hash, creator_buy: int, name: str
) -> bytes:
    """A signed launch transaction."""
    ixs = create_instructions(creator.pubkey(), mint.pubkey(), creator_buy, name)
    return build_transaction(ixs, creator, blockhash, [mint]).raw


def buy_instructions(
    user: Pubkey,
    mint: Pubkey,
    creator: Pubkey,
    amount: int,
    max_cost: int,
    *,
    cu_price: int = 10_000,
) -> list[Instruction]:
    """The bot's BUY: compute budget, idempotent ATA, ``buy``."""
    return [
        instructions.set_compute_unit_limit(120_000),
        instructions.set_compute_unit_price(cu_price),
        instructions.create_associated_token_account_idempotent(
            payer=user, owner=user, mint=mint, token_program=TOKEN_PROGRAM
        ),
        instructions.buy(
            user=user, mint=mint, creator=creator, token_program=TOKEN_PROGRAM,
            fee_recipient=FEE_RECIPIENT, amount=amount, max_sol_cost=max_cost,
        ),
    ]  # fmt: skip


def sell_instructions(
    user: Pubkey, mint: Pubkey, creator: Pubkey, amount: int, *, cu_price: int = 10_000
) -> list[Instruction]:
    """The bot's SELL: compute budget and ``sell`` (min output 0: any price)."""
    return [
        instructions.set_compute_unit_limit(120_000),
        instructions.set_compute_unit_price(cu_price),
        instructions.sell(
            user=user, mint=mint, creator=creator, token_program=TOKEN_PROGRAM,
            fee_recipient=FEE_RECIPIENT, amount=amount, min_sol_output=0,
        ),
    ]  # fmt: skip


def buy_tx(user: Keypair, mint: Pubkey, creator: Pubkey, amount: int, blockhash: Hash) -> bytes:
    ixs = buy_instructions(user.pubkey(), mint, creator, amount, 100 * SOL)
    return build_transaction(ixs, user, blockhash).raw


def sell_tx(user: Keypair, mint: Pubkey, creator: Pubkey, amount: int, blockhash: Hash) -> bytes:
    ixs = sell_instructions(user.pubkey(), mint, creator, amount)
    return build_transaction(ixs, user, blockhash).raw
