"""Percentiles of 10 M raw samples: time and peak memory of loadgen.measure.percentiles.summarise_file.

Targets: <= 10 s and <= 2 GiB for 10 M samples (14 operations, 3 outcomes, 2 phases). The baseline,
measured in the same run, is a bare ``numpy.percentile`` of the same latencies already in memory
(what the computation cannot beat); the ratio says what reading Parquet + grouping costs on top.

    python bench/percentiles.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadgen.measure.samples import SCHEMA  # noqa: E402
from loadgen.workload.jxc import OPERATIONS  # noqa: E402


def make_file(path: Path, rows: int, batch: int = 1_000_000) -> None:
    rng = np.random.default_rng(1)
    ops = np.array(sorted(OPERATIONS))
    personas = np.array(["sales", "clerk", "manager"])
    with pq.ParquetWriter(path, SCHEMA, use_dictionary=["persona", "operation", "outcome", "phase"],
                          compression="zstd") as w:
        done = 0
        while done < rows:
            n = min(batch, rows - done)
            t = 1.8e9 + np.arange(done, done + n) / 1000.0
            lat = rng.lognormal(3.0, 1.0, n)
            w.write_table(pa.table({
                "worker": np.ones(n, dtype=np.int16),
                "persona": personas[rng.integers(0, 3, n)],
                "operation": ops[rng.integers(0, len(ops), n)],
                "intended_start_s": t, "start_s": t, "latency_ms": lat, "service_ms": lat,
                "status": np.full(n, 200, dtype=np.int16),
                "outcome": np.array(["success", "refusal", "error"])[rng.choice(3, n, p=[0.95, 0.04, 0.01])],
                "phase": np.where(np.arange(done, done + n) < rows // 20, "warmup", "measure"),
            }, schema=SCHEMA))
            done += n


def child(path: str) -> None:
    from loadgen.measure.percentiles import summarise_file

    t = time.perf_counter()
    s = summarise_file(Path(path), duration_s=3600.0)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall_s": wall, "peak_bytes": peak, "requests": s["requests"], "p99": s["latency_ms"]["p99"]}))


def baseline(rows: int) -> float:
    lat = np.random.default_rng(1).lognormal(3.0, 1.0, rows)
    t = time.perf_counter()
    np.percentile(lat, [50, 95, 99], method="higher")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--child")
    a = ap.parse_args()
    if a.child:
        return child(a.child)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "samples.parquet"
        t = time.perf_counter()
        make_file(path, a.rows)
        print(f"wrote {a.rows:,} samples ({path.stat().st_size / 2**20:.0f} MiB Parquet) in {time.perf_counter() - t:.1f} s")
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
    base = baseline(a.rows)
    print(f"summarise_file: {r['wall_s']:.2f} s, peak RSS {r['peak_bytes'] / 2**30:.2f} GiB "
          f"({r['requests']:,} measured, p99 {r['p99']} ms)")
    print(f"baseline numpy.percentile on an in-memory array: {base:.2f} s -> ratio {r['wall_s'] / base:.1f}x")
    print(f"target <= 10 s: {'OK' if r['wall_s'] <= 10 else 'MISSED'}; target <= 2 GiB: "
          f"{'OK' if r['peak_bytes'] <= 2 * 2**30 else 'MISSED'}")


if __name__ == "__main__":
    main()
