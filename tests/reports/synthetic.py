"""Synthetic results with known answers: a ``capacity.json`` and, per step, ``step.json``,
``samples.parquet`` and ``resources.csv`` shaped as a sweep writes them.

* Profile ``grows`` (1 CPU, 2 GiB, 10 GiB disk, 100 CNY a month) passes every level up to its
  maximum: every operation's p95 is flat at ~30 ms except ``customer_search``, whose p95 is
  ``SEARCH_P95(N) = 20 + 0.01 N`` ms — it would cross the 500 ms SLO at N = 48,000; its database
  holds ``5 MB + 20 kB × N`` (the 10 GiB disk is full at ~536,000 customers).
* Profile ``frontier`` fails at 8,000 customers (customer_search far over its SLO, app CPU
  busy) and has an operator frontier at 1,000 customers whose throughput follows the USL with
  λ = 10/s, σ = 0.05, κ = 0.0005 (peak at √((1 − σ)/κ) ≈ 43.6 operators).

The samples of an operation are log-normal, scaled so that their p95 is the intended one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from reports.analysis.models import usl
from reports.analysis.samples import operation_figures

OPERATIONS = ("customer_search", "customer_view", "sales_order_create", "stock_check", "report_top_customers")
SLO = {"p95_ms": 500.0, "p99_ms": 1500.0, "error_rate": 0.01, "operations": {}}
SEARCH_CROSSING = 48_000
BYTES_FIXED, BYTES_PER_CUSTOMER = 5_000_000, 20_000
DISK = 10 * 1024**3
USL_TRUE = {"lambda": 10.0, "sigma": 0.05, "kappa": 0.0005}
Z95 = 1.6448536269514722


def search_p95(n: float) -> float:
    return 20.0 + 0.01 * n


def _profile(name: str, **hardware) -> dict:
    return {
        "name": name,
        "hardware": {"cpus": 1.0, "cpuset": None, "memory": 2 * 1024**3, **hardware},
        "database": {"engine": "postgresql", "managed": True, "url": None, "settings": {}, "index_level": "tuned"},
        "architecture": {"kind": "monolith", "workers": 2},
        "workload": {"mix": {"sales": 0.7, "clerk": 0.2, "manager": 0.1}, "think_time_s": [1.0, 3.0], "operators": 50,
                     "rate": None, "customer_quota": 1000, "weights": {}},
        "slo": SLO,
        "sweep": {"start_customers": 1000, "growth": 2.0, "max_customers": 32000, "precision": 0.1,
                  "step_duration_s": 60.0, "warmup_s": 10.0, "repeats": 1, "operators": None},
    }


def _samples(rng: np.random.Generator, p95_by_op: dict[str, float], n: int, duration_s: float) -> pd.DataFrame:
    per = max(1, n // len(p95_by_op))
    frames = []
    sigma = 0.6
    for op, p95 in p95_by_op.items():
        median = p95 / math.exp(Z95 * sigma)
        lat = rng.lognormal(math.log(median), sigma, per)
        frames.append(pd.DataFrame({"operation": op, "latency_ms": lat}))
    df = pd.concat(frames, ignore_index=True)
    m = len(df)
    start = np.sort(rng.uniform(0, duration_s, m))
    outcome = np.where(rng.random(m) < 0.002, "refusal", "success").astype(object)
    return pd.DataFrame({
        "worker": np.zeros(m, dtype=np.int16), "persona": "sales", "operation": df["operation"].to_numpy(),
        "intended_start_s": start, "start_s": start, "latency_ms": df["latency_ms"].to_numpy(),
        "service_ms": df["latency_ms"].to_numpy(), "status": np.where(outcome == "refusal", 409, 200).astype(np.int16),
        "outcome": outcome, "phase": "measure",
    })


def _write_samples(path: Path, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    for col in ("persona", "operation", "outcome", "phase"):
        idx = table.schema.get_field_index(col)
        table = table.set_column(idx, col, table[col].dictionary_encode())
    pq.write_table(table, path)


def _step(root: Path, rng, profile: str, customers: int, operators: int, p95_by_op: dict[str, float], *,
          rps: float, app_cpu_pct: float, db_bytes: float, samples: int, search: str, passed: bool | None = None) -> dict:
    rel = f"{profile}/c{customers}-u{operators}-r0"
    d = root / rel
    d.mkdir(parents=True, exist_ok=True)
    duration = 60.0
    df = _samples(rng, p95_by_op, samples, duration)
    _write_samples(d / "samples.parquet", df)
    ops = operation_figures(d / "samples.parquet")
    stored = {k: {f: o[f] for f in ("requests", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors", "refusals")} for k, o in ops.items()}
    lat = df["latency_ms"].to_numpy()
    over = any(o["p95_ms"] > SLO["p95_ms"] or o["p99_ms"] > SLO["p99_ms"] for o in stored.values())
    n = len(df)
    refusals = int((df["outcome"] == "refusal").sum())
    step = {
        "customers": customers, "operators": operators, "duration_s": duration, "requests": n, "rps": rps,
        "error_rate": 0.0, "passed": (not over) if passed is None else passed,
        "latency_ms": {k: float(np.percentile(lat, q, method="higher")) for k, q in (("p50", 50), ("p95", 95), ("p99", 99))} | {"max": float(lat.max())},
        "operations": stored,
        "resources": {"app_cpu_pct": app_cpu_pct, "db_cpu_pct": app_cpu_pct / 2, "loadgen_cpu_pct": 10.0,
                      "app_rss_mb": 300.0, "db_rss_mb": 200.0, "db_bytes": db_bytes},
        "valid": True, "invalid_reason": None, "errors": 0, "refusals": refusals, "goodput_rps": rps * (1 - refusals / n),
        "measured_s": duration, "warmup_s": 10.0,
        "search": search, "phase": "grow", "repeat": 0, "dir": rel,
    }
    (d / "step.json").write_text(json.dumps({"schema": 1, **step}))
    t = np.arange(int(duration))
    pd.DataFrame({"ts": 1.7e9 + t, "app_cpu_pct": app_cpu_pct + rng.normal(0, 1, len(t)), "app_rss_mb": 300.0,
                  "db_cpu_pct": app_cpu_pct / 2, "db_rss_mb": 200.0, "loadgen_cpu_pct": 10.0, "loadgen_rss_mb": 100.0,
                  "db_bytes": db_bytes}).to_csv(d / "resources.csv", index=False)
    return step


def write_results(root: Path, *, samples_per_step: int = 4000, levels: tuple[int, ...] = (1000, 2000, 4000, 8000, 16000, 32000),
                  seed: int = 7, machine: dict | None = None, tool_version: str = "0.1.0") -> dict:
    """Write the synthetic sweep into ``root``; return the capacity document."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    flat = {op: 30.0 for op in OPERATIONS if op != "customer_search"}
    grows_steps = [
        _step(root, rng, "grows", n, 50, {"customer_search": search_p95(n), **flat}, rps=20.0, app_cpu_pct=20.0 + 0.0005 * n,
              db_bytes=BYTES_FIXED + BYTES_PER_CUSTOMER * n, samples=samples_per_step, search="customers")
        for n in levels
    ]
    grows = {
        "name": "grows", "profile": _profile("grows", disk=DISK, price={"amount": 100.0, "currency": "CNY", "per": "month"}),
        "complete": True, "operators": 50, "rate": None,
        "max_customers": levels[-1], "first_failing_customers": None, "projected_max_customers": None, "projection": None,
        "limiting_factor": None,
        "search": {"max_passing": levels[-1], "first_failing": None, "steps": len(levels), "stopped": None, "uncertain": False,
                   "boundary_agreed": True, "notes": [], "precision": 0.1, "repeats": 1},
        "frontier": [], "steps": grows_steps,
    }
    main = [
        _step(root, rng, "frontier", n, 50, {"customer_search": 40.0 if n < 8000 else 900.0, **flat}, rps=float(usl(50, USL_TRUE["lambda"], USL_TRUE["sigma"], USL_TRUE["kappa"])),
              app_cpu_pct=40.0 if n < 8000 else 95.0, db_bytes=BYTES_FIXED + BYTES_PER_CUSTOMER * n,
              samples=samples_per_step, search="customers")
        for n in (1000, 2000, 4000, 8000)
    ]
    ladder = (1, 2, 4, 8, 16, 32, 64, 128)
    frontier_steps = [
        _step(root, rng, "frontier", 1000, u, {op: 30.0 for op in OPERATIONS}, rps=float(usl(u, USL_TRUE["lambda"], USL_TRUE["sigma"], USL_TRUE["kappa"])),
              app_cpu_pct=30.0, db_bytes=BYTES_FIXED + BYTES_PER_CUSTOMER * 1000, samples=max(200, samples_per_step // 4),
              search="operators", passed=u <= 64)
        for u in ladder
    ]
    from reports.analysis.limiting import limiting_factor

    prof_f = _profile("frontier", price={"amount": 60.0, "currency": "CNY", "per": "month"})
    failing = main[-1]
    frontier = {
        "name": "frontier", "profile": prof_f, "complete": True, "operators": 50, "rate": None,
        "max_customers": 4000, "first_failing_customers": 8000, "projected_max_customers": None, "projection": None,
        "limiting_factor": limiting_factor(failing, prof_f),
        "search": {"max_passing": 4000, "first_failing": 8000, "steps": 4, "stopped": None, "uncertain": False,
                   "boundary_agreed": True, "notes": [], "precision": 0.1, "repeats": 1},
        "frontier": [{"customers": 1000, "max_operators": 64, "first_failing_operators": 128, "search": {}}],
        "steps": main + frontier_steps,
    }
    doc = {
        "schema": 1, "tool_version": tool_version,
        "machine": machine or {"host": "synthetic", "cpu_model": "Synthetic CPU", "cpu_cores": 2, "cpu_physical_cores": 2,
                               "memory_bytes": 24 * 1024**3, "os": "Linux", "python": "3.11", "git_revision": None, "db_servers": {}},
        "created": "2026-12-01T00:00:00+00:00", "updated": "2026-12-01T00:00:00+00:00", "partial": False,
        "unconstrained": False, "profiles": [grows, frontier],
    }
    (root / "capacity.json").write_text(json.dumps(doc, indent=2))
    return doc


__all__ = ["DISK", "SEARCH_CROSSING", "USL_TRUE", "write_results"]
