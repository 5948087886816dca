"""The accounts of a bonding-curve SELL, as one hashable value: its template's key.

Every account the SELL's instructions name is a function of these fields (the builders in
``pump.instructions`` derive the PDAs and associated token accounts from them), so two
SELLs with equal shapes compile to the same keys and differ only in their blockhash and
data numbers (``chain/templates``); any account that changes changes the shape.
"""

from __future__ import annotations

import attrs
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses, instructions

__all__ = ["CurveSellShape"]


@attrs.frozen(cache_hash=True)
class CurveSellShape:
    """A curve SELL's accounts: ``sell`` (or ``sell_v2``), then the token account's close."""

    user: Pubkey
    mint: Pubkey
    creator: Pubkey
    token_program: Pubkey
    fee_recipient: Pubkey
    buyback_fee_recipient: Pubkey
    v2: bool
    cashback: bool
    quote_mint: Pubkey | None
    close: bool
    #: the token's (bonding curve, its token account): named, not derived again
    curve: tuple[Pubkey, Pubkey] | None = None

    def program_instructions(self, amount: int, min_output: int) -> list[Instruction]:
        """The SELL's program instructions (the compute budget comes before them)."""
        user, mint, token_program = self.user, self.mint, self.token_program
        if self.v2:
            sell = instructions.sell_v2(
                user=user, mint=mint, creator=self.creator, token_program=token_program,
                fee_recipient=self.fee_recipient, buyback_fee_recipient=self.buyback_fee_recipient,
                quote_mint=self.quote_mint, amount=amount, min_sol_output=min_output,
                curve=self.curve,
            )  # fmt: skip
        else:
            sell = instructions.sell(
                user=user, mint=mint, creator=self.creator, token_program=token_program,
                fee_recipient=self.fee_recipient, buyback_fee_recipient=self.buyback_fee_recipient,
                cashback=self.cashback, amount=amount, min_sol_output=min_output,
                curve=self.curve,
            )  # fmt: skip
        if not self.close:
            return [sell]
        close = instructions.close_account(
            account=addresses.associated_token_address(user, mint, token_program),
            destination=user, owner=user, token_program=token_program,
        )  # fmt: skip
        return [sell, close]
