"""Bisection vs brute force: does the capacity search find what a fine scan finds, and how much faster?

Both searches run in the same invocation, on the same machine, against the same real profile, with
the real step runner of ``jxcbench sweep`` (``loadgen.capacity.levels.LevelledSystem``):

- **bisection**: the sweep's search (geometric growth, geometric-mean bisection to ±precision);
- **scan**: every level of a fine geometric ladder (ratio 1 + precision) from start upwards until the
  first failing level: the answer a patient person would get by hand.

It prints both answers, whether they agree within the precision, and the wall time and step count of
each, with the ratio. It is a benchmark, not a test: numbers, no assertions.

    python bench/sweep_accuracy.py                       # built-in small SQLite profile
    python bench/sweep_accuracy.py --profile my.yaml --duration 10 --out /tmp/acc

The built-in profile puts its SLO on one operation whose latency grows with the book
(``report_receivables_aging`` scans every customer's open balance) and leaves the others loosely
bounded, so the capacity lands within a few hundred to a few thousand customers and the scan stays
affordable (on the shared 2-core development VM: ~1,900 customers at p95 <= 50 ms, each step from a clean book). Managers run the
reports, hence the manager-heavy mix (enough samples for a p95 per step). Override with
--slo-operation / --p95-ms / --start / --max if this machine is much faster or slower.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loadgen.capacity.search import SearchSpec, StepOutcome, capacity_search, drive, round_level, search  # noqa: E402


def bench_profile(args) -> object:
    from profiles.loader import load_profiles

    if args.profile:
        profile = load_profiles([args.profile])[0]
        return profile.model_copy(update={"sweep": profile.sweep.model_copy(update={
            "start_customers": args.start, "max_customers": args.max, "precision": args.precision,
            "step_duration_s": args.duration, "warmup_s": args.warmup, "repeats": args.repeats})})
    from profiles.schema import Profile

    return Profile.model_validate({
        "name": "bench-accuracy-sqlite",
        "database": {"engine": "sqlite"},
        "architecture": {"kind": "monolith", "workers": 1},
        "workload": {"operators": args.operators, "think_time_s": [0.0, 0.05], "mix": {"sales": 0.5, "manager": 0.5}},
        # Only the chosen operation is held to a tight p95; the rest get a loose bound that still
        # catches a broken system.
        "slo": {"p95_ms": 2000, "p99_ms": 10000, "error_rate": 0.01,
                "operations": {args.slo_operation: {"p95_ms": args.p95_ms}}},
        "sweep": {"start_customers": args.start, "growth": args.growth, "max_customers": args.max,
                  "precision": args.precision, "step_duration_s": args.duration, "warmup_s": args.warmup, "repeats": args.repeats},
    })


def run(profile, gen, out: Path, unconstrained: bool) -> dict:
    """Drive one search with real steps on one system, as ``jxcbench sweep`` does (loadgen.capacity.levels:
    the book grows in place and goes back through snapshots)."""
    from loadgen.capacity.levels import LevelledSystem

    t0 = time.monotonic()
    log: list[tuple[int, str]] = []
    with LevelledSystem(profile, unconstrained=unconstrained) as system:

        def evaluate(p) -> StepOutcome:
            step_dir = out / f"c{p.customers}-u{p.operators}-r{p.repeat}"
            step = system(profile, customers=p.customers, operators=p.operators,
                          duration_s=profile.sweep.step_duration_s, warmup_s=profile.sweep.warmup_s,
                          out_dir=step_dir, unconstrained=unconstrained)
            outcome = StepOutcome.from_step(step)
            log.append((p.customers, outcome.status))
            print(f"  {out.name}: {p.customers:>8} customers -> {outcome.status}"
                  f" (p95 {step.get('latency_ms', {}).get('p95')} ms, book {step['book']['from']})", flush=True)
            return outcome

        result = drive(gen, evaluate)
    return {"result": result, "wall_s": time.monotonic() - t0, "steps": len(log), "log": log}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", help="profile YAML (default: built-in small SQLite profile)")
    ap.add_argument("--start", type=int, default=100)
    ap.add_argument("--max", type=int, default=25_600)
    ap.add_argument("--growth", type=float, default=4.0)
    ap.add_argument("--precision", type=float, default=0.25)
    ap.add_argument("--duration", type=float, default=10.0, help="measured window per step, s (a valid step needs >= 1000 requests)")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=2,
                    help="valid measurements of each boundary level, as in a sweep (sweep.repeats): near the "
                         "boundary one step may pass where its repeat fails, and the search keeps the conservative answer")
    ap.add_argument("--operators", type=int, default=8)
    ap.add_argument("--p95-ms", type=float, default=50.0, help="p95 bound of --slo-operation")
    ap.add_argument("--slo-operation", default="report_receivables_aging")
    ap.add_argument("--unconstrained", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    try:
        import loadgen.capacity.levels  # noqa: F401
    except ImportError as exc:
        print(f"loadgen.capacity.levels is not available ({exc}); nothing measured", file=sys.stderr)
        return 2
    profile = bench_profile(args)
    s = profile.sweep
    out = args.out or Path(tempfile.mkdtemp(prefix="jxcbench-accuracy-"))
    spec = SearchSpec(start=s.start_customers, growth=s.growth, maximum=s.max_customers, precision=s.precision, repeats=s.repeats)
    ops = profile.workload.operators

    print(f"bisection on {profile.name} (±{s.precision:.0%}, {s.step_duration_s:g} s steps), results in {out}")
    bis = run(profile, capacity_search(spec, operators=ops), out / "bisection", args.unconstrained)

    ladder, level = [], s.start_customers
    while level <= s.max_customers:
        ladder.append(level)
        level = max(level + 1, round_level(level * (1 + s.precision)))
    # The scan stops at its first failure: ladder growth, no bisection (neighbours are within precision).
    scan_spec = SearchSpec(start=1, growth=2.0, maximum=1, precision=s.precision, ladder=tuple(ladder), repeats=s.repeats)
    print(f"scan of {len(ladder)} fine levels (ratio {1 + s.precision:g}) until the first failure")
    scan = run(profile, search(scan_spec, lambda lv: (lv, ops)), out / "scan", args.unconstrained)

    b, f = bis["result"], scan["result"]
    agree = None
    if b.max_passing and f.max_passing:
        agree = abs(math.log(b.max_passing / f.max_passing)) <= math.log1p(s.precision) * 1.0000001
    summary = {
        "profile": profile.name, "precision": s.precision, "step_duration_s": s.step_duration_s,
        "repeats": s.repeats,
        "bisection": {"max_customers": b.max_passing, "first_failing": b.first_failing, "steps": bis["steps"],
                      "wall_s": round(bis["wall_s"], 1), "boundary_agreed": b.boundary_agreed},
        "scan": {"max_customers": f.max_passing, "first_failing": f.first_failing, "steps": scan["steps"],
                 "wall_s": round(scan["wall_s"], 1), "boundary_agreed": f.boundary_agreed},
        "agree_within_precision": agree,
        "step_ratio_scan_over_bisection": round(scan["steps"] / max(1, bis["steps"]), 2),
        "wall_ratio_scan_over_bisection": round(scan["wall_s"] / max(1e-9, bis["wall_s"]), 2),
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
