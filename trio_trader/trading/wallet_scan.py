"""What the chain says the wallet did and holds: the reads behind start-up reconciliation.

Every read goes through the typed ``RpcClient`` methods, so a malformed reply raises an
:class:`~trio_trader.chain.errors.RpcError` (``RpcBadReply``); the caller decides whether
its step can go on without it. Nothing here writes or decides anything.

Public API::

    SignatureEntry(signature: str, slot: int, err: object)
    await wallet_history(rpc, wallet, *, until, page_limit=1000, max_pages=2)
        -> (entries oldest first, bound_hit: bool)
    await token_holdings(rpc, wallet) -> dict[Pubkey, int]   (non-zero, both token programs)
    wallet_trades(tx, wallet) -> list[WalletTrade]           (the wallet's pump trades in a tx)
    QUOTE_TOKENS                                             (USDC, WSOL: money, never orphans)
    await token_info_from_chain(rpc, mint) -> TokenInfo | None   (curve + mint account)
    await curve_is_tradable(rpc, token_info) -> bool
    traded_mint(tx, known) -> Pubkey | None     (the pump mint a transaction names)
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import attrs
from solders.pubkey import Pubkey
from solders.signature import Signature

from trio_trader.chain.rpc import RpcClient
from trio_trader.chain.types import TransactionInfo
from trio_trader.pump import addresses
from trio_trader.pump.accounts import BondingCurve, DecodeError
from trio_trader.pump.events import TradeEvent, parse_logs
from trio_trader.trading.token_info import TokenInfo

log = logging.getLogger(__name__)

#: Solana's largest (and default) page of ``getSignaturesForAddress``
MAX_PAGE_LIMIT = 1000
#: token programs whose accounts can hold pump tokens
TOKEN_PROGRAMS = (addresses.TOKEN_PROGRAM_ID, addresses.TOKEN_2022_PROGRAM_ID)


@attrs.frozen
class SignatureEntry:
    """One entry of ``getSignaturesForAddress`` (``err`` is None for a success)."""

    signature: str
    slot: int
    err: object


#: tokens the wallet holds as money, not as a position (never orphans)
QUOTE_TOKENS = frozenset({addresses.USDC_MINT, addresses.WSOL_MINT})


@attrs.frozen
class WalletTrade:
    """The wallet's net trade of one mint in one transaction (wallet deltas, fees in).

    For a coin quoted in a token (USDC) ``quote_change`` is the wallet's change of that
    token and ``sol_change`` holds only the fee and rent; both are ``None`` / as for SOL
    otherwise.
    """

    mint: Pubkey
    token_change: int
    sol_change: int
    quote_mint: Pubkey | None = None
    quote_change: int | None = None


async def wallet_history(
    rpc: RpcClient,
    wallet: Pubkey,
    *,
    until: str | None,
    page_limit: int = MAX_PAGE_LIMIT,
    max_pages: int = 2,
) -> tuple[list[SignatureEntry], bool]:
    """The wallet's signatures newer than ``until``, oldest first, at most ``max_pages``.

    Returns the entries and whether the page bound cut the walk short (older entries,
    possibly unknown to the database, were not read).
    """
    stop = Signature.from_string(until) if until is not None else None
    entries: list[SignatureEntry] = []
    before: Signature | None = None
    for _ in range(max_pages):
        page = await rpc.get_signatures_for_address(
            wallet, before=before, until=stop, limit=page_limit
        )
        entries.extend(SignatureEntry(str(i.signature), i.slot, i.err) for i in page)
        if len(page) < page_limit:
            return entries[::-1], False
        before = page[-1].signature
    return entries[::-1], True


async def token_holdings(rpc: RpcClient, wallet: Pubkey) -> dict[Pubkey, int]:
    """Non-zero token balances of the wallet per mint, over both token programs."""
    held: dict[Pubkey, int] = {}
    for program in TOKEN_PROGRAMS:
        for account in await rpc.get_token_accounts_by_owner(wallet, program_id=program):
            if account.owner != wallet:
                log.warning("getTokenAccountsByOwner: %s is owned by %s; skipped",
                            account.pubkey, account.owner)  # fmt: skip
                continue
            if account.amount > 0:
                held[account.mint] = held.get(account.mint, 0) + account.amount
    return held


def wallet_trades(tx: TransactionInfo, wallet: Pubkey) -> list[WalletTrade]:
    """The wallet's pump trades in ``tx``, one per mint, with its exact wallet deltas.

    The token change is read from the transaction's token balances (the event's amount
    when the balances do not name the wallet). The SOL change is the wallet's whole delta
    (fees, rent). A transaction trading several mints (never built by this bot) cannot
    split its fee exactly: every mint but the first gets its event's amounts with pump
    fees, and the first the rest, so the total still matches the wallet to the lamport.
    """
    events = [
        e for e in parse_logs(tx.log_messages) if isinstance(e, TradeEvent) and e.user == wallet
    ]
    mints = list(dict.fromkeys(e.mint for e in events))
    trades = []
    for mint in mints:
        own = [e for e in events if e.mint == mint]
        tokens = tx.token_change(wallet, mint)
        if tokens == 0:
            tokens = sum(e.token_amount if e.is_buy else -e.token_amount for e in own)
        quote = _token_quote(own[0])
        if quote is None:
            trades.append(WalletTrade(mint, tokens, _event_sol(own)))
        else:  # paid in the token: no SOL crossed the curve
            trades.append(WalletTrade(mint, tokens, 0, quote, tx.token_change(wallet, quote)))
    if not trades:
        return []
    total = tx.sol_change(wallet)
    if len(trades) > 1:
        log.warning("%s: the wallet traded %d mints in one transaction", tx.signature, len(trades))
    rest = total - sum(trade.sol_change for trade in trades[1:])
    return [attrs.evolve(trades[0], sol_change=rest), *trades[1:]]


def traded_mint(tx: TransactionInfo, known: Collection[Pubkey]) -> Pubkey | None:
    """The pump mint a transaction trades, read from its accounts (a failed transaction
    emits no event): one of ``known`` it names, else a key whose bonding curve it names."""
    keys = set(tx.account_keys)
    for key in tx.account_keys:
        if key in known:
            return key
    for key in tx.account_keys:
        if addresses.bonding_curve_pda(key) in keys:
            return key
    return None


def _token_quote(event: TradeEvent) -> Pubkey | None:
    """The token a trade was paid in (USDC…), ``None`` for SOL (zero key / wrapped SOL)."""
    quote = event.quote_mint
    if quote is None or quote in (addresses.ZERO_KEY, addresses.WSOL_MINT):
        return None
    return quote


def _event_sol(events: list[TradeEvent]) -> int:
    """The wallet's SOL delta of these trades per their events (fees in, no tx fee)."""
    total = 0
    for e in events:
        fees = (e.fee or 0) + (e.creator_fee or 0)
        total += -(e.sol_amount + fees) if e.is_buy else e.sol_amount - fees
    return total


async def token_info_from_chain(rpc: RpcClient, mint: Pubkey) -> TokenInfo | None:
    """What the seller needs of a mint the bot never saw created: its curve and program.

    ``None`` (logged) when the curve or the mint does not exist or cannot be read. Name,
    symbol and uri are unknown (left empty, symbol ``"?"``).
    """
    curve_key = addresses.bonding_curve_pda(mint)
    curve_info, mint_info = await rpc.get_multiple_accounts([curve_key, mint], "confirmed")
    if curve_info is None or mint_info is None:
        log.warning("%s: no bonding curve or mint account; not a pump coin?", mint)
        return None
    if mint_info.owner not in TOKEN_PROGRAMS:
        log.warning("%s: mint owned by %s, not a token program", mint, mint_info.owner)
        return None
    try:
        curve = BondingCurve.decode(curve_info.data)
    except DecodeError as exc:
        log.warning("%s: unreadable bonding curve: %s", mint, exc)
        return None
    if curve.creator is None:
        log.warning("%s: curve names no creator; cannot build its trades", mint)
        return None
    return TokenInfo(
        mint=mint,
        name="",
        symbol="?",
        uri="",
        bonding_curve=curve_key,
        associated_bonding_curve=addresses.associated_bonding_curve(mint, mint_info.owner),
        creator=curve.creator,
        user=curve.creator,
        token_program=mint_info.owner,
        is_mayhem_mode=bool(curve.is_mayhem_mode),
        is_cashback_coin=bool(curve.is_cashback_coin),
        virtual_sol_reserves=curve.virtual_sol_reserves,
        virtual_token_reserves=curve.virtual_token_reserves,
        real_token_reserves=curve.real_token_reserves,
        quote_mint=curve.quote_mint,  # a USDC coin must be sold with v2 / on its pool
        is_holder_reward=bool(curve.is_holder_reward),
    )


async def curve_is_tradable(rpc: RpcClient, token_info: TokenInfo) -> bool:
    """The token's curve exists, decodes and is not complete (a SELL can go through it)."""
    info = await rpc.get_account_info(token_info.bonding_curve, "confirmed")
    if info is None:
        return False
    try:
        return not BondingCurve.decode(info.data).complete
    except DecodeError:
        return False
