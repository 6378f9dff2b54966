"""The SLO as a step is judged by it: thresholds with defaults, the failures of a finished step, and
the early stop's test that a running step can no longer meet it.

Per-operation verdicts (:func:`judge_operations`) read the 95 % order-statistic interval of each
operation's p95 and p99 (:mod:`loadgen.measure.bounds`): a percentile *passes* when its upper bound is
within the threshold, *fails* when its lower bound is above it, and is otherwise *inconclusive*; an
operation fails if either percentile fails, passes if both pass. A percentile with no upper bound
(too few samples: fewer than 72 for p95, 368 for p99) that has not failed is *unjudged*: never passed
on its maximum, named in ``unjudged_operations``, and left out of the step's verdict (the README says
why). The error rate stays a point comparison (errors / requests against ``slo.error_rate``).

One module so that the finished step (:func:`slo_failures`) and the running one
(:func:`early_stop_reason`, polled by :class:`loadgen.workload.load_run.EarlyStop`) read the same
thresholds and can never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from loadgen.measure.bounds import CONFIDENCE, interval_whatever, min_samples_for_upper, quantile_ranks

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def field_of(o: object, key: str, default: Any = None) -> Any:
    """``o.key`` or ``o[key]`` (profiles and SLOs arrive as pydantic models or as plain dicts),
    ``default`` if absent. The one reader the step, the sweep and the SLO share."""
    if o is None:
        return default
    if isinstance(o, Mapping):
        return o.get(key, default)
    return getattr(o, key, default)


_get = field_of


def slo_thresholds(slo: Any) -> dict[str, Any]:
    """The SLO as a step judges it, defaults filled (a profile's SLO, a plain mapping or None):
    what both :func:`slo_failures` and the early stop read, so they can never disagree."""
    return {"p95_ms": _get(slo, "p95_ms", 500), "p99_ms": _get(slo, "p99_ms", 1500),
            "error_rate": _get(slo, "error_rate", 0.01), "operations": _get(slo, "operations", {}) or {}}


def operation_thresholds(slo: Any, name: str) -> dict[str, float | None]:
    """``{"p95_ms": T95, "p99_ms": T99}`` for operation ``name`` (its override, else the global)."""
    t = slo_thresholds(slo)
    overrides = t["operations"]
    o = overrides.get(name) if isinstance(overrides, Mapping) else None
    return {k: (_get(o, k) or t[k]) for k in QUANTILES}


def percentile_verdict(ci: Sequence | None, threshold: float | None) -> str:
    """pass / fail / inconclusive of one percentile from its ``[low, high]`` interval."""
    if threshold is None:
        return PASS
    low, high = (list(ci) + [None, None])[:2] if ci is not None else (None, None)
    if low is not None and low > threshold:
        return FAIL
    if high is not None and high <= threshold:
        return PASS
    return INCONCLUSIVE


def judge_operations(operations: Mapping[str, Mapping], slo: Any,
                     confidence: float = CONFIDENCE) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per operation, ``{"verdict", "p95": v, "p99": v}``, and the unjudged operations: those with a
    percentile that is inconclusive only because no upper bound exists for their sample count
    (``{"requests", "percentiles", "requests_needed"}``); see the module docstring. ``confidence``:
    of the intervals in ``operations`` (95 % unless they were computed for a later look)."""
    verdicts: dict[str, dict] = {}
    unjudged: dict[str, dict] = {}
    for name, op in operations.items():
        th = operation_thresholds(slo, name)
        per = {}
        rare = []
        for key, q in QUANTILES.items():
            ci = op.get(f"{key[:3]}_ci_ms")
            v = percentile_verdict(ci, th[key])
            if v == INCONCLUSIVE and (ci is None or ci[1] is None):
                rare.append((key[:3], min_samples_for_upper(q, confidence)))
            per[key[:3]] = v
        if FAIL in per.values():
            verdict = FAIL
        elif INCONCLUSIVE in per.values():
            verdict = INCONCLUSIVE
        else:
            verdict = PASS
        verdicts[name] = {"verdict": verdict, **per}
        if rare and verdict != FAIL:
            unjudged[name] = {"requests": int(op.get("requests") or 0), "percentiles": [k for k, _ in rare],
                              "requests_needed": max(n for _, n in rare)}
    return verdicts, unjudged


def step_verdict(verdicts: Mapping[str, Mapping], unjudged: Mapping[str, Mapping], other_failures: Sequence[str]) -> str:
    """The step's verdict: fail on any failure (an operation, the error rate, the books...), else
    inconclusive when an operation that *can* be judged is inconclusive, else pass (unjudged
    operations are named, not counted)."""
    if other_failures or any(v["verdict"] == FAIL for v in verdicts.values()):
        return FAIL
    for name, v in verdicts.items():
        if v["verdict"] != INCONCLUSIVE:
            continue
        judgeable = [k for k in ("p95", "p99") if v[k] == INCONCLUSIVE and k not in unjudged.get(name, {}).get("percentiles", [])]
        if judgeable:
            return INCONCLUSIVE
    return PASS


def slo_failures(figures: dict, slo: Any, confidence: float = CONFIDENCE) -> list[str]:
    """Every way the step missed its SLO (empty: it met it or is inconclusive): the error rate above
    its budget, and each percentile whose lower bound (of the ``confidence`` interval the figures
    hold, 95 % by default) is above its threshold."""
    pct = f"{confidence * 100:g} %"
    out = []
    budget = slo_thresholds(slo)["error_rate"]
    if figures["error_rate"] is not None and figures["error_rate"] > budget:
        out.append(f"error rate {figures['error_rate']:.2%} > {budget:.2%}")
    for name, op in figures["operations"].items():
        th = operation_thresholds(slo, name)
        for key in QUANTILES:
            k = key[:3]
            ci = op.get(f"{k}_ci_ms")
            if percentile_verdict(ci, th[key]) == FAIL:
                out.append(f"{name} {k} {op[key]:.0f} ms > {th[key]:g} ms ({pct} lower bound {ci[0]:.0f} ms)")
    return out


def inconclusive_reasons(figures: dict, slo: Any, unjudged: Mapping[str, Mapping],
                         confidence: float = CONFIDENCE) -> list[str]:
    """The percentiles whose interval straddles the threshold (unjudged ones excluded)."""
    pct = f"{confidence * 100:g} %"
    out = []
    for name, op in figures["operations"].items():
        th = operation_thresholds(slo, name)
        for key in QUANTILES:
            k = key[:3]
            ci = op.get(f"{k}_ci_ms")
            if k in unjudged.get(name, {}).get("percentiles", []):
                continue
            if percentile_verdict(ci, th[key]) == INCONCLUSIVE:
                out.append(f"{name} {k} {op[key]:.0f} ms: {pct} interval {ci[0]:.0f}..{ci[1]:.0f} ms straddles {th[key]:g} ms")
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
    """True when the finished step's ``quantile`` will *fail* (its 95 % lower bound above
    ``threshold_ms``, :func:`judge_operations`) whatever the remaining samples are.

    Of N final samples, the lower bound is the l(N)-th smallest (:func:`loadgen.measure.bounds.quantile_ranks`);
    it is above T when fewer than l(N) samples are <= T, i.e. when more than N - l(N) are slow. Later
    samples can only add to N, never remove a slow one, and N - l(N) grows with N; so the test is made
    at the *largest plausible* final count (``expected_total`` grown by ``slack``, because the runner
    estimates it from the rate so far) with every remaining sample fast.
    """
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    if expected_total <= 0:
        return False
    # Vectorised: the runner asks once a second over the whole window so far (lists or arrays).
    lat = np.asarray(latencies_ms, dtype=float)
    slow = int(np.count_nonzero(lat > threshold_ms))
    n_max = max(len(lat), int(np.ceil(expected_total * (1 + slack))))
    low, _ = quantile_ranks(n_max, quantile)
    return low is not None and slow > n_max - low


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
                return (f"{name}: {key[:3]} can no longer be <= {threshold:g} ms (its 95 % lower bound is above it "
                        "whatever the rest of the window does)")
    return None


# While a window is extended it is looked at once a second; every look is a chance to stop on a lucky
# pass. Looks after the first (at the planned end) therefore use 99 % intervals; the step's verdict is
# still the 95 % one of the final samples. bench/verdict_calibration.py: with 95 % at every look the
# false-pass rate at the true p95 reaches ~6 %; with this rule ~3.5 % (single look: ~2 %).
EXTENSION_CONFIDENCE = 0.99


def pending_judgements(latencies_by_operation: Mapping[str, Sequence[float]], *, slo: object, at_s: float,
                       cap_s: float, confidence: float = 0.95, unseen: int = 0) -> list[str]:
    """What still keeps a running step from a conclusive verdict ``at_s`` seconds into a window that
    may last ``cap_s``: each operation percentile whose interval straddles its threshold, or that has
    no upper bound yet, would have enough samples by ``cap_s`` at its rate so far, and already holds a
    sample above its threshold. A percentile that cannot get enough samples even at the cap, or whose
    samples are all within its threshold, is not waited for (it ends unjudged). Empty: every
    verdict that can be reached is reached, or one percentile already fails (the step fails whatever
    the others say); the window may end. ``confidence``: of the intervals looked at (see
    ``EXTENSION_CONFIDENCE``). ``unseen``: requests not in ``latencies_by_operation`` yet that the
    window will hold (in flight, not yet reported); each operation gets its share of them, rounded
    up, at their worst (:func:`loadgen.measure.bounds.interval_whatever`), so that a verdict reached
    here is not undone by what finishes after the window ends."""
    pending = []
    total = sum(len(v) for v in latencies_by_operation.values())
    for name, lat in latencies_by_operation.items():
        n = len(lat)
        if n == 0:
            continue
        th = operation_thresholds(slo, name)
        share = math.ceil(unseen * n / total) if unseen > 0 else 0
        for key, q in QUANTILES.items():
            ci = interval_whatever(lat, q, share, confidence)
            v = percentile_verdict(ci, th[key])
            if v == FAIL:
                return []
            if v != INCONCLUSIVE:
                continue
            if ci[1] is None:
                # Too rare to judge even at the cap -- by the *final* verdict's 95 % interval, not this
                # look's: with 72..103 samples a p95 has a 95 % upper bound but no 99 % one, and a window
                # that stopped waiting for it would end inconclusive on its 95 % interval.
                if n * cap_s / max(at_s, 1e-9) < min_samples_for_upper(q):
                    continue
                if float(np.max(lat)) <= th[key]:
                    # Not judged yet, every sample so far within the threshold: more samples could only
                    # judge it, not reveal a slow tail none of them shows; the step is decided without
                    # it (named as unjudged), and a passing window does not run on to the cap for it.
                    continue
            pending.append(f"{name} {key[:3]}")
    return pending


__all__ = ["EXTENSION_CONFIDENCE", "FAIL", "INCONCLUSIVE", "PASS", "QUANTILES", "field_of", "early_stop_reason", "inconclusive_reasons", "judge_operations",
           "operation_thresholds", "pending_judgements", "percentile_verdict", "slo_clearly_lost", "slo_failures", "slo_thresholds",
           "step_verdict"]
