"""The v2 pump instructions and PumpSwap trades cost the compute units mainnet measured, so a
compute-unit limit that fails on mainnet fails on the simulator too.

Mainnet figures:

* ``buy_v2`` (a SOL-quoted Token-2022 coin, its token account created in the same
  transaction) ~125k CU for the transaction, ``sell_v2`` ~85k: simulateTransaction on mainnet,
  chainstacklabs/pumpfun-bonkfun-bot 02343b7 (2026-07-28), the measurements behind its 180k /
  120k limits (PROTOCOL.md's 2026-07-28 row quotes the limits);
* a PumpSwap ``sell`` frame 85,515 CU and ``buy_exact_quote_in`` 82,924 CU, CPIs included:
  real transactions of 2026-10-08 (t48g_rpc_amm_tx_sell_2C8QHNSJtxoh and
  t48g_rpc_amm_tx_buy_29Ew15xD3NfJ, aquecerandroi-oss/project-hunter public fixtures).
"""

from __future__ import annotations

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_amm import Graduated
from tests.sim.test_ledger_pump import Coin
from tests.sim.test_ledger_pump_v2 import v2_ix
from trio_trader.pump import addresses as A
from trio_trader.pump import instructions as I
from trio_trader.sim.clients import wrap_sol
from trio_trader.sim.ledger import ExecutedTransaction

PUMP = str(A.PUMP_PROGRAM_ID)
AMM = str(A.PUMP_AMM_PROGRAM_ID)


def _frame_units(result: ExecutedTransaction, program: str) -> int:
    """CU of the program's top-level frame, CPIs included (its last ``consumed`` line)."""
    lines = [x for x in result.logs if x.startswith(f"Program {program} consumed ")]
    return int(lines[-1].split()[3])


def _run(coin: Coin, user: Keypair, ixs: list[Instruction], limit: int) -> ExecutedTransaction:
    return coin.ledger.execute(make_tx([I.set_compute_unit_limit(limit), *ixs], user))


@pytest.fixture
def coin(monkeypatch: pytest.MonkeyPatch) -> Coin:
    # Keys from fixed seeds: every PDA the program derives costs 1,500 CU more per bump it
    # has to try, so with random keys the same buy_v2 cost 124.8k–135.3k (one run in five
    # fell outside the band below). Mainnet's figure is one such draw; these seeds give
    # the common case, no extra bump.
    seeds = iter(range(1, 100))
    seeded = lambda: Keypair.from_seed(next(seeds).to_bytes(32, "little"))  # noqa: E731
    monkeypatch.setattr("tests.sim.test_ledger.Keypair", seeded)
    monkeypatch.setattr("tests.sim.test_ledger_pump.Keypair", seeded)
    return Coin(v2=True)  # Token-2022, SOL-quoted: what the mainnet measurement traded


def test_buy_v2_and_sell_v2_cost_what_mainnet_measured(coin: Coin) -> None:
    user = funded(coin.ledger, 10 * SOL)
    buy = _run(coin, user, [coin.ata_ix(user), v2_ix(coin, "buy", user, 10**12, SOL)], 400_000)
    assert buy.err is None, buy.logs
    assert 120_000 <= buy.compute_units_consumed <= 130_000  # mainnet: ~125k
    sell = _run(coin, user, [v2_ix(coin, "sell", user, 4 * 10**11, 0)], 400_000)
    assert sell.err is None, sell.logs
    assert 80_000 <= _frame_units(sell, PUMP) <= 90_000  # mainnet: ~85k
    # the legacy twins keep their own (calibrated) cost: v2 is the dearer pair
    legacy = coin.sell(user, 4 * 10**11, 0)
    assert _frame_units(sell, PUMP) - _frame_units(legacy, PUMP) > 25_000


def test_a_v2_limit_too_tight_for_mainnet_fails_here_too(coin: Coin) -> None:
    """110k passed for a first buy_v2 when the simulator charged it like legacy (~91k);
    mainnet needs ~125k. 70k (a legacy sell's budget) against sell_v2's ~85k."""
    user = funded(coin.ledger, 10 * SOL)
    ixs = [coin.ata_ix(user), v2_ix(coin, "buy", user, 10**12, SOL)]
    buy = _run(coin, user, ixs, 110_000)
    assert buy.err == {"InstructionError": [2, "ComputationalBudgetExceeded"]}
    assert buy.compute_units_consumed == 110_000
    assert _run(coin, user, ixs, 140_000).err is None
    sell = _run(coin, user, [v2_ix(coin, "sell", user, 4 * 10**11, 0)], 70_000)
    assert sell.err == {"InstructionError": [1, "ComputationalBudgetExceeded"]}


@pytest.fixture
def pool() -> Graduated:
    grad = Graduated(v2=True)  # mainnet's sample traded a Token-2022 coin
    assert grad.migrate().err is None
    return grad


def test_pumpswap_trades_cost_what_real_2026_10_trades_cost(pool: Graduated) -> None:
    sell = pool.sell(pool.holder, 10**9, 0)
    assert sell.err is None, sell.logs
    assert 80_000 <= _frame_units(sell, AMM) <= 90_000  # mainnet: 85,515
    buy = pool.buy_exact_quote_in(funded(pool.ledger, 5 * SOL), SOL // 10, 1)
    assert buy.err is None, buy.logs
    assert 78_000 <= _frame_units(buy, AMM) <= 88_000  # mainnet: 82,924


def test_a_pool_sell_limit_too_tight_for_mainnet_fails_here_too(pool: Graduated) -> None:
    """The sell alone, with 80k: enough when the simulator charged ~48k, not on mainnet."""
    user = pool.holder
    wrap = wrap_sol(user.pubkey(), 0)  # the WSOL account the proceeds go to
    ixs = [I.set_compute_unit_limit(80_000 + 150), pool.sell_ix(user, 10**9, 0)]
    assert pool.ledger.execute(make_tx(wrap, user)).err is None
    tight = pool.ledger.execute(make_tx(ixs, user))
    assert tight.err == {"InstructionError": [1, "ComputationalBudgetExceeded"]}
    ixs[0] = I.set_compute_unit_limit(100_000)
    assert pool.ledger.execute(make_tx(ixs, user)).err is None
