"""The quickstart as a user meets it: wall time of ``jxcbench quickstart`` from an empty results
directory (target <= 5 min on 2 cores, goal 3) and the boundary it brackets (a passing and a failing
level; target: within 25 %). Prints, per run and in total, with the machine's load average before
and after each run (a busy machine makes every step slower); asserts nothing.

    python bench/quickstart.py [--runs 2] [--out DIR]
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

REPO = Path(__file__).resolve().parents[1]


def one_run(out: Path) -> dict:
    load_before = os.getloadavg()
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "loadgen.cli", "quickstart", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True)
    wall = time.monotonic() - t0
    entry = json.loads((out / "capacity.json").read_text())["profiles"][0] if (out / "capacity.json").is_file() else {}
    held, failed = entry.get("max_customers"), entry.get("first_failing_customers")
    verdict = next((line for line in done.stdout.splitlines() if line.startswith("On ")), done.stderr[-500:])
    return {"wall_s": wall, "rc": done.returncode, "held": held, "failed": failed,
            "bracket": (failed - held) / held if held and failed else None,
            "steps": len(entry.get("steps") or []), "verdict": verdict,
            "load_before": load_before[0], "load_after": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep each run's results in OUT/run<k>")
    args = ap.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="jxcbench-bench-qs-"))
    print(f"machine: {os.cpu_count()} CPUs; results in {base}")
    runs = []
    for k in range(args.runs):
        r = one_run(base / f"run{k}")
        runs.append(r)
        bracket = f"{r['bracket']:.0%}" if r["bracket"] is not None else "none (unbounded or no pass)"
        print(f"run {k}: {r['wall_s']:.0f} s (target <= 300, goal 180; ratio to target {r['wall_s'] / 300:.2f}), "
              f"exit {r['rc']}, {r['steps']} steps, held {r['held']}, failed at {r['failed']}, bracket {bracket} "
              f"(target <= 25 %); load average {r['load_before']:.1f} before, {r['load_after']:.1f} after")
        print(f"  {r['verdict']}")
    walls = [r["wall_s"] for r in runs]
    print(f"wall time: min {min(walls):.0f} s, max {max(walls):.0f} s over {len(runs)} run(s); "
          f"bounded in {sum(r['bracket'] is not None for r in runs)} of {len(runs)}")


if __name__ == "__main__":
    main()
