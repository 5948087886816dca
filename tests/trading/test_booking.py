"""What a landed order cost at the curve, read from real mainnet TradeEvents."""

from __future__ import annotations

from solders.pubkey import Pubkey

from tests.conftest import load_sample
from tests.store.factories import make_token_info
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.pump.events import TradeEvent, parse_logs
from trio_trader.trading.booking import estimated_booking, pump_sol, transaction_fee
from trio_trader.trading.orders import BuyOrder, SellOrder

PUMP = str(PUMP_PROGRAM_ID)


def _logs(sample: str) -> tuple[str, ...]:
    line = load_sample(sample).strip()
    return (f"Program {PUMP} invoke [1]", line, f"Program {PUMP} success")


def _tx(logs: tuple[str, ...]) -> TransactionInfo:
    return TransactionInfo(
        signature=None, slot=1, block_time=None, err=None, fee=5_000, log_messages=logs,
        account_keys=(),
        pre_balances=(), post_balances=(), pre_token_balances=(), post_token_balances=(),
    )  # fmt: skip


def _event(logs: tuple[str, ...]) -> TradeEvent:
    (event,) = parse_logs(logs)
    assert isinstance(event, TradeEvent)
    return event


def _buy(mint: Pubkey, **kw: int) -> BuyOrder:
    info = make_token_info(mint=mint)
    return BuyOrder(token_info=info, token_amount=10, max_sol_cost=2, sol_cost=1, **kw)


def _sell(mint: Pubkey) -> SellOrder:
    info = make_token_info(mint=mint)
    return SellOrder(token_info=info, token_amount=10, min_sol_output=1, sol_output=2)


def test_buy_costs_the_curve_amount_plus_protocol_and_creator_fees() -> None:
    logs = _logs("s09_vixen_buy_program_data.log")
    event = _event(logs)
    assert event.is_buy
    assert event.sol_amount == 50_051_224
    assert event.fee is not None
    assert event.creator_fee is not None
    cost = pump_sol(_tx(logs), event.user, _buy(event.mint))
    assert cost == 50_051_224 + event.fee + event.creator_fee
    # a fee of 95 bps and a creator fee of 30 bps, rounded up (PROTOCOL.md §8)
    assert event.fee == -(-50_051_224 * 95 // 10_000)
    assert event.creator_fee == -(-50_051_224 * 30 // 10_000)


def test_sell_nets_the_curve_amount_less_fees_and_ignores_other_sides_and_users() -> None:
    logs = _logs("s10_vixen_sell_program_data.log")
    event = _event(logs)
    assert not event.is_buy
    assert event.fee is not None
    net = pump_sol(_tx(logs), event.user, _sell(event.mint))
    assert net == event.sol_amount - event.fee - (event.creator_fee or 0)
    assert pump_sol(_tx(logs), event.user, _buy(event.mint)) is None  # not a buy
    assert pump_sol(_tx(logs), Pubkey.new_unique(), _sell(event.mint)) is None  # not ours
    assert pump_sol(_tx(logs), event.user, _sell(Pubkey.new_unique())) is None  # other mint


def test_2024_event_without_fee_fields_leaves_the_cost_unknown() -> None:
    tx = load_sample("s02_chainstack_getTransaction_create_then_buy_2024-08-20.json")["result"]
    logs = tuple(tx["meta"]["logMessages"])
    event = next(e for e in parse_logs(logs) if isinstance(e, TradeEvent))
    assert event.fee is None  # charged on chain, not logged in the 129-byte event
    assert pump_sol(_tx(logs), event.user, _buy(event.mint)) is None


def test_garbled_logs_are_no_cost_not_a_crash() -> None:
    logs = (f"Program {PUMP} invoke [1]", "Program data: ////", f"Program {PUMP} success")
    assert pump_sol(_tx(logs), Pubkey.new_unique(), _buy(Pubkey.new_unique())) is None


def test_estimated_booking_moves_exactly_the_ordered_tokens() -> None:
    buy = _buy(Pubkey.new_unique(), priority_fee=1_000_000, compute_unit_limit=120_000)
    assert transaction_fee(buy) == 5_000 + 120_000
    booked = estimated_booking(buy)
    assert (booked.token_change, booked.pump_sol, booked.fee) == (10, 1, 125_000)
    assert booked.sol_change == -(1 + 125_000)
    sell = _sell(Pubkey.new_unique())
    sold = estimated_booking(sell)
    assert (sold.token_change, sold.pump_sol, sold.sol_change) == (-10, 2, 2 - 5_000)


def test_priority_fee_rounds_up_to_a_whole_lamport() -> None:
    buy = _buy(Pubkey.new_unique(), priority_fee=1, compute_unit_limit=1)
    assert transaction_fee(buy) == 5_001


def _amm_sell_logs(pool: Pubkey, user: Pubkey, net: int) -> tuple[str, ...]:
    import base64

    from trio_trader.pump.addresses import PUMP_AMM_PROGRAM_ID
    from trio_trader.pump.amm import SellEvent, encode_amm_event

    k = Pubkey.new_unique
    event = SellEvent(
        1, 10, 1, 10, 0, 206_900_000_000_000, 85_000_000_000, net + 30_000, 20, 2_000, 5,
        500, net + 28_000, net, pool, user, k(), k(), k(), k(),
    )  # fmt: skip
    amm = str(PUMP_AMM_PROGRAM_ID)
    line = "Program data: " + base64.b64encode(encode_amm_event(event)).decode()
    return (f"Program {amm} invoke [1]", line, f"Program {amm} success")


def test_a_pool_sell_books_the_amm_sell_events_net_quote_out() -> None:
    from trio_trader.pump.amm.addresses import canonical_pool_pda
    from trio_trader.trading.orders import VENUE_AMM

    mint, wallet = Pubkey.new_unique(), Pubkey.new_unique()
    pool = canonical_pool_pda(mint)
    sell = _sell(mint)
    sell.venue = VENUE_AMM
    logs = _amm_sell_logs(pool, wallet, 1_234_567)
    assert pump_sol(_tx(logs), wallet, sell) == 1_234_567
    assert pump_sol(_tx(logs), Pubkey.new_unique(), sell) is None  # another user's
    other_pool = _amm_sell_logs(canonical_pool_pda(Pubkey.new_unique()), wallet, 9)
    assert pump_sol(_tx(other_pool), wallet, sell) is None  # another coin's pool
    curve_sell = _sell(mint)  # a curve SELL is never booked from an AMM event
    assert pump_sol(_tx(logs), wallet, curve_sell) is None
