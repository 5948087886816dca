"""PumpSwap (pump AMM, ``pAMMBay6…XEA``): where completed pump curves trade. Pure, no I/O.

Modules:

* :mod:`.addresses` - fixed accounts and PDAs (pool, pool_v2, creator vault, …)
* :mod:`.accounts` - ``Pool`` / ``GlobalConfig`` decode and encode
* :mod:`.instructions` - ``buy`` / ``buy_exact_quote_in`` / ``sell`` / ``extend_account``
  builders and their decoder
* :mod:`.events` - ``BuyEvent`` / ``SellEvent`` / ``CreatePoolEvent``, ``parse_amm_logs``
* :mod:`.quote` - constant-product quotes and fee selection
* :mod:`.migration` - ``pool_from_completed_curve``

Sources and dates: docs/protocol-pumpswap.md.
"""

from __future__ import annotations

from . import accounts, addresses, events, instructions, migration, quote
from .accounts import GlobalConfig, Pool
from .events import (
    AmmEvent,
    BuyEvent,
    CreatePoolEvent,
    SellEvent,
    decode_amm_event,
    encode_amm_event,
    parse_amm_logs,
)
from .instructions import (
    amm_buy,
    amm_buy_exact_quote_in,
    amm_extend_account,
    amm_sell,
    decode_amm_instruction,
    pool_needs_extend,
)
from .migration import Migration, pool_from_completed_curve
from .quote import (
    AmmBuyQuote,
    AmmSellQuote,
    PoolReserves,
    amm_fee_rates,
    quote_amm_buy,
    quote_amm_buy_exact_quote_in,
    quote_amm_sell,
)

__all__ = [
    "AmmBuyQuote",
    "AmmEvent",
    "AmmSellQuote",
    "BuyEvent",
    "CreatePoolEvent",
    "GlobalConfig",
    "Migration",
    "Pool",
    "PoolReserves",
    "SellEvent",
    "accounts",
    "addresses",
    "amm_buy",
    "amm_buy_exact_quote_in",
    "amm_extend_account",
    "amm_fee_rates",
    "amm_sell",
    "decode_amm_event",
    "decode_amm_instruction",
    "encode_amm_event",
    "events",
    "instructions",
    "migration",
    "parse_amm_logs",
    "pool_from_completed_curve",
    "pool_needs_extend",
    "quote",
    "quote_amm_buy",
    "quote_amm_buy_exact_quote_in",
    "quote_amm_sell",
]
