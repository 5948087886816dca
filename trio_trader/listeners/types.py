"""What the listeners produce: new tokens (with facts the filters need) and price updates.

Both listeners (``logsSubscribe`` and ``blockSubscribe``) turn a transaction's pump events
into these two values, so the trader and the trade feed do not care which stream is used.
"""

from __future__ import annotations

from fractions import Fraction

import attrs
from solders.pubkey import Pubkey

from trio_trader.pump.accounts import Fees
from trio_trader.pump.amm.quote import PoolReserves
from trio_trader.pump.curve import Reserves
from trio_trader.pump.events import TradeEvent
from trio_trader.trading.token_info import TokenInfo


@attrs.frozen(kw_only=True)
class NewToken:
    """A token seen in a create transaction.

    Attributes:
        token_info: what the buyer needs.
        creator_buy_lamports: SOL (curve amount, before fees) of the creator's own buy in the
            create transaction; 0 when the create had no buy. Filters use it.
        signature: the create transaction.
        slot: the slot it was seen in, if known.
        seen_at: Trio time when the notification arrived (for the max-age filter).
    """

    token_info: TokenInfo
    creator_buy_lamports: int
    signature: str
    slot: int | None
    seen_at: float


@attrs.frozen(kw_only=True)
class PoolPrice:
    """A PumpSwap pool after one trade (``listeners/pumpswap.py``): what the monitor needs
    to quote a SELL of the position on it (``trading/valuation.py``).

    Attributes:
        address: the pool (the mint's canonical pool).
        reserves: the pool's vault balances after the trade (and its virtual quote).
        fees: the lp / protocol / creator rates that trade paid.
    """

    address: Pubkey
    reserves: PoolReserves
    fees: Fees


def _key_bytes(key: Pubkey | bytes | None) -> bytes | None:
    """What `PriceUpdate` compares and hashes of an address kept as bytes or a `Pubkey`."""
    return None if key is None else bytes(key)


@attrs.frozen(slots=False)
class PriceUpdate:
    """The curve's reserves after one trade, as reported by its ``TradeEvent``.

    One is built per trade of a held coin, so it is built cheaply: without slots (a frozen
    slotted class sets each field through ``object.__setattr__``) and, by the decoder alone,
    positionally (13 keywords cost as much again): 20 k instructions down to 8 k. Everyone
    else names the fields.

    ``pool`` is set on an update from a graduated coin's PumpSwap pool (venue: the AMM);
    the curve fields then carry the pool's side of it (``virtual_sol_reserves`` = the
    effective quote, ``virtual_token_reserves`` = the base balance, so ``price`` is the
    pool's spot price) and are no curve to quote a bonding-curve SELL from.
    """

    #: the coin (`mint`; `mint_key`: its 32 bytes, which the trade feed routes by)
    _mint: Pubkey | bytes = attrs.field(eq=_key_bytes, alias="mint")
    virtual_sol_reserves: int
    virtual_token_reserves: int
    real_sol_reserves: int
    real_token_reserves: int
    is_buy: bool
    #: the trader (`user`). The decoder passes the event's 32 bytes for this, ``_mint`` and
    #: ``_creator``, each read as a `Pubkey` only when asked (most never are: a `Pubkey`
    #: built, then hashed to route the trade, cost ~6 k instructions a trade); an update
    #: compares and hashes the same whichever form it was given
    _user: Pubkey | bytes = attrs.field(eq=_key_bytes, alias="user")
    sol_amount: int
    token_amount: int
    signature: str
    slot: int | None
    seen_at: float
    pool: PoolPrice | None = None
    #: the curve's creator named by the event (`creator`; ``None``: a 2024 event, or not
    #: read), 32 bytes or a `Pubkey` as ``_user``; an ``admin_cto`` may change it later, so
    #: it is a fact as of this trade only
    _creator: Pubkey | bytes | None = attrs.field(default=None, eq=_key_bytes, alias="creator")

    @property
    def mint(self) -> Pubkey:
        """The coin traded."""
        raw = self._mint
        return raw if isinstance(raw, Pubkey) else Pubkey.from_bytes(raw)

    @property
    def mint_key(self) -> bytes:
        """The coin's 32 bytes (`TradeFeed` routes by them)."""
        raw = self._mint
        return raw if isinstance(raw, bytes) else bytes(raw)

    @property
    def user(self) -> Pubkey:
        """The trader's address."""
        raw = self._user
        return raw if isinstance(raw, Pubkey) else Pubkey.from_bytes(raw)

    @property
    def creator(self) -> Pubkey | None:
        """The curve's creator as of this trade (``None``: a 2024 event, or not read)."""
        raw = self._creator
        return raw if raw is None or isinstance(raw, Pubkey) else Pubkey.from_bytes(raw)

    @property
    def price(self) -> Fraction:
        """Spot price in lamports per token base unit (exact)."""
        if self.virtual_token_reserves <= 0:
            return Fraction(0)
        return Fraction(self.virtual_sol_reserves, self.virtual_token_reserves)

    @property
    def reserves(self) -> Reserves:
        """The curve's reserves after this trade, for quoting the next one."""
        return Reserves(
            self.virtual_sol_reserves,
            self.virtual_token_reserves,
            self.real_sol_reserves,
            self.real_token_reserves,
        )

    @classmethod
    def from_event(
        cls, ev: TradeEvent, *, signature: str, slot: int | None, seen_at: float
    ) -> PriceUpdate:
        """Wrap a decoded ``TradeEvent``."""
        return cls(
            mint=ev.mint,
            virtual_sol_reserves=ev.virtual_sol_reserves,
            virtual_token_reserves=ev.virtual_token_reserves,
            real_sol_reserves=ev.real_sol_reserves,
            real_token_reserves=ev.real_token_reserves,
            is_buy=ev.is_buy,
            user=ev.user,
            sol_amount=ev.sol_amount,
            token_amount=ev.token_amount,
            signature=signature,
            slot=slot,
            seen_at=seen_at,
            creator=ev.creator,
        )
