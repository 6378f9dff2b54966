"""Sampler overhead: CPU the psutil sampler costs at 1 s, as a percentage of one core.

Target: < 2 %. It watches a realistic tree: an "app" of 4 worker processes, the local PostgreSQL
server's whole process tree (when one runs; read-only) and this process as the load generator, plus
a database-size callable (SQLite file sizes) every 5 ticks. Baseline in the same run: the same
process idle for the same time without the sampler (what the process costs anyway).

    python bench/sampler_overhead.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadgen.measure.sampler import ResourceSampler  # noqa: E402


def cpu_s() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def postgres_roots() -> list[int]:
    roots = []
    for p in psutil.process_iter(["name", "ppid"]):
        try:
            if p.info["name"] in ("postgres", "postmaster") and psutil.Process(p.info["ppid"]).name() not in ("postgres", "postmaster"):
                roots.append(p.pid)
        except psutil.Error:
            pass
    return roots


def measure(seconds: float, sampler: ResourceSampler | None) -> float:
    c0, t0 = cpu_s(), time.monotonic()
    if sampler:
        sampler.start()
    time.sleep(seconds)
    if sampler:
        sampler.stop()
    return (cpu_s() - c0) / (time.monotonic() - t0) * 100.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args()
    app = subprocess.Popen([sys.executable, "-c",
                            "import os, time\nfor _ in range(3):\n    if os.fork() == 0: break\ntime.sleep(600)"])
    try:
        time.sleep(0.5)
        with tempfile.TemporaryDirectory() as d:
            db = Path(d) / "jxc.sqlite"
            db.write_bytes(b"x" * 4096)
            pg = postgres_roots()
            groups = {"app": [app.pid], "db": pg, "loadgen": [os.getpid()]}
            idle = measure(a.seconds, None)
            sampler = ResourceSampler(groups, out_csv=Path(d) / "resources.csv", interval_s=1.0,
                                      db_size=lambda: db.stat().st_size)
            busy = measure(a.seconds, sampler)
            procs = sampler.rows[-1]
            n = sum(procs.get(f"{g}_procs", 0) for g in groups)
    finally:
        for child in psutil.Process(app.pid).children(recursive=True):
            child.kill()
        app.kill()
        app.wait()
    print(f"watched {n} processes ({len(pg)} PostgreSQL root(s)), {len(sampler.rows)} ticks of 1 s")
    print(f"idle baseline: {idle:.3f} % of one core; with sampler: {busy:.3f} %")
    print(f"sampler overhead: {busy - idle:.3f} % of one core (target < 2 %): {'OK' if busy - idle < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
