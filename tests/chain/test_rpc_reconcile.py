"""The client methods reconciliation relies on: getSignaturesForAddress, getTokenAccountsByOwner,
getGenesisHash, getSignatureStatuses with history; on a fake node (wire format, both token
account encodings) and against the simulator (a real pump.fun buy, real history)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import trio
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer

from tests.chain.fakes import FakeNode, context
from trio_trader.chain import RpcClient, build_transaction
from trio_trader.chain.types import SignatureInfo, TokenAccount
from trio_trader.pump import instructions as ixs
from trio_trader.pump.addresses import (
    FEE_RECIPIENTS,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    associated_token_address,
)
from trio_trader.sim import open_sim
from trio_trader.sim.node import STATUS_CACHE_SLOTS

OWNER = Pubkey.new_unique()
MINT = Pubkey.new_unique()
SIGS = [Signature.new_unique() for _ in range(3)]


def client(node: FakeNode) -> RpcClient:
    return RpcClient(["http://node/"], transport=node.transport())


async def test_get_signatures_for_address_wire_format_and_result() -> None:
    entries = [
        {"signature": str(SIGS[1]), "slot": 12, "err": None, "memo": None, "blockTime": 1700,
         "confirmationStatus": "finalized"},
        {"signature": str(SIGS[2]), "slot": 11, "err": {"InstructionError": [0, {"Custom": 1}]},
         "memo": None, "blockTime": None, "confirmationStatus": "confirmed"},
    ]  # fmt: skip
    node = FakeNode({"getSignaturesForAddress": lambda params: entries})
    async with client(node) as rpc:
        infos = await rpc.get_signatures_for_address(OWNER, before=SIGS[0], until=SIGS[2], limit=2)
        await rpc.get_signatures_for_address(OWNER, commitment="finalized")
    assert infos == [
        SignatureInfo(SIGS[1], 12, None, 1700, "finalized"),
        SignatureInfo(SIGS[2], 11, {"InstructionError": [0, {"Custom": 1}]}, None, "confirmed"),
    ]
    first, second = (params for _, _, params in node.calls)
    assert first == [
        str(OWNER),
        {"commitment": "confirmed", "limit": 2, "before": str(SIGS[0]), "until": str(SIGS[2])},
    ]
    assert second == [str(OWNER), {"commitment": "finalized", "limit": 1000}]


@pytest.mark.parametrize("limit", [0, 1001, -1])
async def test_get_signatures_for_address_limit_is_checked_before_sending(limit: int) -> None:
    node = FakeNode()
    async with client(node) as rpc:
        with pytest.raises(ValueError, match="limit"):
            await rpc.get_signatures_for_address(OWNER, limit=limit)
    assert node.calls == []


def spl_account_bytes(mint: Pubkey, owner: Pubkey, amount: int, state: int = 1) -> bytes:
    """An SPL token account: mint, owner, amount (u64 LE), delegate, state at 108, ... 165."""
    data = bytearray(165)
    data[0:32] = bytes(mint)
    data[32:64] = bytes(owner)
    data[64:72] = amount.to_bytes(8, "little")
    data[108] = state
    return bytes(data)


async def test_get_token_accounts_by_owner_reads_parsed_and_base64_accounts() -> None:
    parsed_key, raw_key = Pubkey.new_unique(), Pubkey.new_unique()
    parsed = {
        "program": "spl-token-2022",
        "parsed": {
            "type": "account",
            "info": {
                "mint": str(MINT),
                "owner": str(OWNER),
                "state": "initialized",
                "isNative": False,
                "tokenAmount": {"amount": "18446744073709551615", "decimals": 6,
                                "uiAmountString": "18446744073709.551615"},
            },
        },
        "space": 170,
    }  # fmt: skip
    other_mint = Pubkey.new_unique()
    raw = base64.b64encode(spl_account_bytes(other_mint, OWNER, 42) + b"\x02\x00\x00\x00\x00")

    def account(data: Any) -> dict[str, Any]:
        return {"lamports": 2039280, "owner": str(TOKEN_2022_PROGRAM_ID), "data": data,
                "executable": False, "rentEpoch": 0, "space": 170}  # fmt: skip

    value = [
        {"pubkey": str(parsed_key), "account": account(parsed)},
        {"pubkey": str(raw_key), "account": account([raw.decode(), "base64"])},
    ]
    node = FakeNode({"getTokenAccountsByOwner": lambda params: context(value)})
    async with client(node) as rpc:
        accounts = await rpc.get_token_accounts_by_owner(OWNER, program_id=TOKEN_2022_PROGRAM_ID)
    assert accounts == [
        TokenAccount(parsed_key, MINT, OWNER, 2**64 - 1, 6),
        TokenAccount(raw_key, other_mint, OWNER, 42, None),
    ]
    assert node.calls[0][2] == [
        str(OWNER),
        {"programId": str(TOKEN_2022_PROGRAM_ID)},
        {"commitment": "confirmed", "encoding": "jsonParsed"},
    ]


async def test_get_genesis_hash_and_statuses_with_history_wire_format() -> None:
    genesis = Hash.new_unique()
    status = {"slot": 3, "confirmations": None, "err": None, "confirmationStatus": "finalized"}
    node = FakeNode(
        {
            "getGenesisHash": lambda params: str(genesis),
            "getSignatureStatuses": lambda params: context([status]),
        }
    )
    async with client(node) as rpc:
        assert await rpc.get_genesis_hash() == str(genesis)
        (found,) = await rpc.get_signature_statuses([SIGS[0]], search_history=True)
        await rpc.get_signature_statuses([SIGS[0]])
    assert found is not None
    assert found.confirmation_status == "finalized"
    params = [p for _, m, p in node.calls if m == "getSignatureStatuses"]
    assert params == [[[str(SIGS[0])], {"searchTransactionHistory": True}], [[str(SIGS[0])]]]


# ----------------------------------------------------------------------- on the simulator

TOKENS = 1_000_000_000_000  # one million tokens (6 decimals)


async def test_reconciliation_reads_on_the_simulator(autojump_clock: trio.abc.Clock) -> None:
    """A pump.fun buy and two transfers: the wallet's history, newest first and paged, its
    token account with balance and decimals, the statuses found only with history, and the
    cluster's genesis hash."""
    user, mint = Keypair(), Keypair()
    ata = associated_token_address(user.pubkey(), mint.pubkey(), TOKEN_2022_PROGRAM_ID)
    with trio.fail_after(3600):
        async with (
            open_sim(seed=5, fund={user.pubkey(): 10**10}) as sim,
            RpcClient([sim.rpc_url]) as rpc,
        ):
            sent = []
            for step in range(3):
                blockhash, last_valid = await rpc.get_latest_blockhash()
                if step == 0:
                    instructions = [
                        set_compute_unit_limit(500_000),
                        ixs.create_v2(mint=mint.pubkey(), user=user.pubkey(),
                                      creator=user.pubkey(), name="Sim", symbol="SIM",
                                      uri="https://x"),
                        ixs.create_associated_token_account_idempotent(
                            payer=user.pubkey(), owner=user.pubkey(), mint=mint.pubkey(),
                            token_program=TOKEN_2022_PROGRAM_ID),
                        ixs.buy(user=user.pubkey(), mint=mint.pubkey(), creator=user.pubkey(),
                                token_program=TOKEN_2022_PROGRAM_ID,
                                fee_recipient=FEE_RECIPIENTS[0], amount=TOKENS,
                                max_sol_cost=1_000_000_000),
                    ]  # fmt: skip
                    signers = [mint]
                else:
                    to = Keypair().pubkey()
                    params = TransferParams(
                        from_pubkey=user.pubkey(), to_pubkey=to, lamports=10**7 * step
                    )
                    instructions, signers = [transfer(params)], []
                signed = build_transaction(
                    instructions, user, blockhash, signers, last_valid_block_height=last_valid
                )
                await rpc.send_transaction(signed.raw)
                while (await rpc.get_signature_statuses([signed.signature]))[0] is None:
                    await trio.sleep(sim.node.slot_time)
                sent.append(signed.signature)
            await trio.sleep(5 * sim.node.slot_time)  # every one confirmed

            history = await rpc.get_signatures_for_address(user.pubkey())
            page = await rpc.get_signatures_for_address(user.pubkey(), before=sent[2], limit=1)
            token_2022 = await rpc.get_token_accounts_by_owner(
                user.pubkey(), program_id=TOKEN_2022_PROGRAM_ID
            )
            legacy = await rpc.get_token_accounts_by_owner(
                user.pubkey(), program_id=TOKEN_PROGRAM_ID
            )
            genesis = await rpc.get_genesis_hash()

            await trio.sleep((STATUS_CACHE_SLOTS + 10) * sim.node.slot_time)
            recent = await rpc.get_signature_statuses(sent)
            with_history = await rpc.get_signature_statuses(sent, search_history=True)
            node_genesis = str(sim.node.genesis_hash)
    assert [info.signature for info in history] == sent[::-1]
    assert [info.err for info in history] == [None, None, None], history
    assert all(info.confirmation_status in ("confirmed", "finalized") for info in history)
    assert [info.signature for info in page] == [sent[1]]
    assert token_2022 == [TokenAccount(ata, mint.pubkey(), user.pubkey(), TOKENS, 6)]
    assert legacy == []
    assert genesis == node_genesis
    assert recent == [None, None, None]
    assert [s.confirmation_status for s in with_history if s is not None] == ["finalized"] * 3
