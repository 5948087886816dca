"""Orders and token info: the state machine of one transaction, and its values."""

from __future__ import annotations

import base64
from collections.abc import Callable

import attrs
import pytest
from solders.hash import Hash
from solders.signature import Signature

from tests.conftest import load_sample
from tests.store.factories import (
    MAX_SOL_COST,
    MIN_SOL_OUTPUT,
    SOL_COST,
    SOL_OUTPUT,
    TOKENS,
    key,
    make_buy_order,
    make_sell_order,
    make_token_info,
    send,
)
from trio_trader.pump import addresses
from trio_trader.pump.curve import INITIAL_RESERVES, Reserves
from trio_trader.pump.events import CreateEvent, parse_logs
from trio_trader.trading.orders import Order, OrderState, OrderStateError, TradeResult
from trio_trader.trading.token_info import TokenInfo


def test_buy_order_goes_pending_sent_confirmed_and_reports_wallet_deltas() -> None:
    order = make_buy_order(make_token_info())
    assert order.state is OrderState.PENDING
    raw = b"\x01signed-transaction-bytes"
    sig = Signature(bytes(range(64)))
    blockhash = Hash(bytes(range(32)))
    order.attach_transaction(
        signature=sig, raw_transaction=raw, blockhash=blockhash, last_valid_block_height=123
    )
    assert order.state is OrderState.PENDING  # signed is not sent
    assert order.signature == str(sig)
    assert order.blockhash == str(blockhash)
    assert order.raw_transaction == base64.b64encode(raw).decode()
    assert order.raw_bytes() == raw
    assert order.raw_base64() == base64.b64encode(raw).decode()  # what sendTransaction sends

    order.mark_sent(sent_at=5.25, sent_at_wall=1_780_000_000.0)
    assert (order.state, order.sent_at, order.sent_at_wall) == (OrderState.SENT, 5.25, 1.78e9)
    assert not order.is_resolved

    result = order.mark_confirmed(
        slot=77, fee_lamports=29_000, sol_change=-(SOL_COST + 29_000 + 2_039_280),
        token_change=TOKENS,
    )  # fmt: skip
    assert order.is_resolved
    assert order.to_result().state == OrderState.CONFIRMED
    assert result == TradeResult(
        success=True, state=OrderState.CONFIRMED, signature=str(sig),
        sol_change=-(SOL_COST + 29_000 + 2_039_280), token_change=TOKENS, fee=29_000, slot=77,
    )  # fmt: skip
    assert order.to_result() == result


def test_failed_order_keeps_error_and_fee_of_a_landed_transaction() -> None:
    order = make_sell_order(make_token_info())
    send(order)
    err = {"InstructionError": [4, {"Custom": 3012}]}
    result = order.mark_failed(
        error=err, error_code=3012, error_name="AccountNotInitialized",
        error_message="token account missing", slot=90, fee_lamports=5_000,
        sol_change=-5_000, token_change=0,
    )  # fmt: skip
    assert order.state is OrderState.FAILED
    assert not result.success
    assert (result.error_code, result.error_name, result.sol_change, result.slot) == (
        3012, "AccountNotInitialized", -5_000, 90,
    )  # fmt: skip
    assert order.error == err


def test_order_rejected_before_sending_fails_without_amounts() -> None:
    order = make_buy_order(make_token_info())
    result = order.mark_failed(error="blockhash not found", error_message="rejected")
    assert order.state is OrderState.FAILED
    assert (result.sol_change, result.token_change, result.fee, result.signature) == (
        None, None, None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ("pending", "confirm"),
        ("pending", "send_unsigned"),
        ("sent", "send"),
        ("sent", "attach"),
        ("confirmed", "fail"),
        ("confirmed", "confirm"),
        ("failed", "send"),
        ("failed", "fail"),
    ],
)
def test_impossible_transitions_raise_and_leave_the_state_alone(setup: str, action: str) -> None:
    order = make_sell_order(make_token_info())
    if setup != "pending":
        send(order)
    if setup == "confirmed":
        order.mark_confirmed(slot=1, fee_lamports=1, sol_change=1, token_change=-TOKENS)
    if setup == "failed":
        order.mark_failed(error_name="X")
    actions: dict[str, Callable[[], object]] = {
        "confirm": lambda: order.mark_confirmed(
            slot=1, fee_lamports=1, sol_change=1, token_change=1
        ),
        "send": lambda: order.mark_sent(sent_at=1.0, sent_at_wall=1.0),
        "send_unsigned": lambda: order.mark_sent(sent_at=1.0, sent_at_wall=1.0),
        "attach": lambda: order.attach_transaction(
            signature="s", raw_transaction=b"x", blockhash="h", last_valid_block_height=1
        ),
        "fail": lambda: order.mark_failed(error_name="Y"),
    }
    before = order.state
    with pytest.raises(OrderStateError):
        actions[action]()
    assert order.state is before


def test_unresolved_order_has_no_result_and_unsigned_has_no_bytes() -> None:
    order = make_buy_order(make_token_info())
    with pytest.raises(OrderStateError):
        order.raw_bytes()
    with pytest.raises(OrderStateError):
        order.raw_base64()
    send(order)
    with pytest.raises(OrderStateError):
        order.to_result()


def test_sides_expose_their_expected_amount_and_limit() -> None:
    ti = make_token_info()
    buy, sell = make_buy_order(ti), make_sell_order(ti)
    assert (buy.side, buy.sol_amount, buy.sol_limit) == ("buy", SOL_COST, MAX_SOL_COST)
    assert (sell.side, sell.sol_amount, sell.sol_limit) == ("sell", SOL_OUTPUT, MIN_SOL_OUTPUT)
    assert sell.sent_before_buy_confirmed is False
    assert buy.mint == str(ti.mint)
    assert buy.attempt == 1
    with pytest.raises(TypeError):
        Order(token_info=ti, token_amount=1)  # type: ignore[abstract]


def test_order_states_are_strings_for_storage() -> None:
    assert [s.value for s in OrderState] == ["pending", "sent", "confirmed", "failed"]
    assert OrderState("sent") is OrderState.SENT


def test_token_info_from_v2_create_event_uses_token_2022_and_flags() -> None:
    mint, user, creator = key(5, 1), key(5, 3), key(5, 2)
    ev = CreateEvent(
        name="Moon", symbol="MOON", uri="https://x.invalid/m.json", mint=mint,
        bonding_curve=addresses.bonding_curve_pda(mint), user=user, creator=creator,
        timestamp=1_780_000_123, virtual_token_reserves=INITIAL_RESERVES.virtual_token,
        virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
        real_token_reserves=INITIAL_RESERVES.real_token,
        token_total_supply=10**15, token_program=addresses.TOKEN_2022_PROGRAM_ID,
        is_mayhem_mode=True, is_cashback_enabled=True,
    )  # fmt: skip
    ti = TokenInfo.from_create_event(ev, signature="sig5")
    assert ti.token_program == addresses.TOKEN_2022_PROGRAM_ID
    assert ti.associated_bonding_curve == addresses.associated_token_address(
        ti.bonding_curve, mint, addresses.TOKEN_2022_PROGRAM_ID
    )
    assert (ti.creator, ti.user, ti.created_at, ti.signature) == (
        creator, user, 1_780_000_123, "sig5",
    )  # fmt: skip
    assert (ti.is_mayhem_mode, ti.is_cashback_coin) == (True, True)
    assert (ti.virtual_sol_reserves, ti.virtual_token_reserves, ti.real_token_reserves) == (
        INITIAL_RESERVES.virtual_sol, INITIAL_RESERVES.virtual_token, INITIAL_RESERVES.real_token,
    )  # fmt: skip
    assert ti.display_name == f"MOON ({str(mint)[:8]})"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ti.symbol = "X"  # type: ignore[misc]


def test_token_info_takes_the_reserves_after_the_creators_buy_when_given() -> None:
    mint = key(6, 1)
    ev = CreateEvent(
        name="Moon", symbol="MOON", uri="", mint=mint,
        bonding_curve=addresses.bonding_curve_pda(mint), user=key(6, 3), creator=key(6, 4),
        virtual_token_reserves=INITIAL_RESERVES.virtual_token,
        virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
        real_token_reserves=INITIAL_RESERVES.real_token,
    )  # fmt: skip
    after = Reserves(31 * 10**9, 10**15, 10**9, 7 * 10**14)
    ti = TokenInfo.from_create_event(ev, signature="sig6", reserves=after)
    assert (ti.virtual_sol_reserves, ti.virtual_token_reserves, ti.real_token_reserves) == (
        31 * 10**9, 10**15, 7 * 10**14,
    )  # fmt: skip
    assert ti == attrs.evolve(
        TokenInfo.from_create_event(ev, signature="sig6"),
        virtual_sol_reserves=31 * 10**9, virtual_token_reserves=10**15,
        real_token_reserves=7 * 10**14,
    )  # fmt: skip


def test_token_info_from_2024_create_event_matches_the_create_instruction() -> None:
    tx = load_sample("s02_chainstack_getTransaction_create_then_buy_2024-08-20.json")["result"]
    (ev,) = [e for e in parse_logs(tx["meta"]["logMessages"]) if isinstance(e, CreateEvent)]
    ti = TokenInfo.from_create_event(ev, signature=tx["transaction"]["signatures"][0])
    create_ix = next(
        ix for ix in tx["transaction"]["message"]["instructions"]
        if ix.get("programId") == str(addresses.PUMP_PROGRAM_ID) and len(ix["accounts"]) == 14
    )  # fmt: skip
    mint, _auth, curve, assoc_curve = create_ix["accounts"][:4]
    assert (str(ti.mint), str(ti.bonding_curve), str(ti.associated_bonding_curve)) == (
        mint, curve, assoc_curve,
    )  # fmt: skip
    # 2024 events had no creator nor token program: deployer and legacy SPL Token
    assert ti.creator == ti.user == ev.user
    assert ti.token_program == addresses.TOKEN_PROGRAM_ID
    assert ti.created_at is None
    assert ti.virtual_sol_reserves is None
    assert (ti.is_mayhem_mode, ti.is_cashback_coin) == (False, False)
