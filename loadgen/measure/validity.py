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
4. **The closed loop did not run as planned** (closed model only, :func:`closed_loop_problem`):
   fewer operators worked in the measured window than the step planned (login failures, operators
   that stopped), or Little's law does not hold: the requests per second measured are below
   ``LITTLE_MIN_RATIO`` (0.9) of ``active / (mean response + mean think)``, the rate that the active
   operators, waiting for each answer and then thinking as long as the plan drew, must produce, by
   at least ``LITTLE_MIN_EXCESS_MS`` (10 ms) per operator cycle. A generator that sleeps longer than
   planned or is starved of CPU offers less load than the step claims, and the server looks better
   than it is. The 10 ms floor is the gevent timer and the generator's own bookkeeping per cycle:
   with think times of a few milliseconds it is a large share of a cycle, yet it is below the event
   loop lateness rule 3 already tolerates (50 ms).
5. **Too few requests for a stable p99**: fewer than ``min_requests`` (1000) measured requests.
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
LITTLE_MIN_RATIO = 0.9
LITTLE_MIN_EXCESS_MS = 10.0
LITTLE_MIN_CYCLES_PER_OPERATOR = 5  # fewer: the count's rounding (±1 per operator) is no evidence
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


def littles_law(*, active: int, ops: int, op_s: float, thinks: int, think_s: float, think_planned_s: float,
                measured_s: float) -> dict | None:
    """Little's law for a closed loop over the measured window, in operations per second (each JXC
    operation is one request): ``expected_rps = active / (mean response + mean think drawn)``,
    ``measured_rps`` = operations started in the window / its length, ``ratio`` = measured / expected.
    Also the think the operators really spent (``mean_think_s``) and the rate it alone would explain
    (``expected_rps_measured_think``). None when nothing was measured."""
    if not ops or not active or measured_s <= 0:
        return None
    r = op_s / ops
    z_planned = think_planned_s / thinks if thinks else 0.0
    z_real = think_s / thinks if thinks else 0.0
    measured = ops / measured_s
    expected = active / (r + z_planned) if r + z_planned > 0 else None
    return {
        "expected_rps": round(expected, 3) if expected else None,
        "measured_rps": round(measured, 3),
        "ratio": round(measured / expected, 4) if expected else None,
        "mean_response_s": round(r, 6),
        "mean_think_s": round(z_real, 6),
        "mean_think_planned_s": round(z_planned, 6),
        "expected_rps_measured_think": round(active / (r + z_real), 3) if r + z_real > 0 else None,
        # per operator cycle, the time neither in an operation nor in the drawn think (ms)
        "excess_ms_per_cycle": round((active / measured - (r + z_planned)) * 1000.0, 3),
        "operations": int(ops),
        "judged": ops >= LITTLE_MIN_CYCLES_PER_OPERATOR * active,
    }


def closed_loop_problem(law: Mapping | None, *, planned: int, active: int, login_failures: int = 0,
                        min_ratio: float = LITTLE_MIN_RATIO, min_excess_ms: float = LITTLE_MIN_EXCESS_MS) -> str | None:
    """Rule 4 of the module docstring: the reason, or None."""
    if active < planned:
        why = f"{login_failures} login failure{'s' if login_failures != 1 else ''}" if login_failures else "see loadgen.log"
        return (f"only {active} of {planned} planned operators worked in the measured window ({why}); "
                "the step would be reported at a load it did not have")
    if (law and law.get("judged") and law.get("ratio") is not None and law["ratio"] < min_ratio
            and law["excess_ms_per_cycle"] >= min_excess_ms):
        return (f"Little's law does not hold: {law['measured_rps']:.2f} operations/s measured, "
                f"{law['ratio']:.0%} of the {law['expected_rps']:.2f}/s that {active} operators with a mean "
                f"response of {law['mean_response_s']:.3f} s and a drawn think of {law['mean_think_planned_s']:.3f} s "
                f"must make (limit {min_ratio:.0%}; {law['excess_ms_per_cycle']:.0f} ms lost per cycle); they really "
                f"thought {law['mean_think_s']:.3f} s on average: "
                "the load generator did not offer the planned load (starved of CPU, or sleeping late)")


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
          stopped_early: bool = False, closed_loop: str | None = None, busy: str | None = None) -> Validity:
    """The first rule of the module docstring that applies; ``stopped_early`` waives rule 5;
    ``closed_loop``: rule 4's reason, from :func:`closed_loop_problem`; ``busy``: rule 2's, from
    :func:`machine_busy`."""
    if crashed:
        return Validity(False, f"system under test crashed: {crashed}")
    if busy:
        return Validity(False, busy)
    sat = loadgen_saturated(loadgen_cpu, cpu_limit_pct=cpu_limit_pct, lag_series=loadgen_lag,
                            lag_limit_ms=lag_limit_ms)
    if sat:
        return Validity(False, sat)
    if closed_loop:
        return Validity(False, closed_loop)
    if measured_requests < min_requests and not stopped_early:
        return Validity(False, f"too few requests for a stable p99: {measured_requests} measured, "
                               f"need at least {min_requests} (lengthen --duration or raise the load)")
    return Validity(True, None)


__all__ = ["CPU_LIMIT_PCT", "FOREIGN_CPU_ENV", "LAG_LIMIT_MS", "LITTLE_MIN_EXCESS_MS", "LITTLE_MIN_RATIO",
           "MAX_FOREIGN_CPU_PCT", "MIN_REQUESTS", "Validity", "closed_loop_problem", "judge", "littles_law",
           "loadgen_saturated", "machine_busy", "max_foreign_cpu_pct"]
