"""Per-step figures from the raw files of a step: every operation's percentiles with distribution-free
confidence bounds, throughput, goodput, errors, refusals, CPU ms per request and Little's law.

Reads ``samples.parquet`` (only four columns, text kept dictionary-encoded) and ``resources.csv``;
where a step's directory or its samples are gone, the figures ``capacity.json`` holds are used and
the bounds are left empty. Fields other branches add to step.json (``p95_ci_ms``, ``littles_law``) are
taken as they are when present.

**Bounds**: the same order-statistic interval the step judged by (:mod:`loadgen.measure.bounds`:
ranks from the binomial law, equal tails, 95 %), so that a report never shows other bounds than the
verdict used. When no upper rank exists (too few samples to bound that percentile from above) it is
reported as ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from loadgen.measure.bounds import CONFIDENCE, quantile_ranks
from loadgen.measure.collector import EXCLUDED_OPERATIONS  # logins are reported apart, as in the step
QUANTILES = (50, 95, 99)


def quantile_bounds(sorted_values: np.ndarray, q: float, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """Distribution-free bounds of the ``q``-th percentile (0-100) from sorted samples (see module)."""
    low, high = quantile_ranks(len(sorted_values), q / 100.0, confidence)
    return (None if low is None else float(sorted_values[low - 1]),
            None if high is None else float(sorted_values[high - 1]))


def _higher(sorted_values: np.ndarray, q: float) -> float:
    """numpy.percentile(method="higher") on already sorted values."""
    n = len(sorted_values)
    return float(sorted_values[min(n - 1, int(np.ceil((n - 1) * q / 100.0 - 1e-12)))])


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, list[str]] | None:
    """Measured, non-login samples: latency, operation codes and names, outcome codes and names."""
    if not path.is_file():
        return None
    table = pq.read_table(path, columns=["operation", "latency_ms", "outcome", "phase"],
                          read_dictionary=["operation", "outcome", "phase"]).unify_dictionaries()
    if table.num_rows == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int32), [], np.zeros(0, dtype=np.int32), []

    def codes(name: str) -> tuple[np.ndarray, list[str]]:
        col = table[name]
        names = col.chunk(0).dictionary.to_pylist()
        return np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in col.chunks]), names

    op, op_names = codes("operation")
    out, out_names = codes("outcome")
    ph, ph_names = codes("phase")
    keep = ph == (ph_names.index("measure") if "measure" in ph_names else -1)
    for name in EXCLUDED_OPERATIONS:
        if name in op_names:
            keep &= op != op_names.index(name)
    lat = np.asarray(table["latency_ms"].to_numpy(), dtype=np.float64)
    return lat[keep], op[keep], op_names, out[keep], out_names


def operation_figures(path: Path) -> dict[str, dict] | None:
    """Per operation from ``samples.parquet``: requests, p50/p95/p99 (method "higher") each with its
    bounds, max, errors, refusals, mean latency. None when the file is absent."""
    read = _read(Path(path))
    if read is None:
        return None
    lat, op, op_names, out, out_names = read
    err = out_names.index("error") if "error" in out_names else -1
    ref = out_names.index("refusal") if "refusal" in out_names else -1
    order = np.lexsort((lat, op))  # one sort: by operation, then latency
    lat, op, out = lat[order], op[order], out[order]
    figures: dict[str, dict] = {}
    edges = np.flatnonzero(np.diff(op)) + 1
    for start, stop in zip(np.r_[0, edges], np.r_[edges, len(op)], strict=True):
        if stop <= start:
            continue
        values = lat[start:stop]
        oc = out[start:stop]
        row: dict = {"requests": int(stop - start), "mean_ms": float(values.mean()), "max_ms": float(values[-1]),
                     "errors": int((oc == err).sum()), "refusals": int((oc == ref).sum())}
        for q in QUANTILES:
            row[f"p{q}_ms"] = _higher(values, q)
            low, high = quantile_bounds(values, q)
            row[f"p{q}_ci_ms"] = [low, high]
        figures[op_names[int(op[start])]] = row
    return dict(sorted(figures.items()))


def think_ranges(profile: Mapping) -> dict[str, tuple[float, float]]:
    """The profile's think times per persona, ``[min, max]`` s (older profiles: one range for all)."""
    think = ((profile or {}).get("workload") or {}).get("think_time_s")
    if not think:
        return {}
    if isinstance(think, Mapping):
        return {p: (float(v[0]), float(v[-1])) for p, v in think.items()}
    return {"*": (float(think[0]), float(think[-1]))}


def _think_mean(profile: Mapping, step: Mapping | None = None) -> float | None:
    """Mean think time of the step's operators: per persona, weighted by who was online."""
    ranges = think_ranges(profile)
    if not ranges:
        return None
    means = {p: (lo + hi) / 2 for p, (lo, hi) in ranges.items()}
    if "*" in means:
        return means["*"]
    online = ((step or {}).get("staffing") or {}).get("online") or {}
    weights = {p: n for p, n in online.items() if n and p in means}
    if not weights:
        return sum(means.values()) / len(means)
    return sum(means[p] * n for p, n in weights.items()) / sum(weights.values())


def littles_law(step: Mapping, profile: Mapping, mean_latency_ms: float | None) -> dict | None:
    """Closed model: U operators each wait R (latency) then think Z, so the rate to expect is
    U / (R + Z); ``ratio`` = measured / expected (near 1 when the generator kept its users busy)."""
    given = step.get("littles_law")
    if isinstance(given, Mapping) and given.get("ratio") is not None:
        return dict(given)
    operators, rps, z = step.get("operators"), step.get("rps"), _think_mean(profile, step)
    if not operators or rps is None or z is None or mean_latency_ms is None:
        return None
    expected = operators / (z + mean_latency_ms / 1000.0)
    return {"expected_rps": round(expected, 3), "measured_rps": rps, "ratio": round(rps / expected, 4) if expected else None}


def resource_figures(path: Path) -> dict | None:
    """Mean and peak of ``resources.csv`` columns over the step (CPU %, RSS MB), last DB size."""
    if not Path(path).is_file():
        return None
    df = pd.read_csv(path)
    if df.empty:
        return None
    out: dict = {"samples": len(df)}
    for col in ("app_cpu_pct", "db_cpu_pct", "loadgen_cpu_pct"):
        if col in df:
            out[f"{col}_mean"] = float(df[col].mean())
            out[f"{col}_peak"] = float(df[col].max())
    for col in ("app_rss_mb", "db_rss_mb", "loadgen_rss_mb"):
        if col in df:
            out[f"{col}_peak"] = float(df[col].max())
    if "db_bytes" in df:
        out["db_bytes_last"] = float(df["db_bytes"].iloc[-1])
    return out


def db_cpu_sampled(profile: Mapping) -> bool:
    """SQLite works inside the app processes and an external server is not sampled."""
    db = (profile or {}).get("database") or {}
    return db.get("engine") not in (None, "sqlite") and db.get("managed") is not False


def step_figures(step: Mapping, profile: Mapping, root: Path | None, *, read_samples: bool = True) -> dict:
    """One step's analysed figures: the contract fields, completed from its raw files."""
    res = step.get("resources") or {}
    rps = step.get("rps")
    ops_stored = step.get("operations") or {}
    ops = None
    step_dir = Path(root) / step["dir"] if root is not None and step.get("dir") else None
    if read_samples and step_dir is not None:
        ops = operation_figures(step_dir / "samples.parquet")
    if ops is None:
        ops = {name: {k: v for k, v in o.items()} for name, o in ops_stored.items()}
    for name, o in ops.items():  # another branch's bounds or verdicts win where they exist
        stored = ops_stored.get(name) or {}
        for key in ("p95_ci_ms", "p99_ci_ms", "verdict"):
            if stored.get(key) is not None:
                o[key] = stored[key]
    total = sum(o.get("requests") or 0 for o in ops.values())
    mean_latency = (sum((o.get("mean_ms") or 0) * (o.get("requests") or 0) for o in ops.values()) / total
                    if total and all(o.get("mean_ms") is not None for o in ops.values()) else None)
    app_ms = res.get("app_cpu_pct") * 10.0 / rps if rps and res.get("app_cpu_pct") is not None else None
    db_ms = res.get("db_cpu_pct") * 10.0 / rps if rps and res.get("db_cpu_pct") is not None and db_cpu_sampled(profile) else None
    errors = step.get("errors")
    if errors is None:
        errors = sum(o.get("errors") or 0 for o in ops.values())
    refusals = step.get("refusals")
    if refusals is None:
        refusals = sum(o.get("refusals") or 0 for o in ops.values())
    return {
        "customers": step.get("customers"),
        "operators": step.get("operators"),
        "search": step.get("search", "customers"),
        "valid": step.get("valid"),
        "passed": step.get("passed"),
        "verdict": step.get("verdict"),
        "rps": rps,
        "goodput_rps": step.get("goodput_rps"),
        "errors": errors,
        "refusals": refusals,
        "error_rate": step.get("error_rate"),
        "app_cpu_ms_per_request": app_ms,
        "db_cpu_ms_per_request": db_ms,
        "littles_law": littles_law(step, profile, mean_latency),
        "operations": ops,
        "resources_detail": resource_figures(step_dir / "resources.csv") if step_dir is not None else None,
    }


__all__ = ["CONFIDENCE", "db_cpu_sampled", "littles_law", "think_ranges", "operation_figures", "quantile_bounds", "resource_figures",
           "step_figures"]
