"""A step is invalid when the generator is saturated, the system crashed, or too few requests."""

from __future__ import annotations

import subprocess
import sys
import threading

from loadgen.workload.load_run import measure_load
from loadgen.measure.validity import judge
from loadgen.workload.plan import LoadPlan
from tests.measure.toyserver import ToyServer


def test_saturated_load_generator_marks_the_step_invalid(tmp_path):
    with ToyServer() as srv:
        # Each operation burns 30 ms of generator CPU; 8 users without think time need ~8 cores.
        plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:BURN", mode="closed",
                        seats=[["burner", None]] * 8, think_time_s=(0.0, 0.0), warmup_s=1.0, duration_s=3.0)
        res = measure_load(plan, tmp_path, min_requests=10)
    v = res["validity"]
    assert not v.valid
    assert "load generator saturated" in v.reason, v.reason
    # whichever symptom the OS let it show: a full core, or (on a shared, busy machine) a late loop
    gen = res["loadgen"]
    assert max(gen["cpu_p90_pct"].values()) > 90.0 or max(gen["lag_p90_ms"].values()) > 50.0, gen


def test_crash_of_the_system_under_test_marks_the_step_invalid(tmp_path):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with ToyServer() as srv:
            plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:PING", mode="open",
                            seats=[["pinger", None]] * 4, rate=50.0, warmup_s=0.5, duration_s=2.5, drain_s=1.0)
            threading.Timer(2.0, victim.kill).start()
            res = measure_load(plan, tmp_path, sut_groups={"app": [victim.pid]}, min_requests=10)
    finally:
        victim.kill()
        victim.wait()
    v = res["validity"]
    assert not v.valid and "crashed" in v.reason and str(victim.pid) in v.reason, v.reason


def test_too_few_requests_and_the_order_of_reasons():
    v = judge(measured_requests=999, loadgen_cpu={"w0": [20.0, 30.0]})
    assert not v.valid and "too few requests" in v.reason and "999" in v.reason
    assert judge(measured_requests=1000, loadgen_cpu={"w0": [20.0, 95.0, 30.0]}).valid
    v = judge(measured_requests=5000, loadgen_cpu={"w0": [95.0, 97.0, 50.0]})
    assert not v.valid and "saturated" in v.reason
    v = judge(measured_requests=5000, loadgen_cpu={"w0": [60.0] * 3}, loadgen_lag={"w0": [80.0, 120.0, 5.0]})
    assert not v.valid and "event loop ran 80 ms late at the 90th percentile" in v.reason, v.reason
    assert judge(measured_requests=5000, loadgen_cpu={"w0": [60.0] * 3}, loadgen_lag={"w0": [1.0, 2.0]}).valid
    v = judge(measured_requests=10, loadgen_cpu={"w0": [99.0] * 3}, crashed="app process 1 vanished")
    assert v.reason.startswith("system under test crashed")


def test_operators_that_cannot_log_in_make_an_invalid_step_with_the_reason(tmp_path):
    from tests.measure.ports import free_port

    # nothing listens on this port: every login fails, no request is measured
    plan = LoadPlan(base_url=f"http://127.0.0.1:{free_port()}", workload="loadgen.workload.jxc:WORKLOAD",
                    mode="closed", seats=[["sales", "sales000001"], ["clerk", "clerk0001"]],
                    think_time_s=(0.0, 0.1), warmup_s=0.5, duration_s=1.0)
    res = measure_load(plan, tmp_path)
    assert not res["validity"].valid
    assert res["validity"].reason.startswith("no operator could log in (2 login failures"), res["validity"].reason


def test_a_generator_saturated_in_a_minority_of_the_seconds_is_still_saturated():
    # 4 seconds in 10 at a full core: a median of 50 % passed this; the 90th percentile does not
    v = judge(measured_requests=5000, loadgen_cpu={"w0": [50.0] * 6 + [99.0] * 4})
    assert not v.valid and "99 % of one core at the 90th percentile" in v.reason, v.reason
    # one late second in ten is noise, not saturation
    assert judge(measured_requests=5000, loadgen_cpu={"w0": [50.0] * 9 + [99.0]}).valid


def test_the_master_of_a_distributed_run_is_judged_too():
    from loadgen.workload.load_run import loadgen_series

    load = {"measure_start": 100.0, "end": 110.0,
            "workers": [{"index": 0, "pid": 11, "cpu": [(100.0 + i, 30.0) for i in range(1, 11)]}],
            "master": {"pid": 10, "cpu": [(100.0 + i, 97.0) for i in range(1, 11)]}}
    series = loadgen_series(load, "cpu")
    assert series["master (pid 10)"] == [97.0] * 10
    v = judge(measured_requests=5000, loadgen_cpu=series)
    assert not v.valid and "master (pid 10)" in v.reason, v.reason
