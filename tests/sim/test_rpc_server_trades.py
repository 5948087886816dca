"""pump.fun trades driven through the node's wire protocols only.

Each step is a solders-built transaction sent with raw ``sendTransaction`` over HTTP and
read back three ways a mainnet client would: the ``logsNotification`` of a
``logsSubscribe`` socket, ``getSignatureStatuses`` and ``getTransaction``. Amounts are
checked to the lamport against ``trio_trader.pump.curve`` and against ``getBalance``;
events come from the notified log lines through ``parse_logs``. The steps share one
coin: a sell with no buy, slippage failures, a wrong PDA, the trades themselves, a sell
that overtakes its buy (the latency knob turned over ``/sim`` between the two sends),
the curve completing, and the refusals (duplicate signature, expired blockhash).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs
import base58
import httpx
import pytest
import trio
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction
from trio_websocket import WebSocketConnection, open_websocket_url

from tests.sim.conftest import (
    GENESIS_TIME,
    LAMPORTS_PER_SOL,
    keypair,
    latest_blockhash,
    rpc,
    rpc_raw,
    wait_for_status,
    ws_request,
)
from trio_trader.pump import addresses as A
from trio_trader.pump import curve as C
from trio_trader.pump import instructions as I
from trio_trader.pump.accounts import BondingCurve
from trio_trader.pump.events import CompleteEvent, CreateEvent, TradeEvent, parse_logs
from trio_trader.sim import SimNode, open_sim

RATES = C.FeeRates(protocol_bps=95, creator_bps=30)
FEE_RECIPIENT = A.FEE_RECIPIENTS[0]
SIGNATURE_FEE = 5000
TOKEN_ACCOUNT_SIZE = 165
USER_VOLUME_ACCUMULATOR_SIZE = 106

CREATOR, TRADER, RACER, WHALE, MINT = (
    keypair(n) for n in ("creator", "trader", "racer", "whale", "coin")
)


@attrs.define
class Wire:
    """One HTTP client and one ``logsSubscribe`` socket on the node."""

    client: httpx.AsyncClient
    ws: WebSocketConnection
    subscription: int
    notes: dict[str, dict[str, Any]] = attrs.Factory(dict)

    async def send(self, tx: Transaction | VersionedTransaction, **config: Any) -> Any:
        """The whole ``sendTransaction`` answer; v0 goes as base64, legacy as base58."""
        if isinstance(tx, VersionedTransaction):
            data, config = base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", **config}
        else:
            data = base58.b58encode(bytes(tx)).decode()
        return await rpc_raw(self.client, "sendTransaction", [data, config])

    async def land(self, tx: Transaction | VersionedTransaction) -> dict[str, Any]:
        """Send with ``skipPreflight``; return its getTransaction after every view agrees."""
        return await self.landed((await self.send(tx, skipPreflight=True))["result"])

    async def landed(self, signature: str) -> dict[str, Any]:
        """getTransaction of a sent transaction, checked against its notification and status."""
        note = await self._logs_notification(signature)
        status = await wait_for_status(self.client, signature, "confirmed")
        got = await rpc(
            self.client,
            "getTransaction",
            [signature, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}],
        )
        assert got["transaction"]["signatures"][0] == signature
        assert got["slot"] == status["slot"] == note["context"]["slot"]
        assert got["meta"]["err"] == status["err"] == note["value"]["err"]
        assert got["meta"]["logMessages"] == note["value"]["logs"]
        assert got["meta"]["status"] == (
            {"Ok": None} if status["err"] is None else {"Err": status["err"]}
        )
        return dict(got)

    async def _logs_notification(self, signature: str) -> dict[str, Any]:
        while signature not in self.notes:
            message = json.loads(await self.ws.get_message())
            assert message["method"] == "logsNotification"
            assert message["params"]["subscription"] == self.subscription
            result = message["params"]["result"]
            self.notes[result["value"]["signature"]] = result
        return dict(self.notes.pop(signature))

    async def set_faults(self, **knobs: float) -> None:
        body = {"jsonrpc": "2.0", "id": 1, "method": "simSetFaults", "params": [knobs]}
        answer = (await self.client.post("/sim", json=body)).json()
        assert all(answer["result"][k] == v for k, v in knobs.items()), answer

    async def balance(self, key: Pubkey) -> int:
        return int((await rpc(self.client, "getBalance", [str(key)]))["value"])

    async def rent(self, size: int) -> int:
        return int(await rpc(self.client, "getMinimumBalanceForRentExemption", [size]))

    async def curve(self) -> BondingCurve:
        key = A.bonding_curve_pda(MINT.pubkey())
        info = await rpc(self.client, "getAccountInfo", [str(key), {"encoding": "base64"}])
        return BondingCurve.decode(base64.b64decode(info["value"]["data"][0]))

    async def tokens(self, owner: Keypair) -> int:
        ata = A.associated_token_address(owner.pubkey(), MINT.pubkey(), A.TOKEN_PROGRAM_ID)
        answer = await rpc_raw(self.client, "getTokenAccountBalance", [str(ata)])
        if "error" in answer:
            assert answer["error"]["message"] == "Invalid param: could not find account"
            return 0
        return int(answer["result"]["value"]["amount"])


@pytest.fixture
async def sim() -> AsyncIterator[SimNode]:
    fund = {CREATOR.pubkey(): 10, TRADER.pubkey(): 10, RACER.pubkey(): 10, WHALE.pubkey(): 200}
    async with open_sim(
        seed=11,
        fund={key: sol * LAMPORTS_PER_SOL for key, sol in fund.items()},
        genesis_time=GENESIS_TIME,
    ) as handle:
        yield handle


def v0(payer: Keypair, ixs: Sequence[Instruction], blockhash: Hash) -> VersionedTransaction:
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


def buy_ixs(user: Keypair, amount: int, max_sol_cost: int, creator: Pubkey) -> list[Instruction]:
    return [
        I.create_associated_token_account_idempotent(
            payer=user.pubkey(),
            owner=user.pubkey(),
            mint=MINT.pubkey(),
            token_program=A.TOKEN_PROGRAM_ID,
        ),
        I.buy(
            user=user.pubkey(),
            mint=MINT.pubkey(),
            creator=creator,
            token_program=A.TOKEN_PROGRAM_ID,
            fee_recipient=FEE_RECIPIENT,
            amount=amount,
            max_sol_cost=max_sol_cost,
        ),
    ]


def sell_ix(user: Keypair, amount: int, min_sol_output: int) -> Instruction:
    return I.sell(
        user=user.pubkey(),
        mint=MINT.pubkey(),
        creator=CREATOR.pubkey(),
        token_program=A.TOKEN_PROGRAM_ID,
        fee_recipient=FEE_RECIPIENT,
        amount=amount,
        min_sol_output=min_sol_output,
    )


def custom_error(index: int, code: int) -> dict[str, Any]:
    return {"InstructionError": [index, {"Custom": code}]}


def only_trade(got: dict[str, Any]) -> TradeEvent:
    (event,) = parse_logs(got["meta"]["logMessages"])
    assert isinstance(event, TradeEvent)
    return event


def token_amount(got: dict[str, Any], when: str, owner: Keypair) -> int | None:
    rows = [r for r in got["meta"][when] if r["owner"] == str(owner.pubkey())]
    assert len(rows) <= 1
    return int(rows[0]["uiTokenAmount"]["amount"]) if rows else None


async def test_pump_market_over_raw_json_rpc_and_logs_subscribe(
    autojump_clock: trio.testing.MockClock, sim: SimNode
) -> None:
    with trio.fail_after(600):
        async with (
            httpx.AsyncClient(base_url=sim.rpc_url, timeout=60) as client,
            open_websocket_url(sim.ws_url) as ws,
        ):
            answer = await ws_request(
                ws,
                "logsSubscribe",
                [{"mentions": [str(A.PUMP_PROGRAM_ID)]}, {"commitment": "processed"}],
            )
            wire = Wire(client, ws, answer["result"])
            stale_blockhash = await latest_blockhash(client)
            await _create(wire)
            await _sell_before_buy_and_slippage(wire)
            await _wrong_pda_fails_preflight_and_lands_as_the_real_error(wire)
            bought = await _buy_with_priority_fee(wire)
            await _duplicate_is_already_processed(wire, bought)
            await _sell(wire)
            await _sell_overtaking_its_buy_fails_then_its_resend_lands(wire)
            await _whale_completes_the_curve(wire)
            await _expired_blockhash_is_refused(wire, stale_blockhash)
    assert (sim.node.stats.landed, sim.node.stats.failed) == (6, 6)


async def _create(wire: Wire) -> None:
    ix = I.create(
        mint=MINT.pubkey(),
        user=CREATOR.pubkey(),
        creator=CREATOR.pubkey(),
        name="Wire Coin",
        symbol="WIRE",
        uri="https://example.invalid/wire.json",
    )
    blockhash = await latest_blockhash(wire.client)
    legacy = Transaction([CREATOR, MINT], Message([ix], CREATOR.pubkey()), blockhash)
    got = await wire.land(legacy)
    assert got["version"] == "legacy"
    assert got["meta"]["err"] is None
    assert got["meta"]["fee"] == 2 * SIGNATURE_FEE
    rents = sum([await wire.rent(n) for n in (82, BondingCurve.SIZE, TOKEN_ACCOUNT_SIZE, 679)])
    assert got["meta"]["preBalances"][0] - got["meta"]["postBalances"][0] == 10_000 + rents
    (event,) = parse_logs(got["meta"]["logMessages"])
    assert isinstance(event, CreateEvent)
    assert (event.mint, event.creator, event.name) == (MINT.pubkey(), CREATOR.pubkey(), "Wire Coin")
    assert event.timestamp == got["blockTime"]
    curve = await wire.curve()
    assert (curve.real_token_reserves, curve.real_sol_reserves) == (793_100_000_000_000, 0)
    assert curve.creator == CREATOR.pubkey()


async def _sell_before_buy_and_slippage(wire: Wire) -> None:
    """A sell sent ahead of its buy, and both slippage limits, fail as mainnet's do."""
    curve_before = await wire.curve()
    start = await wire.balance(TRADER.pubkey())
    blockhash = await latest_blockhash(wire.client)

    early = await wire.land(v0(TRADER, [sell_ix(TRADER, 10**12, 0)], blockhash))
    assert early["version"] == 0
    assert early["meta"]["err"] == custom_error(0, 3012)
    assert any("Error Code: AccountNotInitialized" in x for x in early["meta"]["logMessages"])

    quote = C.quote_buy(10**12, C.Reserves.of(curve_before), RATES)
    short = await wire.land(
        v0(TRADER, buy_ixs(TRADER, quote.amount, quote.total - 1, CREATOR.pubkey()), blockhash)
    )
    assert short["meta"]["err"] == custom_error(1, 6002)
    logs = short["meta"]["logMessages"]
    assert logs[-1] == f"Program {A.PUMP_PROGRAM_ID} failed: custom program error: 0x1772"
    assert token_amount(short, "postTokenBalances", TRADER) is None  # the ATA is undone too

    for failed in (early, short):
        assert failed["meta"]["fee"] == SIGNATURE_FEE
        assert parse_logs(failed["meta"]["logMessages"]) == []
    assert await wire.balance(TRADER.pubkey()) == start - 2 * SIGNATURE_FEE
    assert await wire.curve() == curve_before


async def _wrong_pda_fails_preflight_and_lands_as_the_real_error(wire: Wire) -> None:
    """A wrong creator vault: preflight refuses it (nothing lands); skipPreflight lands it."""
    start = await wire.balance(TRADER.pubkey())
    wrong = buy_ixs(TRADER, 10**12, LAMPORTS_PER_SOL, creator=TRADER.pubkey())
    tx = v0(TRADER, wrong, await latest_blockhash(wire.client))
    refused = (await wire.send(tx))["error"]
    assert refused["code"] == -32002
    assert refused["message"] == (
        "Transaction simulation failed: Error processing Instruction 1: custom program error: 0x7d6"
    )
    assert refused["data"]["err"] == custom_error(1, 2006)
    assert any("caused by account: creator_vault" in x for x in refused["data"]["logs"])
    assert await wire.balance(TRADER.pubkey()) == start

    landed = await wire.land(tx)
    assert landed["meta"]["err"] == custom_error(1, 2006)
    assert landed["meta"]["logMessages"] == refused["data"]["logs"]
    assert await wire.balance(TRADER.pubkey()) == start - SIGNATURE_FEE


async def _buy_with_priority_fee(wire: Wire) -> VersionedTransaction:
    """The exact quote buys: cost, fees, rents and the priority fee to the lamport."""
    vault = A.creator_vault_pda(CREATOR.pubkey())
    before = await wire.curve()
    quote = C.quote_buy(2_000_000 * 10**6, C.Reserves.of(before), RATES)
    user0, fee0, vault0 = [await wire.balance(k) for k in (TRADER.pubkey(), FEE_RECIPIENT, vault)]
    assert vault0 == 0
    budget = [I.set_compute_unit_limit(300_000), I.set_compute_unit_price(12_345)]
    ixs = budget + buy_ixs(TRADER, quote.amount, quote.total, CREATOR.pubkey())
    tx = v0(TRADER, ixs, await latest_blockhash(wire.client))

    got = await wire.land(tx)

    assert got["meta"]["err"] is None
    priority = -(-300_000 * 12_345 // 1_000_000)
    assert got["meta"]["fee"] == SIGNATURE_FEE + priority == 8704
    rent = sum([await wire.rent(n) for n in (TOKEN_ACCOUNT_SIZE, USER_VOLUME_ACCUMULATOR_SIZE, 0)])
    assert await wire.balance(TRADER.pubkey()) == user0 - quote.total - got["meta"]["fee"] - rent
    assert await wire.balance(FEE_RECIPIENT) == fee0 + quote.protocol_fee
    assert await wire.balance(vault) == await wire.rent(0) + quote.creator_fee
    assert C.Reserves.of(await wire.curve()) == C.apply_buy(C.Reserves.of(before), quote)
    assert token_amount(got, "preTokenBalances", TRADER) is None
    assert token_amount(got, "postTokenBalances", TRADER) == quote.amount
    assert await wire.tokens(TRADER) == quote.amount
    event = only_trade(got)
    assert (event.is_buy, event.user, event.mint) == (True, TRADER.pubkey(), MINT.pubkey())
    assert (event.token_amount, event.sol_amount) == (quote.amount, quote.sol_cost)
    assert (event.fee, event.creator_fee) == (quote.protocol_fee, quote.creator_fee)
    assert event.timestamp == got["blockTime"]
    ata = A.associated_token_address(TRADER.pubkey(), MINT.pubkey(), A.TOKEN_PROGRAM_ID)
    curve_key = A.bonding_curve_pda(MINT.pubkey())
    both = await rpc(
        wire.client,
        "getMultipleAccounts",
        [[str(ata), str(curve_key)], {"encoding": "jsonParsed"}],
    )
    parsed, curve_account = both["value"]
    assert parsed["data"]["program"] == "spl-token"
    assert parsed["data"]["parsed"]["info"]["tokenAmount"]["amount"] == str(quote.amount)
    assert parsed["owner"] == str(A.TOKEN_PROGRAM_ID)
    assert curve_account["data"][1] == "base64"  # not a token account: raw bytes
    curve_bytes = base64.b64decode(curve_account["data"][0])
    assert C.Reserves.of(BondingCurve.decode(curve_bytes)) == C.Reserves.of(await wire.curve())
    fees = await rpc(wire.client, "getRecentPrioritizationFees", [[str(TRADER.pubkey())]])
    assert {"slot": got["slot"], "prioritizationFee": 12_345} in fees
    return tx


async def _duplicate_is_already_processed(wire: Wire, tx: VersionedTransaction) -> None:
    start = await wire.balance(TRADER.pubkey())
    for skip in (False, True):
        again = (await wire.send(tx, skipPreflight=skip))["error"]
        assert again["code"] == -32002
        assert again["data"]["err"] == "AlreadyProcessed"
        assert again["message"] == (
            "Transaction simulation failed: This transaction has already been processed"
        )
    assert await wire.balance(TRADER.pubkey()) == start


async def _sell(wire: Wire) -> None:
    """Below min_sol_output fails 6003; at the quote it pays proceeds minus fees."""
    held, before = await wire.tokens(TRADER), await wire.curve()
    quote = C.quote_sell(held, C.Reserves.of(before), RATES)
    blockhash = await latest_blockhash(wire.client)

    greedy = await wire.land(v0(TRADER, [sell_ix(TRADER, held, quote.net + 1)], blockhash))
    assert greedy["meta"]["err"] == custom_error(0, 6003)
    assert token_amount(greedy, "postTokenBalances", TRADER) == held

    vault = A.creator_vault_pda(CREATOR.pubkey())
    user0, fee0, vault0 = [await wire.balance(k) for k in (TRADER.pubkey(), FEE_RECIPIENT, vault)]
    got = await wire.land(v0(TRADER, [sell_ix(TRADER, held, quote.net)], blockhash))
    assert got["meta"]["err"] is None
    assert await wire.balance(TRADER.pubkey()) == user0 + quote.net - SIGNATURE_FEE
    assert await wire.balance(FEE_RECIPIENT) == fee0 + quote.protocol_fee
    assert await wire.balance(vault) == vault0 + quote.creator_fee
    assert C.Reserves.of(await wire.curve()) == C.apply_sell(C.Reserves.of(before), quote)
    assert token_amount(got, "postTokenBalances", TRADER) == 0
    event = only_trade(got)
    assert (event.is_buy, event.token_amount, event.sol_amount) == (False, held, quote.sol_out)
    assert (event.fee, event.creator_fee) == (quote.protocol_fee, quote.creator_fee)


async def _sell_overtaking_its_buy_fails_then_its_resend_lands(wire: Wire) -> None:
    """The pre-confirmation-sell race: a SELL sent after its BUY lands first (3012)."""
    start, before = await wire.balance(RACER.pubkey()), await wire.curve()
    buy_quote = C.quote_buy(3 * 10**12, C.Reserves.of(before), RATES)
    sell_quote = C.quote_sell(
        buy_quote.amount, C.apply_buy(C.Reserves.of(before), buy_quote), RATES
    )
    blockhash = await latest_blockhash(wire.client)
    buy = v0(RACER, buy_ixs(RACER, buy_quote.amount, buy_quote.total, CREATOR.pubkey()), blockhash)
    sell = v0(RACER, [sell_ix(RACER, buy_quote.amount, sell_quote.net)], blockhash)
    resend = v0(
        RACER,
        [I.set_compute_unit_price(1), sell_ix(RACER, buy_quote.amount, sell_quote.net)],
        blockhash,
    )

    await wire.set_faults(latency_min=2.0, latency_max=2.0)
    buy_signature = (await wire.send(buy, skipPreflight=True))["result"]
    await wire.set_faults(latency_min=0.0, latency_max=0.0)
    sell_signature = (await wire.send(sell, skipPreflight=True))["result"]

    early = await wire.landed(sell_signature)
    bought = await wire.landed(buy_signature)
    assert early["slot"] < bought["slot"]
    assert early["meta"]["err"] == custom_error(0, 3012)
    assert bought["meta"]["err"] is None
    sold = await wire.land(resend)
    assert sold["meta"]["err"] is None
    assert only_trade(sold).sol_amount == sell_quote.sol_out

    rent = sum([await wire.rent(n) for n in (TOKEN_ACCOUNT_SIZE, USER_VOLUME_ACCUMULATOR_SIZE)])
    fees = early["meta"]["fee"] + bought["meta"]["fee"] + sold["meta"]["fee"]
    assert fees == 3 * SIGNATURE_FEE + 1  # the re-send's priority: ceil(1 * 200k / 1e6)
    expected = start - buy_quote.total - rent + sell_quote.net - fees
    assert await wire.balance(RACER.pubkey()) == expected
    assert await wire.tokens(RACER) == 0


async def _whale_completes_the_curve(wire: Wire) -> None:
    before = await wire.curve()
    quote = C.quote_buy(before.real_token_reserves, C.Reserves.of(before), RATES)
    blockhash = await latest_blockhash(wire.client)
    got = await wire.land(
        v0(WHALE, buy_ixs(WHALE, quote.amount, quote.total, CREATOR.pubkey()), blockhash)
    )
    assert got["meta"]["err"] is None
    trade, complete = parse_logs(got["meta"]["logMessages"])
    assert isinstance(trade, TradeEvent)
    assert isinstance(complete, CompleteEvent)
    assert (trade.token_amount, trade.real_token_reserves) == (quote.amount, 0)
    assert (complete.user, complete.mint) == (WHALE.pubkey(), MINT.pubkey())
    after = await wire.curve()
    assert after.complete is True
    assert after.real_sol_reserves == before.real_sol_reserves + quote.sol_cost
    assert await wire.balance(A.bonding_curve_pda(MINT.pubkey())) == (
        await wire.rent(BondingCurve.SIZE) + after.real_sol_reserves
    )

    late = await wire.land(
        v0(TRADER, buy_ixs(TRADER, 10**6, LAMPORTS_PER_SOL, CREATOR.pubkey()), blockhash)
    )
    assert late["meta"]["err"] == custom_error(1, 6005)


async def _expired_blockhash_is_refused(wire: Wire, stale: Hash) -> None:
    """A transaction signed over a blockhash older than 150 blocks never lands."""
    start = await wire.balance(TRADER.pubkey())
    valid = await rpc(wire.client, "isBlockhashValid", [str(stale), {"commitment": "processed"}])
    while valid["value"]:
        await trio.sleep(4.0)
        valid = await rpc(
            wire.client, "isBlockhashValid", [str(stale), {"commitment": "processed"}]
        )
    tx = v0(TRADER, buy_ixs(TRADER, 10**6, LAMPORTS_PER_SOL, CREATOR.pubkey()), stale)
    for skip in (False, True):
        refused = (await wire.send(tx, skipPreflight=skip))["error"]
        assert refused["code"] == -32002
        assert refused["message"] == "Transaction simulation failed: Blockhash not found"
        assert refused["data"]["err"] == "BlockhashNotFound"
    await trio.sleep(2.0)
    status = await rpc(wire.client, "getSignatureStatuses", [[str(tx.signatures[0])]])
    assert status["value"] == [None]
    assert await wire.balance(TRADER.pubkey()) == start
