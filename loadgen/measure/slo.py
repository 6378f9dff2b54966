"""The SLO as a step is judged by it: thresholds with defaults, the failures of a finished step, and
the early stop's test that a running step can no longer meet it.

One module so that the finished step (:func:`slo_failures`) and the running one
(:func:`early_stop_reason`, polled by :class:`loadgen.workload.load_run.EarlyStop`) read the same
thresholds and can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _get(o: object, key: str, default: Any = None) -> Any:
    """``o.key`` or ``o[key]`` (SLOs arrive as pydantic models or as plain dicts), ``default`` if absent."""
    if o is None:
        return default
    if isinstance(o, Mapping):
        return o.get(key, default)
    return getattr(o, key, default)


def slo_thresholds(slo: Any) -> dict[str, Any]:
    """The SLO as a step judges it, defaults filled (a profile's SLO, a plain mapping or None):
    what both :func:`slo_failures` and the early stop read, so they can never disagree."""
    return {"p95_ms": _get(slo, "p95_ms", 500), "p99_ms": _get(slo, "p99_ms", 1500),
            "error_rate": _get(slo, "error_rate", 0.01), "operations": _get(slo, "operations", {}) or {}}


def slo_failures(figures: dict, slo: Any) -> list[str]:
    """Every way the step missed its SLO (empty: it met it)."""
    out = []
    t = slo_thresholds(slo)
    p95, p99, budget, overrides = t["p95_ms"], t["p99_ms"], t["error_rate"], t["operations"]
    if figures["error_rate"] is not None and figures["error_rate"] > budget:
        out.append(f"error rate {figures['error_rate']:.2%} > {budget:.2%}")
    for name, op in figures["operations"].items():
        o = overrides.get(name) if isinstance(overrides, dict) else None
        t95 = _get(o, "p95_ms") or p95
        t99 = _get(o, "p99_ms") or p99
        if op["p95_ms"] is not None and op["p95_ms"] > t95:
            out.append(f"{name} p95 {op['p95_ms']:.0f} ms > {t95:g} ms")
        if op["p99_ms"] is not None and op["p99_ms"] > t99:
            out.append(f"{name} p99 {op['p99_ms']:.0f} ms > {t99:g} ms")
    return out


# -- stopping a step early --------------------------------------------------------------------------
QUANTILES = {"p95_ms": 0.95, "p99_ms": 0.99}


def slo_clearly_lost(
    latencies_ms: Sequence[float],
    *,
    threshold_ms: float,
    quantile: float,
    expected_total: float,
    slack: float = 0.10,
) -> bool:
    """True when the ``quantile`` of the finished step can no longer be <= ``threshold_ms``.

    The q-quantile of N samples exceeds T as soon as more than (1 - q)·N samples exceed T, and later
    samples can only add to N, never remove a slow one. So once the slow samples so far are more than
    (1 - q) times the *largest plausible* final count (``expected_total`` grown by ``slack``, because
    the runner estimates it from the rate so far), no remaining sample can bring the percentile back.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if expected_total <= 0:
        return False
    # Vectorised: the runner asks once a second over the whole window so far (lists or arrays).
    slow = int(np.count_nonzero(np.asarray(latencies_ms, dtype=float) > threshold_ms))
    return slow > (1 - quantile) * expected_total * (1 + slack)


def early_stop_reason(
    latencies_by_operation: Mapping[str, Sequence[float]],
    *,
    errors: int,
    slo: object,
    expected_total: float,
    slack: float = 0.10,
) -> str | None:
    """Why the running step's SLO is clearly lost, or None. For the step runner to poll.

    ``latencies_by_operation``: measured-window latencies so far per operation; ``errors``: error
    count so far; ``slo``: the profile's SLO (``p95_ms``, ``p99_ms``, ``error_rate``, ``operations``
    overrides, attributes or mapping keys); ``expected_total``: requests the whole measured window is
    expected to hold (e.g. rate so far x window length). Each operation's expected total is its share
    so far of ``expected_total``.

    Only per-operation percentiles are checked, as the step is judged (``loadgen.capacity.step.slo_failures``):
    a whole-step check would add nothing without overrides (if all operations' slow counts are
    within their shares of the budget, so is their sum) and would be wrong with an override above
    the global threshold (a slow report allowed 3 s could "lose" a whole-step 500 ms that the step
    is never judged on).
    """
    get = _get
    so_far = sum(len(v) for v in latencies_by_operation.values())
    if so_far == 0 or expected_total <= 0:
        return None
    error_rate = get(slo, "error_rate")
    if error_rate is not None and errors > error_rate * expected_total * (1 + slack):
        return f"{errors} errors already exceed the {error_rate:.1%} error budget of ~{expected_total:.0f} requests"
    overrides = get(slo, "operations") or {}
    checks: list[tuple[str, Sequence[float], float, Mapping | object | None]] = []
    for op, lat in latencies_by_operation.items():
        checks.append((op, lat, expected_total * len(lat) / so_far, overrides.get(op) if isinstance(overrides, Mapping) else None))
    for name, lat, total, override in checks:
        for key, q in QUANTILES.items():
            threshold = get(override, key) if override is not None else None
            if threshold is None:
                threshold = get(slo, key)
            if threshold is None:
                continue
            if slo_clearly_lost(lat, threshold_ms=threshold, quantile=q, expected_total=total, slack=slack):
                return f"{name}: {key[:3]} can no longer be <= {threshold:g} ms (too many slow requests already)"
    return None


__all__ = ["QUANTILES", "early_stop_reason", "slo_clearly_lost", "slo_failures", "slo_thresholds"]
