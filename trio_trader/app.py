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
balance against the cost of one BUY, then the banner (``ui.banner``: mode, wallet, balance,
masked endpoints, rules, limits) and the trader, with the live dashboard beside it when
stdout is a terminal (``ui.dashboard``; ``--no-dashboard`` keeps the log stream). An
endpoint that cannot be reached at start is retried with a log line until it answers,
``--duration`` ends or a signal arrives; anything else that prevents the start ends the
process with one line.

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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader import gctune
from trio_trader.budget import BuyRents
from trio_trader.chain.blockhash import BlockhashCache
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.errors import RpcError
from trio_trader.chain.priority_fee import PriorityFee
from trio_trader.chain.pubsub import PubsubClient
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.wallet import Wallet, WalletError
from trio_trader.cli import signals_noted
from trio_trader.config import (
    LAMPORTS_PER_SOL,
    Config,
    ConfigError,
    TradeConfig,
    load_config,
    parse_config,
    require_exit_rule,
)
from trio_trader.listeners.filters import TokenFilter
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, USDC_MINT
from trio_trader.pump.curve import max_sol_cost
from trio_trader.startup import (
    RunStart,
    StartupError,
    StopControl,
    Stopped,
    buy_cost,
    check_funds,
    claim_database,
    genesis_hash,
    instance_locks,
    open_database,
    until_reachable,
)
from trio_trader.store import MODE_DRY_RUN, MODE_LIVE, Repository
from trio_trader.summary import (
    build_summary,
    format_summary,
    held_positions,
    position_totals,
    token_account_amount,
    token_balances,
)
from trio_trader.trading.compute import ComputeUnits
from trio_trader.trading.control import CommandServer
from trio_trader.trading.dry_run import DryRunChain
from trio_trader.trading.exits import ExitRules
from trio_trader.trading.funds import WalletFunds
from trio_trader.trading.monitor import SellPolicy
from trio_trader.trading.platform_aware import (
    ChainAccess,
    MarketParams,
    PlatformAwareBuyer,
    PlatformAwareSeller,
    QuoteBudget,
)
from trio_trader.trading.trader import TraderSettings, TraderStats, UniversalTrader
from trio_trader.ui.banner import log_banner, run_mode
from trio_trader.ui.dashboard import dashboard_beside

# re-exported: the ``report`` command and tests use them from here
__all__ = [
    "EXIT_FORCED",
    "EXIT_OK",
    "EXIT_STARTUP_FAILED",
    "EXIT_USAGE",
    "Bot",
    "RunStart",
    "StartupError",
    "StopControl",
    "build_bot",
    "build_summary",
    "buy_cost",
    "format_summary",
    "main",
    "position_totals",
    "rpc_client",
    "run",
    "token_account_amount",
    "token_balances",
    "trade_until_stopped",
]

log = logging.getLogger(__name__)

SIM_FUNDING = 10 * LAMPORTS_PER_SOL

#: graceful stop: ``--duration`` ended, or a first SIGINT/SIGTERM (at any phase)
EXIT_OK = 0
#: the bot could not start (database, lock, identity, funds, an endpoint's error)
EXIT_STARTUP_FAILED = 1
#: a bad config file or bad arguments
EXIT_USAGE = 2
#: a second signal stopped the shutdown at once (open positions stay in the database)
EXIT_FORCED = 130

#: seconds the stop summary may spend reading the wallet's balances
SUMMARY_READ_TIMEOUT = 10.0

#: the ``--sim`` demo's settings when no ``--config`` is given: quick exits, small buys.
#: Symmetric ±10 % price exits (not tuned for profit) fire within the first seconds of a
#: coin's life, often while the BUY is unconfirmed. An 8 % BUY slippage: snipers in the
#: creation slots make some BUYs fail, and a SELL sent before such a BUY confirmed fails
#: too (its fee is lost) — the demo shows that cost of the edge as well as its gain.
#: A take profit before the BUY confirms is judged against the BUY's worst price (its
#: slippage limit), a stop loss against its quote (``Position.worst_entry_cost``).
SIM_DEFAULTS: dict[str, Any] = {
    "trade": {
        "buy_amount_sol": "0.05",
        "max_active_mints": 5,
        "buy_slippage_bps": 800,
        "sell_slippage_bps": 2000,
    },
    "exits": {"take_profit_pct": 10.0, "stop_loss_pct": 10.0, "max_hold_time": 8.0},
    "priority_fee": {"fixed_micro_lamports": 10_000},
}


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
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="paper-trade against the endpoint: BUYs simulated, nothing sent (own --db)",
    )
    parser.add_argument("--scenario", default="default", help="simulator market scenario")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--slot-time", type=float, default=None, help="simulator seconds/slot")
    parser.add_argument("--duration", type=_seconds, default=None, help="stop after S seconds")
    parser.add_argument("--grace", type=_seconds, default=30.0, help="seconds to sell at shutdown")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: config)")
    parser.add_argument("--summary-json", type=Path, default=None, help="write the summary here")
    parser.add_argument(
        "--no-dashboard",
        action="store_true",
        help="log lines on the terminal instead of the live dashboard (the default on a tty)",
    )


def main(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit code (see the module docstring).

    Signals are noted from the first instant (``cli`` starts noting them before it even
    imports this module, and passes them as ``args.early_signals``); Trio's receiver
    serves them as soon as the run starts.
    """
    early = getattr(args, "early_signals", None)
    if early is not None:
        return _main(args, early)
    early = []
    with signals_noted(early):
        return _main(args, early)


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
    if args.sim:
        print(_database_line(args.db))
    if args.summary_json is not None:
        try:
            args.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        except OSError as exc:  # the summary is printed already: say so, keep the stop's code
            print(f"error: cannot write {args.summary_json}: {exc.strerror}", file=sys.stderr)
    return EXIT_FORCED if control.forced else EXIT_OK


def _database_line(db: Path | None) -> str:
    """Where a simulator run's database is, so ``report`` can read it afterwards."""
    if db is None:
        return "database: temporary, deleted at exit (give --db FILE to keep it)"
    return f"database: {db} (read it with: python -m trio_trader report --db {db})"


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
    """One line on stderr; 1 when the bot could not start, 2 for the config or wallet."""
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_STARTUP_FAILED if isinstance(exc, StartupError) else EXIT_USAGE


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


def quote_budgets(t: TradeConfig) -> dict[Pubkey, QuoteBudget]:
    """The BUY budget of each token quote ``trade.quote_mints`` lists (USDC), base units."""
    if "USDC" not in t.quote_mints:
        return {}
    cap = max_sol_cost(t.max_buy_usdc, t.buy_slippage_bps)
    return {USDC_MINT: QuoteBudget(t.buy_amount_usdc, cap)}


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
        adopt_orphans=t.adopt_orphans,
        spin=config.latency.spin,
        rehearse=config.latency.rehearse_ms / 1e3,
    )


#: the send connections get a request after this long without one (providers close idle
#: keep-alive connections after 60 s or more; one request per 30 s is negligible billing)
KEEP_WARM_SECONDS = 30.0


def rpc_client(config: Config) -> RpcClient:
    """The JSON-RPC client of a live run: endpoints in fail-over order, request budget."""
    return RpcClient(
        tuple(config.rpc.endpoints),
        requests_per_second=config.rpc.requests_per_second,
        max_retries=config.rpc.max_retries,
        send_endpoints=config.rpc.send_endpoints,
        keep_warm=KEEP_WARM_SECONDS,
    )


async def build_bot(
    config: Config,
    *,
    rpc: RpcClient,
    keypair: Keypair,
    repo: Repository,
    ws_url: str,
    rents: BuyRents | None = None,
    dry_run: bool = False,
) -> Bot:
    """Wire a :class:`UniversalTrader` from the config (``rpc`` must be open).

    ``dry_run`` wires :class:`DryRunChain`: BUYs are simulated, SELLs paper-filled, and
    nothing is ever sent (``trading/dry_run.py``).

    ``rents`` (read from the node when not given) bound what each BUY may cost, for the
    check before every BUY (``trading.funds``).
    """
    pubsub = PubsubClient(ws_url)
    blockhash = BlockhashCache(rpc)
    pf = config.priority_fee
    if pf.mode == "dynamic":
        fee = PriorityFee.dynamic(
            rpc, pf.percentile, pf.cap_micro_lamports, accounts=(PUMP_PROGRAM_ID,)
        )
    else:
        fee = PriorityFee.fixed(pf.fixed_micro_lamports)
    access = DryRunChain if dry_run else ChainAccess
    chain = access(
        rpc=rpc,
        payer=keypair,
        blockhash=blockhash,
        priority_fee=fee,
        confirmer=Confirmer(rpc, pubsub, rebroadcast_interval=config.trade.rebroadcast_interval),
        market=await MarketParams.load(rpc),
        compute_unit_limit=config.trade.compute_unit_limit,
        compute_units=ComputeUnits(
            fixed=config.trade.compute_unit_limit if config.trade.compute_units == "fixed" else None
        ),
        instructions=config.trade.instructions,
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
            max_cost_lamports=max_sol_cost(t.max_buy_sol, t.buy_slippage_bps),
            quote_budgets=quote_budgets(t),
            buys_sol_coins="SOL" in t.quote_mints,
        ),
        seller=PlatformAwareSeller(
            chain=chain,
            slippage_bps=t.sell_slippage_bps,
            close_token_account=t.close_token_account,
        ),
        repo=repo,
        settings=trader_settings(config),
        funds=WalletFunds(
            rpc, keypair.pubkey(), rents or await BuyRents.load(rpc), quotes=tuple(quote_budgets(t))
        ),
    )
    return Bot(trader=trader, rpc=rpc, wallet=keypair.pubkey())


#: the Solana CLI's default keypair, used when the config names no key
SOLANA_CLI_KEYPAIR = "~/.config/solana/id.json"


@attrs.frozen
class WalletSource:
    """Which key a live run signs with: ``kind`` is ``file``, ``env``, ``solana_cli`` or
    ``none``; ``text`` is what the banner and ``config show`` say (never the key)."""

    kind: str
    text: str
    path: Path | None = None


def wallet_source(config: Config) -> WalletSource:
    """``wallet.keypair_file``, else the environment variable, else the Solana CLI's
    ``~/.config/solana/id.json`` when it exists (``$HOME`` is read now, not at import)."""
    w = config.wallet
    if w.keypair_file:
        path = Path(w.keypair_file).expanduser()
        return WalletSource("file", f"{w.keypair_file} (wallet.keypair_file)", path)
    if w.private_key is not None:
        return WalletSource("env", f"${w.private_key_env} (environment)")
    default = Path(SOLANA_CLI_KEYPAIR).expanduser()
    if default.is_file():
        return WalletSource("solana_cli", f"{SOLANA_CLI_KEYPAIR} (Solana CLI default)", default)
    return WalletSource("none", "none configured")


def _wallet(config: Config) -> tuple[Wallet, WalletSource]:
    source = wallet_source(config)
    if source.path is not None:
        return Wallet.from_keypair_file(source.path), source
    if source.kind == "none":
        raise ConfigError(
            f"wallet: set {config.wallet.private_key_env} or wallet.keypair_file, or create "
            f"{SOLANA_CLI_KEYPAIR} with solana-keygen (or use --sim to paper-trade)"
        )
    return Wallet.from_env(config.wallet.private_key_env), source


# --------------------------------------------------------------------------- running


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
    # ``trio_trader sell / pause / resume`` from another terminal (trading/control.py)
    await nursery.start(CommandServer(trader=bot.trader, repo=bot.trader.repo).run)
    log.info("trading: wallet %s, watching for new tokens", bot.wallet)


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
    dry_run: bool = False,
) -> Bot:
    """Identity, funds and the bot's wiring; every endpoint call waits out an outage.

    A dry run (``trading/dry_run.py``) needs a database marked ``dry-run`` and still the
    funds of one BUY: its BUYs are simulated against the real wallet.

    Raises:
        _Stopped: a stop arrived first.
        StartupError: the database is another wallet's, or the wallet cannot pay a BUY.
    """
    wallet = keypair.pubkey()
    cluster = await until_reachable(control, "getGenesisHash", lambda: genesis_hash(rpc))
    mode = MODE_DRY_RUN if dry_run else MODE_LIVE
    await claim_database(repo, db_path, wallet=wallet, genesis_hash=cluster, mode=mode)
    rents = await until_reachable(control, "rent", lambda: BuyRents.load(rpc))
    balance = await until_reachable(control, "getBalance", lambda: rpc.get_balance(wallet))
    if start.balance is None:
        start.balance = balance
    check_funds(config, wallet, balance, rents)
    return await until_reachable(
        control,
        "pump accounts",
        lambda: build_bot(
            config,
            rpc=rpc,
            keypair=keypair,
            repo=repo,
            ws_url=ws_url,
            rents=rents,
            dry_run=dry_run,
        ),
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
    wallet_source: str | None = None,
) -> Bot | None:
    """Prepare then trade until stopped; None when a stop came during start-up."""
    start.counters = await repo.get_counters()
    dry_run = bool(getattr(args, "dry_run", False))
    try:
        bot = await prepare(
            control, config, rpc=rpc, repo=repo, db_path=db_path, keypair=keypair,
            ws_url=ws_url, start=start, dry_run=dry_run,
        )  # fmt: skip
    except Stopped:
        log.info("stopped during start-up (%s): nothing traded", control.reason)
        return None
    if control.stop.is_set():
        return bot
    mode = run_mode(args.sim, dry_run=dry_run)
    log_banner(config, mode=mode, wallet=str(bot.wallet), balance=start.balance,
               endpoints=rpc.endpoints, ws_url=ws_url, wallet_source=wallet_source)  # fmt: skip
    async with dashboard_beside(
        bot, enabled=getattr(args, "dashboard", False), db_path=db_path, since=start.wall,
        mode=mode, log_file=getattr(args, "log_path", None),
    ):  # fmt: skip
        # start-up's objects frozen, the young passes at idle (gctune.py, gcidle.py)
        with gctune.tuned():
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
                wallet_source="a fresh keypair funded by the simulator",
            )  # fmt: skip
            ledger = sim.summary()["wallets"].get(str(wallet.pubkey), {})
            return await build_summary(
                repo,
                _stats(bot),
                wallet=wallet.pubkey,
                start=start,
                wallet_sol_change=int(ledger.get("lamports", SIM_FUNDING)) - SIM_FUNDING,
                token_balances=dict(ledger.get("tokens", {})),
                source="simulator ledger",
                paper=bool(getattr(args, "dry_run", False)),
            )
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the block returns)


def _stats(bot: Bot | None) -> TraderStats | None:
    return bot.trader.stats if bot is not None else None


async def _run_live(
    args: argparse.Namespace, config: Config, control: StopControl
) -> dict[str, Any]:
    wallet, source = _wallet(config)
    db_path = args.db or Path(config.db.path)
    start = RunStart(wall=time.time())
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(instance_locks(db_path, wallet.pubkey))
        repo = await open_database(stack, db_path)
        rpc = await stack.enter_async_context(rpc_client(config))
        bot = await _start_and_trade(
            args, config, control, rpc=rpc, repo=repo, db_path=db_path,
            keypair=wallet.keypair, ws_url=config.rpc.ws_url, start=start,
            wallet_source=source.text,
        )  # fmt: skip
        change, balances, problem = None, None, None
        with trio.move_on_after(SUMMARY_READ_TIMEOUT) as timeout:
            try:
                end = await rpc.get_balance(wallet.pubkey)
                change = None if start.balance is None else end - start.balance
                balances = await token_balances(
                    rpc, wallet.pubkey, await held_positions(repo, start)
                )
            except RpcError as exc:
                problem = f"cannot read the balances: {exc}"
        if timeout.cancelled_caught:
            problem = f"cannot read the balances within {SUMMARY_READ_TIMEOUT:.0f} s"
        if problem is not None:
            log.warning("summary: %s", problem)
        return await build_summary(
            repo, _stats(bot), wallet=wallet.pubkey, start=start, wallet_sol_change=change,
            token_balances=balances, source="rpc", balances_error=problem,
            paper=bool(getattr(args, "dry_run", False)), send_endpoints=rpc.send_report(),
        )  # fmt: skip
    raise AssertionError("unreachable")  # pragma: no cover
