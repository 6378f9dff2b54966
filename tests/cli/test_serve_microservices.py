"""``jxcbench serve --arch microservices``: the services and the gateway on one port, from a family of
databases made by ``init-db --arch microservices``; ``audit --arch microservices`` checks them; the
replicas asked for are worker processes; a SIGKILLed serve takes every process along."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from loadgen.sut.process import free_port
from tests.cli.test_serve_lifeline import _wait

REPO = Path(__file__).resolve().parents[2]


def test_serve_microservices_answers_the_monolith_api_and_dies_whole(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db = f"sqlite:///{tmp_path / 'app.sqlite'}"
    cli = [sys.executable, "-m", "loadgen.cli"]
    subprocess.run([*cli, "init-db", "--arch", "microservices", "--db", db, "--admin-password", "s3cret-pass"],
                   check=True, env=env, capture_output=True, timeout=60)
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == [
        "app.customers.sqlite", "app.inventory.sqlite", "app.orders.sqlite"]
    port = free_port()
    serve = subprocess.Popen([*cli, "serve", "--arch", "microservices", "--db", db, "--port", str(port),
                              "--replicas", "inventory=2"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs: list[psutil.Process] = []
    base = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert _wait(up, 90), "serve did not answer /healthz"
        token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": "s3cret-pass"}).json()
        h = {"Authorization": f"Bearer {token['access_token']}"}
        c = httpx.post(f"{base}/api/v1/customers", headers=h, json={"name": "客户", "phone": "138"})
        assert c.status_code == 201, c.text
        view = httpx.get(f"{base}/api/v1/customers/{c.json()['id']}", headers=h).json()
        assert view["recent_orders"] == [] and view["balance"] == "0.00"
        assert httpx.get(f"{base}/api/v1/stock", headers=h).status_code == 200
        assert httpx.get(f"{base}/internal/scope", headers=h).status_code == 404  # never through the gateway
        procs = psutil.Process(serve.pid).children(recursive=True)
        spawned = [p for p in procs if "spawn_main" in " ".join(p.cmdline())]
        assert len(spawned) == 2, [p.cmdline() for p in procs]  # inventory's two workers
        audit = subprocess.run([*cli, "audit", "--arch", "microservices", "--db", db], env=env, capture_output=True,
                               text=True, timeout=60)
        assert audit.returncode == 0 and json.loads(audit.stdout)["ok"], audit.stdout + audit.stderr
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=10)
        _gone, alive = psutil.wait_procs(procs, timeout=15)
        assert not alive, f"outlived serve: {[p.cmdline() for p in alive]}"
        assert not up()
    finally:
        if serve.poll() is None:
            serve.kill()
        for p in procs:
            if p.is_running():
                p.kill()
