"""Files of a reliability run: the wallet's keypair file and the bot's config TOML.

The wallet is derived from the run's seed, so a run is reproduced by its seed alone.
The secret only ever goes to the keypair file (mode 0600), never to a log or stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

MARKET = Path(__file__).with_name("market.toml")


def wallet_keypair(seed: int) -> Keypair:
    """The run's wallet: the same seed gives the same wallet."""
    return Keypair.from_seed(hashlib.sha256(f"trio-trader-reliability-{seed}".encode()).digest())


def write_keypair_file(path: Path, keypair: Keypair) -> Pubkey:
    """A Solana CLI keypair file (JSON array of the 64 secret bytes), readable by us only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(list(bytes(keypair)), out)
    return keypair.pubkey()


def config_toml(
    *,
    rpc_url: str,
    ws_url: str,
    keypair_file: Path,
    db_path: Path,
    extreme_fast: int = 0,
    send_endpoints: int = 0,
) -> str:
    """The bot's config: small buys, exits that fire within seconds, the run's files.

    The stop loss is wide because the entry cost includes the token account's rent
    (~0.002 SOL on a 0.01 SOL buy): a tighter one fires at the first tick, and a
    position that lives 100 ms is rarely open when the crash loop kills the bot.

    ``max_retries`` is raised above the default so the 5 % of 429s are absorbed by the
    client rather than failing a call; everything else is the shipped default.

    ``extreme_fast`` (token base units, 0: off): the BUY reads nothing first and its
    request is written from the listener's own task (``trading/trader.py``), so the kills
    meet that path too.

    ``send_endpoints`` (0: none): the simulator's RPC URL that many times, each with its own
    query (``?fan=1``…), as ``rpc.send_endpoints``: every send is a fan-out (each endpoint's
    request in flight when a kill comes), and each node answer after the first is a
    duplicate of bytes it already has.
    """
    fan = [f"{rpc_url}?fan={i}" for i in range(1, send_endpoints + 1)]
    fast = (
        f"extreme_fast_mode = true\nextreme_fast_token_amount = {extreme_fast}\n"
        if extreme_fast
        else ""
    )
    return f"""\
[rpc]
endpoints = [{json.dumps(rpc_url)}]
ws_url = {json.dumps(ws_url)}
send_endpoints = {json.dumps(fan)}
max_retries = 8

[wallet]
keypair_file = {json.dumps(str(keypair_file))}

[priority_fee]
mode = "fixed"
fixed_micro_lamports = 10000

[trade]
buy_amount_sol = "0.01"
max_active_mints = 3
buy_slippage_bps = 3000
sell_slippage_bps = 2000
{fast}
[exits]
take_profit_pct = 20.0
stop_loss_pct = 20.0
max_hold_time = 6.0
tick_interval = 0.5

[db]
path = {json.dumps(str(db_path))}
"""


def write_config(run_dir: Path, **options: Any) -> Path:
    """``config_toml(**options)`` written to ``run_dir/bot.toml``; its path."""
    path = run_dir / "bot.toml"
    path.write_text(config_toml(**options))
    return path
