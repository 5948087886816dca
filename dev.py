"""One-command set-up for a fresh machine with only Python 3.11+.

    python3 dev.py run          a 2-minute demo: paper-trade on the simulated chain
    python3 dev.py run ARGS     the same as: python -m trio_trader run ARGS
    python3 dev.py test         lint + the whole test suite (what CI runs)

It creates ``.venv`` beside this file, installs the project into it from
``pyproject.toml`` and then hands over to the project's own commands.
Standard library only, because nothing else is installed yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"
DEMO_SECONDS = 120


def _ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before anything is checked
        sys.exit("trio-trader needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    if STAMP.exists() and STAMP.read_bytes() == pyproject:
        return
    print(f"dev.py: installing trio-trader and its dependencies into {VENV} ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    # pip's own lines ("Collecting …", "Installing collected packages …") are the progress
    subprocess.run([*pip, "--progress-bar", "off", "-e", f"{ROOT}[dev]"], check=True)
    print("dev.py: installed", flush=True)
    STAMP.write_bytes(pyproject)


def demo_args(seconds: int = DEMO_SECONDS) -> list[str]:
    """``run`` arguments of the demo, announced on the terminal: where its database is."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    db = Path(tempfile.gettempdir()) / f"trio-trader-demo-{stamp}.db"
    print(
        f"dev.py: demo - {seconds // 60} minutes of paper trading on the simulator (the "
        f"default market, mainnet-like confirmation); Ctrl-C stops it early.\n"
        f"dev.py: its database: {db}\n"
        f"dev.py: afterwards: {BIN / 'python'} -m trio_trader report --db {db}",
        flush=True,
    )
    return ["--sim", "--duration", str(seconds), "--db", str(db)]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    _ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        # --no-venv: lint and test in the .venv just installed (one environment to build)
        cmd = [str(BIN / "nox"), "--no-venv", "-s", "lint", "tests", "--", *rest]
    else:
        # no arguments: the finite simulated-chain demo; otherwise `trio_trader run ARGS`
        cmd = [str(BIN / "python"), "-m", "trio_trader", "run", *(rest or demo_args())]
    os.chdir(ROOT)
    # the .venv's tools (ruff, mypy, pytest) first on PATH, as an activated venv would
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    if os.name == "posix":
        # Become the command: Ctrl-C and SIGTERM then reach the bot itself, which shuts
        # down gracefully, instead of interrupting a waiting parent.
        os.execv(cmd[0], cmd)
    return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
