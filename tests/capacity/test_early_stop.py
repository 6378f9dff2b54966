"""The early-stop rule: a running step's SLO is called lost only when no later sample can save it."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.measure.slo import early_stop_reason, slo_clearly_lost

SLO = {"p95_ms": 500, "p99_ms": 1500, "error_rate": 0.01, "operations": {"customer_search": {"p95_ms": 200}}}


def test_lost_once_slow_samples_exceed_the_budget_of_the_whole_window():
    # 1000 requests expected; p95 <= 500 allows at most 50 slow ones (55 with 10 % slack).
    slow = [900.0] * 56
    assert slo_clearly_lost(slow, threshold_ms=500, quantile=0.95, expected_total=1000)
    assert not slo_clearly_lost(slow[:55], threshold_ms=500, quantile=0.95, expected_total=1000)


def test_rule_is_sound_the_final_percentile_really_is_above_the_threshold():
    # When the rule fires, however fast the remaining requests are, numpy's p95 ends above 500.
    rng = np.random.default_rng(3)
    expected = 2000
    for _ in range(200):
        n_so_far = int(rng.integers(50, expected))
        partial = rng.choice([100.0, 900.0], size=n_so_far, p=[0.85, 0.15])
        if slo_clearly_lost(partial, threshold_ms=500, quantile=0.95, expected_total=expected, slack=0.0):
            final = np.concatenate([partial, np.full(expected - n_so_far, 1.0)])
            assert np.percentile(final, 95) > 500


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

    assert early_stop_reason({"x": [800.0] * 60}, errors=0, slo=Slo(), expected_total=1000)
    assert early_stop_reason({"x": [800.0] * 40}, errors=0, slo=Slo(), expected_total=1000) is None
