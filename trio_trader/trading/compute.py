"""Compute-unit limits per transaction kind, measured instead of one fixed 120k.

A transaction whose limit is below what it consumes fails (and still pays its fee); one
whose limit is far above it pays priority fee for units it never uses (the fee is
``limit × price``). Each limit below is what ``simulateTransaction`` reported for that
kind of transaction on the project's simulator (whose pump program charges the
mainnet-calibrated compute units of the 2026-10 program, fee-program CPI included), with
the worst case of each kind measured (a Token-2022 coin, a first trade that creates the
token account, volume accumulator and creator vault, a curve that grows to 166 bytes)
and a margin of ``MARGIN_PCT`` on top. ``tests/trading/test_compute_units.py``
re-measures every kind and fails when a limit no longer covers it with that margin.
"""

from __future__ import annotations

import enum

import attrs

#: head-room over the measured worst case, in percent
MARGIN_PCT = 30


class TxKind(enum.StrEnum):
    """The transactions the bot signs (compute-budget instructions included)."""

    BUY = "buy"  # create the token account (idempotent) + pump buy
    BUY_V2 = "buy_v2"  # create the token account (idempotent) + pump buy_v2
    SELL = "sell"  # pump sell + close the token account
    SELL_V2 = "sell_v2"  # pump sell_v2 + close the token account
    AMM_SELL = "amm_sell"  # create WSOL account + PumpSwap sell + close both accounts


#: measured worst case per kind (see the module docstring), before the margin
MEASURED: dict[TxKind, int] = {
    TxKind.BUY: 90_000,
    TxKind.BUY_V2: 110_000,
    TxKind.SELL: 60_000,
    TxKind.SELL_V2: 80_000,
    TxKind.AMM_SELL: 120_000,
}


def with_margin(units: int) -> int:
    """``units`` plus ``MARGIN_PCT`` percent, rounded up to a thousand."""
    padded = units * (100 + MARGIN_PCT) // 100
    return -(-padded // 1_000) * 1_000


@attrs.frozen
class ComputeUnits:
    """The limit to sign each kind of transaction with.

    ``fixed`` (the config's ``trade.compute_unit_limit`` with ``compute_units = "fixed"``)
    overrides the measured table for every kind.
    """

    fixed: int | None = None

    def limit(self, kind: TxKind) -> int:
        if self.fixed is not None:
            return self.fixed
        return with_margin(MEASURED[kind])
