"""pump's ``migrate``: a completed curve becomes its canonical PumpSwap pool.

On mainnet a migration transaction by pump's migration service follows each completion;
the simulator's market sends the same instruction (:func:`migrate_instruction`, the 25
accounts of pump.json's ``migrate``). The instruction is permissionless, as documented.

What it does here (amounts: :func:`trio_trader.pump.amm.pool_from_completed_curve`,
docs/protocol-pumpswap.md §7):

1. checks: Anchor's account pass (kinds, ``mut``, seeds; ``withdraw_authority`` must be
   Global's, 2001), then 6006 ``BondingCurveNotComplete`` for an active curve, 6081
   ``BondingCurveAlreadyMigrated`` for a second migrate (inferred: the error's name),
   6063 ``UnsupportedQuoteMint`` for a curve quoted in a token (that needs
   ``migrate_v2``, :mod:`._pump_migrate_v2`), 6015 when ``Global.pool_migration_fee`` is
   not below the real reserves;
2. the curve pays ``pool_migration_fee`` to the ``pool_authority`` PDA, which pays the
   rent of every account migrate creates (**inferred** from the docs: "the minimum
   lamports necessary to pay for all accounts created during migrate"); what is left
   goes to Global's ``withdraw_authority`` (writable in the IDL; inferred);
3. a CPI frame of PumpSwap's ``create_pool`` (``Program pAMM… invoke [2]``, its inner
   instruction with the IDL's arguments): the pool account (300 bytes, ``Pool.encode``),
   the LP mint (Token-2022, authority the pool; no LP tokens are minted — mainnet burns
   them at once), the pool's two vaults and the coin creator's WSOL fee vault, all real
   ATA-program CPIs; every base token of the curve's token account moves to the pool's
   base vault (a real transfer signed by the curve PDA; mainnet routes it through the
   pool authority's ATA); the quote lamports move from the curve into the pool's WSOL
   vault and a real ``SyncNative`` counts them; then its ``CreatePoolEvent``;
4. the curve keeps ``complete = true`` with its reserves zeroed, and pump emits
   ``CompletePumpAmmMigrationEvent``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import base58
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump._borsh import Writer, anchor_discriminator
from trio_trader.pump.amm import addresses as AA
from trio_trader.pump.amm.events import CreatePoolEvent, encode_amm_event
from trio_trader.pump.amm.migration import Migration, pool_from_completed_curve

from ._invoke import InvokeContext
from ._migration_event import CompletePumpAmmMigrationEvent
from ._pump_accounts import bonding_curve_acc, is_migrated
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, thrown, validate
from ._pump_common import (
    create_ata,
    create_pda,
    emit_payload,
    read_curve,
    read_global,
    system_transfer,
    token_transfer,
)
from ._tokens import MINT_SIZE, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, parse_token_account

__all__ = ["MIGRATE_DISCRIMINATOR", "checked_migration", "migrate", "migrate_instruction"]

MIGRATE_DISCRIMINATOR = anchor_discriminator("global", "migrate")
CREATE_POOL_DISCRIMINATOR = anchor_discriminator("global", "create_pool")
LP_MINT_DECIMALS = 9  # inferred; LP tokens are burnt and never seen by traders
_CREATE_POOL_CU = 40_000  # the AMM's own work, CPIs excluded (not measured)
_TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)


def migrate_instruction(
    *, user: Pubkey, mint: Pubkey, base_token_program: Pubkey, withdraw_authority: Pubkey
) -> Instruction:
    """pump ``migrate`` with pump.json's 25 accounts (SOL curves; base SPL or Token-2022).

    The IDL derives the base-side ATAs with ``mint`` in the token-program seed slot (an
    IDL-generator artifact); the program uses the mint's owner, as here.
    """
    pool = AA.canonical_pool_pda(mint)
    authority = A.pool_authority_pda(mint)
    lp_mint = AA.lp_mint_pda(pool)
    ata = A.associated_token_address

    def w(key: Pubkey, signer: bool = False) -> AccountMeta:
        return AccountMeta(key, signer, True)

    def r(key: Pubkey) -> AccountMeta:
        return AccountMeta(key, False, False)

    accounts = [
        r(A.GLOBAL),
        w(withdraw_authority),
        r(mint),
        w(A.bonding_curve_pda(mint)),
        w(A.associated_bonding_curve(mint, base_token_program)),
        w(user, signer=True),
        r(A.SYSTEM_PROGRAM_ID),
        r(TOKEN_PROGRAM),
        r(A.PUMP_AMM_PROGRAM_ID),
        w(pool),
        w(authority),
        w(ata(authority, mint, base_token_program)),
        w(ata(authority, A.WSOL_MINT, TOKEN_PROGRAM)),
        r(AA.GLOBAL_CONFIG),
        r(A.WSOL_MINT),
        w(lp_mint),
        w(ata(authority, lp_mint, TOKEN_2022_PROGRAM)),
        w(ata(pool, mint, base_token_program)),
        w(ata(pool, A.WSOL_MINT, TOKEN_PROGRAM)),
        r(TOKEN_2022_PROGRAM),
        r(A.ASSOCIATED_TOKEN_PROGRAM_ID),
        r(AA.AMM_EVENT_AUTHORITY),
        r(A.EVENT_AUTHORITY),
        r(A.PUMP_PROGRAM_ID),
        r(A.RENT_SYSVAR_ID),
    ]
    return Instruction(A.PUMP_PROGRAM_ID, MIGRATE_DISCRIMINATOR, accounts)


def _spec(ctx: InvokeContext) -> list[Acc]:
    def base_tp(k: Sequence[Pubkey]) -> Pubkey:
        acct = ctx.get(k[2])
        return acct.owner if acct is not None else TOKEN_PROGRAM

    def withdraw_authority(_k: Sequence[Pubkey]) -> Pubkey:
        return read_global(ctx).withdraw_authority or A.ZERO_KEY

    def ata(owner: int, mint: int, tp: object) -> Acc:
        return Acc(
            "ata",
            mut=True,
            seeds=lambda k: A.associated_token_address(
                k[owner],
                k[mint],
                base_tp(k) if tp == "base" else tp,  # type: ignore[arg-type]
            ),
        )

    def named(acc: Acc, name: str) -> Acc:
        return Acc(name, acc.kind, acc.mut, acc.address, acc.owners, acc.seeds, acc.has_one)

    return [
        Acc("global", ACCOUNT, owners=(A.PUMP_PROGRAM_ID,), seeds=lambda _k: A.GLOBAL),
        Acc("withdraw_authority", mut=True, has_one=withdraw_authority),
        Acc("mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        bonding_curve_acc(2),
        named(ata(3, 2, "base"), "associated_bonding_curve"),
        Acc("user", SIGNER, mut=True),
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
        Acc("token_program", PROGRAM, address=(TOKEN_PROGRAM,)),
        Acc("pump_amm", PROGRAM, address=(A.PUMP_AMM_PROGRAM_ID,)),
        Acc("pool", mut=True, seeds=lambda k: AA.canonical_pool_pda(k[2])),
        Acc("pool_authority", mut=True, seeds=lambda k: A.pool_authority_pda(k[2])),
        named(ata(10, 2, "base"), "pool_authority_mint_account"),
        named(ata(10, 14, TOKEN_PROGRAM), "pool_authority_wsol_account"),
        Acc(
            "amm_global_config",
            ACCOUNT,
            owners=(A.PUMP_AMM_PROGRAM_ID,),
            seeds=lambda _k: AA.GLOBAL_CONFIG,
        ),
        Acc("wsol_mint", seeds=lambda _k: A.WSOL_MINT),
        Acc("lp_mint", mut=True, seeds=lambda k: AA.lp_mint_pda(k[9])),
        named(ata(10, 15, TOKEN_2022_PROGRAM), "user_pool_token_account"),
        named(ata(9, 2, "base"), "pool_base_token_account"),
        named(ata(9, 14, TOKEN_PROGRAM), "pool_quote_token_account"),
        Acc("token_2022_program", PROGRAM, address=(TOKEN_2022_PROGRAM,)),
        Acc("associated_token_program", PROGRAM, address=(A.ASSOCIATED_TOKEN_PROGRAM_ID,)),
        Acc("pump_amm_event_authority", seeds=lambda _k: AA.AMM_EVENT_AUTHORITY),
        Acc("event_authority", seeds=lambda _k: A.EVENT_AUTHORITY),
        Acc("program", PROGRAM, address=(A.PUMP_PROGRAM_ID,)),
        Acc("rent", PROGRAM, address=(A.RENT_SYSVAR_ID,)),
    ]


def migrate(ctx: InvokeContext) -> None:
    """Validate, create the pool from the curve's reserves, emit the events."""
    keys = validate(ctx, _spec(ctx), accounts=ctx.metas)
    mint_acct = ctx.get(keys[2])
    assert mint_acct is not None  # validated
    roles = _MIGRATE.roles(keys, base_tp=mint_acct.owner, quote_tp=TOKEN_PROGRAM)
    mig = checked_migration(ctx, roles, token_quoted=False)
    ctx.move_lamports(roles.curve, roles.authority, mig.pool_migration_fee)
    _create_pool(ctx, roles, mig)
    _finish(ctx, roles, mig, withdraw_authority=keys[1], user=keys[5])


def checked_migration(ctx: InvokeContext, roles: _Roles, *, token_quoted: bool) -> Migration:
    """The handler's checks (6006 active, 6081 migrated, 6063 a quote the instruction
    cannot move: a token quote for ``migrate``, SOL or another mint for ``migrate_v2``,
    6015 fee) and the migration they allow."""
    global_ = read_global(ctx)
    curve = read_curve(ctx, roles.curve)
    if not curve.complete:
        raise thrown(ctx, 6006)
    if is_migrated(curve):
        raise thrown(ctx, 6081)
    in_token = curve.quote_mint not in (None, A.ZERO_KEY)
    if in_token != token_quoted or (token_quoted and curve.quote_mint != roles.quote_mint):
        raise thrown(ctx, 6063)
    held = parse_token_account(ctx.get(roles.curve_base))
    try:
        return pool_from_completed_curve(
            mint=roles.base_mint,
            curve=curve,
            global_=global_,
            curve_token_balance=0 if held is None else held.amount,
            base_token_program=roles.base_tp,
            quote_token_program=roles.quote_tp,
        )
    except ValueError:
        raise thrown(ctx, 6015) from None


def _finish(
    ctx: InvokeContext, roles: _Roles, mig: Migration, *, withdraw_authority: Pubkey, user: Pubkey
) -> None:
    """The pool authority's lamports left after the rent go to Global's withdraw
    authority; the curve reads migrated; pump's CompletePumpAmmMigrationEvent."""
    system_transfer(ctx, roles.authority, withdraw_authority, ctx.lamports(roles.authority))
    ctx.write(roles.curve, mig.curve_after.encode(), A.PUMP_PROGRAM_ID)
    mint, curve_key = roles.base_mint, roles.curve
    event = CompletePumpAmmMigrationEvent(
        user=user,
        mint=mint,
        mint_amount=mig.base_amount,
        sol_amount=mig.quote_amount,
        pool_migration_fee=mig.pool_migration_fee,
        bonding_curve=curve_key,
        timestamp=ctx.blocktime,
        pool=mig.pool_address,
        quote_mint=mig.pool.quote_mint,
    )
    emit_payload(ctx, event.encode(), A.PUMP_PROGRAM_ID, A.EVENT_AUTHORITY)
    ctx.events.append(event)


def _create_pool_data(mig: Migration) -> bytes:
    pool = mig.pool
    w = Writer(CREATE_POOL_DISCRIMINATOR).u16(pool.index).u64(mig.base_amount)
    w.u64(mig.quote_amount).pubkey(pool.coin_creator or A.ZERO_KEY)
    w.bool(bool(pool.is_mayhem_mode)).bool(bool(pool.is_cashback_coin))
    w.u64(pool.creator_fee_bps or 0).bool(bool(pool.can_edit_creator_fee))
    return w.bool(bool(pool.is_holder_reward)).to_bytes()


def _index(keys: Sequence[Pubkey], key: Pubkey) -> int:
    return list(keys).index(key) if key in keys else -1


@attrs.frozen(kw_only=True)
class _Roles:
    """The accounts of a migration by role: ``migrate`` and ``migrate_v2`` list them in
    different places."""

    global_config: Pubkey
    base_mint: Pubkey
    quote_mint: Pubkey
    curve: Pubkey
    curve_base: Pubkey
    curve_quote: Pubkey | None  # a token-quoted curve's quote account (None: SOL)
    system: Pubkey
    pool: Pubkey
    authority: Pubkey
    authority_base: Pubkey
    authority_quote: Pubkey
    lp_mint: Pubkey
    user_pool: Pubkey
    pool_base: Pubkey
    pool_quote: Pubkey
    base_tp: Pubkey
    quote_tp: Pubkey


@attrs.frozen
class _Layout:
    """Where each role sits in an instruction's account list (``None``: not listed)."""

    indices: dict[str, int]
    curve_quote: int | None = None

    def roles(self, keys: Sequence[Pubkey], *, base_tp: Pubkey, quote_tp: Pubkey) -> _Roles:
        found = {name: keys[i] for name, i in self.indices.items()}
        quote = None if self.curve_quote is None else keys[self.curve_quote]
        return _Roles(base_tp=base_tp, quote_tp=quote_tp, curve_quote=quote, **found)


_MIGRATE = _Layout(
    dict(
        global_config=13, base_mint=2, quote_mint=14, curve=3, curve_base=4, system=6,
        pool=9, authority=10, authority_base=11, authority_quote=12, lp_mint=15,
        user_pool=16, pool_base=17, pool_quote=18,
    )
)  # fmt: skip
_MIGRATE_V2 = _Layout(
    dict(
        global_config=14, base_mint=2, quote_mint=3, curve=4, curve_base=5, system=8,
        pool=10, authority=11, authority_base=12, authority_quote=13, lp_mint=15,
        user_pool=16, pool_base=17, pool_quote=18,
    ),
    curve_quote=6,
)  # fmt: skip


def _create_pool(ctx: InvokeContext, roles: _Roles, mig: Migration) -> None:
    """PumpSwap ``create_pool`` as pump's CPI: its frame, accounts, vaults and event."""
    amm = A.PUMP_AMM_PROGRAM_ID
    pool, authority, lp_mint, curve = roles.pool, roles.authority, roles.lp_mint, roles.curve
    base_tp, quote_tp = roles.base_tp, roles.quote_tp
    # pool, global_config, creator, base_mint, quote_mint, lp_mint, user_base, user_quote,
    # user_pool, pool_base, pool_quote, system, token_2022, base tp, quote tp, ATA, event
    # authority, program (pump_amm.json create_pool)
    metas = [
        pool, roles.global_config, authority, roles.base_mint, roles.quote_mint, lp_mint,
        roles.authority_base, roles.authority_quote, roles.user_pool, roles.pool_base,
        roles.pool_quote, roles.system, TOKEN_2022_PROGRAM, base_tp, quote_tp,
        A.ASSOCIATED_TOKEN_PROGRAM_ID, AA.AMM_EVENT_AUTHORITY, amm,
    ]  # fmt: skip
    ctx.inner.append(
        {
            "programIdIndex": _index(ctx.keys, amm),
            "accounts": [_index(ctx.keys, k) for k in metas],
            "data": base58.b58encode(_create_pool_data(mig)).decode(),
            "stackHeight": 2,
        }
    )
    start_consumed, start_remaining = ctx.consumed, ctx.compute_limit - ctx.consumed
    ctx.log(f"Program {amm} invoke [2]")
    ctx.log("Program log: Instruction: CreatePool")
    ctx.charge(_CREATE_POOL_CU)
    create_pda(ctx, authority, pool, len(mig.pool.encode()), amm, depth=2)
    create_pda(ctx, authority, lp_mint, MINT_SIZE, TOKEN_2022_PROGRAM, depth=2)
    init_lp = Writer().u8(20).u8(LP_MINT_DECIMALS).pubkey(pool).u8(0).to_bytes()
    ctx.cpi(Instruction(TOKEN_2022_PROGRAM, init_lp, [AccountMeta(lp_mint, False, True)]), depth=2)
    quote = roles.quote_mint
    for owner, mint, tp in (
        (pool, roles.base_mint, base_tp),
        (pool, quote, quote_tp),
        (AA.coin_creator_vault_authority_pda(mig.pool.coin_creator or A.ZERO_KEY), quote, quote_tp),
    ):
        if ctx.get(A.associated_token_address(owner, mint, tp)) is None:
            create_ata(ctx, payer=authority, owner=owner, mint=mint, token_program=tp, depth=2)
    token_transfer(
        ctx,
        token_program=base_tp,
        source=roles.curve_base,
        mint=roles.base_mint,
        destination=roles.pool_base,
        authority=curve,
        amount=mig.base_amount,
        depth=2,
    )
    if roles.curve_quote is None:  # SOL: the curve's lamports, wrapped in the WSOL vault
        ctx.move_lamports(curve, roles.pool_quote, mig.quote_amount)
        sync = Instruction(TOKEN_PROGRAM, bytes([17]), [AccountMeta(roles.pool_quote, False, True)])
        ctx.cpi(sync, depth=2)
    else:  # a token quote: a real transfer out of the curve's quote account
        token_transfer(
            ctx, token_program=quote_tp, source=roles.curve_quote, mint=quote,
            destination=roles.pool_quote, authority=curve, amount=mig.quote_amount, depth=2,
        )  # fmt: skip
    ctx.write(pool, mig.pool.encode(), amm)
    event = CreatePoolEvent(
        timestamp=ctx.blocktime,
        index=mig.pool.index,
        creator=mig.pool.creator,
        base_mint=mig.pool.base_mint,
        quote_mint=mig.pool.quote_mint,
        base_mint_decimals=6,
        quote_mint_decimals=9 if roles.curve_quote is None else _decimals(ctx, quote),
        base_amount_in=mig.base_amount,
        quote_amount_in=mig.quote_amount,
        pool_base_amount=mig.base_amount,
        pool_quote_amount=mig.quote_amount,
        minimum_liquidity=0,
        initial_liquidity=mig.pool.lp_supply,
        lp_token_amount_out=mig.pool.lp_supply,
        pool_bump=mig.pool.pool_bump,
        pool=pool,
        lp_mint=lp_mint,
        user_base_token_account=roles.authority_base,
        user_quote_token_account=roles.authority_quote,
        coin_creator=mig.pool.coin_creator,
        is_mayhem_mode=bool(mig.pool.is_mayhem_mode),
        creator_fee_bps=mig.pool.creator_fee_bps or 0,
        can_edit_creator_fee=bool(mig.pool.can_edit_creator_fee),
        is_holder_reward=bool(mig.pool.is_holder_reward),
    )
    emit_payload(ctx, encode_amm_event(event), amm, AA.AMM_EVENT_AUTHORITY, depth=2)
    ctx.events.append(event)
    used = ctx.consumed - start_consumed
    ctx.log(f"Program {amm} consumed {used} of {start_remaining} compute units")
    ctx.log(f"Program {amm} success")


def _decimals(ctx: InvokeContext, mint: Pubkey) -> int:
    """A mint's decimals (byte 44 of an SPL / Token-2022 mint); 6 when unreadable."""
    account = ctx.get(mint)
    data = bytes(account.data) if account is not None else b""
    return data[44] if len(data) > 44 else 6
