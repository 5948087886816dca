"""A coin quoted in USDC, in the pure layers: its position keeps USDC apart from SOL,
booking reads the TradeEvent's quote amount, and the funds check counts USDC."""

from __future__ import annotations

import base64

from solders.pubkey import Pubkey

from tests.store.factories import make_buy_order, make_sell_order, make_token_info, send
from trio_trader.budget import BuyRents
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, USDC_MINT, ZERO_KEY
from trio_trader.pump.events import TradeEvent, encode_event
from trio_trader.trading.booking import estimated_booking, pump_sol, transaction_fee
from trio_trader.trading.funds import WalletFunds, worst_buy_cost
from trio_trader.trading.position import Position, pnl_by_quote
from trio_trader.trading.token_info import TokenInfo

RENTS = BuyRents(token_account=2_039_280, volume_accumulator=1_705_200, creator_vault=890_880)
WALLET = Pubkey.new_unique()


def usdc_coin(seed: int = 1) -> TokenInfo:
    return make_token_info(seed, quote_mint=USDC_MINT)


def test_a_usdc_position_keeps_usdc_and_sol_apart_to_the_unit() -> None:
    info = usdc_coin()
    position = Position.create_from_token_info(info)
    buy = make_buy_order(info, sol_cost=5_000_000, max_sol_cost=5_500_000)
    send(buy)
    position.update_from_buy_order(buy)
    assert (position.quote_spent, position.sol_spent) == (5_000_000, None)  # the quote
    result = buy.mark_confirmed(
        slot=1, fee_lamports=10_000, sol_change=-3_900_000, token_change=buy.token_amount,
        pump_sol=4_990_000, quote_change=-4_990_000,
    )  # fmt: skip
    position.apply_buy_result(result)
    assert (position.quote_spent, position.sol_spent) == (4_990_000, 3_900_000)
    sell = make_sell_order(info, sol_output=4_800_000)
    send(sell)
    position.update_from_sell_order(sell, exit_reason="take_profit")
    position.apply_sell_result(
        sell.mark_confirmed(
            slot=2, fee_lamports=10_000, sol_change=2_029_280, token_change=-sell.token_amount,
            pump_sol=4_801_000, quote_change=4_801_000,
        )
    )  # fmt: skip
    assert position.is_closed
    assert position.realized_pnl_quote == 4_801_000 - 4_990_000
    assert position.realized_pnl_lamports == 2_029_280 - 3_900_000  # fees and rent only
    assert position.realized_pnl == position.realized_pnl_quote
    assert position.trading_pnl_quote == 4_801_000 - 4_990_000
    assert position.trading_pnl_lamports is None
    assert position.pnl_text() == "-0.189000 USDC (-3.8 %) and -0.001870720 SOL fees/rent"
    sol_coin = Position.create_from_token_info(make_token_info(2))
    sol_coin.close("buy_failed")
    assert pnl_by_quote([position, sol_coin]) == {
        str(USDC_MINT): {
            "positions": 1, "realized_pnl_units": -189_000, "trading_pnl_units": -189_000,
        }
    }  # fmt: skip


def test_a_failed_usdc_buy_spent_no_usdc_only_its_fee() -> None:
    info = usdc_coin()
    position = Position.create_from_token_info(info)
    buy = make_buy_order(info)
    send(buy)
    position.update_from_buy_order(buy)
    failed = buy.mark_failed(
        error_code=6002, slot=3, fee_lamports=5_000, sol_change=-5_000, token_change=0,
        quote_change=0,
    )  # fmt: skip
    position.apply_buy_result(failed)
    assert position.is_closed
    assert (position.realized_pnl_quote, position.realized_pnl_lamports) == (0, -5_000)


def _tx(event: TradeEvent) -> TransactionInfo:
    logs = (
        f"Program {PUMP_PROGRAM_ID} invoke [1]",
        f"Program data: {base64.b64encode(encode_event(event)).decode()}",
        f"Program {PUMP_PROGRAM_ID} success",
    )
    return TransactionInfo(
        signature=None, slot=1, block_time=None, err=None, fee=5000, log_messages=logs,
        account_keys=(), pre_balances=(), post_balances=(), pre_token_balances=(),
        post_token_balances=(),
    )  # fmt: skip


def _event(info: TokenInfo, *, sol_amount: int, quote_amount: int, is_buy: bool) -> TradeEvent:
    fields = dict.fromkeys(
        ("total_unclaimed_tokens", "total_claimed_tokens", "current_sol_volume",
         "last_update_timestamp", "cashback_fee_basis_points", "cashback",
         "buyback_fee_basis_points", "buyback_fee", "virtual_quote_reserves",
         "real_quote_reserves"), 0,
    )  # fmt: skip
    return TradeEvent(
        mint=info.mint, sol_amount=sol_amount, token_amount=10**9, is_buy=is_buy, user=WALLET,
        timestamp=0, virtual_sol_reserves=1, virtual_token_reserves=1, real_sol_reserves=1,
        real_token_reserves=1, fee_recipient=ZERO_KEY, fee_basis_points=95, fee=47_500,
        creator=ZERO_KEY, creator_fee_basis_points=30, creator_fee=15_000, track_volume=False,
        ix_name="buy_v2" if is_buy else "sell_v2", mayhem_mode=False, shareholders=(),
        quote_mint=info.quote_mint or ZERO_KEY, quote_amount=quote_amount, **fields,
    )  # fmt: skip


def test_booking_reads_a_usdc_trade_from_the_events_quote_amount() -> None:
    """Which of ``sol_amount`` / ``quote_amount`` mainnet fills for a USDC trade is not
    documented: the quote amount is the one named for it, so it is the one booked."""
    info = usdc_coin()
    buy, sell = make_buy_order(info), make_sell_order(info)
    tx_buy = _tx(_event(info, sol_amount=0, quote_amount=5_000_000, is_buy=True))
    tx_sell = _tx(_event(info, sol_amount=0, quote_amount=4_000_000, is_buy=False))
    assert pump_sol(tx_buy, WALLET, buy) == 5_000_000 + 62_500
    assert pump_sol(tx_sell, WALLET, sell) == 4_000_000 - 62_500
    sol_info = make_token_info(3)  # a SOL coin's event: sol_amount, as always
    sol_event = _event(sol_info, sol_amount=7_000_000, quote_amount=7_000_000, is_buy=True)
    assert pump_sol(_tx(sol_event), WALLET, make_buy_order(sol_info)) == 7_062_500


def test_an_unreadable_usdc_trade_is_booked_in_usdc_with_the_fee_in_sol() -> None:
    info = usdc_coin()
    buy = make_buy_order(info)
    booked = estimated_booking(buy)
    assert booked.sol_change == -transaction_fee(buy)
    assert booked.quote_change == -buy.sol_cost
    sell = make_sell_order(info)
    booked = estimated_booking(sell)
    assert (booked.sol_change, booked.quote_change) == (-transaction_fee(sell), sell.sol_output)
    sol_buy = make_buy_order(make_token_info(3))
    assert estimated_booking(sol_buy).quote_change is None


def test_the_funds_check_counts_usdc_for_the_buy_and_sol_for_its_fees_and_rent() -> None:
    info = usdc_coin()
    buy = make_buy_order(info, max_sol_cost=5_500_000)
    send(buy)
    sol_needed = worst_buy_cost(buy, RENTS)
    assert sol_needed < buy.max_sol_cost + RENTS.total  # no USDC counted as SOL
    # the vault the BUY may open is a USDC token account (its rent, not a bare account's)
    assert sol_needed == (
        RENTS.total - RENTS.creator_vault + RENTS.token_account + 2 * transaction_fee(buy)
    )
    funds = WalletFunds(
        rpc=None, wallet=WALLET, rents=RENTS, lamports=sol_needed,  # type: ignore[arg-type]
        quotes=(USDC_MINT,), quote_units={USDC_MINT: 10_000_000},
    )  # fmt: skip
    assert funds.can_pay(buy)
    funds.reserve(buy)
    assert funds.quote_available(USDC_MINT) == 4_500_000
    second = make_buy_order(usdc_coin(2), max_sol_cost=5_500_000)
    send(second, 2)
    assert not funds.can_pay(second)  # 4.5 USDC left for a 5.5 USDC BUY (and no SOL)
    funds.lamports = 10 * sol_needed
    assert not funds.can_pay(second)  # SOL alone does not pay a USDC BUY
    buy.mark_confirmed(slot=1, fee_lamports=5_000, sol_change=-4_000_000, token_change=1,
                       quote_change=-5_100_000)  # fmt: skip
    funds.release(buy)
    assert funds.quote_units[USDC_MINT] == 4_900_000
    assert funds.quote_available(USDC_MINT) == 4_900_000
    assert not funds.can_pay(second)


def test_the_run_summary_shows_usdc_pnl_on_its_own_line() -> None:
    from trio_trader import summary as summary_mod

    summary = {
        "wallet": "w", "positions_this_run": {"opened": 2, "closed": 2, "open": 0,
        "buy_failed": 0}, "pre_confirmation_sells_this_run": {"sent": 0, "succeeded": 0},
        "realized_pnl_this_run_lamports": -3_000_000,
        "pnl_by_quote_this_run": {str(USDC_MINT): {"positions": 1,
                                  "realized_pnl_units": 1_250_000, "trading_pnl_units": 0}},
        "wallet_sol_change_this_run_lamports": -3_000_000, "balances_source": "rpc",
        "open_positions_in_database": 0, "token_balances": {},
    }  # fmt: skip
    lines = summary_mod.format_summary(summary).splitlines()
    assert "realised PnL this run: -0.003000000 SOL" in lines
    assert (
        "realised PnL this run: +1.25 USDC (1 positions quoted in it; their fees and rent are "
        "in SOL above)" in lines
    )
