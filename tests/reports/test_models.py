"""Models and projections on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reports.analysis.models import (
    bytes_per_customer,
    customers_for_bytes,
    fit_growth,
    fit_usl,
    usl,
)
from reports.analysis.projection import analyse_profile, projected_capacity
from reports.analysis.samples import quantile_bounds
from tests.reports.synthetic import (
    BYTES_FIXED,
    BYTES_PER_CUSTOMER,
    DISK,
    SEARCH_CROSSING,
    USL_TRUE,
)


def test_latency_curve_crossing_its_slo_is_projected_within_10_percent(synthetic):
    _, doc = synthetic
    grows = doc["profiles"][0]
    models = analyse_profile(grows, 2)
    search = models["latency"]["customer_search"]["p95"]
    assert search["model"] == "linear" and search["projected"] is True and search["r2"] > 0.99
    crossing = search["crossing"]
    assert abs(crossing["estimate"] - SEARCH_CROSSING) / SEARCH_CROSSING < 0.10
    assert crossing["low"] <= crossing["estimate"] <= crossing["high"]
    # the flat operations never reach their SLO within the horizon
    assert models["latency"]["stock_check"]["p95"]["crossing"] is None
    # the sweep held its maximum: the projected capacity is that crossing, labelled with its model
    proj = projected_capacity(grows, 2, models)
    assert abs(proj["projected_max_customers"] - SEARCH_CROSSING) / SEARCH_CROSSING < 0.10
    assert proj["projection"]["projected"] is True and "linear" in proj["projection"]["model"]
    assert proj["projection"]["operation"] == "customer_search"
    assert proj["projection"]["low"] <= proj["projected_max_customers"] <= proj["projection"]["high"]


def test_a_sweep_that_found_a_failing_level_gets_no_projected_capacity(synthetic):
    _, doc = synthetic
    assert projected_capacity(doc["profiles"][1], 2) is None


@pytest.mark.parametrize("form,f", [("log", np.log), ("linear", lambda n: n), ("nlogn", lambda n: n * np.log(n))])
def test_growth_form_is_chosen_on_the_data(form, f):
    rng = np.random.default_rng(3)
    n = np.geomspace(1000, 256_000, 8)
    y = 10 + f(n) / f(n).max() * 300
    fit = fit_growth(n, y * (1 + rng.normal(0, 0.002, len(n))))
    assert fit.form == form
    flat = fit_growth(n, 50 + rng.normal(0, 1, len(n)))
    assert flat.form == "constant" and flat.crossing(500) is None


def test_usl_recovers_sigma_and_kappa_within_5_percent(synthetic):
    _, doc = synthetic
    fronts = analyse_profile(doc["profiles"][1], 2)["frontier"]
    model = fronts[0]["usl"]
    assert fronts[0]["customers"] == 1000
    for key in ("sigma", "kappa", "lambda"):
        assert abs(model[key] - USL_TRUE[key]) / USL_TRUE[key] < 0.05, (key, model[key])
    peak = np.sqrt((1 - USL_TRUE["sigma"]) / USL_TRUE["kappa"])
    assert abs(model["peak_operators"] - peak) / peak < 0.05


def test_usl_with_noise():
    rng = np.random.default_rng(11)
    u = np.array([1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128.0])
    x = usl(u, 25, 0.08, 0.0002) * (1 + rng.normal(0, 0.005, len(u)))
    model = fit_usl(u, x)
    assert abs(model["sigma"] - 0.08) / 0.08 < 0.05 and abs(model["kappa"] - 0.0002) / 0.0002 < 0.05
    assert fit_usl([1, 2], [1, 2]) is None  # fewer than three levels: no fit
    # throughput already flat (falling) over the levels measured: no USL shape, no peak to report
    assert fit_usl([20, 24, 28, 40], [68, 62, 63, 62]) is None


def test_known_disk_limit(synthetic):
    _, doc = synthetic
    size = analyse_profile(doc["profiles"][0], 2)["size"]
    assert size["per_customer"] == pytest.approx(BYTES_PER_CUSTOMER)
    expected = (DISK - BYTES_FIXED) / BYTES_PER_CUSTOMER
    assert size["disk_full"]["estimate"] == pytest.approx(expected, abs=1)
    memory = 2 * 1024**3
    assert size["memory_outgrown"]["estimate"] == pytest.approx((memory - BYTES_FIXED) / BYTES_PER_CUSTOMER, abs=1)
    # a noisy size gives an interval around the estimate
    rng = np.random.default_rng(5)
    n = np.array([1000, 4000, 16000, 64000.0])
    noisy = bytes_per_customer(n, 1e6 + 30_000 * n * (1 + rng.normal(0, 0.01, len(n))))
    limit = customers_for_bytes(noisy, 100e9)
    assert limit["low"] < limit["estimate"] < limit["high"]
    assert abs(limit["estimate"] - (100e9 - 1e6) / 30_000) / ((100e9 - 1e6) / 30_000) < 0.05


def test_percentile_bounds_hold_the_true_percentile_about_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    true_p95 = np.exp(1.6448536269514722)  # log-normal(0, 1)
    hits = 0
    trials = 300
    for _ in range(trials):
        low, high = quantile_bounds(np.sort(rng.lognormal(0, 1, 400)), 95)
        hits += low <= true_p95 <= high
    assert 0.90 <= hits / trials <= 0.995
    low, high = quantile_bounds(np.sort(rng.random(20)), 99)
    assert high is None  # 20 samples cannot bound a p99 from above
