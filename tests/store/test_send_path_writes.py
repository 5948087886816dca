"""The row written right before a send: journaled at once, handed to the writer thread
only once the Trio thread yields, encoded with orjson; a kill at any of those instants
loses nothing, and the text stays the format readers (SQL, the next run) expect.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio
import trio.testing

from tests.store.factories import make_sell_order, make_token_info, on_disk, send
from trio_trader.store import _convert, _json, open_repository
from trio_trader.store._journal import journal_path, read_lines
from trio_trader.trading.orders import OrderState
from trio_trader.trading.position import Position

#: a u64 amount plus one bit, as an odd node might put in an error: beyond orjson
HUGE = 2**70


def new_position(seed: int, **token: object) -> Position:
    return Position.create_from_token_info(make_token_info(seed=seed, **token))


def journal_lines(path: Path) -> int:
    return journal_path(str(path)).read_bytes().count(b"\n")


async def test_a_write_is_journaled_at_once_and_handed_to_the_thread_after_a_yield(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            await repo.insert_position(new_position(1))
            # no checkpoint since the call: the line is in the file, the thread has nothing
            assert (journal_lines(path), repo.writer.waiting) == (1, 1)
            await trio.testing.wait_all_tasks_blocked()
            assert repo.writer.waiting == 0  # the next scheduler pass handed it over
            for seed in (2, 3):  # and again, each time (the hand-over task was parked)
                await repo.insert_position(new_position(seed))
                assert repo.writer.waiting == 1
                await trio.testing.wait_all_tasks_blocked()
                assert repo.writer.waiting == 0
            await repo.flush()
            assert on_disk(path, "SELECT id FROM positions") == [(1,), (2,), (3,)]


async def test_a_kill_before_the_thread_saw_the_signed_sell_loses_nothing(
    tmp_path: Path,
) -> None:
    """The row of a signed SELL is written, the process dies before any checkpoint (the
    moment the request is written): the next run has the SELL's signature and bytes."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            position = new_position(1)
            await repo.insert_position(position)
            await repo.flush()
            sell = make_sell_order(position.token_info)
            sell.attach_transaction(
                signature="5" * 88, raw_transaction=bytes(range(256)) * 4,
                blockhash="H" * 44, last_valid_block_height=7,
            )  # fmt: skip
            position.update_from_sell_order(sell, exit_reason="stop_loss")
            await repo.update_position(position)
            assert repo.writer.waiting == 1
            repo.writer.abandon()  # kill -9 now
        assert on_disk(path, "SELECT sell_order FROM positions") == [(None,)]
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            (unresolved,) = await repo.get_unresolved_positions()
            assert unresolved.exit_reason == "stop_loss"
            assert unresolved.sell_order is not None
            assert unresolved.sell_order.state is OrderState.PENDING
            assert unresolved.sell_order.signature == "5" * 88
            assert unresolved.sell_order.raw_bytes() == bytes(range(256)) * 4


async def test_names_with_line_separators_and_huge_numbers_survive_the_journal(
    tmp_path: Path,
) -> None:
    """orjson writes UTF-8 (a raw U+2028 is no line end for the journal) and refuses
    integers past 64 bits (the standard encoder takes those): both replay exactly."""
    path = tmp_path / "bot.db"
    name = "Moon\u2028Coin ☾\nx"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            position = new_position(1, name=name)
            await repo.insert_position(position)
            sell = make_sell_order(position.token_info)
            send(sell)
            sell.mark_failed(error={"InstructionError": [2, {"Custom": HUGE}]}, error_code=1)
            position.update_from_sell_order(sell)
            await repo.update_position(position, resolved=sell)
            repo.writer.abandon()
        assert [seq for seq, _ in read_lines(journal_path(str(path)))] == [1, 2]
        async with open_repository(path) as repo:
            assert await repo.begin_session() is False
            (read,) = await repo.get_open_positions()
            assert read.token_info.name == name
            assert read.sell_order is not None
            assert read.sell_order.error == {"InstructionError": [2, {"Custom": HUGE}]}
            (trade,) = await repo.list_trades()
            assert trade.error == {"InstructionError": [2, {"Custom": HUGE}]}


def test_an_order_column_is_the_compact_sorted_json_it_always_was() -> None:
    """The same text as the cattrs + ``json.dumps(sort_keys=True)`` encoding before it,
    byte for byte (ASCII content; a nested object, the node's error, keeps its own key
    order now), so ``state_marker`` and every reader still match."""
    token_info = make_token_info(seed=4)
    sell = make_sell_order(token_info, sent_before_buy_confirmed=True)
    send(sell)
    sell.mark_failed(error={"a": "x", "b": [1, None]}, error_code=6003, error_name="Slip")
    before = _convert._converter.unstructure(sell)
    del before["token_info"]
    text = _convert.order_to_json(sell)
    assert text == json.dumps(before, separators=(",", ":"), sort_keys=True)
    assert _convert.state_marker(OrderState.FAILED) in (text or "")
    back = _convert.order_from_json(text, type(sell), token_info, row_id=1, column="sell_order")
    assert back is not None
    assert attrs_values(back) == attrs_values(sell)


def test_the_encoder_falls_back_to_the_standard_library_and_never_drops_a_value() -> None:
    assert _json.dumps({"a": HUGE}) == b'{"a":%d}' % HUGE
    assert _json.dumps({1: "int key"}) == b'{"1":"int key"}'
    assert _json.dumps({"error": ValueError("boom")}) == b'{"error":"boom"}'
    assert json.loads(_json.dumps(["\u2028", "é"])) == ["\u2028", "é"]


def attrs_values(order: object) -> dict[str, object]:
    import attrs

    return attrs.asdict(order, recurse=False)  # type: ignore[arg-type]


async def test_queued_writes_never_yield_so_a_cancelled_caller_still_writes(
    tmp_path: Path,
) -> None:
    """The contract the monitor's ``save`` relies on instead of a shielded scope: a write
    made by a task whose scope is cancelled completes (no checkpoint inside it)."""
    path = tmp_path / "bot.db"
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            position = new_position(1)
            with trio.CancelScope() as scope:
                scope.cancel()
                await repo.insert_position(position)
                position.exit_reason = "shutdown"
                await repo.update_position(position)
                sell = make_sell_order(position.token_info)
                send(sell)
                sell.mark_failed(error="expired")
                position.update_from_sell_order(sell)
                await repo.record_trade(position.id, sell)
                await repo.upsert_token_info(position.token_info)
            assert scope.cancelled_caught is False  # nothing in there checkpointed
            await repo.flush()
            assert on_disk(path, "SELECT id, exit_reason FROM positions") == [(1, "shutdown")]
            assert on_disk(path, "SELECT state FROM trades") == [("failed",)]


def test_an_order_s_remembered_text_follows_every_change_of_the_order() -> None:
    token_info = make_token_info(seed=6)
    sell = make_sell_order(token_info)
    texts = [_convert.order_to_json(sell)]
    send(sell)  # signed and sent: new values, a new text
    texts.append(_convert.order_to_json(sell))
    assert _convert.order_to_json(sell) == texts[-1]  # unchanged: the same text
    sell.mark_confirmed(slot=9, fee_lamports=5000, sol_change=1, token_change=-2)
    texts.append(_convert.order_to_json(sell))
    states = [json.loads(t or "")["state"] for t in texts]
    assert states == ["pending", "sent", "confirmed"]
    assert json.loads(texts[-1] or "")["confirmed_slot"] == 9
    back = _convert.order_from_json(texts[-1], type(sell), token_info, row_id=1, column="s")
    assert back is not None
    assert attrs_values(back) == attrs_values(sell)


async def test_a_line_torn_by_a_kill_does_not_swallow_the_next_run_s_first_write(
    tmp_path: Path,
) -> None:
    """SIGKILL can cut a write() of a regular file at a page boundary (the kernel checks
    for a fatal signal between pages): the log then ends without its newline. The next
    run's first line must not be glued onto that fragment — it would be unreadable too,
    and the write it logs (say, a sent BUY's row) lost at the next kill."""
    path = tmp_path / "bot.db"
    first, torn, after = new_position(1), new_position(2), new_position(3)
    with trio.fail_after(30):
        async with open_repository(path) as repo:
            await repo.begin_session()
            await repo.insert_position(first)
            await repo.flush()
            await repo.insert_position(torn)
            repo.writer.abandon()  # kill -9 ...
        log = journal_path(str(path))
        whole = log.read_bytes()
        log.write_bytes(whole[: len(whole) - 40])  # ... in the middle of the last line
        async with open_repository(path) as repo:
            await repo.begin_session()  # the fragment is unreadable: skipped
            await repo.insert_position(after)
            repo.writer.abandon()  # killed again before the thread wrote it
        async with open_repository(path) as repo:
            await repo.begin_session()  # replays the second run's line
            await repo.flush()
    # the torn row was never sent (its line never ended: the send comes after the write);
    # the second run's row was journaled whole, so the third run has it
    mints = {row[0] for row in on_disk(path, "SELECT mint FROM positions")}
    assert mints == {str(first.token_info.mint), str(after.token_info.mint)}
