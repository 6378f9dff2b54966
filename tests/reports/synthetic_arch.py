"""Synthetic results of four profiles that differ only in architecture, with known answers for the
section "Architectures at equal allowance" (the same 1 CPU / 2 GiB, engine, load and SLO; rps 20 at
every step, so CPU ms per request = CPU % / 2):

======================== ======= ============= ============ ================================ ===========
profile                  kind    database      held / fails  p95 at 2,000 (ms)               CPU ms/req
======================== ======= ============= ============ ================================ ===========
arch-monolith-local      mono    local         4,000 / 8,000 30 everywhere                     10 + 5 = 15
arch-monolith-far        mono    0.5 ms away   2,000 / 4,000 40; customer_view 70              11 + 5 = 16
arch-micro-local         micro   local         2,000 / 4,000 50; sales_order_create 150        25 + 7 = 32
arch-micro-far           micro   0.5 ms away   1,000 / 2,000 90; sales_order_create 700        28 + 7 = 35
======================== ======= ============= ============ ================================ ===========

The common level is 2,000 (every one measured it; arch-micro-far failed there). What stopped each:
monolith-local the CPU (95 % of the quota) on sales_order_create; monolith-far nothing saturated
(waits) on customer_view; micro-local the CPU, busiest service inventory, on sales_order_create;
micro-far nothing saturated on sales_order_create. Microservices' CPU per service at 2,000:
micro-local gateway 5, customers 5, inventory 10, orders 5 ms; micro-far 6, 5.5, 11, 5.5 ms.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd

from reports.analysis.limiting import limiting_factor
from reports.analysis.samples import operation_figures
from tests.reports.synthetic import _samples, _write_samples

OPS = ("customer_search", "customer_view", "sales_order_create", "stock_check")
SLO = {"p95_ms": 500.0, "p99_ms": 1500.0, "error_rate": 0.01, "operations": {}}
RPS = 20.0
LOCAL, FAR = None, {"rtt_ms": 0.5, "bandwidth": None}
NAMES = ("arch-monolith-local", "arch-monolith-far", "arch-micro-local", "arch-micro-far")
LEVEL = 2000
P95 = {  # at the common level
    "arch-monolith-local": dict.fromkeys(OPS, 30.0),
    "arch-monolith-far": {**dict.fromkeys(OPS, 40.0), "customer_view": 70.0},
    "arch-micro-local": {**dict.fromkeys(OPS, 50.0), "sales_order_create": 150.0},
    "arch-micro-far": {**dict.fromkeys(OPS, 90.0), "sales_order_create": 700.0},
}
CPU_MS = {"arch-monolith-local": (10.0, 5.0), "arch-monolith-far": (11.0, 5.0), "arch-micro-local": (25.0, 7.0),
          "arch-micro-far": (28.0, 7.0)}  # (app, database) at the common level
SERVICES_MS = {"arch-micro-local": {"gateway": 5.0, "customers": 5.0, "inventory": 10.0, "orders": 5.0},
               "arch-micro-far": {"gateway": 6.0, "customers": 5.5, "inventory": 11.0, "orders": 5.5}}


def profile(name: str, kind: str, network: dict | None, **over) -> dict:
    arch = {"kind": kind, "workers": 2, "replicas": {}, "network": network}
    prof = {
        "name": name,
        "hardware": {"cpus": 1.0, "cpuset": None, "memory": 2 * 1024**3, "disk": None, "price": None},
        "database": {"engine": "postgresql", "managed": True, "url": None, "settings": {"shared_buffers": "512MB"},
                     "index_level": "tuned", "durability": "full"},
        "architecture": arch,
        "workload": {"think_time_s": {"sales": [3.0, 15.0]}, "operators": None, "rate": None, "customer_quota": 1000},
        "slo": copy.deepcopy(SLO),
        "sweep": {"start_customers": 1000, "growth": 2.0, "max_customers": 64000, "precision": 0.1,
                  "step_duration_s": 60.0, "warmup_s": 10.0, "repeats": 1},
        "maintenance": {"backup_window": None, "measure_backup": False},
    }
    for path, value in over.items():  # "hardware.memory": 1024**3
        node = prof
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return prof


def _step(root: Path, rng, name: str, customers: int, p95: dict[str, float], *, app_ms: float, db_ms: float,
          services_ms: dict[str, float] | None, samples: int) -> dict:
    rel = f"{name}/c{customers}-r0"
    d = root / rel
    d.mkdir(parents=True, exist_ok=True)
    df = _samples(rng, p95, samples, 60.0)
    _write_samples(d / "samples.parquet", df)
    ops = operation_figures(d / "samples.parquet")
    stored = {k: {f: o[f] for f in ("requests", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors", "refusals")}
              for k, o in ops.items()}
    passed = all(p <= SLO["p95_ms"] for p in p95.values())
    lat = df["latency_ms"].to_numpy()
    resources = {"app_cpu_pct": app_ms * RPS / 10.0, "db_cpu_pct": db_ms * RPS / 10.0, "cpu_allowance_cores": 1.0,
                 "cpu_allowance_source": "quota", "app_rss_mb": 400.0, "db_rss_mb": 300.0, "db_bytes": 1e6 * customers}
    if services_ms:
        resources["services"] = {s: {"cpu_pct": ms * RPS / 10.0, "rss_mb": 80.0} for s, ms in services_ms.items()}
    step = {
        "customers": customers, "operators": customers // 20, "duration_s": 60.0, "requests": len(df), "rps": RPS,
        "error_rate": 0.0, "passed": passed, "verdict": "pass" if passed else "fail", "valid": True,
        "invalid_reason": None, "errors": 0, "refusals": int((df["outcome"] == "refusal").sum()), "goodput_rps": RPS,
        "latency_ms": {k: float(np.percentile(lat, q, method="higher")) for k, q in (("p50", 50), ("p95", 95), ("p99", 99))},
        "operations": stored, "resources": resources, "measured_s": 60.0, "warmup_s": 10.0,
        "search": "customers", "phase": "grow", "repeat": 0, "dir": rel,
    }
    (d / "step.json").write_text(json.dumps({"schema": 1, **step}))
    pd.DataFrame({"ts": 1.7e9 + np.arange(60), "app_cpu_pct": resources["app_cpu_pct"], "db_cpu_pct": resources["db_cpu_pct"],
                  "app_rss_mb": 400.0, "db_rss_mb": 300.0}).to_csv(d / "resources.csv", index=False)
    return step


def _entry(root: Path, rng, prof: dict, levels: list[tuple[int, dict, float, float, dict | None]], samples: int) -> dict:
    steps = [_step(root, rng, prof["name"], n, p95, app_ms=app, db_ms=db, services_ms=svc, samples=samples)
             for n, p95, app, db, svc in levels]
    held = max((s["customers"] for s in steps if s["passed"]), default=None)
    failing = next((s for s in steps if not s["passed"]), None)
    return {
        "name": prof["name"], "profile": prof, "complete": True, "staffed": True, "operators": None, "rate": None,
        "max_customers": held, "first_failing_customers": failing["customers"] if failing else None,
        "projected_max_customers": None, "projection": None,
        "limiting_factor": limiting_factor(failing, prof) if failing else None,
        "search": {"max_passing": held, "first_failing": failing["customers"] if failing else None,
                   "steps": len(steps), "stopped": None, "uncertain": False, "boundary_agreed": True, "notes": [],
                   "precision": 0.1, "repeats": 1},
        "frontier": [], "steps": steps,
    }


def profiles_of(**over) -> dict[str, dict]:
    """The four stored profiles; ``over``: {profile name: {dotted path: value}} to make one differ."""
    kinds = {"arch-monolith-local": ("monolith", LOCAL), "arch-monolith-far": ("monolith", FAR),
             "arch-micro-local": ("microservices", LOCAL), "arch-micro-far": ("microservices", FAR)}
    return {n: profile(n, k, copy.deepcopy(net), **over.get(n, {})) for n, (k, net) in kinds.items()}


def write_arch_results(root: Path, *, samples_per_step: int = 8000, seed: int = 11, over: dict | None = None) -> dict:
    """Write the four profiles' sweep into ``root``; return the capacity document."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    profs = profiles_of(**(over or {}))
    ml, mf, sl, sf = (profs[n] for n in NAMES)
    flat = lambda ms: dict.fromkeys(OPS, ms)  # noqa: E731
    a_app, a_db = CPU_MS["arch-monolith-local"]
    b_app, b_db = CPU_MS["arch-monolith-far"]
    c_app, c_db = CPU_MS["arch-micro-local"]
    d_app, d_db = CPU_MS["arch-micro-far"]
    c_svc, d_svc = SERVICES_MS["arch-micro-local"], SERVICES_MS["arch-micro-far"]
    entries = [
        _entry(root, rng, ml, [(1000, flat(30.0), a_app, a_db, None), (2000, P95["arch-monolith-local"], a_app, a_db, None),
                               (4000, flat(30.0), a_app, a_db, None),
                               (8000, {**flat(60.0), "sales_order_create": 900.0}, 35.0, 12.5, None)], samples_per_step),
        _entry(root, rng, mf, [(1000, flat(40.0), b_app, b_db, None), (2000, P95["arch-monolith-far"], b_app, b_db, None),
                               (4000, {**flat(60.0), "customer_view": 800.0}, 15.0, 7.5, None)], samples_per_step),
        _entry(root, rng, sl, [(1000, flat(50.0), c_app, c_db, c_svc), (2000, P95["arch-micro-local"], c_app, c_db, c_svc),
                               (4000, {**flat(80.0), "sales_order_create": 1200.0}, 40.0, 7.5,
                                {"gateway": 6.0, "customers": 6.0, "inventory": 22.0, "orders": 6.0})], samples_per_step),
        _entry(root, rng, sf, [(1000, flat(60.0), d_app, d_db, d_svc), (2000, P95["arch-micro-far"], d_app, d_db, d_svc)],
               samples_per_step),
    ]
    doc = {
        "schema": 1, "tool_version": "0.1.0",
        "machine": {"host": "synthetic", "cpu_model": "Synthetic CPU", "cpu_cores": 2, "memory_bytes": 24 * 1024**3,
                    "os": "Linux", "python": "3.11", "git_revision": None, "db_servers": {}},
        "created": "2026-12-01T00:00:00+00:00", "updated": "2026-12-01T00:00:00+00:00", "partial": False,
        "unconstrained": False, "profiles": entries,
    }
    (root / "capacity.json").write_text(json.dumps(doc, indent=2))
    return doc


__all__ = ["CPU_MS", "LEVEL", "NAMES", "OPS", "P95", "SERVICES_MS", "profiles_of", "write_arch_results"]
