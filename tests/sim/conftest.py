"""Fixtures for the simulator's node and servers: a real Ledger behind real sockets.

Every test here takes pytest-trio's ``autojump_clock`` (pytest-trio only sees a clock
passed to the test function itself, not one a fixture requests): slots advance whenever
the test waits, so "wait 40 slots" costs no wall-clock time. Because the clock also jumps
while a request is in flight on the loopback socket, assertions on slots are relations
(``>=``), never exact wall-clock counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from trio_websocket import ConnectionClosed, WebSocketConnection

from trio_trader.sim import SimNode, open_sim
from trio_trader.sim._node_types import TxEvent
from trio_trader.sim.faults import Faults

LAMPORTS_PER_SOL = 1_000_000_000
GENESIS_TIME = 1_767_225_600


def keypair(label: str) -> Keypair:
    return Keypair.from_seed(label.encode().ljust(32, b"\0")[:32])


@pytest.fixture
def payer() -> Keypair:
    return keypair("payer")


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
async def sim(payer: Keypair, faults: Faults) -> AsyncIterator[SimNode]:
    async with open_sim(
        seed=7,
        faults=faults,
        fund={payer.pubkey(): 10 * LAMPORTS_PER_SOL},
        genesis_time=GENESIS_TIME,
    ) as handle:
        yield handle


@pytest.fixture
async def client(sim: SimNode) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.rpc_url, timeout=60) as http:
        yield http


async def rpc_raw(client: httpx.AsyncClient, method: str, params: list[Any] | None = None) -> Any:
    """The whole JSON-RPC response object."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    response = await client.post("/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def rpc(client: httpx.AsyncClient, method: str, params: list[Any] | None = None) -> Any:
    """The ``result`` of a call that must succeed."""
    answer = await rpc_raw(client, method, params)
    assert "error" not in answer, answer
    return answer["result"]


async def latest_blockhash(client: httpx.AsyncClient) -> Hash:
    result = await rpc(client, "getLatestBlockhash", [{"commitment": "processed"}])
    return Hash.from_string(result["value"]["blockhash"])


def transfer_tx(payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash) -> Transaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return Transaction([payer], Message([ix], payer.pubkey()), blockhash)


async def wait_for_status(
    client: httpx.AsyncClient, signature: str, status: str = "confirmed"
) -> dict[str, Any]:
    order = ["processed", "confirmed", "finalized"]
    while True:
        result = await rpc(client, "getSignatureStatuses", [[signature]])
        value = result["value"][0]
        if value is not None and order.index(value["confirmationStatus"]) >= order.index(status):
            return dict(value)
        await trio.sleep(0.1)


async def landing_ranks(events: trio.MemoryReceiveChannel[Any], sent: list[str]) -> list[int]:
    """The indices in ``sent`` of its signatures, in the order ``events`` (``Node.watch``)
    say they landed; returns once every one has."""
    landed: list[str] = []
    async for event in events:
        if isinstance(event, TxEvent):
            landed.append(str(event.executed.signature))
            if len(landed) == len(sent):
                break
    return [sent.index(s) for s in landed]


async def ws_request(ws: WebSocketConnection, method: str, params: list[Any], rid: int = 1) -> Any:
    """Send a subscribe call and return its answer (skipping notifications in between)."""
    await ws.send_message(
        json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
    )
    while True:
        message = json.loads(await ws.get_message())
        if message.get("id") == rid:
            return message


async def ws_notification(ws: WebSocketConnection, method: str) -> dict[str, Any]:
    """The next notification of ``method`` (others are skipped)."""
    while True:
        message = json.loads(await ws.get_message())
        if message.get("method") == method:
            return dict(message)


async def wait_closed_abruptly(ws: WebSocketConnection) -> int:
    """Read until the server drops the connection; returns the close code (1006).

    trio-websocket 0.12 leaks the client's TCP socket when the peer vanishes without a
    close frame: its reader records code 1006 and ``aclose()`` then returns early
    without closing the stream. Under ``filterwarnings=error`` that ResourceWarning
    fails the test, so the stream is closed here by hand.
    """
    try:
        while True:
            await ws.get_message()
    except ConnectionClosed as closed:
        code = closed.reason.code
    await ws._close_stream()
    return int(code)
