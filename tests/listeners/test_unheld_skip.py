"""Trades of coins no position holds are skipped before the invoke-stack scan; the rest of
the pipeline (listener → trade feed → inbox) routes every held coin's trade of a batch.

The pre-check reads an event line's first 42 bytes (discriminator and mint): it may only
skip what the full read would not have yielded, and must leave anything it cannot judge
(a new token, a cut or malformed line) to the full read.
"""

from __future__ import annotations

import base64
from functools import partial

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from trio_trader.listeners import decode as decode_module
from trio_trader.listeners.decode import decode_transaction
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import NewToken, PriceUpdate
from trio_trader.pump import events as ev
from trio_trader.pump.addresses import bonding_curve_pda
from trio_trader.trading.feed import TradeFeed

from .test_fast_decode import full_trade
from .test_fast_prices import AT, PUMP, ROUTER, line

HELD, OTHER = Pubkey.new_unique(), Pubkey.new_unique()


def holds(mint: bytes) -> bool:
    return mint == bytes(HELD)


def trade(mint: Pubkey, sol: int = 1) -> ev.TradeEvent:
    return attrs.evolve(full_trade(), mint=mint, sol_amount=sol)


def record(into: list[int], update: PriceUpdate) -> None:
    into.append(update.sol_amount)


def pump_tx(*data_lines: str) -> list[str]:
    head = [f"Program {PUMP} invoke [1]", "Program log: Instruction: Buy"]
    return [*head, *data_lines, f"Program {PUMP} consumed 9 of 20 units", f"Program {PUMP} success"]


def test_a_trade_of_an_unheld_coin_is_skipped_before_the_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_scan(*args: object) -> list[str]:
        raise AssertionError("the invoke stack was scanned for a coin nobody holds")

    monkeypatch.setattr(decode_module, "program_data_lines", no_scan)
    assert decode_transaction(pump_tx(line(trade(OTHER))), **AT, wants=holds) == ([], [])  # type: ignore[arg-type]


def test_held_trades_new_tokens_and_mixed_transactions_are_read_whole() -> None:
    _, prices = decode_transaction(pump_tx(line(trade(HELD, 5))), **AT, wants=holds)  # type: ignore[arg-type]
    assert [(p.mint, p.sol_amount) for p in prices] == [(HELD, 5)]
    # one held trade makes the whole transaction count, as without the filter
    logs = pump_tx(line(trade(OTHER, 1)), line(trade(HELD, 2)))
    assert decode_transaction(logs, **AT, wants=holds) == decode_transaction(logs, **AT)  # type: ignore[arg-type]
    # a new token is always read (the detect path), whatever mint it is
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("a", "b", "c", mint, bonding_curve_pda(mint), Pubkey.new_unique())
    create_line = "Program data: " + base64.b64encode(ev.encode_event(create)).decode()
    tokens, prices = decode_transaction(pump_tx(create_line, line(trade(mint))), **AT, wants=holds)  # type: ignore[arg-type]
    assert [t.token_info.mint for t in tokens] == [mint]
    assert [p.mint for p in prices] == [mint]


def test_a_held_coins_look_alike_printed_by_another_program_still_does_not_count() -> None:
    logs = [f"Program {ROUTER} invoke [1]", line(trade(HELD)), f"Program {ROUTER} success"]
    assert decode_transaction(logs, **AT, wants=holds) == ([], [])  # type: ignore[arg-type]


def test_what_the_pre_check_cannot_judge_goes_to_the_full_read_which_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    short = "Program data: " + base64.b64encode(ev.encode_event(trade(OTHER))[:30]).decode()
    for bad in ("Program data: !!notbase64-but-long-enough-to-fill-the-56-character-head!!", short):
        caplog.clear()
        assert decode_transaction(pump_tx(bad), **AT, wants=holds) == ([], [])  # type: ignore[arg-type]
        assert "pump" in caplog.text  # the full read looked at it and said why it skipped


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                line(trade(HELD)),
                line(trade(OTHER)),
                f"Program {PUMP} invoke [1]",
                f"Program {PUMP} invoke [2]",
                f"Program {ROUTER} invoke [1]",
                f"Program {ROUTER} invoke [2]",
                f"Program {PUMP} success",
                f"Program {ROUTER} success",
                "Program log: Instruction: Buy",
                "",
                "Program data: AAAA",
                "Program data: " + "x" * 60,
                "Program log: Program data: " + base64.b64encode(bytes(42)).decode(),
            ]
        ),
        max_size=12,
    )
)
def test_the_filter_only_ever_drops_trades_of_unheld_coins(logs: list[str]) -> None:
    tokens, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    kept_tokens, kept_prices = decode_transaction(logs, **AT, wants=holds)  # type: ignore[arg-type]
    assert kept_tokens == tokens
    if kept_prices != prices:  # skipped unread: only when it held nothing of a held coin
        assert kept_prices == []
        assert all(p.mint != HELD for p in prices)


async def test_a_batch_with_a_malformed_event_routes_every_other_trade_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = TradeFeed()
    mints = [Pubkey.new_unique() for _ in range(3)]
    listener = LogsListener(pubsub=None, wants=feed.holds)  # type: ignore[arg-type]
    seen: dict[Pubkey, list[int]] = {m: [] for m in mints}
    cut = "Program data: " + base64.b64encode(ev.encode_event(trade(mints[0], 99))[:100]).decode()
    batch = [pump_tx(line(trade(mints[n % 3], n))) for n in range(9)]
    batch.insert(4, pump_tx(cut))  # a held coin's event cut short: skipped, logged
    batch.insert(6, pump_tx(line(trade(OTHER, 77))))  # nobody holds it
    with (
        feed.subscribe(mints[0]) as a,
        feed.subscribe(mints[1]) as b,
        feed.subscribe(mints[2]) as c,
    ):
        for mint, inbox in zip(mints, (a, b, c), strict=True):
            inbox.listen(partial(record, seen[mint]))
        tokens: list[NewToken] = []
        for n, logs in enumerate(batch):
            item = {
                "context": {"slot": 1},
                "value": {"signature": f"s{n}", "err": None, "logs": logs},
            }
            listener.handle(item, tokens.append, feed.publish)
    assert seen == {mints[0]: [0, 3, 6], mints[1]: [1, 4, 7], mints[2]: [2, 5, 8]}
    assert tokens == []
    assert "skipping malformed pump TradeEvent in s4" in caplog.text
    assert feed.stats.published == 9
    assert listener.stats.prices == 9
