"""Graduating a coin on the simulator: a whale buys the curve out, then pump's migration
service sends ``migrate`` (which creates the canonical PumpSwap pool), or ``migrate_v2``
for a coin quoted in USDC (its pool is quoted in USDC)."""

from __future__ import annotations

import random

import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.scenario.harness import SOL, Harness
from trio_trader.chain.transactions import build_transaction
from trio_trader.pump import addresses, instructions
from trio_trader.pump.addresses import USDC_MINT
from trio_trader.pump.amm import Pool, amm_sell
from trio_trader.pump.amm.addresses import canonical_pool_pda
from trio_trader.pump.curve import FeeRates, Reserves, max_sol_cost, quote_buy
from trio_trader.sim._genesis import genesis_global
from trio_trader.sim._market_pool import POOL_COMPUTE_UNITS, PoolView, pool_buy_ixs, pool_sell_ixs
from trio_trader.sim.clients import (
    migrate_instruction,
    migrate_v2_instruction,
    unwrap_sol,
    wrap_sol,
)

T2022 = addresses.TOKEN_2022_PROGRAM_ID


async def complete_curve(h: Harness, mint: Pubkey, token_program: Pubkey = T2022) -> Keypair:
    """A whale buys every token left on the curve: it completes (not migrated yet).
    Returns the whale (who holds those tokens)."""
    whale = Keypair()
    h.sim.node.airdrop(whale.pubkey(), 200 * SOL)
    curve = h.sim.ledger.bonding_curve(mint)
    assert curve is not None
    quote = quote_buy(curve.real_token_reserves, Reserves.of(curve), FeeRates(95, 30))
    ixs = [
        instructions.set_compute_unit_limit(400_000),
        instructions.create_associated_token_account_idempotent(
            payer=whale.pubkey(), owner=whale.pubkey(), mint=mint, token_program=token_program
        ),
        instructions.buy(
            user=whale.pubkey(), mint=mint, creator=h.creator.pubkey(),
            token_program=token_program, fee_recipient=addresses.FEE_RECIPIENTS[0],
            amount=quote.amount, max_sol_cost=max_sol_cost(quote.total, 2_000),
        ),
    ]  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    await h.rpc.send_transaction(build_transaction(ixs, whale, blockhash).raw)
    with trio.fail_after(10):
        while not (c := h.sim.ledger.bonding_curve(mint)) or not c.complete:
            await trio.sleep(0.02)
    return whale


async def pool_dump(h: Harness, whale: Keypair, mint: Pubkey, share_of_pool: float) -> None:
    """The whale sells ``share_of_pool`` × the pool's base balance on the pool (WSOL
    wrapped and unwrapped as the SDK does): the pool's price falls."""
    address = canonical_pool_pda(mint)
    account = h.sim.ledger.get_account(address)
    assert account is not None
    pool = Pool.decode(bytes(account.data))
    base = h.sim.ledger.token_balance(address, mint)
    user = whale.pubkey()
    ixs = [
        *wrap_sol(user, 0),
        amm_sell(
            pool_address=address, pool=pool, user=user, base_token_program=T2022,
            quote_token_program=addresses.TOKEN_PROGRAM_ID,
            protocol_fee_recipient=addresses.FEE_RECIPIENTS[0],
            base_amount_in=int(base * share_of_pool), min_quote_amount_out=0,
        ),
        unwrap_sol(user),
    ]  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    await h.rpc.send_transaction(build_transaction(ixs, whale, blockhash).raw)


async def migrate(h: Harness, mint: Pubkey, token_program: Pubkey = T2022) -> None:
    """pump's migration service: ``migrate`` creates the canonical pool from the curve."""
    ix = migrate_instruction(
        user=h.creator.pubkey(), mint=mint, base_token_program=token_program,
        withdraw_authority=genesis_global().withdraw_authority or Pubkey.default(),
    )  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    ixs = [instructions.set_compute_unit_limit(1_000_000), ix]
    await h.rpc.send_transaction(build_transaction(ixs, h.creator, blockhash).raw)
    with trio.fail_after(10):
        while h.sim.ledger.get_account(canonical_pool_pda(mint)) is None:
            await trio.sleep(0.02)


async def pool_trade(
    h: Harness, trader: Keypair, mint: Pubkey, *, buy_lamports: int = 0, sell_amount: int = 0
) -> None:
    """``trader`` buys for ``buy_lamports`` (fees included) or sells ``sell_amount`` on the
    coin's pool the way the simulator's market traders do (wrap, swap, unwrap), and waits
    until it landed."""
    view = PoolView.read(h.sim.ledger, mint)
    assert view is not None, "no pool yet"
    user, rng, ledger = trader.pubkey(), random.Random(0), h.sim.ledger
    if buy_lamports:
        built = pool_buy_ixs(view, user=user, token_program=T2022, budget=buy_lamports,
                             slippage_bps=500, rng=rng, ledger=ledger)  # fmt: skip
        assert built is not None
        ixs = built[0]
    else:
        ixs = pool_sell_ixs(view, user=user, token_program=T2022, amount=sell_amount,
                            slippage_bps=500, rng=rng, ledger=ledger)  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    ixs = [instructions.set_compute_unit_limit(POOL_COMPUTE_UNITS), *ixs]
    signature = await h.rpc.send_transaction(build_transaction(ixs, trader, blockhash).raw)
    with trio.fail_after(10):
        while (status := h.sim.node.signature_status(signature)) is None:
            await trio.sleep(0.02)
    assert status.err is None, status.err


async def complete_usdc_curve(h: Harness, mint: Pubkey) -> None:
    """The creator buys every token left on a USDC curve (``buy_v2``, paid in USDC)."""
    curve = h.sim.ledger.bonding_curve(mint)
    assert curve is not None
    quote = quote_buy(curve.real_token_reserves, Reserves.of(curve), FeeRates(95, 30))
    await h.creator_buy_v2(mint, 0, amount=quote.amount, limit=max_sol_cost(quote.total, 2_000))
    with trio.fail_after(10):
        while not (c := h.sim.ledger.bonding_curve(mint)) or not c.complete:
            await trio.sleep(0.02)


async def migrate_usdc(h: Harness, mint: Pubkey, token_program: Pubkey = T2022) -> None:
    """pump's migration service: ``migrate_v2`` creates the coin's USDC pool."""
    ix = migrate_v2_instruction(
        user=h.creator.pubkey(), mint=mint, quote_mint=USDC_MINT, base_token_program=token_program,
        withdraw_authority=genesis_global().withdraw_authority or Pubkey.default(),
    )  # fmt: skip
    blockhash, _ = await h.rpc.get_latest_blockhash()
    signed = build_transaction([instructions.set_compute_unit_limit(1_000_000), ix], h.creator,
                               blockhash)  # fmt: skip
    await h.rpc.send_transaction(signed.raw)
    with trio.fail_after(10):
        while (landed := h.sim.node.transaction(signed.signature)) is None:
            await trio.sleep(0.02)
    assert landed.err is None, landed.logs
