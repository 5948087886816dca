"""Operator methods of the simulated node: read and change its fault knobs at run time.

A standalone node (``python -m trio_trader sim``) has no Python handle a tester could
reach, so its knobs are exposed as JSON-RPC methods. They are served only on
:data:`CONTROL_PATH`, never on ``/`` where a bot talks Solana, and that path is exempt
from the HTTP faults: setting ``rpc_429_rate`` to 1 must not lock the operator out.
A change is validated as a whole (the scenario file's rules) and applied in place, so
the node, both servers and the market see it at their next draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from trio_trader.sim._node_types import SendError
from trio_trader.sim.node import Node
from trio_trader.sim.scenario import ScenarioError, parse_fault_settings

CONTROL_PATH = "/sim"


def get_faults(node: Node, params: list[Any]) -> Any:
    """``simGetFaults`` → every knob by its ``[faults]`` name."""
    return attrs.asdict(node.faults)


def set_faults(node: Node, params: list[Any]) -> Any:
    """``simSetFaults [{knob: value, …}]`` → every knob after the change.

    Knobs not named keep their value; an unknown knob or a bad value changes nothing.
    """
    if len(params) != 1 or not isinstance(params[0], dict):
        raise SendError(-32602, "Invalid params: expected one object of fault knobs")
    merged = {**attrs.asdict(node.faults), **params[0]}
    try:
        settings = parse_fault_settings(merged, source="simSetFaults")
    except ScenarioError as exc:
        raise SendError(-32602, f"Invalid params: {exc}") from None
    for name, value in attrs.asdict(settings).items():
        setattr(node.faults, name, value)
    return attrs.asdict(node.faults)


CONTROL_METHODS: dict[str, Callable[[Node, list[Any]], Any]] = {
    "simGetFaults": get_faults,
    "simSetFaults": set_faults,
}
