"""PumpSwap accounts: ``Pool`` and ``GlobalConfig`` (docs/protocol-pumpswap.md §3).

Both are an 8-byte discriminator then fixed-offset borsh fields, and every AMM upgrade has
only appended fields (pump-public-docs IDL history 2025-04 … 2026-05, SDK 1.20.0 and the
pump-sdk 2.0.0 IDL). As in :mod:`trio_trader.pump.accounts`, :meth:`decode` reads the
fields a live account of any historical length holds and leaves the rest ``None``;
:meth:`encode` writes the newest layout, zero-filling ``None``, padded to the size the
program grows accounts to, so the simulator can store what a mainnet node would return.
"""

from __future__ import annotations

from typing import ClassVar, Self

import attrs
from solders.pubkey import Pubkey

from .. import _layout as L
from ..addresses import ZERO_KEY

__all__ = ["I128", "GlobalConfig", "Pool"]


I128 = L.I128  # public here since the AMM introduced it; defined with the other kinds


_POOL_FIELDS: tuple[L.Field, ...] = (
    ("pool_bump", L.U8),
    ("index", L.U16),
    ("creator", L.PUBKEY),
    ("base_mint", L.PUBKEY),
    ("quote_mint", L.PUBKEY),
    ("lp_mint", L.PUBKEY),
    ("pool_base_token_account", L.PUBKEY),
    ("pool_quote_token_account", L.PUBKEY),
    ("lp_supply", L.U64),  # 2025-04 pools end here (211 bytes)
    ("coin_creator", L.PUBKEY),  # 2025-05: 243
    ("is_mayhem_mode", L.BOOL),  # 2025-11: 244
    ("is_cashback_coin", L.BOOL),  # 2026-02: 245
    ("virtual_quote_reserves", L.I128),  # boost (SDK 1.20.0): 261
    ("creator_fee_bps", L.U64),  # 269
    ("can_edit_creator_fee", L.BOOL),  # 270 = SDK 1.20.0 POOL_SIZE
    ("is_holder_reward", L.BOOL),  # pump-sdk 2.0.0 IDL: 271
)


@attrs.frozen
class Pool:
    """One PumpSwap pool, PDA ``["pool", index, creator, base_mint, quote_mint]``.

    ``coin_creator`` is ``None`` on a 2025-04 (211-byte) pool; the zero key means "no coin
    creator" (no creator fee, no ``pool_v2`` account on trades).
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("f19a6d0411b16dbc")
    MIN_SIZE: ClassVar[int] = 211
    # extend_account grows pools to 300 bytes; fields end at 271.
    SIZE: ClassVar[int] = 300

    pool_bump: int
    index: int
    creator: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    lp_mint: Pubkey
    pool_base_token_account: Pubkey
    pool_quote_token_account: Pubkey
    lp_supply: int
    coin_creator: Pubkey | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_coin: bool | None = None
    virtual_quote_reserves: int | None = None
    creator_fee_bps: int | None = None
    can_edit_creator_fee: bool | None = None
    is_holder_reward: bool | None = None

    @property
    def has_coin_creator(self) -> bool:
        """Whether trades pay a creator fee and name ``pool_v2`` (SDK rule)."""
        return self.coin_creator is not None and self.coin_creator != ZERO_KEY

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode any historical length (211 … 300+ bytes).

        Raises:
            DecodeError: wrong discriminator or shorter than the 2025-04 layout (211 bytes).
        """
        values = L.decode_account(data, cls.DISCRIMINATOR, _POOL_FIELDS, required=9, what="Pool")
        return cls(**values)

    def encode(self) -> bytes:
        """The newest layout, zero-padded to 300 bytes (a pool after ``extend_account``)."""
        return L.encode_account(self.DISCRIMINATOR, _POOL_FIELDS, self, size=self.SIZE)


_GLOBAL_CONFIG_FIELDS: tuple[L.Field, ...] = (
    ("admin", L.PUBKEY),
    ("lp_fee_basis_points", L.U64),
    ("protocol_fee_basis_points", L.U64),
    ("disable_flags", L.U8),
    ("protocol_fee_recipients", L.pubkey_array(8)),  # 2025-04 ends here (313 bytes)
    ("coin_creator_fee_basis_points", L.U64),  # 2025-05
    ("admin_set_coin_creator_authority", L.PUBKEY),  # 2025-07
    ("whitelist_pda", L.PUBKEY),  # 2025-11-07
    ("reserved_fee_recipient", L.PUBKEY),
    ("mayhem_mode_enabled", L.BOOL),
    ("reserved_fee_recipients", L.pubkey_array(7)),  # 2025-11-16
    ("is_cashback_enabled", L.BOOL),  # 2026-02-17
    ("buyback_fee_recipients", L.pubkey_array(8)),  # 2026-05
    ("buyback_basis_points", L.U64),  # 907 bytes
    ("boost_authority", L.PUBKEY),  # SDK 1.20.0
    ("boost_enabled", L.BOOL),  # 940 bytes
    ("creator_fee_configurable", L.BOOL),
    ("max_configurable_creator_fee_bps", L.U64),  # 949 bytes
)


@attrs.frozen
class GlobalConfig:
    """The AMM's settings, PDA ``["global_config"]`` (``ADyA8h…JKqw``).

    Its ``lp_fee_basis_points`` / ``protocol_fee_basis_points`` /
    ``coin_creator_fee_basis_points`` are only the fallback when no fee program FeeConfig
    is used; mainnet trades take their rates from the AMM FeeConfig tiers.
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("95089ccaa0fcb0d9")
    SIZE: ClassVar[int] = 8 + L.layout_size(_GLOBAL_CONFIG_FIELDS)  # 949
    MIN_SIZE: ClassVar[int] = 313

    admin: Pubkey
    lp_fee_basis_points: int
    protocol_fee_basis_points: int
    disable_flags: int
    protocol_fee_recipients: tuple[Pubkey, ...]
    coin_creator_fee_basis_points: int | None = None
    admin_set_coin_creator_authority: Pubkey | None = None
    whitelist_pda: Pubkey | None = None
    reserved_fee_recipient: Pubkey | None = None
    mayhem_mode_enabled: bool | None = None
    reserved_fee_recipients: tuple[Pubkey, ...] | None = None
    is_cashback_enabled: bool | None = None
    buyback_fee_recipients: tuple[Pubkey, ...] | None = None
    buyback_basis_points: int | None = None
    boost_authority: Pubkey | None = None
    boost_enabled: bool | None = None
    creator_fee_configurable: bool | None = None
    max_configurable_creator_fee_bps: int | None = None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode any historical length (313, 321, 353, 418, 642, 643, 907, 940, 949 …).

        Raises:
            DecodeError: wrong discriminator or shorter than the 2025-04 layout (313 bytes).
        """
        values = L.decode_account(
            data, cls.DISCRIMINATOR, _GLOBAL_CONFIG_FIELDS, required=5, what="GlobalConfig"
        )
        return cls(**values)

    def encode(self) -> bytes:
        """The newest layout (949 bytes), ``None`` fields written as zero."""
        return L.encode_account(self.DISCRIMINATOR, _GLOBAL_CONFIG_FIELDS, self)

    @property
    def buy_disabled(self) -> bool:
        """``disable_flags`` bit 3 (IDL doc)."""
        return bool(self.disable_flags & 0b1000)

    @property
    def sell_disabled(self) -> bool:
        """``disable_flags`` bit 4 (IDL doc)."""
        return bool(self.disable_flags & 0b10000)

    def fee_recipients_for(self, is_mayhem_mode: bool) -> tuple[Pubkey, ...]:
        """Valid ``protocol_fee_recipient`` values: the reserved list for mayhem pools
        (``reserved_fee_recipient`` first), else ``protocol_fee_recipients`` (SDK
        ``getFeeRecipient``)."""
        if is_mayhem_mode:
            if self.reserved_fee_recipient is None:
                return ()
            return (self.reserved_fee_recipient, *(self.reserved_fee_recipients or ()))
        return self.protocol_fee_recipients
