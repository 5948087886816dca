"""The start-up banner of a ``run``: what is about to trade, with which money, under which rules.

Written once, to the log, after the balance is read and before the first BUY, so the
operator can check every number that matters before money moves. Endpoints go through
:func:`ui.format.mask_url` (a provider's API key is a credential); the wallet is only
ever its public key, and the ``key`` line says where its key came from
(``app.wallet_source``: the keypair file, the environment variable, or the Solana CLI's
``~/.config/solana/id.json`` when the config names neither).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from trio_trader.config import Config, ExitsConfig
from trio_trader.ui import format as fmt

log = logging.getLogger(__name__)


def run_mode(sim: bool, *, dry_run: bool = False) -> str:
    """What kind of run this is, in the words the banner and the dashboard use."""
    if dry_run:
        where = "the simulator" if sim else "the endpoint"
        return f"paper (dry run) against {where}: BUYs simulated, nothing sent"
    return "paper trading on the simulator" if sim else "LIVE trading with real SOL"


def exit_rules_text(exits: ExitsConfig) -> str:
    """``"take profit +20 %, stop loss -15 %, max hold 8 s"`` (``never sell`` when manual)."""
    if exits.never_sell:
        return "never sell (manual mode: positions stay open)"
    parts = []
    if exits.take_profit_pct is not None:
        parts.append(f"take profit +{exits.take_profit_pct:g} %")
    if exits.stop_loss_pct is not None:
        parts.append(f"stop loss -{exits.stop_loss_pct:g} %")
    if exits.trailing_stop_pct is not None:
        parts.append(f"trailing stop -{exits.trailing_stop_pct:g} % from the peak")
    if exits.max_hold_time is not None:
        parts.append(f"max hold {exits.max_hold_time:g} s")
    if exits.sell_after is not None:
        parts.append(f"sell after {exits.sell_after:g} s")
    return ", ".join(parts) or "none"


def banner_lines(
    config: Config,
    *,
    mode: str,
    wallet: str,
    balance: int | None,
    endpoints: Sequence[str],
    ws_url: str,
    wallet_source: str | None = None,
) -> list[str]:
    """The banner's lines (see the module docstring)."""
    t, pf = config.trade, config.priority_fee
    fee = (
        f"fixed {pf.fixed_micro_lamports:,} µlamports/CU"
        if pf.mode == "fixed"
        else f"p{pf.percentile} of recent fees, cap {pf.cap_micro_lamports:,} µlamports/CU"
    )
    max_buys = "unlimited" if t.max_buys == 0 else str(t.max_buys)
    key = [f"  key       {wallet_source}"] if wallet_source else []
    return [
        f"trio-trader: {mode}",
        f"  wallet    {wallet}",
        *key,
        f"  balance   {fmt.sol(balance)}",
        f"  RPC       {', '.join(fmt.mask_url(u) for u in endpoints)}",
        f"  WebSocket {fmt.mask_url(ws_url)} ({config.listener.source}, "
        f"{config.listener.commitment})",
        f"  exits     {exit_rules_text(config.exits)}; SELL before BUY confirmed: "
        f"{'on' if t.pre_confirmation_sells else 'off'}",
        f"  buys      {fmt.sol(t.buy_amount_sol)} each (at most {fmt.sol(t.max_buy_sol)}), "
        f"slippage {t.buy_slippage_bps} bps buy / {t.sell_slippage_bps} bps sell",
        f"  limits    {t.max_active_mints} positions at once, {max_buys} BUYs in all, "
        f"priority fee {fee}",
    ]


def log_banner(
    config: Config,
    *,
    mode: str,
    wallet: str,
    balance: int | None,
    endpoints: Sequence[str],
    ws_url: str,
    wallet_source: str | None = None,
) -> None:
    """Log :func:`banner_lines` as one record (one JSON object with ``--log-json``)."""
    lines = banner_lines(
        config, mode=mode, wallet=wallet, balance=balance, endpoints=endpoints,
        ws_url=ws_url, wallet_source=wallet_source,
    )  # fmt: skip
    log.info("%s", "\n".join(lines))
