"""Orders: one BUY or SELL transaction of a position, from decision to on-chain result.

The seed plan splits "buy" into *send* and *confirm* so that a SELL may be sent while
its BUY is still unconfirmed. An order therefore has to carry everything needed to
confirm it later (signature, signed bytes for rebroadcast, blockhash and its
``last_valid_block_height``) and to persist it (the store writes it as JSON in the
position row, so a restarted bot can resolve it).

Life of an order (``OrderState``)::

    PENDING --attach_transaction()--> PENDING (signed, not yet sent)
    PENDING --mark_sent()----------> SENT
    SENT    --mark_confirmed()-----> CONFIRMED          (terminal)
    SENT    --mark_failed()--------> FAILED             (terminal)
    PENDING --mark_failed()--------> FAILED             (never reached the node)

An order is never re-sent after FAILED: a re-send is a *new* order (new blockhash, new
signature) with ``attempt`` one higher, so each attempt keeps its own result and its
own row in the ``trades`` table. Rebroadcasting the same signed bytes while SENT is
not a new attempt.

Why ``attach_transaction`` before ``mark_sent``: the signature is known once the
transaction is signed, before ``sendTransaction``. Writing the signed order to the
database first means a crash between "sent" and "recorded" still leaves a signature
that restart recovery can look up (``Repository.get_unresolved_positions`` returns
PENDING orders that carry a signature as well as SENT ones). Recovery treats such an
order as possibly sent: ``mark_sent`` it (and rebroadcast the same bytes), then confirm
or fail it as usual.

Public API (imported directly: ``from trio_trader.trading.orders import ...``)::

    OrderState.PENDING / SENT / CONFIRMED / FAILED        (str values: "pending", ...)
    BuyOrder(token_info=..., token_amount=..., max_sol_cost=..., sol_cost=...,
             slippage_bps=..., priority_fee=..., compute_unit_limit=..., attempt=1)
    SellOrder(token_info=..., token_amount=..., min_sol_output=..., sol_output=...,
              slippage_bps=..., priority_fee=..., compute_unit_limit=..., attempt=1,
              sent_before_buy_confirmed=False)
    order.attach_transaction(signature=, raw_transaction=bytes, blockhash=,
                             last_valid_block_height=)
    order.mark_sent(sent_at=trio.current_time(), sent_at_wall=time.time())
    order.mark_confirmed(slot=, fee_lamports=, sol_change=, token_change=) -> TradeResult
    order.mark_failed(error=, error_code=, error_name=, error_message=, slot=,
                      fee_lamports=, sol_change=, token_change=) -> TradeResult
    order.to_result() -> TradeResult   (of a resolved order)
    order.side ("buy" | "sell"), order.mint, order.is_resolved, order.raw_bytes(),
    order.raw_base64()
    order.sol_amount (expected: sol_cost / sol_output), order.sol_limit
    TradeResult(...)                  frozen result of one attempt
    OrderStateError                   raised on an impossible transition

Amounts are raw integers: lamports and token base units. ``sol_change`` and
``token_change`` are the wallet's deltas as read from the confirmed transaction's
pre/post balances (negative ``sol_change`` for a BUY; it includes every fee the wallet
paid: base fee, priority fee, pump protocol and creator fees, and token-account rent).
"""

from __future__ import annotations

import abc
import base64
import enum
import logging
from typing import Any, ClassVar

import attrs
from solders.hash import Hash
from solders.signature import Signature

from trio_trader.trading.token_info import TokenInfo

logger = logging.getLogger(__name__)


class OrderState(enum.StrEnum):
    """Where an order's transaction is.

    PENDING is the state of an order built (and maybe signed) but not yet handed to
    the node; the seed plan's three states (SENT, CONFIRMED, FAILED) follow.
    """

    PENDING = "pending"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"


RESOLVED_STATES = frozenset({OrderState.CONFIRMED, OrderState.FAILED})

#: where an order trades (``Order.venue``): the bonding curve with the legacy
#: ``buy``/``sell``, the bonding curve with ``buy_v2``/``sell_v2``, or the coin's PumpSwap
#: pool once it graduated
VENUE_CURVE = "pump"
VENUE_CURVE_V2 = "pump_v2"
VENUE_AMM = "pumpswap"
VENUES = (VENUE_CURVE, VENUE_CURVE_V2, VENUE_AMM)
#: where a bonding-curve SELL's token-account close sits: after the two compute-budget
#: instructions and the sell (rows written before ``SellOrder.close_ix_index`` existed)
CURVE_CLOSE_IX_INDEX = 3


class OrderStateError(RuntimeError):
    """An order was asked to make a transition its state does not allow (a bug)."""


@attrs.frozen(kw_only=True)
class TradeResult:
    """The outcome of one resolved order attempt, as the seed's ``process_order`` returns.

    ``sol_change`` / ``token_change`` are wallet deltas (see the module docstring);
    ``fee`` is the transaction fee (base + priority) in lamports. A FAILED order that
    landed on chain still has a negative ``sol_change`` (its fee); one that never landed
    (expired blockhash, rejected by the node) has ``None`` amounts.
    """

    success: bool
    state: OrderState
    signature: str | None = None
    sol_change: int | None = None
    token_change: int | None = None
    fee: int | None = None
    error_code: int | None = None
    error_name: str | None = None
    error_message: str | None = None
    slot: int | None = None
    pump_sol: int | None = None
    balances_estimated: bool = False
    quote_change: int | None = None


@attrs.define(eq=False, kw_only=True)
class Order(abc.ABC):
    """Common part of a BUY or SELL order; mutable because its state moves.

    Attributes:
        token_info: the token traded.
        token_amount: tokens bought or sold, raw units; fixed in the instruction.
        slippage_bps: the slippage used to derive the SOL limit.
        priority_fee: compute-unit price in micro-lamports.
        compute_unit_limit: the compute-unit limit of the transaction.
        attempt: 1 for the first order of its side in a position, +1 per re-send.
        state: see ``OrderState``.
        signature, raw_transaction (base64 of the signed bytes), blockhash,
        last_valid_block_height: set by ``attach_transaction``.
        sent_at: ``trio.current_time()`` when sent; sent_at_wall: unix seconds.
        confirmed_slot, fee_lamports, sol_change, token_change: on-chain result.
        pump_sol: the SOL that crossed the bonding curve, pump fees included (a BUY's
            cost ``sol_amount + fee + creator_fee``, a SELL's net proceeds ``sol_amount
            − fee − creator_fee``) read from the confirmed transaction's TradeEvent: the
            price of the tokens, without transaction fees or rent. Exit rules and the
            trading PnL use it; ``sol_change`` (the wallet's whole change) is net PnL.
        balances_estimated: the order landed but its transaction could not be read, so
            its amounts were booked from the quote (see ``ChainAccess._resolve``).
        error (the JSON ``meta.err`` or a description), error_code, error_name,
        error_message: why it failed.
        venue: ``VENUE_CURVE`` / ``VENUE_CURVE_V2`` / ``VENUE_AMM`` (rows written before
            venues existed read as the legacy bonding curve, all they could be).
        quote_change: for a coin quoted in a token (USDC), the wallet's change of that
            token (base units) in the transaction; ``None`` for SOL coins.

    Units: the instruction's amounts (``sol_cost``, ``max_sol_cost``, ``sol_output``,
    ``min_sol_output``) and ``pump_sol`` are in the coin's *quote* units: lamports for a
    SOL coin, USDC base units for a USDC coin (the v2 instructions name them the same).
    ``sol_change`` and ``fee_lamports`` are always lamports (the transaction fee and rent
    are paid in SOL whatever the quote).
    """

    side: ClassVar[str] = "?"

    token_info: TokenInfo
    token_amount: int
    slippage_bps: int = 0
    priority_fee: int = 0
    compute_unit_limit: int = 0
    attempt: int = 1
    state: OrderState = OrderState.PENDING
    signature: str | None = None
    raw_transaction: str | None = None
    blockhash: str | None = None
    last_valid_block_height: int | None = None
    sent_at: float | None = None
    sent_at_wall: float | None = None
    confirmed_slot: int | None = None
    fee_lamports: int | None = None
    sol_change: int | None = None
    token_change: int | None = None
    error: Any = None
    error_code: int | None = None
    error_name: str | None = None
    error_message: str | None = None
    pump_sol: int | None = None
    balances_estimated: bool = False
    venue: str = VENUE_CURVE
    quote_change: int | None = None

    @property
    def mint(self) -> str:
        """The mint as base58, for logs and rows."""
        return str(self.token_info.mint)

    @property
    def is_resolved(self) -> bool:
        """True once the order is CONFIRMED or FAILED."""
        return self.state in RESOLVED_STATES

    @property
    @abc.abstractmethod
    def sol_amount(self) -> int:
        """The expected SOL amount of the trade (cost of a BUY, proceeds of a SELL)."""

    @property
    @abc.abstractmethod
    def sol_limit(self) -> int:
        """The SOL bound in the instruction (``max_sol_cost`` / ``min_sol_output``)."""

    def raw_bytes(self) -> bytes:
        """The signed transaction, for rebroadcast; ``OrderStateError`` if not signed."""
        return base64.b64decode(self.raw_base64())

    def raw_base64(self) -> str:
        """The signed transaction as base64 text, as ``sendTransaction`` carries it (no
        decoding and re-encoding on the way out); ``OrderStateError`` if not signed."""
        if self.raw_transaction is None:
            raise OrderStateError(f"{self.side} order of {self.mint} has no transaction")
        return self.raw_transaction

    def attach_transaction(
        self,
        *,
        signature: str | Signature,
        raw_transaction: bytes,
        blockhash: str | Hash,
        last_valid_block_height: int | None,
    ) -> None:
        """Record the signed transaction before it is sent (the order stays PENDING)."""
        self._require(OrderState.PENDING, "attach a transaction to")
        self.signature = str(signature)
        self.raw_transaction = base64.b64encode(raw_transaction).decode("ascii")
        self.blockhash = str(blockhash)
        self.last_valid_block_height = last_valid_block_height

    def mark_sent(self, *, sent_at: float, sent_at_wall: float) -> None:
        """PENDING → SENT once ``sendTransaction`` accepted the signed bytes."""
        self._require(OrderState.PENDING, "send")
        if self.signature is None:
            raise OrderStateError(f"{self.side} order of {self.mint} sent without a signature")
        self.state = OrderState.SENT
        self.sent_at = sent_at
        self.sent_at_wall = sent_at_wall
        logger.info("%s %s attempt %d: SENT %s", self.side, self.mint, self.attempt, self.signature)

    def mark_confirmed(
        self,
        *,
        slot: int | None,
        fee_lamports: int | None,
        sol_change: int,
        token_change: int,
        pump_sol: int | None = None,
        balances_estimated: bool = False,
        quote_change: int | None = None,
    ) -> TradeResult:
        """SENT → CONFIRMED with the wallet's balance changes read from the transaction
        (or, with ``balances_estimated``, from the quote when it could not be read)."""
        self._require(OrderState.SENT, "confirm")
        self.state = OrderState.CONFIRMED
        self.confirmed_slot = slot
        self.fee_lamports = fee_lamports
        self.sol_change = sol_change
        self.token_change = token_change
        self.pump_sol = pump_sol
        self.balances_estimated = balances_estimated
        self.quote_change = quote_change
        logger.info(
            "%s %s attempt %d: SENT → CONFIRMED slot=%s sol=%+d tokens=%+d",
            self.side, self.mint, self.attempt, slot, sol_change, token_change,
        )  # fmt: skip
        return self.to_result()

    def mark_failed(
        self,
        *,
        error: Any = None,
        error_code: int | None = None,
        error_name: str | None = None,
        error_message: str | None = None,
        slot: int | None = None,
        fee_lamports: int | None = None,
        sol_change: int | None = None,
        token_change: int | None = None,
        quote_change: int | None = None,
    ) -> TradeResult:
        """PENDING/SENT → FAILED.

        Pass the on-chain amounts when the failed transaction landed (its fee was
        still charged); leave them ``None`` when it never did (rejected by the node,
        blockhash expired).
        """
        if self.is_resolved:
            raise OrderStateError(f"{self.side} order of {self.mint} is already {self.state}")
        previous = self.state
        self.state = OrderState.FAILED
        self.error = error
        self.error_code = error_code
        self.error_name = error_name
        self.error_message = error_message
        self.confirmed_slot = slot
        self.fee_lamports = fee_lamports
        self.sol_change = sol_change
        self.token_change = token_change
        self.quote_change = quote_change
        logger.info(
            "%s %s attempt %d: %s → FAILED %s (%s)",
            self.side, self.mint, self.attempt, previous, error_name, error_code,
        )  # fmt: skip
        return self.to_result()

    def to_result(self) -> TradeResult:
        """The ``TradeResult`` of a resolved order."""
        if not self.is_resolved:
            raise OrderStateError(f"{self.side} order of {self.mint} is not resolved")
        return TradeResult(
            success=self.state is OrderState.CONFIRMED,
            state=self.state,
            signature=self.signature,
            sol_change=self.sol_change,
            token_change=self.token_change,
            fee=self.fee_lamports,
            error_code=self.error_code,
            error_name=self.error_name,
            error_message=self.error_message,
            slot=self.confirmed_slot,
            pump_sol=self.pump_sol,
            balances_estimated=self.balances_estimated,
            quote_change=self.quote_change,
        )

    def _require(self, state: OrderState, action: str) -> None:
        if self.state is not state:
            raise OrderStateError(
                f"cannot {action} {self.side} order of {self.mint} in state {self.state}"
            )


@attrs.define(eq=False, kw_only=True)
class BuyOrder(Order):
    """A pump ``buy(amount=token_amount, max_sol_cost)``.

    Attributes:
        max_sol_cost: the instruction's limit (``sol_cost`` plus slippage).
        sol_cost: expected lamports the curve takes, pump fees included
            (``BuyQuote.total``); excludes the transaction fee and account rent.
    """

    side: ClassVar[str] = "buy"

    max_sol_cost: int
    sol_cost: int

    @property
    def sol_amount(self) -> int:
        return self.sol_cost

    @property
    def sol_limit(self) -> int:
        return self.max_sol_cost


@attrs.define(eq=False, kw_only=True)
class SellOrder(Order):
    """A pump ``sell(amount=token_amount, min_sol_output)``.

    Attributes:
        min_sol_output: the instruction's floor (``sol_output`` minus slippage).
        sol_output: expected lamports to the wallet after pump fees (``SellQuote.net``);
            excludes the transaction fee.
        sent_before_buy_confirmed: the SELL left while the position's BUY was not yet
            CONFIRMED (a pre-confirmation sell; counted in the store's counters).
        close_ix_index: the index (compute-budget instructions included) of the
            instruction closing the wallet's token account, ``None`` when it does not close
            it: a failure there means the account cannot be closed, not that the sale did.
    """

    side: ClassVar[str] = "sell"

    min_sol_output: int
    sol_output: int
    sent_before_buy_confirmed: bool = False
    close_ix_index: int | None = CURVE_CLOSE_IX_INDEX

    @property
    def sol_amount(self) -> int:
        return self.sol_output

    @property
    def sol_limit(self) -> int:
        return self.min_sol_output
