"""The limiting factor of a failing step: the operation furthest over its SLO and the resource most
used against the profile's allowance. Reads a step as ``capacity.json`` holds it; starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}


def _bytes(value: object) -> float | None:
    """A memory size as bytes from an int (bytes) or a string with units (``2GiB``, ``512MB``)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    try:
        return float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return None


def _threshold(slo: Mapping, operation: str, key: str) -> float | None:
    override = (slo.get("operations") or {}).get(operation) or {}
    value = override.get(key) if isinstance(override, Mapping) else None
    return value if value is not None else slo.get(key)


def resource_usage(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict[str, float]:
    """Each resource's use at a step as a fraction of what the profile grants: CPU percent (100 = one
    core) over the CPU quota (or this machine's cores when unconstrained), RSS of app + database over
    the memory limit (only with a limit)."""
    resources = step.get("resources") or {}
    hardware = profile.get("hardware") or {}
    cpus = hardware.get("cpus") or machine_cores or os.cpu_count() or 1
    memory_limit = _bytes(hardware.get("memory"))
    usage: dict[str, float] = {}
    for name, key in (("app_cpu", "app_cpu_pct"), ("db_cpu", "db_cpu_pct")):
        if resources.get(key) is not None:
            usage[name] = resources[key] / (100.0 * cpus)
    rss = [resources.get(k) for k in ("app_rss_mb", "db_rss_mb") if resources.get(k) is not None]
    if rss and memory_limit:
        usage["memory"] = sum(rss) * 1024 * 1024 / memory_limit
    return usage


def headroom(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict | None:
    """At a passing step (e.g. the largest a sweep searched): the busiest resource and its share."""
    if not step:
        return None
    usage = resource_usage(step, profile, machine_cores)
    if not usage:
        return None
    busiest = max(usage, key=usage.get)
    return {"resource": busiest, "share": round(usage[busiest], 4), "at_customers": step.get("customers"),
            "usage": {k: round(v, 4) for k, v in usage.items()}}


def limiting_factor(step: Mapping, profile: Mapping, machine_cores: int | None = None) -> dict | None:
    """What broke first at a failing step: the operation furthest over its SLO and the busiest resource.

    A step records no timeline, so "first" is read as "furthest over": the operation with the largest
    latency / threshold ratio (p95, and p99 where the step reports it), or the error rate when no
    latency crossed. Resources are compared as a fraction of what the profile grants: CPU percent
    (100 = one core) over the CPU quota (or this machine's cores when unconstrained), memory (RSS of
    app + database) over the memory limit.
    """
    if not step or step.get("passed") or not step.get("valid", True):
        return None
    slo = profile.get("slo") or {}
    worst: tuple[float, str, str] | None = None
    for name, op in (step.get("operations") or {}).items():
        for key, field in (("p95_ms", "p95_ms"), ("p99_ms", "p99_ms")):
            value, threshold = op.get(field), _threshold(slo, name, key)
            if value is None or not threshold:
                continue
            ratio = value / threshold
            if ratio > 1 and (worst is None or ratio > worst[0]):
                worst = (ratio, name, f"{name} {key[:3]} {value:.0f} ms > {threshold:g} ms")
    if worst is None:
        latency = step.get("latency_ms") or {}
        for key in ("p95_ms", "p99_ms"):
            value, threshold = latency.get(key[:3]), slo.get(key)
            if value is not None and threshold and value > threshold:
                ratio = value / threshold
                if worst is None or ratio > worst[0]:
                    worst = (ratio, "all", f"overall {key[:3]} {value:.0f} ms > {threshold:g} ms")
    error_budget = slo.get("error_rate")
    if worst is None and error_budget is not None and (step.get("error_rate") or 0) > error_budget:
        ops = step.get("operations") or {}
        name = max(ops, key=lambda n: ops[n].get("errors") or 0) if ops else "all"
        worst = (0.0, name, f"error rate {step['error_rate']:.1%} > {error_budget:.1%} (most errors: {name})")

    usage = resource_usage(step, profile, machine_cores)
    resource = max(usage, key=usage.get) if usage else None
    parts = [worst[2]] if worst else ["the SLO failed (no operation over its threshold recorded)"]
    if usage:
        parts.append(", ".join(f"{k} {v:.0%}" for k, v in sorted(usage.items(), key=lambda kv: -kv[1])) + " of the profile's allowance")
    return {
        "resource": resource,
        "operation": worst[1] if worst else None,
        "detail": f"at {step.get('customers')} customers: " + "; ".join(parts),
    }


__all__ = ["headroom", "limiting_factor", "resource_usage"]
