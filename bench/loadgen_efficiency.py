"""Load-generator efficiency: requests per second per load-generator core, ours vs bare Locust.

"Ours" is the production path: the engine process (``loadgen.workload.engine``) with
``PersonaUser`` users (the reference personas' classes) going through ``Session.call`` (named
request, outcome classification, intended start) and every request becoming a raw sample written to
Parquet. "Bare" is a plain
``FastHttpUser`` whose task is ``self.client.get("/ping")`` with Locust's own statistics only. Both
hit the same cheap endpoint of the same server (a raw ASGI app under uvicorn, in its own process),
with the same number of users and no think time, in the same run, alternating, twice.

Efficiency = measured requests / CPU seconds the generator process used in the measured window.
Target: ours / bare >= 0.7.

    python bench/loadgen_efficiency.py [--users 20] [--seconds 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadgen.workload.session import Session  # noqa: E402
from loadgen.workload.spec import Persona, Workload  # noqa: E402

WARMUP_S = 2.0


def ping(s: Session) -> None:
    s.call("ping", "GET", "/ping")


CHEAP = Workload(personas={"sales": Persona("sales", "sales", {"ping": (1.0, ping)})})

ASGI_APP = textwrap.dedent('''
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})
''')

BARE_CHILD = textwrap.dedent('''
    from gevent import monkey; monkey.patch_all()
    import json, sys, time, gevent, psutil
    from locust import task
    from locust.contrib.fasthttp import FastHttpUser
    from locust.env import Environment
    url, users, warmup, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    class Bare(FastHttpUser):
        host = url
        @task
        def ping(self):
            self.client.get("/ping")
    env = Environment(user_classes=[Bare], host=url)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users * 10)
    gevent.sleep(warmup)
    p = psutil.Process(); c0 = sum(p.cpu_times()[:2]); n0 = env.stats.total.num_requests; t0 = time.time()
    gevent.sleep(seconds)
    c1 = sum(p.cpu_times()[:2]); n1 = env.stats.total.num_requests; t1 = time.time()
    runner.quit()
    print(json.dumps({"requests": n1 - n0, "cpu_s": c1 - c0, "wall_s": t1 - t0}))
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ours(url: str, users: int, seconds: float, out: Path) -> dict:
    import pandas as pd

    from loadgen.workload.load_run import run_engine
    from loadgen.workload.plan import LoadPlan

    plan = LoadPlan(base_url=url, workload="bench.loadgen_efficiency:CHEAP", mode="closed",
                    seats=[["sales", None]] * users, think_time_s=(0.0, 0.0), warmup_s=WARMUP_S, duration_s=seconds,
                    # as in a real step: every second the window's latencies go to the parent, which
                    # decides on an early stop (loadgen.workload.load_run.EarlyStop)
                    report_window=True)
    load = run_engine(plan, out)
    start, end = load["measure_start"], load["end"]
    # CPU % samples are per second; those whose second ends inside the window cover it
    cpu_s = sum(pct for ts, pct in load["workers"][0]["cpu"] if start + 0.5 < ts <= end + 0.5) / 100.0
    n_cpu = sum(1 for ts, _ in load["workers"][0]["cpu"] if start + 0.5 < ts <= end + 0.5)
    df = pd.read_parquet(out / "samples.parquet", columns=["start_s"])
    covered_end = start + n_cpu
    n = int(((df["start_s"] >= start) & (df["start_s"] < covered_end)).sum())
    return {"requests": n, "cpu_s": cpu_s, "wall_s": float(n_cpu)}


def run_bare(url: str, users: int, seconds: float) -> dict:
    out = subprocess.run([sys.executable, "-c", BARE_CHILD, url, str(users), str(WARMUP_S), str(seconds)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    os.chdir(ROOT)
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "cheapapp.py").write_text(ASGI_APP)
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "cheapapp:app", "--host", "127.0.0.1",
                                   "--port", str(port), "--log-level", "warning", "--no-access-log"],
                                  cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            time.sleep(1.5)
            ratios = []
            for r in range(a.rounds):
                ours = run_ours(url, a.users, a.seconds, Path(d) / f"ours{r}")
                bare = run_bare(url, a.users, a.seconds)
                e_ours = ours["requests"] / ours["cpu_s"]
                e_bare = bare["requests"] / bare["cpu_s"]
                ratios.append(e_ours / e_bare)
                print(f"round {r + 1}: ours {ours['requests'] / ours['wall_s']:.0f} req/s using "
                      f"{ours['cpu_s'] / ours['wall_s']:.0%} of a core -> {e_ours:.0f} req/s per core; "
                      f"bare FastHttpUser {bare['requests'] / bare['wall_s']:.0f} req/s using "
                      f"{bare['cpu_s'] / bare['wall_s']:.0%} -> {e_bare:.0f} req/s per core; ratio {ratios[-1]:.2f}")
        finally:
            server.terminate()
            server.wait()
    ratios.sort()
    med = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios[len(ratios) // 2 - 1: len(ratios) // 2 + 1]) / 2
    print(f"efficiency ours / bare: median {med:.2f} over {len(ratios)} rounds (target >= 0.7): "
          f"{'OK' if med >= 0.7 else 'MISSED'}")


if __name__ == "__main__":
    main()
