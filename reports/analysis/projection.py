"""The projections of one profile's sweep, from its ``capacity.json`` entry alone (no raw files):
latency per operation against customers up to its SLO, CPU per request up to the CPU allowance, the
database size up to the disk and the memory limit, the USL of every operator frontier, and — for a
sweep that ended at its maximum without failing — the projected capacity (the first of those limits).

Every figure here is projected: each carries ``"projected": true``, its model, fit quality and
interval. ``loadgen.capacity.sweep`` calls :func:`projected_capacity` to fill capacity.json's
``projected_max_customers`` and ``projection``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from reports.analysis.limiting import _bytes, _threshold
from reports.analysis.maintenance import maintenance_window
from reports.analysis.models import (
    bytes_per_customer,
    customers_for_bytes,
    fit_growth,
    fit_usl,
)
from reports.analysis.samples import db_cpu_sampled


def _main_steps(entry: Mapping) -> list[Mapping]:
    return [s for s in entry.get("steps") or [] if s.get("search", "customers") == "customers" and s.get("valid")
            and s.get("customers")]


def _round(x: float | None) -> int | None:
    return None if x is None else int(round(x))


def latency_projections(entry: Mapping) -> dict[str, dict]:
    """Per operation and percentile (p95, p99): the chosen growth fit and where it crosses the SLO."""
    slo = (entry.get("profile") or {}).get("slo") or {}
    steps = _main_steps(entry)
    out: dict[str, dict] = {}
    names = sorted({n for s in steps for n in (s.get("operations") or {})})
    for name in names:
        for key in ("p95_ms", "p99_ms"):
            threshold = _threshold(slo, name, key)
            pts = [(s["customers"], (s.get("operations") or {}).get(name, {}).get(key)) for s in steps]
            pts = [(c, v) for c, v in pts if v is not None]
            fit = fit_growth([c for c, _ in pts], [v for _, v in pts])
            if fit is None:
                continue
            cross = fit.crossing(threshold) if threshold else None
            out.setdefault(name, {})[key[:3]] = {
                **fit.describe(), "threshold_ms": threshold, "fit": fit, "projected": True,
                "crossing": {k: _round(v) for k, v in cross.items()} if cross else None,
            }
    return out


def cpu_projection(entry: Mapping, machine_cores: int | None = None) -> dict[str, dict]:
    """CPU ms per request against customers; where it meets the allowance at the measured load."""
    prof = entry.get("profile") or {}
    cpus = (prof.get("hardware") or {}).get("cpus") or machine_cores or os.cpu_count() or 1
    steps = _main_steps(entry)
    out: dict[str, dict] = {}
    keys = [("app", "app_cpu_pct")] + ([("db", "db_cpu_pct")] if db_cpu_sampled(prof) else [])
    for who, key in keys:
        pts = [(s["customers"], (s.get("resources") or {}).get(key), s.get("rps")) for s in steps]
        pts = [(c, pct * 10.0 / rps, rps) for c, pct, rps in pts if pct is not None and rps]
        if not pts:
            continue
        fit = fit_growth([c for c, _, _ in pts], [ms for _, ms, _ in pts])
        if fit is None:
            continue
        rps = float(np.median([r for _, _, r in pts]))
        budget_ms = cpus * 1000.0 / rps  # CPU ms per request the allowance gives at this load
        cross = fit.crossing(budget_ms)
        out[who] = {**fit.describe(), "fit": fit, "allowance_cpus": cpus, "at_rps": rps,
                    "budget_ms_per_request": budget_ms, "projected": True,
                    "crossing": {k: _round(v) for k, v in cross.items()} if cross else None}
    return out


def size_projection(entry: Mapping) -> dict | None:
    """Bytes per customer; the customers that fill ``hardware.disk`` and that outgrow the memory limit."""
    steps = _main_steps(entry)
    pts = [(s["customers"], (s.get("resources") or {}).get("db_bytes")) for s in steps]
    pts = [(c, b) for c, b in pts if b]
    size = bytes_per_customer([c for c, _ in pts], [b for _, b in pts])
    if size is None:
        return None
    hardware = (entry.get("profile") or {}).get("hardware") or {}
    disk, memory = _bytes(hardware.get("disk")), _bytes(hardware.get("memory"))
    rounded = lambda d: {k: (_round(v) if isinstance(v, float) else v) for k, v in d.items()} if d else None
    return {**size, "projected": True, "disk_bytes": disk, "memory_bytes": memory,
            "disk_full": rounded(customers_for_bytes(size, disk)) if disk else None,
            "memory_outgrown": rounded(customers_for_bytes(size, memory)) if memory else None}


def frontier_projections(entry: Mapping) -> list[dict]:
    """A USL fit of throughput against operators at each customer level of the operator frontier."""
    out = []
    steps = [s for s in entry.get("steps") or [] if s.get("valid") and s.get("rps") and s.get("operators")]
    for f in entry.get("frontier") or []:
        n = f.get("customers")
        pts = {}
        for s in steps:
            if s.get("customers") == n:
                pts.setdefault(s["operators"], []).append(s["rps"])
        u = sorted(pts)
        model = fit_usl(u, [float(np.mean(pts[x])) for x in u])
        out.append({"customers": n, "points": [(x, float(np.mean(pts[x]))) for x in u], "usl": model})
    return out


def analyse_profile(entry: Mapping, machine_cores: int | None = None) -> dict:
    """Every projection of one profile (see the module docstring)."""
    return {
        "latency": latency_projections(entry),
        "cpu": cpu_projection(entry, machine_cores),
        "size": size_projection(entry),
        "frontier": frontier_projections(entry),
        "maintenance": maintenance_window(entry),
    }


def _limits(analysis: Mapping) -> list[dict]:
    """Each projected limit as {what, model, estimate, low, high}."""
    found = []
    for name, per in analysis["latency"].items():
        for pct, m in per.items():
            if m.get("crossing"):
                found.append({"what": f"{name} {pct} reaches {m['threshold_ms']:g} ms", "resource": None,
                              "operation": name, "model": f"{pct} latency, {m['model']} fit (R² {m['r2']:.2f})",
                              **m["crossing"]})
    for who, m in analysis["cpu"].items():
        if m.get("crossing"):
            found.append({"what": f"{who} CPU reaches the allowance of {m['allowance_cpus']:g} CPU at {m['at_rps']:.0f} req/s",
                          "resource": f"{who}_cpu", "operation": None,
                          "model": f"CPU ms per request, {m['model']} fit (R² {m['r2']:.2f})", **m["crossing"]})
    size = analysis.get("size") or {}
    for key, what, resource in (("disk_full", "the database fills the disk", "disk_space"),
                                ("memory_outgrown", "the database outgrows the memory limit", "database_capacity")):
        if size.get(key) and size[key].get("estimate") is not None:
            found.append({"what": what, "resource": resource, "operation": None,
                          "model": "linear bytes per customer", **{k: size[key][k] for k in ("estimate", "low", "high")}})
    mw = analysis.get("maintenance") or {}
    if mw.get("projected") and mw.get("exceeded_at") is not None:
        found.append({"what": f"the backup outgrows the {mw['window_s']:g} s maintenance window", "resource":
                      "maintenance_window", "operation": None,
                      "model": f"backup seconds, {mw['model']} fit (R² {mw.get('r2', 0):.2f})",
                      "estimate": mw["exceeded_at"], "low": mw["low"], "high": mw["high"]})
    return found


def projected_capacity(entry: Mapping, machine_cores: int | None = None, analysis: Mapping | None = None) -> dict | None:
    """For a sweep that held its maximum without a failing level: the first projected limit.

    Returns ``{"projected_max_customers", "projection"}`` or None (the sweep found a failing level,
    stopped, or no model reaches a limit within 1000× the largest N measured).
    """
    if entry.get("max_customers") is None or entry.get("first_failing_customers") is not None:
        return None
    if (entry.get("search") or {}).get("stopped") or not entry.get("complete", True):
        return None
    analysis = analysis or analyse_profile(entry, machine_cores)
    limits = [x for x in _limits(analysis) if x.get("estimate") is not None]
    if not limits:
        return None
    first = min(limits, key=lambda x: x["estimate"])
    lows = [x["low"] if x.get("low") is not None else x["estimate"] for x in limits]
    highs = [x["high"] for x in limits if x.get("high") is not None]
    projection = {
        "projected": True,
        "model": first["model"],
        "limit": first["what"],
        "resource": first["resource"],
        "operation": first["operation"],
        "low": min(lows),
        "high": min(highs) if highs else None,
        "measured_max": entry.get("max_customers"),
        "candidates": [{k: x[k] for k in ("what", "model", "estimate", "low", "high")} for x in sorted(limits, key=lambda x: x["estimate"])[:5]],
    }
    return {"projected_max_customers": max(first["estimate"], entry["max_customers"]), "projection": projection}


__all__ = ["analyse_profile", "cpu_projection", "frontier_projections", "latency_projections", "projected_capacity",
           "size_projection"]
