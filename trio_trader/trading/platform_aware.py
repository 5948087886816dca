"""The buyer and the seller, each split in two as the seed plan asks: send, then confirm.

``prepare_and_send_order`` does no waiting that can be avoided: the blockhash and the
priority fee come from caches refreshed in the background, the transaction is signed and
handed to the node, and the order comes back SENT. ``process_order`` then waits for the
outcome (the :class:`~trio_trader.chain.confirm.Confirmer` rebroadcasts the same bytes
until they land or the blockhash expires) and reads the wallet's real SOL and token
changes from the landed transaction, so PnL is exact to the lamport.

Both ``prepare_and_send_order`` take an optional ``before_send`` hook, awaited with the
signed order (still PENDING: signature and raw bytes attached) just before
``sendTransaction``. It may return an ``after_write`` hook, which ``ChainAccess.send``
runs once the request's bytes are written to the socket (in the sender, as the write
returns, before the reply is read; a fan-out runs it after the first endpoint's write),
and at the latest on the way out of the send, however it ends (a refusal, an error, a
cancellation). The trader and the monitor use the pair for crash safety off the send
path: before the send, a tiny marker of the order in the store's journal; after the
write, the position's row naming the order (``store/_repository.py``: ``mark_sending``).
Either the row or the marker is in the journal from before the bytes leave, so a crash at
any later point leaves the signature on disk, or tells the next start to reconcile with
the ledger: restart recovery never guesses.

A send that raises a transport error (timeout, 5xx after retries) does *not* prove the
node never received the bytes, so such an order is still treated as SENT: the confirmer
finds out, and an order that never landed ends as ``expired``. Only a definite refusal
(``TransactionError``, e.g. a preflight or "blockhash not found" rejection) fails it at
once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import ClassVar, Protocol, TypeVar

import attrs
import trio
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.chain.confirm import Confirmation, Confirmer
from trio_trader.chain.errors import RpcError, TransactionError
from trio_trader.chain.rpc import RpcClient, SendInFlight
from trio_trader.chain.signer import Signer
from trio_trader.chain.templates import TemplateCache, compile_message
from trio_trader.chain.transactions import (
    SignedTransaction,
    build_transaction,
    sign_message_bytes,
)
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump import addresses, instructions
from trio_trader.pump.accounts import BondingCurve, DecodeError, FeeConfig, Global
from trio_trader.pump.amm import GlobalConfig
from trio_trader.pump.amm.addresses import AMM_FEE_CONFIG, GLOBAL_CONFIG
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
from trio_trader.pump.errors import error_from_transaction_err
from trio_trader.pump.instructions import InstructionSpec
from trio_trader.trading.booking import (
    estimated_booking,
    pump_sol,
    wallet_quote_change,
    wallet_sol_change,
)
from trio_trader.trading.compute import ComputeUnits, TxKind
from trio_trader.trading.orders import (
    CURVE_CLOSE_IX_INDEX,
    VENUE_AMM,
    VENUE_CURVE,
    VENUE_CURVE_V2,
    BuyOrder,
    Order,
    OrderState,
    SellOrder,
    TradeResult,
)
from trio_trader.trading.position import Position
from trio_trader.trading.pumpswap import (
    AMM_ERROR_NAMES,
    PoolNotReady,
    amm_sell_instructions,
    pick,
    quote_pool_sell,
    read_pool,
)
from trio_trader.trading.sell_shape import CurveSellShape
from trio_trader.trading.token_info import TokenInfo

log = logging.getLogger(__name__)

#: the node's refusal of bytes it has already executed (a duplicate signature)
ALREADY_PROCESSED = "AlreadyProcessed"
#: seconds spent re-reading a landed transaction that the confirmer could not fetch
TRANSACTION_FETCH_PATIENCE = 10.0
#: re-reads of a bonding curve that is not visible yet, and the pause between them
CURVE_READ_RETRIES = 3
CURVE_READ_DELAY = 0.1


_O = TypeVar("_O", bound=Order)
#: run once the request's bytes are written (see the module docstring)
AfterWrite = Callable[[], object]
#: awaited with the signed, still PENDING order right before it is sent (see module doc)
BeforeSend = Callable[[_O], Awaitable[AfterWrite | None]]


class _WriteOnce:
    """An ``after_write`` hook run at most once; its exception is logged, not raised:
    the send goes on (the position's next write carries the row)."""

    __slots__ = ("_hook", "_order")

    def __init__(self, hook: AfterWrite, order: Order) -> None:
        self._hook: AfterWrite | None = hook
        self._order = order

    def __call__(self) -> None:
        hook, self._hook = self._hook, None
        if hook is None:
            return
        try:
            hook()
        except Exception:
            order = self._order
            log.exception("%s %s: its row after the send was not written; the position's "
                          "next write carries it", order.side, order.mint)  # fmt: skip


class TradeError(Exception):
    """An order could not even be built (curve missing or complete, nothing to sell)."""


class BlockhashSource(Protocol):
    """What the buyer needs from the background blockhash cache."""

    @property
    def latest(self) -> tuple[Hash, int]: ...

    @property
    def block_height(self) -> int: ...


class FeeSource(Protocol):
    """What the buyer needs from the background priority-fee estimator."""

    @property
    def micro_lamports(self) -> int: ...


@attrs.define(eq=False, kw_only=True)
class MarketParams:
    """Pump's and PumpSwap's global accounts, read at start-up (fees, fee recipients).

    Fee and buyback recipients are chosen from the lists these accounts hold, varied per
    mint and attempt (``salt``) as the SDKs vary them to spread write locks, rather than a
    fixed entry that the program may drop from its list at any time.
    """

    global_: Global | None = None
    fee_config: FeeConfig | None = None
    amm_global_config: GlobalConfig | None = None
    amm_fee_config: FeeConfig | None = None

    @classmethod
    async def load(cls, rpc: RpcClient) -> MarketParams:
        """Read the four accounts; a missing one leaves the fallback (``None``).

        Raises:
            DecodeError: an account that exists but does not decode (start-up stops).
        """
        market = cls()
        await market.refresh(rpc, strict=True)
        return market

    async def refresh(self, rpc: RpcClient, *, strict: bool = False) -> None:
        """Re-read the accounts: the AMM's if absent at start-up, every one after a trade
        named a recipient the program no longer lists. Not ``strict``: an account that
        does not decode is logged and the last good value kept."""
        infos = await rpc.get_multiple_accounts(
            [addresses.GLOBAL, addresses.FEE_CONFIG, GLOBAL_CONFIG, AMM_FEE_CONFIG]
        )
        decoders = (Global.decode, FeeConfig.decode, GlobalConfig.decode, FeeConfig.decode)
        names = ("global_", "fee_config", "amm_global_config", "amm_fee_config")
        for info, decode, name in zip(infos, decoders, names, strict=True):
            if info is None:
                continue
            try:
                setattr(self, name, decode(info.data))
            except DecodeError as exc:
                if strict:
                    raise
                log.error("unreadable %s account: %s; keeping the last read", name, exc)

    def fee_recipient(self, token_info: TokenInfo, salt: int = 0) -> Pubkey:
        """A fee recipient for a trade of this token (reserved list for mayhem coins)."""
        if token_info.is_mayhem_mode:
            reserved = self.global_.all_reserved_fee_recipients() if self.global_ else ()
            return pick(reserved or addresses.RESERVED_FEE_RECIPIENTS, salt)
        normal = self.global_.all_fee_recipients() if self.global_ else ()
        return pick(normal or addresses.FEE_RECIPIENTS, salt)

    def buyback_recipient(self, salt: int = 0) -> Pubkey:
        """A buyback fee recipient from Global's list."""
        listed = (self.global_.buyback_fee_recipients or ()) if self.global_ else ()
        return pick(listed or addresses.BUYBACK_FEE_RECIPIENTS, salt)

    def amm_fee_recipient(self, is_mayhem_mode: bool, salt: int = 0) -> Pubkey:
        """A PumpSwap protocol fee recipient from GlobalConfig's lists."""
        if self.amm_global_config is None:
            raise PoolNotReady("PumpSwap GlobalConfig not read")
        return pick(self.amm_global_config.fee_recipients_for(is_mayhem_mode), salt)

    def amm_buyback_recipient(self, salt: int = 0) -> Pubkey:
        """A PumpSwap buyback recipient from GlobalConfig's list."""
        config = self.amm_global_config
        listed = (config.buyback_fee_recipients or ()) if config is not None else ()
        return pick(listed or addresses.BUYBACK_FEE_RECIPIENTS, salt)

    def rates(
        self, token_info: TokenInfo, curve: BondingCurve | None, reserves: Reserves | None = None
    ) -> FeeRates:
        """Fee rates for the next trade; without a curve read, from the token's reserves
        (``reserves``: those, already computed)."""
        if curve is None:
            if reserves is None:
                reserves = _token_reserves(token_info)
            curve = _known_curve(token_info, reserves, token_info.creator)
        return fee_rates(curve, self.global_, self.fee_config)


def salt_of(mint: Pubkey, attempt: int = 1) -> int:
    """A per-mint, per-attempt number for picking recipients (deterministic)."""
    return bytes(mint)[0] + attempt


def vault_creator(token_info: TokenInfo, curve: BondingCurve | None) -> Pubkey:
    """The creator-vault owner of the next trade: the curve's creator when read (it may
    have changed since the create, e.g. ``admin_cto``), the holder-rewards PDA for a
    holder-reward coin, else what the create event said."""
    if curve is None:
        return token_info.vault_creator
    if curve.is_holder_reward or token_info.is_holder_reward:
        return addresses.holder_rewards_pda(token_info.mint)
    return curve.creator if curve.creator is not None else token_info.creator


def _known_curve(token_info: TokenInfo, reserves: Reserves, creator: Pubkey) -> BondingCurve:
    """The curve as far as the bot knows it without a read: ``reserves`` and ``creator``
    as a trade reported them, complete once no real token is left (the buy that takes
    the last one completes it: PROTOCOL §5.1), the rest from the create event."""
    return BondingCurve(
        virtual_token_reserves=reserves.virtual_token,
        virtual_sol_reserves=reserves.virtual_sol,
        real_token_reserves=reserves.real_token,
        real_sol_reserves=reserves.real_sol,
        token_total_supply=TOKEN_TOTAL_SUPPLY,
        complete=reserves.real_token == 0,
        creator=creator,
        is_mayhem_mode=token_info.is_mayhem_mode,
        is_cashback_coin=token_info.is_cashback_coin,
        quote_mint=token_info.quote_mint,  # USDC coins pay the stable fee tiers
    )


def _token_reserves(token_info: TokenInfo) -> Reserves:
    vs, vt = token_info.virtual_sol_reserves, token_info.virtual_token_reserves
    if vs is None or vt is None:
        raise TradeError(f"{token_info.display_name}: the create event carried no reserves")
    # v − r is constant along a curve created from the default Global (PROTOCOL §7)
    real_token = token_info.real_token_reserves
    if real_token is None:
        real_token = vt - (INITIAL_RESERVES.virtual_token - INITIAL_RESERVES.real_token)
    return Reserves(
        vs, vt, vs - (INITIAL_RESERVES.virtual_sol - INITIAL_RESERVES.real_sol), real_token
    )


@attrs.define(eq=False, kw_only=True)
class ChainAccess:
    """Everything both sides need to build, send and confirm a transaction."""

    #: the books are on paper (``trading/dry_run.DryRunChain``): the chain is not their truth
    paper: ClassVar[bool] = False
    rpc: RpcClient
    payer: Keypair = attrs.field(repr=False)
    blockhash: BlockhashSource
    priority_fee: FeeSource
    confirmer: Confirmer
    market: MarketParams
    #: the limit of every transaction while ``compute_units`` is None
    compute_unit_limit: int = 120_000
    #: measured limits per transaction kind (``trading/compute.py``)
    compute_units: ComputeUnits | None = None
    #: ``"legacy"`` (``buy``/``sell``) or ``"v2"`` (``buy_v2``/``sell_v2``) on the curve
    instructions: str = "legacy"
    #: the curve as this bot expects it after its own BUY, per mint: the first SELL is
    #: quoted from it, so an exit before any price update needs no RPC read either
    expected_reserves: dict[Pubkey, Reserves] = attrs.field(factory=dict)
    #: the creator-vault owner the BUY read from the curve, per mint (the first SELL's)
    creators: dict[Pubkey, Pubkey] = attrs.field(factory=dict)
    #: seconds spent re-reading a landed transaction the confirmer could not fetch
    fetch_patience: float = TRANSACTION_FETCH_PATIENCE
    _wallet: Pubkey = attrs.field(init=False)
    #: the SELLs' compiled messages (``chain/templates``), patched at exit
    sell_templates: TemplateCache = attrs.field(init=False)
    #: a throwaway key made here: the BUYs ``[latency] rehearse_ms`` builds name it and are
    #: signed by it, so not one of them could spend the user's funds (never sent anyway)
    stand_in: Keypair = attrs.field(factory=Keypair, init=False, repr=False)
    stand_in_key: Pubkey = attrs.field(init=False)
    #: sign for ``payer`` / ``stand_in`` (libsodium: ``chain/signer.py``); the rehearsal's
    #: BUYs take the same path as the real ones
    _signer: Signer = attrs.field(init=False, repr=False)
    _stand_in_signer: Signer = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._signer = Signer(self.payer)
        self._wallet = self._signer.pubkey()  # solders derives it anew (~25 µs) on every call
        self.sell_templates = TemplateCache(self._signer, self._wallet)
        self._stand_in_signer = Signer(self.stand_in)
        self.stand_in_key = self._stand_in_signer.pubkey()

    @property
    def wallet(self) -> Pubkey:
        return self._wallet

    def limit(self, kind: TxKind) -> int:
        """The compute-unit limit to sign a transaction of ``kind`` with."""
        if self.compute_units is None:
            return self.compute_unit_limit
        return self.compute_units.limit(kind)

    def uses_v2(self, token_info: TokenInfo) -> bool:
        """v2 instructions: configured, or the only ones a non-SOL-quoted coin trades with."""
        return self.instructions == "v2" or not token_info.is_sol_quoted

    async def read_curve(self, token_info: TokenInfo) -> BondingCurve:
        """The token's tradable curve now (``TradeError`` if missing, malformed or complete)."""
        curve = await self.read_curve_state(token_info)
        if curve.complete:
            raise TradeError(f"{token_info.display_name}: bonding curve complete")
        return curve

    async def read_curve_state(self, token_info: TokenInfo) -> BondingCurve:
        """The token's bonding curve now, complete or not (``TradeError`` if missing or
        malformed)."""
        info = await self.rpc.get_account_info(token_info.bonding_curve)
        for _ in range(CURVE_READ_RETRIES):
            if info is not None:
                break
            # A node slightly behind the one that streamed the create may not have it yet.
            await trio.sleep(CURVE_READ_DELAY)
            info = await self.rpc.get_account_info(token_info.bonding_curve)
        if info is None:
            raise TradeError(f"{token_info.display_name}: bonding curve not found")
        try:
            curve = BondingCurve.decode(info.data)
        except DecodeError as exc:  # a malformed reply must not take the position down
            raise TradeError(
                f"{token_info.display_name}: unreadable bonding curve: {exc}"
            ) from None
        return curve

    def sign(self, order: Order, program_ixs: Sequence[Instruction]) -> SignedTransaction:
        """Prefix compute-budget instructions, sign with the cached blockhash, attach."""
        blockhash, last_valid = self.blockhash.latest
        ixs = _with_budget(order.compute_unit_limit, order.priority_fee, program_ixs)
        signed = build_transaction(ixs, self._signer, blockhash, payer_pubkey=self._wallet)
        return _attach(order, signed, last_valid)

    def sign_buy(
        self, order: BuyOrder, program_ixs: Sequence[InstructionSpec], *, stand_in: bool = False
    ) -> SignedTransaction:
        """``sign`` of a BUY given as instruction specs: the same bytes, the message written
        by ``compile_message`` instead of solders' compiler (every BUY names a new mint,
        so no compiled message can be reused: ``chain/templates``).

        ``stand_in``: paid and signed by :attr:`stand_in` instead of the wallet (a
        rehearsal's BUY, ``trading/rehearsal.py``: the same steps, harmless bytes).
        """
        blockhash, last_valid = self.blockhash.latest
        ixs = [
            instructions.set_compute_unit_limit_spec(order.compute_unit_limit),
            instructions.set_compute_unit_price_spec(order.priority_fee),
            *program_ixs,
        ]
        payer, key = (
            (self._stand_in_signer, self.stand_in_key) if stand_in else (self._signer, self._wallet)
        )
        body = compile_message(key, ixs, blockhash)
        return _attach(order, sign_message_bytes(payer, body, blockhash), last_valid)

    def sign_sell(self, order: SellOrder, shape: CurveSellShape) -> SignedTransaction:
        """``sign`` of a curve SELL of ``shape``: the same bytes, from the shape's message
        compiled once (``sell_templates``) when it was seen before or prepared."""
        blockhash, last_valid = self.blockhash.latest
        limit, price = order.compute_unit_limit, order.priority_fee
        amount, min_output = order.token_amount, order.min_sol_output

        def full() -> list[Instruction]:  # a new shape only
            return _with_budget(limit, price, shape.program_instructions(amount, min_output))

        signed = self.sell_templates.sign(
            shape, full, blockhash, limit, price, amount, min_output, last_valid
        )
        return _attach(order, signed, last_valid)

    def prepare_sell_template(self, shape: CurveSellShape) -> None:
        """Compile the message of a SELL of ``shape`` now, off the exit's path."""
        if shape not in self.sell_templates:
            self.sell_templates.prepare(shape, _with_budget(0, 0, shape.program_instructions(0, 0)))

    async def send(self, order: Order, after_write: AfterWrite | None = None) -> None:
        """Hand the signed bytes to the node: SENT, or FAILED on a definite refusal.

        ``after_write`` runs once the bytes are written (the direct sender's hook), else
        on the way out of here, whatever the outcome: never skipped, never twice.
        """
        await self.finish_send(order, None, after_write)

    async def write_now(
        self, order: Order, after_write: Callable[[], None] | None = None
    ) -> SendInFlight | None:
        """Write the order's request now, its reply left to ``finish_send``: None when it
        cannot be written at once (``RpcClient.write_transaction``; a dry run never
        sends), nothing sent then. ``after_write`` runs as the write returns."""
        if self.paper:
            return None
        return await self.rpc.write_transaction(order.raw_base64(), after_write=after_write)

    async def finish_send(
        self, order: Order, sent: SendInFlight | None, after_write: AfterWrite | None = None
    ) -> None:
        """``send``, the request already written by ``write_now`` when ``sent`` is given
        (its reply read here; ``after_write`` ran at that write, or runs here)."""
        written = None if after_write is None else _WriteOnce(after_write, order)
        try:
            if sent is None:
                await self.rpc.send_transaction(order.raw_base64(), after_write=written)
            else:
                await self.rpc.finish_transaction(sent, after_write=written)
        except TransactionError as exc:
            if exc.name == ALREADY_PROCESSED:
                # These very bytes landed already (e.g. an earlier send whose reply was
                # lost): not a refusal; confirming reads how they ended.
                order.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())
                return
            code, name, message = _error_parts(order, exc.err)
            order.mark_failed(
                error=exc.err if exc.err is not None else str(exc),
                error_code=code if code is not None else exc.program_error_code,
                error_name=name or "SendRejected",
                error_message=message or str(exc),
            )
            return
        except RpcError as exc:
            # Unknown whether it reached the node: confirm (and rebroadcast) as if sent.
            log.warning("%s %s: send unclear (%s); confirming anyway", order.side, order.mint, exc)
        finally:
            if written is not None:  # no-op once the sender ran it
                written()  # synchronous: a cancellation cannot skip it
        order.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())

    async def process(self, order: Order) -> TradeResult:
        """Wait for the order's outcome and resolve it with the wallet's real changes."""
        if order.is_resolved:
            return order.to_result()
        if order.state is OrderState.PENDING:
            # Signed but not known to be sent (a row from before a crash): confirming
            # rebroadcasts the same bytes, which either land once or expire.
            order.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())
        signed = SignedTransaction(
            raw=order.raw_bytes(),
            signature=Signature.from_string(order.signature or ""),
            last_valid_block_height=order.last_valid_block_height,
        )
        confirmation = await self.confirmer.confirm(
            signed,
            last_valid_block_height=order.last_valid_block_height or 0,
            block_height=lambda: self.blockhash.block_height,
        )
        return await self._resolve(order, confirmation)

    async def _resolve(self, order: Order, confirmation: Confirmation) -> TradeResult:
        if confirmation.status == "expired":
            return order.mark_failed(
                error="expired",
                error_name="BlockhashExpired",
                error_message="the transaction never landed before its blockhash expired",
            )
        tx = confirmation.transaction or await self._fetch(order)
        sol = wallet_sol_change(tx, self.wallet, order) if tx is not None else None
        tokens = tx.token_change(self.wallet, order.token_info.mint) if tx is not None else None
        quote = wallet_quote_change(tx, self.wallet, order) if tx is not None else None
        fee = tx.fee if tx is not None else None
        slot = confirmation.slot
        if confirmation.status == "confirmed" and confirmation.err is None:
            if tx is None:
                # Never 0 SOL / 0 tokens: that would strand the tokens (nothing to sell).
                booked = estimated_booking(order)
                log.error(
                    "%s %s landed but its transaction cannot be read; booked from the quote "
                    "(%d tokens, %+d lamports): this position's PnL is an estimate",
                    order.side, order.mint, booked.token_change, booked.sol_change,
                )  # fmt: skip
                return order.mark_confirmed(
                    slot=slot, fee_lamports=booked.fee, sol_change=booked.sol_change,
                    token_change=booked.token_change, pump_sol=booked.pump_sol,
                    balances_estimated=True, quote_change=booked.quote_change,
                )  # fmt: skip
            return order.mark_confirmed(
                slot=slot, fee_lamports=fee, sol_change=sol or 0, token_change=tokens or 0,
                pump_sol=pump_sol(tx, self.wallet, order), quote_change=quote,
            )  # fmt: skip
        code, name, message = _error_parts(order, confirmation.err)
        return order.mark_failed(
            error=confirmation.err,
            error_code=code,
            error_name=name or "TransactionFailed",
            error_message=message or str(confirmation.err),
            slot=slot,
            fee_lamports=fee,
            sol_change=sol,
            token_change=tokens,
            quote_change=quote,
        )

    async def _fetch(self, order: Order) -> TransactionInfo | None:
        sig = Signature.from_string(order.signature or "")
        with trio.move_on_after(self.fetch_patience):
            while True:
                try:
                    tx = await self.rpc.get_transaction(sig)
                except RpcError as exc:
                    log.warning("getTransaction %s: %s", sig, exc)
                    tx = None
                if tx is not None:
                    return tx
                await trio.sleep(0.2)
        return None


def _attach(order: Order, signed: SignedTransaction, last_valid: int) -> SignedTransaction:
    order.attach_transaction(
        signature=signed.signature,
        raw_transaction=signed.raw,
        blockhash=str(signed.blockhash),
        last_valid_block_height=last_valid,
    )
    return signed


def _with_budget(
    limit: int, micro_lamports: int, program_ixs: Sequence[Instruction]
) -> list[Instruction]:
    return [  # both built once per value (``pump.instructions``: cached, immutable)
        instructions.set_compute_unit_limit(limit),
        instructions.set_compute_unit_price(micro_lamports),
        *program_ixs,
    ]


def _error_parts(order: Order, err: object) -> tuple[int | None, str | None, str | None]:
    """(code, name, explanation) of a custom program error in ``err``; a pool SELL's
    codes are PumpSwap's (6004 is its ExceededSlippage, not pump's 6004)."""
    parts = error_from_transaction_err(err)
    if parts is None:
        return None, None, None
    if order.venue == VENUE_AMM and parts.code in AMM_ERROR_NAMES:
        name = AMM_ERROR_NAMES[parts.code]
        return parts.code, name, f"PumpSwap error {parts.code} {name}"
    return parts.code, parts.name, parts.explanation


@attrs.define(eq=False)
class BuyStart:
    """How far ``PlatformAwareBuyer.start_order`` took a BUY (``finish_order`` goes on).

    ``order``: signed and accepted by ``before_send`` (its marker journaled), with the
    ``after_write`` it returned; ``sent``: its request written, the reply unread;
    ``error``: what stopped it before ``before_send`` accepted it.
    """

    order: BuyOrder | None = None
    after_write: AfterWrite | None = None
    sent: SendInFlight | None = None
    error: Exception | None = None


@attrs.frozen
class QuoteBudget:
    """What one BUY of a coin quoted in a token may spend, in that token's base units.

    ``amount`` sizes the BUY (``trade.buy_amount_usdc``, pump fees included) and
    ``max_cost`` bounds its ``max_sol_cost`` (``trade.max_buy_usdc`` plus the slippage).
    """

    amount: int
    max_cost: int | None = None


@attrs.define(eq=False, kw_only=True)
class PlatformAwareBuyer:
    """Buys a fixed token amount with ``buy`` (or ``buy_v2``)``(amount, max_sol_cost)``.

    Normal mode reads the curve to size the buy from ``amount_lamports`` (pump fees
    included). Extreme fast mode reads nothing before sending: it quotes from the reserves
    the listener saw in the create transaction, and buys ``extreme_fast_token_amount``
    tokens when set (else what the budget buys at those reserves).

    Coins quoted in a token (USDC) are bought only when ``quote_budgets`` has a budget for
    that token, and only with ``buy_v2`` (legacy ``buy`` cannot pay in a token). The BUY
    is ``buy_v2`` for an exact token amount, not ``buy_exact_quote_in_v2``: the amount is
    then known when the BUY is signed, so the SELL that may leave before the BUY confirms
    sells exactly what the BUY gets, and ``max_sol_cost`` (in the token's units) bounds the
    spend the way the slippage does for SOL. Such a BUY always reads the curve, even in
    extreme fast mode: a token curve's virtual quote offset is not the SOL one.
    """

    chain: ChainAccess
    amount_lamports: int
    slippage_bps: int
    extreme_fast_mode: bool = False
    extreme_fast_token_amount: int = 0
    #: the most any BUY may take at the curve (``max_sol_cost``): ``trade.max_buy_sol``
    #: plus the BUY slippage. Extreme fast mode sizes BUYs in tokens, not SOL, so this is
    #: what keeps a bad token amount or a pumped curve from spending without bound.
    max_cost_lamports: int | None = None
    #: budgets of the tradable token quotes (``trade.quote_mints``), by quote mint
    quote_budgets: Mapping[Pubkey, QuoteBudget] = attrs.field(factory=dict)
    #: SOL-quoted coins are bought (``"SOL"`` in ``trade.quote_mints``)
    buys_sol_coins: bool = True

    def refusal(self, token_info: TokenInfo) -> str | None:
        """Why this coin's quote mint cannot be bought here (``None``: it can)."""
        quote = token_info.quote_token
        if quote is None:
            return None if self.buys_sol_coins else "quoted in SOL, not in trade.quote_mints"
        if quote not in self.quote_budgets and quote != addresses.USDC_MINT:
            return (
                f"quoted in {quote}, a custom quote mint: not traded (trade.quote_mints "
                "takes SOL and USDC only)"
            )
        if self.chain.instructions != "v2":
            return (
                f"quoted in {token_info.quote_symbol}: the legacy buy/sell cannot trade it "
                '(trade.instructions = "v2" with it in trade.quote_mints can)'
            )
        if quote not in self.quote_budgets:
            return f"quoted in {token_info.quote_symbol}, which trade.quote_mints does not list"
        return None

    def _budget(self, token_info: TokenInfo) -> QuoteBudget:
        quote = token_info.quote_token
        if quote is None:
            return QuoteBudget(self.amount_lamports, self.max_cost_lamports)
        return self.quote_budgets[quote]

    async def prepare_and_send_order(
        self, token_info: TokenInfo, *, before_send: BeforeSend[BuyOrder] | None = None
    ) -> BuyOrder:
        """Build, sign and send the BUY; returns it SENT (or FAILED if refused at once).

        ``before_send`` is awaited with the signed PENDING order just before the send;
        the hook it returns runs once the request is written (``ChainAccess.send``).
        """
        self._check_refusal(token_info)
        fast = self.sends_at_once(token_info)
        curve = None if fast else await self.chain.read_curve(token_info)
        order = self._signed_order(token_info, curve)
        after_write = None if before_send is None else await before_send(order)
        await self.chain.send(order, after_write)
        return order

    def sends_at_once(self, token_info: TokenInfo) -> bool:
        """The BUY of ``token_info`` reads nothing first (extreme fast mode, SOL-quoted):
        ``start_order`` may write it from the listener's task."""
        return self.extreme_fast_mode and token_info.quote_token is None

    async def start_order(
        self, token_info: TokenInfo, start: BuyStart, *, before_send: BeforeSend[BuyOrder]
    ) -> None:
        """The BUY (``sends_at_once``) taken as far as its request written, into ``start``,
        for ``finish_order`` to complete in another task: no reply is waited for here.

        What stopped it is kept, not raised: an error before ``before_send`` accepted the
        order (``finish_order`` raises it), or a request that could not be written at
        once (``finish_order`` sends it the usual way). A failure after the order was
        accepted is logged and leaves the send to ``finish_order``: the same bytes, sent
        once more at worst (a signed transaction lands once at most).
        """
        try:
            self._check_refusal(token_info)
            order = self._signed_order(token_info, None)
            after_write = await before_send(order)
        except Exception as exc:
            start.error = exc
            return
        once = None if after_write is None else _WriteOnce(after_write, order)
        start.order, start.after_write = order, once
        try:
            start.sent = await self.chain.write_now(order, once)
        except Exception:
            log.exception("BUY of %s: the early write failed; sent the usual way", order.mint)

    async def finish_order(
        self, token_info: TokenInfo, start: BuyStart, *, before_send: BeforeSend[BuyOrder]
    ) -> BuyOrder:
        """The BUY ``start_order`` began: SENT (or FAILED if refused at once) as
        ``prepare_and_send_order`` returns it; its reply read here, or the whole BUY made
        here (with ``before_send``, the one ``start_order`` had) if ``start_order`` was
        interrupted before ``before_send`` accepted an order."""
        if start.error is not None:
            raise start.error
        order = start.order
        if order is None:
            return await self.prepare_and_send_order(token_info, before_send=before_send)
        if start.sent is None:  # not written yet: the usual send (a dry run's, too)
            await self.chain.send(order, start.after_write)
        else:
            await self.chain.finish_send(order, start.sent, start.after_write)
        return order

    def _check_refusal(self, token_info: TokenInfo) -> None:
        refused = self.refusal(token_info)
        if refused is not None:
            # A BUY paid in a mint nobody configured a budget for would spend an amount
            # nobody chose and book nothing the books can add up.
            raise TradeError(f"{token_info.display_name}: {refused}")

    def _signed_order(self, token_info: TokenInfo, curve: BondingCurve | None) -> BuyOrder:
        """The BUY built and signed (PENDING), its expected reserves and creator noted."""
        order, creator, after = self._new_order(token_info, curve)
        self.chain.expected_reserves[token_info.mint] = after
        self.chain.creators[token_info.mint] = creator
        self.chain.sign_buy(order, self._instructions(order, creator))
        return order

    def _new_order(
        self, token_info: TokenInfo, curve: BondingCurve | None
    ) -> tuple[BuyOrder, Pubkey, Reserves]:
        """The BUY of ``token_info`` (unsigned), its creator-vault owner and the reserves
        after it; changes nothing (``rehearse`` builds its BUYs with it too)."""
        budget = self._budget(token_info)
        reserves = Reserves.of(curve) if curve is not None else _token_reserves(token_info)
        rates = self.chain.market.rates(token_info, curve, reserves)
        if self.extreme_fast_mode and self.extreme_fast_token_amount > 0:
            amount = min(self.extreme_fast_token_amount, reserves.real_token)
        else:
            amount = quote_buy_for_sol(budget.amount, reserves, rates).amount
        if amount <= 0:
            raise TradeError(f"{token_info.display_name}: nothing to buy")
        quote = quote_buy(amount, reserves, rates)
        limit = max_sol_cost(quote.total, self.slippage_bps)
        if budget.max_cost is not None and limit > budget.max_cost:
            sol = token_info.quote_token is None
            unit = "lamports" if sol else f"{token_info.quote_symbol} base units"
            key = "max_buy_sol" if sol else "max_buy_usdc"
            raise TradeError(
                f"{token_info.display_name}: this BUY may cost up to {limit} {unit}, "
                f"over the {budget.max_cost} allowed by trade.{key} and its slippage"
            )
        creator = vault_creator(token_info, curve)
        v2 = self.chain.uses_v2(token_info)
        order = BuyOrder(
            token_info=token_info,
            token_amount=amount,
            max_sol_cost=limit,
            sol_cost=quote.total,
            slippage_bps=self.slippage_bps,
            priority_fee=self.chain.priority_fee.micro_lamports,
            compute_unit_limit=self.chain.limit(TxKind.BUY_V2 if v2 else TxKind.BUY),
            venue=VENUE_CURVE_V2 if v2 else VENUE_CURVE,
        )
        return order, creator, apply_buy(reserves, quote)

    def rehearse(self, token_info: TokenInfo) -> SignedTransaction | None:
        """Build and sign a BUY of ``token_info`` as extreme fast mode would, but naming and
        signed by ``chain.stand_in`` (``trading/rehearsal.py``): bytes no wallet of the
        user's pays, for the caller to drop. None for a token the bot would not buy (no
        budget in its quote). Changes nothing, sends nothing."""
        if self.refusal(token_info) is not None:
            return None
        order, creator, _ = self._new_order(token_info, None)
        ixs = self._instructions(order, creator, self.chain.stand_in_key)
        return self.chain.sign_buy(order, ixs, stand_in=True)

    def _instructions(
        self, order: BuyOrder, creator: Pubkey, wallet: Pubkey | None = None
    ) -> list[InstructionSpec]:
        """The BUY's program instructions, for the user's wallet unless told another."""
        token_info, market = order.token_info, self.chain.market
        wallet = self.chain.wallet if wallet is None else wallet
        salt = salt_of(token_info.mint, order.attempt)
        fee_recipient = market.fee_recipient(token_info, salt)
        buyback = market.buyback_recipient(salt)
        if order.venue == VENUE_CURVE_V2:
            buy = instructions.buy_v2_spec(
                user=wallet, mint=token_info.mint, creator=creator,
                token_program=token_info.token_program, fee_recipient=fee_recipient,
                buyback_fee_recipient=buyback, quote_mint=token_info.quote_mint,
                amount=order.token_amount, max_sol_cost=order.max_sol_cost, curve=token_info.curve,
            )  # fmt: skip
        else:
            buy = instructions.buy_spec(
                user=wallet, mint=token_info.mint, creator=creator,
                token_program=token_info.token_program, fee_recipient=fee_recipient,
                buyback_fee_recipient=buyback,
                amount=order.token_amount, max_sol_cost=order.max_sol_cost, curve=token_info.curve,
            )  # fmt: skip
        return [
            instructions.create_associated_token_account_idempotent_spec(
                payer=wallet, owner=wallet, mint=token_info.mint,
                token_program=token_info.token_program,
            ),
            buy,
        ]  # fmt: skip

    async def process_order(self, buy_order: BuyOrder) -> TradeResult:
        """Wait for the BUY; CONFIRMED or FAILED with the wallet's real changes."""
        return await self.chain.process(buy_order)


#: where the token-account close sits in a bonding-curve SELL (see ``orders``)
CLOSE_IX_INDEX = CURVE_CLOSE_IX_INDEX
#: the compute-budget instructions ``ChainAccess.sign`` puts before the program's
COMPUTE_BUDGET_IXS = 2
#: pump errors that mean the coin left its curve: the next SELL goes to its pool
#: (6005 ``BondingCurveComplete``, 6081 already migrated)
GRADUATED_ERRORS = frozenset({6005, 6081})
#: errors naming a fee or buyback recipient the program no longer lists: pump's 6000
#: NotAuthorized / 6057 BuybackFeeRecipientNotAuthorized / 6062 BuybackFeeRecipientMissing,
#: PumpSwap's 6013 InvalidProtocolFeeRecipient / 6053 BuybackFeeRecipientNotAuthorized
CURVE_RECIPIENT_ERRORS = frozenset({6000, 6057, 6062})
AMM_RECIPIENT_ERRORS = frozenset({6013, 6053})


def failed_instruction(err: object) -> int | None:
    """The index of the instruction a ``{"InstructionError": [i, …]}`` error names."""
    if isinstance(err, dict):
        detail = err.get("InstructionError")
        if isinstance(detail, list | tuple) and detail and isinstance(detail[0], int):
            return detail[0]
    return None


def graduated_failure(order: SellOrder | None) -> bool:
    """A bonding-curve SELL refused because the curve completed / the coin migrated."""
    return (
        order is not None
        and order.venue != VENUE_AMM
        and order.state is OrderState.FAILED
        and order.error_code in GRADUATED_ERRORS
    )


@attrs.define(eq=False, kw_only=True)
class PlatformAwareSeller:
    """Sells a position's whole token amount on the curve or, once graduated, on its pool.

    The venue follows the curve: a complete curve (or a SELL the curve refused with
    6005/6081) sends the SELL to the coin's canonical PumpSwap pool (``trading/pumpswap``).

    With ``close_token_account`` the SELL also closes the wallet's token account, so its
    rent (about 0.002 SOL, a real share of a small position) comes back in the same
    transaction and is counted in the SELL's SOL change. The close fails if the account
    holds more than was sold (e.g. someone sent dust to it); the whole SELL then fails at
    the order's ``close_ix_index``, and the next attempt sells without closing.
    """

    chain: ChainAccess
    slippage_bps: int
    close_token_account: bool = True
    _unclosable: set[Pubkey] = attrs.field(factory=set, init=False)
    #: mints whose first SELL's template was prepared (as many as templates are kept)
    _prepared: dict[Pubkey, None] = attrs.field(factory=dict, init=False)

    async def prepare_and_send_order(
        self,
        token_info: TokenInfo,
        position: Position,
        *,
        reserves: Reserves | None = None,
        creator: Pubkey | None = None,
        extra_slippage_bps: int = 0,
        zero_min_output: bool = False,
        before_send: BeforeSend[SellOrder] | None = None,
    ) -> SellOrder:
        """Build, sign and send a SELL of the position's tokens.

        The amount is the BUY order's token amount (fixed by pump's ``buy``), known before
        the BUY confirms. The first SELL reads nothing when the bot knows the curve:
        while the BUY is unconfirmed, it is quoted from ``reserves`` (the latest price
        seen) or from the reserves the BUY was quoted against with the BUY applied, and
        names the creator the BUY read; once it confirmed, from ``reserves`` and
        ``creator`` together (the newest ``TradeEvent`` seen), going to the pool if they
        show the curve complete (no real token left). Every other SELL (a retry, or a
        first one without those facts) reads the curve first: its creator (it may have
        changed under the position, e.g. ``admin_cto``: a stale one costs one failed
        SELL), its reserves, and whether it completed, in which case the SELL goes to
        the pool (it also does after a SELL the curve refused with 6005/6081).
        ``min_sol_output`` is the quote less the slippage (plus ``extra_slippage_bps`` on
        a re-priced retry); ``zero_min_output`` is the emergency exit that accepts any
        price. ``before_send`` is awaited with the signed PENDING order just before the
        send.

        Raises:
            TradeError: nothing to sell.
            PoolNotReady: the coin graduated but its pool cannot be traded yet.
        """
        amount = position.sellable_token_amount
        if not amount:
            raise TradeError(f"{token_info.display_name}: nothing to sell")
        if _recipient_refused(position.sell_order):
            try:  # the lists changed since start-up: pick from today's
                await self.chain.market.refresh(self.chain.rpc)
            except RpcError as exc:
                log.warning("re-reading pump's global accounts failed: %s", exc)
        expected = self.chain.expected_reserves.pop(token_info.mint, None)
        slippage = min(10_000, self.slippage_bps + extra_slippage_bps)
        if graduated_failure(position.sell_order):
            return await self._sell_on_pool(
                position, amount, slippage, zero_min_output, before_send
            )
        curve = None
        known = reserves if reserves is not None else expected
        first = position.sell_order is None and not extra_slippage_bps
        if first and _buy_unconfirmed(position) and known is not None:
            reserves = known  # no RPC on the way out (see the docstring)
            creator = self.chain.creators.get(token_info.mint, token_info.vault_creator)
        else:
            if first and reserves is not None and creator is not None:
                curve = _known_curve(token_info, reserves, creator)  # seen: no RPC
            else:
                curve = await self._read_curve(token_info)
            if curve is not None and curve.complete:
                return await self._sell_on_pool(
                    position, amount, slippage, zero_min_output, before_send
                )
            if curve is not None:
                reserves = Reserves.of(curve)
            elif known is not None:
                reserves = known
            else:
                reserves = _token_reserves(token_info)
            creator = vault_creator(token_info, curve)
        rates = self.chain.market.rates(token_info, curve, reserves)  # the tier of what it quotes
        quote = quote_sell(amount, reserves, rates)
        v2 = self.chain.uses_v2(token_info)
        close = self._should_close(position)
        order = SellOrder(
            token_info=token_info,
            token_amount=amount,
            min_sol_output=0 if zero_min_output else min_sol_output(quote.net, slippage),
            sol_output=quote.net,
            slippage_bps=10_000 if zero_min_output else slippage,
            priority_fee=self.chain.priority_fee.micro_lamports,
            compute_unit_limit=self._limit(TxKind.SELL_V2 if v2 else TxKind.SELL, position),
            attempt=position.next_sell_attempt,
            venue=VENUE_CURVE_V2 if v2 else VENUE_CURVE,
            close_ix_index=CLOSE_IX_INDEX if close else None,
        )
        self.chain.sign_sell(
            order, self._curve_shape(token_info, order.attempt, creator, v2, close)
        )
        return await self._send_signed(order, before_send)

    def prepare_first_sell(self, position: Position) -> None:
        """Compile the message of the position's first curve SELL now, while it waits:
        at exit only its blockhash and data are written in (``chain/templates``).

        The accounts are those the first SELL names when nothing changed meanwhile (the
        creator the BUY read, the first attempt's recipients); if anything did, the
        SELL's accounts differ and it is compiled in full. Never raises: a template is
        only a shortcut.
        """
        if position.sell_order is not None or position.mint in self._prepared:
            return
        self._prepared[position.mint] = None
        while len(self._prepared) > self.chain.sell_templates.max_templates:
            del self._prepared[next(iter(self._prepared))]
        token_info = position.token_info
        try:
            creator = self.chain.creators.get(token_info.mint, token_info.vault_creator)
            v2, close = self.chain.uses_v2(token_info), self._should_close(position)
            shape = self._curve_shape(token_info, position.next_sell_attempt, creator, v2, close)
            self.chain.prepare_sell_template(shape)
        except Exception as exc:  # a shortcut's failure must not stop the watch
            log.warning("%s: SELL template not prepared: %s", position.mint, exc)

    async def _read_curve(self, token_info: TokenInfo) -> BondingCurve | None:
        try:
            return await self.chain.read_curve_state(token_info)
        except (RpcError, TradeError) as exc:
            log.warning("%s: curve read failed (%s); using known reserves", token_info.mint, exc)
            return None

    def _limit(self, kind: TxKind, position: Position) -> int:
        # A re-send must be a new transaction: with the same cached blockhash and the same
        # quote its bytes (and signature) would repeat the failed attempt's, which the node
        # refuses as already processed. One more compute unit per attempt makes every
        # attempt distinct at a cost of a fraction of a lamport.
        return self.chain.limit(kind) + position.sell_attempts

    def _curve_shape(
        self, token_info: TokenInfo, attempt: int, creator: Pubkey, v2: bool, close: bool
    ) -> CurveSellShape:
        """The accounts of the curve SELL ``attempt`` (the recipients follow its salt)."""
        market = self.chain.market
        salt = salt_of(token_info.mint, attempt)
        return CurveSellShape(
            user=self.chain.wallet, mint=token_info.mint, creator=creator,
            token_program=token_info.token_program,
            fee_recipient=market.fee_recipient(token_info, salt),
            buyback_fee_recipient=market.buyback_recipient(salt), v2=v2,
            cashback=token_info.is_cashback_coin, quote_mint=token_info.quote_mint, close=close,
            curve=token_info.curve,
        )  # fmt: skip

    async def _sell_on_pool(
        self,
        position: Position,
        amount: int,
        slippage: int,
        zero_min_output: bool,
        before_send: BeforeSend[SellOrder] | None,
    ) -> SellOrder:
        """The SELL of a graduated coin, on its canonical PumpSwap pool (reads the pool)."""
        token_info, market = position.token_info, self.chain.market
        try:
            if market.amm_global_config is None:
                await market.refresh(self.chain.rpc)
            state = await read_pool(self.chain.rpc, token_info)
        except RpcError as exc:
            raise PoolNotReady(f"{token_info.display_name}: pool read failed: {exc}") from None
        if market.amm_global_config is None:
            raise PoolNotReady("PumpSwap GlobalConfig not found")
        quote = quote_pool_sell(amount, state, market.amm_global_config, market.amm_fee_config)
        attempt = position.next_sell_attempt
        salt = salt_of(token_info.mint, attempt)
        plan = amm_sell_instructions(
            wallet=self.chain.wallet,
            token_info=token_info,
            state=state,
            protocol_fee_recipient=market.amm_fee_recipient(bool(state.pool.is_mayhem_mode), salt),
            buyback_fee_recipient=market.amm_buyback_recipient(salt),
            amount=amount,
            min_quote_out=0 if zero_min_output else min_sol_output(quote.net, slippage),
            close_token_account=self._should_close(position),
        )
        order = SellOrder(
            token_info=token_info,
            token_amount=amount,
            min_sol_output=0 if zero_min_output else min_sol_output(quote.net, slippage),
            sol_output=quote.net,
            slippage_bps=10_000 if zero_min_output else slippage,
            priority_fee=self.chain.priority_fee.micro_lamports,
            compute_unit_limit=self._limit(TxKind.AMM_SELL, position),
            attempt=attempt,
            venue=VENUE_AMM,
            close_ix_index=(
                None if plan.close_index is None else plan.close_index + COMPUTE_BUDGET_IXS
            ),
        )
        log.info("%s: graduated; SELL attempt %d on PumpSwap pool %s (quote %d)",
                 token_info.mint, attempt, state.address, quote.net)  # fmt: skip
        self.chain.sign(order, plan.instructions)
        return await self._send_signed(order, before_send)

    async def _send_signed(
        self, order: SellOrder, before_send: BeforeSend[SellOrder] | None
    ) -> SellOrder:
        after_write = None if before_send is None else await before_send(order)
        await self.chain.send(order, after_write)
        return order

    def _should_close(self, position: Position) -> bool:
        if not self.close_token_account or position.mint in self._unclosable:
            return False
        previous = position.sell_order
        if (
            previous is not None
            and previous.close_ix_index is not None
            and failed_instruction(previous.error) == previous.close_ix_index
        ):
            log.warning("%s: token account cannot be closed; selling without closing",
                        position.mint)  # fmt: skip
            self._unclosable.add(position.mint)
            return False
        return True

    async def process_order(self, sell_order: SellOrder) -> TradeResult:
        """Wait for the SELL; CONFIRMED or FAILED with the wallet's real changes."""
        return await self.chain.process(sell_order)


def _recipient_refused(order: SellOrder | None) -> bool:
    if order is None or order.state is not OrderState.FAILED:
        return False
    codes = AMM_RECIPIENT_ERRORS if order.venue == VENUE_AMM else CURVE_RECIPIENT_ERRORS
    return order.error_code in codes


def _buy_unconfirmed(position: Position) -> bool:
    buy = position.buy_order
    return buy is None or buy.state is not OrderState.CONFIRMED
