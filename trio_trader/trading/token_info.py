"""What the bot knows about a token when it decides to buy it.

``TokenInfo`` is a frozen value: every order and position of a token carries the same
instance, and the store keeps one row of it per mint (``token_info`` table). It is
built by a listener, normally from the pump program's ``CreateEvent`` via
:meth:`TokenInfo.from_create_event`, and it holds everything the buyer and the seller
need to build their instructions without another RPC round trip (bonding curve,
associated bonding curve, creator, token program, mayhem / cashback flags).

Public API (imported directly: ``from trio_trader.trading.token_info import TokenInfo``)::

    TokenInfo(mint=..., name=..., symbol=..., uri=..., bonding_curve=...,
              associated_bonding_curve=..., creator=..., user=..., token_program=...,
              is_mayhem_mode=False, is_cashback_coin=False, created_at=None,
              virtual_sol_reserves=None, virtual_token_reserves=None,
              real_token_reserves=None, decimals=6, signature=None,
              quote_mint=None, is_holder_reward=False)
    TokenInfo.from_create_event(ev, *, signature=None, reserves=None) -> TokenInfo
    token_info.display_name -> "SYMBOL (mint…)"
    token_info.curve -> (bonding_curve, associated_bonding_curve)
    token_info.quote_token -> Pubkey | None      (None: SOL-quoted)
    token_info.quote_symbol -> "SOL" | "USDC" | "AbCdEfGh"
    quote_symbol(quote_token) -> str

Pubkeys are ``solders.pubkey.Pubkey`` in memory; the store writes them as base58.
"""

from __future__ import annotations

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump import addresses
from trio_trader.pump.curve import Reserves
from trio_trader.pump.events import CreateEvent

#: every pump.fun mint has 6 decimals (legacy SPL and Token-2022 alike)
PUMP_TOKEN_DECIMALS = 6
#: decimals of the whitelisted stable quote (USDC); SOL's are 9 (lamports)
USDC_DECIMALS = 6


def quote_symbol(quote_token: Pubkey | str | None) -> str:
    """How a quote mint is shown: ``"SOL"`` (``None``), ``"USDC"``, else its first 8 chars."""
    if quote_token is None:
        return "SOL"
    text = str(quote_token)
    return "USDC" if text == str(addresses.USDC_MINT) else text[:8]


@attrs.frozen(kw_only=True)
class TokenInfo:
    """A pump.fun token as detected, immutable.

    Attributes:
        mint: the token mint.
        name, symbol, uri: metadata from the create instruction.
        bonding_curve: the curve PDA of the mint.
        associated_bonding_curve: the curve's token account (ATA of the curve for the
            mint under ``token_program``).
        creator: receives creator fees; buys and sells derive ``creator_vault`` from it.
            Events from 2024 have no creator field: the deployer (``user``) is used.
        user: the wallet that sent the create transaction (the deployer).
        token_program: SPL Token for ``create`` coins, Token-2022 for ``create_v2`` coins.
        is_mayhem_mode: mayhem coins must pay a reserved fee recipient.
        is_cashback_coin: cashback sells pass an extra account.
        created_at: unix seconds of the create (the event's timestamp) if known.
        virtual_sol_reserves, virtual_token_reserves, real_token_reserves: the curve's
            reserves right after the create, when the event carried them (since 2025-05);
            they let the buyer quote the first buy without reading the curve account.
        decimals: token decimals (always 6 on pump.fun; used for display prices).
        signature: the create transaction's signature, if known.
        quote_mint: the mint the curve is quoted in (``CreateEvent.quote_mint``); ``None``
            or the zero key for SOL, e.g. USDC for a USDC-paired coin.
        is_holder_reward: a holder-reward coin: its creator fees go to the
            ``["holder-rewards", mint]`` PDA, which is then the creator-vault owner.
    """

    mint: Pubkey
    name: str
    symbol: str
    uri: str
    bonding_curve: Pubkey
    associated_bonding_curve: Pubkey
    creator: Pubkey
    user: Pubkey
    token_program: Pubkey
    is_mayhem_mode: bool = False
    is_cashback_coin: bool = False
    created_at: int | None = None
    virtual_sol_reserves: int | None = None
    virtual_token_reserves: int | None = None
    real_token_reserves: int | None = None
    decimals: int = PUMP_TOKEN_DECIMALS
    signature: str | None = None
    quote_mint: Pubkey | None = None
    is_holder_reward: bool = False

    @classmethod
    def from_create_event(
        cls, ev: CreateEvent, *, signature: str | None = None, reserves: Reserves | None = None
    ) -> TokenInfo:
        """Build the token's info from a decoded ``CreateEvent``.

        Older event layouts lack the late fields (``None`` in the event): a missing
        ``creator`` means the deployer is the creator (the 2024 rule), a missing
        ``token_program`` means a legacy SPL Token mint (``create_v2`` arrived with the
        field), and missing flags are ``False``.

        ``reserves``: the curve's reserves after the create transaction's last trade of
        the mint (the creator's buy), which replace the event's (those are from before it).
        Given here, not by ``attrs.evolve`` afterwards: the token is built once, on the
        path to its BUY.

        The curve is the event's own ``bonding_curve``, checked to be the mint's curve
        address by hashes only (:func:`addresses.is_bonding_curve_of`): deriving the PDA
        again would cost ~18 µs on the way to the BUY, which then names the token's curve
        and curve account instead of deriving them (``pump.instructions``).

        Raises:
            ValueError: the event's curve is not the mint's (bytes misread, or not pump's
                event): a BUY naming it would fail on chain and cost its fee.
        """
        if not addresses.is_bonding_curve_of(ev.bonding_curve, ev.mint):
            raise ValueError(
                f"CreateEvent of mint {ev.mint} names curve {ev.bonding_curve}, not the mint's"
            )
        token_program = (
            ev.token_program if ev.token_program is not None else addresses.TOKEN_PROGRAM_ID
        )
        creator = ev.creator if ev.creator is not None else ev.user
        if reserves is None:
            v_sol, v_tokens, r_tokens = (
                ev.virtual_sol_reserves,
                ev.virtual_token_reserves,
                ev.real_token_reserves,
            )
        else:
            v_sol, v_tokens, r_tokens = (
                reserves.virtual_sol,
                reserves.virtual_token,
                reserves.real_token,
            )
        return cls(
            mint=ev.mint,
            name=ev.name,
            symbol=ev.symbol,
            uri=ev.uri,
            bonding_curve=ev.bonding_curve,
            associated_bonding_curve=addresses.associated_token_address(
                ev.bonding_curve, ev.mint, token_program
            ),
            creator=creator,
            user=ev.user,
            token_program=token_program,
            is_mayhem_mode=bool(ev.is_mayhem_mode),
            is_cashback_coin=bool(ev.is_cashback_enabled),
            created_at=ev.timestamp,
            virtual_sol_reserves=v_sol,
            virtual_token_reserves=v_tokens,
            real_token_reserves=r_tokens,
            signature=signature,
            quote_mint=ev.quote_mint,
            is_holder_reward=bool(ev.is_holder_reward),
        )

    @property
    def curve(self) -> tuple[Pubkey, Pubkey]:
        """(``bonding_curve``, ``associated_bonding_curve``): what the instruction builders
        take instead of deriving them (``pump.instructions.Curve``)."""
        return self.bonding_curve, self.associated_bonding_curve

    @property
    def is_sol_quoted(self) -> bool:
        """Quoted in SOL (zero key, or an event from before quote mints), or wrapped SOL."""
        q = self.quote_mint
        return q is None or q == addresses.ZERO_KEY or q == addresses.WSOL_MINT

    @property
    def quote_token(self) -> Pubkey | None:
        """The token the coin is quoted in (USDC, …), ``None`` for a SOL-quoted coin."""
        return None if self.is_sol_quoted else self.quote_mint

    @property
    def quote_symbol(self) -> str:
        """``"SOL"``, ``"USDC"`` or the first 8 characters of a custom quote mint."""
        return quote_symbol(self.quote_token)

    @property
    def vault_creator(self) -> Pubkey:
        """The creator-vault owner of this coin's trades (the holder-rewards PDA or
        ``creator``)."""
        if self.is_holder_reward:
            return addresses.holder_rewards_pda(self.mint)
        return self.creator

    @property
    def display_name(self) -> str:
        """Short label for logs and the dashboard: ``SYMBOL (first 8 of the mint)``."""
        return f"{self.symbol} ({str(self.mint)[:8]})"
