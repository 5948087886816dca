"""The ``run`` command: trade against a real endpoint, or paper-trade on the embedded simulator.

``python -m trio_trader run --config FILE`` trades with the configured wallet and RPC.
``python -m trio_trader run --sim …`` starts the simulator in this process (a local node
on 127.0.0.1 speaking real JSON-RPC and WebSocket), funds a fresh wallet and trades on it
exactly as on mainnet. At the end it prints a summary (and writes it as JSON): positions,
pre-confirmation SELLs, realised PnL from the database and — from the simulator's ledger
(or the endpoint) — the wallet's SOL change and remaining token balances.

Shutdown: the first Ctrl-C / SIGTERM (or the end of ``--duration``) stops buying and asks
every open position to sell now, waiting up to ``--grace`` seconds; a second signal, or
the end of the grace, cancels at once. Every order is in the database before it is sent,
so whatever is still open is resumed by the next start.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from trio_trader.chain.blockhash import BlockhashCache
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.priority_fee import PriorityFee
from trio_trader.chain.pubsub import PubsubClient
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.wallet import Wallet, WalletError
from trio_trader.config import Config, ConfigError, load_config, parse_config
from trio_trader.listeners.filters import TokenFilter
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, associated_token_address
from trio_trader.store import (
    PRE_CONFIRMATION_SELLS,
    PRE_CONFIRMATION_SELLS_SUCCEEDED,
    Repository,
    open_repository,
)
from trio_trader.trading.exits import ExitRules
from trio_trader.trading.funds import WalletFunds
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

#: the ``--sim`` demo's settings when no ``--config`` is given: quick exits, small buys
SIM_DEFAULTS: dict[str, Any] = {
    "trade": {"buy_amount_sol": "0.05", "max_active_mints": 5, "sell_slippage_bps": 2000},
    "exits": {"take_profit_pct": 20.0, "stop_loss_pct": 15.0, "max_hold_time": 8.0},
    "priority_fee": {"fixed_micro_lamports": 10_000},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``run``."""
    parser.add_argument("--config", type=Path, help="TOML config (see config.example.toml)")
    parser.add_argument("--sim", action="store_true", help="paper-trade on the simulator")
    parser.add_argument("--scenario", default="default", help="simulator market scenario")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--slot-time", type=float, default=None, help="simulator seconds/slot")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to sell at shutdown")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: config)")
    parser.add_argument("--summary-json", type=Path, default=None, help="write the summary here")


def main(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit code."""
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    if not args.sim and args.config is None:
        print("run: give --config FILE for a real endpoint, or --sim", file=sys.stderr)
        return 2
    if args.sim:
        from trio_trader.sim.scenario import ScenarioError, load_scenario

        try:
            args.scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            print(f"scenario error: {exc}", file=sys.stderr)
            return 2
    try:
        summary = trio.run(_run_sim if args.sim else _run_live, args, config)
    except (WalletError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return 0


def _config(args: argparse.Namespace) -> Config:
    if args.config is not None:
        return load_config(args.config)
    return parse_config(SIM_DEFAULTS, env={}) if args.sim else Config()


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
        funds=WalletFunds(rpc, keypair.pubkey()),
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


# --------------------------------------------------------------------------- running


async def trade_until_stopped(
    bot: Bot, *, duration: float | None, grace: float, signals: bool = True
) -> None:
    """Run the trader until ``duration`` passes or a signal arrives, then shut down."""
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.trader.run)
        stop = trio.Event()
        if signals:
            nursery.start_soon(_watch_signals, stop, nursery.cancel_scope)
        with trio.move_on_after(duration if duration is not None else float("inf")):
            await stop.wait()
        log.info("stopping: no new buys; selling open positions (grace %.0fs)", grace)
        with trio.move_on_after(grace):
            await bot.trader.liquidate()
        nursery.cancel_scope.cancel()


async def _watch_signals(stop: trio.Event, scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            if stop.is_set():
                log.warning("second signal: stopping now; open positions stay in the database")
                scope.cancel()
                return
            log.info("signal %s: shutting down gracefully", signum)
            stop.set()


async def _run_sim(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    from trio_trader.sim import open_sim

    wallet = Wallet.generate()
    with tempfile.TemporaryDirectory(prefix="trio-trader-") as tmp:
        db_path = args.db or Path(tmp) / "sim.db"
        async with open_sim(
            args.scenario,
            seed=args.seed,
            slot_time=args.slot_time,
            fund={wallet.pubkey: SIM_FUNDING},
        ) as sim:
            log.info("simulator at %s / %s; wallet %s", sim.rpc_url, sim.ws_url, wallet.pubkey)
            async with (
                RpcClient((sim.rpc_url,)) as rpc,
                open_repository(db_path) as repo,
            ):
                bot = await build_bot(
                    config, rpc=rpc, keypair=wallet.keypair, repo=repo, ws_url=sim.ws_url
                )
                await trade_until_stopped(bot, duration=args.duration, grace=args.grace)
                ledger = sim.summary()["wallets"].get(str(wallet.pubkey), {})
                return await build_summary(
                    repo,
                    bot,
                    wallet_sol_change=int(ledger.get("lamports", SIM_FUNDING)) - SIM_FUNDING,
                    token_balances=dict(ledger.get("tokens", {})),
                    source="simulator ledger",
                )


async def _run_live(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    wallet = _wallet(config)
    db_path = args.db or Path(config.db.path)
    async with rpc_client(config) as rpc, open_repository(db_path) as repo:
        start = await rpc.get_balance(wallet.pubkey)
        bot = await build_bot(
            config, rpc=rpc, keypair=wallet.keypair, repo=repo, ws_url=config.rpc.ws_url
        )
        await trade_until_stopped(bot, duration=args.duration, grace=args.grace)
        with trio.move_on_after(10, shield=True):
            end = await rpc.get_balance(wallet.pubkey)
            balances = await _token_balances(rpc, repo, wallet.pubkey)
            return await build_summary(
                repo,
                bot,
                wallet_sol_change=end - start,
                token_balances=balances,
                source="rpc",
            )
        raise RuntimeError("could not read the final balances within 10 s")


async def _token_balances(rpc: RpcClient, repo: Repository, owner: Pubkey) -> dict[str, int]:
    out: dict[str, int] = {}
    for position in await repo.list_positions():
        info = position.token_info
        ata = associated_token_address(owner, info.mint, info.token_program)
        amount = await rpc.get_token_account_balance(ata)
        if amount:
            out[str(info.mint)] = amount
    return out


# --------------------------------------------------------------------------- summary


async def build_summary(
    repo: Repository,
    bot: Bot,
    *,
    wallet_sol_change: int,
    token_balances: Mapping[str, int],
    source: str,
) -> dict[str, Any]:
    """The run's summary, JSON-ready (amounts in lamports and token base units)."""
    totals = position_totals(await repo.list_positions(), await repo.get_counters())
    stats = bot.trader.stats
    return {
        "wallet": str(bot.wallet),
        **totals,
        "wallet_sol_change_lamports": wallet_sol_change,
        "token_balances": {k: v for k, v in token_balances.items() if v},
        "balances_source": source,
        "tokens_seen": stats.tokens_seen,
        "tokens_filtered": stats.filtered,
        "skipped_capacity": stats.skipped_capacity,
    }


def position_totals(positions: Sequence[Position], counters: Mapping[str, int]) -> dict[str, Any]:
    """Position counts, pre-confirmation SELLs and realised PnL, JSON-ready.

    Shared by the run's summary and the ``report`` command so both state the same
    numbers from the same rows: realised PnL is the sum over closed positions.
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
    p, pre = summary["positions"], summary["pre_confirmation_sells"]
    lines = [
        f"wallet {summary['wallet']}",
        f"positions: {p['opened']} opened, {p['closed']} closed ({p['buy_failed']} BUY failed), "
        f"{p['open']} open",
        f"SELLs sent before their BUY confirmed: {pre['sent']} ({pre['succeeded']} succeeded)",
        f"realised PnL: {summary['realized_pnl_lamports'] / LAMPORTS_PER_SOL:+.9f} SOL",
        f"wallet SOL change ({summary['balances_source']}): "
        f"{summary['wallet_sol_change_lamports'] / LAMPORTS_PER_SOL:+.9f} SOL",
    ]
    tokens = summary["token_balances"]
    lines.append(
        "tokens left: " + (", ".join(f"{m}: {a}" for m, a in tokens.items()) if tokens else "none")
    )
    return "\n".join(lines)
