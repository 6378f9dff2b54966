"""The quickstart's profile and command (the full run is the README's main job, timed in its note,
not repeated here: it takes minutes)."""

from __future__ import annotations

import json

import pytest

from loadgen.capacity.search import capacity_search, drive
from loadgen.capacity.sweep import plan_profile
from profiles.loader import QUICKSTART_PROFILE
from profiles.loader import load_profiles
from tests.capacity.simulated import SimulatedSystem
from tests.capacity.test_cli import jxcbench


def test_the_quickstart_profile_is_searchable_within_a_few_steps():
    (profile,) = load_profiles([QUICKSTART_PROFILE])
    plan = plan_profile(profile)  # states its SLO, sane sweep settings
    assert profile.database.engine == "sqlite" and not profile.hardware.constrained  # no server, no root
    # a failure within a few growth steps, then a few bisection steps: a bounded answer in minutes
    assert drive(capacity_search(plan.spec), SimulatedSystem(50_000)).steps <= 6
    assert drive(capacity_search(plan.spec), SimulatedSystem(15_000)).steps <= 4
    # where this machine's boundary lies (24,000-33,000): 3-4 steps of about a minute each
    for capacity in (21_000, 24_000, 29_000, 33_000, 44_000):
        result = drive(capacity_search(plan.spec), SimulatedSystem(capacity))
        assert result.steps <= (3 if capacity < 30_000 else 4), (capacity, result.levels)
        assert (result.first_failing - result.max_passing) / result.max_passing <= 0.25
    # it models a busier business than a sizing profile, and says so (the verdict names it)
    assert profile.workload.staffed and profile.business


@pytest.mark.parametrize("manifest, message", [
    ({"schema": 1, "unconstrained": False, "profiles": {"someone-else": {}}}, "another sweep"),
    ({"profiles": [{"name": "someone-else"}]}, "not a jxcbench sweep manifest"),
])
def test_quickstart_refuses_an_out_holding_another_sweep(tmp_path, manifest, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps(manifest))
    done = jxcbench("quickstart", "--out", str(out))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert json.loads((out / "sweep.json").read_text()) == manifest and sorted(p.name for p in out.iterdir()) == ["sweep.json"]
