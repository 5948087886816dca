"""Command lines of ``scripts/soak.py`` and ``scripts/crashloop.py``: arguments, report."""

from __future__ import annotations

import argparse
import json
import logging
import random
import shlex
from pathlib import Path
from typing import Any

from .audit import FIGURES, failures


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seed", type=int, default=None, help="run seed (default: a random one)")
    p.add_argument("--minutes", type=float, default=3.0, help="length of the run (default 3)")
    p.add_argument("--slot-ms", type=int, default=100, help="simulator slot time (default 100)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default: a temp dir)")
    return p


def seed_of(args: argparse.Namespace) -> int:
    seed: int = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    return seed


def reproduce(script: str, argv: list[str], seed: int) -> str:
    """The command that repeats this run: same seed and options, a fresh run directory."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--seed", "--out"):
            skip = True
        elif not arg.startswith(("--seed=", "--out=")):
            kept.append(arg)
    return shlex.join(["python", script, "--seed", str(seed), *kept])


def report_and_exit_code(report: dict[str, Any], command: str) -> int:
    """Print the figures and the evidence, write audit.json; 1 if any figure is not 0."""
    report["run"]["reproduce"] = command
    out = Path(report["run"]["dir"]) / "audit.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    print(json.dumps(report["evidence"], indent=2, sort_keys=True, default=str))
    print(json.dumps(report["counts"], sort_keys=True))
    cpu = report["run"]["cpu_s"]
    print(f"cpu: sim {cpu['sim']} s, bots {cpu['bots']} s over {report['run']['wall_s']} s wall")
    print("audit: " + "  ".join(f"{name}={report[name]}" for name in FIGURES))
    print(f"history: {report['history']}; written to {out}")
    print(f"seed {report['run']['seed']}; reproduce: {command}")
    bad = failures(report)
    print("FAIL: " + ", ".join(bad) if bad else "OK: 0 / 0 / 0 / 0")
    return 1 if bad else 0


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
