"""capacity.json against a test-side schema of the contract; steps.csv; reading other versions."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import jsonschema
import pytest

from loadgen.capacity.results import ResultsError, load_capacity
from reports.analysis.limiting import limiting_factor
from loadgen.capacity.sweep import run_sweep
from tests.capacity.capacity_schema import CAPACITY
from tests.capacity.simulated import SimulatedStepRunner, profile_dict


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


class _StoppingEarly(SimulatedStepRunner):
    """The simulation, where every failing step is stopped early 8 s into its window, as
    ``loadgen.capacity.step.measure_step`` records it."""

    def __call__(self, profile, **kw) -> dict:
        step = super().__call__(profile, **kw)
        step.update(warmup_s=kw["warmup_s"], measured_s=step["duration_s"], stopped_early=None, early_stopped=False)
        if step["valid"] and not step["passed"]:
            reason = "customer_search: p95 can no longer be <= 500 ms (too many slow requests already)"
            step.update(measured_s=8.0, stopped_early={"at_s": 8.0, "reason": reason}, early_stopped=True,
                        rps=step["requests"] / 8.0,
                        fail_reason=f"stopped early at 8.0 s of {step['duration_s']:g} s: {reason}; {step['fail_reason']}")
        return step


def test_report_and_steps_csv_show_the_real_window_of_a_step_stopped_early(tmp_path):
    from reports.render.markdown import render_markdown

    doc = run_sweep([profile_dict(step_duration_s=30, warmup_s=5)], tmp_path, runner=_StoppingEarly(37_000))
    steps = doc["profiles"][0]["steps"]
    stopped = [s for s in steps if s["early_stopped"]]
    assert stopped and len(stopped) < len(steps)
    jsonschema.validate(doc, CAPACITY)  # extra fields are allowed by the contract

    text = render_markdown(doc)
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    stopped_rows = [r for r in rows if "stopped early" in r]
    assert len(stopped_rows) == len(stopped), stopped_rows
    for row in stopped_rows:
        cells = [c.strip() for c in row.split("|")]
        assert "FAIL (stopped early)" in cells
        assert cells[7].startswith("8.0 s of 30 s window after 5 s warm-up, stopped early"), cells  # measured
        assert cells[-2].startswith("stopped early at 8.0 s of 30 s: customer_search: p95 can no longer be")
    # a step that ran its whole window says so, with no early-stop mark
    full = [r for r in rows if "| pass |" in r]
    assert full and all("30 s window after 5 s warm-up" in r and "of 30 s" not in r for r in full)

    with (tmp_path / "steps.csv").open() as f:
        csv_rows = list(csv.DictReader(f))
    # new columns come after the old ones, whose order is unchanged
    cols = list(csv_rows[0])
    i = cols.index("dir")
    assert cols[i:i + 3] == ["dir", "measured_s", "stopped_early_reason"]
    assert cols[i + 3:] == ["verdict", "extension_s", "unjudged_operations", "inconclusive_reason", "operators_active",
                            "login_failures", "timed_out_at_end", "littles_law_ratio"]
    assert list(csv_rows[0])[:11] == ["profile", "search", "phase", "customers", "operators", "repeat", "valid",
                                      "passed", "early_stopped", "invalid_reason", "duration_s"]
    by_stop = {r["early_stopped"] for r in csv_rows}
    assert by_stop == {"True", "False"}
    for r in csv_rows:
        assert float(r["duration_s"]) == 30.0
        if r["early_stopped"] == "True":
            assert float(r["measured_s"]) == 8.0 and r["stopped_early_reason"].startswith("customer_search: p95")
        else:
            assert float(r["measured_s"]) == 30.0 and r["stopped_early_reason"] == ""


def test_steps_csv_measured_s_of_a_step_from_before_early_stop_is_its_window():
    from loadgen.capacity.results import steps_rows

    doc = {"profiles": [{"name": "old", "steps": [{"customers": 1000, "duration_s": 60.0, "valid": True, "passed": True}]}]}
    (row,) = steps_rows(doc)
    assert row["measured_s"] == 60.0 and row["stopped_early_reason"] is None


@pytest.mark.parametrize("database, column", [
    ({"engine": "sqlite", "managed": False}, "in app"),
    ({"engine": "postgresql", "managed": False, "url": "postgresql://x/y"}, "not sampled"),
    ({"engine": "postgresql", "managed": True}, "%"),
])
def test_report_db_cpu_column_says_what_was_sampled(tmp_path, database, column):
    from reports.render.markdown import write_report

    prof = profile_dict(max_customers=4000)
    prof["database"].update(database)
    doc = run_sweep([prof], tmp_path, runner=SimulatedStepRunner(10**9))
    row = next(line for line in write_report(tmp_path, doc).read_text().splitlines() if line.startswith("| 1 |"))
    assert row.split(" | ")[13].strip().endswith(column)  # the DB CPU cell
