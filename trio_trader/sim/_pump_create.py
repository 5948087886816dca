"""``create`` and ``create_v2`` of the emulated pump program.

The mint, the curve's token account, the supply and the mint-authority revocation are
made by real CPIs (System ``CreateAccount``, ``InitializeMint2``, ATA ``Create``,
``MintTo``, ``SetAuthority``; for Token-2022 also ``MetadataPointer::Initialize`` and the
token-metadata interface's ``Initialize``), so the mint bytes are the token programs' own.
A ``create_v2`` may name a quote mint in three trailing accounts (``quote_mint``,
``associated_quote_bonding_curve``, ``quote_token_program``; PROTOCOL.md §4.2): the mint
must be in ``Global.whitelisted_quote_mints`` (6068), the token program SPL Token or
Token-2022 (6064), the account the curve's ATA for it (6065); the curve's quote ATA is
created (a real ATA CPI, the creator paying) and the curve starts with
``Global.initial_virtual_quote_reserves`` as its virtual quote reserves (inferred from
the field's name; SOL curves keep ``initial_virtual_sol_reserves``).
The Metaplex program is not loaded in LiteSVM: for a legacy ``create`` its frame is
logged as on mainnet, its account is allocated by a real System ``CreateAccount`` and
filled with a Metaplex ``MetadataV1`` record (name/symbol/uri, update authority = the
pump mint authority), which is all a client reads from it.
"""

from __future__ import annotations

import hashlib

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from trio_trader.pump import addresses as A
from trio_trader.pump._borsh import Writer
from trio_trader.pump.accounts import BondingCurve, Global
from trio_trader.pump.events import CreateEvent
from trio_trader.pump.instructions import CreateArgs, CreateV2Args

from ._invoke import InvokeContext
from ._pump_checks import ACCOUNT, PROGRAM, SIGNER, Acc, thrown, validate
from ._pump_common import create_ata, create_pda, emit, read_global
from ._tokens import MINT_SIZE, TOKEN_2022_PROGRAM, TOKEN_PROGRAM

__all__ = ["create"]

DECIMALS = 6
_METADATA_SIZE = 679  # Metaplex MAX_METADATA_LEN
_MINT_WITH_POINTER_SIZE = 165 + 1 + 4 + 64  # base, account type, MetadataPointer TLV
_TOKEN_METADATA_INIT = hashlib.sha256(b"spl_token_metadata_interface:initialize_account").digest()[
    :8
]
_METAPLEX_CU = 36_258


def _spec(name: str) -> list[Acc]:
    legacy = name == "create"
    tp = TOKEN_PROGRAM if legacy else TOKEN_2022_PROGRAM
    head = [
        Acc("mint", SIGNER, mut=True),
        Acc("mint_authority", seeds=lambda _k: A.MINT_AUTHORITY),
        Acc("bonding_curve", mut=True, seeds=lambda k: A.bonding_curve_pda(k[0])),
        Acc(
            "associated_bonding_curve",
            mut=True,
            seeds=lambda k: A.associated_bonding_curve(k[0], tp),
        ),
        Acc("global", ACCOUNT, owners=(A.PUMP_PROGRAM_ID,), seeds=lambda _k: A.GLOBAL),
    ]
    programs = [
        Acc("system_program", PROGRAM, address=(A.SYSTEM_PROGRAM_ID,)),
        Acc("token_program", PROGRAM, address=(tp,)),
        Acc("associated_token_program", PROGRAM, address=(A.ASSOCIATED_TOKEN_PROGRAM_ID,)),
    ]
    tail = [
        Acc("event_authority", seeds=lambda _k: A.EVENT_AUTHORITY),
        Acc("program", PROGRAM, address=(A.PUMP_PROGRAM_ID,)),
    ]
    if legacy:
        return [
            *head,
            Acc("mpl_token_metadata", PROGRAM, address=(A.METAPLEX_PROGRAM_ID,)),
            Acc("metadata", mut=True, seeds=lambda k: A.metadata_pda(k[0])),
            Acc("user", SIGNER, mut=True),
            *programs,
            Acc("rent", PROGRAM, address=(A.RENT_SYSVAR_ID,)),
            *tail,
        ]
    return [
        *head,
        Acc("user", SIGNER, mut=True),
        *programs,
        Acc("mayhem_program_id", PROGRAM, mut=True, address=(A.MAYHEM_PROGRAM_ID,)),
        Acc("global_params", seeds=lambda _k: A.MAYHEM_GLOBAL_PARAMS),
        Acc("sol_vault", mut=True, seeds=lambda _k: A.MAYHEM_SOL_VAULT),
        Acc("mayhem_state", mut=True, seeds=lambda k: A.mayhem_state_pda(k[0])),
        Acc("mayhem_token_vault", mut=True, seeds=lambda k: A.mayhem_token_vault(k[0])),
        *tail,
    ]


def create(ctx: InvokeContext, name: str, args: CreateArgs | CreateV2Args) -> None:
    """Validate, make the mint and curve, mint the supply to the curve, emit CreateEvent."""
    keys = validate(ctx, _spec(name), accounts=ctx.metas)
    mint, curve_key = keys[0], keys[2]
    user = keys[7] if name == "create" else keys[5]
    global_ = read_global(ctx)
    _check_args(
        ctx,
        args,
        global_create_v2=bool(global_.create_v2_enabled),
        mayhem_enabled=bool(global_.mayhem_mode_enabled),
    )
    creator = args.creator or user
    quote = _quote_accounts(ctx, name, curve_key, global_) if name == "create_v2" else None
    tp = TOKEN_PROGRAM if name == "create" else TOKEN_2022_PROGRAM
    if name == "create":
        _make_legacy_mint(ctx, user, mint)
    else:
        _make_token_2022_mint(ctx, user, mint, args)
    virtual_quote = global_.initial_virtual_sol_reserves
    if quote is not None:
        virtual_quote = global_.initial_virtual_quote_reserves or virtual_quote
    curve = BondingCurve(
        virtual_token_reserves=global_.initial_virtual_token_reserves,
        virtual_sol_reserves=virtual_quote,
        real_token_reserves=global_.initial_real_token_reserves,
        real_sol_reserves=0,
        token_total_supply=global_.token_total_supply,
        complete=False,
        creator=creator,
        is_mayhem_mode=False,
        is_cashback_coin=False,
        quote_mint=A.ZERO_KEY if quote is None else quote[0],
        creator_fee_bps=0,
        can_edit_creator_fee=False,
        is_holder_reward=False,
    )
    create_pda(ctx, user, curve_key, BondingCurve.SIZE, A.PUMP_PROGRAM_ID)
    ctx.write(curve_key, curve.encode(), A.PUMP_PROGRAM_ID)
    curve_ata = A.associated_bonding_curve(mint, tp)
    ctx.cpi(
        Instruction(
            A.ASSOCIATED_TOKEN_PROGRAM_ID,
            b"",
            [
                AccountMeta(user, True, True),
                AccountMeta(curve_ata, False, True),
                AccountMeta(curve_key, False, False),
                AccountMeta(mint, False, False),
                AccountMeta(A.SYSTEM_PROGRAM_ID, False, False),
                AccountMeta(tp, False, False),
            ],
        )
    )
    if quote is not None:
        create_ata(ctx, payer=user, owner=curve_key, mint=quote[0], token_program=quote[1])
    if name == "create":
        _metaplex_metadata(ctx, user, mint, args)
    ctx.cpi(
        Instruction(
            tp,
            Writer().u8(7).u64(global_.token_total_supply).to_bytes(),
            [
                AccountMeta(mint, False, True),
                AccountMeta(curve_ata, False, True),
                AccountMeta(A.MINT_AUTHORITY, True, False),
            ],
        )
    )
    ctx.cpi(
        Instruction(
            tp,
            bytes([6, 0, 0]),
            [  # SetAuthority(MintTokens, None)
                AccountMeta(mint, False, True),
                AccountMeta(A.MINT_AUTHORITY, True, False),
            ],
        )
    )
    emit(
        ctx,
        CreateEvent(
            name=args.name,
            symbol=args.symbol,
            uri=args.uri,
            mint=mint,
            bonding_curve=curve_key,
            user=user,
            creator=creator,
            timestamp=ctx.blocktime,
            virtual_token_reserves=curve.virtual_token_reserves,
            virtual_sol_reserves=curve.virtual_sol_reserves,
            real_token_reserves=curve.real_token_reserves,
            token_total_supply=curve.token_total_supply,
            token_program=tp,
            is_mayhem_mode=False,
            is_cashback_enabled=False,
            quote_mint=curve.quote_mint,
            virtual_quote_reserves=curve.virtual_sol_reserves,
            creator_fee_bps=0,
            is_holder_reward=False,
        ),
    )


def _quote_accounts(
    ctx: InvokeContext, name: str, curve: Pubkey, global_: Global
) -> tuple[Pubkey, Pubkey] | None:
    """(quote mint, its token program) of a ``create_v2`` quoted in a token, else None."""
    extra = [m.pubkey for m in ctx.metas[len(_spec(name)) :]]
    if len(extra) < 3:
        return None
    quote_mint, quote_ata, quote_tp = extra[:3]
    if quote_mint == A.ZERO_KEY or quote_mint == A.WSOL_MINT:
        return None
    if quote_mint not in (global_.whitelisted_quote_mints or ()):
        raise thrown(ctx, 6068)
    if quote_tp not in (TOKEN_PROGRAM, TOKEN_2022_PROGRAM):
        raise thrown(ctx, 6064)
    if quote_ata != A.associated_token_address(curve, quote_mint, quote_tp):
        raise thrown(ctx, 6065)
    return quote_mint, quote_tp


def _check_args(
    ctx: InvokeContext,
    args: CreateArgs | CreateV2Args,
    *,
    global_create_v2: bool,
    mayhem_enabled: bool,
) -> None:
    if len(args.name) > 32:
        raise thrown(ctx, 6043)
    if len(args.symbol) > 13:
        raise thrown(ctx, 6044)
    if len(args.uri) > 200:
        raise thrown(ctx, 6045)
    if args.creator is not None and args.creator == A.ZERO_KEY:
        raise thrown(ctx, 6030)
    if isinstance(args, CreateV2Args):
        if not global_create_v2:
            raise thrown(ctx, 6046)
        if args.is_mayhem_mode and not mayhem_enabled:
            raise thrown(ctx, 6048)
        if args.is_cashback_enabled:
            raise thrown(ctx, 6082)
        if args.creator_fee_bps:
            raise thrown(ctx, 6077)
        if args.is_holder_reward:
            raise thrown(ctx, 6084)


def _initialize_mint2(tp: Pubkey, mint: Pubkey) -> Instruction:
    data = Writer().u8(20).u8(DECIMALS).pubkey(A.MINT_AUTHORITY).u8(0).to_bytes()
    return Instruction(tp, data, [AccountMeta(mint, False, True)])


def _make_legacy_mint(ctx: InvokeContext, user: Pubkey, mint: Pubkey) -> None:
    create_pda(ctx, user, mint, MINT_SIZE, TOKEN_PROGRAM)
    ctx.cpi(_initialize_mint2(TOKEN_PROGRAM, mint))


def _make_token_2022_mint(
    ctx: InvokeContext, user: Pubkey, mint: Pubkey, args: CreateArgs | CreateV2Args
) -> None:
    """Mint with a MetadataPointer to itself and the TokenMetadata extension."""
    meta = Writer().pubkey(A.MINT_AUTHORITY).pubkey(mint).string(args.name)
    meta.string(args.symbol).string(args.uri).u32(0)
    final_size = _MINT_WITH_POINTER_SIZE + 4 + len(meta.to_bytes())
    create_pda(
        ctx,
        user,
        mint,
        _MINT_WITH_POINTER_SIZE,
        TOKEN_2022_PROGRAM,
        lamports=ctx.rent_exempt(final_size),
    )
    pointer = Writer().u8(39).u8(0).pubkey(A.MINT_AUTHORITY).pubkey(mint).to_bytes()
    ctx.cpi(Instruction(TOKEN_2022_PROGRAM, pointer, [AccountMeta(mint, False, True)]))
    ctx.cpi(_initialize_mint2(TOKEN_2022_PROGRAM, mint))
    init = Writer(_TOKEN_METADATA_INIT).string(args.name).string(args.symbol)
    init.string(args.uri)
    ctx.cpi(
        Instruction(
            TOKEN_2022_PROGRAM,
            init.to_bytes(),
            [
                AccountMeta(mint, False, True),
                AccountMeta(A.MINT_AUTHORITY, False, False),
                AccountMeta(mint, False, False),
                AccountMeta(A.MINT_AUTHORITY, True, False),
            ],
        )
    )


def _puffed(value: str, size: int) -> bytes:
    raw = value.encode()[:size]
    return len(raw.ljust(size, b"\0")).to_bytes(4, "little") + raw.ljust(size, b"\0")


def _metaplex_metadata(
    ctx: InvokeContext, user: Pubkey, mint: Pubkey, args: CreateArgs | CreateV2Args
) -> None:
    """Metaplex ``CreateMetadataAccountV3`` frame and a ``MetadataV1`` account."""
    metadata = A.metadata_pda(mint)
    program = A.METAPLEX_PROGRAM_ID
    start = ctx.compute_limit - ctx.consumed
    ctx.log(f"Program {program} invoke [2]")
    ctx.log("Program log: IX: Create Metadata Accounts v3")
    create_pda(ctx, user, metadata, _METADATA_SIZE, program, depth=2)
    ctx.charge(_METAPLEX_CU)
    ctx.log(f"Program {program} consumed {_METAPLEX_CU} of {start} compute units")
    ctx.log(f"Program {program} success")
    data = (
        bytes([4])
        + bytes(A.MINT_AUTHORITY)
        + bytes(mint)
        + _puffed(args.name, 32)
        + _puffed(args.symbol, 10)
        + _puffed(args.uri, 200)
        + (0).to_bytes(2, "little")
        + bytes([0])  # seller fee bps, no creators
        + bytes([0, 0])  # primary_sale_happened, is_mutable
        + bytes([0])
        + bytes([1, 2])  # edition_nonce None, token_standard Fungible
    ).ljust(_METADATA_SIZE, b"\0")
    ctx.write(metadata, data, program)
