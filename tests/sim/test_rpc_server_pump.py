"""A pump.fun create + buy through sendTransaction, read back over RPC and logsSubscribe."""

from __future__ import annotations

import base64

import httpx
import trio
from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction
from trio_websocket import open_websocket_url

from tests.sim.conftest import keypair, latest_blockhash, rpc, rpc_raw, ws_notification, ws_request
from trio_trader.pump import instructions as ixs
from trio_trader.pump.addresses import (
    FEE_RECIPIENTS,
    PUMP_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    associated_token_address,
)
from trio_trader.pump.events import CreateEvent, TradeEvent, parse_logs
from trio_trader.sim import SimNode

AMOUNT = 1_000_000_000_000  # one million tokens (6 decimals)


async def test_pump_buy_is_read_back_from_logs_and_token_rpcs(
    autojump_clock: trio.testing.MockClock, sim: SimNode, client: httpx.AsyncClient, payer: Keypair
) -> None:
    mint = keypair("mint")
    user = payer.pubkey()
    ata = associated_token_address(user, mint.pubkey(), TOKEN_2022_PROGRAM_ID)
    with trio.fail_after(120):
        async with open_websocket_url(sim.ws_url) as ws:
            sub = (
                await ws_request(
                    ws,
                    "logsSubscribe",
                    [{"mentions": [str(PUMP_PROGRAM_ID)]}, {"commitment": "processed"}],
                )
            )["result"]
            instructions = [
                set_compute_unit_limit(500_000),
                ixs.create_v2(
                    mint=mint.pubkey(),
                    user=user,
                    creator=user,
                    name="Sim",
                    symbol="SIM",
                    uri="https://x",
                ),
                ixs.create_associated_token_account_idempotent(
                    payer=user, owner=user, mint=mint.pubkey(), token_program=TOKEN_2022_PROGRAM_ID
                ),
                ixs.buy(
                    user=user,
                    mint=mint.pubkey(),
                    creator=user,
                    token_program=TOKEN_2022_PROGRAM_ID,
                    fee_recipient=FEE_RECIPIENTS[0],
                    amount=AMOUNT,
                    max_sol_cost=1_000_000_000,
                ),
            ]
            message = MessageV0.try_compile(user, instructions, [], await latest_blockhash(client))
            tx = VersionedTransaction(message, [payer, mint])
            signature = await rpc(
                client,
                "sendTransaction",
                [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
            )

            note = await ws_notification(ws, "logsNotification")
            assert note["params"]["subscription"] == sub
            value = note["params"]["result"]["value"]
            assert value["signature"] == signature
            assert value["err"] is None
            events = parse_logs(value["logs"])
            assert [type(e) for e in events] == [CreateEvent, TradeEvent]
            trade = events[1]
            assert isinstance(trade, TradeEvent)
            assert trade.is_buy
            assert trade.user == user
            assert trade.mint == mint.pubkey()
            assert trade.token_amount == AMOUNT

        balance = await rpc(client, "getTokenAccountBalance", [str(ata)])
        assert balance["value"]["amount"] == str(AMOUNT)
        assert balance["value"]["decimals"] == 6
        assert balance["value"]["uiAmountString"] == "1000000"

        owned = await rpc(
            client,
            "getTokenAccountsByOwner",
            [str(user), {"mint": str(mint.pubkey())}, {"encoding": "jsonParsed"}],
        )
        assert [a["pubkey"] for a in owned["value"]] == [str(ata)]
        parsed = owned["value"][0]["account"]["data"]
        assert parsed["program"] == "spl-token-2022"
        info = parsed["parsed"]["info"]
        assert info["owner"] == str(user)
        assert info["mint"] == str(mint.pubkey())
        assert info["tokenAmount"]["amount"] == str(AMOUNT)
        by_program = await rpc(
            client,
            "getTokenAccountsByOwner",
            [str(user), {"programId": str(TOKEN_2022_PROGRAM_ID)}],
        )
        assert [a["pubkey"] for a in by_program["value"]] == [str(ata)]
        assert by_program["value"][0]["account"]["data"][1] == "base64"

        mint_info = await rpc(
            client, "getAccountInfo", [str(mint.pubkey()), {"encoding": "jsonParsed"}]
        )
        assert mint_info["value"]["data"]["parsed"]["type"] == "mint"
        assert mint_info["value"]["data"]["parsed"]["info"]["decimals"] == 6

        while (await rpc(client, "getSignatureStatuses", [[signature]]))["value"][0][
            "confirmationStatus"
        ] == "processed":
            await trio.sleep(0.2)
        legacy_only = await rpc_raw(
            client, "getTransaction", [signature, {"commitment": "confirmed"}]
        )
        assert legacy_only["error"]["code"] == -32015
        got = await rpc(
            client,
            "getTransaction",
            [signature, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}],
        )
        assert got["version"] == 0
        assert got["transaction"]["message"]["addressTableLookups"] == []
        post = [b for b in got["meta"]["postTokenBalances"] if b["owner"] == str(user)]
        assert post[0]["uiTokenAmount"]["amount"] == str(AMOUNT)
        assert post[0]["mint"] == str(mint.pubkey())
        assert got["meta"]["innerInstructions"], "the buy's CPIs are recorded"
        spent = got["meta"]["preBalances"][0] - got["meta"]["postBalances"][0]
        assert spent > trade.sol_amount + got["meta"]["fee"]
        parsed = await rpc(
            client,
            "getTransaction",
            [
                signature,
                {
                    "commitment": "confirmed",
                    "encoding": "jsonParsed",
                    "maxSupportedTransactionVersion": 0,
                },
            ],
        )
        inner = [
            ix for group in parsed["meta"]["innerInstructions"] for ix in group["instructions"]
        ]
        assert all("programId" in ix for ix in inner)
        transfers = [ix for ix in inner if ix.get("parsed", {}).get("type") == "transfer"]
        assert any(t["parsed"]["info"]["source"] == str(user) for t in transfers)
