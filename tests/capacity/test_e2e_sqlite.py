"""End to end: a tiny real sweep on SQLite through the CLI (real app, real seeding, real load)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.capacity.capacity_schema import CAPACITY

REPO = Path(__file__).resolve().parents[2]

# Generous SLO and two levels: the point is the whole path (profile -> system -> load -> results ->
# report) and resumption, not this machine's capacity. Short think times so that 10 s windows hold
# the 1000 requests a valid step needs.
PROFILE = """\
name: e2e-sqlite
database: {engine: sqlite}
architecture: {kind: monolith, workers: 1}
workload: {operators: 6, think_time_s: [0.01, 0.05]}
slo: {p95_ms: 5000, p99_ms: 10000, error_rate: 0.05}
sweep: {start_customers: 200, growth: 4, max_customers: 800, precision: 0.5, step_duration_s: 10, warmup_s: 1, repeats: 1}
"""


def jxcbench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_tiny_sqlite_sweep_through_the_cli(tmp_path):
    profile = tmp_path / "e2e-sqlite.yaml"
    profile.write_text(PROFILE)
    out = tmp_path / "out"
    done = jxcbench("sweep", str(profile), "--out", str(out), "--invalid-retries", "0")
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads((out / "capacity.json").read_text())
    jsonschema.validate(doc, CAPACITY)
    entry = doc["profiles"][0]
    assert doc["partial"] is False and entry["name"] == "e2e-sqlite"
    assert [s["customers"] for s in entry["steps"]] == [200, 800]
    for step in entry["steps"]:
        assert (out / step["dir"] / "step.json").is_file() and (out / step["dir"] / "samples.parquet").is_file()
        assert step["requests"] > 0 and step["operators"] == 6
    if all(s["valid"] and s["passed"] for s in entry["steps"]):
        assert entry["max_customers"] == 800 and entry["first_failing_customers"] is None
    report = (out / "report.md").read_text()
    assert "On e2e-sqlite" in report and done.stdout.startswith("On e2e-sqlite")
    # every report file, from the real raw samples; the HTML report's path is the last line printed
    assert done.stdout.splitlines()[-1] == f"Report: {out / 'report.html'}"
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 and "On e2e-sqlite" in page
    assert (out / "report.xlsx").is_file() and (out / "charts" / "e2e-sqlite-latency.png").is_file()
    import pandas as pd

    ops = pd.read_excel(out / "report.xlsx", sheet_name="operations")
    first = entry["steps"][0]
    name, stored = next(iter(first["operations"].items()))
    row = ops[(ops["customers"] == first["customers"]) & (ops["operation"] == name)].iloc[0]
    assert row["p95 (ms)"] == stored["p95_ms"] or abs(row["p95 (ms)"] - stored["p95_ms"]) < 1e-3
    assert row["p95 low (ms)"] <= stored["p95_ms"]

    again = jxcbench("sweep", str(profile), "--out", str(out))
    assert again.returncode == 0 and "0 step(s) measured, 2 reused" in again.stderr, again.stderr
