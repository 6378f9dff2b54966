"""The sweep with real ``profiles.schema.Profile`` objects (loaded from YAML), on the SIMULATED runner."""

from __future__ import annotations

import json

import jsonschema

from loadgen.capacity.sweep import run_sweep
from profiles.loader import load_profiles
from tests.capacity.capacity_schema import CAPACITY
from tests.capacity.simulated import SimulatedStepRunner


def test_sweep_of_loaded_profiles_with_frontier(tmp_path):
    path = tmp_path / "sim.yaml"
    path.write_text(
        "database: {engine: sqlite}\n"
        "workload: {operators: 10}\n"
        "slo: {p95_ms: 400, operations: {customer_search: {p95_ms: 300}}}\n"
        "sweep: {start_customers: 500, growth: 3, max_customers: 100000, precision: 0.05, repeats: 2,"
        " operators: [5, 10, 20, 40]}\n"
    )
    profiles = load_profiles([path])
    runner = SimulatedStepRunner(12_345, u_max=25)
    doc = run_sweep(profiles, tmp_path / "out", runner=runner)
    jsonschema.validate(json.loads((tmp_path / "out" / "capacity.json").read_text()), CAPACITY)
    entry = doc["profiles"][0]
    assert entry["name"] == "sim" and entry["profile"]["sweep"]["operators"] == [5, 10, 20, 40]
    assert entry["max_customers"] <= 12_345 < entry["first_failing_customers"]
    assert (entry["first_failing_customers"] - entry["max_customers"]) / entry["max_customers"] <= 0.05
    assert entry["search"]["repeats"] == 2 and entry["search"]["boundary_agreed"] is True
    assert all(f["max_operators"] <= 25 < f["first_failing_operators"] for f in entry["frontier"])
    # every customer-search step ran with the profile's own operator count
    assert {s["operators"] for s in entry["steps"] if s["search"] == "customers"} == {10}
    assert len(runner.calls) == len(entry["steps"])
