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

from loadgen.measure.collector import EXCLUDED_OPERATIONS  # one rule for the figures and the early stop

PERCENTILE_METHOD = "higher"


def percentiles(values: np.ndarray, qs=(50, 95, 99)) -> list[float]:
    """Exact percentiles of ``values`` (see the module docstring for the method)."""
    if len(values) == 0:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(values, qs, method=PERCENTILE_METHOD)]


def _r(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 3)


def _codes(values) -> tuple[np.ndarray, list[str]]:
    codes, names = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return codes, [str(n) for n in names]


def summarise_frame(df: pd.DataFrame, duration_s: float) -> dict[str, Any]:
    """Step figures from a samples frame (all phases; only ``measure`` rows count)."""
    return _summarise(df["latency_ms"].to_numpy(dtype=np.float64), _codes(df["operation"]),
                      _codes(df["outcome"]), _codes(df["phase"]), duration_s)


def summarise_file(path: Path, duration_s: float) -> dict[str, Any]:
    """Step figures straight from a samples Parquet file.

    Reads only four columns, keeps the text columns dictionary-encoded and works on their integer
    codes: 10 M samples take a few seconds and well under 1 GiB (see bench/percentiles.py).
    """
    table = pq.read_table(path, columns=["operation", "latency_ms", "outcome", "phase"],
                          read_dictionary=["operation", "outcome", "phase"]).unify_dictionaries()

    def codes(name: str) -> tuple[np.ndarray, list[str]]:
        col = table[name]
        if col.num_chunks == 0:
            return np.zeros(0, dtype=np.int32), []
        names = col.chunk(0).dictionary.to_pylist()
        idx = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in col.chunks])
        return idx, names

    lat = table["latency_ms"].to_numpy()
    return _summarise(np.asarray(lat, dtype=np.float64), codes("operation"), codes("outcome"), codes("phase"),
                      duration_s)


def _code(names: list[str], name: str) -> int:
    return names.index(name) if name in names else -1


def _summarise(lat: np.ndarray, ops: tuple[np.ndarray, list[str]], outs: tuple[np.ndarray, list[str]],
               phases: tuple[np.ndarray, list[str]], duration_s: float) -> dict[str, Any]:
    op_idx, op_names = ops
    out_idx, out_names = outs
    ph_idx, ph_names = phases
    login = np.isin(op_idx, [_code(op_names, n) for n in EXCLUDED_OPERATIONS])
    keep = (ph_idx == _code(ph_names, "measure")) & ~login
    err_c, ref_c = _code(out_names, "error"), _code(out_names, "refusal")
    m_lat, m_op, m_out = lat[keep], op_idx[keep], out_idx[keep]
    n = int(len(m_lat))
    errors = int((m_out == err_c).sum())
    refusals = int((m_out == ref_c).sum())
    p50, p95, p99 = percentiles(m_lat)
    ops_out: dict[str, dict[str, Any]] = {}
    for code in np.unique(m_op) if n else []:
        sel = m_op == code
        olat, oout = m_lat[sel], m_out[sel]
        q50, q95, q99 = percentiles(olat)
        ops_out[op_names[int(code)]] = {
            "requests": int(len(olat)),
            "p50_ms": _r(q50),
            "p95_ms": _r(q95),
            "p99_ms": _r(q99),
            "max_ms": _r(float(olat.max())),
            "errors": int((oout == err_c).sum()),
            "refusals": int((oout == ref_c).sum()),
        }
    ops_out = dict(sorted(ops_out.items()))
    return {
        "requests": n,
        "rps": round(n / duration_s, 3) if duration_s > 0 else None,
        "goodput_rps": round((n - errors - refusals) / duration_s, 3) if duration_s > 0 else None,
        "error_rate": round(errors / n, 6) if n else None,
        "errors": errors,
        "refusals": refusals,
        "latency_ms": {"p50": _r(p50), "p95": _r(p95), "p99": _r(p99), "max": _r(float(m_lat.max()) if n else float("nan"))},
        "operations": ops_out,
        "warmup_requests": int((ph_idx == _code(ph_names, "warmup")).sum()),
        "logins": {"count": int(login.sum()), "errors": int((login & (out_idx == err_c)).sum())},
        "percentile_method": f"numpy.percentile method={PERCENTILE_METHOD!r} on raw samples",
    }


def count_measured(path: Path) -> int:
    table = pq.read_table(path, columns=["phase"])
    return int(pc.sum(pc.equal(table["phase"], "measure")).as_py() or 0)


__all__ = ["EXCLUDED_OPERATIONS", "PERCENTILE_METHOD", "percentiles", "summarise_file", "summarise_frame"]
