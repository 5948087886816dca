"""What the bot logs: every order transition and the pre-confirmation SELL success rate,
the same counts as in the database, and never the wallet's secret key, even at DEBUG."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import base58
import pytest
import trio
from solders.keypair import Keypair

from tests.scenario.harness import running_bot
from trio_trader.store import PRE_CONFIRMATION_SELLS, PRE_CONFIRMATION_SELLS_SUCCEEDED


async def test_transitions_and_success_rate_are_logged_and_the_key_never_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wallet = Keypair()
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}, wallet=wallet) as h:
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
            counters = await h.repo.get_counters()
            everything = repr(h.bot) + repr(h.bot.trader.buyer) + repr(h.bot.trader.seller)
    buy, sell = position.buy_order, position.sell_order
    assert buy is not None
    assert sell is not None
    text = caplog.text
    assert f"buy {mint} attempt 1: SENT {buy.signature}" in text
    assert f"buy {mint} attempt 1: SENT → CONFIRMED slot={buy.confirmed_slot}" in text
    assert f"sell {mint} attempt 1: SENT {sell.signature}" in text
    assert f"sell {mint} attempt 1: SENT → CONFIRMED slot={sell.confirmed_slot}" in text
    assert f"{mint}: SELL attempt 1 sent before its BUY confirmed" in text
    assert "pre-confirmation SELLs: 1 sent, 1 resolved, 1 succeeded (100%)" in text
    # the same counts, in the database for reports
    assert counters[PRE_CONFIRMATION_SELLS] == 1
    assert counters[PRE_CONFIRMATION_SELLS_SUCCEEDED] == 1
    secret = bytes(wallet)
    for form in (
        str(wallet),  # solders' str() of a Keypair *is* the base58 secret
        base58.b58encode(secret[:32]).decode(),
        json.dumps(list(secret)),
        json.dumps(list(secret[:32]))[1:-1],
        secret.hex(),
        secret[:32].hex(),
    ):
        assert form not in text
        assert form not in everything
