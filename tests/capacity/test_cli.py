"""``jxcbench sweep`` / ``jxcbench report`` as a user runs them: bad input, refusals, re-rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadgen.capacity.sweep import run_sweep
from tests.capacity.simulated import SimulatedStepRunner, profile_dict

REPO = Path(__file__).resolve().parents[2]


def jxcbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loadgen.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("slo: null\n", "slo"),
        ("workload: {operators: 5}\n", "slo: missing"),
        ("sweep: {start_customers: 5000, max_customers: 1000}\n", "start_customers"),
        ("sweep: {precision: 0}\n", "precision"),
        ("sweep: {precision: -0.1}\n", "precision"),
    ],
)
def test_bad_profiles_exit_2_with_a_clear_message_and_write_nothing(tmp_path, yaml_text, message):
    profile = tmp_path / "bad.yaml"
    profile.write_text("database: {engine: sqlite}\n" + yaml_text)
    done = jxcbench("sweep", str(profile), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_out_of_another_sweep_is_refused_by_the_cli(tmp_path):
    out = tmp_path / "out"
    run_sweep([profile_dict("someone-else")], out, runner=SimulatedStepRunner(5000))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    profile = tmp_path / "mine.yaml"
    profile.write_text("database: {engine: sqlite}\nslo: {p95_ms: 500}\n")
    done = jxcbench("sweep", str(profile), "--out", str(out))
    assert done.returncode == 2 and "another sweep" in done.stderr and "someone-else" in done.stderr
    assert "Traceback" not in done.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_report_rerenders_from_results_files(tmp_path):
    out = tmp_path / "out"
    run_sweep([profile_dict(repeats=2)], out, runner=SimulatedStepRunner(37_000))
    done = jxcbench("report", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("On sim-sqlite, the system held ")
    assert "(limiting: cpu)" in done.stdout and "customer_search p95" in done.stdout
    text = (out / "report.md").read_text()
    assert "SIMULATED" in text and "| # | search |" in text


def test_report_refuses_unknown_schema_and_missing_files(tmp_path):
    (tmp_path / "capacity.json").write_text(json.dumps({"schema": 99, "profiles": []}))
    done = jxcbench("report", str(tmp_path))
    assert done.returncode == 2 and "schema 99 is not supported" in done.stderr and "reads schema 1" in done.stderr
    done = jxcbench("report", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no such results file" in done.stderr
