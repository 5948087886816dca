"""Developer sessions: lint, tests, scenarios, bench, demo.

Every session installs the project from its own files into a fresh virtualenv,
so a green run here is a green run on a clean machine. ``python3 dev.py test`` runs
``lint`` and ``tests`` with ``--no-venv`` instead, in the one ``.venv`` it has just
installed the project into: one environment to build on first contact, not three.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

LINTED = ["trio_trader", "tests", "scripts", "noxfile.py", "dev.py"]
#: a quick subset that exercises every runtime dependency the floors must support
MINIMUMS_TESTS = [
    "tests/test_config.py",
    "tests/store",
    "tests/chain/test_rpc.py",
    "tests/chain/test_pubsub.py",
    "tests/chain/test_sender.py",
    "tests/chain/test_signer.py",
    "tests/test_budget.py",
    "tests/test_report.py",
]


def _install(session: nox.Session) -> None:
    if session.venv_backend == "none":
        return  # --no-venv: the interpreter's environment (dev.py's .venv) holds the project
    session.install("-e", ".[dev]")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and mypy --strict on the package and the bench."""
    _install(session)
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy", "trio_trader")
    session.run("mypy", "scripts/bench.py", "scripts/_bench")  # keeps the bench from rotting


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, integration against the simulator, scenarios)."""
    _install(session)
    session.run("pytest", "-q", *session.posargs)


def floor_constraints(pyproject: Path = Path("pyproject.toml")) -> list[str]:
    """``name==X`` for every ``name>=X`` requirement (runtime and dev) of pyproject.toml."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    pins = []
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)\s*", requirement)
        if match is None:
            raise ValueError(f"{requirement!r}: every dependency needs a plain >= floor")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


@nox.session
def plot(session: nox.Session) -> None:
    """``report --plot`` with the optional ``plot`` extra (matplotlib) installed: the PNG
    path, which the default environment (no matplotlib) skips."""
    session.install("-e", ".[dev,plot]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_plot.py", *session.posargs)


@nox.session
def minimums(session: nox.Session) -> None:
    """The oldest versions pyproject.toml allows (its ``>=`` floors, pinned exactly), on a
    quick subset of the tests: a floor that is too low fails here, not on a user's machine.
    """
    constraints = Path(session.create_tmp()) / "minimums.txt"
    constraints.write_text("\n".join(floor_constraints()) + "\n")
    session.install("-c", str(constraints), "-e", ".[dev]")
    session.run("python", "-m", "pip", "freeze", silent=False)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *(session.posargs or MINIMUMS_TESTS))


@nox.session
def scenarios(session: nox.Session) -> None:
    """Only the scenario tests that drive the bot against the simulator."""
    _install(session)
    session.run("pytest", "-q", "tests/scenario", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the simulator on 127.0.0.1; writes bench.json (docs/benchmarks.md).

    Only the runtime dependencies: the figures are of what a user installs. Arguments
    pass through: ``nox -s bench -- --quick``, ``-- --only detect,zero_hold``.
    """
    session.install("-e", ".")
    session.run("python", "scripts/bench.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Paper-trade on the embedded simulator for a minute."""
    _install(session)
    session.run("python", "-m", "trio_trader", "run", "--sim", "--duration", "60", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """Fault soak of the bot on the standalone simulator, then the audit (docs/reliability.md).

    ``nox -s soak -- --seed 7 --minutes 3``: 30 % reordering, 10 % drops, 5 % 429s and a
    WebSocket drop every ~20 s; fails unless the audit is 0 / 0 / 0 / 0.
    """
    session.install("-e", ".")
    session.run("python", "scripts/soak.py", *session.posargs)


@nox.session
def crashloop(session: nox.Session) -> None:
    """SIGKILL the bot at >= 20 seeded instants and restart it, then the audit.

    ``nox -s crashloop -- --seed 7 --minutes 3 --kills 20`` (docs/reliability.md); fails
    unless the audit is 0 / 0 / 0 / 0.
    """
    session.install("-e", ".")
    session.run("python", "scripts/crashloop.py", *session.posargs)
