"""pump's ``migrate_v2``: a completed curve quoted in a token (USDC) becomes its pool.

``migrate`` moves a SOL curve's lamports; ``migrate_v2`` (pump.json, 27 accounts: both
mints, both token programs, the curve's base and quote accounts) also migrates a curve
quoted in a token, whose quote sits in the curve's quote token account. The simulator's
``migrate_v2`` takes only token-quoted curves (a SOL curve: 6063, use ``migrate``); the
pool it creates is the canonical ``[pool, 0, pool-authority, mint, quote mint]`` one, with
the token's vaults, exactly as :func:`trio_trader.pump.amm.pool_from_completed_curve`
says, through the same ``create_pool`` CPI frame as ``migrate`` (:mod:`._pump_migrate`).

**Inferred** (not documented): a token-quoted curve holds no quote lamports, so the
migrator (``user``) pays ``Global.pool_migration_fee`` lamports to the pool authority,
which pays the new accounts' rent as in ``migrate`` (the rest to the withdraw authority);
``pool_migration_fee`` quote units of the curve's reserves go to the pool authority's quote
account (``pool_authority_quote_account``), the rest into the pool.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump._account_meta import r, w, ws
from trio_trader.pump._borsh import anchor_discriminator
from trio_trader.pump.amm import addresses as AA

from ._invoke import InvokeContext
from ._pump_accounts import bonding_curve_acc
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, validate
from ._pump_common import create_ata, read_global, system_transfer, token_transfer
from ._pump_migrate import _MIGRATE_V2, _create_pool, _finish, checked_migration
from ._tokens import TOKEN_2022_PROGRAM, TOKEN_PROGRAM

__all__ = ["MIGRATE_V2_DISCRIMINATOR", "migrate_v2", "migrate_v2_instruction"]

MIGRATE_V2_DISCRIMINATOR = anchor_discriminator("global", "migrate_v2")
_TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)


def migrate_v2_instruction(
    *,
    user: Pubkey,
    mint: Pubkey,
    quote_mint: Pubkey,
    base_token_program: Pubkey,
    withdraw_authority: Pubkey,
    quote_token_program: Pubkey = TOKEN_PROGRAM,
) -> Instruction:
    """pump ``migrate_v2`` with pump.json's 27 accounts."""
    pool = AA.canonical_pool_pda(mint, quote_mint)
    authority = A.pool_authority_pda(mint)
    curve = A.bonding_curve_pda(mint)
    lp_mint = AA.lp_mint_pda(pool)
    ata = A.associated_token_address
    accounts = [
        r(A.GLOBAL), w(withdraw_authority), r(mint), r(quote_mint), w(curve),
        w(ata(curve, mint, base_token_program)), w(ata(curve, quote_mint, quote_token_program)),
        ws(user), r(A.SYSTEM_PROGRAM_ID), r(A.PUMP_AMM_PROGRAM_ID), w(pool),
        w(authority), w(ata(authority, mint, base_token_program)),
        w(ata(authority, quote_mint, quote_token_program)), r(AA.GLOBAL_CONFIG), w(lp_mint),
        w(ata(authority, lp_mint, TOKEN_2022_PROGRAM)), w(ata(pool, mint, base_token_program)),
        w(ata(pool, quote_mint, quote_token_program)), r(base_token_program),
        r(quote_token_program), r(TOKEN_2022_PROGRAM), r(A.ASSOCIATED_TOKEN_PROGRAM_ID),
        r(AA.AMM_EVENT_AUTHORITY), r(A.RENT_SYSVAR_ID), r(A.EVENT_AUTHORITY),
        r(A.PUMP_PROGRAM_ID),
    ]  # fmt: skip
    return Instruction(A.PUMP_PROGRAM_ID, MIGRATE_V2_DISCRIMINATOR, accounts)


def _spec(ctx: InvokeContext) -> list[Acc]:
    def withdraw_authority(_k: Sequence[Pubkey]) -> Pubkey:
        return read_global(ctx).withdraw_authority or A.ZERO_KEY

    def ata(name: str, owner: int, mint: int, tp: int) -> Acc:
        return Acc(
            name, mut=True, seeds=lambda k: A.associated_token_address(k[owner], k[mint], k[tp])
        )

    return [
        Acc("global", ACCOUNT, owners=(A.PUMP_PROGRAM_ID,), seeds=lambda _k: A.GLOBAL),
        Acc("withdraw_authority", mut=True, has_one=withdraw_authority),
        Acc("base_mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        Acc("quote_mint", ACCOUNT, owners=_TOKEN_PROGRAMS),
        bonding_curve_acc(2),
        ata("associated_base_bonding_curve", 4, 2, 19),
        ata("associated_quote_bonding_curve", 4, 3, 20),
        Acc("user", SIGNER, mut=True),
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
        Acc("pump_amm", PROGRAM, address=(A.PUMP_AMM_PROGRAM_ID,)),
        Acc("pool", mut=True, seeds=lambda k: AA.canonical_pool_pda(k[2], k[3])),
        Acc("pool_authority", mut=True, seeds=lambda k: A.pool_authority_pda(k[2])),
        ata("pool_authority_mint_account", 11, 2, 19),
        ata("pool_authority_quote_account", 11, 3, 20),
        Acc(
            "amm_global_config",
            ACCOUNT,
            owners=(A.PUMP_AMM_PROGRAM_ID,),
            seeds=lambda _k: AA.GLOBAL_CONFIG,
        ),
        Acc("lp_mint", mut=True, seeds=lambda k: AA.lp_mint_pda(k[10])),
        ata("user_pool_token_account", 11, 15, 21),
        ata("pool_base_token_account", 10, 2, 19),
        ata("pool_quote_token_account", 10, 3, 20),
        Acc("base_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("quote_token_program", PROGRAM, address=_TOKEN_PROGRAMS),
        Acc("token_2022_program", PROGRAM, address=(TOKEN_2022_PROGRAM,)),
        Acc("associated_token_program", PROGRAM, address=(A.ASSOCIATED_TOKEN_PROGRAM_ID,)),
        Acc("pump_amm_event_authority", seeds=lambda _k: AA.AMM_EVENT_AUTHORITY),
        Acc("rent", PROGRAM, address=(A.RENT_SYSVAR_ID,)),
        Acc("event_authority", seeds=lambda _k: A.EVENT_AUTHORITY),
        Acc("program", PROGRAM, address=(A.PUMP_PROGRAM_ID,)),
    ]


def migrate_v2(ctx: InvokeContext) -> None:
    """Validate, create the token-quoted pool from the curve's reserves, emit the events."""
    keys = validate(ctx, _spec(ctx), accounts=ctx.metas)
    roles = _MIGRATE_V2.roles(keys, base_tp=keys[19], quote_tp=keys[20])
    mig = checked_migration(ctx, roles, token_quoted=True)
    user, curve_quote = keys[7], roles.curve_quote
    assert curve_quote is not None  # migrate_v2 names it
    system_transfer(ctx, user, roles.authority, read_global(ctx).pool_migration_fee or 0)
    if ctx.get(roles.authority_quote) is None:
        create_ata(ctx, payer=roles.authority, owner=roles.authority, mint=roles.quote_mint,
                   token_program=roles.quote_tp)  # fmt: skip
    token_transfer(
        ctx, token_program=roles.quote_tp, source=curve_quote, mint=roles.quote_mint,
        destination=roles.authority_quote, authority=roles.curve, amount=mig.pool_migration_fee,
    )  # fmt: skip
    _create_pool(ctx, roles, mig)
    _finish(ctx, roles, mig, withdraw_authority=keys[1], user=user)
