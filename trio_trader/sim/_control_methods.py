"""Operator methods of the simulated node: read and change its fault knobs at run time.

A standalone node (``python -m trio_trader sim``) has no Python handle a tester could
reach, so its knobs are exposed as JSON-RPC methods. They are served only on
:data:`CONTROL_PATH`, never on ``/`` where a bot talks Solana, and that path is exempt
from the HTTP faults: setting ``rpc_429_rate`` to 1 must not lock the operator out.
A change is validated as a whole (the scenario file's rules) and applied in place, so
the node, both servers and the market see it at their next draw.

The path has no authentication, so it answers only requests that are visibly local:
a ``Host`` header naming a loopback host and, when a browser adds one, a loopback
``Origin``. A web page the operator visits cannot then turn the faults (a DNS
rebinding attack points its own name at 127.0.0.1, but its ``Host`` stays its name).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from trio_trader.sim._node_types import SendError
from trio_trader.sim.node import Node
from trio_trader.sim.scenario import ScenarioError, parse_fault_settings

CONTROL_PATH = "/sim"


def is_loopback_host(value: str) -> bool:
    """Whether a ``Host`` value (``name[:port]``) names this machine.

    ``localhost``, any 127.x.x.x and ``[::1]``, with or without a port; nothing else
    (no other names, no user info, no bare IPv6).
    """
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or not _is_port_suffix(rest):
            return False
        try:
            return ipaddress.IPv6Address(address).is_loopback
        except ValueError:
            return False
    name, colon, port = value.partition(":")
    if colon and not _is_port_suffix(colon + port):
        return False
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.IPv4Address(name).is_loopback
    except ValueError:
        return False


def _is_port_suffix(text: str) -> bool:
    if not text:
        return True
    port = text[1:]
    return text[0] == ":" and port.isascii() and port.isdigit() and 0 < int(port) < 65536


def is_loopback_origin(value: str) -> bool:
    """Whether an ``Origin`` value is ``http(s)://`` a loopback host."""
    scheme, sep, host = value.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and is_loopback_host(host)


def refuse_non_local(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """Why a request (ASGI headers) may not use the control path, or None when it may."""
    hosts = [v for k, v in headers if k.lower() == b"host"]
    origins = [v for k, v in headers if k.lower() == b"origin"]
    if len(hosts) != 1 or not is_loopback_host(hosts[0].decode("latin-1")):
        return "the Host header must name a loopback address"
    if any(not is_loopback_origin(o.decode("latin-1")) for o in origins):
        return "the Origin header must be a loopback origin"
    return None


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
