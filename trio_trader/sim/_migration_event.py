"""pump's ``CompletePumpAmmMigrationEvent``, which ``trio_trader.pump.events`` does not model.

Fields and discriminator from pump.json (SDK 2.0.0): ``user, mint, mint_amount,
sol_amount, pool_migration_fee, bonding_curve, timestamp, pool, quote_mint`` — borsh,
after ``sha256("event:CompletePumpAmmMigrationEvent")[:8]``. Written here because the
pure ``pump`` package is out of this simulator change's scope; it is the one event the
simulator emits that the bot does not decode.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump._borsh import DecodeError, Reader, Writer

__all__ = ["CompletePumpAmmMigrationEvent"]


@attrs.frozen
class CompletePumpAmmMigrationEvent:
    """What pump's ``migrate`` logs after the pool is created (pump.json)."""

    DISCRIMINATOR: ClassVar[bytes] = bytes([189, 233, 93, 185, 92, 148, 234, 148])

    user: Pubkey
    mint: Pubkey
    mint_amount: int
    sol_amount: int  # in quote-mint units (pump.json doc)
    pool_migration_fee: int
    bonding_curve: Pubkey
    timestamp: int
    pool: Pubkey
    quote_mint: Pubkey

    def encode(self) -> bytes:
        w = Writer(self.DISCRIMINATOR).pubkey(self.user).pubkey(self.mint)
        w.u64(self.mint_amount).u64(self.sol_amount).u64(self.pool_migration_fee)
        w.pubkey(self.bonding_curve).i64(self.timestamp).pubkey(self.pool)
        return w.pubkey(self.quote_mint).to_bytes()

    @classmethod
    def decode(cls, data: bytes) -> CompletePumpAmmMigrationEvent:
        """Raises: DecodeError: another event, or cut short."""
        if data[:8] != cls.DISCRIMINATOR:
            raise DecodeError(f"not a CompletePumpAmmMigrationEvent: {data[:8].hex()}")
        r = Reader(bytes(data), 8)
        return cls(
            user=r.pubkey("user"),
            mint=r.pubkey("mint"),
            mint_amount=r.u64("mint_amount"),
            sol_amount=r.u64("sol_amount"),
            pool_migration_fee=r.u64("pool_migration_fee"),
            bonding_curve=r.pubkey("bonding_curve"),
            timestamp=r.i64("timestamp"),
            pool=r.pubkey("pool"),
            quote_mint=r.pubkey("quote_mint"),
        )
