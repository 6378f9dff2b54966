"""capacity.json against a test-side schema of the contract; steps.csv; reading other versions."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import jsonschema
import pytest

from loadgen.results import ResultsError, limiting_factor, load_capacity
from loadgen.sweep import run_sweep
from tests.search.capacity_schema import CAPACITY
from tests.search.simulated import SimulatedStepRunner, profile_dict


def test_capacity_json_follows_the_contract(tmp_path):
    runner = SimulatedStepRunner(37_000, u_max=30, invalid_levels={16_000})
    run_sweep([profile_dict("a", operators=[5, 10, 20, 40]), profile_dict("b", max_customers=20_000)],
              tmp_path, runner=runner)
    doc = json.loads((tmp_path / "capacity.json").read_text())
    jsonschema.validate(doc, CAPACITY)
    datetime.fromisoformat(doc["created"])
    assert doc["machine"]["cpu_cores"] >= 1 and "sqlite" in doc["machine"]["db_servers"]
    assert [p["name"] for p in doc["profiles"]] == ["a", "b"]
    assert doc["profiles"][0]["profile"]["slo"]["p95_ms"] == 500  # the profile as loaded
    assert all(p["projected_max_customers"] is None for p in doc["profiles"])  # nothing is projected


def test_schema_catches_a_renamed_field(tmp_path):
    run_sweep([profile_dict()], tmp_path, runner=SimulatedStepRunner(37_000))
    doc = json.loads((tmp_path / "capacity.json").read_text())
    doc["profiles"][0]["max_customer"] = doc["profiles"][0].pop("max_customers")
    with pytest.raises(jsonschema.ValidationError, match="max_customers"):
        jsonschema.validate(doc, CAPACITY)


def test_steps_csv_has_one_row_per_step(tmp_path):
    doc = run_sweep([profile_dict(repeats=2)], tmp_path, runner=SimulatedStepRunner(37_000))
    with (tmp_path / "steps.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = doc["profiles"][0]["steps"]
    assert len(rows) == len(steps)
    assert [int(r["customers"]) for r in rows] == [s["customers"] for s in steps]
    assert [float(r["p95_ms"]) for r in rows] == [s["latency_ms"]["p95"] for s in steps]


def test_unknown_schema_version_is_refused(tmp_path):
    (tmp_path / "capacity.json").write_text(json.dumps({"schema": 2, "profiles": []}))
    with pytest.raises(ResultsError, match="schema 2 is not supported"):
        load_capacity(tmp_path)
    (tmp_path / "capacity.json").write_text("{not json")
    with pytest.raises(ResultsError, match="not readable JSON"):
        load_capacity(tmp_path / "capacity.json")


def test_limiting_factor_reads_per_operation_overrides_and_resources():
    profile = {"slo": {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {"customer_search": {"p95_ms": 200}}},
               "hardware": {"cpus": 1, "memory": 1024**3}}
    step = {"customers": 9000, "valid": True, "passed": False, "error_rate": 0.0,
            "operations": {"customer_search": {"p95_ms": 300, "errors": 0}, "sales_order": {"p95_ms": 450, "errors": 0}},
            "resources": {"app_cpu_pct": 40.0, "db_cpu_pct": 20.0, "app_rss_mb": 900.0, "db_rss_mb": 50.0}}
    lf = limiting_factor(step, profile)
    assert lf["operation"] == "customer_search"  # 300/200 is further over than 450/500 (which is under)
    assert lf["resource"] == "memory"  # 950 MiB of 1 GiB beats 40 % of one CPU
    assert "9000 customers" in lf["detail"] and "200 ms" in lf["detail"]
    errors_only = {**step, "operations": {"sales_order": {"p95_ms": 10, "errors": 50}}, "error_rate": 0.05}
    assert limiting_factor(errors_only, profile)["operation"] == "sales_order"
    assert limiting_factor({**step, "passed": True}, profile) is None
