"""``scripts/bench.py`` still runs: tiny measurements, shapes and counts only.

Benchmarks are not tests: nothing here asserts a duration. These tests only keep the
benchmark code from rotting silently as the layers it drives change.
"""

from __future__ import annotations

import cProfile
import functools
import importlib.util
import itertools
import pstats
import re
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio

BENCH = Path(__file__).resolve().parents[1] / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_script", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_summary(summary: dict[str, Any], n: int) -> None:
    assert summary["n"] == n
    assert summary["min"] <= summary["p50"] <= summary["p99"] <= summary["max"]


def test_ledger_throughput_executes_every_transaction(bench: ModuleType) -> None:
    result = bench.sim_bench.ledger_throughput(n_tx=4, wallets=2)
    assert result["failed"] == 0
    for kind in ("pump_buy", "pump_sell", "system_transfer"):
        _assert_summary(result[f"{kind}_us"], 4)
        assert result[f"{kind}_tx_per_s"] > 0


async def test_hot_path_breakdown_times_every_part_of_every_buy(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.hot_path.hot_path_breakdown(n=4, warmup=1)
    for part in bench.report.HOT_PATH_PARTS:
        _assert_summary(result[part], 4)
    assert result["orders_sent"] == 4  # the real buyer's orders, each SENT
    assert result["transactions_submitted"] == 5  # warm-up included, each a new signature
    table = bench.report.table({"hot_path_breakdown_us": result})
    assert "hot path: sign_and_attach" in table
    assert "(n=4)" in table


async def test_db_writes_time_every_kind_of_position_write(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.db_bench.db_writes(3)
    for kind in ("thread_hop", "insert_position_enqueue", "update_position_enqueue"):
        _assert_summary(result[kind], 3)
    for kind in ("commit_latency", "flush_idle"):
        _assert_summary(result[kind], 3)
    _assert_summary(result["batched_per_write"], 1)
    assert "db: commit_latency" in bench.report.table({"db_writes_us": result})


async def test_zero_hold_run_sells_every_position_and_counts_its_rpc(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.bot_bench.zero_hold(2, pre_confirmation=True, spacing=0.05)
    assert result["positions"] == 2
    assert result["positions_left_open"] == 0
    _assert_summary(result["buy_sent_to_sell_sent_ms"], 2)
    _assert_summary(result["buy_to_sell_wire_ms"], 2)
    _assert_summary(result["buy_to_sell_node_read_ms"], 2)
    assert result["dropped"] == 0
    _assert_summary(result["buy_to_sell_landing_slots"], 2)
    for part in (
        "buy_send_round_trip",
        "buy_request_to_node",
        "buy_node_arrival_to_read",
        "sell_request_to_node",
        "sell_node_arrival_to_read",
        "node_read_to_buy_reply",
        "db_writes_between",
        "other",
        "other_than_db_writes",
    ):
        _assert_summary(result["breakdown_ms"][part], 2)
    for side in ("buy", "sell"):  # the kernel's arrival stamp is never after the node's read
        assert result["breakdown_ms"][f"{side}_node_arrival_to_read"]["min"] >= 0
    rpc = result["rpc"]
    assert rpc["by_method_per_position"]["sendTransaction"] >= 2  # a BUY and a SELL each
    assert rpc["ws_messages_sent_per_position"] >= 2  # a signatureSubscribe per order


async def test_zero_hold_comparison_with_mainnet_confirmation(bench: ModuleType) -> None:
    """Both modes under the latency model: the classic SELL waits for the vote delay, the
    pre-confirmation one does not; the block the table prints has every figure."""
    with trio.fail_after(40):
        both = await bench.bot_bench.pre_confirmation_comparison(2, "mainnet")
    block = bench.zero_hold_block(both, "mainnet")
    assert block["faults"]["vote_delay_median"] > 0  # the latency model is on
    for mode in ("pre_confirmation_sells", "classic"):
        assert block["positions"][mode] == 2
        assert block["positions_left_open"][mode] == 0
        assert block["dropped"][mode] == 0
        _assert_summary(block["buy_sent_to_sell_sent_ms"][mode], 2)
        _assert_summary(block["buy_sent_to_sold_sent_ms"][mode], 2)
        confirmed = block["buy_landing_to_confirmed_slots"][mode]
        _assert_summary(confirmed, 2)
        assert confirmed["min"] >= 1  # confirmed no earlier than the next slot
    # classic sells only once its BUY is confirmed, i.e. in a later slot
    assert block["buy_to_sell_landing_slots"]["classic"]["min"] >= 1
    assert block["first_sell_failed"]["classic"] == 0
    ratios = block["ratios_classic_over_pre_confirmation"]
    assert set(ratios) == {
        f"{figure}_{pct}"
        for figure in (
            "buy_sent_to_sell_sent_ms",
            "buy_to_sell_wire_ms",
            "buy_to_sell_node_read_ms",
            "without_db_writes",
        )
        for pct in ("p50", "p99")
    }
    table = bench.report.table({"zero_hold": {"mainnet_confirmation": block}})
    assert "BUY → SELL, hold 0, mainnet confirmation" in table
    assert "ratio classic / pre-conf, node's reads p50 / p99" in table
    assert "BUY landing → confirmed" in table


def test_zero_hold_timings_are_the_default_scenario_s_confirmation(bench: ModuleType) -> None:
    from trio_trader.sim.scenario import load_scenario

    scenario = load_scenario("default").faults.to_faults()
    mainnet = bench.bot_bench.timing_faults("mainnet")
    for knob in ("confirm_depth", "vote_delay_median", "vote_delay_sigma", "vote_delay_max"):
        assert getattr(mainnet, knob) == getattr(scenario, knob)
    assert mainnet.latency_max == 0  # lands at once: only the confirmation model differs
    assert bench.bot_bench.timing_faults("next_slot").vote_delay_median == 0
    assert bench.bot_bench.timing_faults("mainnet_landing").latency_max == scenario.latency_max
    with pytest.raises(ValueError, match="unknown timing"):
        bench.bot_bench.timing_faults("fast")


@pytest.mark.parametrize("loaded", [False, True])
async def test_detect_run_times_every_buy_at_the_wire_and_in_the_bot(
    bench: ModuleType, loaded: bool
) -> None:
    with trio.fail_after(30):
        result = await bench.bot_bench.detect_to_buy_sent(
            2, extreme_fast=True, spacing=0.05, loaded=loaded
        )
    _assert_summary(result["wire_ms"], 2)
    _assert_summary(result["node_read_ms"], 2)
    _assert_summary(result["in_bot_ms"], 2)
    assert result["dropped"] == 0
    # the wire span holds the in-bot one: the node wrote before the bot read, and the
    # request reached the node's socket after the bot wrote it; the node read it later
    assert result["wire_ms"]["min"] >= result["in_bot_ms"]["min"]
    assert result["node_read_ms"]["min"] >= result["wire_ms"]["min"]
    for part in ("to_first_db_write", "db_writes_before_buy", "other_than_db_writes"):
        _assert_summary(result["breakdown_ms"][part], 2)
    # every stage of the path stamped for both BUYs, in order (``bot_bench.path_stamps``)
    spans = [f"{a}→{b}" for a, b in itertools.pairwise(bench.bot_bench.STAGES)]
    assert list(result["stages_ms"]) == spans
    for span in spans:
        _assert_summary(result["stages_ms"][span], 2)
    assert result["db_writes_before_buy_per_position"]["min"] >= 1  # the row before the BUY
    assert (result["background_events"] > 0) is loaded


async def test_exit_run_times_a_take_profit_and_a_stop_loss(bench: ModuleType) -> None:
    with trio.fail_after(30):
        result = await bench.bot_bench.exit_signal_to_sell_sent(2, batch=2)
    _assert_summary(result["wire_ms"], 2)
    _assert_summary(result["node_read_ms"], 2)
    _assert_summary(result["in_bot_ms"], 2)
    assert result["dropped"] == 0
    _assert_summary(result["take_profit"], 1)
    _assert_summary(result["stop_loss"], 1)
    _assert_summary(result["db_writes_before_sell_ms"], 2)
    # every stage of the exit path stamped for both SELLs, in order (``exit_stamps``)
    spans = [f"{a}→{b}" for a, b in itertools.pairwise(bench.bot_bench.EXIT_STAGES)]
    assert list(result["stages_ms"]) == spans
    for span in spans:
        _assert_summary(result["stages_ms"][span], 2)
        assert result["stages_ms"][span]["min"] >= 0


async def test_sim_process_runs_stamp_the_wire_in_the_simulators_process(
    bench: ModuleType,
) -> None:
    """``--sim-process``: the simulator and its background feed in their own process."""
    with trio.fail_after(60):
        detect = await bench.bot_bench.detect_to_buy_sent(
            2, extreme_fast=True, spacing=0.05, loaded=True, sim_process=True
        )
        exits = await bench.bot_bench.exit_signal_to_sell_sent(2, batch=2, sim_process=True)
    for result in (detect, exits):
        _assert_summary(result["wire_ms"], 2)
        _assert_summary(result["node_read_ms"], 2)
        _assert_summary(result["in_bot_ms"], 2)
        assert result["dropped"] == 0
        # stamped in two processes on one clock: the wire span still holds the in-bot one
        assert result["wire_ms"]["min"] >= result["in_bot_ms"]["min"]
        assert result["node_read_ms"]["min"] >= result["wire_ms"]["min"]
        for leg in ("notification_to_bot_read", "request_to_node_arrival",
                    "node_arrival_to_read"):  # fmt: skip
            _assert_summary(result["wire_legs_ms"][leg], 2)
            assert result["wire_legs_ms"][leg]["min"] >= 0
    assert detect["background_events"] > 0  # the feed ran in the simulator's process
    # each trigger's answer (and the stamps) came once the SELL was at the node, not with
    # the trigger's notification in the middle of the bot's exit path
    assert exits["answered_mid_path"] == 0
    _assert_summary(exits["in_bot_cpu_ms"], 2)
    # the bot's own CPU inside the span: some, and never more than the span's wall time
    # (its stamp is taken a few µs after the request's)
    assert exits["in_bot_cpu_ms"]["min"] > 0
    assert exits["in_bot_cpu_ms"]["max"] <= exits["in_bot_ms"]["max"] + 0.05
    # node's write → bot's write: the in-bot span and the notification's way, together
    _assert_summary(exits["to_bot_write_ms"], 2)
    assert exits["to_bot_write_ms"]["min"] >= exits["in_bot_ms"]["min"]
    _assert_summary(exits["take_profit"], 1)
    _assert_summary(exits["stop_loss"], 1)
    table = bench.report.table(
        {"detect_to_buy_ms_sim_process": {"quiet": {"extreme_fast": detect, "normal": detect},
                                          "loaded": {"extreme_fast": detect}},
         "exit_to_sell_ms_sim_process": {"quiet": exits, "loaded": exits}}
    )  # fmt: skip
    assert "detect → BUY, extreme fast, quiet, sim in its own process (wire)" in table
    assert "exit signal → SELL, quiet, sim in its own process (wire)" in table
    assert "to the node's read (old end stamp)" in table
    assert "in the bot, its CPU time" in table
    assert "node's write → bot's request write" in table


async def test_zero_hold_with_the_simulator_in_its_own_process(bench: ModuleType) -> None:
    """``--sim-process`` zero-hold: the node's knobs go to the simulator's process, and the
    landings and confirmations are read back from it."""
    with trio.fail_after(60):
        both = await bench.bot_bench.pre_confirmation_comparison(2, "mainnet", sim_process=True)
    block = bench.zero_hold_block(both, "mainnet")
    for mode in ("pre_confirmation_sells", "classic"):
        assert block["positions"][mode] == 2
        assert block["positions_left_open"][mode] == 0
        assert block["dropped"][mode] == 0
        _assert_summary(block["buy_to_sell_wire_ms"][mode], 2)
        _assert_summary(block["buy_to_sell_landing_slots"][mode], 2)
        # the mainnet vote delay ran in the simulator's process: never the same slot
        assert block["buy_landing_to_confirmed_slots"][mode]["min"] >= 1
    assert block["buy_to_sell_landing_slots"]["classic"]["min"] >= 1
    table = bench.report.table({"zero_hold_sim_process": {"mainnet_confirmation": block}})
    assert "BUY → SELL, hold 0, mainnet confirmation, sim in its own process" in table


async def test_idle_run_holds_every_position_and_measures_the_cpu(bench: ModuleType) -> None:
    with trio.fail_after(60):
        result = await bench.idle_bench.idle_cpu((1, 3), 0.2, settle=0.05)
    for n in (1, 3):
        assert result[f"positions_open_at_{n}"] == n  # BUYs confirmed, nothing sold
        assert result[f"positions_open_after_{n}"] == n
        assert result[f"idle_cpu_{n}_positions_pct"] >= 0
    assert result["floor_cpu_pct"] >= 0
    assert result["tokens_dropped"] == result["pubsub_dropped"] == 0
    assert "idle CPU, 3 open positions" in bench.report.table({"idle_cpu": result})


async def test_idle_run_with_the_simulator_in_its_own_process(bench: ModuleType) -> None:
    with trio.fail_after(60):
        result = await bench.idle_bench.idle_cpu((2,), 0.2, settle=0.05, sim_process=True)
    assert result["sim_process"] is True
    assert result["positions_open_at_2"] == result["positions_open_after_2"] == 2
    assert result["tokens_dropped"] == result["pubsub_dropped"] == 0
    table = bench.report.table({"idle_cpu_sim_process": result})
    assert "idle CPU, 2 open positions, the bot's process alone" in table


@pytest.fixture
def every_function_listed(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile lists every function, not the top 30: which functions make the top 30
    is a matter of timing (``update_position`` ranks ~30th of ~200 by cumulative time on a
    quiet machine, and fell out on a loaded one); the tests ask what ran on the path."""
    monkeypatch.setattr(bench, "profile_bot", functools.partial(bench.profile_bot, top=10**6))


@pytest.mark.usefixtures("every_function_listed")
def test_detect_profile_covers_the_path_from_each_launch_to_its_buy(bench: ModuleType) -> None:
    text = bench.profile("detect_fast", {"detect": 2})
    assert re.search(r"\([12] windows\); 2 operations", text)  # 2 unless the windows overlap
    assert "start_order" in text  # the BUY, on the path (from the listener's task)
    assert "read_transaction" in text  # the create's logs, decoded on the path


@pytest.mark.usefixtures("every_function_listed")
def test_zero_hold_profile_covers_the_path_from_each_buy_to_its_sell(bench: ModuleType) -> None:
    text = bench.profile("zero_hold_pre", {"zero_hold": 2})
    assert re.search(r"\([12] windows\); 2 operations", text)  # 2 unless the windows overlap
    assert "_send_sell" in text  # the monitor's SELL, on the path
    assert "update_position" in text  # the row written when the BUY is out, on the path


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def on_path_work() -> None:
    _spin(0.002)


def off_path_work() -> None:
    _spin(0.002)


def outsider_work() -> None:
    _spin(0.002)


async def _on_path() -> None:
    for _ in range(3):
        on_path_work()
        await trio.sleep(0)


async def _off_path() -> None:
    for _ in range(3):
        off_path_work()
        await trio.sleep(0)


async def _bot_root() -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_on_path)
        nursery.start_soon(_off_path)


async def _outsider() -> None:
    for _ in range(3):
        outsider_work()
        await trio.sleep(0)


def _spin_cpu(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_bot_task_clock_counts_the_cpu_of_the_bots_steps_in_its_windows(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the bot's own steps (not an excluded subtree, not another task) count, and
    only from the window's opening: 3 steps of 2 ms of CPU on the path, 6 ms."""
    from _bench.profiling import BotTaskClock  # the bench module put scripts/ on sys.path

    for name in ("on_path_work", "off_path_work", "outsider_work"):
        monkeypatch.setitem(globals(), name, lambda: _spin_cpu(0.002))
    clock = BotTaskClock(root=f"{__name__}._bot_root").windowed(("._off_path",))
    clock.open_window()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_bot_root)
            nursery.start_soon(_outsider)

    trio.run(main, instruments=[clock])
    assert len(clock.per_window) == 1
    assert 0.006 <= clock.per_window[0] < 0.010  # the other two tasks' 12 ms are not in it


def test_bot_task_profiler_profiles_only_the_bots_tasks_on_the_path(bench: ModuleType) -> None:
    profiler = cProfile.Profile()
    instrument = bench.BotTaskProfiler(profiler, root=f"{__name__}._bot_root")
    instrument.exclude = ("._off_path",)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_bot_root)
            nursery.start_soon(_outsider)

    trio.run(main, instruments=[instrument])
    profiled = {name for _, _, name in pstats.Stats(profiler).stats}  # type: ignore[attr-defined]
    assert "on_path_work" in profiled
    assert "off_path_work" not in profiled  # excluded subtree of the bot
    assert "outsider_work" not in profiled  # not the bot's task at all


async def test_feed_run_routes_every_event_to_its_position(bench: ModuleType) -> None:
    with trio.fail_after(60):  # a mint per event: no price is superseded before it is taken
        result = await bench.feed_bench.feed_events_per_s(
            mints=40, count=40, rates=(400.0,), seconds=0.05
        )
    for run in (result["max_rate_run"], result["routing_only_run"]):
        assert run["sent"] == run["decoded"] == run["routed"] == run["taken_by_monitors"] == 40
        assert run["dropped_by_pubsub"] == 0
        assert run["cpu_us_per_event"] > 0
        _assert_summary(run["routing_delay_ms"], 40)
    assert result["paced"]["400_per_s"]["routing_delay_ms"]["n"] == 20
    assert "feed events/s" in bench.report.table({"feed_events_per_s": result})


async def test_decode_steps_times_every_step_of_a_trade_and_a_create() -> None:
    """``scripts/_bench/decode_steps.py``: each step's µs on real notification bytes."""
    path = BENCH.parent / "_bench" / "decode_steps.py"
    spec = importlib.util.spec_from_file_location("decode_steps_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trade = module.messages(1, 1)[0].encode()
    for raw, held in ((trade, True), (trade, False), (module.create_message(), False)):
        steps = module.steps(raw, 32, held=held)
        wanted = {"frame_parse", "program_data_lines", "listener_handle (incl. routing)"}
        assert wanted <= set(steps)
        assert all(value > 0 for value in steps.values())
    routed = module.steps(trade, 16, held=True)  # a trade: its price routed, taken in
    assert routed["feed_publish"] > 0
    assert routed["monitor_intake"] > 0


async def test_spin_option_starts_every_bench_bot_with_the_spinner(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--spin``: the bots the bench starts run ``[latency] spin`` (``trading/spin.py``)."""
    from trio_trader.trading.spin import TASK_NAME

    monkeypatch.setattr(bench.bot_harness, "SPIN", True)
    with trio.fail_after(30):
        async with bench.bot_harness.running_bot({}, seed=5) as run:
            trader = run.bot.trader
            assert trader.settings.spin is True
            assert trader._positions is not None
            names = [t.name for t in trader._positions.child_tasks]
    assert names.count(TASK_NAME) == 1


async def test_rehearse_option_starts_every_bench_bot_rehearsing(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--rehearse MS``: the bots the bench starts run ``[latency] rehearse_ms``."""
    from trio_trader.trading.rehearsal import TASK_NAME

    monkeypatch.setattr(bench.bot_harness, "REHEARSE_MS", 2.0)
    with trio.fail_after(30):
        async with bench.bot_harness.running_bot({}, seed=5) as run:
            trader = run.bot.trader
            assert trader.settings.rehearse == pytest.approx(0.002)
            assert trader._positions is not None
            names = [t.name for t in trader._positions.child_tasks]
    assert names.count(TASK_NAME) == 1
