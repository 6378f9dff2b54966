"""The sweep driver on the SIMULATED step runner: files, resumption, refusal of a foreign --out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadgen.errors import JxcError
from loadgen.capacity.sweep import SweepInterrupted, run_sweep
from tests.capacity.simulated import SimulatedStepRunner, profile_dict

REPO = Path(__file__).resolve().parents[2]


def test_sweep_finds_the_simulated_capacity_and_writes_results(tmp_path):
    runner = SimulatedStepRunner(37_000)
    doc = run_sweep([profile_dict(repeats=2)], tmp_path / "out", runner=runner)
    entry = doc["profiles"][0]
    assert doc["partial"] is False and entry["complete"] is True
    assert entry["max_customers"] <= 37_000 < entry["first_failing_customers"]
    assert (entry["first_failing_customers"] - entry["max_customers"]) / entry["max_customers"] <= 0.10
    assert entry["limiting_factor"]["operation"] == "customer_search"
    assert entry["limiting_factor"]["resource"] == "cpu"  # app + database together over the 1-CPU quota
    assert entry["limiting_factor"]["saturated"] is True
    assert entry["search"]["boundary_agreed"] is True
    assert len(entry["steps"]) == len(runner.calls)
    for step in entry["steps"]:
        assert (tmp_path / "out" / step["dir"] / "step.json").is_file()
    saved = json.loads((tmp_path / "out" / "capacity.json").read_text())
    assert saved["profiles"][0]["max_customers"] == entry["max_customers"]
    csv_lines = (tmp_path / "out" / "steps.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(runner.calls) and csv_lines[0].startswith("profile,")


def test_rerun_of_a_finished_sweep_measures_nothing(tmp_path):
    first = SimulatedStepRunner(37_000)
    a = run_sweep([profile_dict()], tmp_path / "out", runner=first)
    again = SimulatedStepRunner(37_000)
    b = run_sweep([profile_dict()], tmp_path / "out", runner=again)
    assert again.calls == [] and b["profiles"][0]["max_customers"] == a["profiles"][0]["max_customers"]


def test_interrupted_sweep_is_partial_and_resumes_without_repeating_steps(tmp_path):
    out = tmp_path / "out"
    interrupted = SimulatedStepRunner(37_000, interrupt_at_call=5)
    with pytest.raises(SweepInterrupted, match="resume") as info:
        run_sweep([profile_dict(repeats=2)], out, runner=interrupted)
    assert info.value.exit_code == 130
    partial = json.loads((out / "capacity.json").read_text())
    assert partial["partial"] is True and partial["profiles"][0]["complete"] is False
    assert len(partial["profiles"][0]["steps"]) == 4

    resumed = SimulatedStepRunner(37_000)
    doc = run_sweep([profile_dict(repeats=2)], out, runner=resumed)
    fresh = SimulatedStepRunner(37_000)
    reference = run_sweep([profile_dict(repeats=2)], tmp_path / "ref", runner=fresh)
    assert len(resumed.calls) == len(fresh.calls) - 4  # the four finished steps were not measured again
    assert interrupted.calls + resumed.calls == fresh.calls
    assert doc["partial"] is False
    assert doc["profiles"][0]["max_customers"] == reference["profiles"][0]["max_customers"]


def test_killed_sweep_keeps_finished_steps_and_rerun_completes_it(tmp_path):
    """SIGKILL (no chance to clean up) between steps, then a re-run in-process finishes the sweep."""
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-m", "tests.capacity.sim_sweep_child", str(out)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while len(list(out.glob("*/*/step.json"))) < 3:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the simulated sweep did not reach 3 steps in 30 s"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    finished = len(list(out.glob("*/*/step.json")))
    assert json.loads((out / "capacity.json").read_text())["partial"] is True

    resumed = SimulatedStepRunner(37_000)
    doc = run_sweep([profile_dict(repeats=2)], out, runner=resumed)
    total = len(doc["profiles"][0]["steps"])
    assert len(resumed.calls) == total - finished
    assert doc["partial"] is False and doc["profiles"][0]["max_customers"] is not None
    # a step the kill cut short (directory without step.json) is kept aside, not silently reused
    for d in out.glob("*/*.interrupted*"):
        assert not (d / "step.json").exists()


def test_out_of_another_sweep_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "out"
    run_sweep([profile_dict("alpha")], out, runner=SimulatedStepRunner(5000))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    runner = SimulatedStepRunner(5000)
    with pytest.raises(JxcError, match="another sweep") as info:
        run_sweep([profile_dict("beta")], out, runner=runner)
    assert info.value.exit_code == 2 and runner.calls == []
    changed = profile_dict("alpha")
    changed["slo"]["p95_ms"] = 100
    with pytest.raises(JxcError, match="changed"):
        run_sweep([changed], out, runner=runner)
    with pytest.raises(JxcError, match="unconstrained"):
        run_sweep([profile_dict("alpha")], out, runner=runner, unconstrained=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_non_empty_directory_without_a_sweep_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(JxcError, match="holds no jxcbench sweep"):
        run_sweep([profile_dict()], tmp_path, runner=SimulatedStepRunner(5000))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.update(slo=None), "needs an SLO"),
        (lambda p: p["sweep"].update(start_customers=2_000_000), "above max"),
        (lambda p: p["sweep"].update(precision=0), "precision must be > 0"),
    ],
)
def test_bad_profiles_are_refused_before_anything_is_written(tmp_path, mutate, message):
    profile = profile_dict()
    mutate(profile)
    with pytest.raises(JxcError, match=message) as info:
        run_sweep([profile], tmp_path / "out", runner=SimulatedStepRunner(5000))
    assert info.value.exit_code == 2 and not (tmp_path / "out").exists()


def test_invalid_steps_are_rerun_and_listed(tmp_path):
    runner = SimulatedStepRunner(37_000, invalid_levels={16_000})
    doc = run_sweep([profile_dict()], tmp_path / "out", runner=runner)
    entry = doc["profiles"][0]
    assert entry["search"]["stopped"] and "16000" in entry["search"]["stopped"]
    invalid = [s for s in entry["steps"] if not s["valid"]]
    assert len(invalid) == 3 and all(s["invalid_reason"] for s in invalid)
    assert sorted(s["dir"] for s in invalid) == [f"sim-sqlite/c16000-u20-r{k}" for k in range(3)]


def test_inconclusive_steps_are_repeated_never_a_pass_and_rare_operations_are_named(tmp_path):
    from reports.render.markdown import render_markdown

    # 64,000 (above the capacity: it fails) and 16,000 (below: it passes) are inconclusive the first time
    runner = SimulatedStepRunner(37_000, inconclusive_first={16_000, 64_000}, rare_operation="report_stock_levels")
    doc = run_sweep([profile_dict()], tmp_path / "out", runner=runner)
    entry = doc["profiles"][0]
    levels = entry["search"]["levels"]
    assert levels["16000"] == ["inconclusive", "pass"] and levels["64000"] == ["inconclusive", "fail"]
    assert entry["max_customers"] <= 37_000 < entry["first_failing_customers"]
    # the limiting factor comes from a failed step, never from an inconclusive one
    lf_step = [s for s in entry["steps"] if s["customers"] == entry["first_failing_customers"] and s["verdict"] == "fail"]
    assert entry["limiting_factor"] and lf_step
    assert entry["unjudged_operations"] == {"report_stock_levels": {"requests": 40, "percentiles": ["p95", "p99"],
                                                                    "requests_needed": 368}}
    text = render_markdown(doc)
    assert "| inconclusive |" in text and "inconclusive simulated: customer_search p95 interval" in text
    assert "### Operations too rare to judge" in text and "report_stock_levels p95/p99 (40 requests, 368 needed)" in text
    assert "Not judged at that level, too few requests for a 95 % bound: report_stock_levels p95/p99." in text
    rows = (tmp_path / "out" / "steps.csv").read_text().splitlines()
    assert rows[0].endswith(",verdict,extension_s,unjudged_operations,inconclusive_reason,operators_active,"
                            "login_failures,timed_out_at_end,littles_law_ratio")
    assert sum(",inconclusive," in r for r in rows) == 2


def test_operator_frontier_at_start_and_capacity(tmp_path):
    runner = SimulatedStepRunner(37_000, u_max=30)
    doc = run_sweep([profile_dict(operators=[5, 10, 20, 40, 80])], tmp_path / "out", runner=runner)
    entry = doc["profiles"][0]
    fronts = {f["customers"]: f for f in entry["frontier"]}
    assert set(fronts) == {1000, entry["max_customers"]}
    for f in fronts.values():
        assert f["max_operators"] is not None and f["max_operators"] <= 30 < f["first_failing_operators"]


def test_a_sweep_that_holds_its_maximum_gets_a_projected_capacity(tmp_path):
    """The simulation's p95 grows linearly and crosses the SLO at 37,000: a sweep stopping at 16,000
    projects about that, labelled with its model and interval, instead of "may be higher"."""
    import jsonschema

    from reports.render.verdict import verdict
    from tests.capacity.capacity_schema import CAPACITY

    doc = run_sweep([profile_dict(max_customers=16_000, growth=2.0)], tmp_path, runner=SimulatedStepRunner(37_000))
    jsonschema.validate(doc, CAPACITY)
    entry = doc["profiles"][0]
    assert entry["max_customers"] == 16_000 and entry["first_failing_customers"] is None
    assert abs(entry["projected_max_customers"] - 37_000) / 37_000 < 0.10, entry["projection"]
    proj = entry["projection"]
    assert proj["projected"] is True and proj["low"] <= entry["projected_max_customers"] <= proj["high"]
    assert "projected capacity about" in verdict(entry) and "may be higher" not in verdict(entry)


def test_price_and_disk_added_after_a_sweep_keep_its_results(tmp_path):
    run_sweep([profile_dict(max_customers=4000)], tmp_path, runner=SimulatedStepRunner(37_000))
    priced = profile_dict(max_customers=4000)
    priced["hardware"].update(disk="40GiB", price={"amount": 100, "currency": "CNY", "per": "month"})
    again = SimulatedStepRunner(37_000)
    doc = run_sweep([priced], tmp_path, runner=again)
    assert again.calls == [] and doc["profiles"][0]["profile"]["hardware"]["price"]["amount"] == 100


def test_a_level_that_stays_inconclusive_tops_the_bracket_and_the_verdict_says_it_was_not_shown(tmp_path):
    """Near the boundary no repeat decides: the sweep still ends with a bracket within its precision
    whose top was not shown to hold (not "failed"), and says so in both languages."""
    from reports.render.verdict import verdict

    # capacity 37,000, but from 30,000 up to it the p95's interval always straddles the threshold
    runner = SimulatedStepRunner(37_000, inconclusive_from=30_000)
    doc = run_sweep([profile_dict()], tmp_path / "out", runner=runner)
    entry = doc["profiles"][0]
    held, top = entry["max_customers"], entry["first_failing_customers"]
    assert held < 30_000 <= top <= 37_000 and (top - held) / held <= 0.10, entry["search"]
    assert entry["search"]["levels"][str(top)] == ["inconclusive"] * 3  # repeated, never a pass
    assert entry["search"]["first_failing_unproven"] and not entry["search"]["stopped"]
    assert "straddles the threshold" in entry["first_failing_unproven"]
    assert entry["limiting_factor"] is None  # nothing failed there: no failing operation to name
    en, zh = verdict(entry, "en"), verdict(entry, "zh")
    assert f"at {top:,} it was not shown to hold" in en and "it failed" not in en and "stopped" not in en.lower()
    assert f"在 {top:,} 个客户时未能证明满足 SLO" in zh
