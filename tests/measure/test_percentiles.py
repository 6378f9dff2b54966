"""Percentiles come from the raw samples, exactly (no buckets), after the warm-up only."""

from __future__ import annotations

import numpy as np
import pytest

from loadgen.measure.percentiles import PERCENTILE_METHOD, summarise_file
from loadgen.measure.samples import SampleBuffer, SampleWriter


def _write(path, rows):
    w = SampleWriter(path, batch_rows=1000)  # several row groups
    buf = SampleBuffer()
    for r in rows:
        buf.append(*r)
    w.add(buf.take())
    w.close()
    return w.rows


def test_percentiles_match_numpy_on_known_data(tmp_path):
    rng = np.random.default_rng(7)
    n = 5000
    lat = rng.lognormal(3.0, 1.0, n)          # heavy-tailed, non-bucket values like 17.3081...
    ops = rng.choice(["customer_search", "customer_view", "sales_order_create"], n)
    outcome = rng.choice(["success", "refusal", "error"], n, p=[0.9, 0.07, 0.03])
    rows = [(1, "sales", ops[i], 100.0 + i, 100.0 + i, float(lat[i]), float(lat[i]), 200, outcome[i], "measure")
            for i in range(n)]
    # Warm-up rows far slower than anything measured, and logins: neither may count.
    rows += [(1, "sales", "customer_view", 1.0, 1.0, 1e6, 1e6, 200, "success", "warmup")] * 300
    rows += [(1, "sales", "login", 200.0, 200.0, 5e5, 5e5, 200, "success", "measure")] * 20
    path = tmp_path / "samples.parquet"
    assert _write(path, rows) == n + 320

    s = summarise_file(path, duration_s=10.0)
    assert s["requests"] == n
    assert s["warmup_requests"] == 300
    assert s["logins"]["count"] == 20
    want = np.percentile(lat, [50, 95, 99], method=PERCENTILE_METHOD)
    assert s["latency_ms"]["p50"] == pytest.approx(want[0], abs=1e-3)
    assert s["latency_ms"]["p95"] == pytest.approx(want[1], abs=1e-3)
    assert s["latency_ms"]["p99"] == pytest.approx(want[2], abs=1e-3)
    assert s["latency_ms"]["max"] == pytest.approx(lat.max(), abs=1e-3)
    # "higher": the reported p99 is an observed latency with at least 99 % of samples at or below it
    assert np.isclose(lat, s["latency_ms"]["p99"], atol=1e-3).any()
    assert (lat <= s["latency_ms"]["p99"] + 1e-3).mean() >= 0.99
    assert s["errors"] == int((outcome == "error").sum())
    assert s["refusals"] == int((outcome == "refusal").sum())
    assert s["error_rate"] == pytest.approx(s["errors"] / n, abs=1e-6)
    assert s["rps"] == pytest.approx(n / 10.0)
    assert s["goodput_rps"] == pytest.approx(int((outcome == "success").sum()) / 10.0)
    for op in ("customer_search", "customer_view", "sales_order_create"):
        sel = lat[ops == op]
        o = s["operations"][op]
        assert o["requests"] == len(sel)
        assert o["p95_ms"] == pytest.approx(np.percentile(sel, 95, method=PERCENTILE_METHOD), abs=1e-3)
        assert o["p99_ms"] == pytest.approx(np.percentile(sel, 99, method=PERCENTILE_METHOD), abs=1e-3)
        assert o["errors"] == int(((ops == op) & (outcome == "error")).sum())
    assert "login" not in s["operations"]


def test_no_measured_requests_gives_empty_figures(tmp_path):
    path = tmp_path / "samples.parquet"
    _write(path, [(1, "sales", "customer_view", 1.0, 1.0, 3.0, 3.0, 200, "success", "warmup")])
    s = summarise_file(path, duration_s=5.0)
    assert s["requests"] == 0 and s["latency_ms"]["p99"] is None and s["error_rate"] is None
