"""A pump trade's ``Program data:`` line is read as far as a price needs (`_pump_payloads`).

Its first 280 base64 characters (the event's first 210 bytes, up to and with ``creator``) are
decoded strictly; the rest of the line is neither decoded nor checked, like the fields it
holds. Every other line (a create, a short 2024 trade, anything else pump prints) is read
whole as before. The prices must be exactly the full decoder's, byte for byte, on the real
samples; a garbled head is logged and skipped; the invoke-stack rule still decides whose
line it is.
"""

from __future__ import annotations

import base64

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.listeners import decode
from trio_trader.listeners.decode import decode_transaction
from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump import events as ev
from trio_trader.pump._events import PROGRAM_DATA
from trio_trader.pump.addresses import bonding_curve_pda

from .test_fast_decode import full_trade

PUMP = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
ROUTER = "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1"
AT = {"signature": "sig", "slot": 9, "seen_at": 1.5}
READ = decode._TRADE_LINE_READ  # characters of a trade line read: "Program data: " + 280


def pump_tx(*lines: str) -> list[str]:
    return [f"Program {PUMP} invoke [1]", *lines, f"Program {PUMP} success"]


def data_line(raw: bytes) -> str:
    return PROGRAM_DATA + base64.b64encode(raw).decode()


def full_price(raw: bytes) -> PriceUpdate:
    event = ev.decode_event(raw)
    assert isinstance(event, ev.TradeEvent)
    return PriceUpdate.from_event(event, **AT)  # type: ignore[arg-type]


def garbled(line: str, at: int) -> str:
    """``line`` with the character at ``at`` (and the next two) made invalid base64."""
    return line[:at] + "!!!" + line[at + 3 :]


@pytest.mark.parametrize(
    "sample", ["s09_vixen_buy_program_data.log", "s10_vixen_sell_program_data.log"]
)
def test_a_real_trade_line_prices_as_the_full_decoder_from_its_head(sample: str) -> None:
    line = load_sample(sample).strip()
    raw = base64.b64decode(line[len(PROGRAM_DATA) :], validate=True)
    assert len(line) > READ  # the head is read, not the whole line
    assert decode._pump_payloads(pump_tx(line), "sig") == [raw[:210]]
    tokens, prices = decode_transaction(pump_tx(line), **AT)  # type: ignore[arg-type]
    assert tokens == []
    assert prices == [full_price(raw)]
    assert prices[0].creator is not None  # read from the head
    assert prices[0].creator == full_price(raw).creator


def test_a_trade_tail_is_neither_decoded_nor_checked() -> None:
    """Garbage past the head (a future layout's, or a node's) costs no price; a held mint's
    trade is found and read as before."""
    trade = attrs.evolve(full_trade(), sol_amount=77)
    raw = ev.encode_event(trade)
    line = data_line(raw)
    for at in (READ, READ + 40, len(line) - 3):
        tail_garbled = garbled(line, at)
        for wants in (None, {bytes(trade.mint)}.__contains__):
            _, prices = decode_transaction(pump_tx(tail_garbled), **AT, wants=wants)  # type: ignore[arg-type]
            assert prices == [full_price(raw)]


def test_a_garbled_trade_head_is_logged_and_skipped_and_the_next_trade_priced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = attrs.evolve(full_trade(), sol_amount=5)
    line = data_line(ev.encode_event(full_trade()))
    for at in (len(PROGRAM_DATA) + 12, READ - 3):
        caplog.clear()
        logs = pump_tx(garbled(line, at), data_line(ev.encode_event(good)))
        _, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
        assert [p.sol_amount for p in prices] == [5]
        assert "undecodable base64" in caplog.text


def test_other_lines_are_read_whole(caplog: pytest.LogCaptureFixture) -> None:
    """A create line (its tail is the token's facts), a 2024 trade (shorter than the head)
    and a trade line with a space before its base64 are decoded whole, as before."""
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("n" * 40, "s" * 10, "u" * 120, mint, bonding_curve_pda(mint),
                            Pubkey.new_unique(), Pubkey.new_unique(), 1, 2, 3, 4, 5)  # fmt: skip
    create_line = data_line(ev.encode_event(create))
    assert len(create_line) > READ
    tokens, _ = decode_transaction(pump_tx(create_line), **AT)  # type: ignore[arg-type]
    assert [t.token_info.uri for t in tokens] == ["u" * 120]
    tokens, _ = decode_transaction(pump_tx(garbled(create_line, READ + 8)), **AT)  # type: ignore[arg-type]
    assert tokens == []
    assert "undecodable base64" in caplog.text

    old = ev.encode_event(full_trade())[: 8 + 121]  # the 2024 layout: 172 characters
    assert len(data_line(old)) < READ
    assert decode._pump_payloads(pump_tx(data_line(old)), "sig") == [old]
    caplog.clear()
    assert decode._pump_payloads(pump_tx(garbled(data_line(old), 150)), "sig") == []
    assert "undecodable base64" in caplog.text

    raw = ev.encode_event(full_trade())
    spaced = PROGRAM_DATA + " " + base64.b64encode(raw).decode() + " "
    assert decode._pump_payloads(pump_tx(spaced), "sig") == [raw]


def test_a_held_trade_printed_by_another_program_is_not_pumps() -> None:
    """The head is read only from lines the invoke-stack scan gave pump: a router's copy of
    a held coin's trade, printed on top of pump's frame, prices nothing."""
    trade = full_trade()
    line = data_line(ev.encode_event(trade))
    wants = {bytes(trade.mint)}.__contains__
    hidden = pump_tx(f"Program {ROUTER} invoke [2]", line, f"Program {ROUTER} success")
    assert decode_transaction(hidden, **AT, wants=wants) == ([], [])  # type: ignore[arg-type]
    routed = [f"Program {ROUTER} invoke [1]", line, f"Program {PUMP} invoke [2]",
              f"Program {PUMP} success", f"Program {ROUTER} success"]  # fmt: skip
    assert decode_transaction(routed, **AT, wants=wants) == ([], [])  # type: ignore[arg-type]
