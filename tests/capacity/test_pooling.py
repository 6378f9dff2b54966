"""A retry of an inconclusive level is judged on its windows pooled (loadgen.capacity.pooling):
known answers from the order-statistic ranks, the rules of what may be pooled, and a sweep that
writes and reads it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from loadgen.capacity.pooling import POOLED_CONFIDENCE, apply_pooled, poolable, pooled_judgement
from loadgen.capacity.sweep import Sweep
from loadgen.measure.bounds import quantile_ranks
from loadgen.measure.samples import SCHEMA
from tests.capacity.simulated import profile_dict

SLO = {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {}}


def write_samples(step_dir: Path, latencies: dict[str, list[float]], *, warmup_slow: int = 0) -> None:
    """A samples.parquet of measured requests (and ``warmup_slow`` warm-up rows that must not count)."""
    rows = []
    for op, lat in latencies.items():
        rows += [(op, float(x), "measure") for x in lat]
    rows += [("x", 99_999.0, "warmup")] * warmup_slow
    rows.append(("login", 99_999.0, "measure"))  # a login is never an operation of the verdict
    n = len(rows)
    table = pa.table({
        "worker": pa.array([0] * n, pa.int16()), "persona": ["sales"] * n, "operation": [r[0] for r in rows],
        "intended_start_s": [0.0] * n, "start_s": [0.0] * n, "latency_ms": [r[1] for r in rows],
        "service_ms": [r[1] for r in rows], "status": pa.array([200] * n, pa.int16()), "outcome": ["success"] * n,
        "phase": [r[2] for r in rows], "pool_wait_ms": [0.0] * n,
    }, schema=SCHEMA)
    step_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, step_dir / "samples.parquet")


def expected_p95_interval(values: np.ndarray) -> list[float]:
    low, up = quantile_ranks(len(values), 0.95, POOLED_CONFIDENCE)
    x = np.sort(values)
    return [float(x[low - 1]), None if up is None else float(x[up - 1])]


def test_the_pooled_interval_is_that_of_all_samples_together(tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(5.0, 0.6, 180), rng.lognormal(5.0, 0.6, 170)
    write_samples(tmp_path / "r0", {"x": list(a)}, warmup_slow=50)
    write_samples(tmp_path / "r1", {"x": list(b)})
    pooled = pooled_judgement([("r0", tmp_path / "r0", 30.0), ("r1", tmp_path / "r1", 31.0)], SLO)
    both = np.concatenate([a, b])
    op = pooled["operations"]["x"]
    assert op["requests"] == 350 and pooled["requests"] == 350 and pooled["measured_s"] == 61.0
    assert op["p95_ci_ms"] == [round(v, 3) for v in expected_p95_interval(both)]
    assert pooled["windows"] == ["r0", "r1"] and pooled["confidence"] == POOLED_CONFIDENCE
    assert "login" not in pooled["operations"]


def test_two_inconclusive_windows_pooled_pass_when_the_slow_ones_are_few(tmp_path):
    # Each window: 99 requests of 100 ms and one of 900 ms. Alone, the 95 % upper bound of p95 is the
    # 100th of 100 (the slow one): inconclusive. Pooled, 2 slow in 200: the 99 % upper rank is the
    # 198th, below both (pass).
    for r in ("r0", "r1"):
        write_samples(tmp_path / r, {"x": [100.0] * 99 + [900.0]})
    assert quantile_ranks(100, 0.95)[1] == 100
    assert quantile_ranks(200, 0.95, POOLED_CONFIDENCE)[1] == 198
    pooled = pooled_judgement([("r0", tmp_path / "r0", 30.0), ("r1", tmp_path / "r1", 30.0)], SLO)
    assert pooled["verdict"] == "pass" and pooled["inconclusive_reason"] is None


def test_pooled_samples_can_fail_a_retry_that_passed_alone(tmp_path):
    write_samples(tmp_path / "r0", {"x": [900.0] * 60 + [100.0] * 40})  # slow window (inconclusive: few samples)
    write_samples(tmp_path / "r1", {"x": [900.0] * 60 + [100.0] * 40})
    pooled = pooled_judgement([("r0", tmp_path / "r0", 30.0), ("r1", tmp_path / "r1", 30.0)], SLO)
    assert pooled["verdict"] == "fail" and any("99 % lower bound" in f for f in pooled["failures"])
    step = {"valid": True, "verdict": "pass", "passed": True, "inconclusive_reason": None, "fail_reason": None}
    out = apply_pooled(step, pooled)
    assert out["verdict"] == "fail" and out["passed"] is False and out["own_verdict"] == "pass"
    assert out["fail_reason"].startswith("pooled over 2 windows")
    # a window that failed on its own stays failed, an invalid one is left alone
    assert apply_pooled({"valid": True, "verdict": "fail", "passed": False}, {**pooled, "verdict": "pass"})["verdict"] == "fail"
    assert "pooled" not in apply_pooled({"valid": False, "verdict": "inconclusive", "passed": False}, pooled)
    assert poolable({"valid": True, "verdict": "inconclusive"}) and not poolable({"valid": False, "verdict": "inconclusive"})
    assert not poolable({"valid": True, "verdict": "pass"})


def test_a_missing_samples_file_pools_nothing(tmp_path):
    write_samples(tmp_path / "r1", {"x": [100.0] * 100})
    assert pooled_judgement([("r0", tmp_path / "r0", 30.0), ("r1", tmp_path / "r1", 30.0)], SLO) is None


class _InconclusiveOnceRunner:
    """A SIMULATED step runner (no system, no load): writes raw samples whose first window at
    ``level`` is inconclusive alone (one slow request in 100) and passes elsewhere, and step.json
    judged as the real runner judges a window."""

    def __init__(self, level: int, capacity: int) -> None:
        self.level, self.capacity = level, capacity
        self.calls: list[int] = []

    def __call__(self, profile, *, customers, operators=None, rate=None, duration_s, warmup_s, out_dir,
                 unconstrained=False) -> dict:
        from loadgen.measure.percentiles import summarise_file
        from loadgen.measure.slo import judge_operations, slo_failures, step_verdict

        self.calls.append(customers)
        fast = customers <= self.capacity
        lat = [100.0] * 99 + [900.0] if customers == self.level else ([100.0] * 400 if fast else [900.0] * 400)
        write_samples(Path(out_dir), {"x": lat})
        fig = summarise_file(Path(out_dir) / "samples.parquet", duration_s)
        failures = slo_failures(fig, SLO)
        verdicts, unjudged = judge_operations(fig["operations"], SLO)
        verdict = step_verdict(verdicts, unjudged, failures)
        step = {"schema": 1, "customers": customers, "operators": operators, "duration_s": duration_s,
                "measured_s": duration_s, "requests": fig["requests"], "valid": True, "invalid_reason": None,
                "verdict": verdict, "passed": verdict == "pass", "operations": fig["operations"],
                "fail_reason": "; ".join(failures) or None, "slo_failures": failures,
                "inconclusive_reason": "x p95 straddles" if verdict == "inconclusive" else None,
                "unjudged_operations": unjudged, "error_rate": 0.0, "latency_ms": fig["latency_ms"],
                "resources": {}}
        (Path(out_dir) / "step.json").write_text(json.dumps(step))
        return step


def test_a_sweep_judges_the_retry_on_both_windows_and_a_resume_reads_it(tmp_path):
    profile = profile_dict(start_customers=1000, growth=2.0, max_customers=64000, precision=0.5, repeats=1)
    profile["slo"] = SLO
    runner = _InconclusiveOnceRunner(level=2000, capacity=3000)
    doc = Sweep([profile], tmp_path / "out", runner=runner, invalid_retries=1).run()
    entry = doc["profiles"][0]
    levels = entry["search"]["levels"]
    # 2000's first window alone is inconclusive; its retry (the same samples again) passes pooled
    assert levels["2000"] == ["inconclusive", "pass"], levels
    retry = json.loads((tmp_path / "out" / "sim-sqlite" / "c2000-u20-r1" / "step.json").read_text())
    assert retry["own_verdict"] == "inconclusive" and retry["pooled"]["windows"] == ["c2000-u20-r0", "c2000-u20-r1"]
    assert retry["pooled"]["requests"] == 200 and retry["verdict"] == "pass" and retry["passed"] is True
    assert entry["max_customers"] >= 2000
    calls = len(runner.calls)
    # resumed: every step read back from disk, the pooled verdict with it, nothing measured again
    again = Sweep([profile], tmp_path / "out", runner=runner, invalid_retries=1).run()
    assert len(runner.calls) == calls and again["profiles"][0]["search"]["levels"] == levels


def test_the_report_says_a_step_was_judged_on_pooled_windows():
    from reports.render.markdown import _why

    pooled = {"windows": ["c2000-u20-r0", "c2000-u20-r1"], "requests": 200}
    passed = {"valid": True, "passed": True, "verdict": "pass", "own_verdict": "inconclusive", "pooled": pooled}
    assert _why(passed) == "judged on 2 windows pooled (200 requests, 99 % intervals; this window alone: inconclusive)"
    failed = {"valid": True, "passed": False, "verdict": "fail", "own_verdict": "pass", "pooled": pooled,
              "fail_reason": "pooled over 2 windows: x p95 900 ms > 500 ms"}
    assert _why(failed).startswith("pooled over 2 windows: x p95") and "this window alone: pass" in _why(failed)
    assert _why({"valid": True, "passed": True, "verdict": "pass"}) == ""
