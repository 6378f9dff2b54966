"""A TCP relay that adds a fixed one-way delay in each direction: the round trip where netem is missing.

Some kernels are built without the netem qdisc (``tc qdisc add ... netem`` -> "Specified qdisc kind
is unknown"); the token bucket still works, so the bandwidth of a link stays ``tc``'s, but no qdisc
can hold packets back. :mod:`loadgen.sut.netns` then starts this relay in front of the far end:

    python -m loadgen.sut.delay_relay --listen 169.254.7.1 --to 169.254.7.2:5432 --one-way-ms 0.25

It listens on ``--listen`` (port 0: it prints the port it got, one line on stdout, once listening),
and for each connection opens one to ``--to``. Every chunk read from either side is released to the
other ``--one-way-ms`` after it arrived: a FIFO per direction with release times, so a stream
keeps its order and its throughput (bytes keep being read while earlier ones wait; nothing sleeps
per chunk) and a request/response pays the whole round trip. An end of stream or a reset travels
the same way, delayed like the bytes before it.

What it does not delay: the TCP handshake, which the relay's kernel answers at once. A new
connection therefore costs one round trip less than across netem (a pooled one, as the app's, does
not notice). :meth:`loadgen.sut.netns.Link.measure_rtt` times request/responses, not connects, so
it measures what a client pays either way.

Precision: asyncio's timers sleep in ``epoll_wait``, whose timeout is whole milliseconds -- a 0.25
ms hold would become 1 ms. The loop here waits on a ``timerfd`` armed to the microsecond instead,
and the process asks for 1 ns of timer slack (the default 50 us would be 20 % of 0.25 ms). A wakeup
still comes late by what the machine takes to wake an idle CPU (on this virtual machine ~0.05 ms
after 0.25 ms of sleep, ~0.25 ms after 2.5 ms): each direction keeps an estimate of that lateness
(corrected by a fifth of each wakeup's error) and arms its timer that much early, so chunks leave
on time on average. What the relay's own forwarding costs (~0.1 ms a round trip here) is the
caller's to subtract from ``--one-way-ms`` (:mod:`loadgen.sut.netns` measures it at bring-up).

It runs until killed; it is started with the parent-death signal (:mod:`loadgen.lifeline`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import os
import selectors
import signal
import socket
import sys

_EOF = object()    # the sender shut down its side: shut ours down, after the bytes before it
_RESET = object()  # the sender's connection broke: abort ours, after the bytes before it
HIGH_WATER = 4 << 20   # bytes held in one direction before we stop reading the sender
LOW_WATER = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)
_CLOCK_MONOTONIC, _TFD_NONBLOCK, _TFD_CLOEXEC = 1, os.O_NONBLOCK, os.O_CLOEXEC
_PR_SET_TIMERSLACK = 29


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class PreciseEpollSelector(selectors.EpollSelector):
    """An epoll selector whose timeouts are kept to the microsecond by a timerfd in the same epoll."""

    def __init__(self) -> None:
        super().__init__()
        self._tfd = _libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if self._tfd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        # Registered on the epoll object itself, not as a selector key: its events are never
        # reported to the loop (the base class skips fds it has no key for).
        self._selector.register(self._tfd, selectors.EVENT_READ)

    def _arm(self, seconds: float) -> None:
        ns = max(1, int(seconds * 1e9))
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(ns // 1_000_000_000, ns % 1_000_000_000))
        if _libc.timerfd_settime(self._tfd, 0, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")

    def select(self, timeout: float | None = None):
        armed = timeout is not None and timeout > 0
        if armed:
            self._arm(timeout)
            timeout = None  # block: the timerfd wakes the epoll when the time is up
        ready = super().select(timeout)
        if armed:
            disarm = _Itimerspec(_Timespec(0, 0), _Timespec(0, 0))
            _libc.timerfd_settime(self._tfd, 0, ctypes.byref(disarm), None)
            try:
                os.read(self._tfd, 8)
            except BlockingIOError:
                pass
        return ready

    def close(self) -> None:
        os.close(self._tfd)
        super().close()


class _Direction:
    """One direction of a relayed connection: what ``src`` sent, written to ``dst`` ``delay`` s later."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, on_eof) -> None:
        self.loop, self.delay, self.on_eof = loop, delay, on_eof
        self.ended = False  # the end of stream has been delivered
        self.fifo: collections.deque = collections.deque()  # (release time, bytes | _EOF | _RESET)
        self.held = 0
        self.timer: asyncio.TimerHandle | None = None
        self.src: asyncio.Transport | None = None
        self.dst: asyncio.Transport | None = None
        self.dst_full = False
        self.paused = False
        self.early = 0.0  # how much before a release time the timer is armed: the wakeups' lateness

    def push(self, item: object) -> None:
        self.fifo.append((self.loop.time() + self.delay, item))
        if isinstance(item, bytes):
            self.held += len(item)
        self._flow()
        if self.timer is None and self.dst is not None:
            self._arm()

    def _arm(self) -> None:
        self.timer = self.loop.call_at(self.fifo[0][0] - self.early, self._release)

    def attach(self, dst: asyncio.Transport) -> None:
        """The far side is connected: what waited for it goes out when due."""
        self.dst = dst
        if self.fifo and self.timer is None:
            self._arm()

    def _release(self) -> None:
        self.timer = None
        now = self.loop.time()
        if self.fifo:  # aimed at the head's release time: learn how late (> 0) or early we woke
            error = now - self.fifo[0][0]
            self.early = min(max(0.0, self.early + 0.2 * error), self.delay / 2)
        while self.fifo and self.fifo[0][0] - self.early <= now:
            _, item = self.fifo.popleft()
            if item is _EOF:
                if not self.dst.is_closing() and self.dst.can_write_eof():
                    self.dst.write_eof()
                self.ended = True
                self.on_eof()
            elif item is _RESET:
                self.dst.abort()
            elif not self.dst.is_closing():
                self.dst.write(item)
                self.held -= len(item)
        if self.fifo:
            self._arm()
        self._flow()

    def _flow(self) -> None:
        """Stop reading the sender while too much waits (ours or the receiver's buffer); go on after."""
        if self.src is None or self.src.is_closing():
            return
        if not self.paused and (self.held > HIGH_WATER or self.dst_full):
            self.src.pause_reading()
            self.paused = True
        elif self.paused and self.held < LOW_WATER and not self.dst_full:
            self.src.resume_reading()
            self.paused = False

    def set_dst_full(self, full: bool) -> None:
        self.dst_full = full
        self._flow()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.fifo.clear()


class _Side(asyncio.Protocol):
    """One socket of a relayed pair; ``out`` carries what it reads, ``into`` what is written to it."""

    def __init__(self, out: _Direction, into: _Direction, on_lost) -> None:
        self.out, self.into, self.on_lost = out, into, on_lost
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.out.src = self.transport

    def data_received(self, data: bytes) -> None:
        self.out.push(data)

    def eof_received(self) -> bool:
        self.out.push(_EOF)
        return True  # keep our writing side open: the other direction may still have bytes to deliver

    def connection_lost(self, exc: Exception | None) -> None:
        self.out.src = None
        if exc is not None:
            self.out.push(_RESET)
        self.on_lost(self)

    def pause_writing(self) -> None:
        self.into.set_dst_full(True)

    def resume_writing(self) -> None:
        self.into.set_dst_full(False)


class _Pair:
    """A client connection and the one opened for it to the target."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float, target: tuple[str, int]) -> None:
        self.loop, self.target = loop, target
        self.up = _Direction(loop, delay, self._ended)    # client -> target
        self.down = _Direction(loop, delay, self._ended)  # target -> client
        self.client = _Side(self.up, self.down, self._lost)
        self.server: _Side | None = None
        self.open = 2

    async def connect(self) -> None:
        try:
            transport, self.server = await self.loop.create_connection(
                lambda: _Side(self.down, self.up, self._lost), *self.target)
        except OSError:
            # the far end is unreachable or refuses: the client sees its connection reset
            if self.client.transport is not None:
                self.client.transport.abort()
            self.up.cancel()
            return
        self.up.attach(transport)
        self.down.attach(self.client.transport)

    def _ended(self) -> None:
        """Both ends said they are done (half-closes delivered both ways): close both sockets."""
        if self.up.ended and self.down.ended:
            for side in (self.client, self.server):
                if side is not None and side.transport is not None:
                    side.transport.close()

    def _lost(self, side: _Side) -> None:
        self.open -= 1
        # Both gone, or one gone and its direction delivered: nothing left to carry.
        if self.open <= 0:
            self.up.cancel()
            self.down.cancel()


async def serve(listen: str, target: tuple[str, int], one_way_s: float, port: int = 0) -> None:
    loop = asyncio.get_running_loop()

    def accepted() -> _Side:
        pair = _Pair(loop, one_way_s, target)
        loop.create_task(pair.connect())
        return pair.client

    server = await loop.create_server(accepted, listen, port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{bound}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m loadgen.sut.delay_relay", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="address to listen on")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: any; printed on stdout)")
    ap.add_argument("--to", required=True, help="HOST:PORT each connection is relayed to")
    ap.add_argument("--one-way-ms", type=float, required=True, help="delay added in each direction, ms")
    args = ap.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    if not host or not port.isdigit() or not 0 <= args.one_way_ms <= 1000:
        ap.error(f"--to {args.to!r} must be HOST:PORT and --one-way-ms between 0 and 1000")
    _libc.prctl(_PR_SET_TIMERSLACK, 1, 0, 0, 0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    loop = asyncio.SelectorEventLoop(PreciseEpollSelector())
    try:
        loop.run_until_complete(serve(args.listen, (host, int(port)), args.one_way_ms / 1000, args.port))
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["PreciseEpollSelector", "serve", "main"]
