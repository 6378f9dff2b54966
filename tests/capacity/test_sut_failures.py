"""Running out of memory or losing a worker is the system's answer at that size: the step FAILS
(limiting factor ``memory`` / ``crash``), it is not invalid. Real app, real kernel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from loadgen.capacity.step import measure_on
from loadgen.sut.launcher import SystemUnderTest
from profiles.schema import Profile
from reports.analysis.limiting import limiting_factor
from tests.dbs import in_ci

WORKLOAD = {"operators": 6, "think_time_s": [0.0, 0.05], "mix": {"sales": 0.5, "clerk": 0.5}}
SLO = {"p95_ms": 5000, "p99_ms": 10000}

# Allocates and touches 16 MiB every 20 ms until the kernel kills it.
HOG = "import time\nb = []\nwhile True:\n    b.append(b'x' * (16 << 20))\n    time.sleep(0.02)\n"


def _need_cgroups() -> None:
    from loadgen.sut import cgroups as cg

    if os.geteuid() != 0 or cg.detect() is None:
        reason = "needs root and a cgroup hierarchy"
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)


def _once_measuring(action):
    done = []

    def on_progress(msg: dict) -> None:
        if msg.get("phase") == "measure" and not done:
            done.append(action())
    return on_progress, done


def test_an_oom_kill_in_the_cgroup_fails_the_step_with_memory(tmp_path):
    _need_cgroups()
    profile = Profile.model_validate({"name": "oom", "hardware": {"memory": "320MiB"},
                                      "database": {"engine": "sqlite"}, "architecture": {"workers": 1},
                                      "workload": WORKLOAD, "slo": SLO})
    with SystemUnderTest(profile) as sut:
        sut.seed(1000)
        hogs: list[subprocess.Popen] = []

        def inject():  # a memory hog inside the system's own cgroup: the real OOM killer must act
            hogs.append(subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=sut.cgroup.preexec()))
            return True

        on_progress, done = _once_measuring(inject)
        try:
            step = measure_on(sut, profile, customers=1000, operators=None, rate=None, duration_s=6.0,
                              warmup_s=2.0, out_dir=tmp_path / "step", unconstrained=False, t_start=time.time(),
                              on_progress=on_progress, min_requests=50, early_stop=False)
        finally:
            for h in hogs:
                h.kill()
                h.wait()
    assert done and hogs[0].returncode == -signal.SIGKILL  # killed by the kernel, not by us first
    assert step["sut_events"]["oom_kills"] >= 1, step["sut_events"]
    assert step["valid"], step["invalid_reason"]
    assert not step["passed"] and "out of memory" in step["fail_reason"], step["fail_reason"]
    lf = limiting_factor(step, step["profile"])
    assert lf["resource"] == "memory" and lf["saturated"], lf
    res = step["resources"]
    assert res["memory_allowance_bytes"] == 320 * 2**20 and res["memory_limit_bytes"] == 320 * 2**20
    # the cgroup's charge, read every second: at least the app's own (~85 MiB; the hog's peak falls
    # between samples, and since the Argon2 memory fix the app no longer holds 100 MiB of hash blocks)
    import pandas as pd

    charge = pd.read_csv(tmp_path / "step" / "resources.csv")["cg_memory_usage_bytes"]
    assert charge.max() > 64 * 2**20 and res["memory_usage_bytes_peak"] is not None
    assert res["cpu_allowance_source"] == "machine"  # a memory-only profile: no quota, no cpuset


def test_a_killed_uvicorn_worker_fails_the_step_with_crash(tmp_path):
    profile = Profile.model_validate({"name": "crash", "database": {"engine": "sqlite"},
                                      "architecture": {"workers": 2}, "workload": WORKLOAD, "slo": SLO})
    with SystemUnderTest(profile) as sut:
        sut.seed(1000)
        killed: list[int] = []

        def kill_a_worker():
            supervisor = sut.app_pids()[0]
            import psutil

            worker = next(c.pid for c in psutil.Process(supervisor).children()
                          if "resource_tracker" not in " ".join(c.cmdline()))
            os.kill(worker, signal.SIGKILL)
            killed.append(worker)
            return worker

        on_progress, done = _once_measuring(kill_a_worker)
        step = measure_on(sut, profile, customers=1000, operators=None, rate=None, duration_s=5.0, warmup_s=2.0,
                          out_dir=tmp_path / "step", unconstrained=False, t_start=time.time(),
                          on_progress=on_progress, min_requests=50, early_stop=False)
    assert killed, "no worker was killed"
    restarts = step["sut_events"]["worker_restarts"]
    assert [r["pid"] for r in restarts] == killed, step["sut_events"]
    assert step["valid"], step["invalid_reason"]
    assert not step["passed"] and "crash: 1 app worker(s) died" in step["fail_reason"], step["fail_reason"]
    lf = limiting_factor(step, step["profile"])
    assert lf["resource"] == "crash", lf


def test_an_oom_kill_while_a_level_is_prepared_makes_the_step_invalid_not_the_sweep_fail(tmp_path, monkeypatch):
    """The OOM killer can end a level's preparation (seen: MariaDB in 512 MiB killed while the seeder
    grew the book to 100,000 customers, then the app could not start): the level was not measured,
    so the step is invalid — measured again — instead of an error that ends the sweep. Without an
    OOM kill the same error stays an error. (The preparation's failure is provoked; the OOM kill is
    the kernel's, in the system's real cgroup.)"""
    from loadgen.capacity.levels import LevelledSystem
    from loadgen.errors import JxcError

    _need_cgroups()
    profile = Profile.model_validate({"name": "prep-oom", "hardware": {"memory": "320MiB"},
                                      "database": {"engine": "sqlite"}, "architecture": {"workers": 1},
                                      "workload": WORKLOAD, "slo": SLO})
    with LevelledSystem(profile) as system:
        system.move_to(200)
        sut = system._sut
        real_move_to = system.move_to

        def killed_while_growing(customers):
            hog = subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=sut.cgroup.preexec())
            assert hog.wait(timeout=60) == -signal.SIGKILL  # the kernel's OOM killer, not us
            raise JxcError("the app did not answer /healthz within 90 s: database not ready at startup", exit_code=1)

        monkeypatch.setattr(system, "move_to", killed_while_growing)
        step = system(profile, customers=400, duration_s=5, warmup_s=1, out_dir=tmp_path / "s400")
        assert step["valid"] is False and step["requests"] == 0, step
        assert "could not be prepared at 400 customers: the kernel's OOM killer killed" in step["invalid_reason"]
        assert step["sut_events"]["oom_kills"] >= 1 and (tmp_path / "s400" / "step.json").is_file()

        def refused(customers):
            raise JxcError("cannot go back to 100 customers: no snapshot at or below it", exit_code=1)

        monkeypatch.setattr(system, "move_to", refused)
        with pytest.raises(JxcError, match="no snapshot"):
            system(profile, customers=100, duration_s=5, warmup_s=1, out_dir=tmp_path / "s100")
        monkeypatch.setattr(system, "move_to", real_move_to)
