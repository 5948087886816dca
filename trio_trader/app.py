"""The ``run`` command: trade against a real endpoint, or paper-trade on the embedded simulator.

``python -m trio_trader run --config FILE`` trades with the configured wallet and RPC.
``python -m trio_trader run --sim …`` starts the simulator in this process (a local node
on 127.0.0.1 speaking real JSON-RPC and WebSocket), funds a fresh wallet and trades on it
exactly as on mainnet. At the end it prints a summary (and writes it as JSON) of this
run: positions created or closed during it, pre-confirmation SELLs, realised PnL and —
from the simulator's ledger (or the endpoint) — the wallet's SOL change since the start.

Start-up, in order: signal handlers (first of all, so Ctrl-C works at any instant), the
config (an exit rule is required), the wallet, one lock beside the database and one per
wallet (a second bot on either refuses to start), the database (created or migrated),
its identity (the wallet and the cluster's genesis hash it belongs to), the wallet's
balance against the cost of one BUY, then the trader. An endpoint that cannot be reached
at start is retried with a log line until it answers, ``--duration`` ends or a signal
arrives; anything else that prevents the start ends the process with one line.

Shutdown: the first Ctrl-C / SIGTERM (or the end of ``--duration``) stops buying and asks
every open position to sell now, waiting up to ``--grace`` seconds; a second signal, or
the end of the grace, cancels at once. Every order is in the database before it is sent,
so whatever is still open is resumed by the next start.

Exit codes: :data:`EXIT_OK` (0) after a graceful stop (duration, first SIGINT or SIGTERM,
also during start-up), :data:`EXIT_STARTUP_FAILED` (1) when the bot cannot start,
:data:`EXIT_USAGE` (2) for a bad config or bad arguments, :data:`EXIT_FORCED` (130) when a
second signal cut the shutdown short (positions may be left open, for the next start).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.budget import BuyRents, one_buy_cost
from trio_trader.chain.blockhash import BlockhashCache
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.errors import RpcError, RpcRateLimited, RpcUnavailable
from trio_trader.chain.priority_fee import PriorityFee
from trio_trader.chain.pubsub import PubsubClient
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.wallet import Wallet, WalletError
from trio_trader.config import (
    Config,
    ConfigError,
    load_config,
    parse_config,
    require_exit_rule,
)
from trio_trader.listeners.filters import TokenFilter
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, associated_token_address
from trio_trader.store import (
    PRE_CONFIRMATION_SELLS,
    PRE_CONFIRMATION_SELLS_SUCCEEDED,
    IdentityMismatch,
    LockHeld,
    Repository,
    SchemaError,
    db_lock_path,
    exclusive_lock,
    open_repository,
    wallet_lock_path,
)
from trio_trader.trading.exits import ExitRules
from trio_trader.trading.monitor import SellPolicy
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareBuyer,
    PlatformAwareSeller,
)
from trio_trader.trading.position import Position
from trio_trader.trading.trader import TraderSettings, UniversalTrader

log = logging.getLogger(__name__)

LAMPORTS_PER_SOL = 1_000_000_000
SIM_FUNDING = 10 * LAMPORTS_PER_SOL

#: graceful stop: ``--duration`` ended, or a first SIGINT/SIGTERM (at any phase)
EXIT_OK = 0
#: the bot could not start (database, lock, identity, funds, an endpoint's error)
EXIT_STARTUP_FAILED = 1
#: a bad config file or bad arguments
EXIT_USAGE = 2
#: a second signal stopped the shutdown at once (open positions stay in the database)
EXIT_FORCED = 130

#: first and longest pause between start-up retries of an endpoint that cannot be reached
STARTUP_RETRY_DELAY = 1.0
STARTUP_RETRY_MAX = 30.0
#: seconds the stop summary may spend reading the wallet's balances
SUMMARY_READ_TIMEOUT = 10.0
#: where the SPL token amount (u64 LE) sits in a token account's data
TOKEN_AMOUNT_OFFSET = 64

#: the ``--sim`` demo's settings when no ``--config`` is given: quick exits, small buys
SIM_DEFAULTS: dict[str, Any] = {
    "trade": {"buy_amount_sol": "0.05", "max_active_mints": 5, "sell_slippage_bps": 2000},
    "exits": {"take_profit_pct": 20.0, "stop_loss_pct": 15.0, "max_hold_time": 8.0},
    "priority_fee": {"fixed_micro_lamports": 10_000},
}

_T = TypeVar("_T")


class StartupError(Exception):
    """The bot cannot start; the message is the one line the user reads."""


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``run``."""
    parser.add_argument("--config", type=Path, help="TOML config (see config.example.toml)")
    parser.add_argument("--sim", action="store_true", help="paper-trade on the simulator")
    parser.add_argument("--scenario", default="default", help="simulator market scenario")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--slot-time", type=float, default=None, help="simulator seconds/slot")
    parser.add_argument("--duration", type=_seconds, default=None, help="stop after S seconds")
    parser.add_argument("--grace", type=_seconds, default=30.0, help="seconds to sell at shutdown")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: config)")
    parser.add_argument("--summary-json", type=Path, default=None, help="write the summary here")


def main(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit code (see the module docstring)."""
    early: list[int] = []
    previous = _catch_signals_early(early)
    try:
        return _main(args, early)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _catch_signals_early(received: list[int]) -> dict[int, Any]:
    """Until Trio's receiver takes over, note SIGINT/SIGTERM instead of dying mid-start."""

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, note)
    return previous


def _main(args: argparse.Namespace, early: list[int]) -> int:
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.sim and args.config is None:
        print("run: give --config FILE for a real endpoint, or --sim", file=sys.stderr)
        return EXIT_USAGE
    if args.sim:
        from trio_trader.sim.scenario import ScenarioError, load_scenario

        try:
            args.scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            print(f"scenario error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        summary, control = trio.run(run, args, config, early)
    except BaseExceptionGroup as group:
        leaf = _single_leaf(group)
        if leaf is None:
            raise
        return _failure(leaf)
    except (WalletError, ConfigError, StartupError) as exc:
        return _failure(exc)
    print(format_summary(summary))
    if args.summary_json is not None:
        try:
            args.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        except OSError as exc:  # the summary is printed already: say so, keep the stop's code
            print(f"error: cannot write {args.summary_json}: {exc.strerror}", file=sys.stderr)
    return EXIT_FORCED if control.forced else EXIT_OK


def _single_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one start-up error a nursery wrapped, or None (then it is re-raised)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    known = (WalletError, ConfigError, StartupError)
    if len(leaves) == 1 and isinstance(leaves[0], known):
        return leaves[0]
    return None


def _failure(exc: BaseException) -> int:
    if isinstance(exc, StartupError):
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def _config(args: argparse.Namespace) -> Config:
    if args.config is not None:
        config = load_config(args.config)
    else:
        config = parse_config(SIM_DEFAULTS, env={}) if args.sim else Config()
    if args.config is not None or args.sim:
        require_exit_rule(config)
    return config


# --------------------------------------------------------------------------- wiring


@attrs.define(eq=False, kw_only=True)
class Bot:
    """The trader with the services it was built from (for summaries and tests)."""

    trader: UniversalTrader
    rpc: RpcClient
    wallet: Pubkey


def trader_settings(config: Config) -> TraderSettings:
    """The trading layer's settings from the config tree."""
    f, x, t = config.filters, config.exits, config.trade
    return TraderSettings(
        max_active_mints=t.max_active_mints,
        max_buys=t.max_buys,
        listener=config.listener.source,
        commitment=config.listener.commitment,
        token_filter=TokenFilter(
            name_contains=tuple(f.name_contains),
            symbol_contains=tuple(f.symbol_contains),
            name_regex=f.name_regex,
            symbol_regex=f.symbol_regex,
            creator_allow=frozenset(Pubkey.from_string(k) for k in f.creator_allow),
            creator_deny=frozenset(Pubkey.from_string(k) for k in f.creator_deny),
            min_creator_buy_lamports=f.min_creator_buy_sol,
            max_creator_buy_lamports=f.max_creator_buy_sol,
            max_token_age=f.max_token_age,
        ),
        rules=ExitRules.from_pct(
            take_profit_pct=x.take_profit_pct,
            stop_loss_pct=x.stop_loss_pct,
            trailing_stop_pct=x.trailing_stop_pct,
            max_hold_time=x.max_hold_time,
            sell_after=x.sell_after,
            never_sell=x.never_sell,
        ),
        policy=SellPolicy(
            pre_confirmation_sells=t.pre_confirmation_sells,
            max_sell_attempts=t.max_sell_attempts,
            reprice_step_bps=t.sell_reprice_step_bps,
            emergency_policy=t.emergency_policy,
            tick_interval=x.tick_interval,
        ),
    )


def rpc_client(config: Config) -> RpcClient:
    """The JSON-RPC client of a live run: endpoints in fail-over order, request budget."""
    return RpcClient(
        tuple(config.rpc.endpoints),
        requests_per_second=config.rpc.requests_per_second,
        max_retries=config.rpc.max_retries,
    )


async def build_bot(
    config: Config, *, rpc: RpcClient, keypair: Keypair, repo: Repository, ws_url: str
) -> Bot:
    """Wire a :class:`UniversalTrader` from the config (``rpc`` must be open)."""
    pubsub = PubsubClient(ws_url)
    blockhash = BlockhashCache(rpc)
    pf = config.priority_fee
    if pf.mode == "dynamic":
        fee = PriorityFee.dynamic(
            rpc, pf.percentile, pf.cap_micro_lamports, accounts=(PUMP_PROGRAM_ID,)
        )
    else:
        fee = PriorityFee.fixed(pf.fixed_micro_lamports)
    chain = ChainAccess(
        rpc=rpc,
        payer=keypair,
        blockhash=blockhash,
        priority_fee=fee,
        confirmer=Confirmer(rpc, pubsub, rebroadcast_interval=config.trade.rebroadcast_interval),
        market=await MarketParams.load(rpc),
        compute_unit_limit=config.trade.compute_unit_limit,
    )
    t = config.trade
    trader = UniversalTrader(
        pubsub=pubsub,
        blockhash=blockhash,
        priority_fee=fee,
        buyer=PlatformAwareBuyer(
            chain=chain,
            amount_lamports=t.buy_amount_sol,
            slippage_bps=t.buy_slippage_bps,
            extreme_fast_mode=t.extreme_fast_mode,
            extreme_fast_token_amount=t.extreme_fast_token_amount,
        ),
        seller=PlatformAwareSeller(
            chain=chain,
            slippage_bps=t.sell_slippage_bps,
            close_token_account=t.close_token_account,
        ),
        repo=repo,
        settings=trader_settings(config),
    )
    return Bot(trader=trader, rpc=rpc, wallet=keypair.pubkey())


def _wallet(config: Config) -> Wallet:
    if config.wallet.keypair_file:
        return Wallet.from_keypair_file(Path(config.wallet.keypair_file).expanduser())
    if config.wallet.private_key is None:
        raise ConfigError(
            f"wallet: set {config.wallet.private_key_env} or wallet.keypair_file "
            "(or use --sim to paper-trade)"
        )
    return Wallet.from_env(config.wallet.private_key_env)


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


async def run(
    args: argparse.Namespace, config: Config, early: list[int] | None = None
) -> tuple[dict[str, Any], StopControl]:
    """The whole ``run`` under ``trio.run``: signals first, then the live or sim run.

    Returns:
        The summary and how the run was stopped.
    Raises:
        StartupError, ConfigError, WalletError: the bot could not start (one line each).
    """
    control = StopControl(early=early if early is not None else [])
    async with trio.open_nursery() as nursery:
        await nursery.start(control.watch_signals)
        if args.duration is not None:
            nursery.start_soon(control.stop_after, args.duration)
        body = _run_sim if args.sim else _run_live
        summary = await body(args, config, control)
        nursery.cancel_scope.cancel()
    return summary, control


async def trade_until_stopped(bot: Bot, control: StopControl, *, grace: float) -> None:
    """Run the trader until ``control.stop``, then sell for up to ``grace`` seconds.

    The trader starts in the background (recovery included), so a stop during its
    start-up is served at once; a second signal cancels everything.
    """
    with control.cancel_on_force():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_start_trader, nursery, bot)
            await control.stop.wait()
            log.info("stopping: no new buys; selling open positions (grace %.0fs)", grace)
            with trio.move_on_after(grace):
                await bot.trader.liquidate()
            nursery.cancel_scope.cancel()


async def _start_trader(nursery: trio.Nursery, bot: Bot) -> None:
    await nursery.start(bot.trader.run)
    log.info("trading: wallet %s, watching for new tokens", bot.wallet)


async def until_reachable(control: StopControl, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """Await ``call()``, retrying while the endpoint cannot be reached, until a stop.

    Raises:
        trio.Cancelled: never; a stop raises :class:`_Stopped` instead.
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
    raise _Stopped


class _Stopped(Exception):
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
    repo: Repository, db_path: Path, *, wallet: Pubkey, genesis_hash: str
) -> None:
    """Bind the database to this wallet and cluster, or refuse (another --db is needed)."""
    try:
        await repo.claim_identity(wallet=str(wallet), genesis_hash=genesis_hash)
    except IdentityMismatch as exc:
        raise StartupError(f"database {db_path}: {exc}; use another --db") from None


async def genesis_hash(rpc: RpcClient) -> str:
    """The cluster's genesis hash (``getGenesisHash``)."""
    value = await rpc.call("getGenesisHash")
    if not isinstance(value, str) or not value:
        raise RpcError(f"malformed getGenesisHash reply: {value!r:.80}")
    return value


def buy_cost(config: Config, rents: BuyRents) -> int:
    """:func:`budget.one_buy_cost` with the config's amounts (the fee cap when dynamic)."""
    pf, t = config.priority_fee, config.trade
    price = pf.fixed_micro_lamports if pf.mode == "fixed" else pf.cap_micro_lamports
    return one_buy_cost(
        buy_lamports=t.buy_amount_sol,
        slippage_bps=t.buy_slippage_bps,
        rents=rents,
        compute_unit_limit=t.compute_unit_limit,
        priority_fee_micro_lamports=price,
    )


def check_funds(config: Config, wallet: Pubkey, balance: int, rents: BuyRents) -> None:
    """Refuse to start when the wallet cannot pay one BUY (and the SELL after it)."""
    cost = buy_cost(config, rents)
    if balance < cost:
        raise StartupError(
            f"wallet {wallet} holds {_sol(balance)} SOL, less than one BUY can cost "
            f"({_sol(cost)} SOL: trade.buy_amount_sol {config.trade.buy_amount_sol.sol} "
            f"+ {config.trade.buy_slippage_bps} bps slippage, rent and fees); "
            "fund the wallet or lower trade.buy_amount_sol"
        )


async def prepare(
    control: StopControl,
    config: Config,
    *,
    rpc: RpcClient,
    repo: Repository,
    db_path: Path,
    keypair: Keypair,
    ws_url: str,
    start: RunStart,
) -> Bot:
    """Identity, funds and the bot's wiring; every endpoint call waits out an outage.

    Raises:
        _Stopped: a stop arrived first.
        StartupError: the database is another wallet's, or the wallet cannot pay a BUY.
    """
    wallet = keypair.pubkey()
    cluster = await until_reachable(control, "getGenesisHash", lambda: genesis_hash(rpc))
    await claim_database(repo, db_path, wallet=wallet, genesis_hash=cluster)
    rents = await until_reachable(control, "rent", lambda: BuyRents.load(rpc))
    balance = await until_reachable(control, "getBalance", lambda: rpc.get_balance(wallet))
    if start.balance is None:
        start.balance = balance
    check_funds(config, wallet, balance, rents)
    return await until_reachable(
        control,
        "pump accounts",
        lambda: build_bot(config, rpc=rpc, keypair=keypair, repo=repo, ws_url=ws_url),
    )


async def _start_and_trade(
    args: argparse.Namespace,
    config: Config,
    control: StopControl,
    *,
    rpc: RpcClient,
    repo: Repository,
    db_path: Path,
    keypair: Keypair,
    ws_url: str,
    start: RunStart,
) -> Bot | None:
    """Prepare then trade until stopped; None when a stop came during start-up."""
    start.counters = await repo.get_counters()
    try:
        bot = await prepare(
            control, config, rpc=rpc, repo=repo, db_path=db_path, keypair=keypair,
            ws_url=ws_url, start=start,
        )  # fmt: skip
    except _Stopped:
        log.info("stopped during start-up (%s): nothing traded", control.reason)
        return None
    if control.stop.is_set():
        return bot
    await trade_until_stopped(bot, control, grace=args.grace)
    return bot


async def _run_sim(
    args: argparse.Namespace, config: Config, control: StopControl
) -> dict[str, Any]:
    from trio_trader.sim import open_sim

    wallet = Wallet.generate()
    start = RunStart(wall=time.time(), balance=SIM_FUNDING)
    with tempfile.TemporaryDirectory(prefix="trio-trader-") as tmp:
        db_path = args.db or Path(tmp) / "sim.db"
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(instance_locks(db_path, wallet.pubkey))
            repo = await open_database(stack, db_path)
            sim = await stack.enter_async_context(
                open_sim(
                    args.scenario,
                    seed=args.seed,
                    slot_time=args.slot_time,
                    fund={wallet.pubkey: SIM_FUNDING},
                )
            )
            log.info("simulator at %s / %s; wallet %s", sim.rpc_url, sim.ws_url, wallet.pubkey)
            rpc = await stack.enter_async_context(RpcClient((sim.rpc_url,)))
            bot = await _start_and_trade(
                args, config, control, rpc=rpc, repo=repo, db_path=db_path,
                keypair=wallet.keypair, ws_url=sim.ws_url, start=start,
            )  # fmt: skip
            ledger = sim.summary()["wallets"].get(str(wallet.pubkey), {})
            return await build_summary(
                repo,
                bot,
                wallet=wallet.pubkey,
                start=start,
                wallet_sol_change=int(ledger.get("lamports", SIM_FUNDING)) - SIM_FUNDING,
                token_balances=dict(ledger.get("tokens", {})),
                source="simulator ledger",
            )
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the block returns)


async def _run_live(
    args: argparse.Namespace, config: Config, control: StopControl
) -> dict[str, Any]:
    wallet = _wallet(config)
    db_path = args.db or Path(config.db.path)
    start = RunStart(wall=time.time())
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(instance_locks(db_path, wallet.pubkey))
        repo = await open_database(stack, db_path)
        rpc = await stack.enter_async_context(rpc_client(config))
        bot = await _start_and_trade(
            args, config, control, rpc=rpc, repo=repo, db_path=db_path,
            keypair=wallet.keypair, ws_url=config.rpc.ws_url, start=start,
        )  # fmt: skip
        change, balances, problem = None, None, None
        with trio.move_on_after(SUMMARY_READ_TIMEOUT) as timeout:
            try:
                end = await rpc.get_balance(wallet.pubkey)
                change = None if start.balance is None else end - start.balance
                balances = await token_balances(
                    rpc, wallet.pubkey, await _held_positions(repo, start)
                )
            except RpcError as exc:
                problem = f"cannot read the balances: {exc}"
        if timeout.cancelled_caught:
            problem = f"cannot read the balances within {SUMMARY_READ_TIMEOUT:.0f} s"
        if problem is not None:
            log.warning("summary: %s", problem)
        return await build_summary(
            repo, bot, wallet=wallet.pubkey, start=start, wallet_sol_change=change,
            token_balances=balances, source="rpc", balances_error=problem,
        )  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover


async def _held_positions(repo: Repository, start: RunStart) -> list[Position]:
    """Positions whose tokens may still be in the wallet: this run's and every open one."""
    return [p for p in await repo.list_positions() if not p.is_closed or _in_run(p, start.wall)]


def token_account_amount(data: bytes) -> int:
    """The amount of an SPL token account (u64 LE at offset 64; both token programs)."""
    end = TOKEN_AMOUNT_OFFSET + 8
    if len(data) < end:
        raise ValueError(f"{len(data)} bytes is not a token account")
    return int.from_bytes(data[TOKEN_AMOUNT_OFFSET:end], "little")


async def token_balances(
    rpc: RpcClient, owner: Pubkey, positions: Sequence[Position]
) -> dict[str, int]:
    """Non-zero token balances of the positions' mints, in ``getMultipleAccounts`` batches."""
    accounts: dict[str, Pubkey] = {}
    for position in positions:
        info = position.token_info
        accounts[str(info.mint)] = associated_token_address(owner, info.mint, info.token_program)
    out: dict[str, int] = {}
    infos = await rpc.get_multiple_accounts(list(accounts.values()))
    for mint, account in zip(accounts, infos, strict=True):
        if account is None:
            continue
        try:
            amount = token_account_amount(account.data)
        except ValueError as exc:
            log.warning("token account of %s unreadable: %s", mint, exc)
            continue
        if amount:
            out[mint] = amount
    return out


# --------------------------------------------------------------------------- summary


def _in_run(position: Position, since: float) -> bool:
    """Created or closed during the run that started at ``since`` (unix s)."""
    created, closed = position.created_at, position.closed_at
    return (created is not None and created >= since) or (closed is not None and closed >= since)


def _sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:.9f}"


async def build_summary(
    repo: Repository,
    bot: Bot | None,
    *,
    wallet: Pubkey,
    start: RunStart,
    wallet_sol_change: int | None,
    token_balances: Mapping[str, int] | None,
    source: str,
    balances_error: str | None = None,
) -> dict[str, Any]:
    """This run's summary, JSON-ready (amounts in lamports and token base units).

    Everything ``*_this_run`` has one scope: positions created or closed since the run
    started, counters' increase since then, and the wallet's SOL change since then, so
    PnL and wallet change can be compared. ``None`` means a balance could not be read
    (``balances_error`` says why): the summary never fails because of it.
    """
    positions = await repo.list_positions()
    counters = await repo.get_counters()
    this_run = [p for p in positions if _in_run(p, start.wall)]
    delta = {k: v - start.counters.get(k, 0) for k, v in counters.items()}
    totals = position_totals(this_run, {k: v for k, v in delta.items() if v})
    stats = bot.trader.stats if bot is not None else None
    return {
        "wallet": str(wallet),
        "started_at": start.wall,
        "positions_this_run": totals["positions"],
        "pre_confirmation_sells_this_run": totals["pre_confirmation_sells"],
        "counters_this_run": totals["counters"],
        "realized_pnl_this_run_lamports": totals["realized_pnl_lamports"],
        "wallet_sol_change_this_run_lamports": wallet_sol_change,
        "open_positions_in_database": sum(1 for p in positions if not p.is_closed),
        "token_balances": (
            None if token_balances is None else {k: v for k, v in token_balances.items() if v}
        ),
        "balances_source": source,
        "balances_error": balances_error,
        "tokens_seen": stats.tokens_seen if stats else 0,
        "tokens_filtered": stats.filtered if stats else 0,
        "skipped_capacity": stats.skipped_capacity if stats else 0,
    }


def position_totals(positions: Sequence[Position], counters: Mapping[str, int]) -> dict[str, Any]:
    """Position counts, pre-confirmation SELLs and realised PnL, JSON-ready.

    Shared by the run's summary (over this run's positions and counters) and the
    ``report`` command (over the whole database) so both count from the same rows the
    same way: realised PnL is the sum over closed positions.
    """
    closed = [p for p in positions if p.is_closed]
    return {
        "positions": {
            "opened": len(positions),
            "closed": len(closed),
            "open": len(positions) - len(closed),
            "buy_failed": sum(1 for p in closed if p.status == "failed"),
        },
        "pre_confirmation_sells": {
            "sent": counters.get(PRE_CONFIRMATION_SELLS, 0),
            "succeeded": counters.get(PRE_CONFIRMATION_SELLS_SUCCEEDED, 0),
        },
        "counters": dict(counters),
        "realized_pnl_lamports": sum(p.realized_pnl_lamports or 0 for p in closed),
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few human lines for the terminal."""
    p, pre = summary["positions_this_run"], summary["pre_confirmation_sells_this_run"]
    change = summary["wallet_sol_change_this_run_lamports"]
    pnl = summary["realized_pnl_this_run_lamports"]
    source = summary["balances_source"]
    lines = [
        f"wallet {summary['wallet']}",
        f"positions this run: {p['opened']} opened, {p['closed']} closed "
        f"({p['buy_failed']} BUY failed), {p['open']} open",
        f"SELLs sent before their BUY confirmed: {pre['sent']} ({pre['succeeded']} succeeded)",
        f"realised PnL this run: {pnl / LAMPORTS_PER_SOL:+.9f} SOL",
        f"wallet SOL change this run ({source}): "
        + (f"{change / LAMPORTS_PER_SOL:+.9f} SOL" if change is not None else "unknown"),
    ]
    if summary.get("balances_error"):
        lines.append(f"balances: {summary['balances_error']}")
    held = summary["open_positions_in_database"]
    if held:
        lines.append(f"open positions in the database: {held} (resumed by the next start)")
    tokens = summary["token_balances"]
    if tokens is None:
        lines.append("tokens left: unknown")
    else:
        lines.append(
            "tokens left: "
            + (", ".join(f"{m}: {a}" for m, a in tokens.items()) if tokens else "none")
        )
    return "\n".join(lines)
