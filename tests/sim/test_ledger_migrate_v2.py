"""pump's ``migrate_v2`` in the ledger: a completed curve quoted in USDC becomes its
canonical pool quoted in USDC, every USDC unit accounted for; the wrong migrate for a
curve's quote fails 6063, a second one 6081."""

from __future__ import annotations

from solders.keypair import Keypair

from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_amm import WITHDRAW_AUTHORITY, Graduated
from tests.sim.test_ledger_pump_v2 import USDC, UsdcCoin, run, token_amount, v2_ix
from trio_trader.pump import addresses as A
from trio_trader.pump.amm import addresses as AA
from trio_trader.pump.amm.accounts import Pool
from trio_trader.pump.amm.events import CreatePoolEvent
from trio_trader.sim._genesis import genesis_global
from trio_trader.sim._migration_event import CompletePumpAmmMigrationEvent
from trio_trader.sim.clients import migrate_instruction, migrate_v2_instruction
from trio_trader.sim.ledger import ExecutedTransaction

SPL = A.TOKEN_PROGRAM_ID


def completed_usdc_coin() -> tuple[UsdcCoin, Keypair]:
    """A USDC coin a whale bought out with ``buy_v2`` (complete, not migrated)."""
    coin = UsdcCoin()
    whale = funded(coin.ledger, 10 * SOL)
    coin.ledger.mint_quote_tokens(whale.pubkey(), 200_000 * 10**6)
    left = coin.curve.real_token_reserves
    done = run(coin, whale, v2_ix(coin, "buy", whale, left, 150_000 * 10**6, quote_mint=USDC))
    assert done.err is None, done.logs
    assert coin.curve.complete
    return coin, whale


def migrate_v2(coin: UsdcCoin, migrator: Keypair, *, v2: bool = True) -> ExecutedTransaction:
    common = {"user": migrator.pubkey(), "mint": coin.mint, "base_token_program": coin.tp,
              "withdraw_authority": WITHDRAW_AUTHORITY}  # fmt: skip
    ix = migrate_v2_instruction(quote_mint=USDC, **common) if v2 else migrate_instruction(**common)
    return coin.ledger.execute(make_tx([ix], migrator), slot=5, blocktime=1_700_000_500)


def test_migrate_v2_moves_a_usdc_curve_into_its_usdc_pool_to_the_unit() -> None:
    coin, _ = completed_usdc_coin()
    ledger, curve_key = coin.ledger, A.bonding_curve_pda(coin.mint)
    curve = coin.curve
    curve_quote = coin.quote_ata(curve_key)
    assert token_amount(ledger, curve_quote) == curve.real_sol_reserves  # USDC units
    base_held = token_amount(ledger, A.associated_bonding_curve(coin.mint, coin.tp))
    migrator = funded(ledger, SOL)

    result = migrate_v2(coin, migrator)

    assert result.err is None, result.logs
    fee = genesis_global().pool_migration_fee or 0
    address = AA.canonical_pool_pda(coin.mint, USDC)
    assert ledger.pool(coin.mint, USDC) is not None
    account = ledger.get_account(address)
    assert account is not None
    pool = Pool.decode(bytes(account.data))
    assert (pool.base_mint, pool.quote_mint, pool.index) == (coin.mint, USDC, 0)
    assert pool.creator == A.pool_authority_pda(coin.mint)
    assert token_amount(ledger, pool.pool_quote_token_account) == curve.real_sol_reserves - fee
    assert token_amount(ledger, pool.pool_base_token_account) == base_held
    authority_quote = coin.quote_ata(A.pool_authority_pda(coin.mint))
    assert token_amount(ledger, authority_quote) == fee  # inferred: the quote-side fee
    assert token_amount(ledger, curve_quote) == 0  # every USDC unit of the curve moved
    after = coin.curve
    assert after.complete
    assert (after.virtual_token_reserves, after.real_sol_reserves) == (0, 0)
    (created,) = [e for e in result.events if isinstance(e, CreatePoolEvent)]
    assert (created.quote_mint, created.quote_mint_decimals) == (USDC, 6)
    assert created.quote_amount_in == curve.real_sol_reserves - fee
    (done,) = [e for e in result.events if isinstance(e, CompletePumpAmmMigrationEvent)]
    assert (done.quote_mint, done.sol_amount, done.pool) == (USDC, created.quote_amount_in,
                                                           address)  # fmt: skip
    # a second migrate_v2 finds the curve migrated
    assert migrate_v2(coin, migrator).err == {"InstructionError": [0, {"Custom": 6081}]}


def test_each_migrate_refuses_the_other_quote_6063() -> None:
    coin, _ = completed_usdc_coin()
    migrator = funded(coin.ledger, SOL)
    legacy = migrate_v2(coin, migrator, v2=False)  # a USDC curve with the SOL migrate
    assert legacy.err == {"InstructionError": [0, {"Custom": 6063}]}
    sol = Graduated(v2=True)  # a completed SOL curve with migrate_v2 (its WSOL quote)
    ix = migrate_v2_instruction(
        user=sol.migrator.pubkey(), mint=sol.mint, quote_mint=A.WSOL_MINT,
        base_token_program=sol.coin.tp, withdraw_authority=WITHDRAW_AUTHORITY,
    )  # fmt: skip
    refused = sol.ledger.execute(make_tx([ix], sol.migrator), slot=5, blocktime=1_700_000_500)
    assert refused.err == {"InstructionError": [0, {"Custom": 6063}]}
    assert sol.migrate().err is None  # ``migrate`` still migrates it
