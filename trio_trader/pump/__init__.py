"""The pump.fun bonding-curve protocol, pure: no I/O, no async.

Modules (each usable on its own):

* :mod:`.addresses` - program ids, fixed accounts, PDAs, fee recipient lists
* :mod:`.accounts` - ``BondingCurve`` / ``Global`` / ``FeeConfig`` decode and encode
* :mod:`.events` - ``CreateEvent`` / ``TradeEvent`` / ``CompleteEvent``, ``parse_logs``
* :mod:`.instructions` - buy / sell / create builders and their decoders
* :mod:`.curve` - integer curve and fee math
* :mod:`.errors` - program error codes → names and explanations

Everything that reads bytes raises :class:`DecodeError` (a ``ValueError``) and nothing
else on bad input.
"""

from __future__ import annotations

from . import accounts, addresses, curve, errors, events, instructions
from ._borsh import DecodeError
from .accounts import BondingCurve, FeeConfig, Fees, FeeTier, Global
from .curve import (
    BuyQuote,
    FeeRates,
    Reserves,
    SellQuote,
    fee_rates,
    quote_buy,
    quote_buy_exact_sol_in,
    quote_buy_for_sol,
    quote_sell,
)
from .errors import ProgramError, describe_error, error_from_transaction_err
from .events import (
    CompleteEvent,
    CreateEvent,
    Event,
    TradeEvent,
    decode_event,
    encode_event,
    parse_logs,
)
from .instructions import decode_compute_budget, decode_pump_instruction

__all__ = [
    "BondingCurve",
    "BuyQuote",
    "CompleteEvent",
    "CreateEvent",
    "DecodeError",
    "Event",
    "FeeConfig",
    "FeeRates",
    "FeeTier",
    "Fees",
    "Global",
    "ProgramError",
    "Reserves",
    "SellQuote",
    "TradeEvent",
    "accounts",
    "addresses",
    "curve",
    "decode_compute_budget",
    "decode_event",
    "decode_pump_instruction",
    "describe_error",
    "encode_event",
    "error_from_transaction_err",
    "errors",
    "events",
    "fee_rates",
    "instructions",
    "parse_logs",
    "quote_buy",
    "quote_buy_exact_sol_in",
    "quote_buy_for_sol",
    "quote_sell",
]
