"""Scale-out of the load: a master and two workers (`jxcbench worker`) on loopback make ONE step."""

from __future__ import annotations

import collections
import subprocess
import sys

import pandas as pd
import pytest

from loadgen.workload.load_run import measure_load
from loadgen.workload.plan import LoadPlan, assign_seats
from tests.measure.ports import free_port
from tests.measure.toyserver import ToyServer


def _seats():
    names = {"sales": [f"sales{i:06d}" for i in range(1, 9)], "clerk": [f"clerk{i:04d}" for i in range(1, 5)]}
    return assign_seats({"sales": 0.7, "clerk": 0.3}, 10, names)


def _check_one_merged_step(res, srv, seats, tmp_path, workers):
    df = pd.read_parquet(tmp_path / "samples.parquet")
    # samples of both workers reached the master's single file
    assert sorted(df["worker"].unique()) == list(range(1, workers + 1))
    assert res["figures"]["requests"] == int(((df["phase"] == "measure") & (df["operation"] != "login")).sum())
    assert res["figures"]["requests"] > 200
    assert res["figures"]["refusals"] > 0 and res["figures"]["errors"] == 0
    assert len(res["load"]["workers"]) == workers and res["load"]["workers_missing_final_report"] == 0
    # every seat logged in exactly once, across workers: no operator used twice
    logins = collections.Counter(p.split("u=")[1] for p in srv.paths if p.startswith("/login"))
    assert logins == collections.Counter(seat[1] for seat in seats)
    cpu = [w["cpu"] for w in res["load"]["workers"]]
    assert all(len(c) >= 2 for c in cpu)  # each worker reported its own CPU use for the validity rule


def test_master_and_two_remote_workers_make_one_step(tmp_path):
    port = free_port()
    seats = _seats()
    with ToyServer() as srv:
        plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:IDENT", mode="closed", seats=seats,
                        mix={"sales": 0.7, "clerk": 0.3}, think_time_s=(0.0, 0.01), warmup_s=1.0, duration_s=3.0,
                        expect_workers=2, master_port=port)
        workers = [subprocess.Popen([sys.executable, "-m", "loadgen.cli", "worker", "--master", "127.0.0.1",
                                     "--master-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        try:
            res = measure_load(plan, tmp_path, min_requests=100)
            for w in workers:
                assert w.wait(timeout=20) == 0  # the master told them to quit
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
    _check_one_merged_step(res, srv, seats, tmp_path, 2)


def test_local_processes_open_model_make_one_step(tmp_path):
    seats = _seats()
    with ToyServer() as srv:
        plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:IDENT", mode="open", seats=seats,
                        mix={"sales": 0.7, "clerk": 0.3}, rate=120.0, warmup_s=1.0, duration_s=3.0,
                        processes=2, master_port=free_port())
        res = measure_load(plan, tmp_path, min_requests=100)
    _check_one_merged_step(res, srv, seats, tmp_path, 2)
    # the two workers' arrivals add up to the target rate
    assert abs(res["figures"]["requests"] / 3.0 - 120.0) < 30.0


def test_local_workers_on_a_second_host_across_a_shaped_link(tmp_path):
    """``--load-network``: the local workers run in their own network namespace and reach the app
    (and the master) across a veth pair with a 5 ms round trip; their samples make one step, every
    request pays the round trip, and the plan records the namespace they ran in."""
    import os
    import shutil
    import threading
    import time

    from loadgen.sut import netns
    from loadgen.sut.cgroups import new_run_id
    from tests.dbs import in_ci

    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        if in_ci():
            pytest.fail("CI requires root and iproute2 for network namespaces", pytrace=False)
        pytest.skip("needs root and iproute2 (ip, tc) to give the workers their own host")
    seats = _seats()
    rtt_ms = 5.0
    seen: set[int] = set()
    with netns.Link(new_run_id(), rtt_ms=rtt_ms, role="load generators") as link, \
            ToyServer(host=link.host_addr) as srv:
        link.measure_rtt()
        far_host, far_port = link.inward(int(srv.url.rsplit(":", 1)[1]), host=link.host_addr)
        plan = LoadPlan(base_url=f"http://{far_host}:{far_port}", workload="tests.measure.workloads:IDENT",
                        mode="open", seats=seats, mix={"sales": 0.7, "clerk": 0.3}, rate=120.0, warmup_s=1.0,
                        duration_s=3.0, processes=2, master_port=free_port(), master_host=link.host_addr,
                        worker_netns=link.name)
        done = threading.Event()

        def watch() -> None:  # who runs inside the namespace while the load runs
            while not done.is_set():
                seen.update(link.pids())
                time.sleep(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            res = measure_load(plan, tmp_path, min_requests=50)
        finally:
            done.set()
            watcher.join()
        desc = link.describe()
    _check_one_merged_step(res, srv, seats, tmp_path, 2)
    # both workers ran inside the namespace (the master, here, did not)
    worker_pids = {w["pid"] for w in res["load"]["workers"]}
    assert worker_pids <= seen and os.getpid() not in seen, (worker_pids, seen)
    assert res["load"]["plan"]["worker_netns"] == link.name
    assert desc["summary"].startswith(f"load generators {rtt_ms:g} ms away") and desc["measured_rtt_ms"]
    # every request crossed the link: none answered faster than the round trip (the server answers at once)
    df = pd.read_parquet(tmp_path / "samples.parquet")
    measured = df[(df["phase"] == "measure") & (df["operation"] != "login")]
    assert measured["service_ms"].quantile(0.05) >= 0.8 * rtt_ms, measured["service_ms"].describe()
    assert link.name not in netns.leftovers() and link.relay_pids() == []


def test_load_network_option_is_checked():
    from loadgen.cli.run import parse_load_network
    from loadgen.errors import JxcError

    ok = parse_load_network("{rtt_ms: 0.5, bandwidth: 1Gbit}", processes=2, expect_workers=0, app_host=None)
    assert ok.rtt_ms == 0.5 and ok.bandwidth == 10**9
    for text, kw, says in [
        ("{rtt_ms: -1}", {}, "--load-network: rtt_ms"),
        ("{bandwidth: 10Mbps}", {}, "--load-network: bandwidth"),
        ("0.5", {}, "is not a mapping"),
        ("{rtt_ms: 0.5}", {"processes": 1}, "--processes 2"),
        ("{rtt_ms: 0.5}", {"expect_workers": 2}, "--expect-workers"),
    ]:
        args = {"processes": 2, "expect_workers": 0, "app_host": None, **kw}
        with pytest.raises(JxcError) as info:
            parse_load_network(text, **args)
        assert says in str(info.value), str(info.value)
