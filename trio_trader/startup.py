"""The ``run`` command's start-up: stopping on signals, waiting out endpoints, refusing to
start when the bot must not trade.

* :class:`StopControl` turns SIGINT/SIGTERM and ``--duration`` into a graceful stop, then a
  forced one; start-up waits and the shutdown run in scopes it cancels.
* :func:`until_reachable` retries a start-up RPC call while the endpoint cannot be reached
  (with a log line each time), until it answers or a stop arrives.
* The refusals, each a :class:`StartupError` whose message is the one line the user reads:
  another process holds the database or the wallet (:func:`instance_locks`), the database
  cannot be used (:func:`open_database`) or belongs to another wallet or cluster
  (:func:`claim_database`), the wallet cannot pay one BUY (:func:`check_funds`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import attrs
import trio
from solders.pubkey import Pubkey

from trio_trader.budget import BuyRents, one_buy_cost
from trio_trader.chain.errors import RpcError, RpcRateLimited, RpcUnavailable
from trio_trader.chain.rpc import RpcClient
from trio_trader.config import LAMPORTS_PER_SOL, Config
from trio_trader.store import (
    MODE_LIVE,
    IdentityMismatch,
    LockHeld,
    ModeMismatch,
    Repository,
    SchemaError,
    db_lock_path,
    exclusive_lock,
    open_repository,
    wallet_lock_path,
)
from trio_trader.trading.compute import ComputeUnits, TxKind

log = logging.getLogger(__name__)

#: first and longest pause between start-up retries of an endpoint that cannot be reached
STARTUP_RETRY_DELAY = 1.0
STARTUP_RETRY_MAX = 30.0

_T = TypeVar("_T")


class StartupError(Exception):
    """The bot cannot start; the message is the one line the user reads."""


# --------------------------------------------------------------------------- stopping


@attrs.define(eq=False)
class StopControl:
    """Signals, ``--duration`` and the scopes they cancel.

    ``stop`` is set by the first signal or the end of the duration: start-up waits (see
    :meth:`cancel_on_stop`) are abandoned and trading shuts down gracefully. A second
    signal sets ``forced`` and cancels the scopes of :meth:`cancel_on_force` (the
    graceful shutdown itself).
    """

    early: list[int] = attrs.field(factory=list)
    stop: trio.Event = attrs.field(factory=trio.Event)
    reason: str | None = None
    forced: bool = False
    _on_stop: set[trio.CancelScope] = attrs.field(factory=set)
    _on_force: set[trio.CancelScope] = attrs.field(factory=set)

    def request_stop(self, reason: str) -> None:
        """Stop gracefully (idempotent)."""
        if self.stop.is_set():
            return
        self.reason = reason
        self.stop.set()
        for scope in self._on_stop:
            scope.cancel()

    def force(self) -> None:
        """Stop at once: cancel the graceful shutdown."""
        self.forced = True
        for scope in self._on_force:
            scope.cancel()

    async def watch_signals(self, *, task_status: trio.TaskStatus[None]) -> None:
        """Turn SIGINT/SIGTERM into :meth:`request_stop`, then :meth:`force`."""
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            task_status.started()
            for signum in self.early:  # arrived before Trio took the handlers over
                self._on_signal(signum)
            async for signum in received:
                self._on_signal(signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.warning("second signal (%s): stopping now; open positions stay in the database",
                        name)  # fmt: skip
            self.force()
            return
        log.info("signal %s: shutting down gracefully", name)
        self.request_stop(name)

    async def stop_after(self, seconds: float) -> None:
        await trio.sleep(seconds)
        log.info("--duration %.0f s reached: shutting down gracefully", seconds)
        self.request_stop("duration")

    @contextlib.contextmanager
    def cancel_on_stop(self) -> Iterator[trio.CancelScope]:
        """A scope cancelled by the first signal or the duration (at once if already)."""
        with self._registered(self._on_stop, self.stop.is_set()) as scope:
            yield scope

    @contextlib.contextmanager
    def cancel_on_force(self) -> Iterator[trio.CancelScope]:
        """A scope cancelled by the second signal."""
        with self._registered(self._on_force, self.forced) as scope:
            yield scope

    @staticmethod
    @contextlib.contextmanager
    def _registered(scopes: set[trio.CancelScope], already: bool) -> Iterator[trio.CancelScope]:
        with trio.CancelScope() as scope:
            if already:
                scope.cancel()
            scopes.add(scope)
            try:
                yield scope
            finally:
                scopes.discard(scope)


async def until_reachable(control: StopControl, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """Await ``call()``, retrying while the endpoint cannot be reached, until a stop.

    Raises:
        Stopped: a stop (first signal, ``--duration``) arrived first.
        StartupError: the endpoint answered with an error (one line naming ``what``).
    """
    delay = STARTUP_RETRY_DELAY
    with control.cancel_on_stop():
        while True:
            try:
                return await call()
            except (RpcUnavailable, RpcRateLimited) as exc:
                log.warning("start-up: %s: endpoint unreachable (%s); retrying in %.0f s "
                            "(Ctrl-C to stop)", what, exc, delay)  # fmt: skip
            except RpcError as exc:
                raise StartupError(f"start-up: {what} failed: {exc}") from None
            await trio.sleep(delay)
            delay = min(2 * delay, STARTUP_RETRY_MAX)
    raise Stopped


class Stopped(Exception):
    """A stop arrived while start-up was waiting for an endpoint."""


# --------------------------------------------------------------------------- start-up


@attrs.define(eq=False, kw_only=True)
class RunStart:
    """What the summary compares the end of the run with."""

    wall: float
    counters: dict[str, int] = attrs.field(factory=dict)
    balance: int | None = None


@contextlib.contextmanager
def instance_locks(db_path: Path, wallet: Pubkey) -> Iterator[None]:
    """The database's and the wallet's locks (see ``store._lock``), or StartupError."""
    wallet_lock = wallet_lock_path(wallet)
    try:
        wallet_lock.parent.mkdir(parents=True, exist_ok=True)
        with (
            exclusive_lock(db_lock_path(db_path), f"database {db_path}"),
            exclusive_lock(wallet_lock, f"wallet {wallet}"),
        ):
            yield
    except LockHeld as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        raise StartupError(f"cannot create the lock file {exc.filename}: {exc.strerror}") from None


async def open_database(stack: contextlib.AsyncExitStack, path: Path) -> Repository:
    """Open (create or migrate) the database; one clear StartupError when it cannot be."""
    try:
        return await stack.enter_async_context(open_repository(path))
    except SchemaError as exc:
        raise StartupError(f"database {path}: {exc}") from None
    except sqlite3.Error as exc:
        raise StartupError(f"database {path}: cannot use it ({exc})") from None


async def claim_database(
    repo: Repository,
    db_path: Path,
    *,
    wallet: Pubkey,
    genesis_hash: str,
    mode: str = MODE_LIVE,
) -> None:
    """Bind the database to this wallet, cluster and mode (``live`` or ``dry-run``), or
    refuse (another --db is needed): paper PnL never mixes with real PnL."""
    try:
        await repo.claim_identity(wallet=str(wallet), genesis_hash=genesis_hash)
        await repo.claim_mode(mode)
    except (IdentityMismatch, ModeMismatch) as exc:
        raise StartupError(f"database {db_path}: {exc}; use another --db") from None


async def genesis_hash(rpc: RpcClient) -> str:
    """The cluster's genesis hash (``getGenesisHash``)."""
    value = await rpc.call("getGenesisHash")
    if not isinstance(value, str) or not value:
        raise RpcError(f"malformed getGenesisHash reply: {value!r:.80}")
    return value


def buy_cost(config: Config, rents: BuyRents) -> int:
    """:func:`budget.one_buy_cost` with the config's amounts (the fee cap when dynamic) and
    the BUY's compute-unit limit (the largest of a BUY and any SELL after it)."""
    pf, t = config.priority_fee, config.trade
    price = pf.fixed_micro_lamports if pf.mode == "fixed" else pf.cap_micro_lamports
    units = ComputeUnits(fixed=t.compute_unit_limit if t.compute_units == "fixed" else None)
    # A wallet that trades only USDC coins pays their BUYs in USDC (checked before each
    # BUY): in SOL it needs only the rent and the fees.
    sol_budget = t.buy_amount_sol if "SOL" in t.quote_mints else 0
    return one_buy_cost(
        buy_lamports=sol_budget,
        slippage_bps=t.buy_slippage_bps,
        rents=rents,
        compute_unit_limit=units.limit(TxKind.BUY_V2 if t.instructions == "v2" else TxKind.BUY),
        priority_fee_micro_lamports=price,
    )


def check_funds(config: Config, wallet: Pubkey, balance: int, rents: BuyRents) -> None:
    """Refuse to start when the wallet cannot pay one BUY (and the SELL after it)."""
    cost = buy_cost(config, rents)
    if balance < cost and "SOL" not in config.trade.quote_mints:
        raise StartupError(
            f"wallet {wallet} holds {_sol(balance)} SOL, less than the rent and fees of one "
            f"USDC BUY and its SELL ({_sol(cost)} SOL); fund the wallet with SOL"
        )
    if balance < cost:
        raise StartupError(
            f"wallet {wallet} holds {_sol(balance)} SOL, less than one BUY can cost "
            f"({_sol(cost)} SOL: trade.buy_amount_sol {config.trade.buy_amount_sol.sol} "
            f"+ {config.trade.buy_slippage_bps} bps slippage, rent and fees); "
            "fund the wallet or lower trade.buy_amount_sol"
        )


def _sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:.9f}"
