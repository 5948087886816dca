"""A pubsub server that streams pump trade notifications as fast as asked (own process).

Run as ``python scripts/_bench/feed_server.py MINTS COUNT RATE OUT``: prints its port,
serves one connection; after the client's ``logsSubscribe`` it sends COUNT
``logsNotification`` messages (real pump buy logs, one ``TradeEvent`` each, mints round
robin) at RATE per second (0: back to back), stamping each write (just before it) with
``time.perf_counter()`` (CLOCK_MONOTONIC, shared with the bot's process), and writes the
stamps to OUT as JSON when the client goes away.

A separate process keeps the sender's CPU off the bot's measured loop. It speaks RFC 6455
itself on a raw Trio stream, with every frame built before the clock starts: through
trio-websocket the sender topped out near 9,500 messages/s, below the rate the bot's
pipeline is meant to reach. Back to back, it writes up to 256 KiB of whole frames per
``send_all`` (every message of a write is stamped just before it), into a socket send
buffer of 4 MiB, so the kernel always holds more than the bot's largest read (256 KiB):
alone against a reader that discards, it sends 95-330 k messages/s, so its rate
(``sender_rate_per_s``) is the bot's (the socket's flow control paces it), never its own
limit. Paced, one frame per write, at its time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import sys
import time
from functools import partial
from pathlib import Path

import attrs
import base58
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench.txs import SOL, buy_tx, create_tx, keypair
from trio_trader.pump.events import TradeEvent, encode_event
from trio_trader.sim.ledger import Ledger


def feed_mint(index: int) -> Pubkey:
    return keypair("feed-mint", index).pubkey()


def signature_of(index: int) -> str:
    return base58.b58encode(index.to_bytes(8, "little") + bytes(56)).decode()


def index_of(signature: str) -> int:
    return int.from_bytes(base58.b58decode(signature)[:8], "little")


def template_logs() -> tuple[list[str], int, TradeEvent]:
    """Logs of a real buy on the simulator's ledger, the index of its event line, the event."""
    ledger = Ledger(seed=21)
    creator, mint, user = keypair("feed-creator"), keypair("feed-template"), keypair("feed-user")
    for kp in (creator, user):
        ledger.airdrop(kp.pubkey(), 100 * SOL)
    blockhash = Hash.new_unique()
    ledger.execute(VersionedTransaction.from_bytes(create_tx(creator, mint, blockhash, SOL, "F")))
    executed = ledger.execute(
        VersionedTransaction.from_bytes(
            buy_tx(user, mint.pubkey(), creator.pubkey(), 10**9, blockhash)
        )
    )
    logs = list(executed.logs)
    line = next(i for i, text in enumerate(logs) if text.startswith("Program data: "))
    event = executed.events[0]
    assert isinstance(event, TradeEvent)
    return logs, line, event


def messages(mints: int, count: int) -> list[str]:
    logs, line, event = template_logs()
    keys = [feed_mint(k) for k in range(mints)]
    out = []
    for i in range(count):
        ev = attrs.evolve(
            event,
            mint=keys[i % mints],
            virtual_sol_reserves=event.virtual_sol_reserves + (i % 997) * 1000,
        )
        these = list(logs)
        these[line] = "Program data: " + base64.b64encode(encode_event(ev)).decode()
        value = {"signature": signature_of(i), "err": None, "logs": these}
        params = {"result": {"context": {"slot": 1 + i // 100}, "value": value}, "subscription": 1}
        out.append(json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": params}))
    return out


_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_BATCH_BYTES = 256 * 1024
_SEND_BUFFER = 4 * 1024 * 1024


def text_frame(payload: bytes) -> bytes:
    """One unfragmented server text frame (servers do not mask)."""
    size = len(payload)
    if size < 126:
        return bytes([0x81, size]) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class ClientFrames:
    """Reads the client's (masked) frames off a raw stream; what this sender needs only."""

    def __init__(self, stream: trio.SocketStream, buffer: bytes) -> None:
        self.stream, self.buffer = stream, bytearray(buffer)

    async def _need(self, size: int) -> None:
        while len(self.buffer) < size:
            data = await self.stream.receive_some(_BATCH_BYTES)
            if not data:
                raise EOFError
            self.buffer += data

    async def next(self) -> tuple[int, bytes]:
        """(opcode, unmasked payload) of the next frame; EOFError when the client is gone."""
        await self._need(2)
        opcode, size, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
        if size >= 126:
            extra = 2 if size == 126 else 8
            await self._need(2 + extra)
            size = int.from_bytes(self.buffer[2 : 2 + extra], "big")
            at += extra
        await self._need(at + 4 + size)
        mask = self.buffer[at : at + 4]
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(self.buffer[at + 4 : at + 4 + size]))
        del self.buffer[: at + 4 + size]
        return opcode, body


async def handshake(stream: trio.SocketStream) -> bytes:
    """Answer the client's upgrade request; returns the bytes read past it."""
    request = b""
    while b"\r\n\r\n" not in request:
        data = await stream.receive_some(_BATCH_BYTES)
        if not data:
            raise EOFError
        request += data
    head, _, rest = request.partition(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    await stream.send_all(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    return rest


def batches(frames: list[bytes]) -> list[tuple[int, bytes]]:
    """Whole frames joined up to ~256 KiB per write: (how many, the bytes)."""
    out: list[tuple[int, bytes]] = []
    start, size = 0, 0
    for i, frame in enumerate(frames):
        if size and size + len(frame) > _BATCH_BYTES:
            out.append((i - start, b"".join(frames[start:i])))
            start, size = i, 0
        size += len(frame)
    if start < len(frames):
        out.append((len(frames) - start, b"".join(frames[start:])))
    return out


async def stream_frames(
    stream: trio.SocketStream, frames: list[bytes], rate: float, stamps: list[float]
) -> None:
    if rate <= 0:
        for count, data in batches(frames):
            stamps.extend([time.perf_counter()] * count)
            await stream.send_all(data)
        return
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        await trio.sleep_until(
            trio.current_time() + max(0.0, start + i / rate - time.perf_counter())
        )
        stamps.append(time.perf_counter())
        await stream.send_all(frame)


async def main(mints: int, count: int, rate: float, out: Path) -> None:
    frames = [text_frame(payload.encode()) for payload in messages(mints, count)]
    stamps: list[float] = []
    done = trio.Event()

    async def handler(stream: trio.SocketStream) -> None:
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        try:
            client = ClientFrames(stream, await handshake(stream))
            opcode, body = await client.next()
            hello = json.loads(body)
            reply = {"jsonrpc": "2.0", "result": 1, "id": hello["id"]}
            await stream.send_all(text_frame(json.dumps(reply).encode()))
            await stream_frames(stream, frames, rate, stamps)
            while True:  # the unsubscribe, then the client closes the socket
                opcode, body = await client.next()
                if opcode == 8:
                    break
        except (EOFError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()
            await trio.Path(out).write_text(json.dumps(stamps))
            done.set()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        print(listeners[0].socket.getsockname()[1], flush=True)
        await done.wait()
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
