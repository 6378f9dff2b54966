"""Rendering speed: every report of a sweep (report.html, report.md, report.xlsx, charts) from results
files of N steps holding M raw samples in all (default 30 steps, 10 M samples; targets ≤ 30 s and
≤ 2 GiB peak), against the floor of reading the same samples and sorting them per step.

The results files are synthesised (tests/reports/synthetic.py: log-normal latencies per operation,
resources.csv, step.json, capacity.json); each measurement runs in a fresh process so that its peak
RSS is its own. Prints time per million samples and the ratio report / floor.

    python bench/report.py [--steps 30] [--samples 10000000] [--keep DIR]
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
sys.path.insert(0, str(REPO))

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report its parent's peak
HWM = """
def hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
"""

RENDER = HWM + """
import json, sys, time
from reports.render.report import write_all
root = sys.argv[1]
doc = json.load(open(root + '/capacity.json'))
t = time.perf_counter()
w = write_all(root, doc, lang='en')
print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mib': hwm(), 'charts': len(w.charts)}))
"""

FLOOR = HWM + """
import glob, json, sys, time
import numpy as np, pyarrow.parquet as pq
t = time.perf_counter()
n = 0
for path in sorted(glob.glob(sys.argv[1] + '/*/*/samples.parquet')):
    lat = pq.read_table(path, columns=['latency_ms'])['latency_ms'].to_numpy()
    np.sort(lat); n += len(lat)
print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mib': hwm(), 'rows': n}))
"""


def synthesise(root: Path, steps: int, samples: int) -> dict:
    import numpy as np

    from tests.reports.synthetic import OPERATIONS, _profile, _step

    rng = np.random.default_rng(1)
    per_step = samples // steps
    levels = [int(1000 * 1.25**i) for i in range(steps)]
    records = [
        _step(root, rng, "bench", n, 50, {op: 30.0 + (0.002 * n if op == "customer_search" else 0) for op in OPERATIONS},
              rps=per_step / 60.0, app_cpu_pct=30 + 0.0001 * n, db_bytes=5e6 + 2e4 * n, samples=per_step, search="customers")
        for n in levels
    ]
    entry = {"name": "bench", "profile": _profile("bench"), "complete": True, "operators": 50, "rate": None,
             "max_customers": levels[-1], "first_failing_customers": None, "projected_max_customers": None,
             "projection": None, "limiting_factor": None, "search": {"stopped": None}, "frontier": [], "steps": records}
    doc = {"schema": 1, "tool_version": "bench", "machine": {"cpu_cores": os.cpu_count()}, "created": "bench",
           "partial": False, "profiles": [entry]}
    (root / "capacity.json").write_text(json.dumps(doc))
    return doc


def child(code: str, root: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", code, str(root)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--samples", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, help="write the synthetic results here and keep them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        synthesise(root, args.steps, args.samples)
        print(f"synthesised {args.steps} steps, {args.samples:,} samples in {time.perf_counter() - t:.1f} s")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        floor = child(FLOOR, root)
        report = child(RENDER, root)
    millions = args.samples / 1e6
    print(f"floor (read latency column + sort, per step): {floor['seconds']:.1f} s, {floor['seconds'] / millions:.2f} s per million samples, peak {floor['peak_mib']:.0f} MiB")
    print(f"report (html + md + xlsx + {report['charts']} charts):     {report['seconds']:.1f} s, "
          f"{report['seconds'] / millions:.2f} s per million samples, peak {report['peak_mib']:.0f} MiB (targets ≤ 30 s, ≤ 2048 MiB)")
    print(f"ratio report / floor: {report['seconds'] / floor['seconds']:.1f}")


if __name__ == "__main__":
    main()
