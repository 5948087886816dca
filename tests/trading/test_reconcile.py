"""``Reconciler`` and the wallet reads behind it (``wallet_scan``).

Reply parsing is checked against a fake node speaking the real wire format; booking is
checked against the simulator, with trades sent by hand from the bot's wallet and every
amount compared with the ledger.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from tests.chain.fakes import FakeNode, RpcFault, context
from tests.scenario.harness import running_bot
from tests.scenario.test_recovery_reconcile import (
    launch_quietly,
    sol_change,
    wallet_buy,
    wallet_sell,
)
from tests.store.factories import make_token_info
from trio_trader.chain.errors import RpcError
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump import addresses
from trio_trader.store import open_repository
from trio_trader.trading import wallet_scan
from trio_trader.trading.orders import OrderState
from trio_trader.trading.position import Position
from trio_trader.trading.reconcile import SOLD_OUTSIDE, Reconciler

WALLET = Keypair().pubkey()


def client(node: FakeNode) -> RpcClient:
    return RpcClient(("http://fake",), transport=node.transport(), seed=1, max_retries=0)


def sig(n: int) -> str:
    return str(Signature(bytes([n]) * 64))


# ---------------------------------------------------------------------- wallet_history


def history_node(signatures: list[str], *, bad: frozenset[int] = frozenset()) -> FakeNode:
    """Newest first, honouring limit/before/until like Solana; entries in ``bad`` are junk."""

    def handle(params: list[Any]) -> Any:
        config = params[1]
        start = signatures.index(config["before"]) + 1 if "before" in config else 0
        stop = signatures.index(config["until"]) if "until" in config else len(signatures)
        page = signatures[start:stop][: config["limit"]]
        return [
            {"signature": 7} if signatures.index(s) in bad
            else {"signature": s, "slot": 100 - signatures.index(s), "err": None}
            for s in page
        ]  # fmt: skip

    return FakeNode({"getSignaturesForAddress": handle})


async def test_history_pages_back_to_until_and_returns_oldest_first() -> None:
    sigs = [sig(n) for n in range(1, 8)]  # newest first
    node = history_node(sigs)
    async with client(node) as rpc:
        entries, bound = await wallet_scan.wallet_history(
            rpc, WALLET, until=sigs[5], page_limit=2, max_pages=10
        )
    assert not bound
    assert [e.signature for e in entries] == sigs[:5][::-1]
    befores = [c[2][1].get("before") for c in node.calls]
    assert befores == [None, sigs[1], sigs[3]]
    assert all(c[2][1]["until"] == sigs[5] for c in node.calls)


async def test_history_stops_at_the_page_bound_and_says_so() -> None:
    sigs = [sig(n) for n in range(1, 8)]
    async with client(history_node(sigs)) as rpc:
        entries, bound = await wallet_scan.wallet_history(
            rpc, WALLET, until=None, page_limit=2, max_pages=2
        )
    assert bound
    assert [e.signature for e in entries] == sigs[:4][::-1]


async def test_a_malformed_history_entry_fails_the_walk_with_an_rpc_error() -> None:
    sigs = [sig(n) for n in range(1, 6)]
    async with client(history_node(sigs, bad=frozenset({3}))) as rpc:
        with pytest.raises(RpcError):
            await wallet_scan.wallet_history(rpc, WALLET, until=None, page_limit=2)


async def test_a_history_reply_that_is_not_a_list_is_an_rpc_error() -> None:
    async with client(FakeNode({"getSignaturesForAddress": lambda p: {"x": 1}})) as rpc:
        with pytest.raises(RpcError):
            await wallet_scan.wallet_history(rpc, WALLET, until=None)


# ---------------------------------------------------------------------- token_holdings


def token_account(mint: Pubkey, owner: Pubkey, amount: int, program: Pubkey) -> dict[str, Any]:
    # SPL layout: mint, owner, amount, delegate option (36), state (1 = initialized), rest
    data = bytes(mint) + bytes(owner) + amount.to_bytes(8, "little") + bytes(36) + b"\x01"
    data += bytes(165 - len(data))
    return {
        "pubkey": str(Keypair().pubkey()),
        "account": {
            "data": [base64.b64encode(data).decode(), "base64"],
            "executable": False,
            "lamports": 2_039_280,
            "owner": str(program),
            "rentEpoch": 0,
            "space": len(data),
        },
    }


async def test_holdings_sum_both_programs_and_skip_empty_and_foreign_accounts() -> None:
    a, b, c = (Keypair().pubkey() for _ in range(3))
    spl, t22 = addresses.TOKEN_PROGRAM_ID, addresses.TOKEN_2022_PROGRAM_ID
    accounts = {
        str(spl): [token_account(a, WALLET, 5, spl), token_account(c, WALLET, 0, spl)],
        str(t22): [token_account(a, WALLET, 7, t22), token_account(b, WALLET, 9, t22),
                   token_account(c, Keypair().pubkey(), 4, t22)],
    }  # fmt: skip
    node = FakeNode({"getTokenAccountsByOwner": lambda p: context(accounts[p[1]["programId"]])})
    async with client(node) as rpc:
        held = await wallet_scan.token_holdings(rpc, WALLET)
    assert held == {a: 12, b: 9}


async def test_a_malformed_token_account_reply_is_an_rpc_error() -> None:
    junk = context([{"pubkey": str(WALLET), "account": {"data": "junk"}}])
    async with client(FakeNode({"getTokenAccountsByOwner": lambda p: junk})) as rpc:
        with pytest.raises(RpcError):
            await wallet_scan.token_holdings(rpc, WALLET)


# ---------------------------------------------------------------------- Reconciler


async def test_row_without_buy_is_neither_closed_nor_resumed_when_holdings_are_unreadable(
    tmp_path: Path,
) -> None:
    def refuse(params: list[Any]) -> Any:
        raise RpcFault(-32603, "internal error")

    node = FakeNode({"getSignaturesForAddress": lambda p: [], "getTokenAccountsByOwner": refuse})
    async with open_repository(tmp_path / "db") as repo, client(node) as rpc:
        bare = Position.create_from_token_info(make_token_info(seed=5))
        await repo.insert_position(bare)
        resumed = await Reconciler(rpc=rpc, wallet=WALLET, repo=repo).run([bare])
        (row,) = await repo.list_positions()
    assert resumed == []
    assert row.is_open
    assert row.buy_order is None
    assert row.exit_reason is None


async def test_buys_and_sells_sent_by_hand_are_booked_to_the_lamport(tmp_path: Path) -> None:
    """BUY, second BUY, partial SELL, final SELL — all by hand, all unknown to the database:
    one position that ends closed with the wallet's exact PnL and every trade recorded."""
    with trio.fail_after(60):
        async with running_bot(tmp_path, start=False) as h:
            mint = await launch_quietly(h)
            first = await wallet_buy(h, mint, 0.05)
            second = await wallet_buy(h, mint, 0.02)
            total = h.token_balance(mint)
            part = await wallet_sell(h, mint, total // 3)
            rest = await wallet_sell(h, mint, total - total // 3)
            assert h.token_balance(mint) == 0
            chain = h.bot.trader.buyer.chain

            reconciler = Reconciler(rpc=chain.rpc, wallet=chain.wallet, repo=h.repo)
            resumed = await reconciler.run([])

            assert resumed == []  # closed by the last SELL: nothing left to watch
            report = reconciler.report
            assert (report.adopted_buys, report.merged_buys, report.adopted_sells) == (1, 1, 2)
            (position,) = await h.positions()
            assert position.status == "closed"
            assert position.exit_reason == SOLD_OUTSIDE
            assert position.buy_order is not None
            assert position.buy_order.signature == str(first)
            changes = [sol_change(h, s) for s in (first, second, part, rest)]
            assert position.sol_spent == -(changes[0] + changes[1])
            assert position.sol_received == changes[2] + changes[3]
            assert position.realized_pnl_lamports == sum(changes)
            trades = await h.repo.list_trades(position.id)
            assert [(t.side, t.attempt, t.signature) for t in trades] == [
                ("buy", 1, str(first)), ("buy", 2, str(second)),
                ("sell", 1, str(part)), ("sell", 2, str(rest)),
            ]  # fmt: skip
            assert all(t.state == OrderState.CONFIRMED.value for t in trades)

            again = Reconciler(rpc=chain.rpc, wallet=chain.wallet, repo=h.repo)
            assert await again.run([]) == []
            assert again.report.unknown_transactions == 0
