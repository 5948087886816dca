"""Confirmer: subscription raced against polling, rebroadcast, expiry, getTransaction."""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer

from tests.chain.fakes import FakeNode, FakePubsubServer, RpcFault, context
from trio_trader.chain import Confirmer, PubsubClient, RpcClient, build_transaction
from trio_trader.chain.transactions import SignedTransaction

PAYER = Keypair()
RECIPIENT = Keypair().pubkey()
FEE = 5000
AMOUNT = 1_000_000


def signed_transfer() -> SignedTransaction:
    ix = transfer(TransferParams(from_pubkey=PAYER.pubkey(), to_pubkey=RECIPIENT, lamports=AMOUNT))
    return build_transaction([ix], PAYER, Hash.new_unique(), last_valid_block_height=1150)


@attrs.define(eq=False)
class LandingNode:
    """A node on which `signed` lands (status known) at `lands_at` on the Trio clock."""

    signed: SignedTransaction
    lands_at: float | None  # None: never
    err: object = None
    slot: int = 5000
    null_transaction_replies: int = 0
    history_searches: int = 0
    in_ledger: bool = True  # False: getTransaction never finds it either
    history_failures: int = 0  # history searches answered with an error first
    sent: list[bytes] = attrs.field(factory=list)
    start: float = attrs.field(factory=trio.current_time)

    def node(self) -> FakeNode:
        return FakeNode(
            {
                "sendTransaction": self.send,
                "getSignatureStatuses": self.statuses,
                "getTransaction": self.transaction,
            }
        )

    def landed(self) -> bool:
        return self.lands_at is not None and trio.current_time() - self.start >= self.lands_at

    def send(self, params: list[Any]) -> Any:
        self.sent.append(base64.b64decode(params[0]))
        return str(self.signed.signature)

    def statuses(self, params: list[Any]) -> Any:
        assert params[0] == [str(self.signed.signature)]
        if params[1:]:
            assert params[1:] == [{"searchTransactionHistory": True}]
            self.history_searches += 1
            if self.history_failures > 0:
                self.history_failures -= 1
                raise RpcFault(-32603, "Internal error")
        if not self.landed():
            return context([None])
        status = {
            "slot": self.slot,
            "confirmations": 1,
            "err": self.err,
            "status": {"Ok": None} if self.err is None else {"Err": self.err},
            "confirmationStatus": "confirmed",
        }
        return context([status])

    def transaction(self, params: list[Any]) -> Any:
        if not self.in_ledger:
            return None
        if self.null_transaction_replies > 0:
            self.null_transaction_replies -= 1
            return None
        keys = [str(PAYER.pubkey()), str(RECIPIENT), "11111111111111111111111111111111"]
        paid = FEE + (AMOUNT if self.err is None else 0)
        received = AMOUNT if self.err is None else 0
        return {
            "slot": self.slot,
            "blockTime": 1_700_000_000,
            "version": 0,
            "meta": {
                "err": self.err,
                "status": {"Ok": None} if self.err is None else {"Err": self.err},
                "fee": FEE,
                "preBalances": [10_000_000, 0, 1],
                "postBalances": [10_000_000 - paid, received, 1],
                "preTokenBalances": [],
                "postTokenBalances": [],
                "innerInstructions": [],
                "logMessages": ["Program 11111111111111111111111111111111 invoke [1]"],
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": 150,
            },
            "transaction": {
                "signatures": [str(self.signed.signature)],
                "message": {
                    "accountKeys": keys,
                    "header": {
                        "numRequiredSignatures": 1,
                        "numReadonlySignedAccounts": 0,
                        "numReadonlyUnsignedAccounts": 1,
                    },
                    "recentBlockhash": str(self.signed.blockhash),
                    "instructions": [],
                    "addressTableLookups": [],
                },
            },
        }


def rpc_for(node: FakeNode) -> RpcClient:
    return RpcClient(["http://node/"], transport=node.transport())


async def test_confirmed_by_polling_with_rebroadcasts(autojump_clock: trio.abc.Clock) -> None:
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=2.0)
    node = chain.node()
    async with rpc_for(node) as rpc:
        confirmer = Confirmer(rpc, None, rebroadcast_interval=0.5, poll_interval=0.4)
        with trio.fail_after(30):
            result = await confirmer.confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert result.status == "confirmed"
    assert (result.slot, result.err) == (5000, None)
    assert result.rebroadcasts > 1
    assert len(chain.sent) == result.rebroadcasts
    assert set(chain.sent) == {signed.raw}  # the same signed bytes every time
    assert result.transaction is not None
    assert result.transaction.fee == FEE
    assert result.transaction.sol_change(PAYER.pubkey()) == -(FEE + AMOUNT)
    assert result.transaction.sol_change(RECIPIENT) == AMOUNT
    assert node.methods()[-1] == "getTransaction"
    # nothing keeps running after confirm returns
    sends = len(chain.sent)
    await trio.sleep(5)
    assert len(chain.sent) == sends


@attrs.define(eq=False)
class StepCounter(trio.abc.Instrument):
    """Counts the task steps `task` has finished."""

    task: trio.lowlevel.Task
    steps: int = 0

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


class ParseSpy(RpcClient):
    """An RpcClient noting, as each getTransaction reply is parsed, how many task steps
    the calling task had finished by then."""

    counter: StepCounter
    parsed_at: list[int]

    async def get_transaction(self, *args: Any, **kwargs: Any) -> Any:
        tx = await super().get_transaction(*args, **kwargs)
        self.parsed_at.append(self.counter.steps)
        return tx


async def test_the_fetched_transaction_is_returned_in_a_later_task_step(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Parsing the getTransaction reply and booking it (the caller's) are two task steps,
    so a create's notification waits for one of them only; nothing of the result is lost
    on the way."""
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.0)
    rpc = ParseSpy(["http://node/"], transport=chain.node().transport())
    rpc.counter, rpc.parsed_at = StepCounter(trio.lowlevel.current_task()), []
    trio.lowlevel.add_instrument(rpc.counter)
    try:
        async with rpc:
            confirmer = Confirmer(rpc, None, poll_interval=0.4)
            with trio.fail_after(30):
                result = await confirmer.confirm(
                    signed, last_valid_block_height=1150, block_height=lambda: 1000
                )
            returned_at = rpc.counter.steps
    finally:
        trio.lowlevel.remove_instrument(rpc.counter)
    assert len(rpc.parsed_at) == 1
    assert returned_at > rpc.parsed_at[0]  # a step ended between the parse and the return
    assert result.status == "confirmed"
    assert result.transaction is not None
    assert result.transaction.sol_change(PAYER.pubkey()) == -(FEE + AMOUNT)
    assert result.transaction.sol_change(RECIPIENT) == AMOUNT


async def test_failed_transaction_reports_meta_err(autojump_clock: trio.abc.Clock) -> None:
    signed = signed_transfer()
    err = {"InstructionError": [0, {"Custom": 1}]}
    chain = LandingNode(signed, lands_at=0.0, err=err)
    async with rpc_for(chain.node()) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert result.status == "failed"
    assert result.err == err
    assert result.transaction is not None
    assert result.transaction.sol_change(PAYER.pubkey()) == -FEE  # a failed tx still pays


async def test_expired_when_block_height_passes(autojump_clock: trio.abc.Clock) -> None:
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=None, in_ledger=False)
    start = trio.current_time()

    def block_height() -> int:  # one block per 0.4 s from 1140: passes 1150 after ~4.4 s
        return 1140 + int((trio.current_time() - start) / 0.4)

    node = chain.node()
    async with rpc_for(node) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=block_height
            )
        elapsed = trio.current_time() - start
    assert result.status == "expired"
    assert (result.slot, result.err, result.transaction) == (None, None, None)
    assert block_height() > 1150
    assert 4.4 <= elapsed <= 5.0
    assert result.rebroadcasts >= 8
    # before "expired": one look in the ledger, by status with history and by getTransaction
    assert chain.history_searches == 1
    assert node.methods().count("getTransaction") == 1


def passing_height(start: float) -> Callable[[], int]:
    """One block per 0.4 s from 1140: passes `lastValidBlockHeight` 1150 after ~4.4 s."""
    return lambda: 1140 + int((trio.current_time() - start) / 0.4)


async def test_found_by_get_transaction_is_not_expired(autojump_clock: trio.abc.Clock) -> None:
    """A node whose statuses never show the transaction (not even with history), but whose
    ledger has it: the last look by getTransaction finds it, with its balances."""
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=None, in_ledger=True)
    node = chain.node()
    async with rpc_for(node) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=passing_height(0.0)
            )
    assert result.status == "confirmed"
    assert result.transaction is not None
    assert result.transaction.sol_change(RECIPIENT) == AMOUNT
    assert chain.history_searches == 1
    assert node.methods().count("getTransaction") == 1  # the one that found it, reused


async def test_a_failed_ledger_search_is_no_verdict(autojump_clock: trio.abc.Clock) -> None:
    """When the history search errors, the confirmer cannot tell: it polls on, and says
    "expired" only after a search that answered."""
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=None, in_ledger=False, history_failures=2)
    async with rpc_for(chain.node()) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=passing_height(0.0)
            )
    assert result.status == "expired"
    assert chain.history_searches == 3


async def test_transaction_fetch_retries_null_after_confirmation(
    autojump_clock: trio.abc.Clock,
) -> None:
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.0, null_transaction_replies=2)
    node = chain.node()
    async with rpc_for(node) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert result.status == "confirmed"
    assert result.transaction is not None
    assert node.methods().count("getTransaction") == 3


async def test_transaction_fetch_gives_up_after_attempts(autojump_clock: trio.abc.Clock) -> None:
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.0, null_transaction_replies=100)
    node = chain.node()
    async with rpc_for(node) as rpc:
        with trio.fail_after(30):
            result = await Confirmer(rpc, None, fetch_attempts=3).confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert (result.status, result.slot, result.transaction) == ("confirmed", 5000, None)
    assert node.methods().count("getTransaction") == 3


async def test_transaction_fetch_backs_off_for_a_lagging_ledger(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A ledger that lags its status cache by ~20 s still gives the balances, by default."""
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.0, null_transaction_replies=8)
    node = chain.node()
    async with rpc_for(node) as rpc:
        with trio.fail_after(120):
            start = trio.current_time()
            result = await Confirmer(rpc, None).confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
            waited = trio.current_time() - start
    assert result.transaction is not None
    assert result.transaction.sol_change(PAYER.pubkey()) == -(FEE + AMOUNT)
    fetches = [t for t, method, _ in node.calls if method == "getTransaction"]
    assert len(fetches) == 9
    gaps = [b - a for a, b in itertools.pairwise(fetches)]
    assert gaps[:4] == pytest.approx([0.4, 0.8, 1.6, 3.2], abs=0.05)  # doubling...
    assert max(gaps) == pytest.approx(4.0, abs=0.05)  # ...up to fetch_backoff_max
    assert 20 < waited < 30


async def start_pubsub(nursery: trio.Nursery) -> tuple[FakePubsubServer, PubsubClient]:
    """A fake pubsub server and a running client connected to it."""
    server = FakePubsubServer()
    await server.start(nursery)
    pubsub = PubsubClient(server.url, backoff_base=0.01)
    await nursery.start(pubsub.run)
    return server, pubsub


async def notify_when_subscribed(server: FakePubsubServer, slot: int) -> None:
    """Answer the first ``signatureSubscribe`` with a success notification at ``slot``."""
    await server.wait_until(lambda: bool(server.live("signatureSubscribe")))
    (sid,) = server.live("signatureSubscribe")
    await server.notify(sid, {"context": {"slot": slot}, "value": {"err": None}})


async def test_confirmed_via_subscription(nursery: trio.Nursery) -> None:
    """The node's status never shows the transaction: only the notification can confirm it."""
    server, pubsub = await start_pubsub(nursery)
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=None, slot=6000)
    node = chain.node()

    nursery.start_soon(notify_when_subscribed, server, 6000)
    async with rpc_for(node) as rpc:
        confirmer = Confirmer(rpc, pubsub, rebroadcast_interval=0.05, poll_interval=0.05)
        with trio.fail_after(10):
            result = await confirmer.confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert result.status == "confirmed"
    assert result.slot == 6000
    assert result.transaction is not None
    request = next(m for m in server.received if m["method"] == "signatureSubscribe")
    assert request["params"] == [str(signed.signature), {"commitment": "confirmed"}]


async def test_confirmed_by_polling_when_subscription_is_silent(nursery: trio.Nursery) -> None:
    server, pubsub = await start_pubsub(nursery)
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.2)
    async with rpc_for(chain.node()) as rpc:
        confirmer = Confirmer(rpc, pubsub, rebroadcast_interval=0.05, poll_interval=0.05)
        with trio.fail_after(10):
            result = await confirmer.confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
        assert result.status == "confirmed"
        assert result.slot == 5000
        # the losing subscription was cancelled and unsubscribed
        with trio.fail_after(5):
            await server.wait_until(lambda: not server.live("signatureSubscribe"))
    assert any(m["method"] == "signatureUnsubscribe" for m in server.received)


async def test_subscribed_confirmation_makes_no_premature_status_poll(
    nursery: trio.Nursery,
) -> None:
    """With a subscription racing the poll, the poll waits one interval: a status request
    right after the send could only answer "unknown", so it would be a wasted request."""
    server, pubsub = await start_pubsub(nursery)
    signed = signed_transfer()
    node = LandingNode(signed, lands_at=None, slot=6000).node()

    nursery.start_soon(notify_when_subscribed, server, 6000)
    async with rpc_for(node) as rpc:
        confirmer = Confirmer(rpc, pubsub, rebroadcast_interval=30.0, poll_interval=30.0)
        with trio.fail_after(10):
            result = await confirmer.confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert result.status == "confirmed"
    assert "getSignatureStatuses" not in node.methods()
    assert node.methods().count("getTransaction") == 1


async def test_a_poisonous_signature_notification_falls_back_to_polling(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    """A notification whose `err` is no TransactionError (here 1000 levels deep, which a
    `repr` cannot even print) is not taken as a verdict: polling decides."""
    caplog.set_level(logging.WARNING)
    server, pubsub = await start_pubsub(nursery)
    signed = signed_transfer()
    chain = LandingNode(signed, lands_at=0.3)

    async def poison() -> None:
        await server.wait_until(lambda: bool(server.live("signatureSubscribe")))
        (sid,) = server.live("signatureSubscribe")
        deep = "[" * 1000 + "]" * 1000
        await server.send_raw(
            server.connections[0],
            '{"jsonrpc":"2.0","method":"signatureNotification","params":{"result":'
            f'{{"context":{{"slot":1}},"value":{{"err":{deep}}}}},"subscription":{sid}}}}}',
        )

    nursery.start_soon(poison)
    async with rpc_for(chain.node()) as rpc:
        confirmer = Confirmer(rpc, pubsub, rebroadcast_interval=0.05, poll_interval=0.05)
        with trio.fail_after(10):
            result = await confirmer.confirm(
                signed, last_valid_block_height=1150, block_height=lambda: 1000
            )
    assert (result.status, result.slot, result.err) == ("confirmed", 5000, None)
    assert "odd signatureNotification" in caplog.text
