"""Is a step's measurement trustworthy? (A step that is not is *invalid*: neither pass nor fail.)

Rules, checked in this order; the first that applies is the recorded reason:

1. **System under test crashed**: a process of the app or database vanished during the step, or its
   health check failed after the load.
2. **Load generator saturated**: a load-generator process (each is single-threaded: one core at
   most) spent more than ``cpu_limit_pct`` (90) % of one core in at least half of the measured
   seconds (the median of its per-second CPU %). A saturated generator sends late and times late,
   so the latencies describe the generator, not the server.
3. **Too few requests for a stable p99**: fewer than ``min_requests`` (1000) measured requests.
   With the "higher" method, p99 of n samples has ``n - ceil(0.99 (n-1))`` samples at or above it;
   1000 requests leave at least 10 samples beyond the p99, the least for it not to be one outlier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

CPU_LIMIT_PCT = 90.0
MIN_REQUESTS = 1000


@dataclass(frozen=True)
class Validity:
    valid: bool
    reason: str | None

    def as_dict(self) -> dict:
        return {"valid": self.valid, "invalid_reason": self.reason}


def loadgen_saturated(cpu_series: Mapping[str, Iterable[float]], *, cpu_limit_pct: float = CPU_LIMIT_PCT) -> str | None:
    """A reason if any load-generator process's median per-second CPU % exceeds the limit."""
    for proc, series in cpu_series.items():
        vals = np.asarray(list(series), dtype=float)
        if len(vals) == 0:
            continue
        med = float(np.median(vals))
        if med > cpu_limit_pct:
            return (f"load generator saturated: process {proc} used a median {med:.0f} % of one core "
                    f"(limit {cpu_limit_pct:.0f} %) over {len(vals)} measured seconds; "
                    "add load-generator processes (--processes) or machines (jxcbench worker)")
    return None


def judge(*, measured_requests: int, loadgen_cpu: Mapping[str, Iterable[float]],
          crashed: str | None = None, min_requests: int = MIN_REQUESTS,
          cpu_limit_pct: float = CPU_LIMIT_PCT) -> Validity:
    if crashed:
        return Validity(False, f"system under test crashed: {crashed}")
    sat = loadgen_saturated(loadgen_cpu, cpu_limit_pct=cpu_limit_pct)
    if sat:
        return Validity(False, sat)
    if measured_requests < min_requests:
        return Validity(False, f"too few requests for a stable p99: {measured_requests} measured, "
                               f"need at least {min_requests} (lengthen --duration or raise the load)")
    return Validity(True, None)


__all__ = ["CPU_LIMIT_PCT", "MIN_REQUESTS", "Validity", "judge", "loadgen_saturated"]
