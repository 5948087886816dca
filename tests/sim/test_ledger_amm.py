"""Graduation and PumpSwap in the ledger: a curve completes, pump's ``migrate`` creates the
canonical pool from its reserves, and AMM buys and sells move tokens through the real SPL
programs, with the WSOL wrap/unwrap in the user's own instructions.

Every amount is checked to the unit against ``trio_trader.pump.amm`` (the SDK's math);
events are read back from the logs with ``parse_amm_logs`` as a client would.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.sim.conftest import rpc
from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_pump import Coin
from trio_trader.pump import addresses as A
from trio_trader.pump.accounts import Fees
from trio_trader.pump.amm import addresses as AA
from trio_trader.pump.amm import quote as Q
from trio_trader.pump.amm.accounts import Pool
from trio_trader.pump.amm.events import BuyEvent, CreatePoolEvent, SellEvent, parse_amm_logs
from trio_trader.pump.amm.instructions import amm_buy, amm_buy_exact_quote_in, amm_sell
from trio_trader.pump.amm.migration import pool_from_completed_curve
from trio_trader.sim import open_sim
from trio_trader.sim._amm_genesis import amm_fee_config, genesis_global_config
from trio_trader.sim._genesis import genesis_global
from trio_trader.sim._migration_event import CompletePumpAmmMigrationEvent
from trio_trader.sim.clients import migrate_instruction, unwrap_sol, wrap_sol, wsol_ata
from trio_trader.sim.ledger import ExecutedTransaction, Ledger

AMM = str(A.PUMP_AMM_PROGRAM_ID)
PROTOCOL_RECIPIENT = A.FEE_RECIPIENTS[2]
#: the mainnet AMM FeeConfig's first tier (2026-09-08): lp 2 / protocol 93 / creator 30
FIRST_TIER = Fees(lp_fee_bps=2, protocol_fee_bps=93, creator_fee_bps=30)
WITHDRAW_AUTHORITY = genesis_global().withdraw_authority


def token_amount(ledger: Ledger, account: Pubkey) -> int:
    acct = ledger.get_account(account)
    assert acct is not None, account
    return int.from_bytes(bytes(acct.data)[64:72], "little")


class Graduated:
    """A coin whose curve a whale bought out; ``migrate()`` creates its pool."""

    def __init__(self, *, v2: bool = False) -> None:
        self.coin = Coin(v2=v2)
        self.ledger = self.coin.ledger
        self.holder = funded(self.ledger, 10 * SOL)
        assert self.coin.buy(self.holder, 10_000 * 10**6, SOL).err is None
        self.whale = funded(self.ledger, 200 * SOL)
        left = self.coin.curve.real_token_reserves
        self.completed = self.coin.buy(self.whale, left, 120 * SOL)
        assert self.completed.err is None, self.completed.logs
        self.migrator = funded(self.ledger, SOL)

    @property
    def mint(self) -> Pubkey:
        return self.coin.mint

    def migrate_ix(self, **kw: Pubkey) -> Instruction:
        args = {"withdraw_authority": WITHDRAW_AUTHORITY, **kw}
        return migrate_instruction(
            user=self.migrator.pubkey(),
            mint=self.mint,
            base_token_program=self.coin.tp,
            **args,
        )

    def migrate(self) -> ExecutedTransaction:
        tx = make_tx([self.migrate_ix()], self.migrator)
        return self.ledger.execute(tx, slot=5, blocktime=1_700_000_500)

    @property
    def pool(self) -> tuple[Pubkey, Pool]:
        found = self.ledger.pool(self.mint)
        assert found is not None
        return found

    def reserves(self) -> Q.PoolReserves:
        _, pool = self.pool
        return Q.PoolReserves(
            token_amount(self.ledger, pool.pool_base_token_account),
            token_amount(self.ledger, pool.pool_quote_token_account),
        )

    def supply(self) -> int:
        acct = self.ledger.get_account(self.mint)
        assert acct is not None
        return int.from_bytes(bytes(acct.data)[36:44], "little")

    def sell_ix(self, user: Keypair, amount: int, min_out: int, **kw: object) -> Instruction:
        key, pool = self.pool
        args = {"protocol_fee_recipient": PROTOCOL_RECIPIENT, **kw}
        return amm_sell(
            pool_address=key,
            pool=pool,
            user=user.pubkey(),
            base_token_program=self.coin.tp,
            quote_token_program=A.TOKEN_PROGRAM_ID,
            base_amount_in=amount,
            min_quote_amount_out=min_out,
            **args,  # type: ignore[arg-type]
        )

    def _buy_accounts(self, user: Keypair) -> dict[str, object]:
        key, pool = self.pool
        return {
            "pool_address": key,
            "pool": pool,
            "user": user.pubkey(),
            "base_token_program": self.coin.tp,
            "quote_token_program": A.TOKEN_PROGRAM_ID,
            "protocol_fee_recipient": PROTOCOL_RECIPIENT,
        }

    def buy_ix(self, user: Keypair, amount: int, max_in: int) -> Instruction:
        accounts = self._buy_accounts(user)
        return amm_buy(**accounts, base_amount_out=amount, max_quote_amount_in=max_in)  # type: ignore[arg-type]

    def buy_exact_quote_in(self, user: Keypair, spend: int, min_out: int) -> ExecutedTransaction:
        """Wrap ``spend`` lamports, create the token account, buy with all of it, unwrap."""
        accounts = self._buy_accounts(user)
        ix = amm_buy_exact_quote_in(
            **accounts,  # type: ignore[arg-type]
            spendable_quote_in=spend,
            min_base_amount_out=min_out,
        )
        ixs = [*wrap_sol(user.pubkey(), spend), self.coin.ata_ix(user), ix]
        return self.ledger.execute(make_tx([*ixs, unwrap_sol(user.pubkey())], user))

    def sell(self, user: Keypair, amount: int, min_out: int) -> ExecutedTransaction:
        ixs = [*wrap_sol(user.pubkey(), 0), self.sell_ix(user, amount, min_out)]
        ixs.append(unwrap_sol(user.pubkey()))
        return self.ledger.execute(make_tx(ixs, user), slot=6, blocktime=1_700_000_600)

    def buy(self, user: Keypair, amount: int, max_in: int) -> ExecutedTransaction:
        ixs = [*wrap_sol(user.pubkey(), max_in), self.coin.ata_ix(user)]
        ixs += [self.buy_ix(user, amount, max_in), unwrap_sol(user.pubkey())]
        return self.ledger.execute(make_tx(ixs, user), slot=7, blocktime=1_700_000_700)


@pytest.fixture
def grad() -> Graduated:
    return Graduated()


def creator_vault_ata(coin: Coin) -> Pubkey:
    return AA.coin_creator_vault_ata(coin.creator.pubkey(), A.WSOL_MINT, A.TOKEN_PROGRAM_ID)


# -- graduation ------------------------------------------------------------------------


def test_the_last_tokens_complete_the_curve_and_legacy_trades_then_fail_6005(
    grad: Graduated,
) -> None:
    curve = grad.coin.curve
    assert curve.complete
    assert curve.real_token_reserves == 0
    assert grad.ledger.pool(grad.mint) is None  # not migrated yet
    result = grad.coin.sell(grad.holder, 10**6, 0)
    assert result.err == {"InstructionError": [0, {"Custom": 6005}]}
    assert any("Error Code: BondingCurveComplete. Error Number: 6005" in x for x in result.logs)


def test_migrate_creates_the_canonical_pool_from_the_curves_reserves(grad: Graduated) -> None:
    ledger, coin = grad.ledger, grad.coin
    curve = coin.curve
    curve_key = A.bonding_curve_pda(grad.mint)
    held = token_amount(ledger, A.associated_bonding_curve(grad.mint, coin.tp))
    expected = pool_from_completed_curve(
        mint=grad.mint,
        curve=curve,
        global_=genesis_global(),
        curve_token_balance=held,
        base_token_program=coin.tp,
    )
    total_before = sum(ledger.balance(k) for k in _all_keys(grad))
    curve_lamports = ledger.balance(curve_key)
    withdraw_before = ledger.balance(WITHDRAW_AUTHORITY)

    result = grad.migrate()

    assert result.err is None, result.logs
    key, pool = grad.pool
    assert key == expected.pool_address == AA.canonical_pool_pda(grad.mint)
    assert pool == expected.pool
    assert held == 206_900_000_000_000  # supply − initial real token reserves
    assert expected.quote_amount == curve.real_sol_reserves - 15_000_001
    # the pool's vaults hold exactly what the curve held, less the migration fee
    assert token_amount(ledger, pool.pool_base_token_account) == held
    assert token_amount(ledger, pool.pool_quote_token_account) == expected.quote_amount
    vault = ledger.get_account(pool.pool_quote_token_account)
    assert vault is not None
    assert vault.lamports == expected.quote_amount + ledger.rent_exempt_minimum(165)
    # the curve keeps only its rent; the fee paid the new accounts, the rest went to the
    # withdraw authority; no lamport appeared or vanished (the migrator paid the tx fee)
    assert ledger.balance(curve_key) == curve_lamports - curve.real_sol_reserves
    assert coin.curve == expected.curve_after
    rents = sum(
        ledger.balance(k)
        for k in (
            key,
            pool.lp_mint,
            pool.pool_base_token_account,
            creator_vault_ata(coin),
        )
    ) + ledger.rent_exempt_minimum(165)
    assert ledger.balance(WITHDRAW_AUTHORITY) - withdraw_before == 15_000_001 - rents
    assert sum(ledger.balance(k) for k in _all_keys(grad)) == total_before
    assert ledger.balance(A.pool_authority_pda(grad.mint)) == 0
    # logs: the AMM frame with its CreatePoolEvent, then pump's migration event
    assert f"Program {AMM} invoke [2]" in result.logs
    assert "Program log: Instruction: CreatePool" in result.logs
    (created,) = parse_amm_logs(result.logs)
    assert isinstance(created, CreatePoolEvent)
    assert created.pool == key
    assert created.base_amount_in == held
    assert created.quote_amount_in == expected.quote_amount
    assert created.coin_creator == coin.creator.pubkey()
    migrated = [e for e in result.events if isinstance(e, CompletePumpAmmMigrationEvent)]
    assert migrated == [
        CompletePumpAmmMigrationEvent(
            user=grad.migrator.pubkey(),
            mint=grad.mint,
            mint_amount=held,
            sol_amount=expected.quote_amount,
            pool_migration_fee=15_000_001,
            bonding_curve=curve_key,
            timestamp=1_700_000_500,
            pool=key,
            quote_mint=A.WSOL_MINT,
        )
    ]
    data_lines = [x for x in result.logs if x.startswith("Program data: ")]
    assert data_lines[-1] == "Program data: " + base64.b64encode(migrated[0].encode()).decode()


def _all_keys(grad: Graduated) -> list[Pubkey]:
    keys = [m.pubkey for m in grad.migrate_ix().accounts]
    return [*dict.fromkeys([*keys, creator_vault_ata(grad.coin), grad.ledger.fee_collector])]


def test_legacy_trades_and_a_second_migrate_on_a_migrated_curve_fail_6081(
    grad: Graduated,
) -> None:
    assert grad.migrate().err is None
    sell = grad.coin.sell(grad.holder, 10**6, 0)
    assert sell.err == {"InstructionError": [0, {"Custom": 6081}]}
    assert any("BondingCurveAlreadyMigrated. Error Number: 6081" in x for x in sell.logs)
    buy = grad.coin.buy(grad.holder, 10**6, SOL)
    assert buy.err == {"InstructionError": [1, {"Custom": 6081}]}
    again = grad.migrate()
    assert again.err == {"InstructionError": [0, {"Custom": 6081}]}


def test_migrate_refuses_an_active_curve_and_a_foreign_withdraw_authority() -> None:
    coin = Coin()
    migrator = funded(coin.ledger)
    ix = migrate_instruction(
        user=migrator.pubkey(),
        mint=coin.mint,
        base_token_program=coin.tp,
        withdraw_authority=WITHDRAW_AUTHORITY,
    )
    result = coin.ledger.execute(make_tx([ix], migrator))
    assert result.err == {"InstructionError": [0, {"Custom": 6006}]}
    ix = migrate_instruction(
        user=migrator.pubkey(),
        mint=coin.mint,
        base_token_program=coin.tp,
        withdraw_authority=migrator.pubkey(),
    )
    result = coin.ledger.execute(make_tx([ix], migrator))
    assert result.err == {"InstructionError": [0, {"Custom": 2001}]}


def test_a_token_2022_coin_migrates_into_token_2022_vaults() -> None:
    grad = Graduated(v2=True)
    assert grad.migrate().err is None
    _, pool = grad.pool
    vault = grad.ledger.get_account(pool.pool_base_token_account)
    assert vault is not None
    assert vault.owner == A.TOKEN_2022_PROGRAM_ID
    assert token_amount(grad.ledger, pool.pool_base_token_account) == 206_900_000_000_000


# -- PumpSwap sell / buy ---------------------------------------------------------------


@pytest.fixture
def pool(grad: Graduated) -> Graduated:
    assert grad.migrate().err is None
    return grad


def test_amm_sell_pays_the_holder_in_sol_with_mainnets_fees(pool: Graduated) -> None:
    ledger, user = pool.ledger, pool.holder
    held = token_amount(ledger, pool.coin.ata(user.pubkey()))
    amount = held // 2
    before = pool.reserves()
    fees = Q.amm_fee_rates(
        pool.pool[1],
        genesis_global_config(),
        amm_fee_config(),
        reserves=before,
        base_mint_supply=pool.supply(),
    )
    assert fees == FIRST_TIER  # a fresh pool is worth ≈ 411 SOL: below the 420 SOL tier
    quote = Q.quote_amm_sell(amount, before, fees)
    sol_before = ledger.balance(user.pubkey())
    fee_ata = AA.quote_ata(PROTOCOL_RECIPIENT, A.WSOL_MINT, A.TOKEN_PROGRAM_ID)
    fee_before = token_amount(ledger, fee_ata)
    vault_before = token_amount(ledger, creator_vault_ata(pool.coin))

    result = pool.sell(user, amount, quote.net)

    assert result.err is None, result.logs
    # the WSOL account was created, credited and closed in the same transaction: the
    # holder's SOL grows by exactly the net proceeds, less the transaction fee
    assert ledger.balance(user.pubkey()) == sol_before + quote.net - result.fee
    assert ledger.get_account(wsol_ata(user.pubkey())) is None
    assert token_amount(ledger, pool.coin.ata(user.pubkey())) == held - amount
    assert pool.reserves() == Q.apply_amm_sell(before, quote)
    assert token_amount(ledger, fee_ata) == fee_before + quote.protocol_fee
    assert token_amount(ledger, creator_vault_ata(pool.coin)) == vault_before + quote.creator_fee
    (event,) = parse_amm_logs(result.logs)
    assert isinstance(event, SellEvent)
    assert (event.base_amount_in, event.quote_amount_out, event.user_quote_amount_out) == (
        amount,
        quote.quote_out,
        quote.net,
    )
    assert (event.lp_fee, event.protocol_fee, event.coin_creator_fee) == (
        quote.lp_fee,
        quote.protocol_fee,
        quote.creator_fee,
    )
    assert (event.pool_base_token_reserves, event.pool_quote_token_reserves) == (
        before.base,
        before.quote,
    )
    assert event.user_base_token_reserves == held
    assert event.user_quote_token_reserves == 0
    assert event.protocol_fee_recipient == PROTOCOL_RECIPIENT
    assert event.coin_creator == pool.coin.creator.pubkey()
    assert event.base_supply == pool.supply()
    assert event.buyback_fee == 0
    assert "Program log: Instruction: Sell" in result.logs
    assert "Program log: Instruction: GetFeesWithQuoteMint" in result.logs


def test_amm_buy_takes_wrapped_sol_and_returns_the_rest(pool: Graduated) -> None:
    ledger = pool.ledger
    user = funded(ledger, 5 * SOL)
    before = pool.reserves()
    quote = Q.quote_amm_buy(10**12, before, FIRST_TIER)
    max_in = quote.total + 10**7

    result = pool.buy(user, 10**12, max_in)

    assert result.err is None, result.logs
    uva_rent = ledger.rent_exempt_minimum(8 + 32 + 1 + 32 + 1 + 16)
    ata_rent = ledger.rent_exempt_minimum(170 if pool.coin.tp == A.TOKEN_2022_PROGRAM_ID else 165)
    assert ledger.balance(user.pubkey()) == 5 * SOL - quote.total - result.fee - uva_rent - ata_rent
    assert token_amount(ledger, pool.coin.ata(user.pubkey())) == 10**12
    assert pool.reserves() == Q.apply_amm_buy(before, quote)
    (event,) = parse_amm_logs(result.logs)
    assert isinstance(event, BuyEvent)
    assert event.user_quote_amount_in == quote.total
    assert event.max_quote_amount_in == max_in
    assert event.quote_amount_in_with_lp_fee == quote.pool_quote_received
    assert event.ix_name == "buy"


def test_amm_buy_exact_quote_in_spends_at_most_the_budget(pool: Graduated) -> None:
    ledger = pool.ledger
    user = funded(ledger, 5 * SOL)
    before = pool.reserves()
    base_out = Q.quote_amm_buy_exact_quote_in(SOL, before, FIRST_TIER)
    quote = Q.quote_amm_buy(base_out, before, FIRST_TIER)
    result = pool.buy_exact_quote_in(user, SOL, base_out)
    assert result.err is None, result.logs
    assert quote.total <= SOL
    assert token_amount(ledger, pool.coin.ata(user.pubkey())) == base_out
    (event,) = parse_amm_logs(result.logs)
    assert isinstance(event, BuyEvent)
    assert event.ix_name == "buy_exact_quote_in"


def test_amm_sell_below_the_minimum_fails_6004_and_moves_nothing(pool: Graduated) -> None:
    ledger, user = pool.ledger, pool.holder
    quote = Q.quote_amm_sell(10**9, pool.reserves(), FIRST_TIER)
    sol_before = ledger.balance(user.pubkey())
    result = pool.sell(user, 10**9, quote.net + 1)
    assert result.err == {"InstructionError": [1, {"Custom": 6004}]}
    assert any("Error Code: ExceededSlippage. Error Number: 6004" in x for x in result.logs)
    assert ledger.balance(user.pubkey()) == sol_before - result.fee


def test_amm_sell_of_more_than_held_fails_in_the_token_program(pool: Graduated) -> None:
    held = token_amount(pool.ledger, pool.coin.ata(pool.holder.pubkey()))
    result = pool.sell(pool.holder, held + 1, 0)
    assert result.err == {"InstructionError": [1, {"Custom": 1}]}


def test_amm_buy_with_too_little_wrapped_sol_fails_in_the_token_program(pool: Graduated) -> None:
    user = funded(pool.ledger, 5 * SOL)
    quote = Q.quote_amm_buy(10**12, pool.reserves(), FIRST_TIER)
    ixs = [*wrap_sol(user.pubkey(), quote.total - 1), pool.coin.ata_ix(user)]
    ixs.append(pool.buy_ix(user, 10**12, quote.total))
    result = pool.ledger.execute(make_tx(ixs, user))
    assert result.err == {"InstructionError": [4, {"Custom": 1}]}


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        ("fee_recipient", 6013),
        ("no_pool_v2", 6062),
        ("buyback", 6053),
        ("no_buyback", 6058),
        ("quote_mint", 2001),
    ],
)
def test_amm_sell_account_checks(pool: Graduated, mutate: str, code: int) -> None:
    user = pool.holder
    ix = pool.sell_ix(user, 10**6, 0)
    metas = list(ix.accounts)
    if mutate == "fee_recipient":
        ix = pool.sell_ix(user, 10**6, 0, protocol_fee_recipient=A.FEE_RECIPIENTS[0])
        stranger = Keypair().pubkey()
        metas = list(ix.accounts)
        metas[9] = AccountMeta(stranger, False, False)
        metas[10] = AccountMeta(
            AA.quote_ata(stranger, A.WSOL_MINT, A.TOKEN_PROGRAM_ID), False, True
        )
    elif mutate == "no_pool_v2":
        del metas[21]
    elif mutate == "buyback":
        stranger = Keypair().pubkey()
        metas[22] = AccountMeta(stranger, False, False)
    elif mutate == "no_buyback":
        metas = metas[:22]
    elif mutate == "quote_mint":
        metas[4] = AccountMeta(A.USDC_MINT, False, False)
    bad = Instruction(ix.program_id, bytes(ix.data), metas)
    ixs = [*wrap_sol(user.pubkey(), 0), bad]
    result = pool.ledger.execute(make_tx(ixs, user))
    assert result.err == {"InstructionError": [1, {"Custom": code}]}


def test_traders_move_the_pool_price(pool: Graduated) -> None:
    """Buys raise and sells lower the pool's price, which the events report."""
    price0 = _price(pool.reserves())
    assert pool.buy(funded(pool.ledger, 10 * SOL), 10**13, 5 * SOL).err is None
    price1 = _price(pool.reserves())
    held = token_amount(pool.ledger, pool.coin.ata(pool.holder.pubkey()))
    assert pool.sell(pool.holder, held, 0).err is None
    price2 = _price(pool.reserves())
    assert price1 > price0
    assert price2 < price1


def _price(r: Q.PoolReserves) -> float:
    return r.quote / r.base


async def test_a_migrated_pool_is_read_over_rpc_like_any_account(
    autojump_clock: object, grad: Graduated
) -> None:
    """``getAccountInfo`` of the pool and of its vaults: the bytes a client decodes."""
    assert grad.migrate().err is None
    key, pool = grad.pool
    async with (
        open_sim(ledger=grad.ledger, seed=1) as sim,
        httpx.AsyncClient(base_url=sim.rpc_url, timeout=60) as client,
    ):
        info = await rpc(client, "getAccountInfo", [str(key), {"encoding": "base64"}])
        value = info["value"]
        assert value["owner"] == AMM
        assert Pool.decode(base64.b64decode(value["data"][0])) == pool
        balance = await rpc(client, "getTokenAccountBalance", [str(pool.pool_base_token_account)])
        assert balance["value"]["amount"] == str(206_900_000_000_000)
