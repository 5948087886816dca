"""``report --plot``: cumulative PnL and each position's outcome, as a PNG or on the terminal."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
import trio
from rich.console import Console

from tests.test_report import build_database
from trio_trader import cli
from trio_trader.ui import plot
from trio_trader.ui.plot import Outcome, cumulative_pnl, terminal_chart
from trio_trader.ui.report import collect_outcomes, read_database


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plot") / "bot.db"
    trio.run(build_database, path)
    return path


def render(renderable: object, width: int = 120) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    text = console.export_text()
    console.file.close()
    return text


def outcome(pid: int, opened: float, closed: float, pnl: int, **kw: object) -> Outcome:
    values: dict[str, object] = {
        "symbol": f"T{pid}", "spent_lamports": 1_000_000_000, "reason": "take_profit",
        "pre_confirmation": False,
    }  # fmt: skip
    values.update(kw)
    return Outcome(pid, opened_at=opened, closed_at=closed, pnl_lamports=pnl, **values)  # type: ignore[arg-type]


def test_outcomes_are_the_closed_positions_and_sum_to_the_reports_pnl(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = read_database(db, collect_outcomes)
    assert [o.position_id for o in sorted(items, key=lambda o: o.position_id)] == [1, 2, 3, 4]
    assert {o.position_id for o in items if o.pre_confirmation} == {2, 3}
    assert [o.closed_at for o in items] == sorted(o.closed_at for o in items)
    assert cli.main(["report", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    points = cumulative_pnl(items)
    assert points[-1][1] == report["realized_pnl_lamports"]
    by_id = {o.position_id: o for o in items}
    assert by_id[1].reason == "take_profit"
    assert by_id[1].pnl_lamports > 0
    assert by_id[4].reason == "buy_failed"
    assert by_id[4].pnl_lamports < 0
    # a failed BUY spent only its fee: its % is of what the BUY was to cost, not -100 %
    pct = by_id[4].pnl_pct
    assert pct is not None
    assert -1.0 < pct < 0.0


def test_cumulative_pnl_is_summed_in_closing_order() -> None:
    items = [outcome(2, 0.0, 30.0, -5), outcome(1, 0.0, 10.0, 7), outcome(3, 5.0, 20.0, 1)]
    assert cumulative_pnl(items) == [(10.0, 7), (20.0, 8), (30.0, 3)]
    assert cumulative_pnl([]) == []


def test_terminal_chart_draws_the_range_and_the_outcomes() -> None:
    items = [
        outcome(1, 0.0, 60.0, 2_000_000_000, pre_confirmation=True),
        outcome(2, 30.0, 120.0, -3_500_000_000, reason="stop_loss"),
    ]
    text = render(terminal_chart(items, width=40, height=8))
    assert "cumulative net PnL: -1.50 SOL over 2 positions" in text
    lines = text.splitlines()
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    chart = [line for line in lines[:axis] if "│" in line]
    assert len(chart) == 8
    top, bottom = chart[0], chart[-1]
    assert top.strip("│ ").startswith("+2.00 SOL │")  # the highest value labels the top row
    assert bottom.strip("│ ").startswith("-1.50 SOL │")
    assert "█" in top  # +2 SOL is drawn on the top row …
    assert "▒" in bottom  # … and -1.5 SOL (below zero) on the bottom one
    assert "2.0 min" in text  # the time axis spans first open → last close
    row1 = next(line for line in lines if "T1" in line)
    assert "take_profit" in row1
    assert "yes" in row1
    assert "+2.00 SOL" in row1
    assert "+200.0" in row1
    row2 = next(line for line in lines if "T2" in line)
    assert "stop_loss" in row2
    assert "-3.50 SOL" in row2
    assert "90.0 s" in row2  # held from entry to exit


def test_terminal_chart_without_closed_positions() -> None:
    text = render(terminal_chart([]))
    assert "no closed positions yet" in text
    assert "over 0 positions" in text


def test_report_plot_without_matplotlib_draws_on_the_terminal(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "have_matplotlib", lambda: False)
    monkeypatch.setattr("trio_trader.ui.report.have_matplotlib", lambda: False)
    target = tmp_path / "pnl.png"
    assert cli.main(["report", "--db", str(db), "--plot", str(target)]) == 0
    captured = capsys.readouterr()
    assert not target.exists()
    assert "matplotlib is not installed" in captured.err
    assert "trio-trader[plot]" in captured.err
    assert "cumulative net PnL:" in captured.out
    assert "over 4 positions" in captured.out
    assert "positions opened" in captured.out  # the report's tables come first
    assert "buy_failed" in captured.out


def test_report_plot_writes_a_png_with_matplotlib(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "pnl.png"
    assert cli.main(["report", "--db", str(db), "--plot", str(target)]) == 0
    assert "written to" in capsys.readouterr().err
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 700)
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    assert len(data) > 10_000  # two drawn panels, not an empty canvas


def test_report_plot_to_an_unwritable_place_is_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "missing-dir" / "pnl.png"
    assert cli.main(["report", "--db", str(db), "--plot", str(target)]) == 2
    assert f"cannot write {target}" in capsys.readouterr().err
