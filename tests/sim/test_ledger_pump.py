"""The emulated pump program inside the ledger: create, buy, sell and their failures.

Every trade is checked to the lamport against ``trio_trader.pump.curve``; events are read
back from the logs with ``parse_logs`` as a client would.
"""

from __future__ import annotations

import base58
import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.sim.test_ledger import SOL, funded, make_tx
from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump import instructions as I
from trio_trader.pump.accounts import BondingCurve
from trio_trader.pump.events import (
    EVENT_CPI_TAG,
    CompleteEvent,
    CreateEvent,
    TradeEvent,
    decode_event,
    encode_event,
    parse_logs,
)
from trio_trader.sim.ledger import ExecutedTransaction, Ledger

RATES = C.FeeRates(protocol_bps=95, creator_bps=30)
FEE_RECIPIENT = A.FEE_RECIPIENTS[3]
TOKEN_ACCOUNT_SIZE = 165
USER_VOLUME_ACCUMULATOR_SIZE = 106


class Coin:
    """A ledger with one coin created by ``creator``."""

    def __init__(self, *, v2: bool = False) -> None:
        self.ledger = Ledger(seed=1)
        self.creator = funded(self.ledger, 100 * SOL)
        self.mint_kp = Keypair()
        self.mint = self.mint_kp.pubkey()
        self.tp = A.TOKEN_2022_PROGRAM_ID if v2 else A.TOKEN_PROGRAM_ID
        build = I.create_v2 if v2 else I.create
        ix = build(
            mint=self.mint,
            user=self.creator.pubkey(),
            creator=self.creator.pubkey(),
            name="Sim Coin",
            symbol="SIM",
            uri="https://example.invalid/sim.json",
        )
        self.created = self.ledger.execute(
            make_tx([ix], self.creator, self.mint_kp), slot=1, blocktime=1_700_000_000
        )
        assert self.created.err is None, self.created.logs

    @property
    def curve(self) -> BondingCurve:
        curve = self.ledger.bonding_curve(self.mint)
        assert curve is not None
        return curve

    def rent(self, size: int) -> int:
        return self.ledger.rent_exempt_minimum(size)

    def ata(self, owner: Pubkey) -> Pubkey:
        return A.associated_token_address(owner, self.mint, self.tp)

    def buy_ix(self, user: Keypair, amount: int, max_sol_cost: int, **kw: object) -> Instruction:
        args = {"creator": self.creator.pubkey(), "fee_recipient": FEE_RECIPIENT, **kw}
        return I.buy(
            user=user.pubkey(),
            mint=self.mint,
            token_program=self.tp,
            amount=amount,
            max_sol_cost=max_sol_cost,
            **args,
        )  # type: ignore[arg-type]

    def sell_ix(self, user: Keypair, amount: int, min_sol_output: int) -> Instruction:
        return I.sell(
            user=user.pubkey(),
            mint=self.mint,
            creator=self.creator.pubkey(),
            token_program=self.tp,
            fee_recipient=FEE_RECIPIENT,
            amount=amount,
            min_sol_output=min_sol_output,
        )

    def ata_ix(self, user: Keypair) -> Instruction:
        return I.create_associated_token_account_idempotent(
            payer=user.pubkey(), owner=user.pubkey(), mint=self.mint, token_program=self.tp
        )

    def buy(self, user: Keypair, amount: int, max_sol_cost: int) -> ExecutedTransaction:
        ixs = [self.ata_ix(user), self.buy_ix(user, amount, max_sol_cost)]
        return self.ledger.execute(make_tx(ixs, user), slot=2, blocktime=1_700_000_100)

    def sell(self, user: Keypair, amount: int, min_sol_output: int) -> ExecutedTransaction:
        ix = self.sell_ix(user, amount, min_sol_output)
        return self.ledger.execute(make_tx([ix], user), slot=3, blocktime=1_700_000_200)


@pytest.fixture
def coin() -> Coin:
    return Coin()


def balances(ledger: Ledger, *keys: Pubkey) -> list[int]:
    return [ledger.balance(k) for k in keys]


def only_trade(result: ExecutedTransaction) -> TradeEvent:
    events = parse_logs(result.logs)
    assert len(events) == 1
    assert isinstance(events[0], TradeEvent)
    assert list(result.events) == events
    return events[0]


# -- create ------------------------------------------------------------------------------


def test_create_makes_mint_curve_and_metadata(coin: Coin) -> None:
    ledger, curve_key = coin.ledger, A.bonding_curve_pda(coin.mint)
    curve = coin.curve
    assert (curve.virtual_token_reserves, curve.virtual_sol_reserves) == (
        1_073_000_000_000_000,
        30_000_000_000,
    )
    assert (curve.real_token_reserves, curve.real_sol_reserves) == (793_100_000_000_000, 0)
    assert curve.creator == coin.creator.pubkey()
    assert curve.complete is False
    acct = ledger.get_account(curve_key)
    assert acct is not None
    assert acct.owner == A.PUMP_PROGRAM_ID
    assert len(acct.data) == BondingCurve.SIZE
    assert acct.lamports == coin.rent(BondingCurve.SIZE)

    mint = ledger.get_account(coin.mint)
    assert mint is not None
    assert mint.owner == A.TOKEN_PROGRAM_ID
    data = bytes(mint.data)
    assert int.from_bytes(data[36:44], "little") == 10**15  # supply
    assert data[44] == 6  # decimals
    assert data[0:4] == b"\0\0\0\0"  # mint authority revoked
    assert ledger.token_balance(curve_key, coin.mint) == 10**15
    metadata = ledger.get_account(A.metadata_pda(coin.mint))
    assert metadata is not None
    assert metadata.owner == A.METAPLEX_PROGRAM_ID
    assert b"Sim Coin" in bytes(metadata.data)

    (event,) = parse_logs(coin.created.logs)
    assert isinstance(event, CreateEvent)
    assert (event.name, event.symbol, event.mint, event.bonding_curve) == (
        "Sim Coin",
        "SIM",
        coin.mint,
        curve_key,
    )
    assert event.creator == coin.creator.pubkey()
    assert event.token_program == A.TOKEN_PROGRAM_ID
    assert event.timestamp == 1_700_000_000
    assert coin.created.logs[1] == "Program log: Instruction: Create"

    rents = coin.rent(82) + coin.rent(BondingCurve.SIZE) + coin.rent(165) + coin.rent(679)
    assert coin.created.pre_balances[0] - coin.created.post_balances[0] == 10_000 + rents


def test_create_v2_makes_a_token_2022_coin_that_trades() -> None:
    coin = Coin(v2=True)
    mint = coin.ledger.get_account(coin.mint)
    assert mint is not None
    assert mint.owner == A.TOKEN_2022_PROGRAM_ID
    assert b"Sim Coin" in bytes(mint.data)
    assert b"SIM" in bytes(mint.data)
    assert mint.lamports == coin.rent(len(mint.data))
    (event,) = parse_logs(coin.created.logs)
    assert isinstance(event, CreateEvent)
    assert event.token_program == A.TOKEN_2022_PROGRAM_ID
    assert coin.created.logs[1] == "Program log: Instruction: CreateV2"

    buyer = funded(coin.ledger)
    quote = C.quote_buy(5 * 10**12, C.Reserves.of(coin.curve), RATES)
    result = coin.buy(buyer, quote.amount, quote.total)
    assert result.err is None, result.logs
    assert coin.ledger.token_balance(buyer.pubkey(), coin.mint) == quote.amount
    post = [b for b in result.post_token_balances if b["owner"] == str(buyer.pubkey())]
    assert post[0]["programId"] == str(A.TOKEN_2022_PROGRAM_ID)

    sell_quote = C.quote_sell(quote.amount, C.Reserves.of(coin.curve), RATES)
    before = coin.ledger.balance(buyer.pubkey())
    sold = coin.sell(buyer, quote.amount, sell_quote.net)
    assert sold.err is None, sold.logs
    assert coin.ledger.balance(buyer.pubkey()) == before + sell_quote.net - sold.fee
    assert coin.ledger.token_balance(buyer.pubkey(), coin.mint) == 0


def test_buy_with_track_volume_records_the_sol_volume(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    quote = C.quote_buy(10**12, C.Reserves.of(coin.curve), RATES)
    ix = coin.buy_ix(buyer, quote.amount, quote.total, track_volume=True)
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), ix], buyer), blocktime=1_700_000_500)
    event = only_trade(result)
    assert event.track_volume is True
    assert event.current_sol_volume == quote.sol_cost
    assert event.last_update_timestamp == 1_700_000_500
    accumulator = coin.ledger.get_account(A.user_volume_accumulator_pda(buyer.pubkey()))
    assert accumulator is not None
    assert accumulator.owner == A.PUMP_PROGRAM_ID
    assert len(accumulator.data) == USER_VOLUME_ACCUMULATOR_SIZE
    assert bytes(accumulator.data)[8:40] == bytes(buyer.pubkey())


# -- buy -----------------------------------------------------------------------------------


def test_buy_charges_curve_cost_fees_and_rent_to_the_lamport(coin: Coin) -> None:
    ledger, buyer = coin.ledger, funded(coin.ledger)
    curve_key, vault = A.bonding_curve_pda(coin.mint), A.creator_vault_pda(coin.creator.pubkey())
    before = coin.curve
    quote = C.quote_buy(2_000_000 * 10**6, C.Reserves.of(before), RATES)
    user0, fee0, vault0 = balances(ledger, buyer.pubkey(), FEE_RECIPIENT, vault)
    assert vault0 == 0  # first trade on the coin: the trader pays the vault's rent

    result = coin.buy(buyer, quote.amount, quote.total)

    assert result.err is None, result.logs
    rent = coin.rent(TOKEN_ACCOUNT_SIZE) + coin.rent(USER_VOLUME_ACCUMULATOR_SIZE) + coin.rent(0)
    assert ledger.balance(buyer.pubkey()) == user0 - quote.total - result.fee - rent
    assert ledger.balance(FEE_RECIPIENT) == fee0 + quote.protocol_fee
    assert ledger.balance(vault) == coin.rent(0) + quote.creator_fee
    after = coin.curve
    assert ledger.balance(curve_key) == coin.rent(BondingCurve.SIZE) + after.real_sol_reserves
    assert after.real_sol_reserves == quote.sol_cost
    assert C.Reserves.of(after) == C.apply_buy(C.Reserves.of(before), quote)
    assert ledger.token_balance(buyer.pubkey(), coin.mint) == quote.amount

    event = only_trade(result)
    assert (event.sol_amount, event.token_amount, event.is_buy) == (
        quote.sol_cost,
        quote.amount,
        True,
    )
    assert (event.fee, event.creator_fee) == (quote.protocol_fee, quote.creator_fee)
    assert (event.fee_basis_points, event.creator_fee_basis_points) == (95, 30)
    assert event.real_token_reserves == after.real_token_reserves
    assert event.virtual_sol_reserves == after.virtual_sol_reserves
    assert event.fee_recipient == FEE_RECIPIENT
    assert event.ix_name == "buy"
    assert event.user == buyer.pubkey()


def test_buy_records_token_balances_in_rpc_shape(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    result = coin.buy(buyer, 10**12, SOL)
    index = list(result.account_keys).index(coin.ata(buyer.pubkey()))
    pre = [b for b in result.pre_token_balances if b["accountIndex"] == index]
    post = [b for b in result.post_token_balances if b["accountIndex"] == index]
    assert pre == []  # the ATA was created by this transaction
    assert post == [
        {
            "accountIndex": index,
            "mint": str(coin.mint),
            "owner": str(buyer.pubkey()),
            "programId": str(A.TOKEN_PROGRAM_ID),
            "uiTokenAmount": {
                "amount": "1000000000000",
                "decimals": 6,
                "uiAmount": 1_000_000.0,
                "uiAmountString": "1000000",
            },
        }
    ]


def test_trade_event_is_also_the_self_cpi_inner_instruction(coin: Coin) -> None:
    result = coin.buy(funded(coin.ledger), 10**12, SOL)
    event = only_trade(result)
    (group,) = [g for g in result.inner_instructions if g["index"] == 1]
    pump_index = list(result.account_keys).index(A.PUMP_PROGRAM_ID)
    self_cpis = [ix for ix in group["instructions"] if ix["programIdIndex"] == pump_index]
    assert len(self_cpis) == 1
    data = base58.b58decode(self_cpis[0]["data"])
    assert data == EVENT_CPI_TAG + encode_event(event)
    assert decode_event(data) == event
    assert self_cpis[0]["accounts"] == [list(result.account_keys).index(A.EVENT_AUTHORITY)]
    assert result.logs[-1] == f"Program {A.PUMP_PROGRAM_ID} success"
    assert result.logs[-2].startswith(f"Program {A.PUMP_PROGRAM_ID} consumed ")


def test_lamports_are_conserved_apart_from_the_fee(coin: Coin) -> None:
    ledger = coin.ledger
    collector0 = ledger.balance(ledger.fee_collector)
    result = coin.buy(funded(ledger), 3 * 10**12, SOL)
    assert result.err is None
    assert ledger.fee_collector not in result.account_keys
    assert sum(result.post_balances) - sum(result.pre_balances) == -result.fee
    assert ledger.balance(ledger.fee_collector) == collector0 + result.fee


def test_buy_exact_sol_in_spends_at_most_the_budget(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    spend = SOL // 10
    quote = C.quote_buy_exact_sol_in(spend, C.Reserves.of(coin.curve), RATES)
    ix = I.buy_exact_sol_in(
        user=buyer.pubkey(),
        mint=coin.mint,
        creator=coin.creator.pubkey(),
        token_program=coin.tp,
        fee_recipient=FEE_RECIPIENT,
        spendable_sol_in=spend,
        min_tokens_out=quote.amount,
    )
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), ix], buyer))
    assert result.err is None, result.logs
    assert result.logs.count("Program log: Instruction: BuyExactSolIn") == 1
    event = only_trade(result)
    assert (event.token_amount, event.sol_amount, event.ix_name) == (
        quote.amount,
        quote.sol_cost,
        "buy_exact_sol_in",
    )
    assert quote.total <= spend


# -- sell ----------------------------------------------------------------------------------


def test_sell_pays_proceeds_minus_fees_to_the_lamport(coin: Coin) -> None:
    ledger, seller = coin.ledger, funded(coin.ledger)
    curve_key, vault = A.bonding_curve_pda(coin.mint), A.creator_vault_pda(coin.creator.pubkey())
    assert coin.buy(seller, 7 * 10**12, SOL).err is None
    before = coin.curve
    quote = C.quote_sell(7 * 10**12, C.Reserves.of(before), RATES)
    user0, fee0, vault0 = balances(ledger, seller.pubkey(), FEE_RECIPIENT, vault)

    result = coin.sell(seller, quote.amount, quote.net)

    assert result.err is None, result.logs
    assert ledger.balance(seller.pubkey()) == user0 + quote.net - result.fee
    assert ledger.balance(FEE_RECIPIENT) == fee0 + quote.protocol_fee
    assert ledger.balance(vault) == vault0 + quote.creator_fee
    after = coin.curve
    assert C.Reserves.of(after) == C.apply_sell(C.Reserves.of(before), quote)
    assert ledger.balance(curve_key) == coin.rent(BondingCurve.SIZE) + after.real_sol_reserves
    assert ledger.token_balance(seller.pubkey(), coin.mint) == 0
    event = only_trade(result)
    assert (event.sol_amount, event.token_amount, event.is_buy, event.ix_name) == (
        quote.sol_out,
        quote.amount,
        False,
        "sell",
    )
    assert event.real_sol_reserves == after.real_sol_reserves


def test_sell_before_its_buy_fails_3012_and_costs_only_the_fee(coin: Coin) -> None:
    ledger, seller = coin.ledger, funded(coin.ledger)
    curve_bytes = bytes(ledger.get_account(A.bonding_curve_pda(coin.mint)).data)  # type: ignore[union-attr]

    result = coin.sell(seller, 10**12, 0)

    assert result.err == {"InstructionError": [0, {"Custom": 3012}]}
    assert any(
        "caused by account: associated_user. Error Code: AccountNotInitialized. "
        "Error Number: 3012" in line
        for line in result.logs
    )
    assert result.logs[-1] == f"Program {A.PUMP_PROGRAM_ID} failed: custom program error: 0xbc4"
    assert ledger.balance(seller.pubkey()) == 10 * SOL - 5000
    assert bytes(ledger.get_account(A.bonding_curve_pda(coin.mint)).data) == curve_bytes  # type: ignore[union-attr]
    assert result.events == ()

    # once the buy lands, the same sell succeeds
    assert coin.buy(seller, 10**12, SOL).err is None
    assert coin.sell(seller, 10**12, 0).err is None


def test_sell_of_more_tokens_than_held_fails_in_the_token_program(coin: Coin) -> None:
    seller = funded(coin.ledger)
    assert coin.buy(seller, 10**12, SOL).err is None
    result = coin.sell(seller, 2 * 10**12, 0)
    assert result.err == {"InstructionError": [0, {"Custom": 1}]}
    assert result.logs[-1] == f"Program {A.PUMP_PROGRAM_ID} failed: custom program error: 0x1"
    assert coin.ledger.token_balance(seller.pubkey(), coin.mint) == 10**12


# -- slippage and completion -----------------------------------------------------------


def test_buy_with_too_small_max_sol_cost_fails_6002_and_undoes_the_ata(coin: Coin) -> None:
    ledger, buyer = coin.ledger, funded(coin.ledger)
    quote = C.quote_buy(10**12, C.Reserves.of(coin.curve), RATES)
    result = coin.buy(buyer, quote.amount, quote.total - 1)
    assert result.err == {"InstructionError": [1, {"Custom": 6002}]}
    assert result.logs[-1] == f"Program {A.PUMP_PROGRAM_ID} failed: custom program error: 0x1772"
    assert ledger.get_account(coin.ata(buyer.pubkey())) is None
    assert ledger.balance(buyer.pubkey()) == 10 * SOL - result.fee
    assert coin.curve.real_sol_reserves == 0


def test_sell_below_min_sol_output_fails_6003(coin: Coin) -> None:
    seller = funded(coin.ledger)
    assert coin.buy(seller, 10**12, SOL).err is None
    quote = C.quote_sell(10**12, C.Reserves.of(coin.curve), RATES)
    result = coin.sell(seller, quote.amount, quote.net + 1)
    assert result.err == {"InstructionError": [0, {"Custom": 6003}]}
    assert coin.ledger.token_balance(seller.pubkey(), coin.mint) == 10**12


def test_buying_the_last_token_completes_the_curve(coin: Coin) -> None:
    ledger, whale = coin.ledger, funded(coin.ledger, 200 * SOL)
    remaining = coin.curve.real_token_reserves
    quote = C.quote_buy(remaining, C.Reserves.of(coin.curve), RATES)

    result = coin.buy(whale, remaining, quote.total)

    assert result.err is None, result.logs
    trade, complete = parse_logs(result.logs)
    assert isinstance(trade, TradeEvent)
    assert isinstance(complete, CompleteEvent)
    assert trade.real_token_reserves == 0
    assert (complete.user, complete.mint) == (whale.pubkey(), coin.mint)
    assert complete.bonding_curve == A.bonding_curve_pda(coin.mint)
    assert coin.curve.complete is True
    assert ledger.balance(A.bonding_curve_pda(coin.mint)) == (
        coin.rent(BondingCurve.SIZE) + quote.sol_cost
    )

    late = coin.buy(funded(ledger), 10**6, SOL)
    assert late.err == {"InstructionError": [1, {"Custom": 6005}]}
    assert coin.sell(whale, 10**6, 0).err == {"InstructionError": [0, {"Custom": 6005}]}


def test_buy_of_more_than_the_curve_holds_fails_6021(coin: Coin) -> None:
    too_many = coin.curve.real_token_reserves + 1
    result = coin.buy(funded(coin.ledger, 200 * SOL), too_many, 200 * SOL)
    assert result.err == {"InstructionError": [1, {"Custom": 6021}]}
