"""Rows and JSON columns ↔ the domain objects, through one private cattrs Converter.

Pubkeys are stored as base58 text, ``OrderState`` as its string value, booleans as
0/1, and each order as JSON text in its position row. The order JSON leaves out the
``token_info`` (it is the position's, stored once in ``token_info``) and is given back
the position's instance on load, so a position and its orders share one ``TokenInfo``.
An order is written from its fields directly (every one is a JSON value already) with
orjson (``_json.py``): it runs right after every send's request is written, in the
sending task.

A row that cannot be read (bad JSON, a field of the wrong type, a missing key) raises
``CorruptRowError`` naming the table, the row and the column, so one bad row can be
reported and skipped instead of failing every listing.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
from solders.pubkey import Pubkey

from trio_trader.store import _json
from trio_trader.trading.orders import BuyOrder, Order, OrderState, SellOrder
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

Row = dict[str, Any]
_O = TypeVar("_O", bound=Order)


class CorruptRowError(ValueError):
    """A database row that does not decode; ``table``, ``row_id`` and ``column`` say where."""

    def __init__(self, table: str, row_id: object, column: str | None, reason: str) -> None:
        where = f"{table} row {row_id}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {reason}")
        self.table = table
        self.row_id = row_id
        self.column = column
        self.reason = reason


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(Pubkey, str)
    conv.register_structure_hook(Pubkey, lambda value, _type: Pubkey.from_string(value))
    conv.register_unstructure_hook(OrderState, lambda state: state.value)
    return conv


_converter = _make_converter()

TOKEN_INFO_COLUMNS = tuple(a.name for a in attrs.fields(TokenInfo))

# position attribute → column; the orders and token_info are handled apart (``quote_mint``
# is written for SQL and reports, and read back from the token's info, its source)
POSITION_COLUMNS = (
    "mint",
    "is_active",
    "is_closed",
    "token_amount",
    "entry_price",
    "sol_spent",
    "sol_received",
    "exit_reason",
    "realized_pnl_lamports",
    "created_at",
    "closed_at",
    "sell_attempts",
    "quote_mint",
    "quote_spent",
    "quote_received",
    "realized_pnl_quote",
)


def token_info_to_row(token_info: TokenInfo) -> Row:
    row: Row = _converter.unstructure(token_info)
    return row


def token_info_from_row(row: Row) -> TokenInfo:
    values = {name: row[name] for name in TOKEN_INFO_COLUMNS if name in row}
    try:
        return _converter.structure(values, TokenInfo)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise CorruptRowError("token_info", row.get("mint"), None, _describe(exc)) from exc


@functools.cache
def _order_fields(cls: type[Order]) -> tuple[tuple[str, ...], Callable[[Order], tuple[Any, ...]]]:
    """The keys of an order's JSON, sorted (every attrs field of its class but
    ``token_info``), and one getter of their values."""
    names = tuple(sorted(a.name for a in attrs.fields(cls) if a.name != "token_info"))
    return names, operator.attrgetter(*names)


def order_to_json(order: Order | None) -> str | None:
    """The JSON text of an order's column (``None`` → SQL NULL): compact, its keys sorted
    (``state_marker`` relies on both)."""
    if order is None:
        return None
    cls = type(order)
    values = _order_fields(cls)[1](order)
    try:
        return _order_text(cls, values)
    except TypeError:  # an unhashable value (a node's error object): not cached
        return _encode_order(cls, values)


@functools.lru_cache(maxsize=1024)
def _order_text(cls: type[Order], values: tuple[Any, ...]) -> str:
    """``_encode_order``, remembered: the text is a function of the values, and a
    position's BUY is written again, unchanged, with every later write of its row (the
    SELL's, right after its request)."""
    return _encode_order(cls, values)


def _encode_order(cls: type[Order], values: tuple[Any, ...]) -> str:
    data: Row = dict(zip(_order_fields(cls)[0], values, strict=True))
    data["state"] = str(data["state"])  # the value; in place: the keys stay sorted
    # ``error`` is whatever the chain layer reported; one that is not JSON (an exception,
    # bytes) is stored as its text rather than losing the whole position row
    return _json.dumps(data).decode()


def state_marker(state: OrderState) -> str:
    """The text an order column holds for ``state`` (``order_to_json`` is compact and
    sorted), so SQL can find candidate rows without parsing JSON."""
    return json.dumps({"state": state.value}, separators=(",", ":"))[1:-1]


def order_from_json(
    text: str | None, cls: type[_O], token_info: TokenInfo, *, row_id: object, column: str
) -> _O | None:
    """Decode an order column; ``CorruptRowError`` naming the row when it does not."""
    if text is None:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        data["token_info"] = _converter.unstructure(token_info)
        order = _converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        raise CorruptRowError("positions", row_id, column, _describe(exc)) from exc
    order.token_info = token_info
    return order


def position_to_row(position: Position) -> Row:
    """Every persisted column of a position, including ``status`` and both orders."""
    row: Row = {name: getattr(position, name) for name in POSITION_COLUMNS}
    row["mint"] = str(position.mint)
    row["quote_mint"] = None if position.quote_mint is None else str(position.quote_mint)
    row["status"] = position.status
    row["buy_order"] = order_to_json(position.buy_order)
    row["sell_order"] = order_to_json(position.sell_order)
    return row


def position_from_row(row: Row, token_info: TokenInfo | None) -> Position:
    """Rebuild a position from its row and its token's info."""
    row_id = row.get("id")
    if token_info is None:
        raise CorruptRowError("positions", row_id, "mint", f"no token_info for {row.get('mint')}")
    buy = order_from_json(row["buy_order"], BuyOrder, token_info, row_id=row_id, column="buy_order")
    sell = order_from_json(
        row["sell_order"], SellOrder, token_info, row_id=row_id, column="sell_order"
    )
    try:
        return Position(
            id=row_id,
            mint=token_info.mint,
            token_info=token_info,
            is_active=bool(row["is_active"]),
            is_closed=bool(row["is_closed"]),
            buy_order=buy,
            sell_order=sell,
            token_amount=row["token_amount"],
            entry_price=row["entry_price"],
            sol_spent=row["sol_spent"],
            sol_received=row["sol_received"],
            exit_reason=row["exit_reason"],
            realized_pnl_lamports=row["realized_pnl_lamports"],
            created_at=row["created_at"],
            closed_at=row["closed_at"],
            sell_attempts=row["sell_attempts"],
            quote_spent=row["quote_spent"],
            quote_received=row["quote_received"],
            realized_pnl_quote=row["realized_pnl_quote"],
        )
    except KeyError as exc:
        raise CorruptRowError("positions", row_id, str(exc.args[0]), "column missing") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return f"{type(exc).__name__}: {exc}"
