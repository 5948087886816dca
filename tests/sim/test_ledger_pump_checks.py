"""The emulated pump program's failures and traces: Anchor account checks, trailing
accounts, log frames compared with mainnet, compute budget, simulation, create + buy.
"""

from __future__ import annotations

import base58
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair

from tests.conftest import load_sample
from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_pump import FEE_RECIPIENT, RATES, Coin, only_trade
from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump import instructions as I
from trio_trader.pump.events import EVENT_CPI_TAG, CreateEvent, TradeEvent, parse_logs
from trio_trader.sim.ledger import ExecutedTransaction, Ledger


@pytest.fixture
def coin() -> Coin:
    return Coin()


# -- account checks ------------------------------------------------------------------------


def test_wrong_creator_vault_fails_2006_with_left_and_right(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL, creator=buyer.pubkey())  # wrong creator → wrong PDA
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), ix], buyer))
    assert result.err == {"InstructionError": [1, {"Custom": 2006}]}
    expected = A.creator_vault_pda(coin.creator.pubkey())
    assert "Program log: Right:" in result.logs
    assert f"Program log: {expected}" in result.logs
    assert any("caused by account: creator_vault" in line for line in result.logs)


def _with_accounts(ix: Instruction, accounts: list[AccountMeta]) -> Instruction:
    return Instruction(ix.program_id, bytes(ix.data), accounts)


def test_buy_without_the_two_trailing_accounts_fails_6062(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL)
    short = _with_accounts(ix, list(ix.accounts)[:16])
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), short], buyer))
    assert result.err == {"InstructionError": [1, {"Custom": 6062}]}
    assert coin.buy(buyer, 10**12, SOL).err is None
    sell = coin.sell_ix(buyer, 1, 0)
    result = coin.ledger.execute(make_tx([_with_accounts(sell, list(sell.accounts)[:14])], buyer))
    assert result.err == {"InstructionError": [0, {"Custom": 6062}]}


def test_unknown_buyback_recipient_fails_6057(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL)
    accounts = list(ix.accounts)
    accounts[17] = AccountMeta(Keypair().pubkey(), False, True)
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), _with_accounts(ix, accounts)], buyer))
    assert result.err == {"InstructionError": [1, {"Custom": 6057}]}


def test_fee_recipient_outside_global_fails_6000(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL, fee_recipient=Keypair().pubkey())
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), ix], buyer))
    assert result.err == {"InstructionError": [1, {"Custom": 6000}]}


def test_too_few_accounts_fails_3005(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL)
    result = coin.ledger.execute(make_tx([_with_accounts(ix, list(ix.accounts)[:10])], buyer))
    assert result.err == {"InstructionError": [0, {"Custom": 3005}]}


def test_buy_on_a_mint_without_curve_fails_3012(coin: Coin) -> None:
    other = Coin()
    buyer = funded(other.ledger)
    stranger = Keypair().pubkey()
    ix = I.buy(
        user=buyer.pubkey(),
        mint=stranger,
        creator=other.creator.pubkey(),
        token_program=A.TOKEN_PROGRAM_ID,
        fee_recipient=FEE_RECIPIENT,
        amount=1,
        max_sol_cost=SOL,
    )
    result = other.ledger.execute(make_tx([ix], buyer))
    assert result.err == {"InstructionError": [0, {"Custom": 3012}]}


# -- shape against mainnet -------------------------------------------------------------


def _pump_frame_shape(logs: list[str] | tuple[str, ...], instruction: str) -> list[str]:
    """Programs the first pump frame running ``instruction`` invoked, and its data lines."""
    pump = str(A.PUMP_PROGRAM_ID)
    start = next(
        i
        for i, line in enumerate(logs)
        if line.startswith(f"Program {pump} invoke [")
        and logs[i + 1] == f"Program log: Instruction: {instruction}"
    )
    depth = int(logs[start].rsplit("[", 1)[1].rstrip("]"))
    shape: list[str] = []
    current = depth
    for line in logs[start + 1 :]:
        parts = line.split(" ")
        if line.startswith("Program data:") and current == depth:
            shape.append("data")
        elif len(parts) == 4 and parts[2] == "invoke":
            current = int(parts[3].strip("[]"))
            if current == depth + 1:
                shape.append(parts[1])
        elif len(parts) >= 3 and parts[0] == "Program" and parts[2] in ("success", "failed:"):
            if current == depth:
                break
            current -= 1
    return shape


def _logs_of(sample: object) -> list[str]:
    if isinstance(sample, dict):
        if "logMessages" in sample:
            return list(sample["logMessages"])
        for value in sample.values():
            found = _logs_of(value)
            if found:
                return found
    if isinstance(sample, list):
        for value in sample:
            found = _logs_of(value)
            if found:
                return found
    return []


def test_repeat_buy_log_frame_is_the_fee_cpi_then_a_2025_mainnet_buy(coin: Coin) -> None:
    """The 2026 fee-program CPI, then what a 2025 buy did: token transfer, 3 System
    transfers, ``Program data:``, the event self-CPI."""
    mainnet = _logs_of(load_sample("s03_chainstack_blockSubscribe_router_buy_2025-05-13.json"))
    buyer = funded(coin.ledger)
    assert coin.buy(buyer, 10**12, SOL).err is None  # creates the accumulator and vault
    result = coin.buy(buyer, 10**12, SOL)
    assert result.err is None
    expected = _pump_frame_shape(mainnet, "Buy")
    assert expected == [
        str(A.TOKEN_PROGRAM_ID),
        *[str(A.SYSTEM_PROGRAM_ID)] * 3,
        "data",
        str(A.PUMP_PROGRAM_ID),
    ]
    assert _pump_frame_shape(result.logs, "Buy") == [str(A.PUMP_FEE_PROGRAM_ID), *expected]


def test_sell_log_frame_is_the_fee_cpi_one_token_cpi_then_the_event(coin: Coin) -> None:
    """A sell moves tokens by CPI and SOL directly; the shape of a real 2026-10 sell."""
    seller = funded(coin.ledger)
    assert coin.buy(seller, 10**12, SOL).err is None
    result = coin.sell(seller, 10**12, 0)
    assert _pump_frame_shape(result.logs, "Sell") == [
        str(A.PUMP_FEE_PROGRAM_ID),
        str(A.TOKEN_PROGRAM_ID),
        "data",
        str(A.PUMP_PROGRAM_ID),
    ]


def test_compute_limit_too_low_fails_the_pump_instruction(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ixs = [I.set_compute_unit_limit(40_000), coin.ata_ix(buyer), coin.buy_ix(buyer, 10**12, SOL)]
    result = coin.ledger.execute(make_tx(ixs, buyer))
    assert result.err == {"InstructionError": [2, "ComputationalBudgetExceeded"]}
    assert result.compute_units_consumed == 40_000
    assert coin.ledger.get_account(coin.ata(buyer.pubkey())) is None


def test_create_and_creator_buy_in_one_transaction() -> None:
    ledger = Ledger(seed=3)
    creator, mint = funded(ledger, 50 * SOL), Keypair()
    tp = A.TOKEN_2022_PROGRAM_ID
    quote = C.quote_buy(50 * 10**12, C.INITIAL_RESERVES, RATES)
    ixs = [
        I.set_compute_unit_limit(400_000),
        I.create_v2(
            mint=mint.pubkey(),
            user=creator.pubkey(),
            creator=creator.pubkey(),
            name="Both",
            symbol="BTH",
            uri="u",
        ),
        I.create_associated_token_account_idempotent(
            payer=creator.pubkey(), owner=creator.pubkey(), mint=mint.pubkey(), token_program=tp
        ),
        I.buy(
            user=creator.pubkey(),
            mint=mint.pubkey(),
            creator=creator.pubkey(),
            token_program=tp,
            fee_recipient=FEE_RECIPIENT,
            amount=quote.amount,
            max_sol_cost=quote.total,
        ),
    ]
    result = ledger.execute(make_tx(ixs, creator, mint))
    assert result.err is None, result.logs
    create, trade = parse_logs(result.logs)
    assert isinstance(create, CreateEvent)
    assert isinstance(trade, TradeEvent)
    assert trade.sol_amount == quote.sol_cost
    assert trade.creator == creator.pubkey()
    assert ledger.token_balance(creator.pubkey(), mint.pubkey()) == quote.amount
    assert result.compute_units_consumed <= 400_000


def test_wrong_bonding_curve_v2_fails_6074(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL)
    accounts = list(ix.accounts)
    accounts[16] = AccountMeta(A.bonding_curve_pda(coin.mint), False, False)
    result = coin.ledger.execute(make_tx([coin.ata_ix(buyer), _with_accounts(ix, accounts)], buyer))
    assert result.err == {"InstructionError": [1, {"Custom": 6074}]}


def test_simulated_buy_reports_the_trade_and_leaves_the_chain_unchanged(coin: Coin) -> None:
    ledger, buyer = coin.ledger, funded(coin.ledger)
    curve_before = coin.curve
    tx = make_tx([coin.ata_ix(buyer), coin.buy_ix(buyer, 10**12, SOL)], buyer)

    simulated = ledger.simulate(tx)

    assert simulated.err is None
    assert only_trade(simulated).token_amount == 10**12
    assert coin.curve == curve_before
    assert ledger.get_account(coin.ata(buyer.pubkey())) is None
    assert ledger.balance(buyer.pubkey()) == 10 * SOL
    executed = ledger.execute(tx)
    assert executed.logs == simulated.logs
    assert executed.post_balances == simulated.post_balances


def test_truncated_arguments_fail_102_and_unknown_instruction_101(coin: Coin) -> None:
    buyer = funded(coin.ledger)
    ix = coin.buy_ix(buyer, 10**12, SOL)
    short = Instruction(ix.program_id, bytes(ix.data)[:12], list(ix.accounts))
    result = coin.ledger.execute(make_tx([short], buyer))
    assert result.err == {"InstructionError": [0, {"Custom": 102}]}
    assert "Program log: Instruction: Buy" in result.logs
    unknown = Instruction(ix.program_id, b"\xff" * 8, list(ix.accounts))
    result = coin.ledger.execute(make_tx([unknown], buyer))
    assert result.err == {"InstructionError": [0, {"Custom": 101}]}


def test_a_crash_inside_the_emulation_fails_the_instruction_and_restores_state(
    coin: Coin, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import trio_trader.sim.pump_program as pump_program

    buyer = funded(coin.ledger)
    real_emit = pump_program.emit

    def broken_emit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(pump_program, "emit", broken_emit)
    curve_before = coin.curve
    result = coin.buy(buyer, 10**12, SOL)  # fails after the token and SOL transfers ran
    assert result.err == {"InstructionError": [1, "ProgramFailedToComplete"]}
    assert coin.curve == curve_before
    assert coin.ledger.get_account(coin.ata(buyer.pubkey())) is None
    assert coin.ledger.balance(buyer.pubkey()) == 10 * SOL - result.fee
    assert "pump emulation crashed" in caplog.text

    monkeypatch.setattr(pump_program, "emit", real_emit)
    assert coin.buy(buyer, 10**12, SOL).err is None


def _cpis_before_event_on_mainnet(sample: str) -> int:
    """How many CPIs a 2026 mainnet trade made between its pump instruction and its event.

    The vixen captures number a transaction's instructions ``[outer, inner]``; the pump
    instruction and its event self-CPI are both listed, so the gap counts the CPIs in
    between (token transfer, System transfers, and a fee-program ``GetFees`` if any).
    """
    trade, event = load_sample(sample)["instructions"]
    assert bytes(event["data"]).startswith(EVENT_CPI_TAG)
    assert trade["ix_index"][0] == event["ix_index"][0]
    return int(event["ix_index"][1] - trade["ix_index"][1] - 1)


def _cpis_before_event(result: ExecutedTransaction, outer: int) -> int:
    (group,) = [g for g in result.inner_instructions if g["index"] == outer]
    data = [base58.b58decode(ix["data"]) for ix in group["instructions"]]
    return next(i for i, d in enumerate(data) if d.startswith(EVENT_CPI_TAG))


def test_trades_make_the_feb_2026_cpis_plus_the_2026_10_fee_program_cpi() -> None:
    """Feb-2026 buys made 4 CPIs and sells 1 before the event, with no fee-program CPI
    (the s09/s10 captures leave no room for one); since 2026-03 the program asks the fee
    program first (PROTOCOL.md §0), so a 2026-10 trade makes one more, and it comes first.
    """
    coin = Coin(v2=True)
    trader = funded(coin.ledger)
    assert coin.buy(trader, 10**12, SOL).err is None  # creates the accumulator and vault
    buy = coin.buy(trader, 10**12, SOL)
    sell = coin.sell(trader, 2 * 10**12, 0)
    assert buy.err is None
    assert sell.err is None
    mainnet_buy = _cpis_before_event_on_mainnet("s09_vixen_buy_token2022_2026-02-09.json")
    mainnet_sell = _cpis_before_event_on_mainnet("s10_vixen_sell_token2022_2026-02-09.json")
    assert (mainnet_buy, mainnet_sell) == (4, 1)
    assert _cpis_before_event(buy, outer=1) == mainnet_buy + 1
    assert _cpis_before_event(sell, outer=0) == mainnet_sell + 1
    for result, outer in ((buy, 1), (sell, 0)):
        (group,) = [g for g in result.inner_instructions if g["index"] == outer]
        first = group["instructions"][0]
        assert result.account_keys[first["programIdIndex"]] == A.PUMP_FEE_PROGRAM_ID
        assert "Program log: Instruction: GetFeesWithQuoteMint" in result.logs
