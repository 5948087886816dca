"""After an unclean end: wait until nothing the dead run signed can still land.

The store commits its writes in a thread, off the send path (``store/_repository.py``),
so a run that was killed may have sent an order whose row never reached the disk. Start-
up reconciliation books such an order from the wallet's history, but only once it is in
that history: a transaction sent just before the kill may still be in flight when the
next run starts. Every transaction carries a recent blockhash and can only land while the
block height is at most that blockhash's ``lastValidBlockHeight``; any blockhash the dead
run used is no newer than the newest one now, so once the *confirmed* block height is
past the newest blockhash's ``lastValidBlockHeight`` every transaction of the dead run has
landed (and is visible to ``getSignaturesForAddress`` at ``confirmed``) or never will.

That is ≤ 150 blocks (about a minute on mainnet, 15 s at the simulator's 100 ms slot),
paid only after a run that did not close its database. Public API::

    await wait_until_sent_expired(rpc) -> int   (the height waited past)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient

log = logging.getLogger(__name__)

#: seconds between two block-height reads (and after a failed read)
POLL_INTERVAL = 0.2
RETRY_INTERVAL = 1.0


async def wait_until_sent_expired(rpc: RpcClient) -> int:
    """Return once the confirmed block height is past every blockhash valid now."""
    last_valid = await _retrying(lambda: _last_valid(rpc), "getLatestBlockhash")
    log.warning("the last run ended without closing its database: orders it sent may lack "
                "their rows; waiting until block height %d, when all of them have landed or "
                "expired, before reconciling with the wallet's history", last_valid)  # fmt: skip
    height = lambda: rpc.get_block_height("confirmed")  # noqa: E731
    while await _retrying(height, "getBlockHeight") <= last_valid:  # noqa: ASYNC110 (polling the node)
        await trio.sleep(POLL_INTERVAL)
    return last_valid


async def _last_valid(rpc: RpcClient) -> int:
    _, last_valid = await rpc.get_latest_blockhash("processed")
    return last_valid


async def _retrying(read: Callable[[], Awaitable[int]], what: str) -> int:
    while True:
        try:
            return await read()
        except RpcError as exc:
            log.warning("%s: %s; retrying", what, exc)
            await trio.sleep(RETRY_INTERVAL)
