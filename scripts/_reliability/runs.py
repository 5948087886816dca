"""The two runs: a fault soak and a crash loop, each ending with a sell-out and the audit.

Both start the standalone simulator with the reliability market, fund a seeded wallet
over ``requestAirdrop`` and run the bot as a subprocess with a config naming that
wallet's keypair file and one database for every life of the bot. Every random choice
(the market, the faults, the kill instants) comes from the run's seed.
"""

from __future__ import annotations

import os
import random
import re
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from trio_trader.sim.node import STATUS_CACHE_SLOTS

from .audit import run_audit
from .processes import BotProcess, SimProcess
from .workspace import MARKET, wallet_keypair, write_config, write_keypair_file

LAMPORTS_PER_SOL = 1_000_000_000
FUNDING = 10 * LAMPORTS_PER_SOL
#: the issue's fault mix: 30 % reordering, 10 % drops, 5 % 429s (+ WebSocket drops)
SOAK_FAULTS: dict[str, Any] = {
    "reorder_probability": 0.3,
    "drop_probability": 0.1,
    "rpc_429_rate": 0.05,
}
NO_FAULTS: dict[str, Any] = {
    "reorder_probability": 0.0,
    "drop_probability": 0.0,
    "rpc_429_rate": 0.0,
    "rpc_5xx_rate": 0.0,
    "ws_disconnect_rate": 0.0,
}
#: seconds after the last bot exits before the ledger is read: in-flight transactions
#: (held back up to reorder_delay_max) land and reach "confirmed"
SETTLE_SECONDS = 3.0


@attrs.define(eq=False)
class Run:
    """A started simulator and the funded wallet the bot will use."""

    kind: str
    seed: int
    run_dir: Path
    sim: SimProcess
    wallet: str
    config: Path
    db_path: Path
    initial_lamports: int
    airdrop: str
    started: float = attrs.field(factory=time.monotonic)
    #: children's CPU before this run (a test process runs several)
    cpu_before: float = attrs.field(factory=lambda: _children_cpu())
    lives: list[dict[str, Any]] = attrs.field(factory=list)
    notes: dict[str, Any] = attrs.field(factory=dict)

    def life(self, bot: BotProcess, code: int, *, killed: bool) -> None:
        """Record how one life of the bot ended."""
        uptime = round(time.monotonic() - bot.started, 2)
        self.lives.append({"life": bot.life, "uptime_s": uptime, "killed": killed, "exit": code})


def start(
    kind: str,
    seed: int,
    out: Path | None,
    *,
    slot_ms: int,
    extreme_fast: int = 0,
    send_endpoints: int = 0,
) -> Run:
    """Start the simulator, fund the seeded wallet, write the keypair file and config."""
    run_dir = out or Path(tempfile.mkdtemp(prefix=f"trio-trader-{kind}-{seed}-"))
    if run_dir.exists() and any(run_dir.iterdir()):
        # a database left by another run would be resumed and audited as this one's
        raise FileExistsError(f"run directory {run_dir} is not empty")
    run_dir.mkdir(parents=True, exist_ok=True)
    sim = SimProcess(run_dir, scenario=str(MARKET), seed=seed, slot_ms=slot_ms)
    try:
        sim.wait_ready()
        keypair_file = run_dir / "wallet.json"
        wallet = write_keypair_file(keypair_file, wallet_keypair(seed))
        airdrop = sim.call("requestAirdrop", [str(wallet), FUNDING])
        initial = _wait_balance(sim, str(wallet), FUNDING)
        db_path = run_dir / "bot.db"
        config = write_config(
            run_dir, rpc_url=sim.rpc_url, ws_url=sim.ws_url, keypair_file=keypair_file,
            db_path=db_path, extreme_fast=extreme_fast, send_endpoints=send_endpoints,
        )  # fmt: skip
    except BaseException:
        sim.stop()
        raise
    return Run(kind, seed, run_dir, sim, str(wallet), config, db_path, initial, airdrop)


def _wait_balance(sim: SimProcess, wallet: str, least: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lamports: int = sim.call("getBalance", [wallet, {"commitment": "confirmed"}])["value"]
        if lamports >= least:
            return lamports
        time.sleep(0.1)
    raise RuntimeError(f"the airdrop to {wallet} did not land within {timeout} s")


def finish(run: Run) -> dict[str, Any]:
    """Quiet the node, let in-flight transactions land, audit, stop the simulator."""
    from solders.pubkey import Pubkey

    try:
        run.sim.set_faults(**NO_FAULTS)
        time.sleep(SETTLE_SECONDS)
        report = run_audit(
            rpc_url=run.sim.rpc_url, db_path=run.db_path, wallet=Pubkey.from_string(run.wallet),
            initial_lamports=run.initial_lamports, exclude={run.airdrop},
        )  # fmt: skip
        sim_cpu = _cpu_seconds(run.sim.pid)
    finally:
        run.sim.stop()
    report["run"] = {
        "kind": run.kind, "seed": run.seed, "dir": str(run.run_dir), "wallet": run.wallet,
        "wall_s": round(time.monotonic() - run.started, 1), "lives": run.lives, **run.notes,
        "cpu_s": {"sim": sim_cpu, "bots": round(_children_cpu() - run.cpu_before - sim_cpu, 1)},
        "cores": os.cpu_count(),
    }  # fmt: skip
    return report


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def _children_cpu() -> float:
    """CPU seconds of every waited-for child so far (the simulator once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(usage.ru_utime + usage.ru_stime, 1)


# --------------------------------------------------------------------------- soak


def soak(seed: int, seconds: float, *, out: Path | None = None, slot_ms: int = 100,
         ws_drop_every: float = 20.0, grace: float = 60.0) -> dict[str, Any]:  # fmt: skip
    """One bot life of ``seconds`` under the fault mix, then its own sell-out, then the audit."""
    run = start("soak", seed, out, slot_ms=slot_ms)
    try:
        faults = {**SOAK_FAULTS, "ws_disconnect_rate": (slot_ms / 1000) / ws_drop_every}
        run.notes["faults"] = run.sim.set_faults(**faults)
        bot = BotProcess(run.run_dir, run.config, 1, duration=seconds, grace=grace)
        run.life(bot, bot.wait(timeout=seconds + grace + 60), killed=False)
    except BaseException:
        run.sim.stop()
        raise
    return finish(run)


# --------------------------------------------------------------------------- crash loop

#: send→land delay during the crash loop: every order spends ~1 s in flight, so kills
#: that wait for a send (``Kill.at_send``) leave a transaction landing while the bot is down
IN_FLIGHT: dict[str, Any] = {"latency_min": 0.3, "latency_max": 1.5}
#: seconds a kill at a send waits for the next SENT line before killing anyway
SEND_WAIT = 20.0


@attrs.frozen
class Kill:
    """One SIGKILL: after ``uptime`` s (then, if ``at_send``, at the bot's next send)."""

    uptime: float
    downtime: float
    at_send: bool


def kill_plan(seed: int, kills: int, seconds: float, long_outage: float) -> list[Kill]:
    """The seeded kills; one downtime is ``long_outage`` (0: none) and that kill is at a send.

    Uptimes are drawn around ``seconds / kills`` so some kills land during start-up and
    recovery, others mid-trade; half the kills wait for a send so an order is in flight;
    downtimes are short except the long one.
    """
    rng = random.Random(seed)
    mean = max(1.0, (seconds - long_outage) / kills)
    plan = [
        Kill(rng.uniform(0.2, 2 * mean), rng.uniform(0.1, 2.0), rng.random() < 0.5)
        for _ in range(kills)
    ]
    if long_outage > 0:
        index = rng.randrange(kills // 2, kills) if kills > 1 else 0
        plan[index] = Kill(plan[index].uptime, long_outage, at_send=True)
    return plan


def status_cache_seconds(slot_ms: int) -> float:
    """How long a landed signature stays in the node's recent status cache."""
    return STATUS_CACHE_SLOTS * slot_ms / 1000


#: the order log line written right after ``sendTransaction`` (``trading.orders``):
#: "buy <mint> attempt 1: SENT <signature>", not the "SENT → CONFIRMED" transitions
SENT_LINE = re.compile(r"attempt \d+: SENT [1-9A-HJ-NP-Za-km-z]{64,88}$", re.MULTILINE)


def wait_for_send(bot: BotProcess, timeout: float) -> bool:
    """Block until the bot logs a new send (True) or ``timeout`` passes."""
    seen = len(SENT_LINE.findall(bot.log_path.read_text()))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and bot.alive():
        if len(SENT_LINE.findall(bot.log_path.read_text())) > seen:
            return True
        time.sleep(0.01)
    return False


def crashloop(seed: int, kills: int, seconds: float, *, out: Path | None = None,
              slot_ms: int = 100, long_outage: bool = True, final_seconds: float = 10.0,
              grace: float = 60.0, faults: bool = False,
              extreme_fast: int = 0, send_endpoints: int = 0) -> dict[str, Any]:  # fmt: skip
    """SIGKILL the bot at seeded instants, restart it on the same DB and wallet, audit
    (``extreme_fast``: token base units of an extreme fast BUY, 0: the default mode;
    ``send_endpoints``: every send fanned out to that many endpoints, 0: none)."""
    outage = status_cache_seconds(slot_ms) + 5.0 if long_outage else 0.0
    plan = kill_plan(seed, kills, seconds, outage)
    run = start(
        "crashloop", seed, out, slot_ms=slot_ms, extreme_fast=extreme_fast,
        send_endpoints=send_endpoints,
    )  # fmt: skip
    run.notes["extreme_fast"] = extreme_fast
    run.notes["send_endpoints"] = send_endpoints
    run.notes["plan"] = [[round(k.uptime, 2), round(k.downtime, 2), k.at_send] for k in plan]
    try:
        run.notes["faults"] = run.sim.set_faults(**IN_FLIGHT, **(SOAK_FAULTS if faults else {}))
        for life, kill in enumerate(plan, start=1):
            _one_life(run, life, kill, grace)
        bot = BotProcess(
            run.run_dir, run.config, len(plan) + 1, duration=final_seconds, grace=grace
        )
        run.life(bot, bot.wait(timeout=final_seconds + grace + 60), killed=False)
    except BaseException:
        run.sim.stop()
        raise
    return finish(run)


def _one_life(run: Run, life: int, kill: Kill, grace: float) -> None:
    bot = BotProcess(run.run_dir, run.config, life, duration=None, grace=grace)
    time.sleep(kill.uptime)
    sent = kill.at_send and wait_for_send(bot, SEND_WAIT)
    exited = not bot.alive()
    run.life(bot, bot.kill(), killed=not exited)
    run.lives[-1]["at_send"] = sent
    time.sleep(kill.downtime)
