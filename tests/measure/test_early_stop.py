"""Stopping a step early once its SLO is clearly lost: the decision as the step process makes it,
then real load (a toy server; the real app on SQLite) whose window really ends early."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from loadgen.measure.collector import WindowTally
from loadgen.workload.load_run import EarlyStop, measure_load
from loadgen.measure.validity import judge
from loadgen.workload.plan import LoadPlan
from tests.measure.ports import free_port
from tests.measure.toyserver import ToyServer

SLO = {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {}}
IMPOSSIBLE = {"p95_ms": 0.001, "p99_ms": 0.001, "error_rate": 0.01, "operations": {}}


# -- the decision (pure) -----------------------------------------------------------------------------
def _second(fast: int, slow: int, errors: int = 0) -> dict:
    """One second of the window: a fast operation, and stock_check with ``slow`` of its requests slow."""
    return {"lat": {"customer_view": [20.0] * fast, "stock_check": [30.0] * fast + [900.0] * slow}, "errors": errors}


def test_no_decision_before_a_quarter_of_the_window_and_five_seconds():
    stop = EarlyStop(SLO, 60.0)
    assert stop.min_elapsed_s == 15.0
    assert EarlyStop(SLO, 10.0).min_elapsed_s == 5.0
    # every request slow from the first second on: still no stop before 15 s of a 60 s window
    for at in range(1, 15):
        assert stop.feed({"at_s": float(at), **_second(0, 100)}) is None
    reason = stop.feed({"at_s": 15.0, **_second(0, 100)})
    assert reason and "stock_check" in reason and "500" in reason


def test_a_slow_share_within_the_budget_never_stops():
    stop = EarlyStop(SLO, 20.0)
    # 3 % of stock_check slow: its p95 <= 500 ms holds whatever the rest of the window does
    assert all(stop.feed({"at_s": float(at), **_second(97, 3)}) is None for at in range(1, 20))
    assert stop.requests == 19 * (97 + 100)


def test_accumulates_across_seconds_and_estimates_the_window_from_the_rate_so_far():
    stop = EarlyStop(SLO, 40.0, in_flight_max=10)
    stop.add({"a": [1.0, 2.0], "b": [3.0]}, 1)
    stop.add({"a": [4.0], "c": []}, 2)
    assert stop.requests == 4 and stop.errors == 3
    assert {k: v.tolist() for k, v in stop.latencies().items()} == {"a": [1.0, 2.0, 4.0], "b": [3.0]}
    # (4 finished + at most 10 in flight) per 10 s, over 40 s
    assert stop.expected_total(10.0) == pytest.approx(56.0)
    assert stop.expected_total(0.0) == 0.0


def test_errors_over_budget_stop_but_refusals_are_not_errors():
    tally = WindowTally()
    cols = {"operation": ["login", "sales_order_create", "sales_order_create", "stock_check", "stock_check"],
            "latency_ms": [5.0, 10.0, 11.0, 12.0, 13.0],
            "outcome": ["error", "refusal", "refusal", "error", "success"],
            "phase": ["measure", "measure", "measure", "measure", "warmup"]}
    tally.add_columns(cols)
    got = tally.take()
    # the login is not a workload operation, the warm-up row is not in the window, 409s are answers
    assert got == {"lat": {"sales_order_create": [10.0, 11.0], "stock_check": [12.0]}, "errors": 1}
    assert tally.take() == {"lat": {}, "errors": 0}

    stop = EarlyStop(SLO, 20.0)
    lost = None
    for at in range(1, 8):
        lost = lost or stop.feed({"at_s": float(at), **_second(100, 0, errors=20)})  # 10 % errors
    assert lost and "error" in lost


def test_a_step_cut_short_needs_no_stable_p99_but_other_rules_still_apply():
    ok_cpu = {"w0": [30.0, 30.0]}
    assert judge(measured_requests=40, loadgen_cpu=ok_cpu, stopped_early=True).valid
    assert not judge(measured_requests=40, loadgen_cpu=ok_cpu).valid
    v = judge(measured_requests=40, loadgen_cpu={"w0": [99.0, 99.0]}, stopped_early=True)
    assert not v.valid and "saturated" in v.reason
    v = judge(measured_requests=40, loadgen_cpu=ok_cpu, crashed="app process 1 vanished", stopped_early=True)
    assert not v.valid and "crashed" in v.reason


@pytest.mark.slow
def test_jxcbench_run_no_early_stop_runs_the_whole_window(tmp_path):
    """The off switch reaches the step: an impossible SLO with --no-early-stop measures the full window."""
    from tests.measure.test_run_command import jxc

    profile = tmp_path / "p.yaml"
    profile.write_text("database: {engine: sqlite}\narchitecture: {kind: monolith, workers: 1}\n"
                       "workload: {operators: 4, think_time_s: [0.0, 0.02]}\nslo: {p95_ms: 0.001}\n")
    done = jxc("run", str(profile), "-n", "200", "--out", str(tmp_path / "out"), "--duration", "7s",
               "--warmup", "1s", "--min-requests", "10", "--no-early-stop", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    step = json.loads((tmp_path / "out" / "step.json").read_text())
    assert step["stopped_early"] is None and step["passed"] is False and step["measured_s"] == pytest.approx(7.0, abs=0.5)


# -- real load on a toy server -----------------------------------------------------------------------
def _plan(url: str, **kw) -> LoadPlan:
    return LoadPlan(base_url=url, workload="tests.measure.workloads:PING", mode="closed",
                    seats=[["pinger", None]] * 4, think_time_s=(0.0, 0.01), warmup_s=1.0, duration_s=20.0, **kw)


@pytest.mark.parametrize("processes", [1, 2], ids=["local", "master+2 workers"])
def test_a_lost_window_ends_early_in_every_load_process(tmp_path, processes):
    extra = {"processes": 2, "master_port": free_port()} if processes > 1 else {}
    lines: list[dict] = []
    t = time.monotonic()
    with ToyServer() as srv:
        res = measure_load(_plan(srv.url, **extra), tmp_path, on_progress=lines.append, min_requests=10**9,
                           early_stop=EarlyStop(IMPOSSIBLE, 20.0, in_flight_max=4))
    took = time.monotonic() - t
    stopped, load = res["stopped_early"], res["load"]
    assert stopped and "ping" in stopped["reason"], stopped
    # decided at 5 s (a quarter of 20 s is less), the window ended within a second or two of it
    # (the master sees its workers' samples up to a second late); either way far before 20 s. The
    # wall time also counts starting the load processes, seconds on a busy machine (the suite runs
    # two tests at once): a window that was not stopped takes 21 s + that start.
    assert 5.0 <= stopped["at_s"] < 9.0 and took < 19.0, (stopped, took)
    assert load["end"] == pytest.approx(load["stopped_at"]) and res["measured_s"] == stopped["at_s"]
    assert load["end"] - load["measure_start"] == pytest.approx(stopped["at_s"], abs=1e-3)
    # figures over the real window; waived "too few requests" (10**9 asked), so valid
    fig = res["figures"]
    assert fig["rps"] == pytest.approx(fig["requests"] / res["measured_s"], rel=1e-3)
    assert res["validity"].valid, res["validity"]
    # no process started anything after the stop (in-flight requests drain, as at a normal end)
    df = pd.read_parquet(tmp_path / "samples.parquet")
    measured = df[df["phase"] == "measure"]
    assert measured["intended_start_s"].max() < load["stopped_at"] + 0.1
    assert sorted(df["worker"].unique()) == ([0] if processes == 1 else [1, 2])
    # the parent's callback got the progress lines without the bulky window part
    assert lines and not any("window" in m for m in lines)
    assert json.loads((tmp_path / "load.json").read_text())["stopped_at"] == load["stopped_at"]


def test_a_window_that_keeps_its_slo_runs_to_the_end(tmp_path):
    with ToyServer() as srv:
        plan = _plan(srv.url)
        plan.duration_s = 7.0
        res = measure_load(plan, tmp_path, min_requests=10, early_stop=EarlyStop(SLO, 7.0, in_flight_max=4))
    assert res["stopped_early"] is None and res["load"]["stopped_at"] is None
    assert res["measured_s"] == 7.0 and res["figures"]["rps"] == pytest.approx(res["figures"]["requests"] / 7.0, rel=1e-3)


# -- the open model (arrivals on a schedule) ------------------------------------------------------------
RATE = 60.0


def _open_plan(url: str, **kw) -> LoadPlan:
    kw = {"warmup_s": 1.0, "duration_s": 20.0, "drain_s": 5.0, **kw}
    return LoadPlan(base_url=url, workload="tests.measure.workloads:PING", mode="open", rate=RATE,
                    seats=[["pinger", None]] * 4, **kw)


def _open_stop(slo: dict, plan: LoadPlan) -> EarlyStop:
    # as measure_step builds it for the open model: the sessions in flight, every planned arrival
    return EarlyStop(slo, plan.duration_s, in_flight_max=len(plan.seats), planned_total=plan.rate * plan.duration_s)


def test_the_open_model_never_estimates_fewer_requests_than_its_schedule_plans():
    stop = EarlyStop(SLO, 20.0, in_flight_max=4, planned_total=60.0 * 20.0)
    stop.add({"a": [1.0] * 40}, 0)  # an overloaded server: few finished, the rest waiting in its backlog
    assert stop.expected_total(5.0) == 1200.0
    stop.add({"a": [1.0] * 996}, 0)
    assert stop.expected_total(5.0) == pytest.approx((1036 + 4) / 5.0 * 20.0)


@pytest.mark.parametrize("processes", [1, 2], ids=["local", "master+2 workers"])
def test_an_open_window_whose_slo_is_lost_ends_early_and_no_arrival_starts_after(tmp_path, processes):
    extra = {"processes": 2, "master_port": free_port()} if processes > 1 else {}
    t = time.monotonic()
    with ToyServer() as srv:
        plan = _open_plan(srv.url, **extra)
        res = measure_load(plan, tmp_path, min_requests=10**9, early_stop=_open_stop(IMPOSSIBLE, plan))
    took = time.monotonic() - t
    stopped, load = res["stopped_early"], res["load"]
    assert stopped and "ping" in stopped["reason"], stopped
    assert 5.0 <= stopped["at_s"] < 9.0 and took < 19.0, (stopped, took)
    assert load["end"] == pytest.approx(load["stopped_at"]) and res["measured_s"] == stopped["at_s"]
    fig = res["figures"]
    assert fig["rps"] == pytest.approx(fig["requests"] / res["measured_s"], rel=1e-3)
    # valid: "too few requests" is waived for a step cut short; the server kept up (nothing unserved)
    assert res["validity"].valid, res["validity"]
    # An arrival left unserved by the stop would be an error each (the queue after a stop is many);
    # a busy machine (the suite runs two tests at once) may time one request out on the toy server.
    assert fig["errors"] <= max(1, 0.01 * fig["requests"]), fig
    df = pd.read_parquet(tmp_path / "samples.parquet")
    measured = df[df["phase"] == "measure"]
    # the schedule ended at the stop: no arrival was due after it, none was sent after it
    assert measured["intended_start_s"].max() < load["stopped_at"] + 0.1
    assert df["start_s"].max() < load["stopped_at"] + 0.1
    # it kept its rate until then (every process's schedule ran, none ended before the stop)
    assert len(measured) >= 0.7 * RATE * stopped["at_s"], (len(measured), stopped)
    assert sorted(df["worker"].unique()) == ([0] if processes == 1 else [1, 2])
    arrivals = sum(w["stats"]["arrivals"] for w in load["workers"])
    assert arrivals < RATE * (plan.warmup_s + stopped["at_s"] + 1.0), arrivals


def test_an_open_window_that_keeps_its_slo_runs_to_the_end(tmp_path):
    with ToyServer() as srv:
        plan = _open_plan(srv.url, duration_s=7.0)
        res = measure_load(plan, tmp_path, min_requests=100, early_stop=_open_stop(SLO, plan))
    assert res["stopped_early"] is None and res["load"]["stopped_at"] is None
    assert res["measured_s"] == 7.0 and res["validity"].valid, res["validity"]
    fig = res["figures"]
    assert fig["rps"] == pytest.approx(fig["requests"] / 7.0, rel=1e-3)
    assert fig["requests"] >= 0.7 * RATE * 7.0, fig["requests"]
    measured = pd.read_parquet(tmp_path / "samples.parquet").query("phase == 'measure'")
    assert measured["intended_start_s"].max() > res["load"]["end"] - 1.0  # arrivals until the planned end


class SlowServer:
    """Answers GET after ``service_s`` (a thread per request) and notes when each request came in."""

    def __init__(self, service_s: float) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.received.append(time.time())
                time.sleep(service_s)
                body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SlowServer":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_overloaded_open_window_stops_and_its_backlog_is_not_started(tmp_path):
    """2 sessions, 0.2 s per request, 40 arrivals/s: a backlog of hundreds when the SLO is lost.
    What is in flight finishes; what waits is not sent after the stop: unserved, an error with the
    time it waited (nothing disappears)."""
    with SlowServer(0.2) as srv:
        plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:PING", mode="open", rate=40.0,
                        seats=[["pinger", None]] * 2, warmup_s=1.0, duration_s=20.0, drain_s=5.0)
        res = measure_load(plan, tmp_path, min_requests=10**9, early_stop=_open_stop(SLO, plan))
        received = list(srv.received)
    stopped, load = res["stopped_early"], res["load"]
    assert stopped and 5.0 <= stopped["at_s"] < 9.0, stopped
    assert res["validity"].valid, res["validity"]
    # the server got no request after the stop (those in flight had been sent before it)
    assert max(received) < load["stopped_at"] + 0.1, (max(received), load["stopped_at"])
    stats = load["workers"][0]["stats"]
    assert stats["backlog_max"] > 50 and stats["unserved_at_stop"] > 50, stats
    df = pd.read_parquet(tmp_path / "samples.parquet")
    served = df[df["status"] != 0]
    unserved = df[(df["status"] == 0) & (df["outcome"] == "error")]
    assert served["start_s"].max() < load["stopped_at"] + 0.1
    assert len(unserved) == stats["unserved"] == stats["unserved_at_stop"]
    # each recorded with the time it had waited, at the stop
    assert (unserved["intended_start_s"] < load["stopped_at"]).all()
    waited = unserved["latency_ms"] / 1000.0 - (load["stopped_at"] - unserved["intended_start_s"])
    assert waited.between(-0.01, 1.0).all(), waited.describe()
    # the figures carry them: the stopped window's errors are its backlog
    assert res["figures"]["errors"] == len(unserved[unserved["phase"] == "measure"])


# -- a real step: the app on SQLite --------------------------------------------------------------------
def test_real_steps_on_sqlite_stop_only_when_the_slo_is_lost(tmp_path):
    from loadgen.capacity.step import measure_step
    from loadgen.sut.launcher import SystemUnderTest
    from profiles.schema import Profile
    from tests.measure.contract import check_step

    def profile(slo: dict) -> Profile:
        return Profile.model_validate({"name": "sq", "database": {"engine": "sqlite"}, "architecture": {"workers": 1},
                                       "workload": {"operators": 12, "think_time_s": [0.0, 0.05]}, "slo": slo})

    with SystemUnderTest(profile(IMPOSSIBLE)) as sut:
        sut.seed(1000, progress=False)
        sut.start_app()

        def step(slo: dict, duration_s: float, name: str, **kw) -> dict:
            return measure_step(profile(slo), base_url=sut.base_url, db_url=sut.db_url, customers=1000,
                                duration_s=duration_s, warmup_s=2.0, out_dir=tmp_path / name,
                                app_pids=lambda: sut.app_pids()[:1], health=sut.healthy, **kw)

        t = time.monotonic()
        lost = step(IMPOSSIBLE, 30.0, "lost", min_requests=10**9)
        took = time.monotonic() - t
        # no extension: this step is about the lost-SLO rule leaving a kept window whole
        kept = step({"p95_ms": 60000, "p99_ms": 60000, "error_rate": 0.5}, 10.0, "kept", min_requests=100,
                    max_extension=0.0)

    check_step(lost)
    # decided 7.5 s into the 30 s window (a quarter of it), ended at once
    assert lost["stopped_early"] and 7.5 <= lost["stopped_early"]["at_s"] < 10.0, lost["stopped_early"]
    assert took < 20.0, took
    assert lost["early_stopped"] is True and lost["early_stop"] is True
    assert lost["duration_s"] == 30.0 and lost["measured_s"] == lost["stopped_early"]["at_s"]
    assert lost["rps"] == pytest.approx(lost["requests"] / lost["measured_s"], rel=1e-3)
    # failed, for the reason it was stopped; valid although far fewer than min_requests
    assert lost["valid"] and lost["passed"] is False, lost["invalid_reason"]
    assert lost["fail_reason"].startswith("stopped early at ") and "can no longer be" in lost["fail_reason"]
    assert lost["audit"]["ok"]
    assert json.loads((tmp_path / "lost" / "step.json").read_text())["stopped_early"] == lost["stopped_early"]

    check_step(kept)
    assert kept["stopped_early"] is None and kept["early_stopped"] is False and kept["early_stop"] is True
    assert kept["measured_s"] == kept["duration_s"] == 10.0
    assert kept["valid"] and kept["passed"], (kept["invalid_reason"], kept["slo_failures"])
