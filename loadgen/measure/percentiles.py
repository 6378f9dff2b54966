"""Exact percentiles from raw samples, after the warm-up.

Method: ``numpy.percentile(..., method="higher")`` — the reported p-th percentile is always a latency
that was actually observed, namely the sample at sorted index ``ceil((n - 1) * p / 100)``; at least
p % of the measured requests took no longer than it. Nothing is bucketed or interpolated (Locust's
own statistics round response times into buckets and are not used here).

What enters the percentiles: every *measured* request (``phase == "measure"``) of a workload
operation, whatever its outcome — a refusal is a real answer the operator waited for, and hiding
errors would hide the slow ones (timeouts). Logins are excluded (each operator logs in once, during
the warm-up; they are reported apart). Error rate = errors / requests; goodput counts successes only.

Confidence bounds: each operation's p95 and p99 also get the distribution-free 95 % interval of
:mod:`loadgen.measure.bounds` (``p95_ci_ms``, ``p99_ci_ms``: ``[low, high]``, either None when no
order statistic is far enough out). The point percentiles and the bounds are order statistics of the
same sorted sample, taken with one ``numpy.partition`` per operation on just the ranks needed, not a
full sort.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loadgen.measure.bounds import CONFIDENCE, quantile_ranks
from loadgen.measure.collector import EXCLUDED_OPERATIONS  # one rule for the figures and the early stop

PERCENTILE_METHOD = "higher"


def percentiles(values: np.ndarray, qs=(50, 95, 99)) -> list[float]:
    """Exact percentiles of ``values`` (see the module docstring for the method)."""
    if len(values) == 0:
        return [float("nan")] * len(qs)
    return [float(v) for v in np.percentile(values, qs, method=PERCENTILE_METHOD)]


CI_QUANTILES = {"p95": 0.95, "p99": 0.99}


def _higher_index(n: int, q: float) -> int:
    """The 0-based sorted index numpy's method "higher" reads for percentile ``q`` (in %)."""
    return min(n - 1, int(np.ceil((n - 1) * q / 100.0 - 1e-12)))


def percentiles_and_bounds(values: np.ndarray, qs=(50, 95, 99), *, bounds: bool = True,
                           confidence: float = CONFIDENCE) -> tuple[list[float], dict[str, list]]:
    """Exact percentiles (method "higher") and (``bounds``) the order-statistic interval of p95 and
    p99 (95 % unless ``confidence`` says otherwise), from one partial sort on the ranks they need."""
    n = len(values)
    if n == 0:
        return [float("nan")] * len(qs), {k: [None, None] for k in CI_QUANTILES}
    ranks = {k: quantile_ranks(n, q, confidence) for k, q in CI_QUANTILES.items()} if bounds else {}
    idx = {_higher_index(n, q) for q in qs} | {r - 1 for lu in ranks.values() for r in lu if r is not None}
    kth = sorted(idx)
    part = np.partition(values, kth) if n > 1 else np.asarray(values)
    pts = [float(part[_higher_index(n, q)]) for q in qs]
    cis = {k: [None if r is None else _r(float(part[r - 1])) for r in lu] for k, lu in ranks.items()}
    return pts, cis


def _r(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 3)


def _codes(values) -> tuple[np.ndarray, list[str]]:
    codes, names = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return codes, [str(n) for n in names]


def summarise_frame(df: pd.DataFrame, duration_s: float, *, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Step figures from a samples frame (all phases; only ``measure`` rows count); the operations'
    intervals at ``confidence`` (95 % unless a caller judges a later look, loadgen.capacity.pooling)."""
    return _summarise(df["latency_ms"].to_numpy(dtype=np.float64), _codes(df["operation"]),
                      _codes(df["outcome"]), _codes(df["phase"]), duration_s, confidence)


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
               phases: tuple[np.ndarray, list[str]], duration_s: float,
               confidence: float = CONFIDENCE) -> dict[str, Any]:
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
    (p50, p95, p99), _ = percentiles_and_bounds(m_lat, bounds=False)
    ops_out: dict[str, dict[str, Any]] = {}
    for code in np.unique(m_op) if n else []:
        sel = m_op == code
        olat, oout = m_lat[sel], m_out[sel]
        (q50, q95, q99), cis = percentiles_and_bounds(olat, confidence=confidence)
        ops_out[op_names[int(code)]] = {
            "requests": int(len(olat)),
            "p50_ms": _r(q50),
            "p95_ms": _r(q95),
            "p99_ms": _r(q99),
            "p95_ci_ms": cis["p95"],
            "p99_ci_ms": cis["p99"],
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
        "mean_ms": _r(float(m_lat.mean())) if n else None,
        "percentile_method": f"numpy.percentile method={PERCENTILE_METHOD!r} on raw samples",
        "confidence_bounds": f"{confidence * 100:g} % distribution-free order-statistic interval (binomial, equal tails) per operation",
    }


def count_measured(path: Path) -> int:
    table = pq.read_table(path, columns=["phase"])
    return int(pc.sum(pc.equal(table["phase"], "measure")).as_py() or 0)


__all__ = ["CI_QUANTILES", "EXCLUDED_OPERATIONS", "PERCENTILE_METHOD", "percentiles", "percentiles_and_bounds", "summarise_file", "summarise_frame"]
