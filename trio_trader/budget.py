"""What one BUY can cost the wallet at most, so the bot never starts (or sends) a BUY it
cannot pay for.

A BUY that the wallet cannot fund fails on chain but still pays its fee, and a BUY that
lands but leaves too little for its SELL's fee strands the tokens. So the estimate is an
upper bound of everything a BUY and its SELL take from the wallet before the SELL pays
anything back:

* the BUY's ``max_sol_cost``: ``buy_lamports`` plus the slippage allowance (pump fees are
  inside ``buy_lamports``, see ``trade.buy_amount_sol``);
* the rent of the accounts the BUY may create: the wallet's token account (165 bytes), the
  user volume accumulator (created by pump on the wallet's first BUY), a new creator vault
  (pump pays the creator fee into it, and the buyer funds its rent-exempt minimum), and the
  rent of the bonding curve's growth (pump extends an old curve on its first trade,
  PROTOCOL.md's 2026-10-08 entry: ≈76,200 lamports);
* two transaction fees (the BUY and its SELL): one signature each plus the priority fee at
  the compute-unit limit.

Only ``chain`` and ``pump`` are imported, so the trading layer can use it too (the check
before each BUY): load :class:`BuyRents` once, then call :func:`one_buy_cost`.
"""

from __future__ import annotations

import attrs

from trio_trader.chain.rpc import RpcClient
from trio_trader.pump.curve import max_sol_cost

#: an SPL token account (both token programs' base size)
TOKEN_ACCOUNT_SIZE = 165
#: pump's UserVolumeAccumulator: disc, user, needs_claim, 4 u64, has_total_claimed, 4 u64
USER_VOLUME_ACCUMULATOR_SIZE = 8 + 32 + 1 + 8 * 4 + 1 + 8 * 4
#: lamports per signature (Solana's base fee); every bot transaction has one signature
SIGNATURE_FEE = 5_000
#: upper bound of the rent pump charges when it grows an old bonding curve (151 → 166 B
#: costs ≈76,200 lamports; rounded up for a later growth)
CURVE_GROWTH_RENT = 200_000
#: the BUY and the SELL that must follow it
TRANSACTIONS_PER_BUY = 2


@attrs.frozen(kw_only=True)
class BuyRents:
    """Rent-exempt minimums of the accounts a BUY may create, read from the node once."""

    token_account: int
    volume_accumulator: int
    creator_vault: int

    @classmethod
    async def load(cls, rpc: RpcClient) -> BuyRents:
        """``getMinimumBalanceForRentExemption`` of each (three requests)."""
        return cls(
            token_account=await rpc.get_minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_SIZE),
            volume_accumulator=await rpc.get_minimum_balance_for_rent_exemption(
                USER_VOLUME_ACCUMULATOR_SIZE
            ),
            creator_vault=await rpc.get_minimum_balance_for_rent_exemption(0),
        )

    @property
    def total(self) -> int:
        """All of them, plus the bonding curve's possible growth."""
        return self.token_account + self.volume_accumulator + self.creator_vault + CURVE_GROWTH_RENT


def transaction_fee(*, compute_unit_limit: int, priority_fee_micro_lamports: int) -> int:
    """The most one transaction pays in fees: its signature plus the priority fee (ceil)."""
    if compute_unit_limit < 0 or priority_fee_micro_lamports < 0:
        raise ValueError("compute_unit_limit and priority_fee_micro_lamports must be >= 0")
    return SIGNATURE_FEE + -(-compute_unit_limit * priority_fee_micro_lamports // 1_000_000)


def one_buy_cost(
    *,
    buy_lamports: int,
    slippage_bps: int,
    rents: BuyRents,
    compute_unit_limit: int,
    priority_fee_micro_lamports: int,
) -> int:
    """Lamports the wallet must hold to send one BUY and the SELL after it (upper bound).

    Args:
        buy_lamports: the BUY's budget, pump fees included (``trade.buy_amount_sol``).
        slippage_bps: the BUY slippage (``trade.buy_slippage_bps``): ``max_sol_cost`` is
            ``buy_lamports`` plus that share of it.
        rents: the node's rent-exempt minimums (:meth:`BuyRents.load`).
        compute_unit_limit: the transactions' compute-unit limit.
        priority_fee_micro_lamports: the price per compute unit (the cap when dynamic).
    """
    fee = transaction_fee(
        compute_unit_limit=compute_unit_limit,
        priority_fee_micro_lamports=priority_fee_micro_lamports,
    )
    return max_sol_cost(buy_lamports, slippage_bps) + rents.total + TRANSACTIONS_PER_BUY * fee
