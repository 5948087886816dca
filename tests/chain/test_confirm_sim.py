"""Recovery trusts the ledger: Confirmer against the simulator, long after a transaction landed.

The bot was down for longer than the node's status cache: a plain `getSignatureStatuses`
answers null for a transaction that landed, and the blockhash has expired. The confirmer
must report it confirmed (or failed) with its balances — booking it "expired" would lose a
position or double-count SOL — and must still report a transaction that never landed
expired. Trio's MockClock (autojump) makes hundreds of slots pass in no real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from trio_trader.chain import Confirmation, Confirmer, RpcClient, build_transaction
from trio_trader.chain.transactions import SignedTransaction
from trio_trader.sim import SimNode, open_sim
from trio_trader.sim.node import STATUS_CACHE_SLOTS

SOL = 1_000_000_000
FUNDS = 10 * SOL
AMOUNT = 2 * SOL
SIGNATURE_FEE = 5000


@attrs.frozen
class Chain:
    sim: SimNode
    rpc: RpcClient
    payer: Keypair
    recipient: Pubkey

    def block_height(self) -> int:
        return self.sim.node.block_height

    async def transfer(self, lamports: int) -> SignedTransaction:
        blockhash, last_valid = await self.rpc.get_latest_blockhash()
        ix = transfer(
            TransferParams(
                from_pubkey=self.payer.pubkey(), to_pubkey=self.recipient, lamports=lamports
            )
        )
        return build_transaction([ix], self.payer, blockhash, last_valid_block_height=last_valid)

    async def wait_landed(self, signed: SignedTransaction) -> None:
        while (await self.rpc.get_signature_statuses([signed.signature])) == [None]:
            await trio.sleep(self.sim.node.slot_time)

    async def sleep_past_status_cache(self) -> None:
        """The bot is down: more slots pass than the status cache (and a blockhash) lasts."""
        await trio.sleep((STATUS_CACHE_SLOTS + 10) * self.sim.node.slot_time)


@asynccontextmanager
async def chain() -> AsyncIterator[Chain]:
    payer = Keypair()
    async with (
        open_sim(seed=11, fund={payer.pubkey(): FUNDS}, genesis_time=1_767_225_600) as sim,
        RpcClient([sim.rpc_url]) as rpc,
    ):
        yield Chain(sim, rpc, payer, Keypair().pubkey())


async def confirm_after_restart(c: Chain, signed: SignedTransaction) -> Confirmation:
    assert signed.last_valid_block_height is not None
    assert c.block_height() > signed.last_valid_block_height  # its blockhash has expired
    return await Confirmer(c.rpc, None).confirm(
        signed,
        last_valid_block_height=signed.last_valid_block_height,
        block_height=c.block_height,
    )


async def test_landed_long_ago_is_confirmed_with_its_balances(
    autojump_clock: trio.abc.Clock,
) -> None:
    with trio.fail_after(3600):
        async with chain() as c:
            signed = await c.transfer(AMOUNT)
            await c.rpc.send_transaction(signed.raw)
            await c.wait_landed(signed)
            await c.sleep_past_status_cache()
            # what fooled the confirmer: the recent status cache no longer knows it
            assert await c.rpc.get_signature_statuses([signed.signature]) == [None]
            result = await confirm_after_restart(c, signed)
            payer_balance = await c.rpc.get_balance(c.payer.pubkey())
    assert result.status == "confirmed"
    assert result.err is None
    tx = result.transaction
    assert tx is not None
    assert tx.signature == signed.signature
    assert tx.fee == SIGNATURE_FEE
    assert tx.sol_change(c.recipient) == AMOUNT
    assert tx.sol_change(c.payer.pubkey()) == -(AMOUNT + SIGNATURE_FEE)
    assert payer_balance == FUNDS - AMOUNT - SIGNATURE_FEE


async def test_failed_long_ago_is_failed_not_expired(autojump_clock: trio.abc.Clock) -> None:
    with trio.fail_after(3600):
        async with chain() as c:
            signed = await c.transfer(2 * FUNDS)  # more than the payer has: fails on chain
            await c.rpc.send_transaction(signed.raw)
            await c.wait_landed(signed)
            await c.sleep_past_status_cache()
            result = await confirm_after_restart(c, signed)
            payer_balance = await c.rpc.get_balance(c.payer.pubkey())
    assert result.status == "failed"
    assert result.err == {"InstructionError": [0, {"Custom": 1}]}
    tx = result.transaction
    assert tx is not None
    assert tx.sol_change(c.payer.pubkey()) == -SIGNATURE_FEE  # a failed transaction pays
    assert payer_balance == FUNDS - SIGNATURE_FEE


async def test_never_landed_is_still_expired(autojump_clock: trio.abc.Clock) -> None:
    """The ledger search finds nothing, and the re-sends of an expired blockhash are refused."""
    with trio.fail_after(3600):
        async with chain() as c:
            signed = await c.transfer(AMOUNT)  # signed, never sent before the "crash"
            await c.sleep_past_status_cache()
            result = await confirm_after_restart(c, signed)
            assert await c.rpc.get_transaction(signed.signature) is None
            payer_balance = await c.rpc.get_balance(c.payer.pubkey())
    assert result.status == "expired"
    assert payer_balance == FUNDS
