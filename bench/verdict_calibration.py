"""Calibration of the confidence-bound verdict: how often is a step judged pass / fail / inconclusive
when the true p95 is known, and what do the window's extensions cost?

Two parts, in one run:

1. **Many synthetic steps** (fast): each operation's latencies are drawn from a known distribution
   (log-normal, median ``--median-ms``, shape ``--sigma``; true p95 = median x exp(1.645 sigma)) at
   ``--rate`` requests/s. A step is judged exactly as jxcbench judges one
   (:func:`loadgen.measure.slo.judge_operations` on :func:`loadgen.measure.bounds.quantile_ranks`),
   with the window's extension: looked at at the planned end (95 % intervals), then once a second (as
   the engine reports; 99 % intervals, ``EXTENSION_CONFIDENCE``) until conclusive or at the cap, and
   judged on the samples it ended with (95 %). For thresholds from 20 % below
   to 20 % above the true p95 it prints the share of steps judged pass, fail and inconclusive and
   the mean extra seconds measured. At the true p95 the *false-pass* rate (judged pass although the
   true p95 is not below the threshold) must be <= 5 %; it is printed with the single-look rate
   (judged at the cap only) for comparison, and for the level as the sweep judges it when an
   inconclusive window is retried and the retry judged on both windows pooled
   (:mod:`loadgen.capacity.pooling`).
2. **A few real steps** on the toy HTTP server (``tests/measure/toyserver.py``) whose answers wait a
   log-normal delay: the whole load path (Locust, raw samples, Parquet, extension by SIGUSR1), at a
   threshold 15 % and 5 % below and above the true p95, printing verdicts and the extra seconds.

    python bench/verdict_calibration.py [--trials 2000] [--real-steps 2] [--rate 30] [--window 15]

A benchmark, not a test: numbers, no assertions. On a busy machine the real steps' latencies include
the generator's and the toy server's own delays (they move the measured p95 up a little).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import threading
import time
from functools import cache
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loadgen.measure.bounds import quantile_ranks
from loadgen.capacity.pooling import POOLED_CONFIDENCE
from loadgen.measure.slo import (
    EXTENSION_CONFIDENCE,
    FAIL,
    INCONCLUSIVE,
    PASS,
    percentile_verdict,
)

Z95 = 1.6448536269514722


@cache
def _ranks(n: int, confidence: float) -> tuple[int | None, int | None]:
    return quantile_ranks(n, 0.95, confidence)


def judge(sample: np.ndarray, n: int, threshold: float, confidence: float = 0.95) -> str:
    """The p95 verdict of the first ``n`` samples (the same rule as slo.percentile_verdict)."""
    low, up = _ranks(n, confidence)
    kth = [r - 1 for r in (low, up) if r is not None]
    part = np.partition(sample[:n], kth) if kth else sample[:n]
    ci = [None if r is None else float(part[r - 1]) for r in (low, up)]
    return percentile_verdict(ci, threshold)


def synthetic(args) -> None:
    rng = np.random.default_rng(args.seed)
    mu, sigma = math.log(args.median_ms), args.sigma
    true_p95 = math.exp(mu + Z95 * sigma)
    cap_s = args.window * (1 + args.max_extension)
    looks = [args.window + k for k in range(int(cap_s - args.window) + 1)]
    n_at = [int(args.rate * t) for t in looks]
    print(f"1. synthetic steps: log-normal latencies, median {args.median_ms:g} ms, sigma {sigma:g} -> true p95 "
          f"{true_p95:.1f} ms; {args.rate:g} requests/s of the operation, window {args.window:g} s "
          f"({n_at[0]} samples), extended up to {cap_s:g} s ({n_at[-1]} samples), judged once a second from the "
          f"planned end; {args.trials} steps per threshold")
    print(f"   {'threshold':>22} | {'pass':>6} {'fail':>6} {'inconcl.':>8} | {'extra s (mean)':>14} | {'pass, 1 look at cap':>19} "
          f"| level after a pooled retry: {'pass':>6} {'fail':>6} {'inconcl.':>8}")
    rows = {}
    pooled_rows = {}

    def window(threshold: float) -> tuple[np.ndarray, str, float]:
        """One window as EarlyStop runs it: (the samples it ended with, its verdict, extra seconds)."""
        sample = rng.lognormal(mu, sigma, size=n_at[-1])
        # as EarlyStop looks: 95 % at the planned end, EXTENSION_CONFIDENCE in between; the verdict
        # of the samples the window ended with is the 95 % one
        end = len(looks) - 1
        for i, n in enumerate(n_at[:-1]):
            if judge(sample, n, threshold, 0.95 if i == 0 else EXTENSION_CONFIDENCE) != INCONCLUSIVE:
                end = i
                break
        return sample[:n_at[end]], judge(sample, n_at[end], threshold), looks[end] - args.window

    for rel in (-0.20, -0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10, 0.20):
        threshold = true_p95 * (1 + rel)
        counts = {PASS: 0, FAIL: 0, INCONCLUSIVE: 0}
        level = {PASS: 0, FAIL: 0, INCONCLUSIVE: 0}  # with one retry judged on both windows pooled
        single_pass = 0
        extra = 0.0
        for _ in range(args.trials):
            used, verdict, more = window(threshold)
            extra += more
            counts[verdict] += 1
            single_pass += judge(rng.lognormal(mu, sigma, size=n_at[-1]), n_at[-1], threshold) == PASS
            if verdict == INCONCLUSIVE:
                # loadgen.capacity.pooling: the retry's own failure stands; else both windows pooled
                used2, own2, _ = window(threshold)
                both = np.concatenate([used, used2])
                verdict = FAIL if own2 == FAIL else judge(both, len(both), threshold, POOLED_CONFIDENCE)
            level[verdict] += 1
        share = {k: v / args.trials for k, v in counts.items()}
        rows[rel] = share
        pooled_rows[rel] = {k: v / args.trials for k, v in level.items()}
        label = f"{threshold:8.1f} ms ({rel:+.0%} of p95)"
        print(f"   {label:>22} | {share[PASS]:6.1%} {share[FAIL]:6.1%} {share[INCONCLUSIVE]:8.1%} | "
              f"{extra / args.trials:14.2f} | {single_pass / args.trials:19.1%} | "
              f"{pooled_rows[rel][PASS]:6.1%} {pooled_rows[rel][FAIL]:6.1%} {pooled_rows[rel][INCONCLUSIVE]:8.1%}")
    fp = rows[0.0][PASS]
    print(f"   false-pass rate at the true p95 (threshold = true p95): {fp:.2%} (must be <= 5 %: "
          f"{'OK' if fp <= 0.05 else 'NOT MET'}); just above (+5 %): pass {rows[0.05][PASS]:.1%}; "
          f"just below (-5 %): fail {rows[-0.05][FAIL]:.1%}")
    fpp = pooled_rows[0.0][PASS]
    print(f"   with an inconclusive window retried and judged on both windows pooled (loadgen.capacity.pooling): "
          f"false-pass rate at the true p95 {fpp:.2%} (must be <= 5 %: {'OK' if fpp <= 0.05 else 'NOT MET'}); "
          f"still inconclusive at +5 %: {pooled_rows[0.05][INCONCLUSIVE]:.1%} (one window: {rows[0.05][INCONCLUSIVE]:.1%})")


def real_steps(args) -> None:
    from loadgen.measure.slo import judge_operations, step_verdict
    from loadgen.workload.load_run import EarlyStop, measure_load
    from loadgen.workload.plan import LoadPlan
    from tests.measure.toyserver import ToyServer

    mu, sigma = math.log(args.real_median_ms / 1000.0), args.sigma
    true_p95_ms = math.exp(mu + Z95 * sigma) * 1000.0
    rng = np.random.default_rng(args.seed + 1)
    lock = threading.Lock()

    drawn: list[float] = []

    def delay(hit: int) -> float:
        with lock:
            d = float(rng.lognormal(mu, sigma))
            drawn.append(d)
            return d

    print(f"2. real steps on the toy server: answers wait a log-normal delay, median {args.real_median_ms:g} ms, "
          f"true p95 {true_p95_ms:.1f} ms; {args.users} operators without think time, window {args.real_window:g} s "
          f"after 1 s warm-up, cap {args.real_window * (1 + args.max_extension):g} s; load {os.getloadavg()[0]:.1f}")
    extra_total = 0.0
    for rel in (-0.15, -0.05, 0.05, 0.15):
        threshold = true_p95_ms * (1 + rel)
        for k in range(args.real_steps):
            drawn.clear()
            with ToyServer(delay=delay) as srv, tempfile.TemporaryDirectory() as tmp:
                plan = LoadPlan(base_url=srv.url, workload="tests.measure.workloads:PING", mode="closed",
                                seats=[["pinger", None]] * args.users, think_time_s=(0.0, 0.0), warmup_s=1.0,
                                duration_s=args.real_window)
                slo = {"p95_ms": threshold, "p99_ms": 1e9, "error_rate": 1.0}
                t = time.monotonic()
                res = measure_load(plan, Path(tmp), min_requests=1,
                                   early_stop=EarlyStop(slo, args.real_window, in_flight_max=args.users,
                                                        cap_s=args.real_window * (1 + args.max_extension),
                                                        lost_rule=False))
                wall = time.monotonic() - t
            op = res["figures"]["operations"]["ping"]
            verdicts, unjudged = judge_operations(res["figures"]["operations"], slo)
            v = step_verdict(verdicts, unjudged, [])
            w = res["window"]
            extra_total += w["extension_s"]
            served = np.percentile(np.asarray(drawn) * 1000.0, 95) if drawn else float("nan")
            print(f"   threshold {threshold:7.1f} ms ({rel:+.0%}) step {k + 1}: {v:<12} p95 {op['p95_ms']:.1f} ms "
                  f"(of the delays served: {served:.1f} ms; the rest is the generator's and the server's own time), "
                  f"95 % interval {op['p95_ci_ms']}, {op['requests']} requests, window {w['measured_s']:g} s "
                  f"(+{w['extension_s']:g} s, {w['ended']}), wall {wall:.1f} s")
    print(f"   extra measured seconds over {4 * args.real_steps} real steps: {extra_total:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=30.0, help="requests/s of the judged operation")
    ap.add_argument("--window", type=float, default=15.0, help="planned window, s")
    ap.add_argument("--max-extension", type=float, default=1.0)
    ap.add_argument("--median-ms", type=float, default=80.0)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--real-steps", type=int, default=2, help="real toy-server steps per threshold (0: none)")
    ap.add_argument("--real-median-ms", type=float, default=300.0)
    ap.add_argument("--real-window", type=float, default=5.0)
    ap.add_argument("--users", type=int, default=32)
    args = ap.parse_args()
    print(f"machine load (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    t = time.perf_counter()
    synthetic(args)
    print(f"   ({time.perf_counter() - t:.1f} s)")
    if args.real_steps:
        real_steps(args)


if __name__ == "__main__":
    main()
