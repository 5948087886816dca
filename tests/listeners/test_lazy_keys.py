"""Price updates keep their addresses as the event's bytes until read; nothing else changes.

The decoder hands `PriceUpdate` the mint, user and creator as 32-byte ``bytes`` (a `Pubkey`
is built only when one is read), and `TradeFeed` routes by the mint's bytes. These tests
hold the decoded updates of real mainnet captures equal, field by field and as `Pubkey`
values, to the reference decoder's (`PriceUpdate.from_event` of `parse_logs`), and an
update given `Pubkey` values routed, compared and hashed as one given bytes.
"""

from __future__ import annotations

import base64

import attrs
import pytest
from solders.pubkey import Pubkey

from tests.conftest import load_sample
from trio_trader.listeners.decode import decode_transaction
from trio_trader.listeners.types import PriceUpdate
from trio_trader.pump.addresses import PUMP_PROGRAM_ID
from trio_trader.pump.events import TradeEvent, parse_logs
from trio_trader.trading.feed import TradeFeed

AT = {"signature": "sig", "slot": 9, "seen_at": 1.5}
PUMP = str(PUMP_PROGRAM_ID)


def _logs_of(name: str) -> list[str]:
    sample = load_sample(name)
    if name.endswith(".log"):  # one program data line: put it in the pump program's frame
        return [f"Program {PUMP} invoke [1]", sample.strip(), f"Program {PUMP} success"]
    tx = sample.get("result", sample)
    logs: list[str] = tx["meta"]["logMessages"]
    return logs


@pytest.mark.parametrize(
    "name",
    [
        "s01_chainstack_getTransaction_buy_then_sell_2024-08-20.json",
        "s02_chainstack_getTransaction_create_then_buy_2024-08-20.json",
        "s03_chainstack_blockSubscribe_router_buy_2025-05-13.json",
        "s09_vixen_buy_program_data.log",
        "s10_vixen_sell_program_data.log",
    ],
)
def test_mainnet_trades_decode_as_the_reference_with_every_address(name: str) -> None:
    logs = _logs_of(name)
    _, prices = decode_transaction(logs, **AT)  # type: ignore[arg-type]
    events = [ev for ev in parse_logs(logs) if isinstance(ev, TradeEvent)]
    assert events, "the capture has trades"
    reference = [PriceUpdate.from_event(ev, **AT) for ev in events]  # type: ignore[arg-type]
    assert prices == reference
    for fast, ev, ref in zip(prices, events, reference, strict=True):
        assert hash(fast) == hash(ref)
        assert (fast.mint, fast.user, fast.creator) == (ev.mint, ev.user, ev.creator)
        assert isinstance(fast.mint, Pubkey)
        assert isinstance(fast.user, Pubkey)
        assert fast.mint_key == bytes(ev.mint) == ref.mint_key
        for field in attrs.fields(PriceUpdate):  # every other field, value and type alike
            if field.name not in ("_mint", "_user", "_creator"):
                assert getattr(fast, field.name) == getattr(ref, field.name)
                assert type(getattr(fast, field.name)) is type(getattr(ref, field.name))


def _update(mint: Pubkey | bytes, sol: int) -> PriceUpdate:
    return PriceUpdate(
        mint=mint, virtual_sol_reserves=sol, virtual_token_reserves=10**15,
        real_sol_reserves=sol, real_token_reserves=7 * 10**14, is_buy=True,
        user=bytes(32), sol_amount=1, token_amount=1, signature="s", slot=1, seen_at=0.0,
        creator=None,
    )  # fmt: skip


def test_the_feed_routes_bytes_and_pubkey_mints_to_the_same_inbox() -> None:
    feed, mint, other = TradeFeed(), Pubkey.new_unique(), Pubkey.new_unique()
    taken: list[PriceUpdate] = []
    with feed.subscribe(mint) as inbox:
        inbox.listen(taken.append)
        assert feed.holds(bytes(mint))
        assert not feed.holds(bytes(other))
        feed.publish(_update(bytes(mint), 5))
        feed.publish(_update(mint, 6))
        feed.publish(_update(bytes(other), 7))
        assert [u.virtual_sol_reserves for u in taken] == [5, 6]
        assert feed.latest(mint) == _update(mint, 6) == _update(bytes(mint), 6)
        assert feed.stats.delivered == 2
        assert feed.stats.published == 3
        same = feed.subscribe(Pubkey.from_bytes(bytes(mint)))
        with pytest.raises(ValueError, match="already has a subscriber"):
            same.__enter__()
    assert not feed.holds(bytes(mint))
    assert feed.latest(mint) is None


def test_an_update_compares_and_hashes_alike_whichever_form_its_addresses_came_in() -> None:
    mint, user, creator = (Pubkey.new_unique() for _ in range(3))
    as_keys = attrs.evolve(_update(mint, 5), user=user, creator=creator)
    as_bytes = attrs.evolve(_update(bytes(mint), 5), user=bytes(user), creator=bytes(creator))
    assert as_keys == as_bytes
    assert hash(as_keys) == hash(as_bytes)
    assert (as_bytes.mint, as_bytes.user, as_bytes.creator) == (mint, user, creator)
    assert as_bytes != attrs.evolve(as_bytes, creator=None)
    assert as_bytes != attrs.evolve(as_bytes, user=bytes(mint))
    assert base64.b64encode(as_bytes.mint_key) == base64.b64encode(bytes(mint))
