"""Is a step's measurement trustworthy? (A step that is not is *invalid*: neither pass nor fail.)

Rules, checked in this order; the first that applies is the recorded reason:

1. **System under test crashed**: a root process of the app or database (the uvicorn supervisor, the
   postmaster) vanished during the step, or its health check failed after the load — and the kernel
   killed nothing for memory and no app worker died (what then broke may be the harness). An OOM kill
   in the run's cgroup or a restarted app worker is *not* invalid: it is the system's answer at that
   size, and the step **fails** (limiting factor ``memory`` or ``crash``; see
   :mod:`loadgen.workload.load_run`).
2. **A busy machine**: processes outside the system under test and the load generator used more
   than ``max_foreign_cpu_pct`` (10) % of one core in more than a tenth of the measured seconds (the
   90th percentile of their summed per-second CPU), or the hypervisor stole as much: the
   step measured the neighbours too. The busiest of them is named. The threshold is set per run
   (``--max-foreign-cpu``, ``JXCBENCH_MAX_FOREIGN_CPU``; ``off`` disables the rule).
3. **Load generator saturated**: a load-generator process (each is single-threaded: one core at
   most; the master of a distributed run included) spent more than ``cpu_limit_pct`` (90) % of one
   core in more than a tenth of the measured seconds (the 90th percentile of its per-second CPU %),
   *or* its event loop was late: the 90th percentile over the measured seconds of the mean lateness
   of a 0.1 s sleep exceeds ``lag_limit_ms`` (50 ms) — the same saturation seen when the OS gives the
   generator less than a core (a shared machine). A saturated generator sends late and times late,
   so the latencies describe the generator. (A median would pass a generator saturated in 49 % of
   the seconds.)
4. **Too few requests for a stable p99**: fewer than ``min_requests`` (1000) measured requests.
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

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

CPU_LIMIT_PCT = 90.0
LAG_LIMIT_MS = 50.0
MIN_REQUESTS = 1000
MAX_FOREIGN_CPU_PCT = 10.0
FOREIGN_CPU_ENV = "JXCBENCH_MAX_FOREIGN_CPU"
SATURATION_PERCENTILE = 90


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
        p90 = _p90(vals)
        if p90 > cpu_limit_pct:
            return (f"load generator saturated: process {proc} used {p90:.0f} % of one core at the 90th percentile "
                    f"(limit {cpu_limit_pct:.0f} %) over {len(vals)} measured seconds; {advice}")
    for proc, series in (lag_series or {}).items():
        vals = np.asarray(list(series), dtype=float)
        if len(vals) == 0:
            continue
        p90 = _p90(vals)
        if p90 > lag_limit_ms:
            return (f"load generator saturated: process {proc}'s event loop ran {p90:.0f} ms late at the 90th percentile "
                    f"(limit {lag_limit_ms:.0f} ms) over {len(vals)} measured seconds; {advice}, or give it "
                    "a core of its own")
    return None


def _p90(vals: np.ndarray) -> float:
    # "lower": the value that more than a tenth of the seconds exceed (a single busy second in ten does not)
    return float(np.percentile(vals, SATURATION_PERCENTILE, method="lower"))


def max_foreign_cpu_pct(value: float | str | None = None) -> float | None:
    """The busy-machine threshold (% of one core): ``value`` if given, else ``$JXCBENCH_MAX_FOREIGN_CPU``,
    else 10; ``off`` (or ``none``) disables the rule (None). ValueError naming the bad value."""
    raw = os.environ.get(FOREIGN_CPU_ENV) if value is None else value
    if raw is None or raw == "":
        return MAX_FOREIGN_CPU_PCT
    if isinstance(raw, str) and raw.strip().lower() in ("off", "none"):
        return None
    try:
        pct = float(raw)
    except ValueError:
        raise ValueError(f"max foreign CPU {raw!r}: expected a percentage of one core (e.g. 10) or 'off'") from None
    if pct < 0:
        raise ValueError(f"max foreign CPU {raw!r}: must not be negative")
    return pct


def machine_busy(foreign_cpu: Iterable[float], *, limit_pct: float | None = MAX_FOREIGN_CPU_PCT,
                 offender: tuple[int, str, float] | None = None, steal: Iterable[float] = ()) -> str | None:
    """A reason if processes outside the step (or the hypervisor's steal) took more than ``limit_pct``
    of one core at the 90th percentile of the measured seconds; ``offender``: (pid, name, mean %)."""
    if limit_pct is None:
        return None
    vals = np.asarray([v for v in foreign_cpu if v is not None], dtype=float)
    if len(vals) and _p90(vals) > limit_pct:
        who = (f"; top: pid {offender[0]} {offender[1]} used {offender[2]:.0f} % of a core"
               if offender else "")
        return (f"machine busy: processes outside the system under test and the load generator used "
                f"{_p90(vals):.0f} % of one core at the 90th percentile (limit {limit_pct:g} %){who}; "
                f"measure on a quiet machine (or raise --max-foreign-cpu / ${FOREIGN_CPU_ENV})")
    stolen = np.asarray([v for v in steal if v is not None], dtype=float)
    if len(stolen) and _p90(stolen) > limit_pct:
        return (f"machine busy: the hypervisor stole {_p90(stolen):.0f} % of one core at the 90th percentile "
                f"(limit {limit_pct:g} %); measure on a quiet host")
    return None


def judge(*, measured_requests: int, loadgen_cpu: Mapping[str, Iterable[float]],
          loadgen_lag: Mapping[str, Iterable[float]] | None = None,
          crashed: str | None = None, min_requests: int = MIN_REQUESTS,
          cpu_limit_pct: float = CPU_LIMIT_PCT, lag_limit_ms: float = LAG_LIMIT_MS,
          stopped_early: bool = False, busy: str | None = None) -> Validity:
    """The first rule of the module docstring that applies; ``stopped_early`` waives rule 4;
    ``busy``: :func:`machine_busy`'s reason."""
    if crashed:
        return Validity(False, f"system under test crashed: {crashed}")
    if busy:
        return Validity(False, busy)
    sat = loadgen_saturated(loadgen_cpu, cpu_limit_pct=cpu_limit_pct, lag_series=loadgen_lag,
                            lag_limit_ms=lag_limit_ms)
    if sat:
        return Validity(False, sat)
    if measured_requests < min_requests and not stopped_early:
        return Validity(False, f"too few requests for a stable p99: {measured_requests} measured, "
                               f"need at least {min_requests} (lengthen --duration or raise the load)")
    return Validity(True, None)


__all__ = ["CPU_LIMIT_PCT", "FOREIGN_CPU_ENV", "LAG_LIMIT_MS", "MAX_FOREIGN_CPU_PCT", "MIN_REQUESTS", "Validity",
           "judge", "loadgen_saturated", "machine_busy", "max_foreign_cpu_pct"]
