"""A seeded, reproducible pump.fun market running inside the simulated node.

The market funds its own wallets, then creators launch tokens and traders trade them, all
as Trio tasks on Trio time, each action a real signed transaction built with
``pump.instructions`` and submitted through ``Node.submit`` — the same bytes a bot on
mainnet would send, so the ledger checks every account, charges every fee and emits real
events.

Why the same seed gives the same ledger, although Trio deliberately shuffles the order in
which tasks that wake at the same instant run:

* every actor (the launcher, each trader on each token, each creator script, each whale)
  draws from its own ``random.Random`` derived from the seed and a label that names the
  actor, so what an actor does never depends on how other actors' draws interleave;
* every action happens at a time drawn from a continuous distribution, so no two actors
  wake at the same instant (nor at a slot boundary, which sits on a 0.4 s grid), and an
  action — read the curve, quote, build, submit — is synchronous, so it sees the ledger
  exactly as the previous action left it;
* the node lands transactions in the order of their landing times from one task.

So the ledger's history is a function of (scenario, seed), which the acceptance test
checks by running the scripted scenario twice and comparing :meth:`Market.summary`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import trio
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

from trio_trader.pump import instructions as ixs
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Global
from trio_trader.pump.addresses import (
    BUYBACK_FEE_RECIPIENTS,
    FEE_CONFIG,
    FEE_RECIPIENTS,
    GLOBAL,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    USDC_MINT,
    ZERO_KEY,
    associated_token_address,
    bonding_curve_pda,
)
from trio_trader.pump.amm.events import CreatePoolEvent
from trio_trader.pump.curve import (
    INITIAL_RESERVES,
    TOKEN_TOTAL_SUPPLY,
    FeeRates,
    Reserves,
    apply_buy,
    fee_rates,
    max_sol_cost,
    min_sol_output,
    quote_buy,
    quote_buy_for_sol,
    quote_sell,
)
from trio_trader.pump.events import CompleteEvent, DecodeError
from trio_trader.sim._market_pool import (
    MIGRATE_COMPUTE_UNITS,
    POOL_COMPUTE_UNITS,
    PoolView,
    curve_trade_ix,
    migrate_ixs,
    pool_buy_ixs,
    pool_sell_ixs,
)
from trio_trader.sim.clients import quoted_create_v2
from trio_trader.sim.node import Node, SendError
from trio_trader.sim.scenario import Profile, Range, Scenario

__all__ = ["LaunchedToken", "Market", "MarketStats", "MarketSummary", "run_market"]

log = logging.getLogger(__name__)

FEE_RESERVE_LAMPORTS = 20_000_000
"""Kept back from every buy budget: transaction fees, ATA and volume-accumulator rent."""
CREATE_COMPUTE_UNITS = 500_000
"""Create + ATA + buy, as the SDK README budgets it."""
SCRIPT_RETRY = Range(0.4, 1.2)
SCRIPT_ATTEMPTS = 10
MIGRATE_RETRY = Range(1.0, 2.0)
"""Between migrate attempts: long enough for the previous one to land (2-5 slots)."""
MIGRATOR_FUNDING = 10 * 1_000_000_000

_ADJECTIVES = ("Based", "Giga", "Tiny", "Moon", "Dark", "Happy", "Turbo", "Lazy", "Shiny", "Wild")
_NOUNS = ("Frog", "Cat", "Doge", "Pepe", "Whale", "Rocket", "Banana", "Wizard", "Goblin", "Ape")


@attrs.define(eq=False)
class MarketStats:
    """What the market did, counted as submissions settle (see :meth:`Market.settle`).

    ``trades_*`` count every buy/sell transaction of traders, creators and whales;
    creates (which carry the creator's first buy) are counted apart.
    """

    launches_submitted: int = 0
    tokens_created: int = 0
    creates_failed: int = 0
    trades_submitted: int = 0
    buys_submitted: int = 0
    sells_submitted: int = 0
    trades_landed: int = 0
    trades_failed: int = 0
    dropped: int = 0
    send_errors: int = 0
    curves_completed: int = 0
    migrations_submitted: int = 0
    pools_created: int = 0
    pool_buys_submitted: int = 0
    pool_sells_submitted: int = 0


@attrs.frozen
class MarketSummary:
    """The ledger as the market left it: equal for two runs with the same seed."""

    sol_balances: dict[str, int]
    token_balances: dict[tuple[str, str], int]
    tokens_created: int
    trades_landed: int
    trades_failed: int
    dropped: int
    send_errors: int


@attrs.define(eq=False)
class LaunchedToken:
    """A token the market launched, and the wallets that may hold it."""

    index: int
    mint: Pubkey
    creator: Pubkey
    token_program: Pubkey
    profile: Profile
    launched_at: float
    participants: set[Pubkey] = attrs.field(factory=set)
    quote_mint: Pubkey = ZERO_KEY  # the curve's: the zero key for SOL, else USDC
    bundlers: list[Pubkey] = attrs.field(factory=list)  # wallets that bought in the create's slot

    @property
    def quoted_in_token(self) -> bool:
        return self.quote_mint != ZERO_KEY


@attrs.frozen
class _Pending:
    kind: str  # "create" | "trade"
    last_valid_block_height: int


def _uniform(rng: random.Random, bounds: Range[Any]) -> float:
    return rng.uniform(bounds.min, bounds.max)


def _randint(rng: random.Random, bounds: Range[Any]) -> int:
    return rng.randint(int(bounds.min), int(bounds.max))


@contextlib.contextmanager
def _survive(token: LaunchedToken) -> Iterator[None]:
    """Skip one action the curve math refuses (odd curve state) instead of ending the run."""
    try:
        yield
    except ValueError as exc:
        log.warning("market action on %s skipped: %s", token.mint, exc)


def _scaled(amount: int, fraction: float) -> int:
    """``amount · fraction`` in integers (fraction to 1e-6), exact for fraction 1."""
    return amount * round(fraction * 1_000_000) // 1_000_000


@attrs.define(eq=False)
class Market:
    """The market's wallets, tokens and counters; :meth:`run` drives it.

    Args:
        node: the simulated node; its ``ledger`` is read for curve state and balances.
        scenario: what to simulate.
        seed: every random choice (wallets, launches, trades) derives from it.
    """

    node: Node
    scenario: Scenario
    seed: int
    stats: MarketStats = attrs.field(init=False, factory=MarketStats)
    tokens: list[LaunchedToken] = attrs.field(init=False, factory=list)
    creators: list[Pubkey] = attrs.field(init=False, factory=list)
    traders: list[Pubkey] = attrs.field(init=False, factory=list)
    whales: list[Pubkey] = attrs.field(init=False, factory=list)
    _keys: dict[Pubkey, Keypair] = attrs.field(init=False, factory=dict, repr=False)
    _pending: dict[Signature, _Pending] = attrs.field(init=False, factory=dict, repr=False)
    _global: Global | None = attrs.field(init=False, default=None, repr=False)
    _fee_config: FeeConfig | None = attrs.field(init=False, default=None, repr=False)
    migrator: Pubkey = attrs.field(init=False)
    _graduates: trio.MemorySendChannel[Pubkey] | None = attrs.field(
        init=False, default=None, repr=False
    )

    def __attrs_post_init__(self) -> None:
        wallets = self.scenario.wallets
        self.creators = [self._make_wallet("creator", i) for i in range(wallets.creators)]
        self.traders = [self._make_wallet("trader", i) for i in range(wallets.traders)]
        self.whales = [self._make_wallet("whale", i) for i in range(wallets.whales)]
        self.migrator = self._make_wallet("migrator", 0)

    # ------------------------------------------------------------------ setup
    def _rng(self, *labels: object) -> random.Random:
        """An actor's own generator: a string seed is hashed (sha512), so it is stable."""
        return random.Random("/".join(["trio-trader-market", str(self.seed), *map(str, labels)]))

    def _make_wallet(self, role: str, index: int) -> Pubkey:
        keypair = Keypair.from_seed(self._rng("wallet", role, index).randbytes(32))
        self._keys[keypair.pubkey()] = keypair
        return keypair.pubkey()

    @property
    def wallets(self) -> list[Pubkey]:
        """Every wallet the market funded: creators, traders, whales."""
        return [*self.creators, *self.traders, *self.whales]

    def fund(self) -> None:
        """Airdrop every wallet its scenario funding and read the program's settings."""
        wallets = self.scenario.wallets
        for pubkeys, lamports in (
            (self.creators, wallets.creator_funding_sol),
            (self.traders, wallets.trader_funding_sol),
            (self.whales, wallets.whale_funding_sol),
        ):
            for pubkey in pubkeys:
                self.node.ledger.airdrop(pubkey, lamports)
                if self.scenario.launches.usdc_share > 0:
                    self.node.ledger.mint_quote_tokens(pubkey, lamports)
        self.node.ledger.airdrop(self.migrator, MIGRATOR_FUNDING)
        self._global = self._decode(GLOBAL, Global.decode)
        self._fee_config = self._decode(FEE_CONFIG, FeeConfig.decode)

    def _decode(self, pubkey: Pubkey, decode: Any) -> Any:
        account = self.node.ledger.get_account(pubkey)
        if account is None:
            log.warning("ledger has no %s account; using default fees", pubkey)
            return None
        return decode(bytes(account.data))

    # -------------------------------------------------------------------- run
    async def run(self, *, task_status: trio.TaskStatus[Market] = trio.TASK_STATUS_IGNORED) -> None:
        """Fund the wallets, then launch and trade until cancelled."""
        self.fund()
        async with trio.open_nursery() as nursery:
            if self.scenario.graduation.migrate:
                send, receive = trio.open_memory_channel[Pubkey](float("inf"))
                self._graduates = send
                nursery.start_soon(self._migrator, receive)
            nursery.start_soon(self._settle_loop)
            if self.scenario.launches.rate_per_second > 0:
                nursery.start_soon(self._launcher, nursery)
            task_status.started(self)

    async def _settle_loop(self) -> None:
        """Settle once per slot, half a slot off the node's slot boundaries."""
        start = trio.current_time() + self.scenario.slot_time / 2
        for tick in itertools.count():
            await trio.sleep_until(start + tick * self.scenario.slot_time)
            self.settle()

    @property
    def in_flight(self) -> int:
        """Submissions not yet landed nor expired."""
        return len(self._pending)

    def settle(self) -> None:
        """Count submissions that landed, failed, or expired without landing."""
        for signature, pending in list(self._pending.items()):
            executed = self.node.transaction(signature)
            if executed is not None:
                del self._pending[signature]
                self._count_outcome(pending.kind, executed)
            elif self.node.block_height > pending.last_valid_block_height:
                del self._pending[signature]
                self.stats.dropped += 1

    def _count_outcome(self, kind: str, executed: Any) -> None:
        ok = executed.err is None
        if kind == "create":
            if ok:
                self.stats.tokens_created += 1
            else:
                self.stats.creates_failed += 1
        elif kind == "migrate":
            pass  # counted by its CreatePoolEvent below
        elif ok:
            self.stats.trades_landed += 1
        else:
            self.stats.trades_failed += 1
        events = getattr(executed, "events", ()) if ok else ()
        for event in events:
            if isinstance(event, CompleteEvent):
                self.stats.curves_completed += 1
                if self._graduates is not None:
                    self._graduates.send_nowait(event.mint)
            elif isinstance(event, CreatePoolEvent):
                self.stats.pools_created += 1

    def summary(self) -> MarketSummary:
        """Every funded wallet's SOL and token balances, and the settled counters."""
        self.settle()
        ledger = self.node.ledger
        tokens: dict[tuple[str, str], int] = {}
        for token in self.tokens:
            for owner in sorted(token.participants, key=bytes):
                tokens[(str(owner), str(token.mint))] = self.holding(owner, token)
        return MarketSummary(
            sol_balances={str(w): ledger.balance(w) for w in self.wallets},
            token_balances=tokens,
            tokens_created=self.stats.tokens_created,
            trades_landed=self.stats.trades_landed,
            trades_failed=self.stats.trades_failed,
            dropped=self.stats.dropped,
            send_errors=self.stats.send_errors,
        )

    # --------------------------------------------------------- transactions
    def _submit(
        self,
        kind: str,
        instructions: Sequence[Instruction],
        payer: Pubkey,
        rng: random.Random,
        *,
        units: int | None = None,
        extra_signers: Sequence[Keypair] = (),
    ) -> Signature | None:
        raw, last_valid = self._sign(instructions, payer, rng, units, extra_signers)
        try:
            signature = self.node.submit(raw)
        except SendError as exc:
            self.stats.send_errors += 1
            log.debug("market %s refused: %s", kind, exc.message)
            return None
        self._track(kind, signature, last_valid, rng)
        return signature

    def _sign(
        self,
        instructions: Sequence[Instruction],
        payer: Pubkey,
        rng: random.Random,
        units: int | None = None,
        extra_signers: Sequence[Keypair] = (),
    ) -> tuple[bytes, int]:
        """A signed transaction with the scenario's compute budget, and its last valid height."""
        fees = self.scenario.priority_fees
        price = rng.choices(fees.micro_lamports, weights=fees.weights)[0]
        budget = [ixs.set_compute_unit_limit(units or fees.compute_unit_limit)]
        if price:
            budget.append(ixs.set_compute_unit_price(price))
        blockhash, last_valid = self.node.latest_blockhash()
        signers = [self._keys[payer], *extra_signers]
        tx = Transaction.new_signed_with_payer([*budget, *instructions], payer, signers, blockhash)
        return bytes(tx), last_valid

    def _track(self, kind: str, signature: Signature, last_valid: int, rng: random.Random) -> None:
        self._pending[signature] = _Pending(kind, last_valid)
        rate = self.node.faults.version1_rate
        if rate > 0 and rng.random() < rate:  # no draw at 0: seeded runs stay as they were
            self.node.mark_version(signature, 1)

    def _read_curve(self, mint: Pubkey) -> BondingCurve | None:
        """The curve as the ledger has it now; None before the create lands."""
        account = self.node.ledger.get_account(bonding_curve_pda(mint))
        if account is None:
            return None
        try:
            return BondingCurve.decode(bytes(account.data))
        except DecodeError as exc:
            log.warning("unreadable bonding curve of %s: %s", mint, exc)
            return None

    def holding(self, owner: Pubkey, token: LaunchedToken) -> int:
        """Tokens in ``owner``'s associated account for the token (the market uses no other).

        Read straight from the account (amount at offset 64 of an SPL / Token-2022
        account) rather than through ``Ledger.token_balance``, which scans every token
        account on the ledger and would make each trade cost O(all accounts).
        """
        address = associated_token_address(owner, token.mint, token.token_program)
        account = self.node.ledger.get_account(address)
        if account is None or len(account.data) < 72:
            return 0
        return int.from_bytes(bytes(account.data)[64:72], "little")

    def _rates(self, curve: BondingCurve) -> FeeRates:
        return fee_rates(curve, self._global, self._fee_config)

    def _fee_recipient(self, rng: random.Random) -> Pubkey:
        """A random normal recipient, as the SDK picks one per transaction."""
        return rng.choice(self._global.all_fee_recipients() if self._global else FEE_RECIPIENTS)

    def _buyback_recipient(self, rng: random.Random) -> Pubkey:
        global_ = self._global
        return rng.choice((global_ and global_.buyback_fee_recipients) or BUYBACK_FEE_RECIPIENTS)

    def buy(
        self, token: LaunchedToken, user: Pubkey, budget: int, slippage_bps: int, rng: random.Random
    ) -> Signature | None:
        """Buy as many tokens as ``budget`` lamports (fees included) pays for now."""
        curve = self._read_curve(token.mint)
        if curve is None or curve.complete:
            return None
        if self.node.ledger.balance(user) < FEE_RESERVE_LAMPORTS:
            return None
        available = self._quote_balance(user, token) - (
            0 if token.quoted_in_token else FEE_RESERVE_LAMPORTS
        )
        budget = min(budget, available)
        if budget <= 0:
            return None
        quote = quote_buy_for_sol(budget, Reserves.of(curve), self._rates(curve))
        if quote.amount <= 0:
            return None
        return self._buy_exact(token, user, curve, quote.amount, quote.total, slippage_bps, rng)

    def _buy_exact(
        self,
        token: LaunchedToken,
        user: Pubkey,
        curve: BondingCurve,
        amount: int,
        total: int,
        slippage_bps: int,
        rng: random.Random,
    ) -> Signature | None:
        token.participants.add(user)
        instructions = [
            ixs.create_associated_token_account_idempotent(
                payer=user, owner=user, mint=token.mint, token_program=token.token_program
            ),
            self._trade_ix(
                token, user, curve, amount, max_sol_cost(total, slippage_bps), rng, is_buy=True
            ),
        ]
        self.stats.trades_submitted += 1
        self.stats.buys_submitted += 1
        return self._submit("trade", instructions, user, rng)

    def sell(
        self,
        token: LaunchedToken,
        user: Pubkey,
        fraction: float,
        slippage_bps: int,
        rng: random.Random,
    ) -> Signature | None:
        """Sell ``fraction`` of what ``user`` holds of the token (1.0 = everything)."""
        curve = self._read_curve(token.mint)
        if curve is None or curve.complete:
            return None
        amount = _scaled(self.holding(user, token), fraction)
        if amount <= 0:
            return None
        quote = quote_sell(amount, Reserves.of(curve), self._rates(curve))
        min_out = min_sol_output(quote.net, min(slippage_bps, 10_000))
        instruction = self._trade_ix(token, user, curve, amount, min_out, rng, is_buy=False)
        self.stats.trades_submitted += 1
        self.stats.sells_submitted += 1
        return self._submit("trade", [instruction], user, rng)

    def _trade_ix(
        self,
        token: LaunchedToken,
        user: Pubkey,
        curve: BondingCurve,
        amount: int,
        limit: int,
        rng: random.Random,
        *,
        is_buy: bool,
    ) -> Instruction:
        """Legacy ``buy`` / ``sell`` for a SOL curve, the v2 ones in its quote mint
        otherwise; draws the fee recipient, then the buyback recipient."""
        return curve_trade_ix(
            curve,
            v2=token.quoted_in_token,
            is_buy=is_buy,
            user=user,
            mint=token.mint,
            token_program=token.token_program,
            fee_recipient=self._fee_recipient(rng),
            buyback=self._buyback_recipient(rng),
            amount=amount,
            limit=limit,
        )

    def _quote_balance(self, user: Pubkey, token: LaunchedToken) -> int:
        """What ``user`` can pay with: lamports, or units of the coin's quote token."""
        if not token.quoted_in_token:
            return self.node.ledger.balance(user)
        address = associated_token_address(user, token.quote_mint, TOKEN_PROGRAM_ID)
        account = self.node.ledger.get_account(address)
        if account is None or len(account.data) < 72:
            return 0
        return int.from_bytes(bytes(account.data)[64:72], "little")

    # ----------------------------------------------------------- the pool
    def pool_buy(
        self, token: LaunchedToken, user: Pubkey, budget: int, slippage_bps: int, rng: random.Random
    ) -> Signature | None:
        """Buy on the token's PumpSwap pool with ``budget`` lamports (fees included)."""
        view = PoolView.read(self.node.ledger, token.mint)
        if view is None:
            return None
        budget = min(budget, self.node.ledger.balance(user) - 2 * FEE_RESERVE_LAMPORTS)
        if budget <= 0:
            return None
        built = pool_buy_ixs(
            view,
            user=user,
            token_program=token.token_program,
            budget=budget,
            slippage_bps=slippage_bps,
            rng=rng,
            ledger=self.node.ledger,
        )
        if built is None:
            return None
        token.participants.add(user)
        self.stats.trades_submitted += 1
        self.stats.pool_buys_submitted += 1
        return self._submit("trade", built[0], user, rng, units=POOL_COMPUTE_UNITS)

    def pool_sell(
        self,
        token: LaunchedToken,
        user: Pubkey,
        fraction: float,
        slippage_bps: int,
        rng: random.Random,
    ) -> Signature | None:
        """Sell ``fraction`` of ``user``'s tokens on the token's PumpSwap pool."""
        view = PoolView.read(self.node.ledger, token.mint)
        amount = _scaled(self.holding(user, token), fraction)
        if view is None or amount <= 0:
            return None
        instructions = pool_sell_ixs(
            view,
            user=user,
            token_program=token.token_program,
            amount=amount,
            slippage_bps=slippage_bps,
            rng=rng,
            ledger=self.node.ledger,
        )
        self.stats.trades_submitted += 1
        self.stats.pool_sells_submitted += 1
        return self._submit("trade", instructions, user, rng, units=POOL_COMPUTE_UNITS)

    async def _migrator(self, receive: trio.MemoryReceiveChannel[Pubkey]) -> None:
        """Migrate every completed curve, as pump's migration service does (``migrate``,
        or ``migrate_v2`` for a curve quoted in USDC)."""
        by_mint = {}
        async with trio.open_nursery() as nursery, receive:
            async for mint in receive:
                by_mint.update({t.mint: t for t in self.tokens})
                token = by_mint.get(mint)
                if token is None:
                    continue
                nursery.start_soon(self._migrate, token, self._rng("migrate", token.index))

    async def _migrate(self, token: LaunchedToken, rng: random.Random) -> None:
        await trio.sleep(_uniform(rng, self.scenario.graduation.migrate_after))
        for _attempt in range(SCRIPT_ATTEMPTS):
            quote = token.quote_mint if token.quoted_in_token else None
            if self.node.ledger.pool(token.mint, quote) is not None or self._global is None:
                return
            instructions = migrate_ixs(
                self.migrator, token.mint, token.token_program, self._global, token.quote_mint
            )
            self.stats.migrations_submitted += 1
            self._submit("migrate", instructions, self.migrator, rng, units=MIGRATE_COMPUTE_UNITS)
            await trio.sleep(_uniform(rng, MIGRATE_RETRY))

    # ---------------------------------------------------------------- actors
    async def _launcher(self, nursery: trio.Nursery) -> None:
        """Launch tokens as a Poisson process: exponential gaps between launches."""
        launches = self.scenario.launches
        rng = self._rng("launcher")
        index = 0
        while launches.max_tokens is None or index < launches.max_tokens:
            await trio.sleep(rng.expovariate(launches.rate_per_second))
            token = self.launch(index, self._rng("token", index))
            index += 1
            if token is not None and self.creators:
                nursery.start_soon(self._token_life, token, self._rng("token", token.index, "life"))

    def launch(self, index: int, rng: random.Random) -> LaunchedToken | None:
        """Submit one create (or create_v2) with the creator's first buy in the same tx."""
        if not self.creators:
            return None
        launches = self.scenario.launches
        creator = rng.choice(self.creators)
        profile = rng.choices(self.scenario.profiles, [p.weight for p in self.scenario.profiles])[0]
        v2 = rng.random() < launches.create_v2_share
        # no draw at 0: seeded runs of scenarios without USDC coins stay as they were
        usdc = v2 and launches.usdc_share > 0 and rng.random() < launches.usdc_share
        mint_key = Keypair.from_seed(rng.randbytes(32))
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {index}"
        symbol = "".join(word[:2] for word in name.split()[:2]).upper() + str(index)
        token = LaunchedToken(
            index=index,
            mint=mint_key.pubkey(),
            creator=creator,
            token_program=TOKEN_2022_PROGRAM_ID if v2 else TOKEN_PROGRAM_ID,
            profile=profile,
            launched_at=trio.current_time(),
            participants={creator},
            quote_mint=USDC_MINT if usdc else ZERO_KEY,
        )
        builder = ixs.create_v2 if v2 else ixs.create
        create = builder(
            mint=token.mint,
            user=creator,
            creator=creator,
            name=name,
            symbol=symbol,
            uri=f"https://sim.invalid/token/{index}.json",
        )
        if usdc:
            create = quoted_create_v2(create, USDC_MINT)
        first_buy, reserves = self._initial_buy(token, _randint(rng, launches.initial_buy_sol), rng)
        # create_v2 + buy_v2 with their quote accounts exceed 1,232 bytes without lookup
        # tables: a USDC coin's first buy follows in its own transaction
        instructions = [create] if usdc else [create, *first_buy]
        self.tokens.append(token)
        self.stats.launches_submitted += 1
        if profile.bundle_buys.max > 0 and not usdc:
            self._launch_bundle(token, instructions, mint_key, reserves, rng)
        else:
            self._submit(
                "create",
                instructions,
                creator,
                rng,
                units=CREATE_COMPUTE_UNITS,
                extra_signers=[mint_key],
            )
        if usdc and first_buy:
            self.stats.trades_submitted += 1
            self.stats.buys_submitted += 1
            self._submit("trade", first_buy, creator, rng)
        log.debug("launched #%d %s (%s) by %s", index, token.mint, profile.kind, creator)
        return token

    def _launch_bundle(
        self,
        token: LaunchedToken,
        create: list[Instruction],
        mint_key: Keypair,
        reserves: Reserves,
        rng: random.Random,
    ) -> None:
        """The create and other wallets' buys in one bundle: they all land in its slot.

        As on mainnet, where a launch's own wallets (or paid bundlers) buy in the creation
        slot before any sniper can: each buy is quoted on the curve the previous ones
        leave, and every bundler later dumps (``early_dump_after``).
        """
        profile = token.profile
        bundle_rng = self._rng("token", token.index, "bundle")
        count = min(_randint(bundle_rng, profile.bundle_buys), len(self.traders))
        raw, last_valid = self._sign(
            create, token.creator, rng, CREATE_COMPUTE_UNITS, extra_signers=[mint_key]
        )
        bundle, kinds = [raw], ["create"]
        curve = self._fresh_curve(token)
        rates = self._rates(curve)
        for wallet in bundle_rng.sample(self.traders, count):
            quote = quote_buy_for_sol(_randint(bundle_rng, profile.early_buy_sol), reserves, rates)
            if quote.amount <= 0:
                break
            limit = max_sol_cost(quote.total, profile.slippage_bps)
            instructions = [
                ixs.create_associated_token_account_idempotent(
                    payer=wallet, owner=wallet, mint=token.mint, token_program=token.token_program
                ),
                self._trade_ix(token, wallet, curve, quote.amount, limit, bundle_rng, is_buy=True),
            ]
            bundle.append(self._sign(instructions, wallet, bundle_rng)[0])
            kinds.append("trade")
            reserves = apply_buy(reserves, quote)
            token.participants.add(wallet)
            token.bundlers.append(wallet)
            self.stats.trades_submitted += 1
            self.stats.buys_submitted += 1
        try:
            signatures = self.node.submit_bundle(bundle)
        except SendError as exc:
            self.stats.send_errors += 1
            log.debug("market bundle refused: %s", exc.message)
            return
        for kind, signature in zip(kinds, signatures, strict=True):
            self._track(kind, signature, last_valid, bundle_rng)

    def _fresh_curve(self, token: LaunchedToken) -> BondingCurve:
        """The curve the create instruction is about to write."""
        reserves = self._fresh_reserves(token)
        return BondingCurve(
            virtual_token_reserves=reserves.virtual_token,
            virtual_sol_reserves=reserves.virtual_sol,
            real_token_reserves=reserves.real_token,
            real_sol_reserves=0,
            token_total_supply=TOKEN_TOTAL_SUPPLY,
            complete=False,
            creator=token.creator,
            quote_mint=token.quote_mint,
        )

    def _fresh_reserves(self, token: LaunchedToken) -> Reserves:
        if self._global is None:
            return INITIAL_RESERVES
        virtual_quote = self._global.initial_virtual_sol_reserves
        if token.quoted_in_token:
            virtual_quote = self._global.initial_virtual_quote_reserves or virtual_quote
        return Reserves(
            virtual_quote,
            self._global.initial_virtual_token_reserves,
            0,
            self._global.initial_real_token_reserves,
        )

    def _initial_buy(
        self, token: LaunchedToken, budget: int, rng: random.Random
    ) -> tuple[list[Instruction], Reserves]:
        """The creator's buy on the fresh curve the create instruction is about to write,
        and the curve's reserves after it."""
        reserves = self._fresh_reserves(token)
        fresh = self._fresh_curve(token)
        quote = quote_buy_for_sol(budget, reserves, self._rates(fresh))
        if quote.amount <= 0:
            return [], reserves
        limit = max_sol_cost(quote.total, 100)
        return [
            ixs.create_associated_token_account_idempotent(
                payer=token.creator,
                owner=token.creator,
                mint=token.mint,
                token_program=token.token_program,
            ),
            self._trade_ix(token, token.creator, fresh, quote.amount, limit, rng, is_buy=True),
        ], apply_buy(reserves, quote)

    async def _token_life(self, token: LaunchedToken, rng: random.Random) -> None:
        """Everything that happens to one token, for its profile's lifetime."""
        profile = token.profile
        pump_end = token.launched_at + _uniform(rng, profile.pump_seconds)
        count = min(_randint(rng, profile.traders), len(self.traders))
        chosen = rng.sample(self.traders, count)
        with trio.move_on_after(_uniform(rng, profile.lifetime)):
            async with trio.open_nursery() as nursery:
                for k, trader in enumerate(chosen):
                    actor_rng = self._rng("token", token.index, "trader", k)
                    nursery.start_soon(self._trader, token, trader, pump_end, actor_rng)
                self._start_early_buyers(nursery, token, set(chosen))
                script_rng = self._rng("token", token.index, "script")
                if profile.kind == "instant_rug":
                    delay = _uniform(script_rng, profile.rug_after)
                    nursery.start_soon(self._creator_dump, token, delay, script_rng)
                elif profile.kind == "pump_dump":
                    delay = pump_end - trio.current_time() + script_rng.uniform(0.0, 1.0)
                    nursery.start_soon(self._creator_dump, token, delay, script_rng)
                elif profile.kind == "curve_complete" and self.whales:
                    nursery.start_soon(self._whale, token, script_rng)

    def _start_early_buyers(
        self, nursery: trio.Nursery, token: LaunchedToken, busy: set[Pubkey]
    ) -> None:
        """Snipers buying in the slots after the create, and every early buyer's dump."""
        profile = token.profile
        for k, wallet in enumerate(token.bundlers):
            rng = self._rng("token", token.index, "bundler", k)
            nursery.start_soon(self._early_dump, token, wallet, rng)
        if profile.snipers.max <= 0:
            return
        rng = self._rng("token", token.index, "snipers")
        idle = [w for w in self.traders if w not in busy and w not in token.bundlers]
        for k, wallet in enumerate(
            rng.sample(idle, min(_randint(rng, profile.snipers), len(idle)))
        ):
            nursery.start_soon(
                self._sniper, token, wallet, self._rng("token", token.index, "sniper", k)
            )

    async def _sniper(self, token: LaunchedToken, user: Pubkey, rng: random.Random) -> None:
        """Buy a few hundred milliseconds after the launch, then dump like a bundler."""
        profile = token.profile
        await trio.sleep_until(token.launched_at + _uniform(rng, profile.sniper_delay))
        for _attempt in range(SCRIPT_ATTEMPTS):
            if self._read_curve(token.mint) is not None:
                with _survive(token):
                    self.buy(token, user, _randint(rng, profile.early_buy_sol), 3_000, rng)
                break
            await trio.sleep(self.scenario.slot_time / 2)  # the create has not landed yet
        await self._early_dump(token, user, rng)

    async def _early_dump(self, token: LaunchedToken, user: Pubkey, rng: random.Random) -> None:
        """Sell everything ``early_dump_after`` seconds after the launch."""
        await trio.sleep_until(token.launched_at + _uniform(rng, token.profile.early_dump_after))
        for _attempt in range(SCRIPT_ATTEMPTS):
            if self.holding(user, token) > 0:
                with _survive(token):
                    self.sell(token, user, 1.0, 10_000, rng)
                return
            await trio.sleep(_uniform(rng, SCRIPT_RETRY))  # the buy may still be in flight

    async def _trader(
        self, token: LaunchedToken, user: Pubkey, pump_end: float, rng: random.Random
    ) -> None:
        """A random walk on one token; in ``pump_dump`` a buying spree, then one dump."""
        profile = token.profile
        while True:
            await trio.sleep(_uniform(rng, profile.trade_interval))
            curve = self._read_curve(token.mint)
            if curve is None:
                continue  # the create has not landed yet
            if curve.complete:
                if not self._trades_on_pool(token):
                    return
                with _survive(token):
                    self._pool_step(token, user, rng)
                continue
            p_buy = profile.buy_probability
            if profile.kind == "pump_dump":
                if trio.current_time() >= pump_end:
                    with _survive(token):
                        self.sell(token, user, 1.0, profile.slippage_bps, rng)
                    return
                p_buy = profile.pump_buy_probability
            with _survive(token):
                if rng.random() < p_buy or self.holding(user, token) == 0:
                    budget = _randint(rng, profile.buy_sol)
                    self.buy(token, user, budget, profile.slippage_bps, rng)
                else:
                    fraction = _uniform(rng, profile.sell_fraction)
                    self.sell(token, user, fraction, profile.slippage_bps, rng)

    def _trades_on_pool(self, token: LaunchedToken) -> bool:
        graduation = self.scenario.graduation
        return graduation.migrate and graduation.pool_trading and not token.quoted_in_token

    def _pool_step(self, token: LaunchedToken, user: Pubkey, rng: random.Random) -> None:
        """One random-walk step on the pool (nothing until the migration lands)."""
        if self.node.ledger.pool(token.mint) is None:
            return
        profile = token.profile
        if rng.random() < profile.buy_probability or self.holding(user, token) == 0:
            self.pool_buy(token, user, _randint(rng, profile.buy_sol), profile.slippage_bps, rng)
        else:
            fraction = _uniform(rng, profile.sell_fraction)
            self.pool_sell(token, user, fraction, profile.slippage_bps, rng)

    async def _creator_dump(self, token: LaunchedToken, delay: float, rng: random.Random) -> None:
        """The creator sells its whole holding (a rug, or the end of a pump)."""
        await trio.sleep(max(delay, 0.0))
        for _attempt in range(SCRIPT_ATTEMPTS):
            if self._read_curve(token.mint) is not None:  # else the create is in flight
                with _survive(token):
                    self.sell(token, token.creator, 1.0, 10_000, rng)
                return
            await trio.sleep(_uniform(rng, SCRIPT_RETRY))

    async def _whale(self, token: LaunchedToken, rng: random.Random) -> None:
        """Buy every token left on the curve, retrying until the curve is complete."""
        whale = rng.choice(self.whales)
        await trio.sleep(_uniform(rng, token.profile.whale_after))
        if token.quoted_in_token:
            return  # whales buy out SOL curves only (USDC curves would never migrate)
        for _attempt in range(SCRIPT_ATTEMPTS):
            curve = self._read_curve(token.mint)
            if curve is not None and curve.complete:
                return
            if curve is not None:
                with _survive(token):
                    amount = curve.real_token_reserves
                    quote = quote_buy(amount, Reserves.of(curve), self._rates(curve))
                    if self.node.ledger.balance(whale) < quote.total + FEE_RESERVE_LAMPORTS:
                        log.info("whale %s cannot afford to complete %s", whale, token.mint)
                        return
                    self._buy_exact(token, whale, curve, amount, quote.total, 1_000, rng)
            await trio.sleep(_uniform(rng, SCRIPT_RETRY))


async def run_market(
    node: Node,
    scenario: Scenario,
    *,
    seed: int,
    task_status: trio.TaskStatus[Market] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``scenario`` on ``node`` until cancelled; ``task_status.started`` gets the Market.

    Use ``market = await nursery.start(partial(run_market, node, scenario, seed=1))`` to
    read ``market.stats`` and ``market.summary()`` while or after it runs.
    """
    market = Market(node, scenario, seed)
    await market.run(task_status=task_status)
