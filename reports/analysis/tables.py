"""A sweep's results as tables (pandas): what the spreadsheet's sheets and the HTML report's tables
show. Numbers stay numbers; every column that has a unit says it in its name.

:func:`analyse` reads the raw files of every step once (per-operation percentiles and their bounds,
resource samples) and computes the projections; the renderers take its result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from profiles.schema import PRICE_PERIODS
from reports.analysis.projection import analyse_profile, projected_capacity
from reports.analysis.samples import step_figures, think_ranges


def cost_per_1000(entry: Mapping, customers: float | None = None) -> dict | None:
    """Monthly hardware price per 1,000 customers held (measured capacity unless ``customers``)."""
    price = ((entry.get("profile") or {}).get("hardware") or {}).get("price")
    held = customers if customers is not None else entry.get("max_customers")
    if not price or not held:
        return None
    monthly = float(price["amount"]) * PRICE_PERIODS.get(price.get("per", "month"), 1.0)
    return {"currency": price.get("currency", "CNY"), "per_month": monthly, "per_1000_per_month": monthly / held * 1000.0}


@dataclass
class ProfileAnalysis:
    entry: dict
    steps: list[dict] = field(default_factory=list)  # step_figures per step, in the entry's order
    models: dict = field(default_factory=dict)  # analyse_profile
    projection: dict | None = None  # {"projected_max_customers", "projection"} (stored or computed)


@dataclass
class Analysis:
    doc: dict
    root: Path | None
    profiles: list[ProfileAnalysis]


def analyse(doc: Mapping, root: Path | None, *, read_samples: bool = True) -> Analysis:
    cores = (doc.get("machine") or {}).get("cpu_cores") or os.cpu_count()
    out = []
    for entry in doc.get("profiles") or []:
        prof = entry.get("profile") or {}
        figures = [step_figures(s, prof, root, read_samples=read_samples) for s in entry.get("steps") or []]
        models = analyse_profile(entry, cores)
        if entry.get("projected_max_customers") is not None:
            proj = {"projected_max_customers": entry["projected_max_customers"], "projection": entry.get("projection")}
        else:
            proj = projected_capacity(entry, cores, models)
        out.append(ProfileAnalysis(dict(entry), figures, models, proj))
    return Analysis(dict(doc), Path(root) if root is not None else None, out)


def _hw(prof: Mapping) -> dict:
    hw = prof.get("hardware") or {}
    return {
        "CPUs": hw.get("cpus"),
        "memory (bytes)": hw.get("memory"),
        "disk (bytes)": hw.get("disk"),
        "engine": (prof.get("database") or {}).get("engine"),
        "index level": (prof.get("database") or {}).get("index_level"),
        "architecture": (prof.get("architecture") or {}).get("kind"),
        "app workers": (prof.get("architecture") or {}).get("workers"),
    }


def summary_table(a: Analysis, verdicts: list[str] | None = None) -> pd.DataFrame:
    """One row per profile; ``verdicts`` (the sentences, in the report's language) as the 2nd column."""
    rows = []
    for p in a.profiles:
        e = p.entry
        lf = e.get("limiting_factor") or {}
        proj = (p.projection or {}).get("projection") or {}
        cost = cost_per_1000(e)
        rows.append({
            "profile": e.get("name"),
            "verdict": verdicts[len(rows)] if verdicts else None,
            "max customers (measured)": e.get("max_customers"),
            "first failing customers": e.get("first_failing_customers"),
            "projected max customers": (p.projection or {}).get("projected_max_customers"),
            "projection low": proj.get("low"),
            "projection high": proj.get("high"),
            "projection model": proj.get("model"),
            "operators": e.get("operators"),
            "rate (1/s)": e.get("rate"),
            "limiting resource": lf.get("resource"),
            "limiting operation": lf.get("operation"),
            "limiting detail": lf.get("detail"),
            "steps": len(e.get("steps") or []),
            "complete": e.get("complete"),
            "currency": cost["currency"] if cost else None,
            "price per month": cost["per_month"] if cost else None,
            "cost per 1000 customers per month": cost["per_1000_per_month"] if cost else None,
        })
    return pd.DataFrame(rows)


def steps_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for p in a.profiles:
        for s, f in zip(p.entry.get("steps") or [], p.steps, strict=True):
            lat = s.get("latency_ms") or {}
            res = s.get("resources") or {}
            ll = f.get("littles_law") or {}
            rows.append({
                "profile": p.entry.get("name"), "search": s.get("search"), "phase": s.get("phase"),
                "customers": s.get("customers"), "operators": s.get("operators"), "repeat": s.get("repeat"),
                "valid": s.get("valid"), "passed": s.get("passed"), "verdict": s.get("verdict"),
                "duration (s)": s.get("duration_s"), "measured (s)": s.get("measured_s", s.get("duration_s")),
                "requests": s.get("requests"), "throughput (req/s)": s.get("rps"), "goodput (req/s)": s.get("goodput_rps"),
                "errors": f.get("errors"), "refusals": f.get("refusals"), "error rate": s.get("error_rate"),
                "p50 (ms)": lat.get("p50"), "p95 (ms)": lat.get("p95"), "p99 (ms)": lat.get("p99"), "max (ms)": lat.get("max"),
                "app CPU (%)": res.get("app_cpu_pct"), "DB CPU (%)": res.get("db_cpu_pct"),
                "app CPU per request (ms)": f.get("app_cpu_ms_per_request"), "DB CPU per request (ms)": f.get("db_cpu_ms_per_request"),
                "Little's law expected (req/s)": ll.get("expected_rps"), "Little's law ratio": ll.get("ratio"),
                "invalid reason": s.get("invalid_reason"), "dir": s.get("dir"),
            })
    return pd.DataFrame(rows)


def operations_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for p in a.profiles:
        for s, f in zip(p.entry.get("steps") or [], p.steps, strict=True):
            for name, o in (f.get("operations") or {}).items():
                ci95 = o.get("p95_ci_ms") or [None, None]
                ci99 = o.get("p99_ci_ms") or [None, None]
                rows.append({
                    "profile": p.entry.get("name"), "customers": s.get("customers"), "operators": s.get("operators"),
                    "repeat": s.get("repeat"), "search": s.get("search"), "operation": name, "requests": o.get("requests"),
                    "p50 (ms)": o.get("p50_ms"), "p95 (ms)": o.get("p95_ms"), "p95 low (ms)": ci95[0], "p95 high (ms)": ci95[1],
                    "p99 (ms)": o.get("p99_ms"), "p99 low (ms)": ci99[0], "p99 high (ms)": ci99[1], "max (ms)": o.get("max_ms"),
                    "errors": o.get("errors"), "refusals": o.get("refusals"), "verdict": o.get("verdict"),
                })
    return pd.DataFrame(rows)


def resources_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for p in a.profiles:
        for s, f in zip(p.entry.get("steps") or [], p.steps, strict=True):
            res = s.get("resources") or {}
            d = f.get("resources_detail") or {}
            rows.append({
                "profile": p.entry.get("name"), "customers": s.get("customers"), "operators": s.get("operators"),
                "repeat": s.get("repeat"), "search": s.get("search"),
                "app CPU mean (%)": res.get("app_cpu_pct"), "app CPU peak (%)": d.get("app_cpu_pct_peak"),
                "DB CPU mean (%)": res.get("db_cpu_pct"), "DB CPU peak (%)": d.get("db_cpu_pct_peak"),
                "load generator CPU (%)": res.get("loadgen_cpu_pct"),
                "app RSS peak (MB)": res.get("app_rss_mb"), "DB RSS peak (MB)": res.get("db_rss_mb"),
                "DB size (bytes)": res.get("db_bytes"),
                "DB bytes per customer": res.get("db_bytes") / s["customers"] if res.get("db_bytes") and s.get("customers") else None,
                "resource samples": d.get("samples"),
            })
    return pd.DataFrame(rows)


def profiles_table(a: Analysis) -> pd.DataFrame:
    rows = []
    for p in a.profiles:
        prof = p.entry.get("profile") or {}
        slo = prof.get("slo") or {}
        sweep = prof.get("sweep") or {}
        wl = prof.get("workload") or {}
        price = (prof.get("hardware") or {}).get("price") or {}
        size = p.models.get("size") or {}
        rows.append({
            "profile": p.entry.get("name"), **_hw(prof),
            "price": price.get("amount"), "currency": price.get("currency"), "price per": price.get("per"),
            "operators": wl.get("operators"), "rate (1/s)": wl.get("rate"),
            "think time min (s)": min((lo for lo, _ in think_ranges(prof).values()), default=None),
            "think time max (s)": max((hi for _, hi in think_ranges(prof).values()), default=None),
            "SLO p95 (ms)": slo.get("p95_ms"), "SLO p99 (ms)": slo.get("p99_ms"), "SLO error rate": slo.get("error_rate"),
            "sweep start customers": sweep.get("start_customers"), "sweep max customers": sweep.get("max_customers"),
            "sweep precision": sweep.get("precision"), "step duration (s)": sweep.get("step_duration_s"),
            "bytes per customer (projected model)": size.get("per_customer"),
            "customers filling the disk (projected)": (size.get("disk_full") or {}).get("estimate"),
            "customers outgrowing memory (projected)": (size.get("memory_outgrown") or {}).get("estimate"),
        })
    return pd.DataFrame(rows)


def projections_table(a: Analysis) -> pd.DataFrame:
    """Every projected limit of every profile (model, fit quality, estimate and interval)."""
    rows = []
    for p in a.profiles:
        name = p.entry.get("name")
        for op, per in p.models.get("latency", {}).items():
            for pct, m in per.items():
                c = m.get("crossing") or {}
                rows.append({"profile": name, "what": f"{op} {pct} ≥ {m['threshold_ms']:g} ms", "model": m["model"],
                             "R²": round(m["r2"], 4), "points": m["points"], "customers (projected)": c.get("estimate"),
                             "low": c.get("low"), "high": c.get("high")})
        for who, m in p.models.get("cpu", {}).items():
            c = m.get("crossing") or {}
            rows.append({"profile": name, "what": f"{who} CPU per request ≥ {m['budget_ms_per_request']:.1f} ms ({m['allowance_cpus']:g} CPU at {m['at_rps']:.0f} req/s)",
                         "model": m["model"], "R²": round(m["r2"], 4), "points": m["points"],
                         "customers (projected)": c.get("estimate"), "low": c.get("low"), "high": c.get("high")})
        size = p.models.get("size") or {}
        for key, what in (("disk_full", "database fills the disk"), ("memory_outgrown", "database outgrows the memory limit")):
            c = size.get(key)
            if c:
                rows.append({"profile": name, "what": what, "model": "linear bytes per customer", "R²": None,
                             "points": size.get("points"), "customers (projected)": c.get("estimate"),
                             "low": c.get("low"), "high": c.get("high")})
        for f in p.models.get("frontier", []):
            u = f.get("usl")
            if u:
                rows.append({"profile": name, "what": f"USL peak at {f['customers']:,} customers (σ {u['sigma']:.4f}, κ {u['kappa']:.6f})",
                             "model": "usl", "R²": round(u["r2"], 4), "points": u["points"],
                             "customers (projected)": None, "low": None, "high": None,
                             "peak operators (projected)": u.get("peak_operators"), "peak throughput (req/s, projected)": u.get("peak_rps")})
    return pd.DataFrame(rows)


__all__ = ["Analysis", "ProfileAnalysis", "analyse", "cost_per_1000", "operations_table", "profiles_table",
           "projections_table", "resources_table", "steps_table", "summary_table"]
