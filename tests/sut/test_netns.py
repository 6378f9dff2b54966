"""The database across a network: a namespace joined by a shaped veth pair, measured, and gone after.

Needs root, ``ip`` and ``tc``: skipped with the reason without them, failed in CI. Adding a *delay*
needs the kernel's netem qdisc (CONFIG_NET_SCH_NETEM); a kernel built without it cannot shape a
round trip at all, so those cases skip with that reason (also in CI: no setting of ours fixes it).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from loadgen.errors import JxcError
from loadgen.sut import netns
from loadgen.sut.cgroups import new_run_id
from loadgen.sut.launcher import SystemUnderTest
from profiles.loader import load_profile
from tests.dbs import in_ci
from tests.sut.conftest import write_profile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def netns_capable() -> None:
    reason = None
    if os.geteuid() != 0:
        reason = "needs root to create network namespaces"
    elif shutil.which("ip") is None or shutil.which("tc") is None:
        reason = "needs iproute2 (ip, tc)"
    if reason:
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)


def _gone(link: netns.Link) -> None:
    """Nothing of the link is left: namespace, both veth ends, processes inside."""
    assert not (netns.NETNS_DIR / link.name).exists()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert link.name not in listed
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert link.host_if not in links and link.ns_if not in links
    assert not {link.name, link.host_if, link.ns_if} & set(netns.leftovers())


def _netem_or_skip(exc: netns.NetemUnavailable) -> None:
    pytest.skip(f"this kernel cannot add a delay: {exc}")


def test_shaped_link_round_trip_matches_rtt(netns_capable):
    link = netns.Link(new_run_id(), rtt_ms=5.0)
    try:
        with link:
            # addresses: a /30 of 169.254.0.0/16, ours .1, its .2; names fit IFNAMSIZ
            assert link.host_addr.startswith("169.254.") and link.ns_addr.startswith("169.254.")
            assert len(link.host_if) <= 15 and len(link.ns_if) <= 15
            rtt = link.measure_rtt(20)
            assert 4.0 <= rtt <= 6.0, f"configured 5 ms, measured {rtt:.3f} ms"
            assert link.describe()["measured_rtt_ms"] == pytest.approx(rtt, abs=1e-3)
    except netns.NetemUnavailable as exc:
        _gone(link)
        _netem_or_skip(exc)
    _gone(link)


def _throughput(link: netns.Link, nbytes: int) -> float:
    """Bits/s of payload sent from our side to a listener inside (until it has read every byte)."""
    lst = link.socket_inside()
    got: dict[str, int] = {}

    def sink() -> None:
        conn, _ = lst.accept()
        n = 0
        with conn:
            while chunk := conn.recv(1 << 16):
                n += len(chunk)
            got["n"] = n
            conn.sendall(b"k")

    t = threading.Thread(target=sink)
    t.start()
    try:
        with socket.create_connection((link.ns_addr, lst.getsockname()[1]), timeout=30) as c:
            t0 = time.perf_counter()
            c.sendall(b"x" * nbytes)
            c.shutdown(socket.SHUT_WR)
            assert c.recv(1) == b"k"
            elapsed = time.perf_counter() - t0
    finally:
        t.join(30)
        lst.close()
    assert got["n"] == nbytes
    return nbytes * 8 / elapsed


def test_token_bucket_limits_bandwidth(netns_capable):
    rate = 20_000_000
    link = netns.Link(new_run_id(), bandwidth=rate)
    with link:
        assert "tbf" in link.describe()["qdisc"]
        assert link.describe()["summary"] == "database across an undelayed link over 20Mbit"
        # inside, the only route is the /30 of the pair: nothing in there can reach anything else
        routes = subprocess.run(["ip", "-n", link.name, "-4", "route", "show", "table", "all"],
                                capture_output=True, text=True, check=True).stdout
        assert "default" not in routes
        pair = str(ipaddress.ip_interface(f"{link.ns_addr}/30").network)
        assert {ln.split()[0] for ln in routes.splitlines() if ln and ln[0].isdigit()} == {pair}, routes
        measured = _throughput(link, 3_000_000)  # ~1.2 s at 20 Mbit
    _gone(link)
    print(f"tbf 20 Mbit: measured {measured / 1e6:.2f} Mbit/s of payload")
    # payload only: Ethernet/IP/TCP headers take ~5 % of what the bucket counts
    assert 0.8 * rate <= measured <= 1.05 * rate, f"configured {rate / 1e6:g} Mbit, measured {measured / 1e6:.2f}"


def test_teardown_is_idempotent_and_kills_what_runs_inside(netns_capable):
    link = netns.Link(new_run_id())
    link.create()
    proc = subprocess.Popen(["sleep", "60"], preexec_fn=link.preexec())
    try:
        assert proc.pid in link.pids()
    finally:
        link.destroy()
        link.destroy()
    assert proc.wait(timeout=5) == -9
    _gone(link)


def test_not_root_is_a_clear_error(netns_capable):
    # A fresh user namespace without a uid mapping: the same files, but we are nobody (euid 65534).
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to drop root")
    code = "from loadgen.sut.netns import Link\ntry:\n    Link('x').create()\nexcept Exception as e:\n    print(e)\n"
    res = subprocess.run(["unshare", "--user", sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.stdout.startswith("architecture.network: putting the database in its own network namespace "
                                 "needs root"), res.stdout + res.stderr


@pytest.mark.parametrize(("engine", "network"), [
    ("postgresql", "{bandwidth: 100Mbit}"),
    ("postgresql", "{rtt_ms: 5, bandwidth: 100Mbit}"),
    ("mysql", "{bandwidth: 1Gbit}"),
])
def test_managed_server_across_the_link(netns_capable, cgroups_writable, tmp_path, engine, network):
    settings = "{shared_buffers: 32MB}" if engine == "postgresql" else "{innodb_buffer_pool_size: 32M}"
    profile = load_profile(write_profile(
        tmp_path, f"{engine}-far", "hardware: {cpus: 1, memory: 512MiB}\n"
                                   f"database: {{engine: {engine}, settings: {settings}}}\n"
                                   f"architecture: {{workers: 1, network: {network}}}\n"))
    sut = SystemUnderTest(profile)
    try:
        with sut:
            link = sut.network
            assert link is not None and sut.db_url.split("@")[1].startswith(f"{link.ns_addr}:")
            # the server runs inside the namespace and inside the run's cgroup
            db_pid = sut._db.pid
            assert db_pid in link.pids() and db_pid in sut.cgroup.pids()
            desc = sut.describe()["network"]
            assert desc["db_address"] == link.ns_addr and desc["measured_rtt_ms"] is not None
            eng = create_engine(sut.db_url)
            with eng.connect() as conn:
                assert conn.execute(text("SELECT 1 + 1")).scalar() == 2
                # the server sees us at our end of the link: the packets did cross it
                if engine == "postgresql":
                    client = conn.execute(text("SELECT host(inet_client_addr())")).scalar()
                else:
                    client = conn.execute(text("SELECT host FROM information_schema.processlist "
                                               "WHERE id = CONNECTION_ID()")).scalar().rsplit(":", 1)[0]
                assert client == link.host_addr
                if profile.architecture.network.rtt_ms:
                    t0 = time.perf_counter()
                    for _ in range(10):
                        conn.execute(text("SELECT 1"))
                    per_query = (time.perf_counter() - t0) * 100  # ms per query
                    assert per_query >= 4.0, f"a query across a 5 ms link took {per_query:.2f} ms"
                    assert 4.0 <= desc["measured_rtt_ms"] <= 6.0
            eng.dispose()
            pids = sut.db_pids()
    except netns.NetemUnavailable as exc:
        _gone(netns.Link(sut.run_id))
        _netem_or_skip(exc)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)
    _gone(netns.Link(sut.run_id))


def test_refused_for_sqlite_and_external_servers(tmp_path):
    for text_, what in [
        ("architecture: {network: {rtt_ms: 0.5}}\n", "sqlite"),
        ("database: {engine: postgresql, url: 'postgresql+psycopg://u:secret@db.example/x'}\n"
         "architecture: {network: {rtt_ms: 0.5}}\n", "external server"),
    ]:
        with pytest.raises(JxcError) as info:
            load_profile(write_profile(tmp_path, "bad", text_))
        assert what in str(info.value) and "architecture" in str(info.value)
        assert "secret" not in str(info.value)
