"""The readable table printed after a run (p50 / p99 of each figure a reader looks for)."""

from __future__ import annotations

from typing import Any

from .hot_path import BEFORE, FLOORS, PARTS, REAL_PATH

HOT_PATH_PARTS = (*REAL_PATH, *PARTS, *BEFORE, *FLOORS)


def fmt(summary: dict[str, Any] | None, unit: str = "ms") -> str:
    """``p50 / p99 unit (n=…)`` of a summary."""
    if not summary or not summary.get("n"):
        return "—"
    return f"{summary['p50']} / {summary['p99']} {unit} (n={summary['n']})"


def _wire_rows(label: str, result: dict[str, Any]) -> list[tuple[str, str]]:
    """A measured latency at the wire, in the bot, and the samples that were lost."""
    return [
        (f"{label} (wire)", fmt(result["wire_ms"])),
        ("  to the node's read (old end stamp)", fmt(result.get("node_read_ms"))),
        ("  in the bot (socket read → request written)", fmt(result["in_bot_ms"])),
        ("  samples dropped", str(result["dropped"])),
        *(
            (f"  wire leg: {leg.replace('_', ' ')}", fmt(summary))
            for leg, summary in result.get("wire_legs_ms", {}).items()
        ),
    ]


def _latency_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for suffix, where in (("", ""), ("_sim_process", ", sim in its own process")):
        rows += _detect_rows(results.get(f"detect_to_buy_ms{suffix}"), where)
        rows += _exit_rows(results.get(f"exit_to_sell_ms{suffix}"), where)
    for suffix, where in (("", ""), ("_sim_process", ", sim in its own process")):
        for timing, block in (results.get(f"zero_hold{suffix}") or {}).items():
            rows += _zero_hold_rows(timing.replace("_", " ") + where, block)
    return rows


def _detect_rows(detect: dict[str, Any] | None, where: str) -> list[tuple[str, str]]:
    """detect → BUY rows; ``where`` names the simulator's process when it is its own."""
    if not detect:
        return []
    rows: list[tuple[str, str]] = []
    quiet, loaded = detect["quiet"], detect["loaded"]
    for label, mode in (
        ("detect → BUY, extreme fast, quiet", quiet["extreme_fast"]),
        ("detect → BUY, normal (reads curve), quiet", quiet["normal"]),
        ("detect → BUY, extreme fast, INFO + 1,000 ev/s", loaded["extreme_fast"]),
    ):
        rows += _wire_rows(label + where, mode)
        db = mode["breakdown_ms"]["db_writes_before_buy"]
        rows.append(("  of which DB writes before the BUY", fmt(db)))
    return rows


def _exit_rows(exits: dict[str, Any] | None, where: str) -> list[tuple[str, str]]:
    if not exits:
        return []
    rows: list[tuple[str, str]] = []
    for label, mode in (
        ("exit signal → SELL, quiet", exits["quiet"]),
        ("exit signal → SELL, INFO + 1,000 ev/s", exits["loaded"]),
    ):
        rows += _wire_rows(label + where, mode)
        rows.append(("  of which DB writes before the SELL", fmt(mode["db_writes_before_sell_ms"])))
        if "in_bot_cpu_ms" in mode:  # the bot's thread CPU over the in-bot span
            rows.append(("  in the bot, its CPU time", fmt(mode["in_bot_cpu_ms"])))
            rows.append(("  node's write → bot's request write", fmt(mode["to_bot_write_ms"])))
    return rows


def _zero_hold_rows(timing: str, block: dict[str, Any]) -> list[tuple[str, str]]:
    """BUY → SELL with hold 0 under one confirmation timing, both modes and their ratio."""
    rows: list[tuple[str, str]] = [(f"BUY → SELL, hold 0, {timing}", "")]
    wire, in_bot = block["buy_to_sell_wire_ms"], block["buy_sent_to_sell_sent_ms"]
    node_read = block.get("buy_to_sell_node_read_ms", {})
    slots, ratios = (
        block["buy_to_sell_landing_slots"],
        block["ratios_classic_over_pre_confirmation"],
    )
    for mode, label in (("pre_confirmation_sells", "pre-conf"), ("classic", "classic")):
        rows.append((f"  {label} (wire)", fmt(wire[mode])))
        rows.append(
            ("    node's read of the BUY → of the SELL (old stamps)", fmt(node_read.get(mode)))
        )
        rows.append(("    in the bot", fmt(in_bot[mode])))
        rows.append(("    to the SELL that landed", fmt(block["buy_sent_to_sold_sent_ms"][mode])))
        legs = block["breakdown_ms"][mode]
        for leg in ("buy_request_to_node", "buy_node_arrival_to_read", "sell_request_to_node",
                    "sell_node_arrival_to_read"):  # fmt: skip
            rows.append((f"    wire leg: {leg.replace('_', ' ')}", fmt(legs.get(leg))))
        rows.append(("    BUY → SELL landing", fmt(slots[mode], "slots")))
        rows.append(
            (
                "    BUY landing → confirmed",
                fmt(block["buy_landing_to_confirmed_slots"][mode], "slots"),
            )
        )
        failed, overtook = block["first_sell_failed"][mode], block["first_sell_overtook_buy"][mode]
        rows.append(("    first SELL failed (overtook its BUY)", f"{failed} ({overtook})"))
    for label, figure in (
        ("in the bot", "buy_sent_to_sell_sent_ms"),
        ("wire", "buy_to_sell_wire_ms"),
        ("node's reads", "buy_to_sell_node_read_ms"),
    ):
        p50, p99 = ratios.get(f"{figure}_p50"), ratios.get(f"{figure}_p99")
        rows.append((f"  ratio classic / pre-conf, {label} p50 / p99", f"{p50}× / {p99}×"))
    p50, p99 = ratios["without_db_writes_p50"], ratios["without_db_writes_p99"]
    rows.append(("  same without the row writes (a projection)", f"{p50}× / {p99}×"))
    rows.append(("  samples dropped (wire)", str(block["dropped"])))
    return rows


def _load_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    zero = (results.get("zero_hold") or {}).get("mainnet_confirmation") or {}
    for mode, v in (zero.get("rpc_requests_per_position") or {}).items():
        value = (
            f"{v['http_requests_per_position']} HTTP; WS {v['ws_messages_sent_per_position']}"
            f" sent, {v['ws_messages_received_per_position']} received"
        )
        rows.append((f"RPC per position, {mode} (mainnet confirmation)", value))
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
    for suffix, where in (("", ""), ("_sim_process", ", the bot's process alone")):
        rows += _idle_rows(results.get(f"idle_cpu{suffix}"), where)
    return rows


def _idle_rows(idle: dict[str, Any] | None, where: str) -> list[tuple[str, str]]:
    if not idle:
        return []
    counts = sorted(int(k.split("_")[2]) for k in idle if k.startswith("idle_cpu_"))
    return [
        (
            f"idle CPU, {n} open positions{where}",
            f"{idle[f'idle_cpu_{n}_positions_pct']} % of a core (floor {idle['floor_cpu_pct']})",
        )
        for n in counts
    ]


def _component_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    hot = results.get("hot_path_breakdown_us")
    if hot:
        rows += [(f"hot path: {part}", fmt(hot[part], "µs")) for part in HOT_PATH_PARTS]
    db = results.get("db_writes_us")
    if db:
        rows += [(f"db: {kind}", fmt(summary, "µs")) for kind, summary in db.items()]
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
