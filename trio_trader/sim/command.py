"""``python -m trio_trader sim``: a standalone local Solana node with a pump.fun market.

Runs until Ctrl-C, SIGTERM or ``--duration`` seconds, then writes the ledger summary
(``--ledger-out``). Signals are taken with ``trio.open_signal_receiver`` and turned
into a cancellation, so the summary is written after the servers have shut down
cleanly rather than from inside a signal handler.

The fault knobs start as the scenario's ``[faults]`` table and can be changed while
the node runs with ``simGetFaults`` / ``simSetFaults`` JSON-RPC calls POSTed to the
RPC URL's ``/sim`` path (see ``sim._control_methods``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import trio
from solders.pubkey import Pubkey

from trio_trader.sim import SimNode, open_sim

log = logging.getLogger(__name__)

LAMPORTS_PER_SOL = 1_000_000_000


def parse_fund(text: str) -> tuple[Pubkey, int]:
    """``PUBKEY=SOL`` → (pubkey, lamports), for argparse."""
    key, sep, amount = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected PUBKEY=SOL, got {text!r}")
    try:
        pubkey = Pubkey.from_string(key.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a base58 public key: {key!r}") from None
    try:
        sol = Decimal(amount.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a SOL amount: {amount!r}") from None
    lamports = sol * LAMPORTS_PER_SOL
    if sol < 0 or lamports != lamports.to_integral_value():
        raise argparse.ArgumentTypeError(
            f"SOL amount must be >= 0 with at most 9 decimals: {amount!r}"
        )
    return pubkey, int(lamports)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--rpc-port", type=int, default=8899, help="JSON-RPC port (default 8899)")
    parser.add_argument("--ws-port", type=int, default=8900, help="WebSocket port (default 8900)")
    parser.add_argument(
        "--scenario", default="default", help="market scenario name or TOML path (default: default)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the ledger, node and market")
    parser.add_argument(
        "--slot-ms", type=int, default=None, help="slot time in ms (default: the scenario's, 400)"
    )
    parser.add_argument(
        "--fund",
        type=parse_fund,
        action="append",
        default=[],
        metavar="PUBKEY=SOL",
        help="airdrop SOL to a wallet at start (repeatable)",
    )
    parser.add_argument(
        "--ledger-out", type=Path, default=None, help="write the summary JSON here on exit"
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")


async def run(
    args: argparse.Namespace, *, task_status: trio.TaskStatus[SimNode] = trio.TASK_STATUS_IGNORED
) -> dict[str, Any]:
    """Run the simulator until cancelled, a signal, or ``args.duration``; return the summary."""
    fund: dict[Pubkey, int] = {}
    for pubkey, lamports in args.fund:
        fund[pubkey] = fund.get(pubkey, 0) + lamports
    slot_time = None if args.slot_ms is None else args.slot_ms / 1000
    duration = math.inf if args.duration is None else args.duration
    async with open_sim(
        args.scenario,
        seed=args.seed,
        slot_time=slot_time,
        fund=fund,
        rpc_port=args.rpc_port,
        ws_port=args.ws_port,
        host=args.host,
    ) as sim:
        stop_signals = trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
        with trio.move_on_after(duration), stop_signals as signals:
            # Announce only once the signals are ours, so a supervisor that reads the
            # URLs and then sends SIGTERM always gets the summary written.
            log.info(
                "simulator running: RPC %s  WebSocket %s  genesis %s",
                sim.rpc_url,
                sim.ws_url,
                sim.node.genesis_hash,
            )
            print(f"RPC {sim.rpc_url}\nWS  {sim.ws_url}", flush=True)
            task_status.started(sim)
            async for signum in signals:
                log.info("received %s, stopping", signal.Signals(signum).name)
                break
        summary = sim.summary()
    summary["scenario"] = args.scenario
    summary["seed"] = args.seed
    if args.ledger_out is not None:
        args.ledger_out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        log.info("ledger summary written to %s", args.ledger_out)
    return summary


def main(args: argparse.Namespace) -> int:
    """Entry point of the ``sim`` subcommand; returns the process exit code."""
    from trio_trader.sim.scenario import ScenarioError

    code = 0
    try:
        trio.run(run, args)
    except* ScenarioError as group:
        log.error("%s", group.exceptions[0])
        code = 2
    except* OSError as group:
        log.error("cannot start the simulator: %s", group.exceptions[0])
        code = 1
    except* KeyboardInterrupt:
        code = 130
    return code
