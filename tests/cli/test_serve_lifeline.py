"""``jxcbench serve --workers N`` is the supervisor of its uvicorn workers: SIGKILLed, it must not
leave them serving on its port with parent PID 1 (the parent-death signal, loadgen.lifeline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from loadgen.sut.process import free_port

REPO = Path(__file__).resolve().parents[2]


def _wait(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_serve_workers_die_with_a_sigkilled_serve(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db = f"sqlite:///{tmp_path / 'app.sqlite'}"
    cli = [sys.executable, "-m", "loadgen.cli"]
    subprocess.run([*cli, "init-db", "--db", db, "--admin-password", "s3cret-pass"], check=True, env=env,
                   capture_output=True, timeout=60)
    port = free_port()
    serve = subprocess.Popen([*cli, "serve", "--db", db, "--workers", "2", "--port", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[psutil.Process] = []
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert _wait(up, 60), "serve did not answer /healthz"
        workers = [p for p in psutil.Process(serve.pid).children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2, workers
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)
        _gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"workers outlived serve: {[p.pid for p in alive]}"
        assert not up(), "something still serves on the port"
    finally:
        if serve.poll() is None:
            serve.kill()
        for p in workers:
            if p.is_running():
                p.kill()
