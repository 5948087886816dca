"""Curve and fee math: PROTOCOL.md §7-8 worked figures and real trades from 2024 to 2026."""

from __future__ import annotations

import base64

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.pump import curve as c
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees, FeeTier, Global
from trio_trader.pump.addresses import USDC_MINT, ZERO_KEY
from trio_trader.pump.events import TradeEvent, decode_event, parse_logs
from trio_trader.pump.instructions import decode_pump_instruction

RATES_2026 = c.FeeRates(95, 30)


def _event_from_log_sample(name: str) -> TradeEvent:
    line = load_sample(name).strip()
    event = decode_event(base64.b64decode(line.removeprefix("Program data: ")))
    assert isinstance(event, TradeEvent)
    return event


def _reserves_before(ev: TradeEvent) -> c.Reserves:
    """Undo the trade on the post-trade reserves the event reports."""
    sign = 1 if ev.is_buy else -1
    return c.Reserves(
        ev.virtual_sol_reserves - sign * ev.sol_amount,
        ev.virtual_token_reserves + sign * ev.token_amount,
        ev.real_sol_reserves - sign * ev.sol_amount,
        ev.real_token_reserves + sign * ev.token_amount,
    )


def _reserves_after(ev: TradeEvent) -> c.Reserves:
    return c.Reserves(
        ev.virtual_sol_reserves,
        ev.virtual_token_reserves,
        ev.real_sol_reserves,
        ev.real_token_reserves,
    )


def test_buying_out_the_whole_curve_costs_85_005_359_057_lamports():
    r = c.INITIAL_RESERVES
    assert c.buy_cost(r.real_token, r) == 85_005_359_057
    q = c.quote_buy(r.real_token, r, c.FeeRates(0, 0))
    end = c.apply_buy(r, q)
    assert end.real_token == 0
    assert end.virtual_token == 279_900_000_000_000
    assert end.virtual_sol == 115_005_359_057


def test_fee_rounds_up_since_2025_and_down_in_2024():
    assert c.fee(1_000_001, 95) == 9_501  # ceil(9,500.0095)
    assert c.fee(1_000_001, 95, round_up=False) == 9_500
    assert c.fee(1_000_000, 95) == 9_500
    assert c.fee(0, 95) == 0


def test_initial_market_cap_and_price():
    r = c.INITIAL_RESERVES
    assert c.market_cap_lamports(r) == 27_958_993_476  # ≈ 27.96 SOL
    assert c.price_lamports_per_token(r) == pytest.approx(27.958993476)


def test_2026_buy_s09_matches_curve_and_ceil_fees():
    ev = _event_from_log_sample("s09_vixen_buy_program_data.log")
    assert ev.is_buy
    assert ev.ix_name == "buy"
    before = _reserves_before(ev)
    q = c.quote_buy(ev.token_amount, before, c.FeeRates(ev.fee_basis_points, 30))
    assert q.sol_cost == ev.sol_amount == 50_051_224
    assert (q.protocol_fee, q.creator_fee) == (ev.fee, ev.creator_fee) == (475_487, 150_154)
    assert c.apply_buy(before, q) == _reserves_after(ev)
    # The instruction that made this trade: exact token amount, and the cap was respected.
    sample = load_sample("s09_vixen_buy_token2022_2026-02-09.json")
    name, args = decode_pump_instruction(bytes(sample["instructions"][0]["data"]))
    assert name == "buy"
    assert args.amount == ev.token_amount
    assert q.total <= args.max_sol_cost


def test_2026_sell_s10_matches_curve_and_ceil_fees():
    ev = _event_from_log_sample("s10_vixen_sell_program_data.log")
    assert not ev.is_buy
    assert ev.ix_name == "sell"
    before = _reserves_before(ev)
    q = c.quote_sell(ev.token_amount, before, RATES_2026)
    assert q.sol_out == ev.sol_amount == 630_254_544
    assert (q.protocol_fee, q.creator_fee) == (ev.fee, ev.creator_fee) == (5_987_419, 1_890_764)
    assert q.net == 630_254_544 - 5_987_419 - 1_890_764
    assert c.apply_sell(before, q) == _reserves_after(ev)
    sample = load_sample("s10_vixen_sell_token2022_2026-02-09.json")
    name, args = decode_pump_instruction(bytes(sample["instructions"][0]["data"]))
    assert name == "sell"
    assert args.amount == ev.token_amount
    assert q.net >= args.min_sol_output


def test_2025_router_buy_s03_matches_curve_at_95_plus_5_bps():
    tx = load_sample("s03_chainstack_blockSubscribe_router_buy_2025-05-13.json")
    (ev,) = parse_logs(tx["meta"]["logMessages"])
    before = _reserves_before(ev)
    q = c.quote_buy(ev.token_amount, before, c.FeeRates(95, 5))
    assert q.sol_cost == ev.sol_amount
    assert (q.protocol_fee, q.creator_fee) == (ev.fee, ev.creator_fee)
    # The fee recipient's balance rose by exactly the protocol fee.
    keys = _static_keys(tx)
    i = keys.index(ev.fee_recipient)
    assert tx["meta"]["postBalances"][i] - tx["meta"]["preBalances"][i] == ev.fee


def _static_keys(tx: dict) -> list[Pubkey]:
    from solders.transaction import VersionedTransaction

    raw = base64.b64decode(tx["transaction"][0])
    return list(VersionedTransaction.from_bytes(raw).message.account_keys)


def test_2024_buy_then_sell_s01_rounds_fees_down_at_100_bps():
    tx = load_sample("s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json")["result"]
    buy_ev, sell_ev = parse_logs(tx["meta"]["logMessages"])
    rates = c.FeeRates(100, 0)
    before = _reserves_before(buy_ev)
    q_buy = c.quote_buy(buy_ev.token_amount, before, rates)
    assert q_buy.sol_cost == buy_ev.sol_amount == 24_080_282
    after_buy = c.apply_buy(before, q_buy)
    assert after_buy == _reserves_after(buy_ev)
    q_sell = c.quote_sell(sell_ev.token_amount, after_buy, rates)
    assert q_sell.sol_out == sell_ev.sol_amount == 24_080_281
    assert c.apply_sell(after_buy, q_sell) == _reserves_after(sell_ev)
    # 2024 fees: floor(24,080,282 × 1%) = 240,802, seen as the inner transfer to the recipient.
    buy_fee = c.fee(q_buy.sol_cost, 100, round_up=False)
    sell_fee = c.fee(q_sell.sol_out, 100, round_up=False)
    assert buy_fee == sell_fee == 240_802
    transfers = [
        ix["parsed"]["info"]["lamports"]
        for group in tx["meta"]["innerInstructions"]
        for ix in group["instructions"]
        if ix.get("program") == "system"
    ]
    assert buy_fee in transfers
    # The user's SOL: tx fee + tip + (buy cost + fee) − (sell proceeds − fee).
    meta = tx["meta"]
    spent = meta["preBalances"][0] - meta["postBalances"][0]
    tip = 962_563  # the transaction's last instruction, a plain system transfer
    paid = (q_buy.sol_cost + buy_fee) - (q_sell.sol_out - sell_fee)
    assert spent == meta["fee"] + tip + paid


def test_tokens_for_sol_inverts_buy_cost_within_rounding():
    r = c.INITIAL_RESERVES
    tokens = c.tokens_for_sol(1_000_000_000, r)
    assert tokens == 1_000_000_000 * r.virtual_token // (r.virtual_sol + 1_000_000_000)
    assert c.buy_cost(tokens, r) <= 1_000_000_001
    assert c.buy_cost(tokens + 2, r) > 1_000_000_000


def test_quote_buy_for_sol_is_the_largest_amount_within_budget():
    r = c.INITIAL_RESERVES
    budget = 100_000_000
    q = c.quote_buy_for_sol(budget, r, RATES_2026)
    assert q.total <= budget
    assert c.quote_buy(q.amount + 1, r, RATES_2026).total > budget
    assert c.quote_buy_for_sol(0, r, RATES_2026).amount == 0
    # A budget beyond the whole curve buys exactly what is left.
    assert c.quote_buy_for_sol(10**12, r, RATES_2026).amount == r.real_token


def test_quote_buy_for_sol_quotes_three_amounts_not_fifty(monkeypatch):
    # On the BUY's path: it checks the closed-form amount (it and one more) instead of
    # bisecting the whole supply (~50 quotes), and lands on the largest within budget.
    calls: list[int] = []
    real = c.quote_buy

    def counting(amount: int, reserves: c.Reserves, rates: c.FeeRates) -> c.BuyQuote:
        calls.append(amount)
        return real(amount, reserves, rates)

    monkeypatch.setattr(c, "quote_buy", counting)
    r = c.apply_buy(c.INITIAL_RESERVES, real(123_456_789_000_000, c.INITIAL_RESERVES, RATES_2026))
    for budget in (1, 2, 1_000, 100_000_000, 3_333_333_333, 10**12):
        calls.clear()
        q = c.quote_buy_for_sol(budget, r, RATES_2026)
        assert len(calls) <= 3
        assert q.total <= budget
        if q.amount < r.real_token:
            assert real(q.amount + 1, r, RATES_2026).total > budget


def test_buy_exact_sol_in_spends_no_more_than_given():
    r = c.INITIAL_RESERVES
    for spendable in (2, 10_001, 50_000_000, 1_234_567_891):
        q = c.quote_buy_exact_sol_in(spendable, r, RATES_2026)
        assert q.total <= spendable
        if q.amount:
            net = spendable * 10_000 // 10_125
            fees = -(-net * 95 // 10_000) - (-net * 30 // 10_000)
            net -= max(0, net + fees - spendable)
            assert q.amount == (net - 1) * r.virtual_token // (r.virtual_sol + net - 1)


def test_invalid_amounts_raise_value_error():
    r = c.INITIAL_RESERVES
    with pytest.raises(ValueError, match="cannot buy 0"):
        c.buy_cost(0, r)
    with pytest.raises(ValueError, match="cannot buy"):
        c.buy_cost(r.virtual_token, r)
    with pytest.raises(ValueError, match="cannot sell"):
        c.sell_proceeds(-1, r)
    with pytest.raises(ValueError, match="migrated"):
        c.buy_cost(1, c.Reserves(0, 0, 0, 0))
    with pytest.raises(ValueError, match="exceeds real token reserves"):
        c.apply_buy(r, c.BuyQuote(r.real_token + 1, 1, 0, 0, 1))


def test_slippage_bounds():
    assert c.max_sol_cost(1_000_000, 500) == 1_050_000
    assert c.min_sol_output(1_000_000, 500) == 950_000
    assert c.min_sol_output(999, 100) == 989  # 999 − ceil(9.99)
    assert c.min_sol_output(1_000, 10_000) == 0


def _curve(**kw) -> BondingCurve:
    fresh = c.INITIAL_RESERVES
    base = BondingCurve(
        fresh.virtual_token,
        fresh.virtual_sol,
        fresh.real_token,
        fresh.real_sol,
        10**15,
        False,
        Pubkey.new_unique(),
        False,
        False,
        ZERO_KEY,
        0,
        False,
        False,
    )
    return attrs.evolve(base, **kw)


def _global(**kw) -> Global:
    glob = Global(True, ZERO_KEY, ZERO_KEY, 0, 0, 0, 10**15, 100, creator_fee_basis_points=5)
    return attrs.evolve(glob, **kw)


def _config() -> FeeConfig:
    return FeeConfig(
        bump=255,
        admin=ZERO_KEY,
        flat_fees=Fees(0, 70, 7),
        fee_tiers=(
            FeeTier(30_000_000_000, Fees(0, 95, 30)),
            FeeTier(100_000_000_000, Fees(0, 60, 20)),
        ),
        stable_fee_tiers=(FeeTier(0, Fees(0, 40, 10)),),
        exotic_flat_fees=Fees(0, 0, 0),
    )


def test_fee_rates_tiers_by_market_cap():
    fresh = _curve()  # market cap ≈ 27.96 SOL: below the first threshold → first tier
    assert c.fee_rates(fresh, None, _config()) == c.FeeRates(95, 30)
    rich = _curve(virtual_sol_reserves=115_005_359_057, virtual_token_reserves=279_900_000_000_000)
    assert c.market_cap_lamports(c.Reserves.of(rich)) > 100_000_000_000
    assert c.fee_rates(rich, None, _config()) == c.FeeRates(60, 20)


def test_fee_rates_by_quote_mint():
    assert c.fee_rates(_curve(quote_mint=USDC_MINT), None, _config()) == c.FeeRates(40, 10)
    # An exotic quote with unset exotic fees falls back to flat_fees.
    exotic = _curve(quote_mint=Pubkey.new_unique())
    assert c.fee_rates(exotic, None, _config()) == c.FeeRates(70, 7)


def test_fee_rates_fallbacks_and_creator_rules():
    assert c.fee_rates(_curve(), _global(), None) == c.FeeRates(100, 5)
    assert c.fee_rates(_curve(), None, None) == c.FeeRates(95, 30)
    assert c.fee_rates(_curve(creator=ZERO_KEY), None, None) == c.FeeRates(95, 0)
    assert c.fee_rates(_curve(creator=None), _global(), None) == c.FeeRates(100, 0)
    own_fee = _curve(creator_fee_bps=250)
    assert (
        c.fee_rates(own_fee, _global(creator_fee_configurable=True), _config()).creator_bps == 250
    )
    assert c.fee_rates(own_fee, _global(), _config()).creator_bps == 30


def test_reserves_of_a_decoded_curve():
    curve = _curve(real_sol_reserves=5)
    assert c.Reserves.of(curve) == attrs.evolve(c.INITIAL_RESERVES, real_sol=5)
