"""The delay relay (loadgen/sut/delay_relay.py) on loopback: each direction delayed, in order, at speed.

No namespace, no root: the relay is a plain TCP forwarder. What it must do is what a wire with a
delay does: a request/response pays the round trip, a stream keeps its bytes and their order, a
large transfer is not slowed to one chunk per delay (a FIFO with release times, not a sleep per
chunk), and an end of stream reaches the other side.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def echo_server():
    lst = socket.create_server(("127.0.0.1", 0), backlog=16)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := conn.recv(1 << 16):
                conn.sendall(data)
            # the client's end of stream arrived (through the relay): answer with ours

    def accept() -> None:
        lst.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = lst.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield lst.getsockname()[1]
    stop.set()
    t.join(5)
    lst.close()


def _relay(port: int, one_way_ms: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "loadgen.sut.delay_relay", "--listen", "127.0.0.1",
                             "--to", f"127.0.0.1:{port}", "--one-way-ms", str(one_way_ms)],
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.readline()
    assert line.strip().isdigit(), line
    return proc, int(line)


def _ping(sock: socket.socket, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        sock.sendall(b"p")
        assert sock.recv(1) == b"p"
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _interleaved_rtts(free_port: int, held_port: int, rounds: int = 60) -> tuple[float, float]:
    """Median round trips through the relay holding nothing and the relay holding, one ping of each
    in turn: a busy moment of the machine (the other test of ``-n 2``, a hypervisor's steal) then
    falls on both alike instead of on whichever was measured while it lasted."""
    with socket.create_connection(("127.0.0.1", free_port), timeout=10) as free, \
            socket.create_connection(("127.0.0.1", held_port), timeout=10) as held:
        for c in (free, held):
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _ping(c, 5)  # the relay's own connection to the server is made meanwhile
        free_t, held_t = [], []
        for _ in range(rounds):
            free_t += _ping(free, 1)
            held_t += _ping(held, 1)
    return statistics.median(free_t), statistics.median(held_t)


@pytest.mark.parametrize("rtt_ms", [0.5, 5.0])
def test_a_request_response_pays_the_round_trip(echo_server, rtt_ms):
    """What the hold adds is the round trip asked for: measured against the same relay holding
    nothing (its own forwarding, which netns.Link subtracts from the hold the same way)."""
    procs = []
    tries = []
    try:
        proc, free = _relay(echo_server, 0.0)
        procs.append(proc)
        proc, port = _relay(echo_server, rtt_ms / 2)
        procs.append(proc)
        # up to three measurements: a relay that holds wrongly is wrong in every one, a burst of
        # the machine's own load is not
        upper = 1.2 * rtt_ms if rtt_ms >= 5.0 else rtt_ms + 1.0
        for _ in range(3):
            cost, measured = _interleaved_rtts(free, port)
            added = measured - cost
            tries.append(round(added, 3))
            print(f"relay 2 x {rtt_ms / 2} ms: round trip {measured:.3f} ms, of which forwarding {cost:.3f} ms")
            if 0.8 * rtt_ms <= added <= upper:
                break
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    # within 20 % where a busy machine's wakeup lateness is small beside the hold; at 0.5 ms the hold
    # itself (>= 80 %) and at most 1 ms of lateness on top (measured 0.61 and 1.05 ms in CI, two tests at a time)
    assert 0.8 * rtt_ms <= added <= upper, f"holding 2 x {rtt_ms / 2} ms added {tries} ms (three tries)"


def test_a_stream_keeps_order_and_throughput_and_its_end(echo_server):
    one_way_ms = 20.0
    proc, port = _relay(echo_server, one_way_ms)
    # 16 MiB of numbered blocks: any loss, duplicate or reordering changes what comes back
    payload = b"".join(i.to_bytes(4, "big") * 256 for i in range(16 * 1024))
    got = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as c:

            def read() -> None:
                while chunk := c.recv(1 << 16):
                    got.extend(chunk)

            reader = threading.Thread(target=read)
            t0 = time.perf_counter()
            reader.start()
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)  # our end of stream travels through, the server answers with its own
            reader.join(60)
            elapsed = time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()
    assert not reader.is_alive(), "the end of stream did not come back through the relay"
    assert bytes(got) == payload
    # hundreds of 64 KiB chunks: one delay per chunk would take >= 10 s; a FIFO pays ~one round trip
    print(f"16 MiB echoed through a 2 x {one_way_ms:g} ms relay in {elapsed:.2f} s")
    assert elapsed < 5.0, f"16 MiB took {elapsed:.2f} s through the relay: the delay serialises the stream"


def test_an_unreachable_target_resets_the_client():
    with socket.create_server(("127.0.0.1", 0)) as s:
        dead = s.getsockname()[1]  # closed below: nothing listens there
    proc, port = _relay(dead, 1.0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"hello")
            with pytest.raises((ConnectionResetError, ConnectionAbortedError)):
                if c.recv(1) == b"":
                    raise ConnectionResetError("closed")
    finally:
        proc.kill()
        proc.wait()


def test_bad_arguments_are_refused_with_the_field():
    res = subprocess.run([sys.executable, "-m", "loadgen.sut.delay_relay", "--listen", "127.0.0.1",
                          "--to", "nohostport", "--one-way-ms", "1"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert res.returncode == 2 and "--to 'nohostport' must be HOST:PORT" in res.stderr
