"""The first SELL of a confirmed position names the creator of the newest trade seen, with
no curve read; a creator changed after that trade (``admin_cto``) costs one failed SELL,
and the retry reads the curve, names the new creator and sells, the books to the lamport.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
from solders.account import Account
from solders.pubkey import Pubkey

from tests.scenario.harness import Harness, running_bot
from trio_trader.pump import addresses
from trio_trader.trading.orders import OrderState


def admin_cto(h: Harness, mint: Pubkey, creator: Pubkey) -> None:
    """What pump's ``admin_set_creator`` does: the curve names a new creator (only that)."""
    key = addresses.bonding_curve_pda(mint)
    account, curve = h.sim.ledger.get_account(key), h.sim.ledger.bonding_curve(mint)
    assert account is not None
    assert curve is not None
    data = attrs.evolve(curve, creator=creator).encode(len(bytes(account.data)))
    h.sim.ledger.set_account(key, Account(account.lamports, data, account.owner))


async def test_a_creator_changed_after_the_last_trade_seen_costs_one_failed_sell(
    tmp_path: Path,
) -> None:
    new_creator = Pubkey.new_unique()
    changed_under: list[OrderState | None] = []

    async def change_before_first_sell(attempt: int) -> None:
        if attempt == 1:
            (position,) = await h.positions()
            changed_under.append(position.buy_order and position.buy_order.state)
            admin_cto(h, position.mint, new_creator)

    with trio.fail_after(30):
        async with running_bot(tmp_path, config={"exits": {"sell_after": 0.5}}) as h:
            h.seller.before = change_before_first_sell
            mint = await h.launch()
            await h.wait_until(lambda: h.settled(1))
            (position,) = await h.assert_books_balance()
            sells = await h.trades(position.id, "sell")
            new_vault = h.sim.ledger.balance(addresses.creator_vault_pda(new_creator))
            balance = h.token_balance(mint)
    assert changed_under == [OrderState.CONFIRMED]  # the creator changed after the BUY
    # the first SELL named the creator of the trades seen (no read): refused on chain
    assert [(s.attempt, s.success, s.error_code) for s in sells] == [
        (1, False, 2006),  # ConstraintSeeds on creator_vault
        (2, True, None),
    ]
    assert position.sell_order is not None
    assert position.sell_order.state is OrderState.CONFIRMED
    assert position.exit_reason == "sell_after"
    assert balance == 0
    assert new_vault > 0  # the retry paid the new creator's vault
