"""The ledger's transaction mechanics: fees, signatures, atomicity, rent, simulation.

Transactions are built with solders exactly as a client would; every balance is checked
to the lamport. The pump program itself is tested in ``test_ledger_pump.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from trio_trader.pump.instructions import set_compute_unit_limit, set_compute_unit_price
from trio_trader.sim.ledger import Ledger, TransactionRejected

SOL = 1_000_000_000


def make_tx(ixs: Sequence[Instruction], payer: Keypair, *signers: Keypair) -> Transaction:
    """A legacy transaction signed by ``payer`` (fee payer) and ``signers``."""
    msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), Hash.new_unique())
    return Transaction([payer, *signers], msg, msg.recent_blockhash)


def funded(ledger: Ledger, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    ledger.airdrop(kp.pubkey(), lamports)
    return kp


def pay(src: Keypair, dst: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst, lamports=lamports))


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(seed=7)


def test_transfer_moves_lamports_and_charges_the_signature_fee(ledger: Ledger) -> None:
    alice, bob = funded(ledger), Keypair().pubkey()
    collector_before = ledger.balance(ledger.fee_collector)
    tx = make_tx([pay(alice, bob, SOL)], alice)

    result = ledger.execute(tx, slot=5, blocktime=1_700_000_000)

    assert result.err is None
    assert result.fee == 5000
    assert result.signature == tx.signatures[0]
    assert ledger.balance(alice.pubkey()) == 10 * SOL - SOL - 5000
    assert ledger.balance(bob) == SOL
    assert ledger.balance(ledger.fee_collector) == collector_before + 5000
    keys = list(result.account_keys)
    assert result.pre_balances[keys.index(alice.pubkey())] == 10 * SOL
    assert result.post_balances[keys.index(bob)] == SOL
    assert result.logs == (
        "Program 11111111111111111111111111111111 invoke [1]",
        "Program 11111111111111111111111111111111 success",
    )
    assert result.compute_units_consumed == 150
    assert (result.slot, result.blocktime) == (5, 1_700_000_000)


def test_priority_fee_is_price_times_limit_rounded_up(ledger: Ledger) -> None:
    alice = funded(ledger)
    ixs = [
        set_compute_unit_limit(300_001),
        set_compute_unit_price(3),
        pay(alice, alice.pubkey(), 1),
    ]
    result = ledger.execute(make_tx(ixs, alice))

    # ceil(3 * 300_001 / 1e6) = ceil(0.900003) = 1
    assert result.fee == 5000 + 1
    assert result.compute_units_consumed == 3 * 150
    assert ledger.balance(alice.pubkey()) == 10 * SOL - 5001


def test_default_compute_limit_is_200k_per_instruction(ledger: Ledger) -> None:
    alice = funded(ledger)
    ixs = [
        set_compute_unit_price(1_000_000),
        pay(alice, alice.pubkey(), 1),
        pay(alice, alice.pubkey(), 2),
    ]
    result = ledger.execute(make_tx(ixs, alice))
    # 2 non-compute-budget instructions → 400,000 CU at 1 lamport each
    assert result.fee == 5000 + 400_000


def test_two_signatures_pay_twice(ledger: Ledger) -> None:
    alice, bob = funded(ledger), funded(ledger)
    ixs = [pay(alice, bob.pubkey(), 10), pay(bob, alice.pubkey(), 3)]
    result = ledger.execute(make_tx(ixs, alice, bob))
    assert result.err is None
    assert result.fee == 10_000
    assert ledger.balance(alice.pubkey()) == 10 * SOL - 10 + 3 - 10_000
    assert ledger.balance(bob.pubkey()) == 10 * SOL + 10 - 3


def test_bad_signature_is_rejected_and_changes_nothing(ledger: Ledger) -> None:
    alice, bob = funded(ledger), Keypair().pubkey()
    good = make_tx([pay(alice, bob, SOL)], alice)
    forged = Transaction.populate(good.message, [Keypair().sign_message(bytes(good.message))])

    with pytest.raises(TransactionRejected) as info:
        ledger.execute(forged)

    assert info.value.err == "SignatureFailure"
    assert ledger.balance(alice.pubkey()) == 10 * SOL
    assert ledger.balance(bob) == 0


def test_missing_signature_is_rejected(ledger: Ledger) -> None:
    alice = funded(ledger)
    msg = Message.new_with_blockhash(
        [pay(alice, alice.pubkey(), 1)], alice.pubkey(), Hash.default()
    )
    unsigned = Transaction.populate(msg, [Signature.default()])
    with pytest.raises(TransactionRejected):
        ledger.execute(unsigned)
    assert ledger.balance(alice.pubkey()) == 10 * SOL


def test_fee_payer_that_does_not_exist_or_cannot_pay_is_rejected(ledger: Ledger) -> None:
    ghost = Keypair()
    with pytest.raises(TransactionRejected) as info:
        ledger.execute(make_tx([pay(ghost, ghost.pubkey(), 1)], ghost))
    assert info.value.err == "AccountNotFound"

    poor = funded(ledger, 4999)
    with pytest.raises(TransactionRejected) as info:
        ledger.execute(make_tx([pay(poor, poor.pubkey(), 1)], poor))
    assert info.value.err == "InsufficientFundsForFee"
    assert ledger.balance(poor.pubkey()) == 4999


def test_failed_second_instruction_undoes_the_first_but_pays_the_fee(ledger: Ledger) -> None:
    alice, bob, carol = funded(ledger), Keypair().pubkey(), Keypair().pubkey()
    collector_before = ledger.balance(ledger.fee_collector)
    ixs = [pay(alice, bob, SOL), pay(alice, carol, 100 * SOL)]

    result = ledger.execute(make_tx(ixs, alice))

    assert result.err == {"InstructionError": [1, {"Custom": 1}]}
    assert ledger.balance(bob) == 0
    assert ledger.balance(carol) == 0
    assert ledger.balance(alice.pubkey()) == 10 * SOL - 5000
    assert ledger.balance(ledger.fee_collector) == collector_before + 5000
    assert result.post_balances[0] == 10 * SOL - 5000
    assert result.events == ()
    assert result.logs[-2].startswith("Transfer: insufficient lamports")
    assert result.logs[-1] == (
        "Program 11111111111111111111111111111111 failed: custom program error: 0x1"
    )


def test_account_left_below_rent_exemption_fails_the_transaction(ledger: Ledger) -> None:
    alice, dust = funded(ledger), Keypair().pubkey()
    result = ledger.execute(make_tx([pay(alice, dust, 1000)], alice))
    index = list(result.account_keys).index(dust)
    assert result.err == {"InsufficientFundsForRent": {"account_index": index}}
    assert ledger.balance(dust) == 0
    assert ledger.balance(alice.pubkey()) == 10 * SOL - 5000


def test_simulate_reports_the_outcome_and_changes_nothing(ledger: Ledger) -> None:
    alice, bob = funded(ledger), Keypair().pubkey()
    collector_before = ledger.balance(ledger.fee_collector)
    tx = make_tx([pay(alice, bob, SOL)], alice)

    result = ledger.simulate(tx)

    assert result.err is None
    assert result.post_balances[list(result.account_keys).index(bob)] == SOL
    assert ledger.balance(bob) == 0
    assert ledger.balance(alice.pubkey()) == 10 * SOL
    assert ledger.balance(ledger.fee_collector) == collector_before
    # the same transaction still executes afterwards
    assert ledger.execute(tx).err is None
    assert ledger.balance(bob) == SOL


def test_simulate_can_skip_signature_verification(ledger: Ledger) -> None:
    alice = funded(ledger)
    msg = Message.new_with_blockhash(
        [pay(alice, alice.pubkey(), 1)], alice.pubkey(), Hash.default()
    )
    unsigned = Transaction.populate(msg, [Signature.default()])
    assert ledger.simulate(unsigned, sig_verify=False).err is None


def test_versioned_v0_transaction_executes(ledger: Ledger) -> None:
    alice, bob = funded(ledger), Keypair().pubkey()
    msg = MessageV0.try_compile(alice.pubkey(), [pay(alice, bob, 2 * SOL)], [], Hash.new_unique())
    tx = VersionedTransaction(msg, [alice])
    result = ledger.execute(tx)
    assert result.err is None
    assert ledger.balance(bob) == 2 * SOL


def test_airdrop_adds_lamports(ledger: Ledger) -> None:
    key = Keypair().pubkey()
    ledger.airdrop(key, 5)
    ledger.airdrop(key, 7)
    assert ledger.balance(key) == 12
    with pytest.raises(ValueError, match=">= 0"):
        ledger.airdrop(key, -1)


def test_two_ledgers_with_the_same_seed_agree(ledger: Ledger) -> None:
    other = Ledger(seed=7)
    assert other.fee_collector == ledger.fee_collector
    assert Ledger(seed=8).fee_collector != ledger.fee_collector


def test_fee_payer_left_below_rent_exemption_is_rejected(ledger: Ledger) -> None:
    minimum = ledger.rent_exempt_minimum(0)
    payer = funded(ledger, minimum + 4999)
    with pytest.raises(TransactionRejected) as info:
        ledger.execute(make_tx([pay(payer, payer.pubkey(), 1)], payer))
    assert info.value.err == {"InsufficientFundsForRent": {"account_index": 0}}
    # paying down to exactly zero is allowed
    drained = funded(ledger, 5000)
    assert ledger.execute(make_tx([pay(drained, drained.pubkey(), 0)], drained)).err is None
    assert ledger.balance(drained.pubkey()) == 0


def test_duplicate_compute_budget_instruction_is_rejected(ledger: Ledger) -> None:
    alice = funded(ledger)
    ixs = [set_compute_unit_price(1), set_compute_unit_price(2), pay(alice, alice.pubkey(), 1)]
    with pytest.raises(TransactionRejected) as info:
        ledger.execute(make_tx(ixs, alice))
    assert info.value.err == {"DuplicateInstruction": 1}
    assert ledger.balance(alice.pubkey()) == 10 * SOL


def test_instruction_for_a_missing_program_fails_and_pays_the_fee(ledger: Ledger) -> None:
    alice = funded(ledger)
    ix = Instruction(Keypair().pubkey(), b"\x01", [])
    result = ledger.execute(make_tx([ix], alice))
    assert result.err is not None
    assert ledger.balance(alice.pubkey()) == 10 * SOL - 5000
