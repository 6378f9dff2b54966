"""Run a load plan in its own process and measure it: samples, percentiles, resources, validity.

The Locust engine runs as ``python -m loadgen.workload.engine run`` so that this process (the step,
the sweep, a test) never imports gevent's monkey-patching, and so that the load generator is a
process tree of its own whose CPU the sampler can watch. Progress arrives as JSON lines on the
engine's stdout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from loadgen.measure.percentiles import summarise_file
from loadgen.measure.sampler import ResourceSampler, summarise_resources
from loadgen.measure.validity import CPU_LIMIT_PCT, MIN_REQUESTS, Validity, judge
from loadgen.workload.plan import LoadPlan

ProgressFn = Callable[[dict], None]


class LoadFailed(RuntimeError):
    """The load generator itself failed (not the system under test)."""


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
                                text=True, start_new_session=True, cwd=os.getcwd())
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
    return out


def measure_load(plan: LoadPlan, out_dir: Path, *, sut_groups: dict[str, Iterable[int] | Callable] | None = None,
                 db_size: Callable[[], int | None] | None = None, on_progress: ProgressFn | None = None,
                 health: Callable[[], bool] | None = None, min_requests: int = MIN_REQUESTS,
                 cpu_limit_pct: float = CPU_LIMIT_PCT, sample_interval_s: float = 1.0) -> dict[str, Any]:
    """Run the load while sampling resources; return figures, resources and validity."""
    engine_pid: list[int] = []
    groups: dict[str, Any] = dict(sut_groups or {})
    groups["loadgen"] = lambda: engine_pid
    sampler = ResourceSampler(groups, out_csv=out_dir / "resources.csv", interval_s=sample_interval_s,
                              db_size=db_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    sampler.start()
    try:
        load = run_engine(plan, out_dir, on_progress=on_progress, on_start=engine_pid.append)
    finally:
        # The engine has exited by now: its root vanishing is not a crash of the system under test.
        sampler.groups["loadgen"] = lambda: []
        sampler.stop()
    figures = summarise_file(out_dir / "samples.parquet", plan.duration_s)
    window = sampler.window(load["measure_start"], load["end"])
    resources = summarise_resources(window)
    crashed = None
    sut_crashes = [c for c in sampler.crashes if c.group != "loadgen"]
    if sut_crashes:
        c = sut_crashes[0]
        crashed = f"{c.group} process {c.pid} vanished at t={c.at_s - load['t0']:.1f} s"
    elif health is not None and not health():
        crashed = "health check failed after the load"
    sessions = sum((w.get("stats") or {}).get("sessions", 0) for w in load.get("workers", []))
    no_login = None
    if plan.seats and sessions == 0:
        failures = sum((w.get("stats") or {}).get("login_failures", 0) for w in load.get("workers", []))
        no_login = f"no operator could log in ({failures} login failures; see loadgen.log)"
    validity = judge(measured_requests=figures["requests"], loadgen_cpu=loadgen_series(load, "cpu"),
                     loadgen_lag=loadgen_series(load, "lag"),
                     crashed=crashed, min_requests=min_requests, cpu_limit_pct=cpu_limit_pct)
    if validity.valid is False and no_login and not crashed:
        validity = Validity(False, no_login)
    med = lambda xs: round(float(sorted(xs)[len(xs) // 2]), 2) if xs else None  # noqa: E731
    gen = {"cpu_median_pct": {k: med(v) for k, v in loadgen_series(load, "cpu").items()},
           "lag_median_ms": {k: med(v) for k, v in loadgen_series(load, "lag").items()}}
    return {"figures": figures, "resources": resources, "validity": validity, "load": load, "loadgen": gen}


__all__ = ["LoadFailed", "loadgen_series", "measure_load", "run_engine"]
