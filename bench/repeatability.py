"""Repeatability of the quickstart: the same command three times, then once beside a busy process.

1. ``jxcbench quickstart`` ``--runs`` times (default 3), each into a temporary directory of its own,
   on what should be a quiet machine: it prints each run's capacity (largest passing customers,
   first failing, limiting factor), the machine's load average before it, the spread
   (max / min - 1) and whether the runs agree within the quickstart profile's precision.
2. Once more while a child process keeps one core busy (``python -c 'while True: pass'``): the
   answer must be *invalid or unknown naming that process* — no capacity figure, and the invalid
   steps' reasons name its pid — never a capacity. It prints which it was.

It is a benchmark, not a test: numbers and a verdict per part, exit code 0 whatever they say (1 only
when a quickstart could not run). A busy machine (other people's work) makes the quiet runs invalid
too, by design: read the load averages it prints, or pass ``--max-foreign-cpu`` to loosen the rule
for the quiet runs only (the busy run always uses the default rule, or the one given with
``--busy-max-foreign-cpu``).

    python bench/repeatability.py                      # 3 quiet runs + 1 busy run (~20 min on 2 cores)
    python bench/repeatability.py --runs 0             # only the busy run
    python bench/repeatability.py --runs 3 --no-busy   # only the quiet runs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def quickstart(out: Path, max_foreign_cpu: str | None) -> tuple[dict | None, float, str]:
    """Run ``jxcbench quickstart --out OUT`` in a process of its own; (its profile entry, seconds, stderr tail)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("JXCBENCH_MAX_FOREIGN_CPU", None)
    argv = [sys.executable, "-m", "loadgen.cli", "quickstart", "--out", str(out)]
    if max_foreign_cpu is not None:
        argv += ["--max-foreign-cpu", max_foreign_cpu]
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=str(out.parent), env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - t0
    tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
    cap = out / "capacity.json"
    if not cap.is_file():
        return None, took, tail
    return json.loads(cap.read_text())["profiles"][0], took, tail


def describe(entry: dict) -> str:
    lf = entry.get("limiting_factor") or {}
    invalid = [s for s in entry.get("steps", []) if not s.get("valid")]
    parts = [f"capacity {entry.get('max_customers')!s:>8}", f"first failing {entry.get('first_failing_customers')!s:>8}",
             f"limiting {lf.get('resource') or ('none saturated: ' + str(lf.get('points_to')) if lf else '-')}",
             f"steps {len(entry.get('steps', []))} ({len(invalid)} invalid)"]
    if (entry.get("search") or {}).get("stopped"):
        parts.append(f"search {entry['search']['stopped']}")
    return ", ".join(parts)


def quiet_runs(args, root: Path) -> None:
    caps: list[int] = []
    precision = None
    for i in range(args.runs):
        load = _loadavg()
        entry, took, tail = quickstart(root / f"quiet-{i + 1}", args.max_foreign_cpu)
        if entry is None:
            print(f"run {i + 1}: quickstart did not finish ({took:.0f} s): {tail}")
            sys.exit(1)
        precision = (entry.get("search") or {}).get("precision")
        print(f"run {i + 1}: {describe(entry)}; {took:.0f} s; load average before: {load}", flush=True)
        if entry.get("max_customers") is not None:
            caps.append(entry["max_customers"])
    if not args.runs:
        return
    if len(caps) < args.runs:
        print(f"quiet runs: {args.runs - len(caps)} of {args.runs} gave no capacity (invalid or unknown: "
              "see the reasons above; a busy machine makes steps invalid by design)")
    if len(caps) >= 2:
        spread = max(caps) / min(caps) - 1.0
        agree = precision is not None and spread <= precision + 1e-9
        print(f"capacities {caps}: spread {spread:.1%} (max/min - 1), precision ±{(precision or 0):.0%}: "
              f"{'AGREE' if agree else 'DISAGREE'} within the precision")


def busy_run(args, root: Path) -> None:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        load = _loadavg()
        entry, took, tail = quickstart(root / "busy", args.busy_max_foreign_cpu)
    finally:
        hog.kill()
        hog.wait()
    if entry is None:
        print(f"busy run: quickstart did not finish ({took:.0f} s): {tail}")
        sys.exit(1)
    reasons = [s.get("invalid_reason") or "" for s in entry.get("steps", []) if not s.get("valid")]
    named = [r for r in reasons if f"pid {hog.pid} " in r]
    print(f"busy run (hog pid {hog.pid}): {describe(entry)}; {took:.0f} s; load average before: {load}")
    for r in reasons[:3]:
        print(f"  invalid: {r}")
    if entry.get("max_customers") is None and named:
        print("busy run: OK — no capacity; the steps are invalid naming the busy process")
    elif entry.get("max_customers") is None:
        print("busy run: no capacity, but the busy process is not the one named (another process was busier)")
    else:
        print(f"busy run: WRONG — a capacity ({entry['max_customers']}) was reported beside a busy core")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="quiet quickstart runs (default 3)")
    ap.add_argument("--busy", action=argparse.BooleanOptionalAction, default=True, help="also the run beside a busy core")
    ap.add_argument("--max-foreign-cpu", default=None, help="busy-machine threshold for the quiet runs (default: 10)")
    ap.add_argument("--busy-max-foreign-cpu", default=None, help="busy-machine threshold for the busy run (default: 10)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the results in this directory (default: a temp dir, removed)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; load average now {_loadavg()}", flush=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        quiet_runs(args, args.keep)
        if args.busy:
            busy_run(args, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="jxc-repeat-") as d:
        quiet_runs(args, Path(d))
        if args.busy:
            busy_run(args, Path(d))


if __name__ == "__main__":
    main()
