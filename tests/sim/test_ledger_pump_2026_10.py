"""The emulated pump program as deployed on 2026-10-08: the fee-program CPI with its log
lines and compute units, 166-byte curves (older ones grow on their first trade, the
trader paying the rent), and 382/383-byte TradeEvents.
"""

from __future__ import annotations

import base64

import attrs
import base58
import pytest
from solders.keypair import Keypair

from tests.sim.test_ledger import SOL, funded, make_tx
from tests.sim.test_ledger_pump import Coin, only_trade
from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump import instructions as I
from trio_trader.pump.accounts import BondingCurve, Fees
from trio_trader.pump.events import encode_event
from trio_trader.sim._fee_program import (
    GET_FEES_COMPUTE_UNITS,
    GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR,
)
from trio_trader.sim.ledger import ExecutedTransaction

PUMP = str(A.PUMP_PROGRAM_ID)
FEE = str(A.PUMP_FEE_PROGRAM_ID)
#: lp 0 / protocol 95 / creator 30 bps, the return data of every real 2026-10 trade
MAINNET_FEES_RETURN = "AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA"


@pytest.fixture
def coin() -> Coin:
    return Coin()


def _frame(result: ExecutedTransaction, instruction: str) -> list[str]:
    """The pump frame's lines, from its ``invoke [1]`` to its own ``success``."""
    logs = result.logs
    start = next(
        i
        for i, line in enumerate(logs)
        if line == f"Program {PUMP} invoke [1]"
        and logs[i + 1] == f"Program log: Instruction: {instruction}"
    )
    depth = 0
    for end in range(start, len(logs)):
        words = logs[end].split()
        if len(words) == 4 and words[2] == "invoke":
            depth += 1
        elif len(words) >= 3 and words[0] == "Program" and words[2] in ("success", "failed:"):
            depth -= 1
            if depth == 0:
                return list(logs[start : end + 1])
    raise AssertionError("the pump frame never ended")


def _consumed(line: str) -> tuple[int, int]:
    """``Program X consumed A of B compute units`` → (A, B)."""
    words = line.split()
    return int(words[3]), int(words[5])


@pytest.mark.parametrize("side", ["Buy", "Sell"])
def test_trade_calls_the_fee_program_first_with_mainnets_log_lines(coin: Coin, side: str) -> None:
    trader = funded(coin.ledger)
    assert coin.buy(trader, 10**12, SOL).err is None  # accumulator, vault, token account
    before = coin.curve
    result = coin.buy(trader, 10**12, SOL) if side == "Buy" else coin.sell(trader, 10**12, 0)
    assert result.err is None
    frame = _frame(result, side)
    assert frame[2:7] == [
        f"Program {FEE} invoke [2]",
        "Program log: Instruction: GetFeesWithQuoteMint",
        frame[4],
        f"Program return: {FEE} {MAINNET_FEES_RETURN}",
        f"Program {FEE} success",
    ]
    used, available = _consumed(frame[4])
    assert frame[4].startswith(f"Program {FEE} consumed ")
    assert used == GET_FEES_COMPUTE_UNITS == 3_360
    # the token CPI that follows starts with what the fee program left (less LiteSVM's
    # own small overhead of the CPI)
    token = next(x for x in frame[7:] if x.startswith(f"Program {coin.tp} consumed "))
    assert 0 <= available - used - _consumed(token)[1] < 1_000
    assert Fees.decode(base64.b64decode(MAINNET_FEES_RETURN)) == Fees(0, 95, 30)
    # the inner instruction: [fee_config, pump program], the pre-trade market cap
    outer = 1 if side == "Buy" else 0
    (group,) = [g for g in result.inner_instructions if g["index"] == outer]
    first = group["instructions"][0]
    keys = result.account_keys
    assert keys[first["programIdIndex"]] == A.PUMP_FEE_PROGRAM_ID
    assert [keys[i] for i in first["accounts"]] == [A.FEE_CONFIG, A.PUMP_PROGRAM_ID]
    data = base58.b58decode(first["data"])
    assert data[:8] == GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR == bytes.fromhex("9aed8a5ca202a2bb")
    assert data[8] == 1  # is_pump_pool, as real bonding-curve trades send it
    cap = int.from_bytes(data[9:25], "little")
    assert cap == C.market_cap_lamports(C.Reserves.of(before)) > 0
    assert data[25:57] == bytes(A.ZERO_KEY)
    assert len(data) == 57


def test_real_trade_data_layout_matches_a_mainnet_get_fees_instruction() -> None:
    """The 57 bytes of the real 2026-10-05 sell's CPI (tx 61x6SRWN…e4NiAg, public fixture
    of aquecerandroi-oss/project-hunter): its market cap is the pre-trade curve's."""
    real = base58.b58decode(
        "KX69VKtJ7u4E8DXzHwrw1gmsmxQPiEopN8SQpFy7Fm1r9ffagdyuXRPgUFsNQkejffFFbVCoq4jXqh"
    )
    assert real[:9] == GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR + b"\x01"
    # the sell's event: after = (32,632,264,633 ; 986,447,014,514,034), it sold
    # 7,893,655,192,974 tokens for 263,233,315 lamports
    pre = C.Reserves(32_632_264_633 + 263_233_315, 986_447_014_514_034 - 7_893_655_192_974, 0, 0)
    assert int.from_bytes(real[9:25], "little") == C.market_cap_lamports(pre) == 33_616_458_044
    assert real[25:] == bytes(32)


def test_pump_instruction_costs_what_a_real_2026_10_trade_costs(coin: Coin) -> None:
    """Real trades: buy 74,110 CU, sell 54,733 CU (pump frame, CPIs included)."""
    trader = funded(coin.ledger)
    assert coin.buy(trader, 10**12, SOL).err is None
    buy = coin.buy(trader, 10**12, SOL)
    sell = coin.sell(trader, 10**12, 0)
    buy_used, _ = _consumed(_frame(buy, "Buy")[-2])
    sell_used, _ = _consumed(_frame(sell, "Sell")[-2])
    assert 70_000 <= buy_used <= 80_000
    assert 50_000 <= sell_used <= 60_000


def test_too_small_a_budget_runs_out_inside_the_fee_program(coin: Coin) -> None:
    trader = funded(coin.ledger)
    assert coin.buy(trader, 10**12, SOL).err is None
    limit = 150 + 65_000 + 1_000  # compute-budget ix + the pump's own work + too little
    ixs = [I.set_compute_unit_limit(limit), coin.buy_ix(trader, 10**12, SOL)]
    result = coin.ledger.execute(make_tx(ixs, trader))
    assert result.err == {"InstructionError": [1, "ComputationalBudgetExceeded"]}
    assert f"Program {FEE} failed: exceeded CUs meter at BPF instruction" in result.logs
    assert result.compute_units_consumed == limit


# -- the curve's size ---------------------------------------------------------------------


def test_new_coin_curve_is_created_at_166_bytes(coin: Coin) -> None:
    acct = coin.ledger.get_account(A.bonding_curve_pda(coin.mint))
    assert acct is not None
    assert len(bytes(acct.data)) == BondingCurve.SIZE == 166
    assert acct.lamports == coin.rent(166)  # no real reserves before the first buy


def _age(coin: Coin, size: int = 151) -> int:
    """Cut the curve to ``size`` bytes (a pre-deploy coin); returns the growth's rent."""
    coin.ledger.age_bonding_curve(coin.mint, size)
    acct = coin.ledger.get_account(A.bonding_curve_pda(coin.mint))
    assert acct is not None
    assert len(bytes(acct.data)) == size
    assert acct.lamports == coin.rent(size) + coin.curve.real_sol_reserves
    return coin.rent(166) - coin.rent(size)


def test_first_buy_on_a_151_byte_curve_grows_it_and_the_buyer_pays_the_rent(coin: Coin) -> None:
    growth = _age(coin)
    assert growth == 15 * 5_080 == 76_200  # what mainnet charged (sim.rent)
    buyer = funded(coin.ledger)
    warm = coin.buy(buyer, 10**12, SOL)  # pays token account + accumulator + the growth
    assert warm.err is None
    curve_key = A.bonding_curve_pda(coin.mint)
    acct = coin.ledger.get_account(curve_key)
    assert acct is not None
    assert len(bytes(acct.data)) == 166
    assert acct.lamports == coin.rent(166) + coin.curve.real_sol_reserves
    event = only_trade(warm)
    paid = 10 * SOL - coin.ledger.balance(buyer.pubkey())
    rents = coin.rent(165) + coin.rent(106) + coin.rent(0) + growth  # ATA, accumulator, vault
    assert paid == event.sol_amount + event.fee + event.creator_fee + warm.fee + rents
    # the growth is a System transfer from the buyer into the curve, inside the pump frame
    index = warm.account_keys.index(curve_key)
    assert warm.post_balances[index] - warm.pre_balances[index] == event.sol_amount + growth
    # the next buy pays no growth
    before = coin.ledger.balance(buyer.pubkey())
    again = coin.buy(buyer, 10**12, SOL)
    e2 = only_trade(again)
    assert before - coin.ledger.balance(buyer.pubkey()) == (
        e2.sol_amount + e2.fee + e2.creator_fee + again.fee
    )


@pytest.mark.parametrize("size", [81, 125, 150])  # 49 has no creator: a 2024 coin
def test_any_older_curve_length_grows_to_166_on_a_sell(coin: Coin, size: int) -> None:
    seller = funded(coin.ledger)
    assert coin.buy(seller, 10**12, SOL).err is None
    growth = _age(coin, size)
    before = coin.ledger.balance(seller.pubkey())
    result = coin.sell(seller, 10**12, 0)
    assert result.err is None
    event = only_trade(result)
    got = coin.ledger.balance(seller.pubkey()) - before
    assert got == event.sol_amount - event.fee - event.creator_fee - result.fee - growth
    acct = coin.ledger.get_account(A.bonding_curve_pda(coin.mint))
    assert acct is not None
    assert len(bytes(acct.data)) == 166
    assert acct.lamports == coin.rent(166) + coin.curve.real_sol_reserves


def test_a_failed_trade_does_not_grow_the_curve(coin: Coin) -> None:
    _age(coin)
    buyer = funded(coin.ledger)
    result = coin.buy(buyer, 10**12, 1)  # max_sol_cost far too low: 6002
    assert result.err == {"InstructionError": [1, {"Custom": 6002}]}
    acct = coin.ledger.get_account(A.bonding_curve_pda(coin.mint))
    assert acct is not None
    assert len(bytes(acct.data)) == 151
    assert coin.ledger.balance(buyer.pubkey()) == 10 * SOL - result.fee


def test_age_bonding_curve_refuses_what_no_layout_is(coin: Coin) -> None:
    with pytest.raises(ValueError, match="shorter"):
        coin.ledger.age_bonding_curve(coin.mint, 166)
    with pytest.raises(ValueError, match="shorter"):
        coin.ledger.age_bonding_curve(coin.mint, 48)
    with pytest.raises(ValueError, match="no bonding curve"):
        coin.ledger.age_bonding_curve(Keypair().pubkey())


# -- events -------------------------------------------------------------------------------


def test_trade_events_are_382_and_383_bytes_and_mirror_the_curves_u64(coin: Coin) -> None:
    trader = funded(coin.ledger)
    key = A.bonding_curve_pda(coin.mint)
    acct = coin.ledger.get_account(key)
    assert acct is not None
    # a holder-reward-like curve: 300,701 lamports held at offset 125 (mainnet HDko…hYNa)
    marked = attrs.evolve(coin.curve, unknown_u64_0=300_701)
    coin.ledger.set_account(
        key,
        type(acct)(lamports=acct.lamports + 300_701, data=marked.encode(), owner=acct.owner),
    )
    buy = only_trade(coin.buy(trader, 10**12, SOL))
    sell = only_trade(coin.sell(trader, 10**12, 0))
    assert len(encode_event(buy)) == 382
    assert len(encode_event(sell)) == 383
    assert buy.unknown_u64_0 == sell.unknown_u64_0 == 300_701
    assert coin.curve.unknown_u64_0 == 300_701  # the trade kept it
