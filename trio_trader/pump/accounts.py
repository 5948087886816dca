"""The pump program's accounts: BondingCurve, Global and the fee program's FeeConfig.

Each account is an 8-byte discriminator followed by fixed-offset borsh fields
(PROTOCOL.md §5). Live accounts come in every length the program ever wrote (a 2024
curve is 49 bytes, 2025-2026 curves 150/151, and since the 2026-10-08 deploy 166), so
:meth:`decode` reads the fields that fit and leaves the rest ``None``; :meth:`encode`
always writes the newest layout, zero-filling ``None``, so the simulator can store the
same bytes a mainnet node would return.

Field names are the IDL's, except that the curve keeps ``virtual_sol_reserves`` /
``real_sol_reserves`` (the IDL renamed them ``*_quote_reserves`` in 2026-05 at the same
offsets; aliases are provided).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import attrs
from solders.pubkey import Pubkey

from . import _layout as L
from ._borsh import DecodeError, Reader, Writer

__all__ = ["BondingCurve", "DecodeError", "FeeConfig", "FeeTier", "Fees", "Global", "pick_fee_tier"]


_CURVE_FIELDS: tuple[L.Field, ...] = (
    ("virtual_token_reserves", L.U64),
    ("virtual_sol_reserves", L.U64),
    ("real_token_reserves", L.U64),
    ("real_sol_reserves", L.U64),
    ("token_total_supply", L.U64),
    ("complete", L.BOOL),
    ("creator", L.PUBKEY),
    ("is_mayhem_mode", L.BOOL),
    ("is_cashback_coin", L.BOOL),
    ("quote_mint", L.PUBKEY),
    ("creator_fee_bps", L.U64),
    ("can_edit_creator_fee", L.BOOL),
    ("is_holder_reward", L.BOOL),
    # Offsets 125..149: three u64s no IDL names (SDK 2.0.0 is the newest IDL and ends at
    # 125). Read off real mainnet curves of 2026-10-08 (151-byte HDko…hYNa, 166-byte
    # 5rL1…pump and 2Pi6…pump, in aquecerandroi-oss/project-hunter's public fixtures
    # t48g_rpc_curve_*): the u64 at 125 is the value the program also appends to
    # TradeEvent (``TradeEvent.unknown_u64_0``); the curve's lamports are exactly
    # rent-exempt minimum + real_sol_reserves + the u64s at 125 and 133, so both count
    # lamports the curve holds outside its reserves (non-zero only on holder-reward coins
    # in the samples); the u64 at 141 read 7,680,000,000,000 on both 166-byte curves and 0
    # on the 151-byte one. Bytes 149..166 were zero in every sample. Never money inputs.
    ("unknown_u64_0", L.U64),
    ("unknown_u64_1", L.U64),
    ("unknown_u64_2", L.U64),
)


@attrs.frozen
class BondingCurve:
    """One coin's curve, PDA ``["bonding-curve", mint]``.

    ``creator`` is ``None`` only for 2024 (49-byte) curves; ``quote_mint`` is the zero key
    for SOL curves.
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("17b7f83760d8ac60")
    #: what the program creates and resizes to since the 2026-10-08 deploy (PROTOCOL §0)
    SIZE: ClassVar[int] = 166
    #: ``extend_account``'s target before that deploy (SDK 2.0.0 ``BONDING_CURVE_NEW_SIZE``)
    PREVIOUS_SIZE: ClassVar[int] = 151
    MIN_SIZE: ClassVar[int] = 49

    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    real_sol_reserves: int
    token_total_supply: int
    complete: bool
    creator: Pubkey | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_coin: bool | None = None
    quote_mint: Pubkey | None = None
    creator_fee_bps: int | None = None
    can_edit_creator_fee: bool | None = None
    is_holder_reward: bool | None = None
    unknown_u64_0: int | None = None
    unknown_u64_1: int | None = None
    unknown_u64_2: int | None = None

    @property
    def virtual_quote_reserves(self) -> int:
        """The IDL's 2026 name for :attr:`virtual_sol_reserves`."""
        return self.virtual_sol_reserves

    @property
    def real_quote_reserves(self) -> int:
        """The IDL's 2026 name for :attr:`real_sol_reserves`."""
        return self.real_sol_reserves

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode any historical length (49 … 166 bytes; longer data is read as 166).

        Raises:
            DecodeError: wrong discriminator or shorter than 49 bytes.
        """
        values = L.decode_account(
            data, cls.DISCRIMINATOR, _CURVE_FIELDS, required=6, what="BondingCurve"
        )
        return cls(**values)

    def encode(self, size: int | None = None) -> bytes:
        """The newest layout, ``None`` fields written as zero/false.

        Args:
            size: the account length to produce, :attr:`SIZE` (166) by default; a shorter
                historical length (49 … 151) cuts the fields that do not fit, as the
                program wrote them before the account grew.

        Raises:
            ValueError: ``size`` is below :attr:`MIN_SIZE` or above :attr:`SIZE`.
        """
        size = self.SIZE if size is None else size
        if not self.MIN_SIZE <= size <= self.SIZE:
            raise ValueError(f"BondingCurve size {size} is not in {self.MIN_SIZE}..{self.SIZE}")
        return L.encode_account(self.DISCRIMINATOR, _CURVE_FIELDS, self, size=self.SIZE)[:size]


_GLOBAL_FIELDS: tuple[L.Field, ...] = (
    ("initialized", L.BOOL),
    ("authority", L.PUBKEY),
    ("fee_recipient", L.PUBKEY),
    ("initial_virtual_token_reserves", L.U64),
    ("initial_virtual_sol_reserves", L.U64),
    ("initial_real_token_reserves", L.U64),
    ("token_total_supply", L.U64),
    ("fee_basis_points", L.U64),
    ("withdraw_authority", L.PUBKEY),
    ("enable_migrate", L.BOOL),
    ("pool_migration_fee", L.U64),
    ("creator_fee_basis_points", L.U64),
    ("fee_recipients", L.pubkey_array(7)),
    ("set_creator_authority", L.PUBKEY),
    ("admin_set_creator_authority", L.PUBKEY),
    ("create_v2_enabled", L.BOOL),
    ("whitelist_pda", L.PUBKEY),
    ("reserved_fee_recipient", L.PUBKEY),
    ("mayhem_mode_enabled", L.BOOL),
    ("reserved_fee_recipients", L.pubkey_array(7)),
    ("is_cashback_enabled", L.BOOL),
    ("buyback_fee_recipients", L.pubkey_array(8)),
    ("buyback_basis_points", L.U64),
    ("initial_virtual_quote_reserves", L.U64),
    ("whitelisted_quote_mints", L.pubkey_array(1)),
    ("creator_fee_configurable", L.BOOL),
    ("max_configurable_creator_fee_bps", L.U64),
    ("holder_reward_claim_authority", L.PUBKEY),
    ("is_holder_reward_enabled", L.BOOL),
)


@attrs.frozen
class Global:
    """The program's settings, PDA ``["global"]`` (``4wTV1…jaxnjf``).

    The 2024 fields (up to ``fee_basis_points``) are required; later ones are ``None`` when
    the account is too short to hold them (a 512-byte 2025 Global ends at ``whitelist_pda``).
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("a7e8e8b1c86c727f")
    #: the live account's length since 2026-10 (PROTOCOL §0); the IDL's fields end at
    #: 1087 and no IDL names the last byte, so it is written as zero and never read
    SIZE: ClassVar[int] = 1088
    FIELDS_END: ClassVar[int] = 8 + L.layout_size(_GLOBAL_FIELDS)  # 1087
    MIN_SIZE: ClassVar[int] = 113

    initialized: bool
    authority: Pubkey
    fee_recipient: Pubkey
    initial_virtual_token_reserves: int
    initial_virtual_sol_reserves: int
    initial_real_token_reserves: int
    token_total_supply: int
    fee_basis_points: int
    withdraw_authority: Pubkey | None = None
    enable_migrate: bool | None = None
    pool_migration_fee: int | None = None
    creator_fee_basis_points: int | None = None
    fee_recipients: tuple[Pubkey, ...] | None = None
    set_creator_authority: Pubkey | None = None
    admin_set_creator_authority: Pubkey | None = None
    create_v2_enabled: bool | None = None
    whitelist_pda: Pubkey | None = None
    reserved_fee_recipient: Pubkey | None = None
    mayhem_mode_enabled: bool | None = None
    reserved_fee_recipients: tuple[Pubkey, ...] | None = None
    is_cashback_enabled: bool | None = None
    buyback_fee_recipients: tuple[Pubkey, ...] | None = None
    buyback_basis_points: int | None = None
    initial_virtual_quote_reserves: int | None = None
    whitelisted_quote_mints: tuple[Pubkey, ...] | None = None
    creator_fee_configurable: bool | None = None
    max_configurable_creator_fee_bps: int | None = None
    holder_reward_claim_authority: Pubkey | None = None
    is_holder_reward_enabled: bool | None = None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode any historical length (512, 1045, 1054, 1087, 1088 … bytes).

        Raises:
            DecodeError: wrong discriminator or shorter than the 2024 fields (113 bytes).
        """
        values = L.decode_account(
            data, cls.DISCRIMINATOR, _GLOBAL_FIELDS, required=8, what="Global"
        )
        return cls(**values)

    def encode(self) -> bytes:
        """The newest layout (1088 bytes), ``None`` fields written as zero."""
        return L.encode_account(self.DISCRIMINATOR, _GLOBAL_FIELDS, self, size=self.SIZE)

    def all_fee_recipients(self) -> tuple[Pubkey, ...]:
        """``fee_recipient`` followed by ``fee_recipients``: every valid normal recipient."""
        return (self.fee_recipient, *(self.fee_recipients or ()))

    def all_reserved_fee_recipients(self) -> tuple[Pubkey, ...]:
        """The recipients a mayhem coin must pay (empty on a Global without mayhem)."""
        if self.reserved_fee_recipient is None:
            return ()
        return (self.reserved_fee_recipient, *(self.reserved_fee_recipients or ()))


@attrs.frozen
class Fees:
    """A fee schedule entry, in basis points of the trade's SOL amount."""

    SIZE: ClassVar[int] = 24

    lp_fee_bps: int
    protocol_fee_bps: int
    creator_fee_bps: int

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.u64("lp_fee_bps"), r.u64("protocol_fee_bps"), r.u64("creator_fee_bps"))

    def write(self, w: Writer) -> Writer:
        return w.u64(self.lp_fee_bps).u64(self.protocol_fee_bps).u64(self.creator_fee_bps)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """24 bytes, e.g. the fee program's ``GetFees`` return data."""
        r = Reader(data)
        fees = cls.read(r)
        if r.remaining:
            raise DecodeError(f"Fees: {r.remaining} unexpected trailing bytes")
        return fees

    def encode(self) -> bytes:
        return self.write(Writer()).to_bytes()


@attrs.frozen
class FeeTier:
    """Fees that apply from ``market_cap_lamports_threshold`` upwards."""

    SIZE: ClassVar[int] = 40

    market_cap_lamports_threshold: int
    fees: Fees

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.u128("market_cap_lamports_threshold"), Fees.read(r))

    def write(self, w: Writer) -> Writer:
        return self.fees.write(w.u128(self.market_cap_lamports_threshold))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Exactly 40 bytes: u128 threshold then :class:`Fees`."""
        r = Reader(data)
        tier = cls.read(r)
        if r.remaining:
            raise DecodeError(f"FeeTier: {r.remaining} unexpected trailing bytes")
        return tier

    def encode(self) -> bytes:
        return self.write(Writer()).to_bytes()


def _read_tiers(r: Reader, what: str) -> tuple[FeeTier, ...]:
    count = r.vec_len(FeeTier.SIZE, what)
    return tuple(FeeTier.read(r) for _ in range(count))


def pick_fee_tier(tiers: tuple[FeeTier, ...], market_cap: int) -> Fees:
    """PROTOCOL §8: below the first threshold → first tier, else the last tier ≤ market cap.

    ``tiers`` must not be empty (callers fall back to flat fees or raise first).
    """
    chosen = tiers[0]
    for tier in tiers:
        if tier.market_cap_lamports_threshold <= market_cap:
            chosen = tier
    return chosen.fees


@attrs.frozen
class FeeConfig:
    """The fee program's table for the pump program, PDA ``8Wf5Ti…VwTt`` (PROTOCOL §5.3).

    Borsh with two vectors, so later fields move with the tier counts; a field the
    account is too short for reads as empty (``stable_fee_tiers``) or ``None``.
    """

    DISCRIMINATOR: ClassVar[bytes] = bytes.fromhex("8f3492bbdb7b4c9b")
    SIZE: ClassVar[int] = 4097  # 50 + 50 tiers, the largest layout

    bump: int
    admin: Pubkey
    flat_fees: Fees
    fee_tiers: tuple[FeeTier, ...]
    stable_fee_tiers: tuple[FeeTier, ...] = ()
    exotic_flat_fees: Fees | None = None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Raises: DecodeError on a wrong discriminator or truncated fields."""
        r = L.account_reader(data, cls.DISCRIMINATOR, "FeeConfig")
        values: dict[str, Any] = {
            "bump": r.u8("bump"),
            "admin": r.pubkey("admin"),
            "flat_fees": Fees.read(r),
            "fee_tiers": _read_tiers(r, "fee_tiers"),
        }
        if r.remaining >= 4:
            values["stable_fee_tiers"] = _read_tiers(r, "stable_fee_tiers")
            if r.remaining >= Fees.SIZE:
                values["exotic_flat_fees"] = Fees.read(r)
        return cls(**values)

    def encode(self) -> bytes:
        """Borsh of every field, zero-padded to at least the 4097-byte newest size."""
        w = self.flat_fees.write(Writer(self.DISCRIMINATOR).u8(self.bump).pubkey(self.admin))
        for tiers in (self.fee_tiers, self.stable_fee_tiers):
            w.u32(len(tiers))
            for tier in tiers:
                tier.write(w)
        (self.exotic_flat_fees or Fees(0, 0, 0)).write(w)
        return w.to_bytes().ljust(self.SIZE, b"\0")

    def rates_for(self, market_cap_lamports: int, *, tiers: str = "fee_tiers") -> Fees:
        """The fees for a SOL curve at this market cap (``tiers="stable_fee_tiers"`` for USDC).

        An empty tier list falls back to ``flat_fees``.
        """
        table: tuple[FeeTier, ...] = getattr(self, tiers)
        if not table:
            return self.flat_fees
        return pick_fee_tier(table, market_cap_lamports)
