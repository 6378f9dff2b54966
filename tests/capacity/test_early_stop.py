"""The early-stop rule: a running step's SLO is called lost only when no later sample can save it:
the 95 % lower bound of the final percentile (loadgen.measure.bounds) is above the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.measure.bounds import interval, quantile_ranks
from loadgen.measure.slo import early_stop_reason, pending_judgements, slo_clearly_lost

SLO = {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {"customer_search": {"p95_ms": 200}}}


def test_lost_once_slow_samples_exceed_what_the_lower_bound_of_the_whole_window_allows():
    # 1000 requests expected, 1100 with 10 % slack; the 95 % lower bound of p95 of 1100 samples is the
    # l-th smallest: it is above 500 ms once more than 1100 - l samples are slow (l from the binomial).
    n_max = 1100
    allowed = n_max - quantile_ranks(n_max, 0.95)[0]
    assert allowed == 70  # more than the 55 a point p95 would allow: the bound is conservative
    slow = [900.0] * (allowed + 1)
    assert slo_clearly_lost(slow, threshold_ms=500, quantile=0.95, expected_total=1000)
    assert not slo_clearly_lost(slow[:allowed], threshold_ms=500, quantile=0.95, expected_total=1000)


def test_rule_is_sound_the_final_lower_bound_really_is_above_the_threshold():
    # When the rule fires, however fast the remaining requests are, the final p95's lower bound (so
    # the step's verdict: fail) ends above 500, for any final count up to the estimate.
    rng = np.random.default_rng(3)
    expected = 2000
    fired = 0
    for _ in range(200):
        n_so_far = int(rng.integers(50, expected))
        partial = rng.choice([100.0, 900.0], size=n_so_far, p=[0.85, 0.15])
        if slo_clearly_lost(partial, threshold_ms=500, quantile=0.95, expected_total=expected, slack=0.0):
            fired += 1
            for total in (n_so_far, (n_so_far + expected) // 2, expected):
                final = np.concatenate([partial, np.full(total - n_so_far, 1.0)])
                assert interval(final, 0.95)[0] > 500
    assert fired > 20  # the test exercised the rule


def test_no_stop_on_the_first_seconds_tail():
    # 10 slow requests out of the first 40 (25 %): a point p95 of them is slow, but 10 slow of ~1000
    # expected cannot make the final p95 fail.
    assert not slo_clearly_lost([900.0] * 10 + [50.0] * 30, threshold_ms=500, quantile=0.95, expected_total=1000)


def test_pending_judgements_waits_only_for_what_the_cap_can_decide():
    slo = {"p95_ms": 500, "p99_ms": 1500}
    rng = np.random.default_rng(5)
    near = rng.uniform(0, 520, size=2000)  # p95 = 494 vs 500: decided only by many samples
    fast = np.full(2000, 10.0)
    rare = np.full(30, 10.0)  # 30 at 10 s, 60 by a 20 s cap: < 72, no upper bound for p95 ever
    pend = pending_judgements({"near": near[:100], "fast": fast, "rare": rare}, slo=slo, at_s=10, cap_s=20)
    assert "near p95" in pend and not any(p.startswith(("fast", "rare")) for p in pend)
    # 40 at 10 s -> 80 by 20 s: its p95 can get a bound, so it is waited for when one of its samples
    # is above the threshold (more samples may show a slow tail); p99 (368) cannot get one
    slowish = np.concatenate([np.full(39, 10.0), [600.0]])
    pend = pending_judgements({"r": slowish}, slo=slo, at_s=10, cap_s=20)
    assert pend == ["r p95"]
    # ... but not when every sample so far is within it: more samples could only judge it, the
    # window does not run on to the cap for that (it ends unjudged, named)
    assert pending_judgements({"r": np.full(40, 10.0)}, slo=slo, at_s=10, cap_s=20) == []
    # A later look (99 %) with 76 samples at 53 s of a 70 s cap: no 99 % upper bound (104 needed, 100
    # by the cap), but the final verdict's 95 % one exists (72) and straddles: it is waited for to the
    # cap, not dropped as too rare (a quickstart step ended inconclusive at 53 s that way)
    lat76 = np.concatenate([np.full(70, 30.0), np.full(6, 650.0)])
    assert pending_judgements({"po": lat76}, slo=slo, at_s=53, cap_s=70, confidence=0.99) == ["po p95"]
    assert pending_judgements({"fast": fast}, slo=slo, at_s=10, cap_s=20) == []


def test_not_lost_while_fast():
    assert not slo_clearly_lost([100.0] * 5000, threshold_ms=500, quantile=0.95, expected_total=5000)
    assert not slo_clearly_lost([], threshold_ms=500, quantile=0.95, expected_total=0)


def test_quantile_must_be_a_fraction():
    with pytest.raises(ValueError, match="quantile"):
        slo_clearly_lost([1.0], threshold_ms=1, quantile=95, expected_total=10)


def test_reason_names_the_operation_and_honours_per_operation_overrides():
    # customer_search at 300 ms: fine for the global 500 ms, lost for its own 200 ms override.
    lat = {"customer_search": [300.0] * 100, "sales_order": [50.0] * 900}
    reason = early_stop_reason(lat, errors=0, slo=SLO, expected_total=1000)
    assert reason and "customer_search" in reason and "200" in reason
    assert early_stop_reason({"sales_order": [50.0] * 900}, errors=0, slo=SLO, expected_total=1000) is None


def test_reason_for_errors_over_budget():
    reason = early_stop_reason({"sales_order": [50.0] * 100}, errors=12, slo=SLO, expected_total=1000)
    assert reason and "error" in reason


def test_reason_reads_slo_objects_too():
    class Slo:
        p95_ms = 500
        p99_ms = None
        error_rate = None
        operations = {}

    assert early_stop_reason({"x": [800.0] * 80}, errors=0, slo=Slo(), expected_total=1000)
    assert early_stop_reason({"x": [800.0] * 60}, errors=0, slo=Slo(), expected_total=1000) is None


def test_never_during_the_warm_up_nor_the_first_quarter_only_on_the_bound():
    from loadgen.workload.load_run import EarlyStop

    impossible = {"p95_ms": 0.001, "p99_ms": 0.001, "error_rate": 0.01}
    stop = EarlyStop(impossible, 20.0, in_flight_max=4)
    every_slow = {"lat": {"x": [900.0] * 200}, "errors": 0}
    # a report from before the window (a master hearing its workers late) or inside its first 5 s
    for at in (-1.0, 0.0, 2.0, 4.99):
        assert stop.feed({"at_s": at, **every_slow}) is None
    assert stop.feed({"at_s": 5.0, **every_slow}) and stop.kind == "lost"
    # the first seconds' tail alone: 10 slow of 150 so far in a window expected to hold ~600
    stop = EarlyStop({"p95_ms": 500, "p99_ms": 1e9}, 20.0)
    tail = {"lat": {"x": [900.0] * 10 + [50.0] * 140}, "errors": 0}
    assert stop.feed({"at_s": 5.0, **tail}) is None
