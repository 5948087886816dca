"""A client that resets its connection before the server serves it never stops the server."""

from __future__ import annotations

import socket
import struct

import httpx
import pytest
import trio

from trio_trader.sim import SimNode
from trio_trader.sim.rpc_server import RpcServer


async def _reset_connection(listener: trio.SocketListener) -> trio.SocketStream:
    """A served-side stream whose client already sent a TCP reset (SO_LINGER 0)."""
    port = listener.socket.getsockname()[1]
    client = trio.socket.socket()
    await client.connect(("127.0.0.1", port))
    stream = await listener.accept()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    with trio.fail_after(5):  # the reset crosses the loopback at the kernel's pace
        while _connected(stream):
            await trio.sleep(0.001)
    return stream


def _connected(stream: trio.SocketStream) -> bool:
    try:
        stream.socket.getpeername()
    except OSError:
        return False
    return True


async def test_a_connection_reset_before_it_is_served_is_dropped_quietly(sim: SimNode) -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    stream = await _reset_connection(listener)
    with pytest.raises(OSError, match="not connected"):  # the path under test: no peer
        stream.socket.getpeername()
    server = RpcServer(sim.node, port=0)
    with trio.fail_after(5):
        await server._serve(stream)  # before the fix: OSError (ENOTCONN) took the server down
    await listener.aclose()


async def test_the_server_keeps_answering_after_a_reset(sim: SimNode) -> None:
    server = RpcServer(sim.node, port=0)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(server.run)
        port = int(url.rsplit(":", 1)[1])
        for _ in range(5):
            client = trio.socket.socket()
            await client.connect(("127.0.0.1", port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        async with httpx.AsyncClient() as http:
            reply = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
        assert isinstance(reply.json()["result"], int)
        server.shutdown()
