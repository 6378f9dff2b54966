"""Real short steps against the real app on real databases, checked against the results contract."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from loadgen.seed import seed_database
from loadgen.step import measure_step
from loadgen.workload.jxc import OPERATIONS
from profiles.schema import Profile
from tests.measure.apprunner import running_app
from tests.measure.contract import check_step


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_a_real_step_writes_a_contract_step(db_url, backend, tmp_path):
    seed_database(db_url, 1000, progress=False)
    profile = Profile.model_validate({"workload": {"operators": 12, "think_time_s": [0.0, 0.05]},
                                      "slo": {"p95_ms": 5000, "p99_ms": 10000}})
    out = tmp_path / "step"
    with running_app(db_url, workers=1) as (url, app):
        step = measure_step(profile, base_url=url, db_url=db_url, customers=1000, duration_s=4.0, warmup_s=2.0,
                            out_dir=out, app_pids=[app.pid], min_requests=200)
    check_step(step)
    assert json.loads((out / "step.json").read_text())["requests"] == step["requests"]
    assert step["valid"], step["invalid_reason"]
    assert step["audit"]["ok"] and step["passed"], step["slo_failures"]
    assert step["operators"] == 12 and step["load"]["seats"] == 12
    # the seeded book had 2 salespeople; the load needed 8: six accounts were added, each used once
    assert len(step["load"]["operators_created"]) >= 1
    assert step["errors"] == 0, step["operations"]   # the workload speaks the app's API correctly
    assert set(step["operations"]) <= set(OPERATIONS)
    assert {"customer_view", "stock_check"} <= set(step["operations"])
    assert step["logins"] == {"count": 12, "errors": 0}
    samples = pd.read_parquet(out / "samples.parquet")
    assert set(samples["phase"]) == {"warmup", "measure"}
    assert set(samples["persona"]) == {"sales", "clerk", "manager"}
    res = pd.read_csv(out / "resources.csv")
    assert res["app_cpu_pct"].max() > 0 and res["db_bytes"].dropna().iloc[-1] > 0
    assert step["resources"]["db_bytes"] > 0 and step["resources"]["app_rss_mb"] > 0
