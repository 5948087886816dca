"""A bot trading on the real simulator over HTTP/WS, with tokens launched by the test.

The test launches each token itself (a creator wallet sends ``create_v2`` + its own buy
through JSON-RPC), so the moment a token appears is under the test's control, and it
flips the simulator's fault knobs around the bot's sends through a thin wrapper of the
buyer (``before_buy`` / ``after_buy`` hooks). Everything else is the production wiring
of ``app.build_bot``.

Time: the simulator's HTTP and WebSocket servers are real sockets, so these tests run on
small real time (``slot_time`` 0.05 s) rather than MockClock, each under ``fail_after``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from trio_trader.app import Bot, build_bot
from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.transactions import build_transaction
from trio_trader.config import parse_config
from trio_trader.pump import addresses, instructions
from trio_trader.pump.addresses import PUMP_PROGRAM_ID, USDC_MINT
from trio_trader.pump.curve import (
    INITIAL_RESERVES,
    FeeRates,
    Reserves,
    max_sol_cost,
    quote_buy_for_sol,
)
from trio_trader.sim import Faults, SimNode, open_sim
from trio_trader.sim.clients import quoted_create_v2
from trio_trader.store import Repository, TradeRecord, open_repository
from trio_trader.trading.orders import BuyOrder, SellOrder, TradeResult
from trio_trader.trading.platform_aware import BuyStart, PlatformAwareBuyer, PlatformAwareSeller
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

SOL = 1_000_000_000
USDC = 1_000_000  # base units of one USDC

SLOT_TIME = 0.05


@attrs.define(eq=False, kw_only=True)
class HookedBuyer(PlatformAwareBuyer):
    """The production buyer with test hooks around the send (to flip fault knobs)."""

    before: Callable[[], None] | None = None
    after: Callable[[BuyOrder], None] | None = None
    pause: Callable[[TokenInfo], Awaitable[None]] | None = None
    confirm_gate: Callable[[BuyOrder], Awaitable[None]] | None = None

    async def prepare_and_send_order(self, token_info: TokenInfo, **kw: Any) -> BuyOrder:
        if self.pause is not None:
            await self.pause(token_info)
        if self.before is not None:
            self.before()
        order = await super().prepare_and_send_order(token_info, **kw)
        if self.after is not None:
            self.after(order)
        return order

    # The extreme fast BUY, written from the listener's task (``start_order``) and read
    # in the position task (``finish_order``): the same hooks at the same points; a
    # ``pause`` (it waits) keeps such a BUY on the position task's path.

    def sends_at_once(self, token_info: TokenInfo) -> bool:
        return self.pause is None and super().sends_at_once(token_info)

    async def start_order(self, token_info: TokenInfo, start: BuyStart, **kw: Any) -> None:
        if self.before is not None:
            self.before()
        await super().start_order(token_info, start, **kw)

    async def finish_order(self, token_info: TokenInfo, start: BuyStart, **kw: Any) -> BuyOrder:
        order = await super().finish_order(token_info, start, **kw)
        if self.after is not None:
            self.after(order)
        return order

    async def process_order(self, buy_order: BuyOrder) -> TradeResult:
        if self.confirm_gate is not None:
            await self.confirm_gate(buy_order)  # holds the BUY's rebroadcasts back
        return await super().process_order(buy_order)


@attrs.define(eq=False, kw_only=True)
class HookedSeller(PlatformAwareSeller):
    """The production seller with async hooks around each send."""

    before: Callable[[int], Awaitable[None]] | None = None
    after: Callable[[SellOrder], Awaitable[None]] | None = None

    async def prepare_and_send_order(
        self, token_info: TokenInfo, position: Position, **kw: Any
    ) -> SellOrder:
        if self.before is not None:
            await self.before(position.next_sell_attempt)
        order = await super().prepare_and_send_order(token_info, position, **kw)
        if self.after is not None:
            await self.after(order)
        return order

    def front_run_with(
        self, h: Harness, action: Callable[[], Awaitable[None]], attempts: set[int] | None = None
    ) -> None:
        """Hold our SELL back 0.3 s and let ``action`` (e.g. a dump) land before it."""

        async def before(attempt: int) -> None:
            if attempts is None or attempt in attempts:
                h.sim.faults.latency_min = h.sim.faults.latency_max = 0.3

        async def after(order: SellOrder) -> None:
            if h.sim.faults.latency_max:
                h.sim.faults.latency_min = h.sim.faults.latency_max = 0.0
                await action()

        self.before, self.after = before, after


@attrs.define(eq=False, kw_only=True)
class Harness:
    sim: SimNode
    rpc: RpcClient
    repo: Repository
    bot: Bot
    creator: Keypair
    wallet: Keypair
    funding: int
    buyer: HookedBuyer
    seller: HookedSeller
    background: trio.Nursery | None = None  # for tasks a test runs beside the bot
    funding_usdc: int = 0  # USDC base units minted to the bot's wallet at start

    async def launch(
        self,
        name: str = "Test Coin",
        creator_buy_sol: float = 0.5,
        mint: Keypair | None = None,
        *,
        legacy: bool = False,
    ) -> Pubkey:
        """Create a pump coin with the creator's own buy, like a real launch.

        ``create_v2`` (a Token-2022 mint) by default; ``legacy`` uses the older ``create``
        (an SPL Token mint). The trading helpers below assume Token-2022.
        """
        mint = mint or Keypair()
        user = self.creator.pubkey()
        budget = int(creator_buy_sol * SOL)
        quote = quote_buy_for_sol(budget, INITIAL_RESERVES, FeeRates(95, 30))
        program = addresses.TOKEN_PROGRAM_ID if legacy else addresses.TOKEN_2022_PROGRAM_ID
        create = instructions.create if legacy else instructions.create_v2
        ixs = [
            instructions.set_compute_unit_limit(400_000),
            create(mint=mint.pubkey(), user=user, creator=user, name=name, symbol="TST", uri="u"),
            instructions.create_associated_token_account_idempotent(
                payer=user, owner=user, mint=mint.pubkey(), token_program=program,
            ),
            instructions.buy(
                user=user, mint=mint.pubkey(), creator=user, token_program=program,
                fee_recipient=addresses.FEE_RECIPIENTS[0], amount=quote.amount,
                max_sol_cost=max_sol_cost(quote.total, 500),
            ),
        ]  # fmt: skip
        blockhash, _ = await self.rpc.get_latest_blockhash()
        signed = build_transaction(ixs, self.creator, blockhash, [mint])
        await self.rpc.send_transaction(signed.raw)
        return mint.pubkey()

    async def creator_sell(self, mint: Pubkey, fraction: float) -> None:
        """The creator dumps ``fraction`` of its tokens (moves the price down)."""
        user = self.creator.pubkey()
        held = self.sim.ledger.token_balance(user, mint)
        ix = instructions.sell(
            user=user, mint=mint, creator=user, token_program=addresses.TOKEN_2022_PROGRAM_ID,
            fee_recipient=addresses.FEE_RECIPIENTS[0], amount=int(held * fraction),
            min_sol_output=0,
        )  # fmt: skip
        blockhash, _ = await self.rpc.get_latest_blockhash()
        signed = build_transaction([ix], self.creator, blockhash)
        await self.rpc.send_transaction(signed.raw)

    async def creator_send_dust(self, mint: Pubkey, owner: Pubkey, amount: int) -> None:
        """The creator sends ``amount`` base units to ``owner``'s token account."""
        program = addresses.TOKEN_2022_PROGRAM_ID
        user = self.creator.pubkey()
        ix = Instruction(
            program,
            bytes([12]) + amount.to_bytes(8, "little") + bytes([6]),
            [
                AccountMeta(addresses.associated_token_address(user, mint, program), False, True),
                AccountMeta(mint, False, False),
                AccountMeta(addresses.associated_token_address(owner, mint, program), False, True),
                AccountMeta(user, True, False),
            ],
        )
        blockhash, _ = await self.rpc.get_latest_blockhash()
        await self.rpc.send_transaction(build_transaction([ix], self.creator, blockhash).raw)

    async def creator_buy(self, mint: Pubkey, sol: float) -> None:
        """The creator buys more (moves the price up)."""
        user = self.creator.pubkey()
        curve = self.sim.ledger.bonding_curve(mint)
        assert curve is not None
        quote = quote_buy_for_sol(int(sol * SOL), Reserves.of(curve), FeeRates(95, 30))
        ix = instructions.buy(
            user=user, mint=mint, creator=user, token_program=addresses.TOKEN_2022_PROGRAM_ID,
            fee_recipient=addresses.FEE_RECIPIENTS[0], amount=quote.amount,
            max_sol_cost=max_sol_cost(quote.total, 2000),
        )  # fmt: skip
        blockhash, _ = await self.rpc.get_latest_blockhash()
        signed = build_transaction([ix], self.creator, blockhash)
        await self.rpc.send_transaction(signed.raw)

    async def drain_wallet(self, leave: int) -> None:
        """Move all but ``leave`` lamports out of the bot's wallet (another app spending
        from it), e.g. right after a BUY was sent so that it lands and fails. The moved
        lamports and the transfer's fee leave ``funding``: they are not the bot's PnL."""
        user = self.wallet.pubkey()
        fee = 5_000
        amount = self.sim.ledger.balance(user) - leave - fee
        ix = transfer(TransferParams(from_pubkey=user, to_pubkey=self.creator.pubkey(),
                                     lamports=amount))  # fmt: skip
        blockhash, _ = await self.rpc.get_latest_blockhash()
        await self.rpc.send_transaction(build_transaction([ix], self.wallet, blockhash).raw)
        with trio.fail_after(5):
            while self.sim.ledger.balance(user) > leave:
                await trio.sleep(0.01)
        self.funding -= amount + fee

    async def positions(self) -> list[Position]:
        return await self.repo.list_positions()

    async def trades(self, position_id: int | None, side: str) -> list[TradeRecord]:
        """One position's recorded BUY or SELL attempts, in order."""
        return [t for t in await self.repo.list_trades(position_id) if t.side == side]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 20.0) -> None:
        with trio.fail_after(timeout):
            while not await predicate():
                await trio.sleep(0.05)

    async def all_closed(self, count: int) -> bool:
        positions = await self.positions()
        return len(positions) >= count and all(p.is_closed for p in positions)

    async def settled(self, count: int) -> bool:
        """``count`` positions closed and no position task left (every BUY resolved too)."""
        return await self.all_closed(count) and not self.bot.trader.position_tasks

    def wallet_sol_change(self) -> int:
        return self.sim.ledger.balance(self.wallet.pubkey()) - self.funding

    def token_balance(self, mint: Pubkey) -> int:
        return self.sim.ledger.token_balance(self.wallet.pubkey(), mint)

    def wallet_usdc_change(self) -> int:
        return self.token_balance(USDC_MINT) - self.funding_usdc

    async def assert_books_balance(self) -> list[Position]:
        """Closed positions hold no tokens; wallet SOL change == Σ realised PnL and wallet
        USDC change == Σ USDC PnL, exactly (a USDC coin's SOL side is its fees and rent)."""
        positions = await self.positions()
        for p in positions:
            if p.is_closed:
                assert self.token_balance(p.mint) == 0, f"tokens left for closed {p.mint}"
                assert p.realized_pnl_lamports is not None, f"{p.mint} PnL unknown"
                if p.quote_mint is not None:
                    assert p.realized_pnl_quote is not None, f"{p.mint} USDC PnL unknown"
        pnl = sum(p.realized_pnl_lamports or 0 for p in positions)
        assert self.wallet_sol_change() == pnl
        usdc = sum(p.realized_pnl_quote or 0 for p in positions if p.quote_mint == USDC_MINT)
        assert self.wallet_usdc_change() == usdc
        return positions

    async def launch_usdc(self, creator_buy_usdc: int = 0) -> Pubkey:
        """The creator launches a coin quoted in USDC (``create_v2`` + its quote accounts),
        then buys ``creator_buy_usdc`` base units of it with ``buy_v2`` in a second
        transaction (both in one would exceed the size of a transaction)."""
        mint = Keypair()
        user = self.creator.pubkey()
        create = instructions.create_v2(
            mint=mint.pubkey(), user=user, creator=user, name="Dollar", symbol="USDCOIN", uri="u"
        )
        ixs = [instructions.set_compute_unit_limit(400_000), quoted_create_v2(create, USDC_MINT)]
        blockhash, _ = await self.rpc.get_latest_blockhash()
        await self.rpc.send_transaction(build_transaction(ixs, self.creator, blockhash, [mint]).raw)
        if creator_buy_usdc:
            with trio.fail_after(5):
                while self.sim.ledger.bonding_curve(mint.pubkey()) is None:
                    await trio.sleep(0.01)
            await self.creator_buy_v2(mint.pubkey(), creator_buy_usdc)
        return mint.pubkey()

    async def creator_buy_v2(
        self, mint: Pubkey, units: int, *, amount: int = 0, limit: int = 0
    ) -> None:
        """The creator buys ``units`` of the curve's quote worth of a coin with ``buy_v2``
        (or exactly ``amount`` tokens for at most ``limit``)."""
        user = self.creator.pubkey()
        curve = self.sim.ledger.bonding_curve(mint)
        assert curve is not None
        quote = quote_buy_for_sol(units, Reserves.of(curve), FeeRates(95, 30))
        amount = amount or quote.amount
        limit = limit or max_sol_cost(quote.total, 2000)
        program = addresses.TOKEN_2022_PROGRAM_ID
        ixs = [
            instructions.create_associated_token_account_idempotent(
                payer=user, owner=user, mint=mint, token_program=program
            ),
            instructions.buy_v2(
                user=user, mint=mint, creator=user, token_program=program,
                fee_recipient=addresses.FEE_RECIPIENTS[0], quote_mint=curve.quote_mint,
                amount=amount, max_sol_cost=limit,
            ),
        ]  # fmt: skip
        blockhash, _ = await self.rpc.get_latest_blockhash()
        signed = build_transaction(ixs, self.creator, blockhash)
        await self.rpc.send_transaction(signed.raw)
        with trio.fail_after(5):  # landed, and bought: the tests rely on the price move
            while (landed := self.sim.node.transaction(signed.signature)) is None:
                await trio.sleep(0.01)
        assert landed.err is None, landed.logs


def listening(sim: SimNode, besides: Collection[object] = ()) -> bool:
    """A client (the bot's listener) has subscribed to the logs of the pump program, on a
    connection other than ``besides`` (those a test dropped)."""
    return any(
        getattr(sub, "mentions", None) == PUMP_PROGRAM_ID
        for connection in sim.ws_server.connections
        if connection not in besides
        for sub in connection.subs.values()
    )


async def until_listening(sim: SimNode, besides: Collection[object] = ()) -> None:
    """Return once the bot listens: the simulator registers a subscription before it
    answers it, so a coin launched from then on reaches the bot's listener."""
    while not listening(sim, besides):
        await trio.sleep(0.01)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    config: dict[str, Any] | None = None,
    faults: Faults | None = None,
    funding: int = 10 * SOL,
    db: Path | None = None,
    wallet: Keypair | None = None,
    start: bool = True,
    slot_time: float = SLOT_TIME,
    funds_check: bool = True,
    funding_usdc: int = 0,
    send_endpoints: Callable[[str], list[str]] | None = None,
) -> AsyncIterator[Harness]:
    """A simulator (no background market), a funded wallet and a running bot.

    ``send_endpoints``: the client's send endpoints, given the simulator's RPC URL (a
    fan-out: ``rpc.send_endpoints``); none by default."""
    creator = Keypair()
    wallet = wallet or Keypair()
    settings: dict[str, Any] = {
        "trade": {"buy_amount_sol": "0.1", "max_active_mints": 100, "rebroadcast_interval": 0.2},
        "exits": {"tick_interval": 0.1},
        "priority_fee": {"fixed_micro_lamports": 1_000},
    }
    for section, values in (config or {}).items():
        settings.setdefault(section, {}).update(values)
    cfg = parse_config(settings, env={})
    async with (
        open_sim(
            None,
            seed=7,
            slot_time=slot_time,
            faults=faults or Faults(),
            fund={creator.pubkey(): 1_000 * SOL, wallet.pubkey(): funding},
            fund_usdc={creator.pubkey(): 1_000_000 * USDC, wallet.pubkey(): funding_usdc}
            if funding_usdc
            else None,
        ) as sim,
        RpcClient(
            (sim.rpc_url,),
            send_endpoints=send_endpoints(sim.rpc_url) if send_endpoints else (),
        ) as rpc,  # type: ignore[arg-type]
        open_repository(db or tmp_path / "bot.db") as repo,
    ):
        bot = await build_bot(cfg, rpc=rpc, keypair=wallet, repo=repo, ws_url=sim.ws_url)
        old = bot.trader.buyer
        buyer = HookedBuyer(
            chain=old.chain, amount_lamports=old.amount_lamports, slippage_bps=old.slippage_bps,
            extreme_fast_mode=old.extreme_fast_mode,
            extreme_fast_token_amount=old.extreme_fast_token_amount,
            max_cost_lamports=old.max_cost_lamports, quote_budgets=old.quote_budgets,
            buys_sol_coins=old.buys_sol_coins,
        )  # fmt: skip
        bot.trader.buyer = buyer
        seller = HookedSeller(
            chain=old.chain,
            slippage_bps=bot.trader.seller.slippage_bps,
            close_token_account=bot.trader.seller.close_token_account,
        )
        bot.trader.seller = seller
        if not funds_check:
            bot.trader.funds = None  # let BUYs the wallet cannot pay reach the chain
        async with trio.open_nursery() as nursery:
            harness = Harness(
                sim=sim, rpc=rpc, repo=repo, bot=bot, creator=creator, wallet=wallet,
                funding=funding, buyer=buyer, seller=seller, background=nursery,
                funding_usdc=funding_usdc,
            )  # fmt: skip
            if start:
                await nursery.start(bot.trader.run)
            yield harness
            nursery.cancel_scope.cancel()


#: the restart tests' settings: a quick timed exit, fast rebroadcasts
RECOVERY_CONFIG: dict[str, Any] = {
    "exits": {"sell_after": 0.5, "tick_interval": 0.1},
    "trade": {"rebroadcast_interval": 0.2},
}


class Crash(BaseException):
    """The process dies here: no handler of the bot runs, not even a shielded save."""


def crash_after_buy_sent(h: Harness) -> list[BuyOrder]:
    """The process dies right after the BUY's send: the list gets that BUY."""
    sent: list[BuyOrder] = []

    def die(order: BuyOrder) -> None:
        sent.append(order)
        raise Crash

    h.buyer.after = die
    return sent


async def crash_first_run(h: Harness, launch: Callable[[], Awaitable[Any]] | None = None) -> None:
    """Run the harness's bot until a hook raises ``Crash`` (``launch``: the coin it sees,
    ``h.launch`` by default)."""
    try:
        async with trio.open_nursery() as first:
            await first.start(h.bot.trader.run)
            await (launch or h.launch)()
            await trio.sleep_forever()
    except* Crash:
        pass
