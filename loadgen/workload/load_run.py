"""Run a load plan in its own process and measure it: samples, percentiles, resources, validity.

The Locust engine runs as ``python -m loadgen.workload.engine run`` so that this process (the step,
the sweep, a test) never imports gevent's monkey-patching, and so that the load generator is a
process tree of its own whose CPU the sampler can watch. Progress arrives as JSON lines on the
engine's stdout.

Stopping early (:class:`EarlyStop`): once a second the engine reports what finished in the measured
window; when the SLO can no longer be met (:func:`loadgen.measure.slo.early_stop_reason`), this process
sends the engine SIGUSR1 and the window ends there. A step that is lost anyway then costs seconds,
not the whole window.

Extending the window: with ``cap_s`` above the planned window, the engine is given the cap as its
window; from the planned length on, :class:`EarlyStop` ends it (SIGUSR1 again) as soon as every
verdict that can be reached is reached (:func:`loadgen.measure.slo.pending_judgements`), or lets it run
to the cap. Before the planned length only the lost-SLO rule may end it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from loadgen import lifeline
from loadgen.measure.percentiles import summarise_file
from loadgen.measure.sampler import ResourceSampler, summarise_resources
from loadgen.measure.validity import (CPU_LIMIT_PCT, MIN_REQUESTS, Validity, closed_loop_problem, judge,
                                      littles_law, machine_busy, max_foreign_cpu_pct)
from loadgen.measure.slo import EXTENSION_CONFIDENCE, early_stop_reason, pending_judgements, slo_thresholds
from loadgen.workload.plan import LoadPlan

ProgressFn = Callable[[dict], None]


class LoadFailed(RuntimeError):
    """The load generator itself failed (not the system under test)."""


class EarlyStop:
    """Accumulates the measured window as the engine reports it and says when its SLO is lost.

    ``slo``: what :func:`loadgen.measure.slo.early_stop_reason` reads (``p95_ms``, ``p99_ms``,
    ``error_rate``, ``operations``). No decision before ``max(min_s, min_fraction x window)``
    seconds of the window: a slow first second (cold caches, connections opening) must not end a
    step. The window's final request count is estimated from the rate so far, counting as started
    the requests in flight (at most ``in_flight_max``, one per closed-model user): they are not
    reported until they finish, yet belong to the window, and on a slow server they are many. A
    larger estimate only makes a stop less likely.

    ``planned_total`` (open model): the arrivals the schedule plans for the window (rate x window);
    the estimate is never below it. An overloaded open-model server holds arrivals in its backlog,
    unreported and not bounded by the sessions in flight, yet the window holds them all.

    ``cap_s`` (> ``duration_s``): the window may be extended up to it (the engine's plan runs to the
    cap); from ``duration_s`` on, the window ends once nothing reachable is pending (the first look
    with 95 % intervals, later ones with ``EXTENSION_CONFIDENCE``). ``lost_rule``:
    False measures at least the planned window whatever happens (``--no-early-stop``). ``kind`` says
    what ended the window: ``"lost"`` (the SLO, before the planned end) or ``"conclusive"``.
    """

    def __init__(self, slo: Any, duration_s: float, *, in_flight_max: int = 0, planned_total: float = 0.0,
                 min_fraction: float = 0.25, min_s: float = 5.0, slack: float = 0.10,
                 cap_s: float | None = None, lost_rule: bool = True) -> None:
        self.slo = slo
        self.duration_s = float(duration_s)
        self.cap_s = max(self.duration_s, float(cap_s or 0.0))
        self.lost_rule = lost_rule
        self.kind: str | None = None
        self.pending: list[str] = []
        self.looks = 0  # decisions made from the planned end on
        self.lag_s = 0.0  # how far behind the clock the last window report was
        self.in_flight: int | None = None
        self.in_flight_max = in_flight_max
        self.planned_total = float(planned_total or 0.0)
        self.min_elapsed_s = max(min_s, min_fraction * self.duration_s)
        self.slack = slack
        # Per operation, chunks of float arrays: a long window holds millions of latencies and the
        # rule counts the slow ones every second, so they are kept as numpy, never as Python floats.
        self._chunks: dict[str, list[np.ndarray]] = {}
        self.requests = 0
        self.errors = 0

    def add(self, latencies_by_operation: dict[str, list[float]], errors: int) -> None:
        for op, lat in latencies_by_operation.items():
            if lat:
                self._chunks.setdefault(op, []).append(np.asarray(lat, dtype=float))
                self.requests += len(lat)
        self.errors += int(errors)

    def latencies(self) -> dict[str, np.ndarray]:
        """Everything so far, one array per operation (chunks merged once, then appended to)."""
        out = {}
        for op, chunks in self._chunks.items():
            if len(chunks) > 1:
                chunks[:] = [np.concatenate(chunks)]
            out[op] = chunks[0]
        return out

    def expected_total(self, at_s: float) -> float:
        """Requests the whole window will hold, judging by the first ``at_s`` seconds."""
        if at_s <= 0:
            return 0.0
        return max((self.requests + self.in_flight_max) / at_s * self.duration_s, self.planned_total)

    def decide(self, at_s: float) -> str | None:
        """Why the window should end ``at_s`` seconds into it, or None (yet): the SLO is lost
        (before the planned end), or, within an extension, every reachable verdict is reached."""
        if at_s < self.duration_s:
            if not self.lost_rule or at_s < self.min_elapsed_s:
                return None
            reason = early_stop_reason(self.latencies(), errors=self.errors, slo=self.slo,
                                       expected_total=self.expected_total(at_s), slack=self.slack)
            if reason:
                self.kind = "lost"
            return reason
        if at_s >= self.cap_s or self.cap_s <= self.duration_s:
            return None  # the window ends by itself
        return self._conclusive(at_s)

    def _conclusive(self, at_s: float) -> str | None:
        budget = slo_thresholds(self.slo)["error_rate"]
        if budget is not None and self.requests and self.errors / self.requests > budget:
            self.kind = "conclusive"
            return f"error rate {self.errors / self.requests:.2%} > {budget:.2%}: the step fails, nothing to wait for"
        # The first look (at the planned end) at 95 %, later ones at EXTENSION_CONFIDENCE: many looks
        # must not add up to a lucky pass (bench/verdict_calibration.py).
        confidence = 0.95 if self.looks == 0 else EXTENSION_CONFIDENCE
        self.looks += 1
        # Not in the tally yet: the requests in flight (as the engine counted them; at most one per
        # seat), and those finished since the tally's last update (``lag_s``: the master hears its
        # workers up to a second late).
        # (open model: the engine's count includes the queued arrivals, which the window holds too)
        in_flight = self.in_flight_max if self.in_flight is None else self.in_flight
        unseen = in_flight + math.ceil(self.requests / max(at_s, 1e-9) * self.lag_s)
        self.pending = pending_judgements(self.latencies(), slo=self.slo, at_s=at_s, cap_s=self.cap_s,
                                          confidence=confidence, unseen=unseen)
        if self.pending:
            return None
        self.kind = "conclusive"
        return "every operation verdict that can be reached is reached"

    def feed(self, window: dict) -> str | None:
        """One engine progress line's ``window`` part: add it, then decide."""
        self.add(window.get("lat") or {}, window.get("errors") or 0)
        self.lag_s = max(0.0, float(window.get("lag_s") or 0.0))
        self.in_flight = window.get("in_flight")  # operations in flight as the engine counted them
        return self.decide(float(window["at_s"]))


def run_engine(plan: LoadPlan, out_dir: Path, *, on_progress: ProgressFn | None = None,
               on_start: Callable[[int], None] | None = None, timeout_s: float | None = None) -> dict:
    """Run the plan in a child process; return its ``load.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_path = out_dir / "plan.json"
    plan.save(plan_path)
    timeout_s = timeout_s or (plan.warmup_s + plan.duration_s + plan.drain_s + 120.0)
    log_path = out_dir / "loadgen.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "loadgen.workload.engine", "run", str(plan_path),
                                 str(out_dir), "--progress"], stdout=subprocess.PIPE, stderr=log,
                                text=True, start_new_session=True, cwd=os.getcwd(),
                                preexec_fn=lifeline.preexec())  # dies with us, even by SIGKILL
        if on_start:
            on_start(proc.pid)
        error: list[str] = []
        timer = threading.Timer(timeout_s, lambda: _kill_tree(proc))
        timer.start()
        try:
            for line in proc.stdout:  # type: ignore[union-attr]
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "error" in msg:
                    error.append(msg["error"])
                elif on_progress:
                    on_progress(msg)
            rc = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                _kill_tree(proc)
    if rc != 0 or not (out_dir / "load.json").exists():
        tail = log_path.read_text()[-2000:]
        raise LoadFailed(f"load generator failed (exit {rc}): {'; '.join(error) or tail.strip() or 'no output'}")
    return json.loads((out_dir / "load.json").read_text())


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def loadgen_series(load: dict, key: str = "cpu") -> dict[str, list[float]]:
    """Per load-generator process, its per-second ``cpu`` % or event-loop ``lag`` (ms) inside the
    measured window."""
    start, end = load["measure_start"], load["end"]
    out: dict[str, list[float]] = {}
    for w in load.get("workers", []):
        vals = [v for ts, v in w.get(key, []) if start < ts <= end + 0.5]
        out[f"worker {w.get('index')} (pid {w.get('pid')})"] = vals
    master = load.get("master")
    if master and master.get(key):
        # The master of a distributed run tallies every worker's samples: it saturates too.
        out[f"master (pid {master.get('pid')})"] = [v for ts, v in master[key] if start < ts <= end + 0.5]
    return out


def sut_events(sampler: ResourceSampler, t0: float) -> dict[str, Any]:
    """What the system under test lost during the step (warm-up included): processes the kernel's
    OOM killer took in the run's cgroup (``oom_kills``, from its counter), app workers that died
    (``worker_restarts``: a direct child of the uvicorn supervisor that vanished), and roots that
    vanished (``vanished``)."""
    ooms = [r["cg_oom_kill"] for r in sampler.rows if r.get("cg_oom_kill") is not None]
    return {
        "oom_kills": int(max(ooms) - min(ooms)) if ooms else 0,
        "worker_restarts": [{"group": c.group, "pid": c.pid, "at_s": round(c.at_s - t0, 1)} for c in sampler.restarts],
        "vanished": [{"group": c.group, "pid": c.pid, "at_s": round(c.at_s - t0, 1)}
                     for c in sampler.crashes if c.group != "loadgen"],
    }


def sut_failures(events: dict[str, Any]) -> list[str]:
    """The step fails (not invalid) when the system ran out of memory or lost a worker."""
    out = []
    if events.get("oom_kills"):
        out.append(f"out of memory: the kernel's OOM killer killed {events['oom_kills']} process(es) of the "
                   "system under test")
    restarts = events.get("worker_restarts") or []
    if restarts:
        first = restarts[0]
        out.append(f"crash: {len(restarts)} app worker(s) died during the step (first: pid {first['pid']} "
                   f"at t={first['at_s']:.1f} s)")
    return out


def _stopper(early_stop: EarlyStop, engine_pid: list[int], on_progress: ProgressFn | None,
             verdict: dict) -> ProgressFn:
    """A progress callback that feeds ``early_stop`` and, on its first reason, stops the engine
    (recording the reason in ``verdict``). The caller's ``on_progress`` gets the line without its
    bulky ``window`` part."""

    def on_line(msg: dict) -> None:
        window = msg.pop("window", None)
        if window is not None and "reason" not in verdict:
            reason = early_stop.feed(window)
            if reason:
                verdict.update(reason=reason, decided_at_s=window["at_s"], kind=early_stop.kind)
                # the engine only, not its workers; USR1: lost (backlog dropped), USR2: a normal end
                sig = signal.SIGUSR1 if early_stop.kind == "lost" else signal.SIGUSR2
                try:
                    os.kill(engine_pid[0], sig)
                except ProcessLookupError:
                    pass  # it has just ended by itself
        if on_progress:
            on_progress(msg)
    return on_line


def measure_load(plan: LoadPlan, out_dir: Path, *, sut_groups: dict[str, Iterable[int] | Callable] | None = None,
                 db_size: Callable[[], int | None] | None = None, on_progress: ProgressFn | None = None,
                 health: Callable[[], bool] | None = None, min_requests: int = MIN_REQUESTS,
                 cpu_limit_pct: float = CPU_LIMIT_PCT, sample_interval_s: float = 1.0,
                 early_stop: EarlyStop | None = None, cgroup_stats: Callable[[], dict] | None = None,
                 max_foreign_cpu: float | str | None = None,
                 breakdown: dict[str, Iterable[int] | Callable] | None = None) -> dict[str, Any]:
    """Run the load while sampling resources; return figures, resources and validity.

    With ``early_stop`` (closed or open model) the window ends as soon as it says the SLO is lost;
    ``stopped_early`` is then ``{"at_s", "reason"}`` and the figures cover the real window,
    ``measured_s`` long. In the open model no arrival starts after the stop: what is in flight
    finishes, the backlog is recorded as unserved (errors with the time they waited). With an
    ``early_stop`` whose ``cap_s`` is above its planned window, the engine's window is the cap and
    ``window`` says how it ended (``planned``, ``lost``, ``conclusive`` or ``cap``) and the
    extension it cost (``extension_s``).

    ``cgroup_stats``: the run's cgroup counters (OOM kills, throttling, memory), read every tick.
    ``max_foreign_cpu``: the busy-machine threshold (:func:`loadgen.measure.validity.max_foreign_cpu_pct`).
    ``breakdown``: the app's parts (microservices) sampled apart too (``resources.services``).
    An OOM kill or a dead app worker makes the step fail (``sut_failures``), not invalid.
    """
    foreign_limit = max_foreign_cpu_pct(max_foreign_cpu)
    engine_pid: list[int] = []
    groups: dict[str, Any] = dict(sut_groups or {})
    groups["loadgen"] = lambda: engine_pid
    sampler = ResourceSampler(groups, out_csv=out_dir / "resources.csv", interval_s=sample_interval_s,
                              db_size=db_size, watch_children=frozenset({"app"}), cgroup_stats=cgroup_stats,
                              breakdown=dict(breakdown or {}))
    out_dir.mkdir(parents=True, exist_ok=True)
    verdict: dict[str, Any] = {}
    planned_s = plan.duration_s
    if early_stop is not None:
        planned_s = early_stop.duration_s
        plan = replace(plan, report_window=True, duration_s=early_stop.cap_s, planned_s=planned_s)
        on_progress = _stopper(early_stop, engine_pid, on_progress, verdict)
    sampler.start()
    try:
        load = run_engine(plan, out_dir, on_progress=on_progress, on_start=engine_pid.append)
    finally:
        # The engine has exited by now: its root vanishing is not a crash of the system under test.
        sampler.groups["loadgen"] = lambda: []
        sampler.stop()
    # The engine honours a stop only inside the window (load.json's stopped_at); a stop that came
    # too late left the planned window whole.
    stopped_early = None
    measured_s = plan.duration_s
    ended = "planned" if plan.duration_s <= planned_s else "cap"
    if verdict and (load.get("stopped_at") is not None or load.get("ended_at") is not None):
        measured_s = load["end"] - load["measure_start"]
        ended = verdict.get("kind") or "lost"
        if ended == "lost":
            stopped_early = {"at_s": round(measured_s, 3), "reason": verdict["reason"]}
    window = {"planned_s": planned_s, "cap_s": plan.duration_s, "measured_s": round(measured_s, 3),
              "extension_s": round(max(0.0, measured_s - planned_s), 3), "ended": ended,
              "end_reason": verdict.get("reason") if ended == "conclusive" else None,
              "pending_at_end": list(early_stop.pending) if early_stop is not None and ended == "cap" else []}
    figures = summarise_file(out_dir / "samples.parquet", measured_s)
    res_window = sampler.window(load["measure_start"], load["end"])
    resources = summarise_resources(res_window)
    crashed = None
    events = sut_events(sampler, load["t0"])
    failures = sut_failures(events)
    sut_crashes = [c for c in sampler.crashes if c.group != "loadgen"]
    if failures:
        pass  # the system's answer (out of memory, a dead worker): a failed step, not an invalid one
    elif sut_crashes:
        c = sut_crashes[0]
        crashed = f"{c.group} process {c.pid} vanished at t={c.at_s - load['t0']:.1f} s"
    elif health is not None and not health():
        crashed = "health check failed after the load"
    loop = closed_loop_figures(plan, load, measured_s)
    busy = machine_busy([r.get("foreign_cpu_pct") for r in res_window], limit_pct=foreign_limit,
                        offender=sampler.foreign_offender(res_window), steal=[r.get("steal_pct") for r in res_window])
    no_login = None
    if (plan.seats or plan.locustfile) and loop["operators_logged_in"] == 0:
        no_login = f"no operator could log in ({loop['login_failures']} login failures; see loadgen.log)"
    problem = None
    if plan.mode == "closed" and plan.seats:
        problem = closed_loop_problem(loop["littles_law"], planned=len(plan.seats), active=loop["operators_active"],
                                      login_failures=loop["login_failures"])
    elif plan.locustfile:
        # A plain locustfile's users: the planned number must have started (its think is its own
        # wait_time, unknown here: no Little's-law check).
        problem = closed_loop_problem(None, planned=loop["operators_planned"], active=loop["operators_logged_in"],
                                      login_failures=loop["login_failures"])
    validity = judge(measured_requests=figures["requests"], loadgen_cpu=loadgen_series(load, "cpu"),
                     loadgen_lag=loadgen_series(load, "lag"),
                     crashed=crashed, min_requests=min_requests, cpu_limit_pct=cpu_limit_pct,
                     stopped_early=stopped_early is not None, closed_loop=problem, busy=busy)
    if validity.valid is False and no_login and not crashed:
        validity = Validity(False, no_login)
    med = lambda xs: round(float(sorted(xs)[len(xs) // 2]), 2) if xs else None  # noqa: E731
    p90 = lambda xs: round(float(np.percentile(xs, 90, method="lower")), 2) if xs else None  # noqa: E731
    cpu_s, lag_s = loadgen_series(load, "cpu"), loadgen_series(load, "lag")
    gen = {"cpu_median_pct": {k: med(v) for k, v in cpu_s.items()},
           "lag_median_ms": {k: med(v) for k, v in lag_s.items()},
           "cpu_p90_pct": {k: p90(v) for k, v in cpu_s.items()},
           "lag_p90_ms": {k: p90(v) for k, v in lag_s.items()}}
    offender = sampler.foreign_offender(res_window)
    machine = {"foreign_cpu_pct_p90": resources.get("foreign_cpu_pct_p90"), "max_foreign_cpu_pct": foreign_limit,
               "top_foreign": ({"pid": offender[0], "name": offender[1], "cpu_pct": offender[2]} if offender else None),
               "foreign_processes": [{"pid": p, "name": n, "cpu_pct": c} for p, n, c in sampler.foreign_offenders(res_window, 10)],
               "iowait_pct": resources.get("iowait_pct"), "steal_pct": resources.get("steal_pct")}
    return {"figures": figures, "resources": resources, "validity": validity, "load": load, "loadgen": gen,
            "stopped_early": stopped_early, "measured_s": round(measured_s, 3), "window": window,
            "sut_events": events, "sut_failures": failures, "machine_load": machine, **loop}


def closed_loop_figures(plan: LoadPlan, load: dict, measured_s: float) -> dict[str, Any]:
    """Who really worked, and Little's law (closed model), from the load processes' own counts."""
    stats = [w.get("stats") or {} for w in load.get("workers", [])]

    def total(key: str) -> float:
        return sum(st.get(key, 0) or 0 for st in stats)

    logged_in = int(total("sessions"))
    active = int(total("operators_active")) if plan.mode == "closed" else logged_in
    law = None
    if plan.mode == "closed":
        law = littles_law(active=active, ops=int(total("window_ops")), op_s=total("window_op_s"),
                          thinks=int(total("window_thinks")), think_s=total("window_think_s"),
                          think_planned_s=total("window_think_planned_s"), measured_s=measured_s)
    planned = max(1, int(plan.users)) if plan.locustfile else len(plan.seats)
    return {"operators_planned": planned, "operators_logged_in": logged_in, "operators_active": active,
            "login_failures": int(total("login_failures")), "timed_out_at_end": int(total("timed_out_at_end")),
            "littles_law": law}


__all__ = ["EarlyStop", "LoadFailed", "closed_loop_figures", "loadgen_series", "measure_load", "run_engine"]
