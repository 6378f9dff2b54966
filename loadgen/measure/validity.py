"""Is a step's measurement trustworthy? (A step that is not is *invalid*: neither pass nor fail.)

Rules, checked in this order; the first that applies is the recorded reason:

1. **System under test crashed**: a process of the app or database vanished during the step, or its
   health check failed after the load.
2. **Load generator saturated**: a load-generator process (each is single-threaded: one core at
   most) spent more than ``cpu_limit_pct`` (90) % of one core in at least half of the measured
   seconds (the median of its per-second CPU %), *or* its event loop was late: the median over the
   measured seconds of the mean lateness of a 0.1 s sleep exceeds ``lag_limit_ms`` (50 ms) — the
   same saturation seen when the OS gives the generator less than a core (a shared machine). A
   saturated generator sends late and times late, so the latencies describe the generator.
3. **Too few requests for a stable p99**: fewer than ``min_requests`` (1000) measured requests.
   With the "higher" method, p99 of n samples has ``n - ceil(0.99 (n-1))`` samples at or above it;
   1000 requests leave at least 10 samples beyond the p99, the least for it not to be one outlier.
   Not applied to a step **stopped early** (its SLO clearly lost, see
   :func:`loadgen.measure.slo.slo_clearly_lost`): it has few requests because it was cut short, and it
   needs no stable p99 — the slow requests already seen exceed the percentile's whole budget for the
   full window, so no estimate of the p99 could make it pass. Crashes and a saturated generator
   still make it invalid: then the slow requests may describe the generator or the crash, not the
   system's capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

CPU_LIMIT_PCT = 90.0
LAG_LIMIT_MS = 50.0
MIN_REQUESTS = 1000


@dataclass(frozen=True)
class Validity:
    valid: bool
    reason: str | None

    def as_dict(self) -> dict:
        return {"valid": self.valid, "invalid_reason": self.reason}


def loadgen_saturated(cpu_series: Mapping[str, Iterable[float]], *, cpu_limit_pct: float = CPU_LIMIT_PCT,
                      lag_series: Mapping[str, Iterable[float]] | None = None,
                      lag_limit_ms: float = LAG_LIMIT_MS) -> str | None:
    """A reason if any load-generator process was saturated (see the module docstring)."""
    advice = "add load-generator processes (--processes) or machines (jxcbench worker)"
    for proc, series in cpu_series.items():
        vals = np.asarray(list(series), dtype=float)
        if len(vals) == 0:
            continue
        med = float(np.median(vals))
        if med > cpu_limit_pct:
            return (f"load generator saturated: process {proc} used a median {med:.0f} % of one core "
                    f"(limit {cpu_limit_pct:.0f} %) over {len(vals)} measured seconds; {advice}")
    for proc, series in (lag_series or {}).items():
        vals = np.asarray(list(series), dtype=float)
        if len(vals) == 0:
            continue
        med = float(np.median(vals))
        if med > lag_limit_ms:
            return (f"load generator saturated: process {proc}'s event loop ran a median {med:.0f} ms late "
                    f"(limit {lag_limit_ms:.0f} ms) over {len(vals)} measured seconds; {advice}, or give it "
                    "a core of its own")
    return None


def judge(*, measured_requests: int, loadgen_cpu: Mapping[str, Iterable[float]],
          loadgen_lag: Mapping[str, Iterable[float]] | None = None,
          crashed: str | None = None, min_requests: int = MIN_REQUESTS,
          cpu_limit_pct: float = CPU_LIMIT_PCT, lag_limit_ms: float = LAG_LIMIT_MS,
          stopped_early: bool = False) -> Validity:
    """The first rule of the module docstring that applies; ``stopped_early`` waives rule 3."""
    if crashed:
        return Validity(False, f"system under test crashed: {crashed}")
    sat = loadgen_saturated(loadgen_cpu, cpu_limit_pct=cpu_limit_pct, lag_series=loadgen_lag,
                            lag_limit_ms=lag_limit_ms)
    if sat:
        return Validity(False, sat)
    if measured_requests < min_requests and not stopped_early:
        return Validity(False, f"too few requests for a stable p99: {measured_requests} measured, "
                               f"need at least {min_requests} (lengthen --duration or raise the load)")
    return Validity(True, None)


__all__ = ["CPU_LIMIT_PCT", "LAG_LIMIT_MS", "MIN_REQUESTS", "Validity", "judge", "loadgen_saturated"]
