"""Control of a running bot from another terminal, end to end on the simulator.

The bot is the production wiring (``tests/scenario/harness.py``) with the app's
:class:`CommandServer` beside it; the commands go through ``cli.main`` in a worker thread
(another "terminal": its own ``trio.run`` and its own SQLite connection), exactly as
``python -m trio_trader sell …`` would, against the bot's database file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.scenario.harness import Harness, running_bot
from trio_trader import cli
from trio_trader.pump.curve import Reserves, sell_proceeds
from trio_trader.trading.control import CommandServer
from trio_trader.trading.orders import BuyOrder

MANUAL = {"exits": {"never_sell": True}}  # no rule fires: only the operator sells


async def command(*argv: str) -> int:
    """``python -m trio_trader ARGV`` from "another terminal" (a worker thread)."""
    return await trio.to_thread.run_sync(cli.main, list(argv))


async def serve(h: Harness) -> CommandServer:
    server = CommandServer(trader=h.bot.trader, repo=h.repo, poll_interval=0.05)
    assert h.background is not None
    await h.background.start(server.run)
    return server


async def one_active(h: Harness) -> bool:
    positions = await h.positions()
    return len(positions) == 1 and positions[0].is_active


async def test_sell_position_closes_it_as_manual_and_books_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(tmp_path, config=MANUAL, db=db) as h:
        await serve(h)
        mint = await h.launch()
        await h.wait_until(lambda: one_active(h))
        (position,) = await h.positions()
        assert position.id == 1
        assert h.token_balance(mint) > 0

        # positions --config: the current price and unrealised PnL read from the curve
        config = tmp_path / "bot.toml"
        config.write_text(f'[rpc]\nendpoints = ["{h.sim.rpc_url}"]\n[db]\npath = "{db}"\n')
        capsys.readouterr()
        assert await command("positions", "--config", str(config), "--json") == 0
        (row,) = json.loads(capsys.readouterr().out)
        curve = h.sim.ledger.bonding_curve(mint)
        assert curve is not None
        assert position.token_amount
        assert position.entry_cost
        expected = sell_proceeds(position.token_amount, Reserves.of(curve)) - position.entry_cost
        assert row["unrealized_pnl_lamports"] == expected < 0  # fees and price impact
        assert row["entry_cost_lamports"] == position.entry_cost
        assert float(row["current_price_sol"]) > 0
        assert await command("positions", "--db", str(db), "--json") == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert row["unrealized_pnl_lamports"] is None  # no endpoint: unknown, not zero

        assert await command("sell", "--position", "1", "--db", str(db)) == 0
        out = capsys.readouterr().out
        assert "SELL requested for position 1 (TST) (exit reason manual)" in out
        await h.wait_until(lambda: h.settled(1))
        (closed,) = await h.assert_books_balance()
        assert (closed.status, closed.exit_reason) == ("closed", "manual")
        assert h.token_balance(mint) == 0

        # a closed position: a clear refusal, nothing sent
        assert await command("sell", "--position", "1", "--db", str(db)) == 1
        assert "position 1 is already closed (manual)" in capsys.readouterr().err
        assert await command("sell", "--position", "7", "--db", str(db)) == 1
        assert "error: no position 7" in capsys.readouterr().err
        assert len(await h.trades(1, "sell")) == 1


async def test_sell_before_the_buy_confirms_goes_out_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(tmp_path, config=MANUAL, db=db) as h:
        await serve(h)
        release = trio.Event()

        async def gate(_order: BuyOrder) -> None:
            await release.wait()

        h.buyer.confirm_gate = gate  # the BUY lands; the bot learns it only when released
        mint = await h.launch()

        async def landed() -> bool:
            return bool(await h.positions()) and h.token_balance(mint) > 0

        await h.wait_until(landed)
        assert await command("sell", "--mint", str(mint), "--db", str(db)) == 0
        out = capsys.readouterr().out
        assert "its BUY is not confirmed yet: the SELL may go out before it" in out

        async def sold() -> bool:
            (p,) = await h.positions()
            return p.sell_order is not None and h.token_balance(mint) == 0

        await h.wait_until(sold)
        (position,) = await h.positions()
        assert position.sell_order is not None
        assert position.sell_order.sent_before_buy_confirmed
        release.set()
        await h.wait_until(lambda: h.settled(1))
        (closed,) = await h.assert_books_balance()
        assert closed.exit_reason == "manual"


async def test_pause_skips_new_tokens_resume_buys_and_sell_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    async with running_bot(tmp_path, config=MANUAL, db=db) as h:
        await serve(h)
        stats = h.bot.trader.stats
        assert await command("pause", "--db", str(db)) == 0
        assert "buying paused" in capsys.readouterr().out
        assert await command("pause", "--db", str(db)) == 0
        assert "already paused" in capsys.readouterr().out
        await h.launch("Skipped")

        async def skipped() -> bool:
            return stats.skipped_paused == 1

        await h.wait_until(skipped)
        assert await h.positions() == []
        assert stats.buys_sent == 0

        assert await command("resume", "--db", str(db)) == 0
        assert "buying resumed" in capsys.readouterr().out
        first, second = await h.launch("One"), await h.launch("Two")

        async def both_active() -> bool:
            ps = await h.positions()
            return len(ps) == 2 and all(p.is_active for p in ps)

        await h.wait_until(both_active)
        assert {p.mint for p in await h.positions()} == {first, second}
        assert stats.skipped_paused == 1

        assert await command("sell", "--all", "--db", str(db)) == 0
        assert "SELL requested for 2 position(s)" in capsys.readouterr().out
        await h.wait_until(lambda: h.settled(2))
        positions = await h.assert_books_balance()
        assert [p.exit_reason for p in positions] == ["manual", "manual"]
        assert await command("sell", "--all", "--db", str(db)) == 1
        assert "no open position in this run" in capsys.readouterr().err


async def rows(db: Path) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        import sqlite3

        conn = sqlite3.connect(db)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM commands ORDER BY id")]
        finally:
            conn.close()

    return await trio.to_thread.run_sync(read)


async def test_without_a_running_bot_the_command_expires_and_is_never_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trio_trader.ui.control.COMMAND_TTL", 0.3)
    db = tmp_path / "bot.db"
    async with running_bot(tmp_path, config=MANUAL, db=db) as h:  # the bot, not serving
        mint = await h.launch()
        await h.wait_until(lambda: one_active(h))
        assert await command("sell", "--all", "--db", str(db)) == 1
        assert "no running bot took the command within" in capsys.readouterr().err
        (row,) = await rows(db)
        assert row["done_at"] is not None
        assert row["result"].startswith("expired")
        server = await serve(h)  # a bot that starts serving later does not act on it
        await trio.sleep(0.3)
        assert server.served == 0
        (position,) = await h.positions()
        assert position.is_active
        assert not position.is_closed
        assert h.token_balance(mint) > 0


async def test_a_database_that_is_missing_or_not_the_bots_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert await command("pause", "--db", str(missing)) == 2
    assert f"no bot database at {missing}" in capsys.readouterr().err
    assert not missing.exists()  # never created
    other = tmp_path / "other.db"

    def make() -> None:
        import sqlite3

        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE notes (x)")
        conn.commit()
        conn.close()

    await trio.to_thread.run_sync(make)
    assert await command("resume", "--db", str(other)) == 2
    assert "has no commands table" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: before anything is sent
        await command("sell", "--mint", "not-a-mint", "--db", str(other))
    assert exc.value.code == 2
    assert "not a mint address" in capsys.readouterr().err
