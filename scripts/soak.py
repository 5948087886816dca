"""Fault soak: the bot against the standalone simulator under 30 % reordering, 10 % drops,
5 % 429s and a WebSocket drop every ~20 s, then a sell-out and the audit.

    python scripts/soak.py --seed 7 --minutes 3      # exit 1 if any audit figure is not 0

Method and figures: docs/reliability.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reliability import cli, runs


def main() -> int:
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--ws-drop-every", type=float, default=20.0, help="mean s between WS drops")
    p.add_argument("--grace", type=float, default=60.0, help="sell-out grace at the end (s)")
    args = p.parse_args()
    seed = cli.seed_of(args)
    command = cli.reproduce("scripts/soak.py", sys.argv[1:], seed)
    print(f"soak: seed {seed}, {args.minutes} min; reproduce: {command}", flush=True)
    report = runs.soak(
        seed, args.minutes * 60, out=args.out, slot_ms=args.slot_ms,
        ws_drop_every=args.ws_drop_every, grace=args.grace,
    )  # fmt: skip
    return cli.report_and_exit_code(report, command)


if __name__ == "__main__":
    sys.exit(main())
