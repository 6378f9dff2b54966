"""The database across a network: a network namespace joined to ours by a shaped veth pair.

``Link(run_id, rtt_ms=0.5, bandwidth=10**9)`` creates, as root:

* the namespace ``jxcbench-<run id>`` (``ip netns``), holding only ``lo`` and one end of the pair;
* the veth pair ``jxb<hash>h`` (our side) / ``jxb<hash>n`` (its side) — interface names are at most
  15 characters, so they carry a hash of the run id;
* a link-local /30 inside 169.254.0.0/16 chosen from the run id and checked to be unused: ``.1`` on
  our side, ``.2`` on its side. The namespace has no default route, so whatever runs inside can
  only reach ``.1`` — traffic never leaves the two ends we created;
* on *each* side an egress qdisc: a token bucket (``tbf``) at the bandwidth, and ``netem delay`` of
  half the RTT (so a round trip pays the whole RTT); with both, tbf is the root and netem its child.

**Where the kernel has no netem** (``CONFIG_NET_SCH_NETEM`` off: "Specified qdisc kind is unknown";
found once, by trying it on our end when the link is made) the delay is added by a userspace relay
instead, :mod:`loadgen.sut.delay_relay`: clients connect to :meth:`Link.endpoint` -- a port on *our*
end of the pair -- and the relay forwards each connection across the veth pair to the far address,
holding every chunk half the RTT in each direction. It sits on our side, not inside the namespace,
so that the server is untouched: it still listens on the far address, sees its clients come from
our end of the link (pg_hba, MariaDB grants and ``inet_client_addr()`` unchanged) and every byte
still crosses the pair, through the token bucket. At bring-up the link measures what a round trip through
a relay holding nothing costs (the relay's own forwarding, ~0.1 ms here) and holds each direction
``(rtt_ms - that) / 2``, so that a client sees ``rtt_ms`` -- as across netem, where the path's own
few microseconds are not subtracted either. It runs in no cgroup of the run (it stands for
the wire, not for the app's or the database's machine), dies with us (parent-death signal) and is
killed by ``destroy()``. ``describe()`` says which mechanism made the delay. ``delay="relay"``
forces the relay on any kernel (tests), ``delay="netem"`` refuses to fall back.

Processes join the namespace before exec (``preexec`` -> ``setns(2)`` through libc, Python 3.11
has no ``os.setns``). ``destroy()`` kills the relays and what is left inside, deletes the namespace
(which deletes the pair) and is idempotent; it is also registered with ``atexit`` while the link
exists. ``measure_rtt()`` times one-byte request/responses from our side to an echo server inside,
through the endpoint -- what a database client pays per query, whichever mechanism delays (a TCP
connect would not do: the relay's kernel answers a SYN at once) -- so step.json can say "0.5 ms
configured, 0.52 ms measured".
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import ipaddress
import os
import shutil
import signal
import socket
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadgen import lifeline
from loadgen.errors import JxcError
from loadgen.namespaces import NETNS_DIR, PREFIX, enter_named, join_fd
from loadgen.sut import registry

_LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
# RFC 3927 reserves the first and last /24; 169.254.169.0/24 holds the cloud metadata address.
_AVOID = [ipaddress.ip_network(n) for n in ("169.254.0.0/24", "169.254.255.0/24", "169.254.169.0/24")]
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # where ``loadgen`` is importable from, for the relay
DELAY_METHODS = ("auto", "netem", "relay")


class NetemUnavailable(JxcError):
    """The kernel has no netem qdisc (CONFIG_NET_SCH_NETEM / module sch_netem) and netem was required."""


def _run(argv: list[str], *, what: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if not check:
            return subprocess.CompletedProcess(argv, 1, "", str(exc))
        raise JxcError(f"architecture.network: {what} failed: {' '.join(argv)}: {exc}", exit_code=1) from None
    if check and res.returncode != 0:
        err = (res.stderr or res.stdout).strip()
        if "qdisc kind is unknown" in err and "netem" in argv:
            raise NetemUnavailable(
                "architecture.network.rtt_ms: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM, module "
                "sch_netem), so tc cannot delay the link; load the module or let the delay relay add it")
        raise JxcError(f"architecture.network: {what} failed: {' '.join(argv)}: {err}", exit_code=1)
    return res


def check_capable(role: str = "database") -> None:
    """Root and iproute2 (``ip``, ``tc``), or a JxcError saying which is missing."""
    if os.geteuid() != 0:
        if role != "database":  # the load generators' host: jxcbench run --load-network
            raise JxcError("--load-network: putting the load generators in their own network namespace needs "
                           "root (ip netns, veth, tc); run as root or drop --load-network")
        raise JxcError("architecture.network: putting the database in its own network namespace needs root "
                       "(ip netns, veth, tc); run as root or drop architecture.network")
    missing = [t for t in ("ip", "tc") if shutil.which(t) is None]
    if missing:
        raise JxcError(f"architecture.network: {' and '.join(missing)} not found; install iproute2")


def _hash(run_id: str) -> int:
    return int(hashlib.sha1(run_id.encode()).hexdigest(), 16)


def _in_use() -> list[ipaddress.IPv4Network]:
    """IPv4 networks this namespace already has addresses in or routes to (more specific than /16)."""
    nets: list[ipaddress.IPv4Network] = []
    out = _run(["ip", "-4", "-o", "addr", "show"], what="listing addresses").stdout
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
            nets.append(ipaddress.ip_network(parts[parts.index("inet") + 1].split("/")[0]))
    for line in _run(["ip", "-4", "route", "show", "table", "all"], what="listing routes").stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest and dest[0].isdigit():
            with contextlib.suppress(ValueError):
                net = ipaddress.ip_network(dest, strict=False)
                if net.prefixlen > 16:
                    nets.append(net)
    return nets


def choose_subnet(run_id: str) -> ipaddress.IPv4Network:
    """A /30 in 169.254.0.0/16 derived from the run id that no address or route here touches."""
    used = _in_use()
    count = 2 ** (32 - 16 - 2)
    start = _hash(run_id) % count
    for i in range(count):
        net = ipaddress.ip_network(f"{_LINK_LOCAL.network_address + 4 * ((start + i) % count)}/30")
        if any(net.overlaps(a) for a in _AVOID) or any(net.overlaps(u) for u in used):
            continue
        return net
    raise JxcError("architecture.network: no free /30 left in 169.254.0.0/16", exit_code=1)


def _tc_args(rtt_ms: float | None, bandwidth: int | None) -> list[list[str]]:
    """The ``tc qdisc add dev DEV ...`` tails for one side: half the RTT, and the token bucket."""
    cmds: list[list[str]] = []
    netem = None
    if rtt_ms is not None:
        half_us = max(1, round(rtt_ms * 1000 / 2))
        netem = ["netem", "delay", f"{half_us}us", "limit", "100000"]
    if bandwidth is not None:
        rate_bytes = bandwidth / 8
        burst = max(int(rate_bytes / 100), 16 * 1514)  # 10 ms of traffic, at least 16 full frames
        cmds.append(["root", "handle", "1:", "tbf", "rate", f"{bandwidth}bit", "burst", str(burst),
                     "latency", "200ms"])
        if netem:
            cmds.append(["parent", "1:1", "handle", "10:", *netem])
    elif netem:
        cmds.append(["root", "handle", "1:", *netem])
    return cmds


class Link:
    """A namespace plus a shaped veth pair to it (see the module docstring). Use as a context manager."""

    def __init__(self, run_id: str, *, rtt_ms: float | None = None, bandwidth: int | None = None,
                 delay: str = "auto", role: str = "database") -> None:
        if delay not in DELAY_METHODS:
            raise ValueError(f"delay {delay!r} is not one of {', '.join(DELAY_METHODS)}")
        self.run_id = run_id
        # What sits in the namespace, for the summary: "database" (the managed server) or "load
        # generators" (Locust workers on a second host, loadgen.workload.engine).
        self.role = role
        self.name = f"{PREFIX}{run_id}"
        h = f"{_hash(run_id) & 0xFFFFFF:06x}"
        self.host_if, self.ns_if = f"jxb{h}h", f"jxb{h}n"
        self.rtt_ms = rtt_ms
        self.bandwidth = bandwidth
        self.host_addr: str | None = None
        self.ns_addr: str | None = None
        self.qdiscs: list[str] = []
        self.measured_rtt_ms: float | None = None
        self.delay = delay
        # How the RTT is made: None (no rtt_ms), "netem", or "relay" (loadgen.sut.delay_relay);
        # decided once, in create(), and said in describe().
        self.delay_method: str | None = None
        self.netem_available: bool | None = None
        # The relay: what forwarding through it costs a round trip with no hold (measured at bring-up)
        # and the hold per direction that makes the round trip rtt_ms: (rtt_ms - cost) / 2.
        self.relay_cost_ms: float | None = None
        self.relay_hold_ms: float | None = None
        self._relays: dict[tuple[str, str], tuple[subprocess.Popen, int]] = {}  # (listen, to) -> (process, port)
        self._fd: int | None = None
        self._created = False

    def __enter__(self) -> Link:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # -- bring-up -----------------------------------------------------------------------------------
    def create(self) -> Link:
        check_capable(self.role)
        if (NETNS_DIR / self.name).exists():
            raise JxcError(f"architecture.network: network namespace {self.name} exists already", exit_code=1)
        if Path(f"/sys/class/net/{self.host_if}").exists():
            raise JxcError(f"architecture.network: interface {self.host_if} exists already", exit_code=1)
        net = choose_subnet(self.run_id)
        hosts = list(net.hosts())
        self.host_addr, self.ns_addr = str(hosts[0]), str(hosts[1])
        self._created = True
        atexit.register(self.destroy)
        ns = ["ip", "-n", self.name]
        _run(["ip", "netns", "add", self.name], what="creating the namespace")
        registry.claim_netns(self.name)  # a SIGKILLed run's namespace is deleted by the next run
        _run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if],
             what="creating the veth pair")
        _run(["ip", "link", "set", self.ns_if, "netns", self.name], what="moving the veth end into the namespace")
        for cmd in (["ip"], ns):  # IPv4 only on the pair: no IPv6 link-local addresses, no chatter
            _run([*cmd, "link", "set", "dev", self.host_if if cmd == ["ip"] else self.ns_if, "addrgenmode", "none"],
                 what="addrgenmode", check=False)
        _run(["ip", "addr", "add", f"{self.host_addr}/30", "dev", self.host_if], what="addressing our end")
        _run([*ns, "addr", "add", f"{self.ns_addr}/30", "dev", self.ns_if], what="addressing its end")
        _run(["ip", "link", "set", self.host_if, "up"], what="bringing our end up")
        _run([*ns, "link", "set", self.ns_if, "up"], what="bringing its end up")
        _run([*ns, "link", "set", "lo", "up"], what="bringing its loopback up")
        netem_rtt = None
        if self.rtt_ms is not None:
            self.netem_available = self.delay != "relay" and _netem_works(self.host_if)
            if self.delay == "netem" and not self.netem_available:
                _run(["tc", "qdisc", "add", "dev", self.host_if, "root", "netem", "delay", "1us"],
                     what="adding netem")  # raises NetemUnavailable with the kernel's words
            self.delay_method = "netem" if self.netem_available else "relay"
            netem_rtt = self.rtt_ms if self.delay_method == "netem" else None
        for args in _tc_args(netem_rtt, self.bandwidth):
            _run(["tc", "qdisc", "add", "dev", self.host_if, *args], what="shaping our end")
            _run(["ip", "netns", "exec", self.name, "tc", "qdisc", "add", "dev", self.ns_if, *args],
                 what="shaping its end")
        self.qdiscs = [_run(["tc", "qdisc", "show", "dev", self.host_if], what="reading qdiscs").stdout.strip()]
        self._fd = os.open(NETNS_DIR / self.name, os.O_RDONLY | os.O_CLOEXEC)
        if self.delay_method == "relay":
            # the lowest of 3 medians, as measure_rtt: a disturbed calibration would shorten every hold
            self.relay_cost_ms = min(self._round_trip_ms(30, hold_ms=0.0) for _ in range(3))
            self.relay_hold_ms = max(0.0, (self.rtt_ms - self.relay_cost_ms) / 2)
        return self

    # -- reaching what runs inside --------------------------------------------------------------------
    def endpoint(self, port: int) -> tuple[str, int]:
        """Where a client on our side connects to reach ``port`` on the far address, paying the RTT.

        With netem (or no rtt_ms) that is the far address itself; with the relay, a port on our end
        of the pair where a relay to it listens (started on first use, kept until ``destroy()``)."""
        assert self.ns_addr is not None and self.host_addr is not None, "the link is not up"
        if self.delay_method != "relay":
            return self.ns_addr, port
        return self.host_addr, self.relay(self.host_addr, f"{self.ns_addr}:{port}")

    def inward(self, port: int, host: str = "127.0.0.1") -> tuple[str, int]:
        """Where a process *inside* connects to reach ``host:port`` on our side, paying the RTT.

        With netem (or no rtt_ms) that is our end's address and ``port`` (the server must listen on
        it or on every interface); with the relay, a relay listening on our end forwards to
        ``host:port`` (which may then be loopback only)."""
        assert self.host_addr is not None, "the link is not up"
        if self.delay_method != "relay":
            return self.host_addr, port
        return self.host_addr, self.relay(self.host_addr, f"{host}:{port}")

    def relay(self, listen: str, to: str, hold_ms: float | None = None) -> int:
        """Start (once per ``listen``/``to``) a delay relay listening on ``listen`` and forwarding each
        connection to ``to`` (HOST:PORT), holding ``hold_ms`` (default: the calibrated hold) each
        way; its port. Must be called from the main thread: the parent-death signal is tied to the
        thread that forks (loadgen.lifeline)."""
        hold = self.relay_hold_ms if hold_ms is None else hold_ms
        assert hold is not None, "no delay to add"
        key = (listen, to)
        if key in self._relays:
            return self._relays[key][1]
        proc, port = start_relay(listen, to, hold)
        self._relays[key] = (proc, port)
        return port

    def relay_pids(self) -> list[int]:
        return [proc.pid for proc, _ in self._relays.values() if proc.poll() is None]

    def _stop_relays(self) -> None:
        for proc, _ in self._relays.values():
            stop_relay(proc)
        self._relays.clear()

    def set_link(self, up: bool) -> None:
        """Take our end of the veth pair down (a cut cable: packets to the database go nowhere) or
        bring it back up; ``jxcbench chaos``'s ``network_down`` fault. The addresses stay."""
        _run(["ip", "link", "set", self.host_if, "up" if up else "down"],
             what=f"bringing our end {'up' if up else 'down'}")

    # -- running things inside -----------------------------------------------------------------------
    def enter(self) -> None:
        """Move the calling thread (or, in a ``preexec_fn``, the child) into the namespace."""
        assert self._fd is not None, "the link is not up"
        join_fd(self._fd, self.name)

    def preexec(self, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """A ``preexec_fn``: join the namespace, then run ``then`` (cgroup join, setuid)."""

        def _enter() -> None:
            self.enter()
            if then is not None:
                then()

        return _enter

    def socket_inside(self, port: int = 0) -> socket.socket:
        """A TCP socket listening on the namespace's address (created by a thread that setns'd)."""
        box: dict[str, Any] = {}

        def make() -> None:
            try:
                self.enter()  # this thread only; it ends right after
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((self.ns_addr, port))
                s.listen(64)
                box["sock"] = s
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc

        t = threading.Thread(target=make, name=f"netns-{self.name}")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["sock"]

    def pids(self) -> list[int]:
        res = _run(["ip", "netns", "pids", self.name], what="listing processes", check=False)
        return [int(x) for x in res.stdout.split()] if res.returncode == 0 else []

    # -- measuring -----------------------------------------------------------------------------------
    def measure_rtt(self, tries: int = 20, rounds: int = 3) -> float:
        """Time (ms) of one-byte request/responses from our side to an echo server inside, through
        :meth:`endpoint`: what a client pays per query, by netem or by the relay. The lowest of
        ``rounds`` medians of ``tries``: on a busy machine a scheduling delay of either end lands
        in a sub-millisecond round trip; a link that adds the wrong delay does so in every round."""
        try:
            return self._measure_rtt(tries, rounds)
        except OSError as exc:
            raise JxcError(f"architecture.network: the link to {self.ns_addr} does not carry a round trip: {exc}",
                           exit_code=1) from None

    def _measure_rtt(self, tries: int, rounds: int) -> float:
        self.measured_rtt_ms = min(self._round_trip_ms(tries) for _ in range(max(1, rounds)))
        return self.measured_rtt_ms

    def _round_trip_ms(self, tries: int, hold_ms: float | None = None) -> float:
        """Median of ``tries`` one-byte request/responses to an echo server inside, through
        :meth:`endpoint` (or, with ``hold_ms``, through a relay holding that long)."""
        lst = self.socket_inside()
        port = lst.getsockname()[1]
        key = None
        try:
            if hold_ms is None:
                host, cport = self.endpoint(port)
            else:
                host, cport = self.host_addr, self.relay(self.host_addr, f"{self.ns_addr}:{port}", hold_ms)
            key = next((k for k in self._relays if k[1] == f"{self.ns_addr}:{port}"), None)
            return echo_round_trips_ms(lst, (host, cport), tries)
        finally:
            lst.close()
            if key is not None:  # a relay for this one measurement only
                stop_relay(self._relays.pop(key)[0])

    def summary(self) -> str:
        """``database 0.5 ms away over 1Gbit (measured 0.52 ms)`` -- the sentence a report can print."""
        away = f"{self.rtt_ms:g} ms away" if self.rtt_ms is not None else "across an undelayed link"
        over = f" over {_format_rate(self.bandwidth)}" if self.bandwidth is not None else ""
        measured = f" (measured {self.measured_rtt_ms:.2f} ms)" if self.measured_rtt_ms is not None else ""
        by = f", delay by {self.delay_by()}" if self.delay_method else ""
        return f"{self.role} {away}{over}{measured}{by}"

    def delay_by(self) -> str | None:
        """How the round trip is made, for a reader of step.json: ``netem`` or ``relay (...)``."""
        if self.delay_method == "relay":
            why = "asked for" if self.delay == "relay" else "this kernel has no netem"
            return f"relay ({why})"
        return self.delay_method

    def describe(self) -> dict[str, Any]:
        """For step.json: what was configured and what the link measured."""
        far = "db_address" if self.role == "database" else "far_address"
        return {"summary": self.summary(), "namespace": self.name, "interfaces": [self.host_if, self.ns_if],
                "app_address": self.host_addr, far: self.ns_addr,
                "rtt_ms": self.rtt_ms, "bandwidth_bit_s": self.bandwidth,
                "measured_rtt_ms": None if self.measured_rtt_ms is None else round(self.measured_rtt_ms, 3),
                "delay_by": self.delay_by(),
                "relay_cost_ms": None if self.relay_cost_ms is None else round(self.relay_cost_ms, 3),
                "relay_hold_ms": None if self.relay_hold_ms is None else round(self.relay_hold_ms, 3),
                "measured_by": "lowest of 3 medians of 20 one-byte request/responses over one TCP connection from our end "
                               f"to an echo server at the {'database' if self.role == 'database' else 'far'} address"
                               + (", through the delay relay" if self.delay_method == "relay" else ""),
                "qdisc": self.qdiscs[0] if self.qdiscs else None}

    # -- teardown ------------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Kill what runs inside, delete the namespace (the pair goes with it). Safe to call twice."""
        self._stop_relays()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self._created:
            return
        if (NETNS_DIR / self.name).exists():
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while pids and time.monotonic() < deadline:
                pids = [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
                time.sleep(0.05)
            _run(["ip", "netns", "del", self.name], what="deleting the namespace", check=False)
        if Path(f"/sys/class/net/{self.host_if}").exists():  # the move failed half-way
            _run(["ip", "link", "del", self.host_if], what="deleting the veth pair", check=False)
        self._created = False
        registry.release_netns(self.name)
        atexit.unregister(self.destroy)


def _netem_works(dev: str) -> bool:
    """Whether this kernel has the netem qdisc: try one on ``dev`` (then take it off again)."""
    res = _run(["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "1us"], what="probing netem",
               check=False)
    if res.returncode == 0:
        _run(["tc", "qdisc", "del", "dev", dev, "root"], what="removing the netem probe")
        return True
    if "qdisc kind is unknown" in (res.stderr or ""):
        return False
    raise JxcError(f"architecture.network: probing netem on {dev} failed: {(res.stderr or res.stdout).strip()}",
                   exit_code=1)


def start_relay(listen: str, to: str, hold_ms: float, *, field: str = "architecture.network") -> tuple[subprocess.Popen, int]:
    """A delay relay (:mod:`loadgen.sut.delay_relay`) listening on ``listen`` and forwarding each
    connection to ``to`` (HOST:PORT), holding ``hold_ms`` each way: the process and its port, once it
    listens. It dies with us (parent-death signal; call from the main thread, loadgen.lifeline) and
    is claimed in the registry so that a SIGKILLed run's relay is killed by the next run."""
    err = tempfile.TemporaryFile()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen.sut.delay_relay", "--listen", listen, "--to", to,
         "--one-way-ms", f"{hold_ms:.6f}"],
        stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        preexec_fn=lifeline.preexec())
    registry.claim_process(proc.pid)
    # the port, once it listens; "" if it died; nothing in 30 s: stuck (killed below)
    ready = select.select([proc.stdout], [], [], 30)[0]
    line = proc.stdout.readline().strip() if ready else ""
    proc.stdout.close()
    if not line.isdigit():
        stop_relay(proc)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
        raise JxcError(f"{field}: the delay relay {listen} -> {to} did not start: "
                       f"{' | '.join(tail) or 'no output'}", exit_code=1)
    err.close()
    return proc, int(line)


def echo_round_trips_ms(lst: socket.socket, connect_to: tuple[str, int], tries: int) -> float:
    """Median (ms) of ``tries`` one-byte request/responses to an echo server on the listening socket
    ``lst`` (served here, one connection), connecting to ``connect_to`` (the socket itself, or a relay
    in front of it). The first one, which also waits for a relay's own connection, is not counted.
    Closes ``lst``."""
    lst.settimeout(15)  # closing it would not wake an accept() that waits for a client that failed

    def echo() -> None:  # one connection: send back each byte as it comes
        with contextlib.suppress(OSError):
            conn, _ = lst.accept()
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while data := conn.recv(64):
                    conn.sendall(data)

    server = threading.Thread(target=echo, name="rtt-echo", daemon=True)
    server.start()
    times: list[float] = []
    try:
        with socket.create_connection(connect_to, timeout=10) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(tries + 1):
                t0 = time.perf_counter()
                c.sendall(b"p")
                if c.recv(1) != b"p":
                    raise OSError("the echo server closed the connection")
                if i:
                    times.append((time.perf_counter() - t0) * 1000)
    finally:
        lst.close()
        server.join(10)
    return statistics.median(times)


def stop_relay(proc: subprocess.Popen) -> None:
    """A relay: SIGKILL (it holds nothing worth a clean stop), reaped, forgotten by the registry."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    registry.release_process(proc.pid)


def _format_rate(rate: int) -> str:
    for unit, factor in (("Gbit", 1000**3), ("Mbit", 1000**2), ("kbit", 1000)):
        if rate % factor == 0:
            return f"{rate // factor}{unit}"
    return f"{rate}bit"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def leftovers() -> list[str]:
    """Namespaces and interfaces named by jxcbench that exist right now (for tests and diagnostics)."""
    names = [p.name for p in NETNS_DIR.glob(f"{PREFIX}*")] if NETNS_DIR.is_dir() else []
    names += [p.name for p in Path("/sys/class/net").glob("jxb*")]
    return sorted(names)


__all__ = ["DELAY_METHODS", "Link", "echo_round_trips_ms", "enter_named", "start_relay", "stop_relay", "NetemUnavailable", "check_capable", "choose_subnet", "leftovers", "PREFIX"]
