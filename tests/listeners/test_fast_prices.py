"""The listeners' price fast path and the cached invoke-stack scan, against the full decoders.

A transaction without a `CreateEvent` has its pump `TradeEvent`s read only as far as a price
needs (`price_from_event_bytes`: the first ten fields, and the creator). Wherever the full
decoder gives a `TradeEvent`, the fast path must give exactly the `PriceUpdate` built from it;
it must keep the invoke-stack rule (only the pump program's own lines count); and the listener
loop that drains a burst per turn must lose and reorder nothing.
"""

from __future__ import annotations

import base64
import json

import attrs
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from tests.chain.fakes import FakePubsubServer
from tests.chain.hostile import notification_text
from tests.chain.test_pubsub_websocket import Peer, frame, serve
from trio_trader.chain import PubsubClient
from trio_trader.listeners import decode as decode_module
from trio_trader.listeners.decode import decode_transaction, price_from_event_bytes
from trio_trader.listeners.logs import LogsListener
from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump import _events
from trio_trader.pump import events as ev
from trio_trader.pump._borsh import DecodeError
from trio_trader.pump._events import program_data_lines
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, bonding_curve_pda

from .test_fast_decode import full_trade, reference_lines


def creator_buy_lamports(create: ev.CreateEvent, trades: list[PriceUpdate]) -> int:
    """The oracle: the first buy of the created mint by its deployer in the tx, over the
    transaction's `PriceUpdate` values in order (the rule `decode._creator_facts` keeps)."""
    for trade in trades:
        if (
            trade.is_buy
            and trade.mint == create.mint
            and trade.user in (create.user, create.creator)
        ):
            return trade.sol_amount
    return 0


PUMP = str(PUMP_PROGRAM_ID)
ROUTER = "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1"
FEE = "pfeeUxB6jkeY1Hxd7CsFCAjcbHA9rWtchMGdZ6VojVZ"
AT = {"signature": "sig", "slot": 9, "seen_at": 1.5}
OTHER_USER = Pubkey.new_unique()


def full_price(data: bytes) -> PriceUpdate | None:
    """The price as the full decoder (and `PriceUpdate.from_event`) gives it, or None."""
    try:
        event = ev.decode_event(data)
    except DecodeError:
        return None
    assert isinstance(event, ev.TradeEvent)
    return PriceUpdate.from_event(event, **AT)  # type: ignore[arg-type]


def line(event: ev.TradeEvent) -> str:
    return "Program data: " + base64.b64encode(ev.encode_event(event)).decode()


def test_every_cut_and_corruption_prices_as_the_full_decoder_where_it_decodes() -> None:
    trade = full_trade()
    data = ev.encode_event(trade)
    prefix = 8 + 121  # the 2024 layout: the ten fields a price is read from
    creator_at = prefix + 32 + 8 + 8  # after fee_recipient, fee_basis_points, fee
    assert data[creator_at : creator_at + 32] == bytes(trade.creator)  # type: ignore[arg-type]
    for end in range(8, len(data) + 1):
        fast = price_from_event_bytes(data[:end], **AT)  # type: ignore[arg-type]
        full = full_price(data[:end])
        if full is not None:
            assert fast == full
        assert (fast is None) == (end < prefix)  # the tail is never read
        if fast is not None:  # the creator once the bytes reach it
            assert fast.creator == (trade.creator if end >= creator_at + 32 else None)
    clean = price_from_event_bytes(data, **AT)  # type: ignore[arg-type]
    assert clean is not None
    for index in range(8, len(data)):
        for value in (2, 0xFF):
            corrupt = data[:index] + bytes([value]) + data[index + 1 :]
            fast = price_from_event_bytes(corrupt, **AT)  # type: ignore[arg-type]
            full = full_price(corrupt)
            if full is not None:
                assert fast == full
            if index < prefix:  # inside the price's fields: only a bad is_buy is refused
                assert (fast is None) == (index == 8 + 48 and full is None)
            elif creator_at <= index < creator_at + 32:  # the creator, and nothing else
                changed = Pubkey.from_bytes(corrupt[creator_at : creator_at + 32])
                assert fast == attrs.evolve(clean, creator=changed)
            else:
                assert fast == clean


@settings(max_examples=300, deadline=None)
@given(body=st.binary(min_size=0, max_size=420))
def test_random_bodies_price_as_the_full_decoder(body: bytes) -> None:
    data = ev.TradeEvent.DISCRIMINATOR + body
    full = full_price(data)
    if full is not None:
        assert price_from_event_bytes(data, **AT) == full  # type: ignore[arg-type]


def test_a_router_transaction_prices_only_pumps_own_event() -> None:
    """The fast path keeps the invoke-stack rule: look-alike TradeEvents printed by a
    router, by the fee program inside pump's frame, or after pump returned are not prices."""
    real = attrs.evolve(full_trade(), sol_amount=111)
    fake = attrs.evolve(full_trade(), sol_amount=999, virtual_sol_reserves=1)
    logs = [
        f"Program {ROUTER} invoke [1]",
        line(fake),
        f"Program {PUMP} invoke [2]",
        "Program log: Instruction: Buy",
        f"Program {FEE} invoke [3]",
        line(fake),
        f"Program {FEE} success",
        line(real),
        f"Program {PUMP} invoke [3]",
        f"Program {PUMP} success",
        f"Program {PUMP} success",
        line(fake),
        "Program log: invoke [2]",  # a program's own text cannot put pump back on top
        line(fake),
        f"Program {ROUTER} success",
    ]
    tokens, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert tokens == []
    assert prices == [PriceUpdate.from_event(real, **AT)]  # type: ignore[arg-type]


def test_a_create_transaction_decodes_its_create_whole_and_prices_its_trades() -> None:
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("a", "b", "c", mint, bonding_curve_pda(mint), Pubkey.new_unique())
    buy = attrs.evolve(full_trade(), mint=mint, user=create.user)
    create_line = "Program data: " + base64.b64encode(ev.encode_event(create)).decode()
    logs = [f"Program {PUMP} invoke [1]", create_line, line(buy), f"Program {PUMP} success"]
    tokens, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert [t.token_info.mint for t in tokens] == [mint]
    assert tokens[0].creator_buy_lamports == buy.sol_amount
    assert tokens[0].token_info.virtual_sol_reserves == buy.virtual_sol_reserves
    assert prices == [PriceUpdate.from_event(buy, **AT)]  # type: ignore[arg-type]


def test_a_create_transaction_reads_the_scanned_lines_as_parse_logs_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The create path decodes the lines the scan already picked (no second scan): it keeps
    the invoke-stack rule and ``parse_logs``' skips (other events, malformed ones)."""
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("a", "b", "c", mint, bonding_curve_pda(mint), Pubkey.new_unique())
    buy = attrs.evolve(full_trade(), mint=mint, user=create.user, sol_amount=7)
    later = attrs.evolve(buy, user=OTHER_USER, virtual_sol_reserves=44 * 10**9)
    fake = attrs.evolve(buy, virtual_sol_reserves=1, sol_amount=999)
    done = ev.CompleteEvent(OTHER_USER, mint, Pubkey.new_unique(), 3)
    cut = ev.encode_event(full_trade())[:60]  # a TradeEvent that ends inside a field

    def data(raw: bytes) -> str:
        return "Program data: " + base64.b64encode(raw).decode()

    logs = [
        f"Program {ROUTER} invoke [1]",
        line(fake),  # the router's look-alike: not pump's
        f"Program {PUMP} invoke [2]",
        data(ev.encode_event(create)),
        line(buy),
        data(cut),
        data(b"\x01" * 16),  # an event pump prints that the bot does not read
        data(ev.encode_event(done)),
        line(later),
        f"Program {PUMP} success",
        f"Program {ROUTER} success",
    ]
    tokens, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert [(t.token_info.mint, t.creator_buy_lamports) for t in tokens] == [(mint, 7)]
    assert tokens[0].token_info.virtual_sol_reserves == 44 * 10**9  # the last trade's
    assert prices == [PriceUpdate.from_event(e, **AT) for e in (buy, later)]  # type: ignore[arg-type]
    assert [e for e in ev.parse_logs(logs) if not isinstance(e, ev.CompleteEvent)] == [
        create, buy, later
    ]  # fmt: skip
    assert "skipping malformed pump TradeEvent in sig" in caplog.text


def test_a_create_transactions_trade_is_read_as_far_as_the_token_needs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The creator's buy is read like any trade (its first fields): a tail the bot does not
    read does not cost the token; a CreateEvent cut short is skipped, the rest still read."""
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("a", "b", "c", mint, bonding_curve_pda(mint), Pubkey.new_unique())
    buy = attrs.evolve(full_trade(), mint=mint, user=create.user, sol_amount=9)
    odd_tail = ev.encode_event(buy)[:-3] + b"\x07"  # ix_name cut: the full decoder refuses it
    with pytest.raises(DecodeError):
        ev.decode_event(odd_tail)
    cut_create = ev.encode_event(create)[:40]

    def data(raw: bytes) -> str:
        return "Program data: " + base64.b64encode(raw).decode()

    logs = [f"Program {PUMP} invoke [1]", data(cut_create), data(ev.encode_event(create)),
            data(odd_tail), f"Program {PUMP} success"]  # fmt: skip
    tokens, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert [(t.token_info.mint, t.creator_buy_lamports) for t in tokens] == [(mint, 9)]
    assert tokens[0].token_info.virtual_sol_reserves == buy.virtual_sol_reserves
    assert prices == [PriceUpdate.from_event(buy, **AT)]  # type: ignore[arg-type]
    assert "skipping malformed pump event in sig" in caplog.text  # the cut CreateEvent


def test_a_malformed_trade_is_skipped_and_the_next_one_priced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = attrs.evolve(full_trade(), sol_amount=5)
    short = "Program data: " + base64.b64encode(ev.encode_event(full_trade())[:100]).decode()
    logs = [f"Program {PUMP} invoke [1]", short, "Program data: !!", line(good)]
    _, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert [p.sol_amount for p in prices] == [5]
    assert "skipping malformed pump TradeEvent in sig" in caplog.text
    assert "undecodable base64" in caplog.text


def test_the_scan_cache_stays_bounded_and_right_past_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_events, "_LINE_OPS", {})
    monkeypatch.setattr(_events, "_LINE_OPS_MAX", 50)
    data = line(full_trade())
    for n in range(200):  # 600 distinct stack lines through a cache of 50
        logs = [
            f"Program P{n} invoke [1]",
            f"Program {PUMP} invoke [{2 + n % 3}]",
            data,
            f"Program {PUMP} success",
            f"Program log: {'x' * 300}",  # too long to cache
            data,
            f"Program P{n} success",
        ]
        for _ in range(2):  # uncached, then cached
            assert program_data_lines(logs, PUMP) == list(reference_lines(logs, PUMP))
        assert len(_events._LINE_OPS) <= 50
        assert all(len(key) <= _events._LINE_CACHED_MAX for key in _events._LINE_OPS)


def test_the_scan_caches_no_line_that_changes_from_one_transaction_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compute-unit lines and numbered log lines are skipped uncached: the cache keeps the
    lines that recur instead of filling up with them and starting again."""
    monkeypatch.setattr(_events, "_LINE_OPS", {})
    data = line(full_trade())
    recurring = [
        f"Program {PUMP} invoke [1]",
        "Program log: Instruction: Buy",
        f"Program {PUMP} success",
    ]
    for n in range(300):
        logs = [
            recurring[0], recurring[1], data, f"Program log: amount {n}",
            f"Program {PUMP} consumed {n} of 200000 compute units", recurring[2],
        ]  # fmt: skip
        assert program_data_lines(logs, PUMP) == list(reference_lines(logs, PUMP)) == [data]
    assert sorted(_events._LINE_OPS) == sorted(recurring)


async def test_the_listener_drains_a_burst_in_order_across_batches(
    nursery: trio.Nursery,
) -> None:
    """More notifications than one turn handles (`BATCH`), queued at once: all priced, in
    order, none dropped."""
    server = FakePubsubServer()
    await server.start(nursery)
    client = PubsubClient(server.url, backoff_base=0.01, seed=3, queue_size=1000)
    await nursery.start(client.run)
    listener = LogsListener(client)
    prices: list[PriceUpdate] = []
    await nursery.start(listener.run, lambda token: None, prices.append)
    (sid,) = server.live("logsSubscribe")
    count = 53
    with trio.fail_after(10):
        for n in range(count):
            logs = [f"Program {PUMP} invoke [1]", line(attrs.evolve(full_trade(), sol_amount=n))]
            value = {"signature": f"s{n}", "err": None, "logs": logs}
            await server.notify(sid, {"context": {"slot": n}, "value": value})
        while len(prices) < count:
            await trio.sleep(0.01)
    assert [p.sol_amount for p in prices] == list(range(count))
    assert [p.slot for p in prices] == list(range(count))
    assert client.stats.dropped == 0
    assert listener.stats.prices == count


async def test_a_burst_in_one_write_is_not_dropped_by_a_listener_that_keeps_pace(
    nursery: trio.Nursery,
) -> None:
    """1,000 notifications in one TCP write, a queue of only two listener turns: the reader
    dispatches no more per turn than the listener drains per turn, so nothing is dropped."""
    count = 1000

    async def handler(stream: trio.SocketStream, peer: Peer) -> None:
        _, hello = await peer.next_frame()
        reply = {"jsonrpc": "2.0", "id": json.loads(hello)["id"], "result": 1}
        await stream.send_all(frame(1, json.dumps(reply).encode()))
        await trio.sleep(0.2)  # the listener is in its loop (its start-up is not the point)
        burst = b"".join(
            frame(1, notification_text(1, json.dumps(logs_item(n)).encode()).encode())
            for n in range(count)
        )
        await stream.send_all(burst)
        await trio.sleep_forever()

    served = await serve(nursery, handler)
    client = PubsubClient(f"ws://127.0.0.1:{served.port}/", seed=5, queue_size=32)
    await nursery.start(client.run)
    listener = LogsListener(client)
    await nursery.start(listener.run, lambda token: None, lambda price: None)
    with trio.fail_after(10):
        while listener.stats.notifications + client.stats.dropped < count:
            await trio.sleep(0.01)
    assert client.stats.dropped == 0
    assert listener.stats.notifications == count


def logs_item(n: int) -> dict[str, object]:
    return {"context": {"slot": n}, "value": {"signature": f"s{n}", "err": None, "logs": []}}


MINTS = [Pubkey.new_unique() for _ in range(2)]
PEOPLE = [Pubkey.new_unique() for _ in range(3)]


@settings(max_examples=200, deadline=None)
@given(
    creator=st.sampled_from([None, *PEOPLE]),
    trades=st.lists(
        st.tuples(
            st.sampled_from(MINTS),
            st.sampled_from(PEOPLE),
            st.booleans(),
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**64 - 1),
        ),
        max_size=6,
    ),
)
def test_the_tokens_facts_are_what_its_trades_price_updates_say(
    creator: Pubkey | None, trades: list[tuple[Pubkey, Pubkey, bool, int, int]]
) -> None:
    """The create path reads the creator's buy and the reserves from the trades' first
    fields, without `PriceUpdate` values: the same facts `creator_buy_lamports` and the
    last trade of the mint give."""
    create = ev.CreateEvent(
        "a", "b", "c", MINTS[0], bonding_curve_pda(MINTS[0]), PEOPLE[0], creator=creator,
        timestamp=1, virtual_token_reserves=5, virtual_sol_reserves=6, real_token_reserves=7,
        token_total_supply=8,
    )  # fmt: skip
    events = [
        attrs.evolve(full_trade(), mint=m, user=u, is_buy=b, sol_amount=sol, virtual_sol_reserves=v)
        for m, u, b, sol, v in trades
    ]
    logs = [f"Program {PUMP} invoke [1]", *(line(e) for e in events), f"Program {PUMP} success"]
    logs.insert(1, "Program data: " + base64.b64encode(ev.encode_event(create)).decode())
    (token,), prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    assert prices == [PriceUpdate.from_event(e, **AT) for e in events]  # type: ignore[arg-type]
    assert token.creator_buy_lamports == creator_buy_lamports(create, prices)
    mine = [p for p in prices if p.mint == create.mint]
    info = token.token_info
    got = (info.virtual_sol_reserves, info.virtual_token_reserves, info.real_token_reserves)
    if mine:
        last = mine[-1]
        assert got == (
            last.virtual_sol_reserves, last.virtual_token_reserves, last.real_token_reserves
        )  # fmt: skip
    else:
        sent = ev.decode_event(ev.encode_event(create))  # a 2024 layout without creator
        assert isinstance(sent, ev.CreateEvent)
        assert got == (
            sent.virtual_sol_reserves, sent.virtual_token_reserves, sent.real_token_reserves
        )  # fmt: skip


async def test_the_token_is_handed_on_before_its_transactions_trades_are_priced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The BUY's task is started before any `PriceUpdate` of the create transaction is
    built; the price sink still gets every trade, in order, right after."""
    mint = Pubkey.new_unique()
    create = ev.CreateEvent("a", "b", "c", mint, bonding_curve_pda(mint), Pubkey.new_unique())
    buys = [attrs.evolve(full_trade(), mint=mint, user=create.user, sol_amount=n) for n in (3, 4)]
    logs = [
        f"Program {PUMP} invoke [1]",
        "Program data: " + base64.b64encode(ev.encode_event(create)).decode(),
        *(line(b) for b in buys),
        f"Program {PUMP} success",
    ]
    built: list[int] = []
    real = decode_module.price_from_event_bytes

    def counting(data: bytes, **kwargs: object) -> PriceUpdate | None:
        price = real(data, **kwargs)  # type: ignore[arg-type]
        built.append(0 if price is None else price.sol_amount)
        return price

    monkeypatch.setattr(decode_module, "price_from_event_bytes", counting)
    seen: list[str] = []
    item = {"context": {"slot": 9}, "value": {"signature": "sig", "err": None, "logs": logs}}
    listener = LogsListener(pubsub=None)  # type: ignore[arg-type]

    def on_token(token: object) -> None:
        seen.append(f"token, {len(built)} prices built")

    listener.handle(item, on_token, lambda price: seen.append(f"price {price.sol_amount}"))
    assert seen == ["token, 0 prices built", "price 3", "price 4"]
    assert (listener.stats.tokens, listener.stats.prices) == (1, 2)
