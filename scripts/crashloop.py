"""Crash loop: SIGKILL the bot at >= 20 seeded random instants, restart it with the same
database and wallet each time (one outage longer than the node's status cache), then a
last life that sells everything, then the audit.

    python scripts/crashloop.py --seed 7 --minutes 3 --kills 20   # exit 1 if a figure is not 0

Method and figures: docs/reliability.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reliability import cli, runs


def main() -> int:
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs (default 20)")
    p.add_argument("--final", type=float, default=10.0, help="last life's trading time (s)")
    p.add_argument("--grace", type=float, default=60.0, help="sell-out grace at the end (s)")
    p.add_argument("--faults", action="store_true", help="also the soak's fault mix")
    p.add_argument("--no-long-outage", action="store_true", help="skip the long outage")
    p.add_argument(
        "--extreme-fast",
        type=int,
        default=0,
        metavar="UNITS",
        help="extreme fast mode buying UNITS token base units (default: off)",
    )
    p.add_argument(
        "--send-endpoints",
        type=int,
        default=0,
        metavar="N",
        help="every send fanned out to N endpoints (the simulator's, N times; default: none)",
    )
    args = p.parse_args()
    if args.kills < 1:
        p.error("--kills must be >= 1")
    if args.extreme_fast < 0:
        p.error("--extreme-fast must be >= 0")
    if args.send_endpoints < 0:
        p.error("--send-endpoints must be >= 0")
    seed = cli.seed_of(args)
    command = cli.reproduce("scripts/crashloop.py", sys.argv[1:], seed)
    print(f"crashloop: seed {seed}, {args.kills} kills; reproduce: {command}", flush=True)
    report = runs.crashloop(
        seed, args.kills, args.minutes * 60, out=args.out, slot_ms=args.slot_ms,
        long_outage=not args.no_long_outage, final_seconds=args.final, grace=args.grace,
        faults=args.faults, extreme_fast=args.extreme_fast, send_endpoints=args.send_endpoints,
    )  # fmt: skip
    return cli.report_and_exit_code(report, command)


if __name__ == "__main__":
    sys.exit(main())
