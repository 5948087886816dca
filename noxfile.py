"""Developer sessions: lint, tests, scenarios, bench, demo.

Every session installs the project from its own files into a fresh virtualenv,
so a green run here is a green run on a clean machine.
"""

from __future__ import annotations

import nox

nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

LINTED = ["trio_trader", "tests", "scripts", "noxfile.py", "dev.py"]


def _install(session: nox.Session) -> None:
    session.install("-e", ".[dev]")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and mypy --strict on the package."""
    _install(session)
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("mypy", "trio_trader")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, integration against the simulator, scenarios)."""
    _install(session)
    session.run("pytest", "-q", *session.posargs)


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
