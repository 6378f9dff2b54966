"""Coordinated omission: a server that stalls 2 s mid-step.

The open model keeps sending on schedule and measures from each request's intended start, so its
p99 shows the stall; the closed model's users simply wait, send fewer requests during the stall,
and its p99 under-reports it. Both are real Locust runs against a real HTTP server.
"""

from __future__ import annotations

from loadgen.workload.load_run import measure_load
from loadgen.measure.samples import read_samples
from loadgen.workload.plan import LoadPlan
from tests.measure.toyserver import ToyServer

STALL_S = 2.0


def _plan(url: str, mode: str) -> LoadPlan:
    # closed: 4 users, so at most 4 requests are caught by the stall among thousands
    return LoadPlan(base_url=url, workload="tests.measure.workloads:PING", mode=mode,
                    seats=[["pinger", None]] * (8 if mode == "open" else 4), rate=150.0, think_time_s=(0.0, 0.0),
                    warmup_s=1.0, duration_s=5.0, drain_s=5.0)


def test_open_model_shows_a_stall_that_the_closed_model_hides(tmp_path):
    results = {}
    for mode in ("open", "closed"):
        # stall from 2.5 s after the first request (warm-up 1 s) for 2 s: inside the measured window
        with ToyServer(stall_after_first_s=2.5, stall_s=STALL_S) as srv:
            results[mode] = measure_load(_plan(srv.url, mode), tmp_path / mode, min_requests=100)
    open_, closed = results["open"]["figures"], results["closed"]["figures"]
    # open: p99 from the intended start carries the stall
    assert open_["latency_ms"]["p99"] >= 1500.0, open_["latency_ms"]
    # the open model kept its arrival rate through the stall (nothing omitted)
    assert open_["requests"] >= 0.8 * 150.0 * 5.0
    samples = read_samples(tmp_path / "open" / "samples.parquet")
    assert (samples["latency_ms"] >= samples["service_ms"] - 1e-6).all()
    # arrivals kept coming during the stall: none of the 2 s has a gap in intended starts > 0.5 s
    measured = samples[samples["phase"] == "measure"].sort_values("intended_start_s")
    assert measured["intended_start_s"].diff().max() < 0.5
    # closed: only the handful of requests caught in the stall are slow -> p99 hides it
    assert closed["latency_ms"]["max"] >= 1500.0, closed["latency_ms"]  # the stall did happen
    assert closed["latency_ms"]["p99"] < 500.0, closed["latency_ms"]
    assert closed["requests"] > open_["requests"]  # closed users hammer when the server is fast
