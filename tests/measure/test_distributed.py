"""Scale-out of the load: a master and two workers (`jxcbench worker`) on loopback make ONE step."""

from __future__ import annotations

import collections
import subprocess
import sys

import pandas as pd

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
