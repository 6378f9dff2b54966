"""A busy machine is not a measurement: a step beside a process that keeps a core busy is invalid,
naming it; the step's own process (sampler, parent) never counts as foreign."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from loadgen.measure.validity import machine_busy, max_foreign_cpu_pct
from loadgen.workload.load_run import measure_load
from loadgen.workload.plan import LoadPlan
from tests.measure.toyserver import ToyServer


def _plan(url: str) -> LoadPlan:
    return LoadPlan(base_url=url, workload="tests.measure.workloads:PING", mode="closed",
                    seats=[["pinger", None]] * 2, think_time_s=(0.01, 0.02), warmup_s=1.0, duration_s=4.0)


def test_a_step_beside_a_busy_process_is_invalid_and_names_it(tmp_path):
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        with ToyServer() as srv:
            res = measure_load(_plan(srv.url), tmp_path, min_requests=10, max_foreign_cpu=10)
    finally:
        hog.kill()
        hog.wait()
    v = res["validity"]
    assert not v.valid and v.reason.startswith("machine busy"), v.reason
    assert "limit 10 %" in v.reason and "top: pid " in v.reason, v.reason
    named = {p["pid"]: p for p in res["machine_load"]["foreign_processes"]}
    # the hog is among the ten busiest foreign processes (with a core on a quiet machine; its share
    # of two on a shared, busy one); on a quiet machine it is the one named
    assert hog.pid in named and named[hog.pid]["cpu_pct"] > 5, res["machine_load"]
    assert named[hog.pid]["name"].startswith("python")
    if res["machine_load"]["top_foreign"]["pid"] == hog.pid:
        assert f"pid {hog.pid} python" in v.reason


def test_the_step_process_itself_is_not_foreign(tmp_path):
    stop = threading.Event()

    def spin() -> None:  # the sampler's own process busy (as a parent's work would be)
        while not stop.is_set():
            pass

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    try:
        with ToyServer() as srv:
            res = measure_load(_plan(srv.url), tmp_path, min_requests=10, max_foreign_cpu="off")
    finally:
        stop.set()
        t.join()
    pids = {p["pid"] for p in res["machine_load"]["foreign_processes"]}
    assert os.getpid() not in pids and os.getppid() not in pids
    engine = [w["pid"] for w in res["load"]["workers"]]
    assert not pids & set(engine)  # the load generator is its own group
    assert res["validity"].valid, res["validity"].reason  # 'off': the rule is not applied


def test_threshold_rule_and_its_settings(monkeypatch):
    assert machine_busy([5.0] * 9 + [50.0], limit_pct=10) is None  # one busy second in ten: p90 is 5
    reason = machine_busy([5.0] * 8 + [50.0] * 2, limit_pct=10, offender=(1234, "python3", 95.0))
    assert reason and "pid 1234 python3 used 95 % of a core" in reason
    assert machine_busy([99.0] * 10, limit_pct=None) is None
    assert "stole" in machine_busy([0.0] * 10, limit_pct=10, steal=[30.0] * 10)
    monkeypatch.setenv("JXCBENCH_MAX_FOREIGN_CPU", "25")
    assert max_foreign_cpu_pct() == 25.0 and max_foreign_cpu_pct(5) == 5.0
    monkeypatch.setenv("JXCBENCH_MAX_FOREIGN_CPU", "off")
    assert max_foreign_cpu_pct() is None
    monkeypatch.delenv("JXCBENCH_MAX_FOREIGN_CPU")
    assert max_foreign_cpu_pct() == 10.0
    with pytest.raises(ValueError, match="'lots'"):
        max_foreign_cpu_pct("lots")
