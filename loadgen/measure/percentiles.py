"""Exact percentiles from raw samples, after the warm-up.

Method: ``numpy.percentile(..., method="higher")`` — the reported p-th percentile is always a latency
that was actually observed, namely the sample at sorted index ``ceil((n - 1) * p / 100)``; at least
p % of the measured requests took no longer than it. Nothing is bucketed or interpolated (Locust's
own statistics round response times into buckets and are not used here).

What enters the percentiles: every *measured* request (``phase == "measure"``) of a workload
operation, whatever its outcome — a refusal is a real answer the operator waited for, and hiding
errors would hide the slow ones (timeouts). Logins are excluded (each operator logs in once, during
the warm-up; they are reported apart). Error rate = errors / requests; goodput counts successes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

PERCENTILE_METHOD = "higher"
EXCLUDED_OPERATIONS = ("login",)


def percentiles(values: np.ndarray, qs=(50, 95, 99)) -> list[float]:
    """Exact percentiles of ``values`` (see the module docstring for the method)."""
    if len(values) == 0:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(values, qs, method=PERCENTILE_METHOD)]


def _r(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 3)


def summarise_frame(df: pd.DataFrame, duration_s: float) -> dict[str, Any]:
    """Step figures from a samples frame (all phases; only ``measure`` rows count)."""
    m = df[(df["phase"] == "measure") & ~df["operation"].isin(EXCLUDED_OPERATIONS)]
    lat = m["latency_ms"].to_numpy(dtype=np.float64)
    outcome = m["outcome"].astype(str).to_numpy() if len(m) else np.array([], dtype=str)
    n = int(len(lat))
    errors = int((outcome == "error").sum())
    refusals = int((outcome == "refusal").sum())
    p50, p95, p99 = percentiles(lat)
    ops: dict[str, dict[str, Any]] = {}
    if n:
        op_codes, op_names = pd.factorize(m["operation"].astype(str), sort=True)
        order = np.argsort(op_codes, kind="stable")
        bounds = np.searchsorted(op_codes[order], np.arange(len(op_names) + 1))
        for i, name in enumerate(op_names):
            idx = order[bounds[i]:bounds[i + 1]]
            olat = lat[idx]
            oout = outcome[idx]
            q50, q95, q99 = percentiles(olat)
            ops[str(name)] = {
                "requests": int(len(idx)),
                "p50_ms": _r(q50),
                "p95_ms": _r(q95),
                "p99_ms": _r(q99),
                "max_ms": _r(float(olat.max())),
                "errors": int((oout == "error").sum()),
                "refusals": int((oout == "refusal").sum()),
            }
    logins = df[df["operation"] == "login"]
    return {
        "requests": n,
        "rps": round(n / duration_s, 3) if duration_s > 0 else None,
        "goodput_rps": round((n - errors - refusals) / duration_s, 3) if duration_s > 0 else None,
        "error_rate": round(errors / n, 6) if n else None,
        "errors": errors,
        "refusals": refusals,
        "latency_ms": {"p50": _r(p50), "p95": _r(p95), "p99": _r(p99), "max": _r(float(lat.max()) if n else float("nan"))},
        "operations": ops,
        "warmup_requests": int((df["phase"] == "warmup").sum()),
        "logins": {"count": int(len(logins)), "errors": int((logins["outcome"] == "error").sum())},
        "percentile_method": f"numpy.percentile method={PERCENTILE_METHOD!r} on raw samples",
    }


def summarise_file(path: Path, duration_s: float) -> dict[str, Any]:
    """Step figures straight from a samples Parquet file, reading only the columns needed."""
    table = pq.read_table(path, columns=["operation", "latency_ms", "outcome", "phase"])
    df = table.to_pandas()
    return summarise_frame(df, duration_s)


def count_measured(path: Path) -> int:
    table = pq.read_table(path, columns=["phase"])
    return int(pc.sum(pc.equal(table["phase"], "measure")).as_py() or 0)


__all__ = ["EXCLUDED_OPERATIONS", "PERCENTILE_METHOD", "percentiles", "summarise_file", "summarise_frame"]
