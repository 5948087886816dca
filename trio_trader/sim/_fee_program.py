"""The pump fee program's ``GetFeesWithQuoteMint``, as the 2026 pump program CPIs it.

Since 2026-03 a legacy ``buy`` / ``sell`` asks the fee program (``pfeeUx…ojVZ``) for its
rates before it moves anything (PROTOCOL.md §0). Real 2026-10-05 mainnet trades
(aquecerandroi-oss/project-hunter public fixtures t48e_rpc_tx_buy_3JLToMLjc2mt and
t48e_rpc_tx_sell_61x6SRWNuLhg) log it as the pump frame's first CPI::

    Program pfeeUx… invoke [2]
    Program log: Instruction: GetFeesWithQuoteMint
    Program pfeeUx… consumed 3360 of 68049 compute units
    Program return: pfeeUx… AAAAAAAAAABfAAAAAAAAAB4AAAAAAAAA
    Program pfeeUx… success

with an inner instruction to the fee program over ``[fee_config, pump program]`` whose
data is the discriminator, ``is_pump_pool = true``, the curve's market cap before the
trade (u128, ``floor(v_sol · supply / v_tok)``) and the quote mint (the zero key for SOL
curves); the return data is the tier's ``Fees`` (lp, protocol, creator bps; 24 bytes).
Both real trades consumed 3,360 CU in the fee program, which is what this charges.

The answer is the FeeConfig's table, before the pump program applies a coin's own
creator rate or zeroes the creator fee of a creator-less curve (:func:`fee_rates` does
that part). The return data is not left in the transaction's ``returnData``: the token
CPI that follows resets it, as on mainnet.
"""

from __future__ import annotations

import base64

import base58
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump._borsh import Writer, anchor_discriminator
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees

from ._invoke import InvokeContext

__all__ = [
    "GET_FEES_COMPUTE_UNITS",
    "GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR",
    "fee_program_cpi",
    "get_fees_cpi",
]

GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR = anchor_discriminator("global", "get_fees_with_quote_mint")
#: what the fee program consumed in both real 2026-10-05 trades
GET_FEES_COMPUTE_UNITS = 3_360


def table_fees(curve: BondingCurve, fee_config: FeeConfig) -> Fees:
    """The fee program's answer for this curve: its tier by quote mint and market cap."""
    supply = curve.token_total_supply if curve.is_mayhem_mode else C.TOKEN_TOTAL_SUPPLY
    cap = C.market_cap_lamports(C.Reserves.of(curve), supply)
    quote = curve.quote_mint
    if quote is None or quote in (A.ZERO_KEY, A.WSOL_MINT):
        return fee_config.rates_for(cap)
    if quote == A.USDC_MINT:
        return fee_config.rates_for(cap, tiers="stable_fee_tiers")
    exotic = fee_config.exotic_flat_fees
    return exotic if exotic is not None and exotic != Fees(0, 0, 0) else fee_config.flat_fees


def get_fees_cpi(ctx: InvokeContext, curve: BondingCurve, fee_config: FeeConfig) -> Fees:
    """Log and record the CPI, charge its compute units, return the fee program's answer."""
    supply = curve.token_total_supply if curve.is_mayhem_mode else C.TOKEN_TOTAL_SUPPLY
    return fee_program_cpi(
        ctx,
        fee_config_key=A.FEE_CONFIG,
        caller=A.PUMP_PROGRAM_ID,
        is_pump_pool=True,  # what the real bonding-curve trades send
        market_cap=C.market_cap_lamports(C.Reserves.of(curve), supply),
        quote_mint=curve.quote_mint or A.ZERO_KEY,
        fees=table_fees(curve, fee_config),
    )


def fee_program_cpi(
    ctx: InvokeContext,
    *,
    fee_config_key: Pubkey,
    caller: Pubkey,
    is_pump_pool: bool,
    market_cap: int,
    quote_mint: Pubkey,
    fees: Fees,
    depth: int = 1,
) -> Fees:
    """One ``GetFeesWithQuoteMint`` CPI by ``caller`` (at stack height ``depth``) that
    answers ``fees``: its inner instruction, log lines, return data and compute units.

    PumpSwap trades are assumed to ask the same way over their own FeeConfig
    (``5PHirr…``), with ``is_pump_pool`` true for canonical pools (inferred: no real
    PumpSwap trade was captured).
    """
    data = (
        Writer(GET_FEES_WITH_QUOTE_MINT_DISCRIMINATOR)
        .bool(is_pump_pool)
        .u128(market_cap)
        .pubkey(quote_mint)
        .to_bytes()
    )
    program = A.PUMP_FEE_PROGRAM_ID
    ctx.inner.append(
        {
            "programIdIndex": _index(ctx, program),
            "accounts": [_index(ctx, fee_config_key), _index(ctx, caller)],
            "data": base58.b58encode(data).decode(),
            "stackHeight": depth + 1,
        }
    )
    remaining = ctx.compute_limit - ctx.consumed
    ctx.log(f"Program {program} invoke [{depth + 1}]")
    ctx.log("Program log: Instruction: GetFeesWithQuoteMint")
    if remaining < GET_FEES_COMPUTE_UNITS:  # the budget runs out inside the fee program
        ctx.log(f"Program {program} consumed {remaining} of {remaining} compute units")
        ctx.log(f"Program {program} failed: exceeded CUs meter at BPF instruction")
        ctx.charge(GET_FEES_COMPUTE_UNITS)  # raises ComputationalBudgetExceeded
    ctx.log(f"Program {program} consumed {GET_FEES_COMPUTE_UNITS} of {remaining} compute units")
    ctx.log(f"Program return: {program} {base64.b64encode(fees.encode()).decode()}")
    ctx.log(f"Program {program} success")
    ctx.charge(GET_FEES_COMPUTE_UNITS)
    return fees


def _index(ctx: InvokeContext, key: Pubkey) -> int:
    try:
        return list(ctx.keys).index(key)
    except ValueError:
        return -1
