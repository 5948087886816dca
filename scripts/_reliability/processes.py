"""The two subprocesses of a reliability run: the standalone simulator and the bot.

Both are started exactly as a user starts them (``python -m trio_trader sim`` /
``python -m trio_trader run --config …``), so a SIGKILL hits the real process with its
real database writes in flight. Output goes to log files in the run directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now (held together while the OS picks)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _env() -> dict[str, str]:
    """The environment of a child: this checkout's ``trio_trader`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class RpcError(RuntimeError):
    """A JSON-RPC error answer from the simulator."""


class SimProcess:
    """``python -m trio_trader sim`` on free 127.0.0.1 ports; its control endpoint."""

    def __init__(self, run_dir: Path, *, scenario: str, seed: int, slot_ms: int) -> None:
        self.rpc_port, self.ws_port = free_ports(2)
        self.rpc_url = f"http://127.0.0.1:{self.rpc_port}"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}"
        self.slot_time = slot_ms / 1000
        self.ledger_out = run_dir / "sim-ledger.json"
        self._log: IO[str] = (run_dir / "sim.log").open("w")
        self._http = httpx.Client(timeout=10)
        self._proc = subprocess.Popen(
            [
                sys.executable, "-m", "trio_trader", "sim",
                "--rpc-port", str(self.rpc_port), "--ws-port", str(self.ws_port),
                "--scenario", scenario, "--seed", str(seed), "--slot-ms", str(slot_ms),
                "--ledger-out", str(self.ledger_out),
            ],
            stdout=self._log, stderr=subprocess.STDOUT, env=_env(), cwd=run_dir,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll ``getHealth`` until the node answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"simulator exited with {self._proc.returncode}; see sim.log")
            try:
                if self.call("getHealth") == "ok":
                    return
            except (httpx.HTTPError, RpcError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"simulator not ready after {timeout} s; see sim.log")

    def call(self, method: str, params: list[Any] | None = None, *, path: str = "/") -> Any:
        """One JSON-RPC call; retries the simulator's own 429/503 faults a few times."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        for _ in range(20):
            reply = self._http.post(self.rpc_url + path, json=body)
            if reply.status_code in (429, 503):
                time.sleep(0.1)
                continue
            reply.raise_for_status()
            data = reply.json()
            if "error" in data:
                raise RpcError(f"{method}: {data['error']}")
            return data["result"]
        raise RpcError(f"{method}: still rate-limited after 20 tries")

    @property
    def pid(self) -> int:
        return self._proc.pid

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """``simSetFaults`` on the control path (never subject to the HTTP faults)."""
        result: dict[str, Any] = self.call("simSetFaults", [knobs], path="/sim")
        return result

    def stop(self) -> int:
        """SIGTERM (the ledger summary is written on the way out), then wait."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._http.close()
        self._log.close()
        return self._proc.returncode


class BotProcess:
    """One life of ``python -m trio_trader run --config …`` (a new one after each kill)."""

    def __init__(
        self, run_dir: Path, config: Path, life: int, *, duration: float | None, grace: float
    ) -> None:
        self.life = life
        self.log_path = run_dir / f"bot-{life:02d}.log"
        self._log: IO[str] = self.log_path.open("w")
        command = [sys.executable, "-m", "trio_trader", "run", "--config", str(config)]
        command += ["--grace", str(grace), "--summary-json", str(run_dir / f"bot-{life:02d}.json")]
        if duration is not None:
            command += ["--duration", str(duration)]
        self.started = time.monotonic()
        self._proc = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=_env(), cwd=run_dir
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def kill(self) -> int:
        """SIGKILL: no handler, no flush, no shutdown path runs."""
        self._proc.send_signal(signal.SIGKILL)
        return self._finish(timeout=30)

    def wait(self, timeout: float) -> int:
        """Wait for a run with ``--duration`` to end by itself; SIGKILL it past ``timeout``."""
        try:
            return self._finish(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def _finish(self, *, timeout: float) -> int:
        code = self._proc.wait(timeout=timeout)
        self._log.close()
        return code
