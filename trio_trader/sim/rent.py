"""The rent the simulated cluster charges: mainnet's 2026 rate.

A rent-exempt account holds ``(128 + data length) × lamports per byte``. Solana's default
is 6,960 lamports per byte (3,480 a byte-year × 2 years), which mainnet charged until at
least 2025-05 (the 2024-08 and 2025-05 captures in ``../shared/pumpfun/samples``: a 165-byte
token account holds 2,039,280). By 2026-10 mainnet charged **5,080**: real transactions of
2026-10-05/08 (public fixtures of aquecerandroi-oss/project-hunter) create a 170-byte
Token-2022 account with 1,513,840 lamports (298 × 5,080), a 165-byte one with 1,488,440,
and grow a 151-byte bonding curve to 166 bytes for 76,200 (15 × 5,080).

The ledger installs :data:`MAINNET_RENT` as LiteSVM's Rent sysvar before genesis, so the
real SPL programs (which read the sysvar), the Python pump emulation, genesis accounts and
``getMinimumBalanceForRentExemption`` all charge the same figure.
"""

from __future__ import annotations

from solders.rent import Rent

__all__ = ["MAINNET_LAMPORTS_PER_BYTE", "MAINNET_RENT"]

MAINNET_LAMPORTS_PER_BYTE = 5_080
"""Lamports per byte (account overhead included) a rent-exempt account holds, 2026-10."""

MAINNET_RENT = Rent.default().with_lamports_per_byte(MAINNET_LAMPORTS_PER_BYTE)
"""The Rent sysvar: that rate, exemption threshold 1 (no year multiplier), burn 50 %."""
