"""A profile with ``architecture: {kind: microservices, replicas: {inventory: 2}}`` runs through
``jxcbench run``: the seeded book is split into the services' databases, the services and the
gateway start under one supervisor, the same workload runs unchanged, the cross-service audit is
the step's books check, and the step's resources carry each service's CPU and memory; every
service process runs inside the profile's cgroup (a memory limit is enough to make one: a CPU quota
would only slow the five processes' start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from profiles.schema import Architecture

REPO = Path(__file__).resolve().parents[2]
PROFILE = """\
name: micro-sqlite
database: {engine: sqlite}
architecture: {kind: microservices, workers: 1, replicas: {inventory: 2}}
workload: {operators: 6, think_time_s: [0.01, 0.05]}
slo: {p95_ms: 5000, p99_ms: 10000, error_rate: 0.05}
"""


def test_replicas_belong_to_microservices_only():
    assert Architecture(kind="microservices", replicas={"inventory": 2}).replicas_of("inventory") == 2
    with pytest.raises(ValueError, match="only for kind microservices"):
        Architecture(kind="monolith", replicas={"inventory": 2})
    with pytest.raises(ValueError):
        Architecture(kind="microservices", replicas={"billing": 2})
    with pytest.raises(ValueError, match="between 1 and 64"):
        Architecture(kind="microservices", replicas={"orders": 0})


@pytest.mark.slow
def test_a_microservices_step_runs_the_same_workload(tmp_path):
    profile = tmp_path / "micro.yaml"
    profile.write_text(PROFILE)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "loadgen.cli", "run", str(profile), "--customers", "200",
                           "--out", str(out), "--duration", "5s", "--warmup", "1s", "--min-requests", "50", "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    step = json.loads((out / "step.json").read_text())
    assert step["requests"] > 50, step
    assert not step.get("books_failed") and "books not consistent" not in json.dumps(step.get("failures", [])), step
    services = step["resources"]["services"]
    assert set(services) == {"customers", "inventory", "orders", "gateway"}
    assert all(s["rss_mb"] and s["rss_mb"] > 10 for s in services.values()), services
    assert sum(s["cpu_pct"] or 0 for s in services.values()) > 0
    system = json.dumps(step)
    assert '"kind": "microservices"' in system and '"inventory": 2' in system


def test_every_service_process_runs_inside_the_profiles_cgroup(cgroups_writable, tmp_path):
    import psutil

    from loadgen.sut import cgroups as cg
    from loadgen.sut.launcher import SystemUnderTest
    from profiles.loader import load_profile
    from tests.sut.conftest import write_profile
    from tests.sut.test_systems import _alive, _cgroup_procs

    profile = load_profile(write_profile(tmp_path, "micro-cg", "hardware: {memory: 1GiB}\n"
                                         "database: {engine: sqlite}\n"
                                         "architecture: {kind: microservices, workers: 1, replicas: {inventory: 2}}\n"))
    with SystemUnderTest(profile, run_dir=tmp_path / "run") as sut:
        dirs = list(dict.fromkeys(sut.cgroup.dirs.values()))
        sut.seed(30)
        sut.start_app()
        app_pids = sut.app_pids()
        # supervisor, gateway, customers, orders, inventory and its two workers
        assert len(app_pids) >= 7, [psutil.Process(p).cmdline() for p in app_pids]
        assert set(app_pids) <= _cgroup_procs(dirs)
        roots = {name: find() for name, find in sut.service_roots().items()}
        assert all(len(pids) == 1 for pids in roots.values()), roots
        assert sut.books().ok
        assert sut.describe()["architecture"]["replicas"] == {"customers": 1, "inventory": 2, "orders": 1}
    assert not any(_alive(p) for p in app_pids)
    assert cg.leftovers(sut.run_id) == []
