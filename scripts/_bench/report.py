"""The readable table printed after a run (p50 / p99 of each figure a reader looks for)."""

from __future__ import annotations

from typing import Any

HOT_PATH_PARTS = (
    "build_instructions",
    "compile_message",
    "sign",
    "serialise",
    "encode_request",
    "send_until_request_leaves",
    "total_to_request_leaving",
    "send_round_trip",
    "floor_get_slot_round_trip",
    "floor_loopback_tcp_round_trip",
)


def fmt(summary: dict[str, Any] | None, unit: str = "ms") -> str:
    """``p50 / p99 unit (n=…)`` of a summary."""
    if not summary or not summary.get("n"):
        return "—"
    return f"{summary['p50']} / {summary['p99']} {unit} (n={summary['n']})"


def _latency_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    detect = results.get("detect_to_buy_sent_ms")
    if detect:
        fast, normal = detect["extreme_fast"], detect["normal"]
        rows.append(("detect → BUY sent, extreme fast", fmt(fast)))
        rows.append(
            ("  of which the DB row before the BUY", fmt(fast["breakdown_ms"]["db_insert"]))
        )
        rows.append(("detect → BUY sent, normal (reads curve)", fmt(normal)))
        rows.append(
            ("  of which the DB row before the BUY", fmt(normal["breakdown_ms"]["db_insert"]))
        )
    if "exit_signal_to_sell_sent_ms" in results:
        rows.append(("exit signal → SELL sent", fmt(results["exit_signal_to_sell_sent_ms"])))
    zero = results.get("buy_sent_to_sell_sent_ms")
    if zero:
        slots = zero["buy_to_sell_landing_slots"]
        rows.append(("BUY sent → SELL sent, hold 0, pre-conf", fmt(zero["pre_confirmation_sells"])))
        rows.append(("BUY sent → SELL sent, hold 0, classic", fmt(zero["classic"])))
        ratio = zero["ratio_classic_over_pre_confirmation_p50"]
        rows.append(("  ratio classic / pre-conf (p50)", f"{ratio}×"))
        rows.append(("  BUY→SELL landing, pre-conf", fmt(slots["pre_confirmation_sells"], "slots")))
        rows.append(("  BUY→SELL landing, classic", fmt(slots["classic"], "slots")))
    return rows


def _load_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for mode, v in (results.get("rpc_requests_per_position") or {}).items():
        value = (
            f"{v['http_requests_per_position']} HTTP, {v['ws_messages_sent_per_position']} WS sent"
        )
        rows.append((f"RPC per position, {mode}", value))
    feed = results.get("feed_events_per_s")
    if feed:
        rows.append(("feed events/s to 500 positions", f"{feed['events_per_s']}/s"))
        for rate, v in feed["paced"].items():
            value = f"{v['achieved_per_s']}/s, delay {fmt(v['routing_delay_ms'])}"
            rows.append((f"  paced {rate.replace('_per_s', '/s')}", value))
    memory = results.get("memory")
    if memory:
        value = f"{memory['rss_mb_at_positions']} MiB ({memory['kib_per_position']} KiB each)"
        rows.append((f"RSS at {memory['positions']} positions", value))
    return rows


def _component_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    hot = results.get("hot_path_breakdown_us")
    if hot:
        rows += [(f"hot path: {part}", fmt(hot[part], "µs")) for part in HOT_PATH_PARTS]
    sim = results.get("sim_throughput")
    if sim:
        rows.append(("sim ledger pump buys/s", str(sim["ledger"]["pump_buy_tx_per_s"])))
        rows.append(("sim ledger pump sells/s", str(sim["ledger"]["pump_sell_tx_per_s"])))
        rows.append(("sim WS notifications/s", str(sim["websocket"]["notifications_per_s"])))
        rows.append(("sim JSON-RPC calls/s", str(sim["json_rpc"]["calls_per_s"])))
    return rows


def table(results: dict[str, Any]) -> str:
    """One figure per line."""
    rows = _latency_rows(results) + _load_rows(results) + _component_rows(results)
    width = max((len(name) for name, _ in rows), default=10)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
