"""The benchmark's stamps at the node's sockets (used only while a bench hook is set).

*Arrival* (``RpcServer.on_request``): the kernel's receive stamp of a request's bytes
(``SO_TIMESTAMPNS``), so the figure ends when the bytes reached the node's socket, not
when the simulator's single loop got round to reading them (a real node reads at once;
the simulator may be landing a transaction, fanning out notifications or running the
background feed). Linux TCP semantics (``tcp_recvmsg_locked``): a read that consumes
several skbs reports the stamp of the *last* one it consumed, and coalesced skbs keep
the later stamp; so the stamp is when the last bytes of the read arrived. A bot's
request is one write (one skb on loopback); a request read in pieces is stamped by the
read that completed it. On loopback the stamp is taken when the sender's write hands
the packet to the loopback device's receive path (``netif_rx``), i.e. in the writer's
``send`` call.

*Written* (``WsServer.on_notification``): see :func:`send_stamped`.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection
from wsproto.events import TextMessage

#: ``SO_TIMESTAMPNS`` (= ``SCM_TIMESTAMPNS``) of Linux's asm-generic socket.h (x86-64,
#: arm64, …; 64-bit ``time_t``); Python's ``socket`` module does not export it
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")  # struct timespec: tv_sec, tv_nsec
_ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)


def enable_arrival_stamps(sock: trio.socket.SocketType) -> bool:
    """Ask the kernel to stamp each skb's arrival on ``sock``; False where it cannot."""
    if sys.platform != "linux":
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


async def receive_stamped(
    sock: trio.socket.SocketType, max_bytes: int
) -> tuple[bytes, float, float]:
    """``(data, arrival, read_at)``: one read, when its last bytes reached the socket and
    when the read returned, on the ``perf_counter`` clock (the bench's). A socket error
    is raised as ``OSError``."""
    data, ancillary, _, _ = await sock.recvmsg(max_bytes, _ANCILLARY_SIZE)
    read_at = time.perf_counter()
    at, now_ns = _clock_pair()
    return data, min(arrival_of(ancillary, at, now_ns), read_at), read_at


#: a ``(perf_counter, time_ns)`` pair is read again while more than this separates them
_PAIR_GAP = 2e-6
_PAIR_TRIES = 10


def _clock_pair() -> tuple[float, int]:
    """``(perf_counter(), time_ns())`` read back to back, the ``perf_counter`` first.

    Read again (a few times at most) while more than ``_PAIR_GAP`` s passed between
    them: a preemption there (a loaded machine) would put the arrival that much early.
    """
    for _ in range(_PAIR_TRIES):
        before = time.perf_counter()
        now_ns = time.time_ns()
        if time.perf_counter() - before <= _PAIR_GAP:
            break
    return before, now_ns


def arrival_of(ancillary: list[tuple[int, int, bytes]], read_at: float, now_ns: int) -> float:
    """The kernel's ``CLOCK_REALTIME`` stamp in ``ancillary`` on the ``perf_counter`` clock.

    ``now_ns`` (``time.time_ns()``) is read *after* ``read_at`` (``_clock_pair``: within
    ``_PAIR_GAP``), so the age is never under-estimated: the arrival comes out at most
    that early, which only lengthens a figure ending there. No stamp (bytes queued before
    stamping was on): the read's own time, which can only lengthen it too.
    """
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            seconds: int
            nanoseconds: int
            seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
            age_ns = now_ns - (seconds * 1_000_000_000 + nanoseconds)
            return read_at - max(age_ns, 0) / 1e9  # a clock step must not make it later
    return read_at


async def send_stamped(ws: WebSocketConnection, text: str, stamp: Callable[[float], Any]) -> None:
    """``ws.send_message(text)`` with ``stamp(perf_counter())`` taken once nothing can
    run before the bytes are written.

    ``send_message`` takes the connection's write lock, and taking a Trio lock is a
    checkpoint even when it is free: a stamp taken before it would let the simulator's
    other tasks (the other connections' fan-out, a landing) run between the stamp and the
    write, lengthening the figure. Inside the lock, ``send_all`` writes before it yields.
    This is trio-websocket's own ``_send`` (0.12.2) with the stamp inside the lock.
    """
    if ws._close_reason:
        raise ConnectionClosed(ws._close_reason)
    data = ws._wsproto.send(TextMessage(data=text))
    async with ws._stream_lock:
        stamp(time.perf_counter())
        try:
            await ws._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await ws._abort_web_socket()
            assert ws._close_reason is not None
            raise ConnectionClosed(ws._close_reason) from None
