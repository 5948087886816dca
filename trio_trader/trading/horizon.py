"""After a machine crash: wait until nothing the dead run signed can still land.

The store commits its writes in a thread, off the send path, and journals them in the
page cache first (``store/_repository.py``): a killed process loses no row, but a crashed
machine may lose the rows of orders it had just sent, and a process killed between an
order's send and its row (written right after the request) leaves only the order's send
marker. Start-up reconciliation books such
an order from the wallet's history, but only once it is in that history: a transaction
sent just before the crash may still be in flight when the next run starts.

Every transaction carries a recent blockhash and can only land while the block height is
at most that blockhash's ``lastValidBlockHeight``; any blockhash the dead run used is no
newer than the newest one now, so once the *confirmed* block height is past the newest
blockhash's ``lastValidBlockHeight`` every transaction of the dead run has landed (and is
visible to ``getSignaturesForAddress`` at ``confirmed``) or never will.

That is ≤ 150 blocks (about a minute on mainnet, 15 s at the simulator's 100 ms slot),
paid only when ``Repository.begin_session`` says rows may be lost. Public API::

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
    log.warning("the last run's database writes may be lost (the machine restarted, or it "
                "died between a send and its row): waiting until block height %d, when every "
                "order it sent has landed or expired, before reconciling with the wallet's "
                "history", last_valid)  # fmt: skip
    while True:  # polling the node: no event tells the block height
        if await _retrying(lambda: _confirmed_height(rpc), "getBlockHeight") > last_valid:
            return last_valid
        await trio.sleep(POLL_INTERVAL)


async def _last_valid(rpc: RpcClient) -> int:
    _, last_valid = await rpc.get_latest_blockhash("processed")
    return last_valid


async def _confirmed_height(rpc: RpcClient) -> int:
    return await rpc.get_block_height("confirmed")


async def _retrying(read: Callable[[], Awaitable[int]], what: str) -> int:
    while True:
        try:
            return await read()
        except RpcError as exc:
            log.warning("%s: %s; retrying", what, exc)
            await trio.sleep(RETRY_INTERVAL)
