"""The market's graduation actors: quotes and instructions for the migrator and for
traders on a PumpSwap pool, and for coins quoted in USDC (v2 instructions).

Kept out of :mod:`.market` so that module stays about actors and timing; everything here
is synchronous and reads the ledger as it is now.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as ixs
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees, Global
from trio_trader.pump.amm import quote as Q
from trio_trader.pump.amm.accounts import GlobalConfig, Pool
from trio_trader.pump.amm.addresses import AMM_FEE_CONFIG, GLOBAL_CONFIG
from trio_trader.pump.amm.instructions import amm_buy, amm_sell
from trio_trader.pump.curve import max_sol_cost, min_sol_output

from ._node_types import LedgerLike
from .clients import migrate_instruction, migrate_v2_instruction, unwrap_sol, wrap_sol

__all__ = ["PoolView", "curve_trade_ix", "migrate_ixs", "pool_buy_ixs", "pool_sell_ixs"]

MIGRATE_COMPUTE_UNITS = 400_000  # the emulated migrate uses ≈ 170k
POOL_COMPUTE_UNITS = 300_000  # PumpSwap trades with the WSOL wrap (SDK README: 250-300k)


@attrs.frozen
class PoolView:
    """A pool and what its next trade costs, read from the ledger."""

    key: Pubkey
    pool: Pool
    reserves: Q.PoolReserves
    fees: Fees

    @classmethod
    def read(cls, ledger: LedgerLike, mint: Pubkey) -> PoolView | None:
        found = ledger.pool(mint)
        if found is None:
            return None
        key, pool = found
        base = _amount(ledger, pool.pool_base_token_account)
        quote = _amount(ledger, pool.pool_quote_token_account)
        if base <= 0 or quote <= 0:
            return None
        reserves = Q.PoolReserves(base, quote, pool.virtual_quote_reserves or 0)
        config = GlobalConfig.decode(_data(ledger, GLOBAL_CONFIG))
        fee_config = FeeConfig.decode(_data(ledger, AMM_FEE_CONFIG))
        supply = int.from_bytes(_data(ledger, pool.base_mint)[36:44], "little")
        fees = Q.amm_fee_rates(pool, config, fee_config, reserves=reserves, base_mint_supply=supply)
        return cls(key, pool, reserves, fees)


def _data(ledger: LedgerLike, key: Pubkey) -> bytes:
    acct = ledger.get_account(key)
    if acct is None:
        raise ValueError(f"the ledger has no account {key}")
    return bytes(acct.data)


def _amount(ledger: LedgerLike, key: Pubkey) -> int:
    acct = ledger.get_account(key)
    return 0 if acct is None else int.from_bytes(bytes(acct.data)[64:72], "little")


def _swap_accounts(
    view: PoolView, user: Pubkey, token_program: Pubkey, ledger: LedgerLike, rng: random.Random
) -> dict[str, Any]:
    """The accounts a WSOL-quoted swap on ``view`` names, fee recipients drawn from ``rng``
    (protocol first, then buyback: the order of the market's draws)."""
    config = GlobalConfig.decode(_data(ledger, GLOBAL_CONFIG))
    protocol = rng.choice(config.protocol_fee_recipients)
    buyback = rng.choice(config.buyback_fee_recipients or A.BUYBACK_FEE_RECIPIENTS)
    return {
        "pool_address": view.key,
        "pool": view.pool,
        "user": user,
        "base_token_program": token_program,
        "quote_token_program": A.TOKEN_PROGRAM_ID,
        "protocol_fee_recipient": protocol,
        "buyback_fee_recipient": buyback,
    }


def migrate_ixs(
    migrator: Pubkey,
    mint: Pubkey,
    token_program: Pubkey,
    global_: Global,
    quote_mint: Pubkey = A.ZERO_KEY,
) -> list[Instruction]:
    """pump ``migrate`` of a completed SOL curve (``migrate_v2`` of one quoted in a token),
    sent by the market's migrator."""
    authority = global_.withdraw_authority or A.ZERO_KEY
    if quote_mint != A.ZERO_KEY:
        return [
            migrate_v2_instruction(
                user=migrator, mint=mint, quote_mint=quote_mint,
                base_token_program=token_program, withdraw_authority=authority,
            )
        ]  # fmt: skip
    return [
        migrate_instruction(
            user=migrator, mint=mint, base_token_program=token_program,
            withdraw_authority=authority,
        )
    ]  # fmt: skip


def pool_buy_ixs(
    view: PoolView,
    *,
    user: Pubkey,
    token_program: Pubkey,
    budget: int,
    slippage_bps: int,
    rng: random.Random,
    ledger: LedgerLike,
) -> tuple[list[Instruction], int] | None:
    """Wrap, buy what ``budget`` lamports pay for, unwrap; and the SOL wrapped."""
    base_out = Q.quote_amm_buy_exact_quote_in(budget, view.reserves, view.fees)
    if base_out <= 0 or base_out >= view.reserves.base:
        return None
    quote = Q.quote_amm_buy(base_out, view.reserves, view.fees)
    max_in = max_sol_cost(quote.total, slippage_bps)
    accounts = _swap_accounts(view, user, token_program, ledger, rng)
    buy = amm_buy(base_amount_out=base_out, max_quote_amount_in=max_in, **accounts)
    base_ata = ixs.create_associated_token_account_idempotent(
        payer=user, owner=user, mint=view.pool.base_mint, token_program=token_program
    )
    return [*wrap_sol(user, max_in), base_ata, buy, unwrap_sol(user)], max_in


def pool_sell_ixs(
    view: PoolView,
    *,
    user: Pubkey,
    token_program: Pubkey,
    amount: int,
    slippage_bps: int,
    rng: random.Random,
    ledger: LedgerLike,
) -> list[Instruction]:
    """Create the WSOL account, sell ``amount``, unwrap the proceeds.

    Raises:
        ValueError: the pool cannot pay this sell (the SDK's error).
    """
    quote = Q.quote_amm_sell(amount, view.reserves, view.fees)
    min_out = min_sol_output(quote.net, min(slippage_bps, 10_000))
    accounts = _swap_accounts(view, user, token_program, ledger, rng)
    sell = amm_sell(base_amount_in=amount, min_quote_amount_out=min_out, **accounts)
    return [*wrap_sol(user, 0), sell, unwrap_sol(user)]


def curve_trade_ix(
    curve: BondingCurve,
    *,
    v2: bool,
    is_buy: bool,
    user: Pubkey,
    mint: Pubkey,
    token_program: Pubkey,
    fee_recipient: Pubkey,
    buyback: Pubkey,
    amount: int,
    limit: int,
) -> Instruction:
    """A curve trade: ``buy`` (``limit`` = max cost) or ``sell`` (``limit`` = min output);
    with ``v2`` (a curve quoted in an SPL token, SPL Token program) ``buy_v2`` /
    ``sell_v2``."""
    common: dict[str, Any] = {
        "user": user,
        "mint": mint,
        "creator": curve.creator or A.ZERO_KEY,
        "token_program": token_program,
        "fee_recipient": fee_recipient,
        "amount": amount,
        "buyback_fee_recipient": buyback,
    }
    if v2:
        common |= {"quote_mint": curve.quote_mint, "quote_token_program": A.TOKEN_PROGRAM_ID}
        if is_buy:
            return ixs.buy_v2(max_sol_cost=limit, **common)
        return ixs.sell_v2(min_sol_output=limit, **common)
    if is_buy:
        return ixs.buy(max_sol_cost=limit, **common)
    return ixs.sell(min_sol_output=limit, **common)
