"""``--log-json`` and ``--log-file``: one JSON object per record, with the keys of the trade,
from a bot trading on the simulator; API keys in URLs never reach the log."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.pubkey import Pubkey

from tests.scenario.harness import running_bot
from tests.store.factories import make_buy_order, make_sell_order, make_token_info, send
from trio_trader.trading.position import Position
from trio_trader.ui.logs import (
    TextFormatter,
    hand_terminal_to_dashboard,
    record_fields,
    reset_logging,
    setup_logging,
)

KEYED = "https://mainnet.helius-rpc.com/?api-key=0b7c2f3e-1a2b-4c5d-9e8f-123456789abc"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.usefixtures("restore_logging")
async def test_json_lines_carry_mint_position_signature_and_state(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "bot.jsonl"
    assert setup_logging(log_file=log_file, json_lines=True) == log_file
    logging.getLogger("trio_trader.chain.rpc").warning("failing over to %s", KEYED)
    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.0}}) as h:
            mint = await h.launch()
            await h.wait_until(lambda: h.all_closed(1))
            (position,) = await h.assert_books_balance()
    reset_logging()
    records = _lines(log_file)  # every line is one JSON object
    assert all({"ts", "time", "level", "logger", "message"} <= r.keys() for r in records)
    assert not any("0b7c2f3e" in json.dumps(r) for r in records)
    assert any(r["message"] == "failing over to " + KEYED.split("=")[0] + "=***" for r in records)
    buy, sell = position.buy_order, position.sell_order
    assert buy is not None
    assert sell is not None
    sent = [r for r in records if r.get("state") == "sent" and r["logger"].endswith("orders")]
    assert [(r["side"], r["mint"], r["signature"]) for r in sent] == [
        ("buy", str(mint), buy.signature),
        ("sell", str(mint), sell.signature),
    ]
    confirmed = {r["side"] for r in records if r.get("state") == "confirmed"}
    assert confirmed == {"buy", "sell"}
    (closed,) = [r for r in records if "closed" in r["message"] and "position_id" in r]
    assert (closed["mint"], closed["position_id"], closed["state"]) == (
        str(mint),
        position.id,
        "closed",
    )
    pnl = position.realized_pnl_lamports
    assert pnl is not None
    assert position.pnl_base
    assert (
        f"PnL {pnl / 10**9:+.9f} SOL ({100 * pnl / position.pnl_base:+.1f} %)"
        in (closed["message"])
    )
    early = [r for r in records if "sent before its BUY confirmed" in r["message"]]
    assert early
    assert early[-1]["signature"] == sell.signature


def test_the_wallet_named_by_the_app_is_not_taken_for_a_mint() -> None:
    wallet = Pubkey.new_unique()
    app = logging.LogRecord("trio_trader.app", logging.INFO, "f", 1, "wallet %s", (wallet,), None)
    trade = logging.LogRecord(
        "trio_trader.trading.trader", logging.INFO, "f", 1, "skip %s", (wallet,), None
    )
    assert record_fields(app) == {}
    assert record_fields(trade) == {"mint": str(wallet)}


@pytest.mark.usefixtures("restore_logging")
def test_text_log_file_masks_keys_even_in_tracebacks(tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    setup_logging(log_file=log_file)
    log = logging.getLogger("trio_trader.test")
    try:
        raise RuntimeError(f"cannot reach {KEYED}")
    except RuntimeError:
        log.exception("endpoint %s down", KEYED)
    reset_logging()
    text = log_file.read_text(encoding="utf-8")
    assert "endpoint https://mainnet.helius-rpc.com/?api-key=*** down" in text
    assert "RuntimeError: cannot reach https://mainnet.helius-rpc.com/?api-key=***" in text
    assert "0b7c2f3e" not in text
    assert (
        TextFormatter()
        .format(logging.LogRecord("x", logging.INFO, "f", 1, "%s", (KEYED,), None))
        .endswith("x: https://mainnet.helius-rpc.com/?api-key=***")
    )


@pytest.mark.usefixtures("restore_logging")
def test_the_dashboard_sends_the_log_to_a_file_not_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a fresh process
    terminal = io.StringIO()
    assert setup_logging(dashboard=True, stream=terminal) == Path("trio-trader.log")
    logging.getLogger("trio_trader.test").info("with the dashboard")
    assert setup_logging(stream=terminal) is None
    logging.getLogger("trio_trader.test").info("without it")
    reset_logging()
    assert "with the dashboard" in (tmp_path / "trio-trader.log").read_text(encoding="utf-8")
    assert "with the dashboard" not in terminal.getvalue()
    assert "INFO    trio_trader.test: without it" in terminal.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_start_up_warnings_reach_the_terminal_until_the_dashboard_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    terminal = io.StringIO()
    setup_logging(dashboard=True, log_file=tmp_path / "bot.log", stream=terminal)
    log = logging.getLogger("trio_trader.test")
    log.info("start-up detail")
    log.warning("endpoint unreachable; retrying")
    hand_terminal_to_dashboard()
    log.warning("while the dashboard runs")
    reset_logging()
    assert terminal.getvalue().count("\n") == 1
    assert "WARNING trio_trader.test: endpoint unreachable; retrying" in terminal.getvalue()
    text = (tmp_path / "bot.log").read_text(encoding="utf-8")
    for line in ("start-up detail", "endpoint unreachable", "while the dashboard runs"):
        assert line in text


def test_a_close_before_the_buy_resolved_logs_its_pnl_once_the_buy_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="trio_trader.trading.position")
    info = make_token_info()
    position = Position.create_from_token_info(info)
    position.id = 7
    buy, sell = make_buy_order(info), make_sell_order(info)
    send(buy, 1)
    position.update_from_buy_order(buy)
    send(sell, 2)
    position.update_from_sell_order(sell, exit_reason="take_profit")
    position.apply_sell_result(
        sell.mark_confirmed(
            slot=2, fee_lamports=5_000, sol_change=1_180_000_000, token_change=-buy.token_amount
        )
    )
    assert position.is_closed
    assert position.realized_pnl_lamports is None  # the BUY's cost is not known yet
    position.apply_buy_result(
        buy.mark_confirmed(
            slot=1, fee_lamports=5_000, sol_change=-1_020_101_010, token_change=buy.token_amount
        )
    )
    assert position.realized_pnl_lamports == 159_898_990
    (record,) = [r for r in caplog.records if "before its BUY resolved" in r.getMessage()]
    assert record.getMessage() == (
        f"{info.mint}: position 7 closed before its BUY resolved: PnL +0.159898990 SOL (+15.8 %)"
    )  # a share of the BUY's quoted cost, 1_010_101_010
    assert record_fields(record) == {"mint": str(info.mint), "position_id": 7, "state": "closed"}
