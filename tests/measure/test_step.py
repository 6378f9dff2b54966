"""Real short steps through run_step (bring-up, seed, load, audit, tear-down), checked against the
results contract: SQLite, and a managed PostgreSQL inside a cgroup."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from loadgen.capacity.step import run_step
from loadgen.workload.jxc import OPERATIONS
from profiles.schema import Profile
from tests.dbs import in_ci
from tests.measure.contract import check_step

WORKLOAD = {"operators": 12, "think_time_s": [0.0, 0.05]}
SLO = {"p95_ms": 5000, "p99_ms": 10000}


def _check_real_step(step: dict, out) -> None:
    check_step(step)
    assert json.loads((out / "step.json").read_text())["requests"] == step["requests"]
    assert step["valid"], step["invalid_reason"]
    assert step["audit"]["ok"] and step["passed"], step["slo_failures"]
    assert step["operators"] == 12 and step["load"]["seats"] == 12
    # the seeded book (1000 customers) has 2 salespeople; the load needs 8: the rest are added
    assert len(step["load"]["operators_created"]) >= 1
    assert step["errors"] == 0, step["operations"]   # the workload speaks the app's API correctly
    assert set(step["operations"]) <= set(OPERATIONS)
    assert {"customer_view", "stock_check"} <= set(step["operations"])
    # staff start their shift logged in: 12 logins before the load, none inside it
    assert step["staffing"]["shift_logins"]["logins"] == 12 and step["logins"] == {"count": 0, "errors": 0}
    samples = pd.read_parquet(out / "samples.parquet")
    assert set(samples["phase"]) == {"warmup", "measure"}
    assert set(samples["persona"]) == {"sales", "clerk", "manager"}
    res = pd.read_csv(out / "resources.csv")
    assert res["app_cpu_pct"].max() > 0 and res["db_bytes"].dropna().iloc[-1] > 0
    assert step["resources"]["db_bytes"] > 0 and step["resources"]["app_rss_mb"] > 0


def test_a_real_step_on_sqlite(tmp_path):
    profile = Profile.model_validate({"name": "sq", "database": {"engine": "sqlite"},
                                      "architecture": {"workers": 1}, "workload": WORKLOAD, "slo": SLO})
    out = tmp_path / "step"
    step = run_step(profile, customers=1000, duration_s=4.0, warmup_s=2.0, out_dir=out, min_requests=200)
    _check_real_step(step, out)
    assert step["system"]["database"]["engine"] == "sqlite"


@pytest.mark.postgresql
def test_a_real_step_on_managed_postgresql_in_a_cgroup(tmp_path):
    from loadgen.sut import cgroups as cg

    if os.geteuid() != 0 or cg.detect() is None or (os.cpu_count() or 1) < 2:
        reason = "needs root, a cgroup hierarchy and 2+ CPUs"
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    profile = Profile.model_validate({
        "name": "pgc", "hardware": {"cpus": 1, "memory": "1GiB"},
        "database": {"engine": "postgresql", "managed": True, "settings": {"shared_buffers": "128MB"}},
        "architecture": {"workers": 1}, "workload": WORKLOAD, "slo": SLO})
    out = tmp_path / "step"
    step = run_step(profile, customers=1000, duration_s=4.0, warmup_s=2.0, out_dir=out, min_requests=200)
    _check_real_step(step, out)
    limits = step["system"]["limits"]
    assert limits["mode"].startswith("cgroup") and limits["cpus"] == 1.0 and limits["memory"] == 2**30
    # the managed server's process tree was sampled (PostgreSQL is not inside the app)
    assert step["resources"]["db_cpu_pct"] > 0 and step["resources"]["db_rss_mb"] > 0
    assert not list(cg_leftovers(step["system"]["run_id"]))


def cg_leftovers(run_id: str):
    from pathlib import Path

    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        if root.exists():
            yield from root.rglob(f"jxcbench-{run_id}")
