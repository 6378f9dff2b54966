"""Verdicts you can defend: confidence-bound verdicts per operation, the window's extension, nothing
dropped at the window's end, and Little's law on a closed loop (toy server; known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loadgen.measure.percentiles import summarise_frame
from loadgen.measure.slo import (
    INCONCLUSIVE,
    PASS,
    judge_operations,
    slo_failures,
    step_verdict,
)
from loadgen.workload.load_run import EarlyStop, measure_load
from loadgen.workload.plan import LoadPlan
from tests.measure.toyserver import ToyServer


def frame(ops: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = [(op, float(v)) for op, lat in ops.items() for v in lat]
    return pd.DataFrame({"operation": [r[0] for r in rows], "latency_ms": [r[1] for r in rows],
                         "outcome": "success", "phase": "measure"})


# -- the verdict, pure ------------------------------------------------------------------------------
def test_an_operation_with_too_few_samples_is_never_passed_on_its_maximum():
    rng = np.random.default_rng(1)
    fig = summarise_frame(frame({"busy": rng.uniform(1, 50, 5000), "rare": np.full(40, 5.0)}), 60.0)
    rare = fig["operations"]["rare"]
    # 40 samples, all 5 ms against a 500 ms threshold: the point p95/p99 are 5 ms, yet no order
    # statistic bounds them from above (72 / 368 samples needed), so no pass
    assert rare["p95_ms"] == 5.0 and rare["p95_ci_ms"][1] is None and rare["p99_ci_ms"][1] is None
    verdicts, unjudged = judge_operations(fig["operations"], {"p95_ms": 500, "p99_ms": 1500})
    assert verdicts["rare"]["verdict"] == INCONCLUSIVE and verdicts["busy"]["verdict"] == PASS
    assert unjudged == {"rare": {"requests": 40, "percentiles": ["p95", "p99"], "requests_needed": 368}}
    # named, and left out of the step's verdict (README: "Operations too rare to judge")
    assert step_verdict(verdicts, unjudged, []) == PASS
    # a rare operation can still fail: its lower bound is evidence
    fig = summarise_frame(frame({"busy": rng.uniform(1, 50, 5000), "rare": np.full(40, 900.0)}), 60.0)
    verdicts, unjudged = judge_operations(fig["operations"], {"p95_ms": 500, "p99_ms": 1500})
    assert verdicts["rare"]["verdict"] == "fail" and "rare" not in unjudged
    assert step_verdict(verdicts, unjudged, slo_failures(fig, {"p95_ms": 500, "p99_ms": 1500})) == "fail"


def test_an_interval_that_straddles_the_threshold_makes_the_step_inconclusive_never_pass():
    rng = np.random.default_rng(2)
    # p95 of uniform(0, 1000) is 950: the point estimate of 400 samples sits near it, the bounds do not decide
    fig = summarise_frame(frame({"near": rng.uniform(0, 1000, 400)}), 60.0)
    low, high = fig["operations"]["near"]["p95_ci_ms"]
    assert low < 950 < high
    slo = {"p95_ms": 950, "p99_ms": 5000}
    verdicts, unjudged = judge_operations(fig["operations"], slo)
    assert verdicts["near"]["p95"] == INCONCLUSIVE and not unjudged
    assert step_verdict(verdicts, unjudged, slo_failures(fig, slo)) == INCONCLUSIVE
    # the same data with a threshold above the upper bound passes, below the lower bound fails
    assert step_verdict(*judge_operations(fig["operations"], {"p95_ms": high + 1, "p99_ms": 5000}), []) == PASS
    failures = slo_failures(fig, {"p95_ms": low - 1, "p99_ms": 5000})
    assert failures and step_verdict(*judge_operations(fig["operations"], {"p95_ms": low - 1}), failures) == "fail"


# -- the window's extension (real load on the toy server) ----------------------------------------------
def _plan(url: str, **kw) -> LoadPlan:
    base = {"base_url": url, "workload": "tests.measure.workloads:PING", "mode": "closed",
            "seats": [["pinger", None]] * 4, "think_time_s": (0.0, 0.005), "warmup_s": 1.0, "duration_s": 3.0}
    base.update(kw)
    return LoadPlan(**base)


def test_a_conclusive_window_ends_at_its_planned_length(tmp_path):
    with ToyServer() as srv:
        res = measure_load(_plan(srv.url), tmp_path, min_requests=10,
                           early_stop=EarlyStop({"p95_ms": 60000, "p99_ms": 60000}, 3.0, in_flight_max=4, cap_s=9.0))
    w = res["window"]
    assert w["ended"] == "conclusive" and w["cap_s"] == 9.0 and w["planned_s"] == 3.0, w
    assert 3.0 <= res["measured_s"] < 5.0 and w["extension_s"] < 2.0, w


def test_a_window_whose_bound_straddles_the_threshold_runs_to_the_cap(tmp_path):
    # Every 20th request takes 500 ms, the others answer at once: exactly 5 % slow, so the interval of
    # p95 always holds a fast and a slow latency and straddles 250 ms however long the window (the
    # margin: on a busy machine a "fast" answer may take tens of ms).
    with ToyServer(delay=lambda hit: 0.5 if hit % 20 == 0 else 0.0) as srv:
        slo = {"p95_ms": 250, "p99_ms": 60000}
        res = measure_load(_plan(srv.url), tmp_path, min_requests=10,
                           early_stop=EarlyStop(slo, 3.0, in_flight_max=4, cap_s=5.0))
    w = res["window"]
    assert w["ended"] == "cap" and res["measured_s"] == 5.0 and w["extension_s"] == 2.0, w
    assert "ping p95" in w["pending_at_end"]
    verdicts, unjudged = judge_operations(res["figures"]["operations"], slo)
    assert verdicts["ping"]["p95"] == INCONCLUSIVE and step_verdict(verdicts, unjudged, []) == INCONCLUSIVE


# -- nothing dropped ------------------------------------------------------------------------------------
def test_a_request_in_flight_past_the_drain_bound_is_a_timeout_error(tmp_path):
    # The server stalls from 1.8 s after the first request for 6 s: the requests sent then are still
    # in flight when the window (0.5..2.5 s) and the drain bound (1 s) are over.
    with ToyServer(stall_after_first_s=1.8, stall_s=6.0) as srv:
        plan = _plan(srv.url, seats=[["pinger", None]] * 2, think_time_s=(0.02, 0.05), warmup_s=0.5,
                     duration_s=2.0, drain_s=1.0)
        res = measure_load(plan, tmp_path, min_requests=1)
    load = res["load"]
    assert res["timed_out_at_end"] == 2, load["workers"][0]["stats"]
    df = pd.read_parquet(tmp_path / "samples.parquet")
    late = df[(df["status"] == 0) & (df["outcome"] == "error")]
    assert len(late) == 2 and (late["phase"] == "measure").all()
    # each waited from its send to the drain bound: at least the bound, no more than the stall
    assert (late["latency_ms"] >= 1000.0).all() and (late["latency_ms"] < 6000.0).all(), late
    assert res["figures"]["errors"] == 2


# -- Little's law -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_generator_that_sleeps_longer_than_planned_makes_the_step_invalid(tmp_path):
    with ToyServer() as srv:
        ok = measure_load(_plan(srv.url, think_time_s=(0.2, 0.4), duration_s=5.0), tmp_path / "ok", min_requests=10)
        # the test hook: every operator sleeps twice the think time it draws (as a starved generator would)
        slow = measure_load(_plan(srv.url, think_time_s=(0.2, 0.4), duration_s=5.0, think_scale=2.0),
                            tmp_path / "slow", min_requests=10)
    law = ok["littles_law"]
    assert ok["operators_active"] == ok["operators_planned"] == 4 and ok["login_failures"] == 0
    assert law["judged"] and law["ratio"] >= 0.9, law
    assert ok["validity"].valid, ok["validity"]
    law = slow["littles_law"]
    assert law["judged"] and law["ratio"] < 0.75, law
    assert law["mean_think_s"] > 1.7 * law["mean_think_planned_s"], law
    assert not slow["validity"].valid and "Little's law" in slow["validity"].reason, slow["validity"]


def test_operators_that_never_worked_make_the_step_invalid(tmp_path):
    from tests.measure.workloads import IDENT  # noqa: F401  (the login workload exists)

    # Two seats whose login fails (the toy server answers /login with 200 but the workload below
    # refuses): the step had fewer operators than planned.
    with ToyServer() as srv:
        plan = _plan(srv.url, workload="tests.measure.workloads:HALF_LOGIN",
                     seats=[["sales", "ok1"], ["sales", "bad1"], ["sales", "ok2"], ["sales", "bad2"]],
                     think_time_s=(0.0, 0.01), duration_s=2.0)
        res = measure_load(plan, tmp_path, min_requests=10)
    assert res["login_failures"] == 2 and res["operators_logged_in"] == 2 and res["operators_active"] == 2
    v = res["validity"]
    assert not v.valid and "only 2 of 4 planned operators" in v.reason and "2 login failures" in v.reason, v
