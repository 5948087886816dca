"""The trade-feed router: one inbox per mint, every update handed over at once, never blocks."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from trio_trader.listeners.types import PriceUpdate
from trio_trader.trading.feed import TradeFeed


def update(mint: Pubkey, vsol: int, sig: str = "s") -> PriceUpdate:
    return PriceUpdate(
        mint=mint, virtual_sol_reserves=vsol, virtual_token_reserves=10**15,
        real_sol_reserves=0,
        real_token_reserves=7 * 10**14, is_buy=True, user=Pubkey.default(), sol_amount=1,
        token_amount=1, signature=sig, slot=1, seen_at=0.0,
    )  # fmt: skip


def test_updates_reach_only_their_mint_every_one_in_order() -> None:
    feed = TradeFeed()
    a, b = Pubkey.new_unique(), Pubkey.new_unique()
    seen_a: list[int] = []
    seen_b: list[int] = []
    with feed.subscribe(a) as inbox_a, feed.subscribe(b) as inbox_b:
        inbox_a.listen(lambda u: seen_a.append(u.virtual_sol_reserves))
        inbox_b.listen(lambda u: seen_b.append(u.virtual_sol_reserves))
        for v in range(1, 6):
            feed.publish(update(a, v))
        feed.publish(update(b, 20))
        feed.publish(update(Pubkey.new_unique(), 3))  # nobody holds it: dropped
        assert feed.latest(a) == update(a, 5)
    assert seen_a == [1, 2, 3, 4, 5]  # no update skipped, none reordered
    assert seen_b == [20]
    assert feed.subscribers == 0
    assert (feed.stats.published, feed.stats.delivered, feed.stats.superseded) == (7, 6, 0)


def test_before_a_listener_attaches_the_inbox_keeps_the_newest_update() -> None:
    feed = TradeFeed()
    mint = Pubkey.new_unique()
    seen: list[int] = []
    with feed.subscribe(mint) as inbox:
        for v in range(1, 101):
            feed.publish(update(mint, v))  # never blocks although nobody listens
        assert feed.stats.superseded == 99
        inbox.listen(lambda u: seen.append(u.virtual_sol_reserves))
        assert seen == [100]  # handed over at once
        inbox.listen(None)
        inbox.listen(lambda u: seen.append(-u.virtual_sol_reserves))
        assert seen == [100]  # already taken: not handed twice
        feed.publish(update(mint, 101))
    assert seen == [100, -101]


def test_holds_names_exactly_the_subscribed_mints() -> None:
    feed = TradeFeed()
    mint, other = Pubkey.new_unique(), Pubkey.new_unique()
    assert not feed.holds(bytes(mint))
    with feed.subscribe(mint):
        assert feed.holds(bytes(mint))
        assert not feed.holds(bytes(other))
    assert not feed.holds(bytes(mint))


def test_unsubscribe_frees_the_mint_and_refuses_a_second_subscriber() -> None:
    feed = TradeFeed()
    mint = Pubkey.new_unique()
    with (
        feed.subscribe(mint),
        pytest.raises(ValueError, match="already has a subscriber"),
        feed.subscribe(mint),
    ):
        pass
    feed.publish(update(mint, 5))  # no subscriber any more: no error
    assert feed.latest(mint) is None
    with feed.subscribe(mint) as inbox:
        feed.publish(update(mint, 6))
        assert inbox.latest == update(mint, 6)


def test_a_failing_listener_costs_only_its_own_update(caplog: pytest.LogCaptureFixture) -> None:
    feed = TradeFeed()
    bad, good = Pubkey.new_unique(), Pubkey.new_unique()
    seen: list[int] = []

    def broken(u: PriceUpdate) -> None:
        raise RuntimeError("a bug in one position")

    with feed.subscribe(bad) as inbox_bad, feed.subscribe(good) as inbox_good:
        inbox_bad.listen(broken)
        inbox_good.listen(lambda u: seen.append(u.virtual_sol_reserves))
        feed.publish(update(bad, 1))
        feed.publish(update(good, 2))
        feed.publish(update(bad, 3))
        feed.publish(update(good, 4))
    assert seen == [2, 4]
    assert sum("price intake failed" in r.getMessage() for r in caplog.records) == 2


def test_publish_says_whether_the_update_woke_its_position() -> None:
    # the listener lets a woken position (an exit rule fired: its SELL) run before it
    # handles the next notification, so publish passes the intake's answer on
    feed = TradeFeed()
    a, b = Pubkey.new_unique(), Pubkey.new_unique()
    with feed.subscribe(a) as inbox_a, feed.subscribe(b) as inbox_b:
        assert feed.publish(update(a, 1)) is False  # no listener yet: kept, nobody woken
        inbox_a.listen(lambda u: u.virtual_sol_reserves >= 5)  # "fires" at 5
        inbox_b.listen(lambda u: None)  # an intake that never wakes anything
        assert [feed.publish(update(a, v)) for v in (2, 5, 3)] == [False, True, False]
        assert feed.publish(update(b, 9)) is False
        assert feed.publish(update(Pubkey.new_unique(), 9)) is False  # no position holds it
