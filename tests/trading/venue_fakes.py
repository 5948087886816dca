"""A fake node holding real account bytes (curve, Global, pool, vaults, mints) for the
seller's venue tests, and helpers to read back what the bot signed."""

from __future__ import annotations

import base64
from typing import Any

import attrs
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from tests.chain.fakes import FakeNode, context
from trio_trader.chain.confirm import Confirmer
from trio_trader.chain.rpc import RpcClient
from trio_trader.pump import addresses as A
from trio_trader.pump.accounts import BondingCurve, FeeConfig, Fees, FeeTier, Global
from trio_trader.pump.amm import GlobalConfig, Pool
from trio_trader.pump.amm.addresses import (
    AMM_FEE_CONFIG,
    GLOBAL_CONFIG,
    canonical_pool_pda,
    lp_mint_pda,
    pool_token_account,
)
from trio_trader.pump.curve import INITIAL_RESERVES, TOKEN_TOTAL_SUPPLY
from trio_trader.trading.compute import ComputeUnits
from trio_trader.trading.orders import BuyOrder, SellOrder
from trio_trader.trading.platform_aware import ChainAccess, MarketParams
from trio_trader.trading.position import Position
from trio_trader.trading.token_info import TokenInfo

TOKENS = 35_000_000_000_000  # 35M tokens
POOL_BASE = 206_900_000_000_000
POOL_QUOTE = 84_990_359_454


@attrs.define
class Blockhash:
    latest: tuple[Hash, int] = (Hash.new_unique(), 1_000)
    block_height: int = 900


@attrs.define
class Fee:
    micro_lamports: int = 1_000


def keys(n: int) -> tuple[Pubkey, ...]:
    return tuple(Pubkey.new_unique() for _ in range(n))


def token(
    *,
    token_program: Pubkey = A.TOKEN_2022_PROGRAM_ID,
    quote_mint: Pubkey | None = None,
    is_holder_reward: bool = False,
) -> TokenInfo:
    mint = Pubkey.new_unique()
    return TokenInfo(
        mint=mint, name="T", symbol="T", uri="u", bonding_curve=A.bonding_curve_pda(mint),
        associated_bonding_curve=A.associated_bonding_curve(mint, token_program),
        creator=Pubkey.new_unique(), user=Pubkey.new_unique(), token_program=token_program,
        virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
        virtual_token_reserves=INITIAL_RESERVES.virtual_token,
        quote_mint=quote_mint, is_holder_reward=is_holder_reward,
    )  # fmt: skip


def curve_of(info: TokenInfo, *, complete: bool = False, creator: Pubkey | None = None,
             is_holder_reward: bool = False) -> BondingCurve:  # fmt: skip
    r = INITIAL_RESERVES
    return BondingCurve(
        virtual_token_reserves=0 if complete else r.virtual_token - TOKENS,
        virtual_sol_reserves=0 if complete else r.virtual_sol + 1_000_000_000,
        real_token_reserves=0 if complete else r.real_token - TOKENS,
        real_sol_reserves=0 if complete else 1_000_000_000,
        token_total_supply=TOKEN_TOTAL_SUPPLY, complete=complete,
        creator=creator or info.creator, is_mayhem_mode=False, is_cashback_coin=False,
        quote_mint=A.ZERO_KEY, creator_fee_bps=0, can_edit_creator_fee=False,
        is_holder_reward=is_holder_reward,
    )  # fmt: skip


GLOBAL = Global(
    initialized=True, authority=Pubkey.new_unique(), fee_recipient=A.FEE_RECIPIENTS[0],
    initial_virtual_token_reserves=INITIAL_RESERVES.virtual_token,
    initial_virtual_sol_reserves=INITIAL_RESERVES.virtual_sol,
    initial_real_token_reserves=INITIAL_RESERVES.real_token, token_total_supply=TOKEN_TOTAL_SUPPLY,
    fee_basis_points=95, creator_fee_basis_points=30, fee_recipients=keys(7),
    reserved_fee_recipient=Pubkey.new_unique(), reserved_fee_recipients=keys(7),
    buyback_fee_recipients=keys(8), buyback_basis_points=0,
)  # fmt: skip
AMM_GLOBAL = GlobalConfig(
    admin=Pubkey.new_unique(), lp_fee_basis_points=20, protocol_fee_basis_points=5,
    disable_flags=0, protocol_fee_recipients=keys(8), coin_creator_fee_basis_points=5,
    reserved_fee_recipient=Pubkey.new_unique(), reserved_fee_recipients=keys(7),
    buyback_fee_recipients=keys(8), buyback_basis_points=0, creator_fee_configurable=False,
)  # fmt: skip
#: the 2026-09 AMM schedule's first tier (docs/protocol-pumpswap.md §6)
AMM_FEES = FeeConfig(
    bump=255, admin=Pubkey.new_unique(), flat_fees=Fees(25, 5, 0),
    fee_tiers=(FeeTier(0, Fees(2, 93, 30)), FeeTier(420 * 10**9, Fees(20, 5, 95))),
)  # fmt: skip


def pool_of(info: TokenInfo, quote_mint: Pubkey = A.WSOL_MINT) -> tuple[Pubkey, Pool]:
    address = canonical_pool_pda(info.mint, info.quote_mint)
    quote_tp = A.TOKEN_PROGRAM_ID
    pool = Pool(
        pool_bump=254, index=0, creator=A.pool_authority_pda(info.mint), base_mint=info.mint,
        quote_mint=quote_mint, lp_mint=lp_mint_pda(address),
        pool_base_token_account=pool_token_account(address, info.mint, info.token_program),
        pool_quote_token_account=pool_token_account(address, quote_mint, quote_tp),
        lp_supply=1, coin_creator=info.vault_creator, is_mayhem_mode=False,
        is_cashback_coin=False, virtual_quote_reserves=0, creator_fee_bps=0,
        can_edit_creator_fee=False, is_holder_reward=info.is_holder_reward,
    )  # fmt: skip
    return address, pool


def token_account(amount: int) -> bytes:
    return bytes(64) + amount.to_bytes(8, "little") + bytes(165 - 72)


def mint_account(supply: int) -> bytes:
    return bytes(36) + supply.to_bytes(8, "little") + bytes(82 - 44)


@attrs.define(eq=False)
class Chain:
    """Accounts by address, served as ``getAccountInfo`` / ``getMultipleAccounts``; sent
    transactions are kept and acknowledged."""

    accounts: dict[Pubkey, tuple[bytes, Pubkey]] = attrs.field(factory=dict)
    sent: list[VersionedTransaction] = attrs.field(factory=list)
    node: FakeNode = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.node = FakeNode(
            {
                "getAccountInfo": lambda p: context(self._value(Pubkey.from_string(p[0]))),
                "getMultipleAccounts": lambda p: context(
                    [self._value(Pubkey.from_string(k)) for k in p[0]]
                ),
                "sendTransaction": self._send,
            }
        )
        self.put(A.GLOBAL, GLOBAL.encode(), A.PUMP_PROGRAM_ID)
        self.put(GLOBAL_CONFIG, AMM_GLOBAL.encode(), A.PUMP_AMM_PROGRAM_ID)
        self.put(AMM_FEE_CONFIG, AMM_FEES.encode(), A.PUMP_FEE_PROGRAM_ID)

    def put(self, key: Pubkey, data: bytes, owner: Pubkey) -> None:
        self.accounts[key] = (data, owner)

    def put_curve(self, info: TokenInfo, curve: BondingCurve) -> None:
        self.put(info.bonding_curve, curve.encode(), A.PUMP_PROGRAM_ID)

    def put_pool(self, info: TokenInfo, quote_mint: Pubkey = A.WSOL_MINT) -> tuple[Pubkey, Pool]:
        address, pool = pool_of(info, quote_mint)
        self.put(address, pool.encode(), A.PUMP_AMM_PROGRAM_ID)
        self.put(pool.pool_base_token_account, token_account(POOL_BASE), info.token_program)
        self.put(pool.pool_quote_token_account, token_account(POOL_QUOTE), A.TOKEN_PROGRAM_ID)
        self.put(info.mint, mint_account(TOKEN_TOTAL_SUPPLY), info.token_program)
        self.put(quote_mint, mint_account(10**18), A.TOKEN_PROGRAM_ID)
        return address, pool

    def _value(self, key: Pubkey) -> dict[str, Any] | None:
        if key not in self.accounts:
            return None
        data, owner = self.accounts[key]
        encoded = [base64.b64encode(data).decode(), "base64"]
        return {"data": encoded, "executable": False, "lamports": 10**9, "owner": str(owner),
                "rentEpoch": 0, "space": len(data)}  # fmt: skip

    def _send(self, params: list[Any]) -> str:
        tx = VersionedTransaction.from_bytes(base64.b64decode(params[0]))
        self.sent.append(tx)
        return str(tx.signatures[0])

    def reads(self) -> list[str]:
        return [m for m in self.node.methods() if m != "sendTransaction"]


def access(rpc: RpcClient, *, market: MarketParams, instructions: str = "legacy") -> ChainAccess:
    return ChainAccess(
        rpc=rpc, payer=Keypair(), blockhash=Blockhash(), priority_fee=Fee(),
        confirmer=Confirmer(rpc, None), market=market, compute_units=ComputeUnits(),
        instructions=instructions,
    )  # fmt: skip


def program_instructions(tx: VersionedTransaction) -> list[Instruction]:
    """The instructions of a signed transaction, compute-budget ones included (no flags)."""
    from solders.instruction import AccountMeta

    message = tx.message
    keys_ = list(message.account_keys)
    out = []
    for ix in message.instructions:
        metas = [AccountMeta(keys_[i], False, False) for i in bytes(ix.accounts)]
        out.append(Instruction(keys_[ix.program_id_index], bytes(ix.data), metas))
    return out


def same(a: Instruction, b: Instruction) -> bool:
    """Equal program, data and account keys (flags are the builders' tests' business)."""
    return (
        a.program_id == b.program_id
        and bytes(a.data) == bytes(b.data)
        and [m.pubkey for m in a.accounts] == [m.pubkey for m in b.accounts]
    )


def holding(info: TokenInfo, *, confirmed: bool = True) -> Position:
    """A position whose BUY of ``TOKENS`` was sent (and confirmed unless told otherwise)."""
    position = Position.create_from_token_info(info)
    buy = BuyOrder(token_info=info, token_amount=TOKENS, max_sol_cost=2 * 10**9, sol_cost=10**9)
    buy.attach_transaction(signature=Keypair().sign_message(b"b"), raw_transaction=b"r",
                           blockhash=str(Hash.default()), last_valid_block_height=1)  # fmt: skip
    buy.mark_sent(sent_at=0.0, sent_at_wall=0.0)
    position.update_from_buy_order(buy)
    if confirmed:
        position.apply_buy_result(
            buy.mark_confirmed(slot=1, fee_lamports=5_000, sol_change=-(10**9), token_change=TOKENS)
        )
    return position


def failed_sell(position: Position, code: int, *, venue: str = "pump", error: Any = None,
                close_ix_index: int | None = 3) -> SellOrder:  # fmt: skip
    """Record a SELL attempt that landed and failed with custom error ``code``."""
    order = SellOrder(token_info=position.token_info, token_amount=TOKENS, min_sol_output=1,
                      sol_output=2, attempt=position.next_sell_attempt, venue=venue,
                      close_ix_index=close_ix_index)  # fmt: skip
    order.attach_transaction(signature=Keypair().sign_message(bytes([code % 256])),
                             raw_transaction=b"r", blockhash=str(Hash.default()),
                             last_valid_block_height=1)  # fmt: skip
    position.update_from_sell_order(order, exit_reason="test")
    order.mark_sent(sent_at=0.0, sent_at_wall=0.0)
    result = order.mark_failed(error=error or {"InstructionError": [2, {"Custom": code}]},
                               error_code=code, error_name=str(code), slot=1, fee_lamports=5_000,
                               sol_change=-5_000, token_change=0)  # fmt: skip
    position.apply_sell_result(result)
    return order
