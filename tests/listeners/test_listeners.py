"""Listeners: pump log lines / block notifications → NewToken and PriceUpdate; filters."""

from __future__ import annotations

import base64
import logging
import random
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from trio_trader.listeners.block import BlockListener
from trio_trader.listeners.filters import TokenFilter
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import NewToken, PriceUpdate
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, bonding_curve_pda
from trio_trader.pump.events import CreateEvent, TradeEvent, encode_event

PUMP = str(PUMP_PROGRAM_ID)
MINT = Pubkey.new_unique()
OTHER_MINT = Pubkey.new_unique()
CREATOR = Pubkey.new_unique()


def create_event(name: str = "Cat Coin", symbol: str = "CAT") -> CreateEvent:
    return CreateEvent(
        name=name, symbol=symbol, uri="https://x", mint=MINT, bonding_curve=bonding_curve_pda(MINT),
        user=CREATOR, creator=CREATOR, timestamp=1_700_000_000,
        virtual_token_reserves=1_073_000_000_000_000, virtual_sol_reserves=30_000_000_000,
        real_token_reserves=793_100_000_000_000, token_total_supply=10**15,
        token_program=TOKEN_2022_PROGRAM_ID, is_mayhem_mode=False,
    )  # fmt: skip


def trade_event(sol: int, *, user: Pubkey = CREATOR, mint: Pubkey = MINT) -> TradeEvent:
    return TradeEvent(
        mint=mint, sol_amount=sol, token_amount=1_000_000, is_buy=True, user=user,
        timestamp=1_700_000_000, virtual_sol_reserves=30_000_000_000 + sol,
        virtual_token_reserves=1_072_000_000_000_000, real_sol_reserves=sol,
        real_token_reserves=792_100_000_000_000,
    )  # fmt: skip


def pump_logs(*events: CreateEvent | TradeEvent) -> list[str]:
    lines = [f"Program {PUMP} invoke [1]"]
    lines += ["Program data: " + base64.b64encode(encode_event(e)).decode() for e in events]
    lines.append(f"Program {PUMP} success")
    return lines


class Sink:
    def __init__(self) -> None:
        self.tokens: list[NewToken] = []
        self.prices: list[PriceUpdate] = []

    def token(self, t: NewToken) -> None:
        self.tokens.append(t)

    def price(self, p: PriceUpdate) -> None:
        self.prices.append(p)


def logs_item(logs: list[str], err: object = None) -> dict[str, object]:
    return {"context": {"slot": 7}, "value": {"signature": "sig1", "err": err, "logs": logs}}


async def test_logs_listener_turns_create_and_creator_buy_into_token_and_price() -> None:
    sink = Sink()
    listener = LogsListener(pubsub=None)  # type: ignore[arg-type]
    listener.handle(
        logs_item(pump_logs(create_event(), trade_event(2_000_000_000))), sink.token, sink.price
    )
    assert len(sink.tokens) == 1
    token = sink.tokens[0]
    assert token.token_info.mint == MINT
    assert token.token_info.token_program == TOKEN_2022_PROGRAM_ID
    assert token.creator_buy_lamports == 2_000_000_000
    assert token.slot == 7
    # the token carries the reserves *after* the creator's buy (for extreme fast mode)
    assert token.token_info.virtual_sol_reserves == 32_000_000_000
    assert [p.sol_amount for p in sink.prices] == [2_000_000_000]
    assert listener.stats.tokens == 1


async def test_failed_and_malformed_notifications_are_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Sink()
    listener = LogsListener(pubsub=None)  # type: ignore[arg-type]
    listener.handle(
        logs_item(pump_logs(create_event()), err={"InstructionError": [0, "x"]}),
        sink.token,
        sink.price,
    )
    with caplog.at_level(logging.WARNING):
        listener.handle({"value": {"logs": []}}, sink.token, sink.price)  # no signature
        listener.handle("garbage", sink.token, sink.price)
        listener.handle(
            logs_item(
                [
                    f"Program {PUMP} invoke [1]",
                    "Program data: !!!notbase64",
                    f"Program {PUMP} success",
                ]
            ),
            sink.token,
            sink.price,
        )
    assert sink.tokens == []
    assert sink.prices == []
    assert listener.stats.failed_txs == 1
    assert listener.stats.malformed == 2


def _raw_tx() -> tuple[str, str]:
    payer = Keypair()
    msg = MessageV0.try_compile(
        payer.pubkey(),
        [
            transfer(
                TransferParams(from_pubkey=payer.pubkey(), to_pubkey=payer.pubkey(), lamports=1)
            )
        ],
        [],
        Hash.default(),
    )
    tx = VersionedTransaction(msg, [payer])
    return base64.b64encode(bytes(tx)).decode(), str(tx.signatures[0])


async def test_block_listener_gives_the_same_outputs() -> None:
    sink = Sink()
    raw, signature = _raw_tx()
    block = {
        "context": {"slot": 9},
        "value": {
            "slot": 9,
            "block": {
                "transactions": [
                    {
                        "transaction": [raw, "base64"],
                        "meta": {
                            "err": None,
                            "logMessages": pump_logs(create_event(), trade_event(5)),
                        },
                    },
                    {
                        "transaction": [raw, "base64"],
                        "meta": {"err": {"x": 1}, "logMessages": pump_logs(create_event())},
                    },
                    {
                        "transaction": {"signatures": ["abc"]},
                        "meta": {"err": None, "logMessages": pump_logs(trade_event(7))},
                    },
                    {"meta": {"err": None}},
                ]
            },
        },
    }
    listener = BlockListener(pubsub=None)  # type: ignore[arg-type]
    listener.handle(block, sink.token, sink.price)
    assert [t.signature for t in sink.tokens] == [signature]
    assert [(p.signature, p.sol_amount) for p in sink.prices] == [(signature, 5), ("abc", 7)]
    assert listener.stats.failed_txs == 1
    assert listener.stats.malformed == 1


def new_token(name: str = "Cat Coin", symbol: str = "CAT", creator_buy: int = 0) -> NewToken:
    sink = Sink()
    events: list[CreateEvent | TradeEvent] = [create_event(name, symbol)]
    if creator_buy:
        events.append(trade_event(creator_buy))
    LogsListener(pubsub=None).handle(logs_item(pump_logs(*events)), sink.token, sink.price)  # type: ignore[arg-type]
    return sink.tokens[0]


async def test_filters_match_name_symbol_substring_and_regex() -> None:
    token = new_token("Super Cat", "SCAT")
    now = 1_700_000_001
    assert TokenFilter().rejects(token, now_unix=now) is None
    assert TokenFilter(name_contains=["cat"]).rejects(token, now_unix=now) is None
    assert TokenFilter(name_contains=["dog"]).rejects(token, now_unix=now) is not None
    assert TokenFilter(symbol_contains=["sca"]).rejects(token, now_unix=now) is None
    assert TokenFilter(name_regex=r"^super\s").rejects(token, now_unix=now) is None  # type: ignore[arg-type]
    assert TokenFilter(symbol_regex=r"^DOG$").rejects(token, now_unix=now) is not None  # type: ignore[arg-type]
    assert isinstance(TokenFilter(name_regex="x").name_regex, re.Pattern)  # type: ignore[arg-type]


async def test_filters_creator_lists_buy_size_and_age() -> None:
    token = new_token(creator_buy=1_000_000_000)
    now = 1_700_000_005
    assert TokenFilter(creator_allow=frozenset({CREATOR})).rejects(token, now_unix=now) is None
    assert TokenFilter(creator_allow=frozenset({Pubkey.new_unique()})).rejects(token, now_unix=now)
    assert TokenFilter(creator_deny=frozenset({CREATOR})).rejects(token, now_unix=now)
    deployer = token.token_info.user  # the deny list names the deployer too
    assert TokenFilter(creator_deny=frozenset({deployer})).rejects(token, now_unix=now)
    assert (
        TokenFilter(creator_deny=frozenset({Pubkey.new_unique()})).rejects(token, now_unix=now)
        is None
    )
    assert TokenFilter(min_creator_buy_lamports=1_000_000_000).rejects(token, now_unix=now) is None
    assert TokenFilter(min_creator_buy_lamports=1_000_000_001).rejects(token, now_unix=now)
    assert TokenFilter(max_creator_buy_lamports=999_999_999).rejects(token, now_unix=now)
    assert TokenFilter(max_token_age=5).rejects(token, now_unix=now) is None
    assert TokenFilter(max_token_age=4).rejects(token, now_unix=now)
    # a creator buy by someone else is not the creator's buy
    assert new_token().creator_buy_lamports == 0


async def test_listener_loop_survives_an_item_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    """Whatever one notification provokes, detection goes on with the next one."""
    from contextlib import asynccontextmanager

    import trio

    from trio_trader.listeners.logs import run_listener

    items = [logs_item(pump_logs(create_event("First"))), "explodes", logs_item(pump_logs())]
    items.append(logs_item(pump_logs(create_event("Last"))))

    class Exploding(LogsListener):
        @asynccontextmanager
        async def subscription(self) -> AsyncIterator[Any]:  # type: ignore[override]
            async def stream() -> AsyncIterator[Any]:
                for item in items:
                    yield item

            yield stream()

        def handle(self, item: Any, on_token: Any, on_price: Any) -> None:
            if item == "explodes":
                raise ZeroDivisionError("a decoder bug")
            super().handle(item, on_token, on_price)

    sink = Sink()
    with trio.fail_after(5), caplog.at_level(logging.ERROR):
        await run_listener(Exploding(pubsub=None), sink.token, sink.price)  # type: ignore[arg-type]
    assert [t.token_info.name for t in sink.tokens] == ["First", "Last"]
    assert "skipping a notification that could not be handled" in caplog.text


def exit_fired_by(sol: int, order: list[str], woken: trio.Event) -> Callable[[PriceUpdate], bool]:
    """A price sink noting each price in ``order``; the trade of ``sol`` lamports crosses a
    position's exit rule: it sets ``woken`` (the position's SELL) and says it woke a task."""

    def on_price(price: PriceUpdate) -> bool:
        order.append(f"price {price.sol_amount}")
        if price.sol_amount == sol:
            woken.set()
            return True
        return False

    return on_price


def _queued_listener(items: list[Any]) -> LogsListener:
    """A logs listener whose subscription is a channel already holding ``items`` (all there
    before the listener reads the first), then closed."""
    send, receive = trio.open_memory_channel[Any](len(items))
    for item in items:
        send.send_nowait(item)
    send.close()

    class Queued(LogsListener):
        @asynccontextmanager
        async def subscription(self) -> AsyncIterator[Any]:  # type: ignore[override]
            yield receive

    return Queued(pubsub=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("urgent", [False, True])
@pytest.mark.parametrize("seed", range(8))
async def test_a_new_tokens_task_runs_before_the_notifications_queued_behind_it(
    seed: int, urgent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token sink starts a task (the trader's BUY); the listener lets it run before it
    handles the items already queued behind the create, whichever order Trio's scheduler
    runs its next batch in (it reverses half of them: hence several runs). ``urgent``: the
    sink hands back urgent work that starts it (the extreme fast BUY's write, then its
    position task), which the listener awaits first, across its checkpoints."""

    import trio

    from trio_trader.listeners.logs import run_listener

    monkeypatch.setattr(trio._core._run, "_r", random.Random(seed))  # the batch orders
    queued = [logs_item(pump_logs(create_event(), trade_event(1)))]
    queued += [logs_item(pump_logs(trade_event(100 + i, mint=OTHER_MINT))) for i in range(5)]
    listener = _queued_listener(queued)
    order: list[str] = []

    async def buy(token: NewToken) -> None:
        order.append(f"buy {token.token_info.symbol}")

    async with trio.open_nursery() as nursery:

        def on_token(token: NewToken) -> Any:
            if not urgent:
                nursery.start_soon(buy, token)
                return None

            async def write_then_start() -> None:
                await trio.lowlevel.checkpoint()
                nursery.start_soon(buy, token)

            return write_then_start

        def on_price(price: PriceUpdate) -> None:
            order.append(f"price {price.sol_amount}")

        with trio.fail_after(5):
            await run_listener(listener, on_token, on_price)
    # the create's own trade is published before its token (it sets the first price)
    assert order == ["price 1", "buy CAT", *(f"price {100 + i}" for i in range(5))]


@pytest.mark.parametrize("seed", range(8))
async def test_a_task_woken_by_a_price_runs_before_the_notifications_queued_behind_it(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A price that fires a position's exit wakes its task (the SELL); the listener lets it
    run before it handles the items queued behind, as it does a new token's BUY, whichever
    order the scheduler runs its next batch in. A price that wakes nothing does not yield."""

    import trio
    import trio.testing

    from trio_trader.listeners.logs import run_listener

    monkeypatch.setattr(trio._core._run, "_r", random.Random(seed))  # the batch orders
    queued = [logs_item(pump_logs(trade_event(1 + i, mint=OTHER_MINT))) for i in range(3)]
    queued += [logs_item(pump_logs(trade_event(100 + i, mint=OTHER_MINT))) for i in range(5)]
    listener = _queued_listener(queued)
    order: list[str] = []
    woken = trio.Event()

    async def seller() -> None:  # a position's task, parked until its exit fires
        await woken.wait()
        order.append("sell")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(seller)
        await trio.testing.wait_all_tasks_blocked()

        on_price = exit_fired_by(3, order, woken)
        with trio.fail_after(5):
            await run_listener(listener, lambda token: None, on_price)
    assert order == [
        "price 1",
        "price 2",
        "price 3",
        "sell",
        *(f"price {100 + i}" for i in range(5)),
    ]
    assert listener.stats.woke == 1


async def test_the_block_listener_hands_back_every_tokens_urgent_work_in_order() -> None:
    """Each create of a block gives its sink's urgent work (the trader's BUY up to its
    write); ``handle`` returns one urgent work doing them all, in order, after every
    token of the block was taken in."""
    raw, _ = _raw_tx()
    done: list[str] = []

    def entry(name: str) -> dict[str, Any]:
        logs = pump_logs(create_event(name=name, symbol=name))
        return {"transaction": [raw, "base64"], "meta": {"err": None, "logMessages": logs}}

    def on_token(token: NewToken) -> Any:
        done.append(f"taken {token.token_info.symbol}")

        async def urgent() -> None:
            await trio.lowlevel.checkpoint()
            done.append(f"bought {token.token_info.symbol}")

        return urgent

    block = {"context": {"slot": 9}, "value": {"slot": 9, "block": {
        "transactions": [entry("A"), entry("B")]}}}  # fmt: skip
    listener = BlockListener(pubsub=None)  # type: ignore[arg-type]
    urgent = listener.handle(block, on_token, lambda _price: None)
    assert done == ["taken A", "taken B"]
    assert urgent is not None
    await urgent()
    assert done == ["taken A", "taken B", "bought A", "bought B"]
